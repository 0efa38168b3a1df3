//! Each of the router's `Limits` refuses the one request too many, in the open: a
//! connection over a connection limit gets the transport's refusal (RawSocket handshake
//! error 4, WebSocket HTTP 503), a request over a per-session limit an ERROR
//! `wamp.error.limit_exceeded` naming the limit, a login that takes too long is closed.
//! Every test sets the limit low and shows that what is under it still works and that the
//! refused one would have succeeded without it.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wamp::protocol::*;
use wamp::router::{Limits, RealmConfig, Router, UserAuth, LIMIT_EXCEEDED};
use wamp::transport::{connect, ClientTransportConfig, Transport, TransportError};
use wamp::Serializer;

async fn router(limits: Limits) -> Router {
    Router::builder()
        .realm(RealmConfig::new("realm1"))
        .websocket("127.0.0.1:0".parse().expect("addr"))
        .rawsocket("127.0.0.1:0".parse().expect("addr"))
        .limits(limits)
        .start()
        .await
        .expect("router")
}

async fn send(t: &mut Transport, msg: impl Into<Message>) {
    t.send(msg.into()).await.expect("send");
}

async fn recv(t: &mut Transport) -> Message {
    tokio::time::timeout(Duration::from_secs(10), t.next())
        .await
        .expect("an answer in time")
        .expect("open")
        .expect("a message")
}

/// An in-process session joined to realm1.
async fn join(router: &Router) -> Transport {
    let mut t = router.local_transport();
    send(
        &mut t,
        Hello {
            realm: Uri::from_static("realm1"),
            details: HelloDetails::new(),
        },
    )
    .await;
    let welcome = recv(&mut t).await;
    assert!(matches!(welcome, Message::Welcome(_)), "{welcome:?}");
    t
}

fn id(n: u64) -> Id {
    Id::new(n).expect("id")
}

/// Asserts an ERROR `wamp.error.limit_exceeded` for `request` that names `limit` = `max`.
fn assert_limit_error(msg: &Message, request: u64, limit: &str, max: u64) {
    let Message::Error(e) = msg else {
        panic!("expected ERROR {LIMIT_EXCEEDED}, got {msg:?}");
    };
    assert_eq!(e.error.as_str(), LIMIT_EXCEEDED, "{e:?}");
    assert_eq!(e.request, id(request));
    let args = e.payload.args_values().expect("args");
    let text = args.first().and_then(Value::as_str).expect("a message");
    assert!(text.contains(&format!("{limit} = {max}")), "{text}");
    let kwargs = e.payload.kwargs_values().expect("kwargs");
    assert_eq!(kwargs.get("limit").and_then(Value::as_str), Some(limit));
    assert_eq!(kwargs.get("max").and_then(Value::as_u64), Some(max));
}

fn register(request: u64, procedure: &'static str) -> Register {
    Register {
        request: id(request),
        options: RegisterOptions::new(),
        procedure: Uri::from_static(procedure),
    }
}

fn subscribe(request: u64, topic: &'static str) -> Subscribe {
    Subscribe {
        request: id(request),
        options: SubscribeOptions::new(),
        topic: Uri::from_static(topic),
    }
}

fn call(request: u64, procedure: &'static str) -> Call {
    Call {
        request: id(request),
        options: CallOptions::new(),
        procedure: Uri::from_static(procedure),
        payload: Payload::empty(),
    }
}

#[tokio::test]
async fn registrations_per_session() {
    let router = router(Limits {
        max_registrations_per_session: 2,
        ..Limits::default()
    })
    .await;
    let mut t = join(&router).await;
    send(&mut t, register(1, "com.a")).await;
    let Message::Registered(first) = recv(&mut t).await else {
        panic!("first REGISTER refused");
    };
    send(&mut t, register(2, "com.b")).await;
    assert!(matches!(recv(&mut t).await, Message::Registered(_)));
    send(&mut t, register(3, "com.c")).await;
    assert_limit_error(&recv(&mut t).await, 3, "max_registrations_per_session", 2);
    // Another session is not affected, and giving one up makes room again.
    let mut other = join(&router).await;
    send(&mut other, register(1, "com.c")).await;
    assert!(matches!(recv(&mut other).await, Message::Registered(_)));
    send(
        &mut t,
        Unregister {
            request: id(4),
            registration: first.registration,
        },
    )
    .await;
    assert!(matches!(recv(&mut t).await, Message::Unregistered(_)));
    send(&mut t, register(5, "com.d")).await;
    assert!(matches!(recv(&mut t).await, Message::Registered(_)));
}

#[tokio::test]
async fn subscriptions_per_session() {
    let router = router(Limits {
        max_subscriptions_per_session: 2,
        ..Limits::default()
    })
    .await;
    let mut t = join(&router).await;
    send(&mut t, subscribe(1, "com.a")).await;
    let Message::Subscribed(first) = recv(&mut t).await else {
        panic!("first SUBSCRIBE refused");
    };
    send(&mut t, subscribe(2, "com.b")).await;
    assert!(matches!(recv(&mut t).await, Message::Subscribed(_)));
    send(&mut t, subscribe(3, "com.c")).await;
    assert_limit_error(&recv(&mut t).await, 3, "max_subscriptions_per_session", 2);
    // Subscribing again to what it holds is not one more.
    send(&mut t, subscribe(4, "com.a")).await;
    assert!(
        matches!(recv(&mut t).await, Message::Subscribed(s) if s.subscription == first.subscription)
    );
    send(
        &mut t,
        Unsubscribe {
            request: id(5),
            subscription: first.subscription,
        },
    )
    .await;
    assert!(matches!(recv(&mut t).await, Message::Unsubscribed(_)));
    send(&mut t, subscribe(6, "com.c")).await;
    assert!(matches!(recv(&mut t).await, Message::Subscribed(_)));
}

fn add_testament(request: u64) -> Call {
    Call {
        request: id(request),
        options: CallOptions::new(),
        procedure: Uri::from_static("wamp.session.add_testament"),
        payload: Payload::from_values(
            vec![
                Value::from("com.gone"),
                Value::List(vec![Value::from("bye")]),
            ],
            Dict::new(),
        ),
    }
}

#[tokio::test]
async fn testaments_per_session() {
    let router = router(Limits {
        max_testaments_per_session: 2,
        ..Limits::default()
    })
    .await;
    let mut t = join(&router).await;
    for request in 1..=2 {
        send(&mut t, add_testament(request)).await;
        assert!(matches!(recv(&mut t).await, Message::Result(_)));
    }
    send(&mut t, add_testament(3)).await;
    assert_limit_error(&recv(&mut t).await, 3, "max_testaments_per_session", 2);
    // Flushing them makes room again.
    send(
        &mut t,
        Call {
            request: id(4),
            options: CallOptions::new(),
            procedure: Uri::from_static("wamp.session.flush_testaments"),
            payload: Payload::empty(),
        },
    )
    .await;
    assert!(matches!(recv(&mut t).await, Message::Result(_)));
    send(&mut t, add_testament(5)).await;
    assert!(matches!(recv(&mut t).await, Message::Result(_)));
}

/// A callee session that registered `procedure` and does not answer yet.
async fn silent_callee(router: &Router, procedure: &'static str) -> Transport {
    let mut callee = join(router).await;
    send(&mut callee, register(1, procedure)).await;
    assert!(matches!(recv(&mut callee).await, Message::Registered(_)));
    callee
}

/// The callee answers the next `n` INVOCATIONs it reads.
async fn answer(callee: &mut Transport, n: usize) {
    for _ in 0..n {
        let Message::Invocation(inv) = recv(callee).await else {
            panic!("expected INVOCATION");
        };
        send(
            callee,
            Yield {
                request: inv.request,
                options: YieldOptions::new(),
                payload: Payload::empty(),
            },
        )
        .await;
    }
}

#[tokio::test]
async fn calls_in_flight_per_caller() {
    let router = router(Limits {
        max_pending_calls_per_session: 2,
        ..Limits::default()
    })
    .await;
    let mut callee = silent_callee(&router, "com.slow").await;
    let mut caller = join(&router).await;
    send(&mut caller, call(1, "com.slow")).await;
    send(&mut caller, call(2, "com.slow")).await;
    send(&mut caller, call(3, "com.slow")).await;
    assert_limit_error(
        &recv(&mut caller).await,
        3,
        "max_pending_calls_per_session",
        2,
    );
    // Another caller is not affected by this one's calls.
    let mut other = join(&router).await;
    send(&mut other, call(1, "com.slow")).await;
    // The two calls in flight go on; once they are answered there is room again.
    answer(&mut callee, 3).await;
    for _ in 0..2 {
        assert!(matches!(recv(&mut caller).await, Message::Result(_)));
    }
    assert!(matches!(recv(&mut other).await, Message::Result(_)));
    send(&mut caller, call(4, "com.slow")).await;
    answer(&mut callee, 1).await;
    assert!(matches!(recv(&mut caller).await, Message::Result(r) if r.request == id(4)));
}

#[tokio::test]
async fn invocations_in_flight_per_callee() {
    let router = router(Limits {
        max_invocations_per_callee: 2,
        ..Limits::default()
    })
    .await;
    let mut callee = silent_callee(&router, "com.slow").await;
    let mut a = join(&router).await;
    let mut b = join(&router).await;
    send(&mut a, call(1, "com.slow")).await;
    send(&mut b, call(1, "com.slow")).await;
    // Wait until both are at the callee, then one more from either caller is refused.
    let Message::Invocation(first) = recv(&mut callee).await else {
        panic!("expected INVOCATION");
    };
    let Message::Invocation(second) = recv(&mut callee).await else {
        panic!("expected INVOCATION");
    };
    send(&mut a, call(2, "com.slow")).await;
    assert_limit_error(&recv(&mut a).await, 2, "max_invocations_per_callee", 2);
    send(
        &mut callee,
        Yield {
            request: first.request,
            options: YieldOptions::new(),
            payload: Payload::empty(),
        },
    )
    .await;
    assert!(matches!(recv(&mut a).await, Message::Result(_)));
    // One place is free again.
    send(&mut a, call(3, "com.slow")).await;
    answer(&mut callee, 1).await;
    assert!(matches!(recv(&mut a).await, Message::Result(r) if r.request == id(3)));
    send(
        &mut callee,
        Yield {
            request: second.request,
            options: YieldOptions::new(),
            payload: Payload::empty(),
        },
    )
    .await;
    assert!(matches!(recv(&mut b).await, Message::Result(r) if r.request == id(1)));
}

/// A RawSocket handshake (MessagePack, 16 MiB) on a new connection: the router's 4 octets.
async fn rawsocket_handshake(addr: std::net::SocketAddr) -> (TcpStream, [u8; 4]) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(&[0x7F, 0xF2, 0, 0]).await.expect("handshake");
    let mut reply = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(10), s.read_exact(&mut reply))
        .await
        .expect("a reply in time")
        .expect("a reply");
    (s, reply)
}

#[tokio::test]
async fn connections_per_address_over_rawsocket() {
    let router = router(Limits {
        max_connections_per_address: 2,
        ..Limits::default()
    })
    .await;
    let addr = router.listeners()[1].addr;
    let (first, reply) = rawsocket_handshake(addr).await;
    assert_eq!(reply, [0x7F, 0xF2, 0, 0], "accepted: MessagePack, 16 MiB");
    let (_second, reply) = rawsocket_handshake(addr).await;
    assert_eq!(reply[1] & 0x0F, 2, "accepted");
    // The third from the same address: error 4, "maximum connection count reached".
    let (mut third, reply) = rawsocket_handshake(addr).await;
    assert_eq!(reply, [0x7F, 0x40, 0, 0]);
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), third.read_to_end(&mut rest))
        .await
        .expect("closed in time");
    assert!(closed.is_ok_and(|n| n == 0), "closed after the refusal");
    // Our own client reports it as such.
    let config = ClientTransportConfig {
        serializers: vec![Serializer::MsgPack],
        ..ClientTransportConfig::default()
    };
    let err = connect(&router.listeners()[1].url(), &config)
        .await
        .expect_err("refused");
    assert!(
        matches!(
            err,
            TransportError::Handshake(wamp::transport::HandshakeError::ConnectionLimit)
        ),
        "{err}"
    );
    // A connection that ends gives its place back.
    drop(first);
    let mut reply = [0u8; 4];
    for _ in 0..100 {
        reply = rawsocket_handshake(addr).await.1;
        if reply[1] & 0x0F == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(reply[1] & 0x0F, 2, "accepted once a place is free");
}

#[tokio::test]
async fn connections_in_total_over_websocket() {
    let router = router(Limits {
        max_connections: 1,
        ..Limits::default()
    })
    .await;
    let url = router.listeners()[0].url();
    let config = ClientTransportConfig {
        serializers: vec![Serializer::Json],
        ..ClientTransportConfig::default()
    };
    let first = connect(&url, &config).await.expect("the first connects");
    let err = connect(&url, &config)
        .await
        .expect_err("the second is refused");
    let text = err.to_string();
    assert!(
        text.contains("503") && text.contains("max_connections = 1"),
        "{text}"
    );
    // The limit is over all listeners: RawSocket is full too.
    let (_raw, reply) = rawsocket_handshake(router.listeners()[1].addr).await;
    assert_eq!(reply, [0x7F, 0x40, 0, 0]);
    drop(first);
    let mut last = None;
    for _ in 0..100 {
        match connect(&url, &config).await {
            Ok(_) => {
                last = None;
                break;
            }
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(last.is_none(), "a freed place is taken again: {last:?}");
}

#[tokio::test]
async fn a_connection_that_never_sends_hello_is_closed() {
    let router = router(Limits {
        hello_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let (mut s, reply) = rawsocket_handshake(router.listeners()[1].addr).await;
    assert_eq!(reply[1] & 0x0F, 2);
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "closed by the HELLO deadline, not still open");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_login_is_one_deadline_not_one_per_message() {
    let realm = RealmConfig::new("realm1").without_anonymous().user(
        "alice",
        "user",
        vec![UserAuth::Ticket("secret".into())],
    );
    let router = Router::builder()
        .realm(realm)
        .limits(Limits {
            hello_timeout: Duration::from_millis(600),
            ..Limits::default()
        })
        .start()
        .await
        .expect("router");
    let mut t = router.local_transport();
    // Each step comes well within the deadline, but together they take longer.
    tokio::time::sleep(Duration::from_millis(400)).await;
    send(
        &mut t,
        Hello {
            realm: Uri::from_static("realm1"),
            details: HelloDetails::new()
                .with_authmethods(vec!["ticket".into()])
                .with_authid("alice".into()),
        },
    )
    .await;
    assert!(matches!(recv(&mut t).await, Message::Challenge(_)));
    tokio::time::sleep(Duration::from_millis(400)).await;
    // The router gave up on this login before AUTHENTICATE came: the connection is over.
    let _ = t
        .send(
            Authenticate {
                signature: "secret".into(),
                extra: AuthExtra::new(),
            }
            .into(),
        )
        .await;
    match tokio::time::timeout(Duration::from_secs(5), t.next()).await {
        Ok(None) | Ok(Some(Err(_))) => {}
        Ok(Some(Ok(Message::Abort(_)))) => {}
        other => panic!("expected the login to be cut off, got {other:?}"),
    }
}

#[tokio::test]
async fn a_transport_handshake_that_never_comes_is_closed() {
    let router = router(Limits {
        handshake_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    for listener in router.listeners() {
        let mut s = TcpStream::connect(listener.addr).await.expect("connect");
        // Half a request, then nothing (slowloris).
        s.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\n")
            .await
            .expect("write");
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest)).await;
        assert!(
            read.is_ok(),
            "{:?}: closed by the handshake deadline",
            listener.kind
        );
    }
    // A handshake that does come is fine.
    let config = ClientTransportConfig {
        serializers: vec![Serializer::Json],
        ..ClientTransportConfig::default()
    };
    let t: Result<Transport, TransportError> = connect(&router.listeners()[0].url(), &config).await;
    assert!(t.is_ok());
}
