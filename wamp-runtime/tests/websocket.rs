//! WebSocket transport, both halves, over loopback sockets (port 0), with and without TLS.

// tungstenite's handshake callbacks return its large HTTP response type as the error.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
mod common;

use common::pki;
use tokio::net::TcpListener;
use wamp::protocol::*;
use wamp::transport::tls::{TlsClientConfig, TlsServerConfig};
use wamp::transport::websocket::{self, WebSocketConfig};
use wamp::transport::{connect, ClientTransportConfig, Transport, TransportError, TransportKind};
use wamp::Serializer;

fn call(n: u64, arg: Value) -> Message {
    Call {
        request: Id::new(n).expect("id"),
        options: CallOptions::new(),
        procedure: Uri::new("com.example.echo").expect("uri"),
        payload: Payload::from_values(vec![arg], Dict::new()),
    }
    .into()
}

/// Accepts one WebSocket connection with `server` settings, optionally over TLS.
async fn server(
    serializers: Vec<Serializer>,
    config: WebSocketConfig,
    tls: Option<TlsServerConfig>,
) -> (
    String,
    tokio::task::JoinHandle<Result<Transport, TransportError>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    let handle = tokio::spawn(async move {
        let (stream, peer) = listener.accept().await?;
        match tls {
            Some(tls) => {
                let stream = tls
                    .acceptor()?
                    .accept(stream)
                    .await
                    .map_err(|e| TransportError::Tls(e.to_string()))?;
                websocket::accept(
                    stream,
                    &serializers,
                    &config,
                    TransportKind::SecureWebSocket,
                    Some(peer),
                )
                .await
            }
            None => {
                websocket::accept(
                    stream,
                    &serializers,
                    &config,
                    TransportKind::WebSocket,
                    Some(peer),
                )
                .await
            }
        }
    });
    (format!("{scheme}://127.0.0.1:{}/ws", addr.port()), handle)
}

fn client(serializers: &[Serializer]) -> ClientTransportConfig {
    ClientTransportConfig {
        serializers: serializers.to_vec(),
        ..Default::default()
    }
}

#[tokio::test]
async fn messages_flow_both_ways_with_each_serializer() {
    for ser in Serializer::ALL {
        let (url, srv) = server(Serializer::ALL.to_vec(), WebSocketConfig::default(), None).await;
        let mut c = connect(&url, &client(&[ser])).await.expect("connect");
        let mut s = srv.await.expect("join").expect("accept");
        assert_eq!(c.info().serializer, Some(ser));
        assert_eq!(s.info().serializer, Some(ser));
        for i in 1..=3 {
            c.send(call(i, Value::Binary(vec![i as u8; 10])))
                .await
                .expect("send");
            assert_eq!(
                s.next().await.expect("frame").expect("message"),
                call(i, Value::Binary(vec![i as u8; 10]))
            );
            s.send(call(i, "back".into())).await.expect("send");
            assert_eq!(
                c.next().await.expect("frame").expect("message"),
                call(i, "back".into())
            );
        }
        c.close().await.expect("close");
        assert!(s.next().await.is_none(), "server sees the close");
    }
}

#[tokio::test]
async fn server_takes_the_clients_first_supported_choice() {
    let (url, srv) = server(
        vec![Serializer::Cbor, Serializer::MsgPack],
        WebSocketConfig::default(),
        None,
    )
    .await;
    let c = connect(
        &url,
        &client(&[Serializer::Json, Serializer::MsgPack, Serializer::Cbor]),
    )
    .await
    .expect("connect");
    assert_eq!(c.info().serializer, Some(Serializer::MsgPack));
    srv.await.expect("join").expect("accept");
}

#[tokio::test]
async fn no_common_subprotocol_fails_clearly_on_both_sides() {
    let (url, srv) = server(vec![Serializer::MsgPack], WebSocketConfig::default(), None).await;
    let err = connect(&url, &client(&[Serializer::Json]))
        .await
        .expect_err("must fail");
    assert!(
        err.to_string().contains("400") && err.to_string().contains("wamp.2.msgpack"),
        "{err}"
    );
    let server_err = srv.await.expect("join").expect_err("must fail");
    assert!(
        matches!(server_err, TransportError::NoCommonSerializer { .. }),
        "{server_err}"
    );
}

#[tokio::test]
async fn wrong_path_is_refused() {
    let config = WebSocketConfig {
        path: Some("/ws".into()),
        ..Default::default()
    };
    let (url, srv) = server(Serializer::ALL.to_vec(), config, None).await;
    let err = connect(&url.replace("/ws", "/other"), &client(&[Serializer::Json]))
        .await
        .expect_err("404");
    assert!(err.to_string().contains("404"), "{err}");
    assert!(srv.await.expect("join").is_err());
}

#[tokio::test]
async fn oversized_messages_are_refused() {
    let config = WebSocketConfig {
        max_message_size: 1024,
        ..Default::default()
    };
    let (url, srv) = server(vec![Serializer::Json], config, None).await;
    let mut c = connect(&url, &client(&[Serializer::Json]))
        .await
        .expect("connect");
    let mut s = srv.await.expect("join").expect("accept");
    // The server refuses to send more than its limit, and the connection stays usable.
    let err = s
        .send(call(1, Value::from("x".repeat(2000))))
        .await
        .expect_err("too large");
    assert!(
        matches!(err, TransportError::MessageTooLarge { max: 1024, .. }),
        "{err}"
    );
    s.send(call(2, "small".into())).await.expect("still usable");
    assert_eq!(
        c.next().await.expect("frame").expect("message"),
        call(2, "small".into())
    );
    // A client message over the server's limit ends the server's stream with an error.
    c.send(call(3, Value::from("y".repeat(4000))))
        .await
        .expect("client has a larger limit");
    let err = s.next().await.expect("item").expect_err("too large");
    assert!(
        matches!(
            err,
            TransportError::MessageTooLarge { .. } | TransportError::WebSocket(_)
        ),
        "{err}"
    );
    assert!(s.next().await.is_none(), "stream ends after the error");
}

#[tokio::test]
async fn undecodable_frames_are_reported_and_the_stream_goes_on() {
    use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message as Ws};
    let (url, srv) = server(vec![Serializer::Json], WebSocketConfig::default(), None).await;
    let mut req = url.as_str().into_client_request().expect("request");
    req.headers_mut().insert(
        "sec-websocket-protocol",
        "wamp.2.json".parse().expect("header"),
    );
    let stream =
        tokio::net::TcpStream::connect(url.trim_start_matches("ws://").trim_end_matches("/ws"))
            .await
            .expect("tcp");
    let (mut raw, _) = tokio_tungstenite::client_async(req, stream)
        .await
        .expect("handshake");
    let mut s = srv.await.expect("join").expect("accept");
    raw.send(Ws::text("[48, \"not an id\", {}, \"p\"]"))
        .await
        .expect("send");
    raw.send(Ws::text("not json")).await.expect("send");
    raw.send(Ws::text("[99]")).await.expect("send");
    raw.send(Ws::text("[48, 1, {}, \"p\"]"))
        .await
        .expect("send");
    for expected in ["CALL.Request", "malformed json", "unknown message type 99"] {
        let err = s.next().await.expect("item").expect_err("bad message");
        assert!(err.to_string().contains(expected), "{err} vs {expected}");
    }
    assert!(matches!(s.next().await, Some(Ok(Message::Call(_)))));
}

#[tokio::test]
async fn text_frames_on_a_binary_serializer_are_a_framing_error() {
    use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message as Ws};
    let (url, srv) = server(vec![Serializer::MsgPack], WebSocketConfig::default(), None).await;
    let mut req = url.as_str().into_client_request().expect("request");
    req.headers_mut().insert(
        "sec-websocket-protocol",
        "wamp.2.msgpack".parse().expect("header"),
    );
    let stream =
        tokio::net::TcpStream::connect(url.trim_start_matches("ws://").trim_end_matches("/ws"))
            .await
            .expect("tcp");
    let (mut raw, _) = tokio_tungstenite::client_async(req, stream)
        .await
        .expect("handshake");
    let mut s = srv.await.expect("join").expect("accept");
    raw.send(Ws::text("[1]")).await.expect("send");
    let err = s.next().await.expect("item").expect_err("framing");
    assert!(matches!(err, TransportError::Framing(_)), "{err}");
}

#[tokio::test]
async fn custom_headers_and_url_path_reach_the_server() {
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let srv = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        let mut seen = None;
        let cb = |req: &Request, mut resp: Response| {
            seen = Some((
                req.uri().path().to_owned(),
                req.headers()
                    .get("x-api-key")
                    .map(|v| v.to_str().unwrap_or_default().to_owned()),
            ));
            resp.headers_mut().insert(
                "sec-websocket-protocol",
                "wamp.2.cbor".parse().expect("header"),
            );
            Ok(resp)
        };
        let _ws = tokio_tungstenite::accept_hdr_async(stream, cb)
            .await
            .expect("handshake");
        seen
    });
    let config = ClientTransportConfig {
        headers: vec![("X-Api-Key".into(), "k123".into())],
        ..client(&[Serializer::Json, Serializer::Cbor])
    };
    let c = connect(&format!("ws://127.0.0.1:{port}/some/path"), &config)
        .await
        .expect("connect");
    assert_eq!(c.info().serializer, Some(Serializer::Cbor));
    let seen = srv.await.expect("join");
    assert_eq!(seen, Some(("/some/path".into(), Some("k123".into()))));
}

#[tokio::test]
async fn keepalive_pings_detect_a_dead_peer() {
    // A peer that completes the handshake and then never reads: no pong ever comes.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let _srv = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        let cb =
            |_: &tokio_tungstenite::tungstenite::handshake::server::Request,
             mut resp: tokio_tungstenite::tungstenite::handshake::server::Response| {
                resp.headers_mut().insert(
                    "sec-websocket-protocol",
                    "wamp.2.json".parse().expect("header"),
                );
                Ok(resp)
            };
        let ws = tokio_tungstenite::accept_hdr_async(stream, cb)
            .await
            .expect("handshake");
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(ws);
    });
    let config = ClientTransportConfig {
        ping_interval: Some(Duration::from_millis(50)),
        ping_timeout: Duration::from_millis(200),
        ..client(&[Serializer::Json])
    };
    let mut c = connect(&format!("ws://127.0.0.1:{port}/ws"), &config)
        .await
        .expect("connect");
    let item = tokio::time::timeout(Duration::from_secs(5), c.next())
        .await
        .expect("keepalive fires");
    assert!(
        matches!(item, Some(Err(TransportError::Timeout(_)))),
        "{item:?}"
    );
}

#[tokio::test]
async fn keepalive_pings_are_answered_by_a_live_peer() {
    let (url, srv) = server(vec![Serializer::Json], WebSocketConfig::default(), None).await;
    let config = ClientTransportConfig {
        ping_interval: Some(Duration::from_millis(20)),
        ping_timeout: Duration::from_millis(500),
        ..client(&[Serializer::Json])
    };
    let mut c = connect(&url, &config).await.expect("connect");
    let mut s = srv.await.expect("join").expect("accept");
    // The server keeps reading (which answers pings); the client sees no timeout.
    let reader = tokio::spawn(async move { s.next().await.map(|r| r.is_ok()) });
    let quiet = tokio::time::timeout(Duration::from_millis(1000), c.next()).await;
    assert!(quiet.is_err(), "no timeout and no message: {quiet:?}");
    c.send(call(1, Value::Null)).await.expect("send");
    assert_eq!(reader.await.expect("join"), Some(true));
}

#[tokio::test]
async fn wss_verifies_the_server_certificate() {
    let pki = pki();
    let tls_server = TlsServerConfig::new(pki.server_chain.clone(), pki.server_key.clone_key());

    let (url, srv) = server(
        vec![Serializer::Json],
        WebSocketConfig::default(),
        Some(tls_server.clone()),
    )
    .await;
    let config = ClientTransportConfig {
        tls: TlsClientConfig::new().add_ca_certificates([pki.ca.clone()]),
        ..client(&[Serializer::Json])
    };
    let mut c = connect(&url, &config).await.expect("trusted CA");
    let mut s = srv.await.expect("join").expect("accept");
    assert_eq!(c.info().kind, TransportKind::SecureWebSocket);
    c.send(call(1, "tls".into())).await.expect("send");
    assert_eq!(
        s.next().await.expect("frame").expect("message"),
        call(1, "tls".into())
    );

    let (url, _srv) = server(
        vec![Serializer::Json],
        WebSocketConfig::default(),
        Some(tls_server.clone()),
    )
    .await;
    let err = connect(&url, &client(&[Serializer::Json]))
        .await
        .expect_err("unknown CA");
    assert!(matches!(err, TransportError::Tls(_)), "{err}");

    let (url, _srv) = server(
        vec![Serializer::Json],
        WebSocketConfig::default(),
        Some(tls_server),
    )
    .await;
    let config = ClientTransportConfig {
        tls: TlsClientConfig::new().dangerous_accept_invalid_certs(true),
        ..client(&[Serializer::Json])
    };
    connect(&url, &config).await.expect("verification disabled");
}

#[tokio::test]
async fn client_certificates_are_presented_and_required() {
    let pki = pki();
    let tls_server = TlsServerConfig::new(pki.server_chain.clone(), pki.server_key.clone_key())
        .with_client_ca(vec![pki.ca.clone()]);
    let trusted = TlsClientConfig::new().add_ca_certificates([pki.ca.clone()]);

    let (url, srv) = server(
        vec![Serializer::Json],
        WebSocketConfig::default(),
        Some(tls_server.clone()),
    )
    .await;
    let config = ClientTransportConfig {
        tls: trusted
            .clone()
            .with_client_cert(pki.client_chain.clone(), pki.client_key.clone_key()),
        ..client(&[Serializer::Json])
    };
    connect(&url, &config)
        .await
        .expect("with a client certificate");
    srv.await.expect("join").expect("accept");

    let (url, srv) = server(
        vec![Serializer::Json],
        WebSocketConfig::default(),
        Some(tls_server),
    )
    .await;
    let config = ClientTransportConfig {
        tls: trusted,
        ..client(&[Serializer::Json])
    };
    // TLS 1.3 reports the missing certificate after the client's handshake: either side fails.
    let client_result = connect(&url, &config).await;
    let server_result = srv.await.expect("join");
    assert!(client_result.is_err() || server_result.is_err());
    assert!(
        server_result.is_err(),
        "server must refuse a client without certificate"
    );
}

#[test]
fn tls_debug_output_hides_keys() {
    let pki = pki();
    let c = TlsClientConfig::new().with_client_cert(pki.client_chain, pki.client_key);
    let s = TlsServerConfig::new(pki.server_chain, pki.server_key);
    let text = format!("{c:?} {s:?}");
    assert!(
        !text.contains("Pkcs8") && !text.contains("key: ["),
        "{text}"
    );
}

/// The server writes its data frames itself (not through tungstenite): every length
/// encoding (7-bit, 16-bit, 64-bit), text and binary, and bursts larger than its write
/// buffer's high-water mark arrive whole and in order.
#[tokio::test]
async fn server_frames_of_every_size_arrive_whole_and_in_order() {
    for ser in Serializer::ALL {
        let (url, srv) = server(Serializer::ALL.to_vec(), WebSocketConfig::default(), None).await;
        let mut c = connect(&url, &client(&[ser])).await.expect("connect");
        let mut s = srv.await.expect("join").expect("accept");
        let sizes = [1usize, 100, 200, 70_000, 300_000, 5];
        // A burst: queued without a flush in between, then flushed at once.
        for (i, n) in sizes.iter().enumerate() {
            s.feed(call(i as u64 + 1, Value::from("z".repeat(*n))))
                .await
                .expect("feed");
        }
        s.flush().await.expect("flush");
        for (i, n) in sizes.iter().enumerate() {
            let got = tokio::time::timeout(Duration::from_secs(10), c.next())
                .await
                .expect("in time")
                .expect("open")
                .expect("a message");
            assert_eq!(
                got,
                call(i as u64 + 1, Value::from("z".repeat(*n))),
                "{ser}"
            );
        }
        // And the other way still works on the same connection.
        c.send(call(9, "up".into())).await.expect("send");
        assert_eq!(
            s.next().await.expect("frame").expect("message"),
            call(9, "up".into())
        );
    }
}
