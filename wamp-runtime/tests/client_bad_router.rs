//! The client against routers that misbehave: garbage, unknown or out-of-place messages,
//! connections cut mid-frame, silence. Always a clear error and a closed session, never a
//! panic or a hang.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use wamp::client::{Error, SessionState};
use wamp::protocol::*;
use wamp::transport::rawsocket::{self, RawSocketConfig};
use wamp::transport::{Transport, TransportKind};
use wamp::{Serializer, Session};

mod common;

/// A fake router: accepts one RawSocket connection, answers HELLO with WELCOME (unless
/// `welcome` is false) and hands the transport to `script`.
async fn fake_router<F, Fut>(welcome: bool, script: F) -> String
where
    F: FnOnce(Transport) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("tcp://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut t = common::accept_hello(&listener, Serializer::Json).await;
        if welcome {
            common::welcome(&mut t, 77).await;
        }
        script(t).await;
    });
    url
}

async fn session(url: &str) -> Result<Session, Error> {
    Session::builder(url)
        .serializer(Serializer::Json)
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await
}

async fn closed_reason(s: &Session) -> String {
    let mut state = s.state();
    let reason = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let SessionState::Closed(r) = &*state.borrow_and_update() {
                return r.clone();
            }
            if state.changed().await.is_err() {
                return "state channel closed".to_owned();
            }
        }
    })
    .await;
    reason.expect("the session closes in time")
}

/// Accepts one RawSocket connection at the byte level (JSON, no limit), reads the client's
/// HELLO frame and hands back the stream, for routers that then misbehave in raw bytes.
async fn accept_until_hello(listener: &TcpListener) -> tokio::net::TcpStream {
    use tokio::io::AsyncReadExt;
    let (mut stream, _) = listener.accept().await.expect("accept");
    let mut handshake = [0u8; 4];
    stream.read_exact(&mut handshake).await.expect("handshake");
    stream.write_all(&[0x7f, 0xf1, 0, 0]).await.expect("reply");
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).await.expect("hello header");
    let len = u32::from_be_bytes([0, header[1], header[2], header[3]]) as usize;
    let mut hello = vec![0u8; len];
    stream.read_exact(&mut hello).await.expect("hello");
    stream
}

#[tokio::test]
async fn garbage_during_the_handshake_is_a_clear_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("tcp://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        let mut hs = [0u8; 4];
        tokio::io::AsyncReadExt::read_exact(&mut stream, &mut hs)
            .await
            .expect("handshake");
        stream.write_all(&[0x7f, 0xf1, 0, 0]).await.expect("reply");
        // A frame whose payload is not JSON.
        let body = b"this is not json";
        stream
            .write_all(&[0, 0, 0, body.len() as u8])
            .await
            .expect("header");
        stream.write_all(body).await.expect("body");
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let err = session(&url).await.expect_err("must fail");
    assert!(err.to_string().contains("malformed json"), "{err}");
}

#[tokio::test]
async fn a_silent_router_times_out() {
    let url = fake_router(false, |t| async move {
        let _keep_open = t;
        tokio::time::sleep(Duration::from_secs(10)).await
    })
    .await;
    let err = session(&url).await.expect_err("must time out");
    assert!(matches!(err, Error::Timeout(_)), "{err}");
}

#[tokio::test]
async fn an_abort_during_the_handshake_carries_reason_and_message() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("tcp://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let (stream, peer) = listener.accept().await.expect("accept");
        let mut t = rawsocket::accept(
            stream,
            &[Serializer::Json],
            &RawSocketConfig::default(),
            TransportKind::RawSocket,
            Some(peer),
        )
        .await
        .expect("handshake");
        let _hello = t.next().await;
        let abort = Abort {
            details: CloseDetails::new().with_message("go away".into()),
            reason: Uri::from_static("wamp.error.no_such_realm"),
        };
        t.send(abort.into()).await.expect("abort");
    });
    let err = session(&url).await.expect_err("aborted");
    assert_eq!(
        err.to_string(),
        "the router aborted the session: wamp.error.no_such_realm (go away)"
    );
}

#[tokio::test]
async fn unsolicited_replies_are_ignored_until_the_router_goes_away() {
    let (seen_tx, seen_rx) = tokio::sync::oneshot::channel();
    let url = fake_router(true, |mut t| async move {
        // Wait for the CALL, then answer with replies to nothing we asked.
        let _call = t.next().await;
        t.send(Message::Published(Published {
            request: Id::MIN,
            publication: Id::MIN,
        }))
        .await
        .expect("send");
        let mut raw = t;
        let bad = ErrorMessage {
            request_type: MessageType::Hello,
            request: Id::MIN,
            details: ErrorDetails::new(),
            error: Uri::from_static("x.y"),
            payload: Payload::empty(),
        };
        raw.send(bad.into()).await.expect("send");
        let _ = seen_tx.send(raw.next().await);
    })
    .await;
    let s = session(&url).await.expect("joined");
    let call = s
        .call("com.example.x")
        .timeout(Duration::from_secs(5))
        .await;
    // The first reply (an unsolicited PUBLISHED) is ignored; the ERROR for a HELLO request
    // is ignored as untracked; the session stays up until the router goes away.
    let reason = closed_reason(&s).await;
    assert!(call.is_err());
    assert!(!reason.is_empty());
    let _ = seen_rx.await;
}

#[tokio::test]
async fn an_unexpected_message_is_a_protocol_violation() {
    let (abort_tx, abort_rx) = tokio::sync::oneshot::channel();
    let url = fake_router(true, |mut t| async move {
        t.send(
            Welcome {
                session: Id::MIN,
                details: WelcomeDetails::new(),
            }
            .into(),
        )
        .await
        .expect("second welcome");
        let _ = abort_tx.send(t.next().await);
    })
    .await;
    let s = session(&url).await.expect("joined");
    let reason = closed_reason(&s).await;
    assert!(reason.contains("unexpected WELCOME"), "{reason}");
    let abort = abort_rx.await.expect("router saw something");
    assert!(
        matches!(&abort, Some(Ok(Message::Abort(a))) if a.reason.as_str() == "wamp.error.protocol_violation"),
        "{abort:?}"
    );
    let err = s.call("com.example.x").await.expect_err("closed");
    assert!(err.to_string().contains("unexpected WELCOME"), "{err}");
}

#[tokio::test]
async fn an_undecodable_message_after_welcome_closes_the_session() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("tcp://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut stream = accept_until_hello(&listener).await;
        for frame in [&br#"[2,5,{}]"#[..], br#"[36, "x"]"#] {
            stream
                .write_all(&[0, 0, 0, frame.len() as u8])
                .await
                .expect("header");
            stream.write_all(frame).await.expect("frame");
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let s = session(&url).await.expect("joined");
    let reason = closed_reason(&s).await;
    assert!(
        reason.contains("invalid message") && reason.contains("EVENT"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_connection_cut_mid_frame_closes_the_session() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("tcp://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut stream = accept_until_hello(&listener).await;
        let welcome = br#"[2,5,{}]"#;
        stream
            .write_all(&[0, 0, 0, welcome.len() as u8])
            .await
            .expect("header");
        stream.write_all(welcome).await.expect("welcome");
        // Announce 100 bytes, send 3, hang up.
        stream
            .write_all(&[0, 0, 0, 100, b'[', b'3', b'6'])
            .await
            .expect("partial");
        stream.shutdown().await.expect("shutdown");
    });
    let s = session(&url).await.expect("joined");
    let reason = closed_reason(&s).await;
    assert!(reason.contains("connection lost"), "{reason}");
    let err = s.publish("com.example.t").await.expect_err("closed");
    assert!(matches!(err, Error::NotConnected(_)), "{err}");
}

#[tokio::test]
async fn results_for_unknown_requests_are_ignored() {
    let url = fake_router(true, |mut t| async move {
        let stray = ResultMessage {
            request: Id::new(999).expect("id"),
            details: ResultDetails::new(),
            payload: Payload::empty(),
        };
        t.send(stray.into()).await.expect("stray");
        if let Some(Ok(Message::Call(c))) = t.next().await {
            let reply = ResultMessage {
                request: c.request,
                details: ResultDetails::new(),
                payload: Payload::from_values(vec![1.into()], Default::default()),
            };
            t.send(reply.into()).await.expect("reply");
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    })
    .await;
    let s = session(&url).await.expect("joined");
    let r = s.call("com.example.x").await.expect("answered");
    assert_eq!(r.args::<(i32,)>().expect("args"), (1,));
    assert!(s.is_connected());
}
