//! The client's WebSocket close frames say why it ended the connection: 1007 after a
//! message from the router that does not decode, 1002 after one that breaks the protocol,
//! in the session and during the handshake alike. A raw tokio-tungstenite server plays the
//! router and reads the close frame.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as Ws;
use wamp::{Serializer, Session};

/// Answers the WebSocket upgrade with the JSON subprotocol.
#[allow(clippy::result_large_err)] // the signature tungstenite's callback has
fn pick_json(_: &Request, mut response: Response) -> Result<Response, ErrorResponse> {
    response.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("wamp.2.json"),
    );
    Ok(response)
}

/// A fake JSON router for one connection: reads HELLO, sends `frames` (text), then reads
/// until the client's close frame and returns its code and the texts the client sent.
async fn fake_router(
    frames: Vec<&'static str>,
) -> (String, tokio::task::JoinHandle<(u16, Vec<String>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        let mut ws = tokio_tungstenite::accept_hdr_async(stream, pick_json)
            .await
            .expect("websocket handshake");
        let hello = ws.next().await.expect("open").expect("HELLO");
        assert!(
            hello.to_text().expect("text").starts_with("[1,"),
            "{hello:?}"
        );
        for frame in frames {
            ws.send(Ws::text(frame)).await.expect("send");
        }
        let mut texts = Vec::new();
        let read = async {
            while let Some(msg) = ws.next().await {
                match msg {
                    Ok(Ws::Text(t)) => {
                        // Answer GOODBYE as a router does.
                        if t.starts_with("[6,") {
                            let bye = r#"[6,{},"wamp.close.goodbye_and_out"]"#;
                            ws.send(Ws::text(bye)).await.expect("goodbye");
                        }
                        texts.push(t.to_string());
                    }
                    Ok(Ws::Close(frame)) => {
                        return frame.map_or(1005, |f| u16::from(f.code));
                    }
                    Ok(_) => {}
                    Err(e) => panic!("the connection broke without a close frame: {e}"),
                }
            }
            panic!("the connection ended without a close frame")
        };
        let code = tokio::time::timeout(Duration::from_secs(10), read)
            .await
            .expect("the client closed in time");
        (code, texts)
    });
    (url, task)
}

async fn connect(url: &str) -> Result<Session, wamp::client::Error> {
    Session::builder(url)
        .serializer(Serializer::Json)
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
}

const WELCOME: &str = r#"[2,77,{"roles":{"broker":{},"dealer":{}}}]"#;

#[tokio::test]
async fn an_undecodable_message_in_the_session_is_1007() {
    for garbage in [r#"[50,1,{}"#, r#"[50,"x",{}]"#, "[999]"] {
        let (url, router) = fake_router(vec![WELCOME, garbage]).await;
        let _session = connect(&url).await.expect("joined");
        let (code, texts) = router.await.expect("router");
        assert_eq!(code, 1007, "{garbage}: {texts:?}");
        assert!(
            texts
                .iter()
                .any(|t| t.contains("wamp.error.protocol_violation")),
            "an ABORT first: {texts:?}"
        );
    }
}

#[tokio::test]
async fn a_protocol_violation_in_the_session_is_1002() {
    // A second WELCOME, and a message no router sends to a client.
    for violation in [WELCOME, r#"[48,1,{},"x"]"#] {
        let (url, router) = fake_router(vec![WELCOME, violation]).await;
        let _session = connect(&url).await.expect("joined");
        let (code, texts) = router.await.expect("router");
        assert_eq!(code, 1002, "{violation}: {texts:?}");
    }
}

#[tokio::test]
async fn the_handshake_closes_with_the_same_codes() {
    let (url, router) = fake_router(vec!["[2,"]).await;
    connect(&url).await.expect_err("no WELCOME");
    assert_eq!(router.await.expect("router").0, 1007);
    let (url, router) = fake_router(vec![r#"[50,1,{}]"#]).await;
    let err = connect(&url).await.expect_err("no WELCOME");
    assert!(err.to_string().contains("expected WELCOME"), "{err}");
    assert_eq!(router.await.expect("router").0, 1002);
}

#[tokio::test]
async fn leaving_is_still_1000() {
    let (url, router) = fake_router(vec![WELCOME]).await;
    let session = connect(&url).await.expect("joined");
    session.leave().await.expect("left");
    assert_eq!(router.await.expect("router").0, 1000);
}
