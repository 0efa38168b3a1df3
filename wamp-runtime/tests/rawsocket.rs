//! RawSocket transport: real client/router pairs over TCP, and fake peers writing and reading
//! raw octets (over `tokio::io::duplex` or TCP) for the handshake and framing edge cases.
//! Every wait is bounded, every port is chosen by the OS.

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::net::{TcpListener, TcpStream};
use wamp::protocol::*;
use wamp::transport::rawsocket::{accept, connect, RawSocketConfig};
use wamp::transport::{HandshakeError, Transport, TransportError, TransportKind};
use wamp::Serializer;

/// Upper bound for anything a test waits for; only reached when something is broken.
const LIMIT: Duration = Duration::from_secs(10);
/// The handshake of a client asking for JSON and accepting 16 MiB.
const JSON_REQUEST: [u8; 4] = [0x7F, 0xF1, 0, 0];

async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(LIMIT, f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out: {what}"),
    }
}

fn id(n: u64) -> Id {
    Id::new(n).expect("valid id")
}

fn call(n: u64, text: &str) -> Message {
    let mut kw = Dict::new();
    kw.insert("bin".into(), Value::Binary(vec![0, 1, 255]));
    Call {
        request: id(n),
        options: CallOptions::new(),
        procedure: Uri::new("com.example.echo").expect("uri"),
        payload: Payload::from_values(vec![Value::from(n), Value::from(text)], kw),
    }
    .into()
}

fn result(n: u64) -> Message {
    ResultMessage {
        request: id(n),
        details: ResultDetails::new(),
        payload: Payload::from_values(vec![Value::from("done"), Value::Float(0.5)], Dict::new()),
    }
    .into()
}

fn json(msg: &Message) -> Vec<u8> {
    Serializer::Json.encode(msg).expect("encode")
}

/// A frame: first header octet as given, 24-bit length, payload.
fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("small payload");
    let mut out = vec![first];
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.extend_from_slice(payload);
    out
}

/// Reads one frame: (first header octet, payload).
async fn read_frame(raw: &mut (impl AsyncRead + Unpin)) -> (u8, Vec<u8>) {
    let mut header = [0u8; 4];
    within("frame header", raw.read_exact(&mut header))
        .await
        .expect("frame header");
    let mut len = u32::from_be_bytes([0, header[1], header[2], header[3]]) as usize;
    if header[0] & 0x08 != 0 {
        len = 1 << 24;
    }
    let mut payload = vec![0u8; len];
    within("frame payload", raw.read_exact(&mut payload))
        .await
        .expect("frame payload");
    (header[0], payload)
}

/// Reads until the peer is gone. A reset counts as gone too (a socket closed with unread
/// data sends RST).
async fn read_until_closed(raw: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    let mut rest = Vec::new();
    match within("connection close", raw.read_to_end(&mut rest)).await {
        Ok(_) => rest,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => rest,
        Err(e) => panic!("reading until closed: {e}"),
    }
}

/// A real client and a real router connected over loopback TCP.
async fn tcp_pair(
    serializer: Serializer,
    client_config: &RawSocketConfig,
    server_config: &RawSocketConfig,
) -> (Transport, Transport, SocketAddr, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let server_addr = listener.local_addr().expect("local addr");
    let server_config = server_config.clone();
    let server = tokio::spawn(async move {
        let (stream, client_addr) = listener.accept().await.expect("accept");
        let transport = accept(
            stream,
            &Serializer::ALL,
            &server_config,
            TransportKind::RawSocket,
            Some(client_addr),
        )
        .await
        .expect("server handshake");
        (transport, client_addr)
    });
    let stream = TcpStream::connect(server_addr).await.expect("connect");
    let client = within(
        "client handshake",
        connect(
            stream,
            serializer,
            client_config,
            TransportKind::RawSocket,
            Some(server_addr),
        ),
    )
    .await
    .expect("client handshake");
    let (server, client_addr) = within("server handshake", server).await.expect("task");
    (client, server, server_addr, client_addr)
}

/// Does a JSON client handshake by hand and checks the router's answer.
async fn raw_client_handshake(raw: &mut (impl AsyncRead + AsyncWrite + Unpin)) {
    raw.write_all(&JSON_REQUEST).await.expect("write request");
    let mut reply = [0u8; 4];
    within("handshake reply", raw.read_exact(&mut reply))
        .await
        .expect("reply");
    assert_eq!(reply[0], 0x7F);
    assert_eq!(reply[1] & 0x0F, 1, "JSON accepted");
}

/// A real router and a fake client (raw octets) that has done its handshake.
async fn router_with_raw_client(config: &RawSocketConfig) -> (Transport, DuplexStream) {
    let (mut raw, io) = tokio::io::duplex(64 * 1024);
    let (server, ()) = tokio::join!(
        async {
            within(
                "accept",
                accept(io, &Serializer::ALL, config, TransportKind::RawSocket, None),
            )
            .await
            .expect("accept")
        },
        raw_client_handshake(&mut raw)
    );
    (server, raw)
}

fn assert_handshake_error(result: Result<Transport, TransportError>, expected: &HandshakeError) {
    match result {
        Err(TransportError::Handshake(e)) => assert_eq!(&e, expected),
        other => panic!("expected {expected:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn messages_flow_both_ways_with_every_serializer() {
    let config = RawSocketConfig::default();
    for serializer in Serializer::ALL {
        let (mut client, mut server, server_addr, client_addr) =
            tcp_pair(serializer, &config, &config).await;
        for (t, peer) in [(&client, server_addr), (&server, client_addr)] {
            let info = t.info();
            assert_eq!(info.kind, TransportKind::RawSocket);
            assert_eq!(info.serializer, Some(serializer));
            assert_eq!(info.max_message_size, 1 << 24);
            assert_eq!(info.peer_max_message_size, 1 << 24);
            assert_eq!(info.peer_addr, Some(peer));
        }

        // Several messages buffered before one flush go out together and arrive in order.
        for n in 1..=3 {
            client.feed(call(n, "hällo")).await.expect("feed");
        }
        client.flush().await.expect("flush");
        for n in 1..=3 {
            let got = within("call", server.next())
                .await
                .expect("open")
                .expect("decodes");
            assert_eq!(got, call(n, "hällo"), "{serializer:?}");
            server.send(result(n)).await.expect("send result");
        }
        for n in 1..=3 {
            let got = within("result", client.next())
                .await
                .expect("open")
                .expect("decodes");
            assert_eq!(got, result(n), "{serializer:?}");
        }

        // Closing the client's sink ends the router's stream, and the router's close ends
        // the client's.
        client.close().await.expect("close client");
        assert!(within("server end", server.next()).await.is_none());
        server.close().await.expect("close server");
        assert!(within("client end", client.next()).await.is_none());
    }
}

#[tokio::test]
async fn unsupported_serializer_fails_on_both_sides() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        let config = RawSocketConfig::default();
        accept(
            stream,
            &[Serializer::Json],
            &config,
            TransportKind::RawSocket,
            None,
        )
        .await
    });
    let stream = TcpStream::connect(addr).await.expect("connect");
    let client = within(
        "client",
        connect(
            stream,
            Serializer::Cbor,
            &RawSocketConfig::default(),
            TransportKind::RawSocket,
            None,
        ),
    )
    .await;
    assert_handshake_error(client, &HandshakeError::SerializerUnsupported(3));
    let server = within("server", server).await.expect("task");
    assert_handshake_error(server, &HandshakeError::SerializerUnsupported(3));
}

#[tokio::test]
async fn router_refuses_bad_requests() {
    struct Case {
        name: &'static str,
        request: &'static [u8],
        serializers: &'static [Serializer],
        error: HandshakeError,
        /// What the router answers before closing; empty: closes without a word.
        reply: &'static [u8],
    }
    let all = &Serializer::ALL;
    let cases = [
        Case {
            name: "HTTP request",
            request: b"GET / HTTP/1.1\r\n",
            serializers: all,
            error: HandshakeError::BadMagic(b'G'),
            reply: &[],
        },
        Case {
            name: "TLS ClientHello",
            request: &[0x16, 0x03, 0x01, 0x00],
            serializers: all,
            error: HandshakeError::BadMagic(0x16),
            reply: &[],
        },
        Case {
            name: "serializer not offered",
            request: &[0x7F, 0xF2, 0, 0],
            serializers: &[Serializer::Json],
            error: HandshakeError::SerializerUnsupported(2),
            reply: &[0x7F, 0x10, 0, 0],
        },
        Case {
            name: "illegal serializer 0",
            request: &[0x7F, 0xF0, 0, 0],
            serializers: all,
            error: HandshakeError::SerializerUnsupported(0),
            reply: &[0x7F, 0x10, 0, 0],
        },
        Case {
            name: "UBJSON",
            request: &[0x7F, 0x04, 0, 0],
            serializers: all,
            error: HandshakeError::SerializerUnsupported(4),
            reply: &[0x7F, 0x10, 0, 0],
        },
        Case {
            name: "reserved serializer 15",
            request: &[0x7F, 0x0F, 0, 0],
            serializers: all,
            error: HandshakeError::SerializerUnsupported(15),
            reply: &[0x7F, 0x10, 0, 0],
        },
        Case {
            name: "third octet set",
            request: &[0x7F, 0xF1, 0x01, 0],
            serializers: all,
            error: HandshakeError::ReservedBits,
            reply: &[0x7F, 0x30, 0, 0],
        },
        Case {
            name: "fourth octet set",
            request: &[0x7F, 0xF1, 0, 0x80],
            serializers: all,
            error: HandshakeError::ReservedBits,
            reply: &[0x7F, 0x30, 0, 0],
        },
        Case {
            name: "closed before the handshake",
            request: &[],
            serializers: all,
            error: HandshakeError::Closed,
            reply: &[],
        },
        Case {
            name: "closed in the middle of the handshake",
            request: &[0x7F, 0xF1],
            serializers: all,
            error: HandshakeError::Closed,
            reply: &[],
        },
    ];
    for case in cases {
        let (mut raw, io) = tokio::io::duplex(1024);
        raw.write_all(case.request).await.expect("write request");
        // Our half-close makes a short request end in EOF; complete ones never need it.
        if case.request.len() < 4 {
            raw.shutdown().await.expect("shutdown");
        }
        let config = RawSocketConfig::default();
        let result = within(
            case.name,
            accept(
                io,
                case.serializers,
                &config,
                TransportKind::RawSocket,
                None,
            ),
        )
        .await;
        match result {
            Err(TransportError::Handshake(e)) => assert_eq!(e, case.error, "{}", case.name),
            other => panic!("{}: expected {:?}, got {other:?}", case.name, case.error),
        }
        assert_eq!(
            read_until_closed(&mut raw).await,
            case.reply,
            "{}",
            case.name
        );
    }
}

#[tokio::test]
async fn client_decodes_every_reply() {
    let cases: [(&str, &[u8], HandshakeError); 14] = [
        (
            "code 1",
            &[0x7F, 0x10, 0, 0],
            HandshakeError::SerializerUnsupported(1),
        ),
        (
            "code 2",
            &[0x7F, 0x20, 0, 0],
            HandshakeError::MaxLengthUnacceptable,
        ),
        ("code 3", &[0x7F, 0x30, 0, 0], HandshakeError::ReservedBits),
        (
            "code 4",
            &[0x7F, 0x40, 0, 0],
            HandshakeError::ConnectionLimit,
        ),
        (
            "illegal code 0",
            &[0x7F, 0x00, 0, 0],
            HandshakeError::UnknownCode(0),
        ),
        (
            "undefined code 5",
            &[0x7F, 0x50, 0, 0],
            HandshakeError::UnknownCode(5),
        ),
        (
            "undefined code 15",
            &[0x7F, 0xF0, 0, 0],
            HandshakeError::UnknownCode(15),
        ),
        (
            "HTTP answer",
            b"HTTP/1.1 400 Bad Request\r\n",
            HandshakeError::BadMagic(b'H'),
        ),
        (
            "zero magic",
            &[0x00, 0xF1, 0, 0],
            HandshakeError::BadMagic(0),
        ),
        (
            "other serializer",
            &[0x7F, 0xF2, 0, 0],
            HandshakeError::SerializerMismatch { asked: 1, got: 2 },
        ),
        (
            "reserved octet in reply",
            &[0x7F, 0xF1, 0, 1],
            HandshakeError::ReservedBits,
        ),
        ("closed without a reply", &[], HandshakeError::Closed),
        ("closed after 1 octet", &[0x7F], HandshakeError::Closed),
        (
            "closed after 3 octets",
            &[0x7F, 0xF1, 0],
            HandshakeError::Closed,
        ),
    ];
    let config = RawSocketConfig::default();
    for (name, reply, expected) in cases {
        let (mut raw, io) = tokio::io::duplex(1024);
        let fake_router = async move {
            let mut request = [0u8; 4];
            raw.read_exact(&mut request).await.expect("request");
            assert_eq!(request, JSON_REQUEST, "{name}");
            raw.write_all(reply).await.expect("reply");
            raw.shutdown().await.expect("shutdown");
            raw // keep the stream open until the client is done
        };
        let client = connect(
            io,
            Serializer::Json,
            &config,
            TransportKind::RawSocket,
            None,
        );
        let (_raw, result) = within(name, async { tokio::join!(fake_router, client) }).await;
        match result {
            Err(TransportError::Handshake(e)) => assert_eq!(e, expected, "{name}"),
            other => panic!("{name}: expected {expected:?}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn length_exponents_are_announced_and_read() {
    // (configured max_message_size, expected exponent, so announced 2^(9 + exponent))
    let cases = [
        (0, 0),
        (1, 0),
        (512, 0),
        (513, 1),
        (1024, 1),
        (65_536, 7),
        (65_537, 8),
        ((1 << 24) - 1, 15),
        (1 << 24, 15),
        ((1 << 24) + 1, 15),
        (usize::MAX, 15),
    ];
    for (max, exponent) in cases {
        let config = RawSocketConfig {
            max_message_size: max,
            ..RawSocketConfig::default()
        };
        let ours = 1usize << (9 + exponent);
        // The other side announces another length, so the two cannot be mixed up.
        let peer_exponent: u8 = 15 - exponent;
        let theirs = 1usize << (9 + peer_exponent);

        // Client side: the request carries our exponent, the reply sets the peer's limit.
        let (mut raw, io) = tokio::io::duplex(1024);
        let fake_router = async {
            let mut request = [0u8; 4];
            raw.read_exact(&mut request).await.expect("request");
            raw.write_all(&[0x7F, (peer_exponent << 4) | 2, 0, 0])
                .await
                .expect("reply");
            request
        };
        let client = connect(
            io,
            Serializer::MsgPack,
            &config,
            TransportKind::RawSocket,
            None,
        );
        let (request, client) = within("client", async { tokio::join!(fake_router, client) }).await;
        assert_eq!(request, [0x7F, (exponent << 4) | 2, 0, 0], "max {max}");
        let client = client.expect("client handshake");
        assert_eq!(client.info().max_message_size, ours, "max {max}");
        assert_eq!(client.info().peer_max_message_size, theirs, "max {max}");

        // Router side: the same the other way round.
        let (mut raw, io) = tokio::io::duplex(1024);
        raw.write_all(&[0x7F, (peer_exponent << 4) | 3, 0, 0])
            .await
            .expect("request");
        let server = within(
            "accept",
            accept(
                io,
                &Serializer::ALL,
                &config,
                TransportKind::SecureRawSocket,
                None,
            ),
        )
        .await
        .expect("router handshake");
        let mut reply = [0u8; 4];
        raw.read_exact(&mut reply).await.expect("reply");
        assert_eq!(reply, [0x7F, (exponent << 4) | 3, 0, 0], "max {max}");
        let info = server.info();
        assert_eq!(info.kind, TransportKind::SecureRawSocket);
        assert_eq!(info.serializer, Some(Serializer::Cbor));
        assert_eq!(info.max_message_size, ours, "max {max}");
        assert_eq!(info.peer_max_message_size, theirs, "max {max}");
    }
}

#[tokio::test]
async fn message_over_the_peers_limit_is_refused_and_the_connection_survives() {
    let small = RawSocketConfig {
        max_message_size: 512,
        ..RawSocketConfig::default()
    };
    let (mut client, mut server, _, _) =
        tcp_pair(Serializer::Json, &small, &RawSocketConfig::default()).await;
    assert_eq!(server.info().peer_max_message_size, 512);

    let big = call(1, &"x".repeat(600));
    match server.send(big).await {
        Err(TransportError::MessageTooLarge { size, max }) => {
            assert!(size > 512, "{size}");
            assert_eq!(max, 512);
        }
        other => panic!("expected MessageTooLarge, got {other:?}"),
    }
    // Nothing went on the wire: the next message is the first one the client sees.
    server.send(call(2, "small")).await.expect("send small");
    let got = within("small", client.next())
        .await
        .expect("open")
        .expect("decodes");
    assert_eq!(got, call(2, "small"));
    // And the other direction is unaffected (the router accepts 16 MiB).
    let big = call(3, &"y".repeat(100_000));
    client.send(big.clone()).await.expect("client sends big");
    let got = within("big", server.next())
        .await
        .expect("open")
        .expect("decodes");
    assert_eq!(got, big);
}

#[tokio::test]
async fn frame_over_our_limit_fails_and_closes_the_connection() {
    let config = RawSocketConfig {
        max_message_size: 1000, // announced as 1024
        ..RawSocketConfig::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut raw = TcpStream::connect(addr).await.expect("connect");
    let (stream, _) = listener.accept().await.expect("accept");
    let (server, ()) = tokio::join!(
        async {
            accept(
                stream,
                &Serializer::ALL,
                &config,
                TransportKind::RawSocket,
                None,
            )
            .await
            .expect("accept")
        },
        raw_client_handshake(&mut raw)
    );
    let mut server = server;
    assert_eq!(server.info().max_message_size, 1024);

    // A message of exactly the limit passes.
    let base = json(&call(1, "")).len();
    let exact = call(1, &"z".repeat(1024 - base));
    let bytes = json(&exact);
    assert_eq!(bytes.len(), 1024);
    raw.write_all(&frame(0, &bytes)).await.expect("write");
    let got = within("exact", server.next())
        .await
        .expect("open")
        .expect("decodes");
    assert_eq!(got, exact);

    // One octet more does not, and there is no way to go on after it.
    let bytes = json(&call(2, &"z".repeat(1025 - base)));
    raw.write_all(&frame(0, &bytes)).await.expect("write");
    match within("too large", server.next()).await {
        Some(Err(TransportError::MessageTooLarge {
            size: 1025,
            max: 1024,
        })) => {}
        other => panic!("expected MessageTooLarge, got {other:?}"),
    }
    assert!(within("end", server.next()).await.is_none());
    assert!(matches!(
        server.send(call(3, "after")).await,
        Err(TransportError::Closed)
    ));
    // The peer sees the connection go away (no half-open socket).
    assert!(read_until_closed(&mut raw).await.is_empty());
}

#[tokio::test]
async fn pings_are_answered_from_the_stream_side_and_pongs_swallowed() {
    let (mut server, mut raw) = router_with_raw_client(&RawSocketConfig::default()).await;
    // The router task only reads; it never touches the sink.
    let reader = tokio::spawn(async move {
        let got = server.next().await;
        (server, got)
    });

    raw.write_all(&frame(1, b"hello")).await.expect("ping");
    assert_eq!(read_frame(&mut raw).await, (2, b"hello".to_vec()));
    raw.write_all(&frame(1, b"")).await.expect("empty ping");
    assert_eq!(read_frame(&mut raw).await, (2, Vec::new()));
    // Several at once: one PONG each, in order.
    let mut pings = Vec::new();
    for n in 0u8..20 {
        pings.extend(frame(1, &[n; 3]));
    }
    raw.write_all(&pings).await.expect("pings");
    for n in 0u8..20 {
        assert_eq!(read_frame(&mut raw).await, (2, vec![n; 3]));
    }
    // An unsolicited PONG is not a message.
    raw.write_all(&frame(2, b"stray pong")).await.expect("pong");
    raw.write_all(&frame(0, &json(&call(7, "after pings"))))
        .await
        .expect("call");

    let (mut server, got) = within("reader", reader).await.expect("task");
    assert_eq!(got.expect("open").expect("decodes"), call(7, "after pings"));
    // Still a working connection both ways.
    server.send(result(7)).await.expect("send");
    let (ty, payload) = read_frame(&mut raw).await;
    assert_eq!(ty, 0);
    assert_eq!(
        Serializer::Json.decode(payload.into()).expect("decodes"),
        result(7)
    );
}

#[tokio::test]
async fn frames_of_exactly_16_mib_use_the_25th_length_bit() {
    let (mut server, mut raw) = router_with_raw_client(&RawSocketConfig::default()).await;
    let reader = tokio::spawn(async move { server.next().await.is_none() });
    let payload: Vec<u8> = (0..1u32 << 24).map(|i| (i % 251) as u8).collect();
    let mut ping = vec![0x09, 0, 0, 0];
    ping.extend_from_slice(&payload);
    within("write 16 MiB ping", raw.write_all(&ping))
        .await
        .expect("write");
    let (first, pong) = read_frame(&mut raw).await;
    assert_eq!(first, 0x0A, "PONG with the X bit");
    assert!(pong == payload, "PONG echoes the 16 MiB payload");
    raw.shutdown().await.expect("shutdown");
    assert!(within("reader", reader).await.expect("task"), "clean end");
}

#[tokio::test]
async fn broken_frames_fail_the_connection() {
    // (what the peer sends after the handshake before closing its side, expected error text)
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("type 3", frame(3, b"x"), "reserved frame type 3"),
        ("type 4", frame(4, b""), "reserved frame type 4"),
        ("type 5", frame(5, b"x"), "reserved frame type 5"),
        ("type 6", frame(6, b"x"), "reserved frame type 6"),
        ("type 7", frame(7, b"x"), "reserved frame type 7"),
        ("reserved bit 4", frame(0x10, b"x"), "reserved bits"),
        ("reserved bit 7", frame(0x81, b"x"), "reserved bits"),
        (
            "25th bit with a length",
            vec![0x08, 0, 0, 1, 0],
            "length bit 25",
        ),
        (
            "after a good frame",
            [frame(0, &json(&call(1, "ok"))), frame(3, b"")].concat(),
            "reserved frame type 3",
        ),
        (
            "truncated payload",
            vec![0, 0, 0, 10, b'[', b'4'],
            "middle of a frame",
        ),
        ("truncated header", vec![0, 0], "middle of a frame"),
        (
            "truncated PING",
            vec![1, 0, 0, 5, b'h'],
            "middle of a frame",
        ),
    ];
    for (name, bytes, expected) in cases {
        let (mut server, mut raw) = router_with_raw_client(&RawSocketConfig::default()).await;
        raw.write_all(&bytes).await.expect("write");
        raw.shutdown().await.expect("shutdown");
        let mut seen = Vec::new();
        let error = loop {
            match within(name, server.next()).await {
                Some(Ok(msg)) => seen.push(msg),
                Some(Err(e)) => break e,
                None => panic!("{name}: ended without an error"),
            }
        };
        assert!(
            matches!(error, TransportError::Framing(_)),
            "{name}: {error:?}"
        );
        assert!(error.to_string().contains(expected), "{name}: {error}");
        assert!(within(name, server.next()).await.is_none(), "{name}: ends");
        assert!(
            matches!(server.send(call(2, "x")).await, Err(TransportError::Closed)),
            "{name}: sink closed"
        );
        assert!(read_until_closed(&mut raw).await.is_empty(), "{name}");
        if name == "after a good frame" {
            assert_eq!(seen, vec![call(1, "ok")]);
        } else {
            assert!(seen.is_empty(), "{name}");
        }
    }
}

#[tokio::test]
async fn undecodable_message_is_reported_and_the_stream_goes_on() {
    let (mut server, mut raw) = router_with_raw_client(&RawSocketConfig::default()).await;
    raw.write_all(&frame(0, b"not json")).await.expect("write");
    raw.write_all(&frame(0, &json(&call(1, "fine"))))
        .await
        .expect("write");
    raw.shutdown().await.expect("shutdown");
    match within("garbage", server.next()).await {
        Some(Err(TransportError::Decode(_))) => {}
        other => panic!("expected a decode error, got {other:?}"),
    }
    let got = within("fine", server.next())
        .await
        .expect("open")
        .expect("decodes");
    assert_eq!(got, call(1, "fine"));
    // A clean EOF between frames ends the stream without an error.
    assert!(within("end", server.next()).await.is_none());
}

#[tokio::test]
async fn message_pipelined_behind_the_handshake_is_not_lost() {
    let (mut raw, io) = tokio::io::duplex(64 * 1024);
    let mut first_flight = JSON_REQUEST.to_vec();
    first_flight.extend(frame(0, &json(&call(9, "eager"))));
    raw.write_all(&first_flight).await.expect("write");
    let mut server = within(
        "accept",
        accept(
            io,
            &Serializer::ALL,
            &RawSocketConfig::default(),
            TransportKind::RawSocket,
            None,
        ),
    )
    .await
    .expect("accept");
    let got = within("eager", server.next())
        .await
        .expect("open")
        .expect("decodes");
    assert_eq!(got, call(9, "eager"));
}

#[tokio::test]
async fn keepalive_times_out_when_pings_go_unanswered() {
    let timeout = Duration::from_millis(200);
    let config = RawSocketConfig {
        ping_interval: Some(Duration::from_millis(50)),
        ping_timeout: timeout,
        ..RawSocketConfig::default()
    };
    let (mut server, mut raw) = router_with_raw_client(&config).await;
    let started = Instant::now();
    let reader = tokio::spawn(async move {
        let first = server.next().await;
        let second = server.next().await;
        (first, second)
    });
    // The router pings an idle connection: an 8-octet counter, starting at 1.
    assert_eq!(read_frame(&mut raw).await, (1, 1u64.to_be_bytes().to_vec()));
    // ...and gives up when nothing comes back.
    let (first, second) = within("reader", reader).await.expect("task");
    match first {
        Some(Err(TransportError::Timeout(t))) => assert_eq!(t, timeout),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(second.is_none());
    assert!(started.elapsed() >= timeout);
    assert!(read_until_closed(&mut raw).await.is_empty());
}

#[tokio::test]
async fn keepalive_pings_are_answered_by_a_real_peer() {
    let pinging = RawSocketConfig {
        ping_interval: Some(Duration::from_millis(20)),
        ping_timeout: Duration::from_millis(250),
        ..RawSocketConfig::default()
    };
    let (mut client, mut server, _, _) =
        tcp_pair(Serializer::MsgPack, &RawSocketConfig::default(), &pinging).await;
    // The client only reads; its stream answers the PINGs and shows none of them.
    let client_reader = tokio::spawn(async move {
        let got = client.next().await;
        (client, got)
    });
    // Many ping periods and well past the timeout: nothing happens.
    let idle = tokio::time::timeout(Duration::from_millis(700), server.next()).await;
    assert!(idle.is_err(), "the router's stream stayed quiet: {idle:?}");

    server.send(call(1, "still there?")).await.expect("send");
    let (mut client, got) = within("client", client_reader).await.expect("task");
    assert_eq!(
        got.expect("open").expect("decodes"),
        call(1, "still there?")
    );
    client.send(result(1)).await.expect("reply");
    let got = within("reply", server.next())
        .await
        .expect("open")
        .expect("decodes");
    assert_eq!(got, result(1));
}

#[tokio::test]
async fn split_reader_and_writer_tasks_both_wake_up() {
    // A client split into a reader task and a writer task, over a pipe that holds only
    // 4 KiB: the writer blocks because the router does not read, then PINGs make the
    // reader block writing PONGs too. A pipe (like a socket) wakes only the last task that
    // waited for room, so the transport must make that wake both.
    let (mut raw, io) = tokio::io::duplex(4096);
    let (client, ()) = tokio::join!(
        async {
            connect(
                io,
                Serializer::Json,
                &RawSocketConfig::default(),
                TransportKind::RawSocket,
                None,
            )
            .await
            .expect("connect")
        },
        async {
            let mut request = [0u8; 4];
            raw.read_exact(&mut request).await.expect("request");
            raw.write_all(&JSON_REQUEST).await.expect("reply");
        }
    );
    let (mut sink, mut stream) = client.split();
    const COUNT: u64 = 20;
    const PINGS: u8 = 5;
    let text = "w".repeat(1024);
    let writer = tokio::spawn(async move {
        for n in 1..=COUNT {
            sink.feed(call(n, &text)).await.expect("feed");
        }
        sink.flush().await.expect("flush");
    });
    let reader = tokio::spawn(async move { stream.next().await });
    tokio::time::sleep(Duration::from_millis(20)).await; // the writer is blocked by now
    for n in 0..PINGS {
        raw.write_all(&frame(1, &[n; 100])).await.expect("ping");
    }
    tokio::time::sleep(Duration::from_millis(20)).await; // the reader is blocked too
    let (mut calls, mut pongs) = (0, 0);
    while calls < COUNT || pongs < PINGS {
        match read_frame(&mut raw).await {
            (0, _) => calls += 1,
            (2, payload) => {
                assert_eq!(payload, vec![pongs; 100]);
                pongs += 1;
            }
            (ty, _) => panic!("unexpected frame type {ty}"),
        }
    }
    within("writer", writer).await.expect("writer");
    raw.write_all(&frame(0, &json(&result(1))))
        .await
        .expect("result");
    let got = within("reader", reader).await.expect("reader");
    assert_eq!(got.expect("open").expect("decodes"), result(1));
}
