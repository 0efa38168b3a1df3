//! A payload value one serializer allows and another has no form for (NaN for JSON, a
//! MessagePack extension type, a CBOR tag, a JSON number beyond `f64`, ...) never costs an
//! innocent peer its session. Real mixed-serializer sessions through the embedded router:
//! the sender of a CALL, YIELD or ERROR gets `wamp.error.invalid_argument` naming the value,
//! an event is dropped (and counted) only for the subscriber that cannot take it, an
//! acknowledged publication nobody could take is refused, and every recipient stays joined.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as Ws;
use wamp::client::{Error, StandardError, Subscription, WampError};
use wamp::protocol::Message;
use wamp::router::{RealmConfig, Router};
use wamp::{Serializer, Session};

mod common;

async fn router() -> (Router, String, String) {
    let router = Router::builder()
        .realm(RealmConfig::new("realm1"))
        .websocket("127.0.0.1:0".parse().expect("addr"))
        .rawsocket("127.0.0.1:0".parse().expect("addr"))
        .start()
        .await
        .expect("router");
    let ws = router.listeners()[0].url();
    let rs = router.listeners()[1].url();
    (router, ws, rs)
}

async fn session(url: &str, serializer: Serializer) -> Session {
    Session::builder(url)
        .serializer(serializer)
        .connect()
        .await
        .unwrap_or_else(|e| panic!("{url} {serializer}: {e}"))
}

/// A callee that echoes its arguments and counts its invocations.
async fn echo_callee(s: &Session) -> (wamp::client::Registration, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let reg = s
        .register("echo", move |inv| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move { Ok(inv.payload) }
        })
        .await
        .expect("register");
    (reg, calls)
}

fn invalid_argument(err: &Error) -> String {
    assert!(err.is(StandardError::InvalidArgument), "{err}");
    err.wamp()
        .and_then(WampError::message)
        .unwrap_or_else(|| panic!("the ERROR says why: {err}"))
}

async fn next_event(sub: &mut Subscription) -> wamp::client::Event {
    tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("event in time")
        .expect("open")
        .expect("event")
}

/// No event arrives within a short while.
async fn no_event(sub: &mut Subscription) {
    if let Ok(ev) = tokio::time::timeout(Duration::from_millis(300), sub.next()).await {
        panic!(
            "expected no event, got {:?}",
            ev.map(|e| e.map(|e| e.payload))
        );
    }
}

#[tokio::test]
async fn nan_from_a_msgpack_caller_is_refused_and_the_json_callee_stays() {
    let (router, ws, rs) = router().await;
    let callee = session(&ws, Serializer::Json).await;
    let (_reg, invoked) = echo_callee(&callee).await;
    let caller = session(&rs, Serializer::MsgPack).await;
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let err = caller
            .call("echo")
            .args(&(1, [bad]))
            .await
            .expect_err("no JSON form");
        let why = invalid_argument(&err);
        assert!(
            why.contains("json") && why.contains("not a finite number"),
            "{why}"
        );
    }
    assert_eq!(
        invoked.load(Ordering::SeqCst),
        0,
        "the callee never saw them"
    );
    assert_eq!(router.stats().unrepresentable_refused, 3);
    // The callee is still there and still answers.
    let r = caller.call("echo").args(&(1.5,)).await.expect("echo");
    assert_eq!(r.args::<(f64,)>().expect("args"), (1.5,));
    assert!(callee.is_connected() && caller.is_connected());
    assert_eq!(router.stats().unrepresentable_dropped, 0);
}

#[tokio::test]
async fn a_result_or_error_the_caller_cannot_represent_is_an_invalid_argument_error() {
    let (router, ws, rs) = router().await;
    let callee = session(&rs, Serializer::Cbor).await;
    let _nan = callee
        .register("nan", |inv| async move { inv.result(&(f64::NAN,)) })
        .await
        .expect("register");
    let _fail = callee
        .register("fail", |_inv| async move {
            Err(WampError::new(wamp::Uri::from_static("app.failed"))
                .with_args(&(f64::INFINITY,))
                .expect("args"))
        })
        .await
        .expect("register");
    let (_echo, _) = echo_callee(&callee).await;
    let caller = session(&ws, Serializer::Json).await;
    let why = invalid_argument(&caller.call("nan").await.expect_err("no JSON form"));
    assert!(why.contains("callee's answer"), "{why}");
    let why = invalid_argument(&caller.call("fail").await.expect_err("no JSON form"));
    assert!(why.contains("not a finite number"), "{why}");
    assert_eq!(router.stats().unrepresentable_refused, 2);
    // Both stay joined; a MessagePack caller gets the very same answers.
    let r = caller
        .call("echo")
        .args(&("still here",))
        .await
        .expect("echo");
    assert_eq!(r.args::<(String,)>().expect("args").0, "still here");
    let binary_caller = session(&ws, Serializer::MsgPack).await;
    let r = binary_caller
        .call("nan")
        .await
        .expect("NaN is fine in MessagePack");
    assert!(r.args::<(f64,)>().expect("args").0.is_nan());
    let err = binary_caller
        .call("fail")
        .await
        .expect_err("the callee's error");
    let wamp = err.wamp().expect("an ERROR");
    assert!(wamp.is("app.failed"), "{err}");
    assert!(callee.is_connected() && caller.is_connected());
}

#[tokio::test]
async fn an_event_one_subscriber_cannot_represent_is_dropped_for_that_one_only() {
    let (router, ws, rs) = router().await;
    // Two JSON subscribers (the event is shared between their queues), one MessagePack.
    let json_a = session(&ws, Serializer::Json).await;
    let json_b = session(&rs, Serializer::Json).await;
    let binary = session(&rs, Serializer::MsgPack).await;
    let mut sub_a = json_a.subscribe("t").await.expect("subscribe");
    let mut sub_b = json_b.subscribe("t").await.expect("subscribe");
    let mut sub_m = binary.subscribe("t").await.expect("subscribe");
    // A lone JSON subscriber of its own topic (the unshared path).
    let mut lone = json_a.subscribe("lone").await.expect("subscribe");
    let publisher = session(&ws, Serializer::Cbor).await;
    publisher
        .publish("t")
        .args(&(f64::NAN,))
        .acknowledge(true)
        .await
        .expect("published: the MessagePack subscriber got it");
    let ev = next_event(&mut sub_m).await;
    assert!(ev.args::<(f64,)>().expect("args").0.is_nan());
    publisher
        .publish("lone")
        .args(&(f64::INFINITY,))
        .await
        .expect("sent");
    publisher.publish("t").args(&(2.5,)).await.expect("sent");
    publisher.publish("lone").args(&(3.5,)).await.expect("sent");
    // The JSON subscribers' next events are the representable ones.
    for sub in [&mut sub_a, &mut sub_b] {
        assert_eq!(
            next_event(sub).await.args::<(f64,)>().expect("args"),
            (2.5,)
        );
    }
    assert_eq!(
        next_event(&mut lone).await.args::<(f64,)>().expect("args"),
        (3.5,)
    );
    assert_eq!(
        next_event(&mut sub_m).await.args::<(f64,)>().expect("args"),
        (2.5,)
    );
    assert_eq!(router.stats().unrepresentable_dropped, 3);
    assert_eq!(router.stats().unrepresentable_refused, 0);
    assert!(json_a.is_connected() && json_b.is_connected() && binary.is_connected());
}

#[tokio::test]
async fn an_acknowledged_publication_nobody_can_represent_is_refused() {
    let (router, ws, rs) = router().await;
    let subscriber = session(&ws, Serializer::Json).await;
    let mut sub = subscriber.subscribe("t").await.expect("subscribe");
    let publisher = session(&rs, Serializer::MsgPack).await;
    let err = publisher
        .publish("t")
        .args(&(f64::NAN,))
        .acknowledge(true)
        .await
        .expect_err("refused");
    let why = invalid_argument(&err);
    assert!(why.contains("no subscriber can receive"), "{why}");

    // Unacknowledged: nobody to tell, the drop is counted.
    publisher
        .publish("t")
        .args(&(f64::NAN,))
        .await
        .expect("sent");
    publisher
        .publish("t")
        .args(&("after",))
        .acknowledge(true)
        .await
        .expect("published");
    let ev = next_event(&mut sub).await;
    assert_eq!(ev.args::<(String,)>().expect("args").0, "after");
    no_event(&mut sub).await;
    let stats = router.stats();
    assert_eq!(
        (stats.unrepresentable_refused, stats.unrepresentable_dropped),
        (1, 2)
    );
    assert!(subscriber.is_connected() && publisher.is_connected());
}

/// A raw WebSocket client with one serializer, joined to realm1 as a caller.
struct RawCaller {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    serializer: Serializer,
}

impl RawCaller {
    async fn join(url: &str, serializer: Serializer) -> Self {
        let mut request = url.into_client_request().expect("request");
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static(serializer.subprotocol()),
        );
        let (ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("connect");
        let mut raw = RawCaller { ws, serializer };
        let hello = match serializer {
            Serializer::Json => br#"[1,"realm1",{"roles":{"caller":{}}}]"#.to_vec(),
            Serializer::MsgPack => [
                &[0x93, 0x01, 0xa6][..],
                b"realm1",
                &[0x81, 0xa5],
                b"roles",
                &[0x81, 0xa6],
                b"caller",
                &[0x80],
            ]
            .concat(),
            Serializer::Cbor => [
                &[0x83, 0x01, 0x66][..],
                b"realm1",
                &[0xa1, 0x65],
                b"roles",
                &[0xa1, 0x66],
                b"caller",
                &[0xa0],
            ]
            .concat(),
        };
        let welcome = raw.ask(hello).await;
        assert!(matches!(welcome, Message::Welcome(_)), "{welcome:?}");
        raw
    }

    /// Sends CALL `request` to `echo` with one argument given as raw bytes in this
    /// caller's serializer, and returns the answer.
    async fn call_echo(&mut self, request: u8, arg: &[u8]) -> Message {
        let frame = match self.serializer {
            Serializer::Json => [
                format!(r#"[48,{request},{{}},"echo",["#).as_bytes(),
                arg,
                b"]]",
            ]
            .concat(),
            Serializer::MsgPack => {
                [&[0x95, 48, request, 0x80, 0xa4][..], b"echo", &[0x91], arg].concat()
            }
            Serializer::Cbor => [
                &[0x85, 0x18, 48, 0x18, request, 0xa0, 0x64][..],
                b"echo",
                &[0x81],
                arg,
            ]
            .concat(),
        };
        self.ask(frame).await
    }

    async fn ask(&mut self, frame: Vec<u8>) -> Message {
        let out = if self.serializer.is_binary() {
            Ws::binary(frame)
        } else {
            Ws::text(String::from_utf8(frame).expect("JSON text"))
        };
        self.ws.send(out).await.expect("send");
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(5), self.ws.next())
                .await
                .expect("answer in time")
                .expect("open")
                .expect("frame");
            let bytes = match msg {
                Ws::Text(t) => bytes::Bytes::copy_from_slice(t.as_bytes()),
                Ws::Binary(b) => b,
                Ws::Close(c) => panic!("the router closed the connection: {c:?}"),
                _ => continue,
            };
            return self.serializer.decode(bytes).expect("a valid message");
        }
    }
}

/// The ERROR for a CALL: its URI and message.
fn call_error(msg: &Message) -> (String, String) {
    let Message::Error(e) = msg else {
        panic!("expected ERROR, got {msg:?}");
    };
    let why = e
        .payload
        .args::<(String,)>()
        .map(|a| a.0)
        .unwrap_or_default();
    (e.error.as_str().to_owned(), why)
}

#[tokio::test]
async fn values_without_a_form_in_the_callees_serializer_are_refused_naming_the_value() {
    let (router, ws, _) = router().await;
    // (sender's serializer, argument bytes, what the ERROR's message names), each sent to
    // a callee of another serializer.
    let cases: Vec<(Serializer, &[u8], &str)> = vec![
        (Serializer::Json, b"1e400", "number out of range"),
        (Serializer::Json, b"-1e400", "number out of range"),
        (Serializer::Json, br#""\ud800""#, "escape"),
        (Serializer::Json, br#""\u0000!!""#, "base64"),
        (Serializer::Json, b"18446744073709551616", "64-bit range"),
        (Serializer::Json, b"-9223372036854775809", "64-bit range"),
        (Serializer::MsgPack, &[0xd4, 0x01, 0x00], "extension type 1"),
        (
            Serializer::MsgPack,
            &[0xc7, 0x01, 0xfe, 0x00],
            "extension type -2",
        ),
        (
            Serializer::MsgPack,
            &[0x81, 0x01, 0x01],
            "not a string (an integer)",
        ),
        (
            Serializer::MsgPack,
            &[0x81, 0xc0, 0x01],
            "not a string (nil)",
        ),
        (
            Serializer::MsgPack,
            &[0xa1, 0xff],
            "string that is not valid UTF-8",
        ),
        (
            Serializer::MsgPack,
            &[0x81, 0xa1, 0xff, 0x01],
            "key that is not valid UTF-8",
        ),
        (
            Serializer::MsgPack,
            &[0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0],
            "not a finite number",
        ),
        (Serializer::MsgPack, &[0xa2, 0x00, b'x'], "U+0000"),
        (Serializer::Cbor, &[0xc1, 0x01], "CBOR tag 1"),
        (Serializer::Cbor, &[0xf7], "undefined"),
        (Serializer::Cbor, &[0xe0], "simple value 0"),
        (Serializer::Cbor, &[0xa1, 0x01, 0x01], "not text"),
        (Serializer::Cbor, &[0x61, 0xff], "not valid UTF-8"),
        (
            Serializer::Cbor,
            &[0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            "64-bit range",
        ),
        (
            Serializer::Cbor,
            &[0xc2, 0x49, 1, 0, 0, 0, 0, 0, 0, 0, 0],
            "64-bit range",
        ),
        (Serializer::Cbor, &[0xf9, 0x7c, 0x00], "not a finite number"),
    ];
    for sender in Serializer::ALL {
        let callee_ser = match sender {
            Serializer::Json => Serializer::MsgPack,
            _ => Serializer::Json,
        };
        let callee = session(&ws, callee_ser).await;
        let (_reg, invoked) = echo_callee(&callee).await;
        let mut caller = RawCaller::join(&ws, sender).await;
        for (i, (_, arg, names)) in cases.iter().filter(|c| c.0 == sender).enumerate() {
            let answer = caller.call_echo(i as u8 + 1, arg).await;
            let (uri, why) = call_error(&answer);
            assert_eq!(
                uri, "wamp.error.invalid_argument",
                "{sender} {arg:?}: {why}"
            );
            assert!(
                why.contains(names) && why.contains(callee_ser.name()),
                "{sender} {arg:?}: {why:?} should name {names:?}"
            );
        }
        assert_eq!(invoked.load(Ordering::SeqCst), 0, "{sender}: never invoked");
        // The callee is still joined and the same caller still gets answers.
        let ok: &[u8] = match sender {
            Serializer::Json => b"7",
            Serializer::MsgPack => &[0x07],
            Serializer::Cbor => &[0x07],
        };
        let answer = caller.call_echo(100, ok).await;
        assert!(matches!(answer, Message::Result(_)), "{sender}: {answer:?}");
        assert_eq!(invoked.load(Ordering::SeqCst), 1);
        assert!(callee.is_connected(), "{sender}");
        callee.leave().await.expect("leave");
    }
    assert_eq!(router.stats().unrepresentable_refused, cases.len() as u64);
}

#[tokio::test]
async fn what_the_recipients_serializer_has_a_form_for_converts_unchanged() {
    // The checks refuse only what has no form: the nearby values that do still convert.
    let (_router, ws, _) = router().await;
    let callee = session(&ws, Serializer::MsgPack).await;
    let (_reg, _) = echo_callee(&callee).await;
    let json_caller = session(&ws, Serializer::Json).await;
    let big = (u64::MAX, i64::MIN, 1.5e-300f64, "\u{10ffff}".to_owned());
    let r = json_caller.call("echo").args(&big).await.expect("echo");
    assert_eq!(r.args::<(u64, i64, f64, String)>().expect("args"), big);
    // A CBOR bignum that fits 64 bits, and a JSON binary string.
    let mut cbor = RawCaller::join(&ws, Serializer::Cbor).await;
    let answer = cbor.call_echo(1, &[0xc2, 0x41, 0x05]).await;
    let Message::Result(r) = answer else {
        panic!("{answer:?}")
    };
    assert_eq!(r.payload.args::<(u64,)>().expect("args"), (5,));
    let mut json = RawCaller::join(&ws, Serializer::Json).await;
    let answer = json.call_echo(1, br#""\u0000AAH/""#).await;
    let Message::Result(r) = answer else {
        panic!("{answer:?}")
    };
    assert_eq!(
        r.payload.args::<(wamp::Binary,)>().expect("args").0,
        wamp::Binary(vec![0, 1, 255])
    );
}

/// The client, reading what a router sends: a payload value it has no form for is an
/// error for that event or result (naming the value), never a silently different value
/// and never the end of the session. A fake MessagePack router sends an extension type.
#[tokio::test]
async fn the_client_reports_an_unrepresentable_payload_for_that_event_or_result_only() {
    use wamp::protocol::{Id, Subscribed};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("tcp://{}", listener.local_addr().expect("addr"));
    let router = tokio::spawn(async move {
        let mut t = common::accept_session(&listener, Serializer::MsgPack, 77).await;
        // A frame in MessagePack bytes, read back as a message (its payload stays as is).
        let raw = |bytes: Vec<u8>| Serializer::MsgPack.decode(bytes.into()).expect("frame");
        let ext_string_args = [0x92, 0xd4, 0x01, 0x00, 0xa1, 0xff];
        while let Some(Ok(msg)) = t.next().await {
            match msg {
                Message::Subscribe(s) => {
                    let subscribed = Subscribed {
                        request: s.request,
                        subscription: Id::new(5).expect("id"),
                    };
                    t.send(subscribed.into()).await.expect("subscribed");
                    // [EVENT, 5, 1, {}, [ext, "\xff"]], then [EVENT, 5, 2, {}, [7]].
                    let bad = [&[0x95, 0x24, 0x05, 0x01, 0x80][..], &ext_string_args].concat();
                    t.send(raw(bad)).await.expect("event");
                    t.send(raw(vec![0x95, 0x24, 0x05, 0x02, 0x80, 0x91, 0x07]))
                        .await
                        .expect("event");
                }
                Message::Call(c) => {
                    // [RESULT, request, {}, [ext, "\xff"]]
                    let request = c.request.get().to_be_bytes();
                    let result =
                        [&[0x94, 0x32, 0xcf][..], &request, &[0x80], &ext_string_args].concat();
                    t.send(raw(result)).await.expect("result");
                }
                _ => {}
            }
        }
    });
    let session = session(&url, Serializer::MsgPack).await;
    let mut sub = session.subscribe("t").await.expect("subscribe");
    let bad = next_event(&mut sub).await;
    let err = bad.payload.args_values().expect_err("no WAMP form");
    assert!(err.to_string().contains("extension type 1"), "{err}");
    let err = bad.args::<(String, String)>().expect_err("not strings");
    assert!(err.to_string().contains("arguments"), "{err}");
    let good = next_event(&mut sub).await;
    assert_eq!(good.args::<(u8,)>().expect("args"), (7,));
    let r = session.call("p").await.expect("the call itself succeeded");
    let err = r.payload.args_values().expect_err("no WAMP form");
    assert!(err.to_string().contains("extension type 1"), "{err}");
    assert!(session.is_connected());
    drop(session);
    router.abort();
}

/// A progressive result the caller cannot represent ends the call: the caller gets the
/// ERROR, and the callee, still producing results, is interrupted (it announced call
/// canceling) instead of working on for nobody.
#[tokio::test]
async fn a_progressive_result_the_caller_cannot_represent_ends_the_call_at_both_ends() {
    use wamp::client::Progressive;

    struct Guard(Arc<AtomicUsize>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let (router, ws, rs) = router().await;
    let callee = session(&rs, Serializer::MsgPack).await;
    let dropped = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let (d, f) = (dropped.clone(), finished.clone());
    let _reg = callee
        .register("count", move |inv| {
            let (guard, finished) = (Guard(d.clone()), f.clone());
            async move {
                inv.progress(inv.result(&(1.0,))?);
                inv.progress(inv.result(&(f64::NAN,))?);
                tokio::time::sleep(Duration::from_secs(30)).await;
                finished.fetch_add(1, Ordering::SeqCst);
                drop(guard);
                inv.result(&(3.0,))
            }
        })
        .await
        .expect("register");
    let caller = session(&ws, Serializer::Json).await;
    let items: Vec<_> = tokio::time::timeout(
        Duration::from_secs(10),
        caller.call("count").progressive().collect::<Vec<_>>(),
    )
    .await
    .expect("the call ends in time");
    let [first, second] = &items[..] else {
        panic!("one progressive result, then the error: {items:?}");
    };
    let Ok(Progressive::Progress(r)) = first else {
        panic!("{first:?}")
    };
    assert_eq!(r.args::<(f64,)>().expect("args"), (1.0,));
    let err = second.as_ref().expect_err("the NaN result");
    assert!(invalid_argument(err).contains("not a finite number"));
    for _ in 0..100 {
        if dropped.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the callee's handler was interrupted"
    );
    assert_eq!(finished.load(Ordering::SeqCst), 0);
    assert_eq!(router.stats().unrepresentable_refused, 1);
    assert!(callee.is_connected() && caller.is_connected());
}

/// Retained events: one refused to its publisher is not kept; one kept (published when
/// nobody was subscribed) reaches a late subscriber that can represent it and is dropped,
/// counted, for one that cannot.
#[tokio::test]
async fn retained_events_follow_the_same_rules() {
    let (router, ws, rs) = router().await;
    let publisher = session(&rs, Serializer::Cbor).await;
    let json = session(&ws, Serializer::Json).await;
    let _early = json.subscribe("refused").await.expect("subscribe");
    publisher
        .publish("refused")
        .args(&(f64::NAN,))
        .retain(true)
        .acknowledge(true)
        .await
        .expect_err("nobody subscribed can represent it");
    publisher
        .publish("kept")
        .args(&(f64::NAN,))
        .retain(true)
        .acknowledge(true)
        .await
        .expect("nobody to refuse it");
    let binary = session(&ws, Serializer::MsgPack).await;
    let mut none = binary
        .subscribe("refused")
        .get_retained(true)
        .await
        .expect("subscribe");
    let mut kept = binary
        .subscribe("kept")
        .get_retained(true)
        .await
        .expect("subscribe");
    assert!(next_event(&mut kept)
        .await
        .args::<(f64,)>()
        .expect("args")
        .0
        .is_nan());
    no_event(&mut none).await;
    let mut dropped = json
        .subscribe("kept")
        .get_retained(true)
        .await
        .expect("subscribe");
    no_event(&mut dropped).await;
    let stats = router.stats();
    assert_eq!(
        (stats.unrepresentable_refused, stats.unrepresentable_dropped),
        (1, 2)
    );
    assert!(json.is_connected() && binary.is_connected());
}

/// A chunk of a progressive call invocation the callee cannot represent ends the call: the
/// caller gets the ERROR, the callee (waiting for more input) is interrupted.
#[tokio::test]
async fn an_input_chunk_the_callee_cannot_represent_ends_the_call_at_both_ends() {
    struct Guard(Arc<AtomicUsize>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let (router, ws, rs) = router().await;
    let callee = session(&ws, Serializer::Json).await;
    let (chunks, dropped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (c, d) = (chunks.clone(), dropped.clone());
    let _reg = callee
        .register("sum.stream", move |inv| {
            let (chunks, guard) = (c.clone(), Guard(d.clone()));
            async move {
                while inv.next_chunk().await.is_some() {
                    chunks.fetch_add(1, Ordering::SeqCst);
                }
                // Input ended without the router saying why: not expected here.
                tokio::time::sleep(Duration::from_secs(30)).await;
                drop(guard);
                inv.result(&())
            }
        })
        .await
        .expect("register");
    let caller = session(&rs, Serializer::Cbor).await;
    let call = caller
        .call("sum.stream")
        .args(&(1,))
        .stream_input()
        .expect("supported by our router");
    call.send(call.encode(&(2.0,)).expect("encode"))
        .expect("chunk");
    // The callee's handler runs and has the first chunk before the bad one comes.
    for _ in 0..250 {
        if chunks.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    call.send(call.encode(&(f64::NAN,)).expect("encode"))
        .expect("chunk");
    let err = tokio::time::timeout(
        Duration::from_secs(10),
        call.finish(wamp::Payload::encode_args(Serializer::Cbor, &(3,)).expect("encode")),
    )
    .await
    .expect("the call ends in time")
    .expect_err("refused");
    assert!(
        invalid_argument(&err).contains("not a finite number"),
        "{err}"
    );
    for _ in 0..100 {
        if dropped.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the callee was interrupted"
    );
    assert_eq!(
        chunks.load(Ordering::SeqCst),
        1,
        "it saw the first chunk only"
    );
    assert_eq!(router.stats().unrepresentable_refused, 1);
    assert!(callee.is_connected() && caller.is_connected());
}
