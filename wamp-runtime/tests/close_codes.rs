//! The router's WebSocket close frames carry the right status code: 1000 after GOODBYE,
//! 1001 on shutdown, 1002 for a protocol violation, 1003 for a text frame on a binary
//! serializer, 1007 for a message that does not decode, 1009 for one too big. A raw
//! tokio-tungstenite client reads the close frame.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use wamp::router::{Limits, RealmConfig, Router};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

const HELLO: &str = r#"[1,"realm1",{"roles":{"caller":{},"subscriber":{}}}]"#;

async fn router(limits: Limits) -> (Router, String) {
    let router = Router::builder()
        .realm(RealmConfig::new("realm1"))
        .websocket("127.0.0.1:0".parse().expect("addr"))
        .limits(limits)
        .start()
        .await
        .expect("router");
    let url = router.listeners()[0].url();
    (router, url)
}

async fn client(url: &str, subprotocol: &'static str) -> Client {
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static(subprotocol),
    );
    let (ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connect");
    ws
}

/// Joins realm1 over JSON and returns the WELCOME's text.
async fn joined(url: &str) -> Client {
    let mut ws = client(url, "wamp.2.json").await;
    ws.send(Ws::text(HELLO)).await.expect("hello");
    let (texts, close) = read_some(&mut ws, 1).await;
    assert!(close.is_none(), "closed instead of WELCOME: {close:?}");
    assert!(texts[0].starts_with("[2,"), "not a WELCOME: {texts:?}");
    ws
}

/// Reads until `count` data messages arrived or the router closed: the texts (binary as
/// lossy text) and the close frame's code and reason.
async fn read_some(ws: &mut Client, count: usize) -> (Vec<String>, Option<(u16, String)>) {
    let mut texts = Vec::new();
    let read = async {
        while let Some(msg) = ws.next().await {
            match msg {
                Ok(Ws::Text(t)) => texts.push(t.to_string()),
                Ok(Ws::Binary(b)) => texts.push(String::from_utf8_lossy(&b).into_owned()),
                Ok(Ws::Close(frame)) => {
                    return frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                }
                Ok(_) => continue,
                Err(e) => panic!("the connection broke without a close frame: {e}"),
            }
            if texts.len() == count {
                return None;
            }
        }
        panic!("the connection ended without a close frame")
    };
    let close = tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("the router answered in time");
    (texts, close)
}

/// Reads to the close frame and returns the texts before it and its code.
async fn closed_with(ws: &mut Client) -> (Vec<String>, u16) {
    let (texts, close) = read_some(ws, usize::MAX).await;
    let (code, reason) = close.expect("a close frame with a status code");
    assert!(!reason.is_empty(), "a short reason comes with code {code}");
    (texts, code)
}

#[tokio::test]
async fn goodbye_closes_normally() {
    let (_router, url) = router(Limits::default()).await;
    let mut ws = joined(&url).await;
    ws.send(Ws::text(r#"[6,{},"wamp.close.close_realm"]"#))
        .await
        .expect("goodbye");
    let (texts, code) = closed_with(&mut ws).await;
    assert!(texts[0].contains("wamp.close.goodbye_and_out"), "{texts:?}");
    assert_eq!(code, 1000);
}

#[tokio::test]
async fn shutdown_is_going_away() {
    let (router, url) = router(Limits::default()).await;
    let mut ws = joined(&url).await;
    let stopping = tokio::spawn(async move { router.shutdown(Duration::from_secs(5)).await });
    let (texts, code) = closed_with(&mut ws).await;
    assert!(texts[0].contains("wamp.close.system_shutdown"), "{texts:?}");
    assert_eq!(code, 1001);
    stopping.await.expect("shutdown");
}

#[tokio::test]
async fn protocol_violations_are_1002() {
    let (_router, url) = router(Limits::default()).await;
    // Before joining: anything but HELLO.
    let mut ws = client(&url, "wamp.2.json").await;
    ws.send(Ws::text(r#"[2,1,{}]"#)).await.expect("send");
    let (texts, code) = closed_with(&mut ws).await;
    assert!(
        texts[0].contains("wamp.error.protocol_violation"),
        "{texts:?}"
    );
    assert_eq!(code, 1002);
    // In a session: a second HELLO.
    let mut ws = joined(&url).await;
    ws.send(Ws::text(HELLO)).await.expect("send");
    let (texts, code) = closed_with(&mut ws).await;
    assert!(
        texts[0].contains("wamp.error.protocol_violation"),
        "{texts:?}"
    );
    assert_eq!(code, 1002);
    // In a session: a message only a router may send.
    let mut ws = joined(&url).await;
    ws.send(Ws::text(r#"[36,1,1,{}]"#)).await.expect("send");
    let (texts, code) = closed_with(&mut ws).await;
    assert!(
        texts[0].contains("wamp.error.protocol_violation"),
        "{texts:?}"
    );
    assert_eq!(code, 1002);
}

#[tokio::test]
async fn undecodable_messages_are_1007() {
    let (_router, url) = router(Limits::default()).await;
    for garbage in [r#"[1,"realm1""#, r#"[1,"realm1",[]]"#, "[999]"] {
        let mut ws = client(&url, "wamp.2.json").await;
        ws.send(Ws::text(garbage)).await.expect("send");
        let (texts, code) = closed_with(&mut ws).await;
        assert!(
            texts[0].contains("wamp.error.protocol_violation"),
            "{garbage}: {texts:?}"
        );
        assert_eq!(code, 1007, "{garbage}");
    }
    let mut ws = joined(&url).await;
    ws.send(Ws::text(r#"[48,1,{},"not a uri!"]"#))
        .await
        .expect("send");
    let (texts, code) = closed_with(&mut ws).await;
    assert!(
        texts[0].contains("wamp.error.protocol_violation"),
        "{texts:?}"
    );
    assert_eq!(code, 1007);
    // MessagePack bytes that are not MessagePack.
    let mut ws = client(&url, "wamp.2.msgpack").await;
    ws.send(Ws::binary(vec![0x93, 0xc1])).await.expect("send");
    let (_, code) = closed_with(&mut ws).await;
    assert_eq!(code, 1007);
}

#[tokio::test]
async fn a_text_frame_on_a_binary_serializer_is_1003() {
    let (_router, url) = router(Limits::default()).await;
    let mut ws = client(&url, "wamp.2.msgpack").await;
    ws.send(Ws::text(HELLO)).await.expect("send");
    let (_, code) = closed_with(&mut ws).await;
    assert_eq!(code, 1003);
}

#[tokio::test]
async fn messages_over_the_limit_are_1009() {
    let limits = Limits {
        max_message_size: 1024,
        ..Limits::default()
    };
    let (_router, url) = router(limits).await;
    let big = format!(r#"[1,"realm1",{{"x":"{}"}}]"#, "a".repeat(2000));
    let mut ws = client(&url, "wamp.2.json").await;
    ws.send(Ws::text(big.clone())).await.expect("send");
    let (_, code) = closed_with(&mut ws).await;
    assert_eq!(code, 1009);
    let mut ws = joined(&url).await;
    ws.send(Ws::text(big)).await.expect("send");
    let (_, code) = closed_with(&mut ws).await;
    assert_eq!(code, 1009);
}
