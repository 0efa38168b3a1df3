//! Automatic reconnection against a router that drops the connection: calls in flight
//! fail at once, publishing while disconnected fails, and after the reconnect the same
//! event stream and the same handler keep working under new router IDs.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use wamp::client::{Error, ReconnectPolicy, SessionState};
use wamp::protocol::*;
use wamp::transport::Transport;
use wamp::{Serializer, Session};

mod common;

fn id(n: u64) -> Id {
    Id::new(n).expect("id")
}

/// Accepts the next connection and answers its HELLO.
async fn accept_session(listener: &TcpListener, session: u64) -> Transport {
    common::accept_session(listener, Serializer::MsgPack, session).await
}

async fn next(t: &mut Transport) -> Message {
    tokio::time::timeout(Duration::from_secs(5), t.next())
        .await
        .expect("message in time")
        .expect("open")
        .expect("valid")
}

/// Answers the SUBSCRIBE and REGISTER the client sends (in any order) with the given IDs.
async fn confirm(t: &mut Transport, sub_id: u64, reg_id: u64) {
    for _ in 0..2 {
        match next(t).await {
            Message::Subscribe(s) => {
                assert_eq!(s.topic.as_str(), "com.example.topic");
                t.send(
                    Subscribed {
                        request: s.request,
                        subscription: id(sub_id),
                    }
                    .into(),
                )
                .await
                .expect("subscribed");
            }
            Message::Register(r) => {
                assert_eq!(r.procedure.as_str(), "com.example.proc");
                t.send(
                    Registered {
                        request: r.request,
                        registration: id(reg_id),
                    }
                    .into(),
                )
                .await
                .expect("registered");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

async fn wait_for(session: &Session, want: impl Fn(&SessionState) -> bool) {
    let mut state = session.state();
    tokio::time::timeout(Duration::from_secs(5), async {
        while !want(&state.borrow_and_update()) {
            state.changed().await.expect("state");
        }
    })
    .await
    .expect("state reached in time");
}

#[tokio::test]
async fn subscriptions_and_registrations_survive_a_reconnect() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("tcp://{}", listener.local_addr().expect("addr"));
    let policy = ReconnectPolicy {
        initial_delay: Duration::from_millis(300),
        jitter: 0.0,
        ..Default::default()
    };
    let connecting = tokio::spawn(async move {
        Session::builder(url)
            .serializer(Serializer::MsgPack)
            .reconnect(policy)
            .connect()
            .await
    });
    let mut conn1 = accept_session(&listener, 1).await;
    let session = connecting.await.expect("join").expect("connected");
    assert_eq!(session.id(), id(1));

    // Subscribe and register over the first connection.
    let (sub, reg) = {
        let s = session.clone();
        let subscribing = tokio::spawn(async move { s.subscribe("com.example.topic").await });
        let s = session.clone();
        let registering = tokio::spawn(async move {
            s.register("com.example.proc", |inv| async move {
                let (n,): (i64,) = inv.args().map_err(|_| {
                    wamp::client::WampError::new(Uri::from_static("wamp.error.invalid_argument"))
                })?;
                inv.result(&(n * 2,))
            })
            .await
        });
        confirm(&mut conn1, 100, 200).await;
        (
            subscribing.await.expect("join").expect("subscribed"),
            registering.await.expect("join").expect("registered"),
        )
    };
    let mut sub = sub;
    assert_eq!(reg.id(), id(200));

    // A call in flight when the connection drops fails at once.
    let s = session.clone();
    let call = tokio::spawn(async move { s.call("com.example.slow").await });
    assert!(matches!(next(&mut conn1).await, Message::Call(_)));
    let states = session.state();
    drop(conn1);
    let result = tokio::time::timeout(Duration::from_secs(2), call)
        .await
        .expect("fails fast")
        .expect("join");
    assert!(matches!(result, Err(Error::NotConnected(_))), "{result:?}");
    wait_for(&session, |s| {
        matches!(
            s,
            SessionState::Disconnected(_) | SessionState::Reconnecting(_)
        )
    })
    .await;
    assert!(
        states.has_changed().unwrap_or(false),
        "state changes are observable"
    );

    // While disconnected, publishing and calling fail clearly.
    let err = session
        .publish("com.example.topic")
        .await
        .expect_err("disconnected");
    assert!(matches!(err, Error::NotConnected(_)), "{err}");
    let err = session
        .call("com.example.proc")
        .await
        .expect_err("disconnected");
    assert!(matches!(err, Error::NotConnected(_)), "{err}");

    // The client comes back, re-subscribes and re-registers by itself.
    let mut conn2 = accept_session(&listener, 2).await;
    confirm(&mut conn2, 101, 201).await;
    wait_for(&session, |s| *s == SessionState::Joined(id(2))).await;
    assert_eq!(session.id(), id(2));

    // The same stream receives events for the new subscription ID ...
    let event = Event {
        subscription: id(101),
        publication: id(5),
        details: EventDetails::new(),
        payload: Payload::from_values(vec![7.into()], Dict::new()),
    };
    conn2.send(event.into()).await.expect("event");
    let ev = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("in time")
        .expect("open")
        .expect("event");
    assert_eq!(ev.args::<(i32,)>().expect("args"), (7,));

    // ... and the same handler answers invocations for the new registration ID.
    let inv = Invocation {
        request: id(9),
        registration: id(201),
        details: InvocationDetails::new(),
        payload: Payload::from_values(vec![21.into()], Dict::new()),
    };
    conn2.send(inv.into()).await.expect("invocation");
    match next(&mut conn2).await {
        Message::Yield(y) => {
            assert_eq!(y.request, id(9));
            assert_eq!(y.payload.args::<(i64,)>().expect("args"), (42,));
        }
        other => panic!("expected YIELD, got {other:?}"),
    }

    // Unsubscribing uses the new ID.
    let unsubscribing = tokio::spawn(async move { sub.unsubscribe().await });
    match next(&mut conn2).await {
        Message::Unsubscribe(u) => {
            assert_eq!(u.subscription, id(101));
            conn2
                .send(
                    Unsubscribed {
                        request: u.request.get(),
                        details: None,
                    }
                    .into(),
                )
                .await
                .expect("unsubscribed");
        }
        other => panic!("expected UNSUBSCRIBE, got {other:?}"),
    }
    unsubscribing.await.expect("join").expect("unsubscribed");
    drop(reg);
}

#[tokio::test]
async fn reconnection_gives_up_after_max_attempts() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let policy = ReconnectPolicy {
        initial_delay: Duration::from_millis(50),
        max_attempts: Some(2),
        jitter: 0.0,
        ..Default::default()
    };
    let connecting = tokio::spawn(async move {
        Session::builder(format!("tcp://{addr}"))
            .serializer(Serializer::MsgPack)
            .reconnect(policy)
            .connect()
            .await
    });
    let conn = accept_session(&listener, 1).await;
    let session = connecting.await.expect("join").expect("connected");
    drop(conn);
    drop(listener); // nobody listens any more: every attempt is refused
                    // Between attempts the state says why the last one failed.
    wait_for(
        &session,
        |s| matches!(s, SessionState::Disconnected(r) if r.starts_with("reconnection attempt 1 failed")),
    )
    .await;
    wait_for(
        &session,
        |s| matches!(s, SessionState::Closed(r) if r.contains("gave up after 2")),
    )
    .await;
}

#[test]
fn backoff_grows_and_is_capped() {
    let p = ReconnectPolicy {
        initial_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
        multiplier: 2.0,
        jitter: 0.0,
        max_attempts: None,
    };
    let delays: Vec<u128> = (1..=6).map(|a| p.delay(a).as_millis()).collect();
    assert_eq!(delays, vec![100, 200, 400, 800, 1000, 1000]);
    let jittered = ReconnectPolicy { jitter: 0.5, ..p };
    for _ in 0..100 {
        let d = jittered.delay(1).as_millis();
        assert!((50..=150).contains(&d), "{d}");
    }
}

/// Restarts a real router (ours, on the same port) under a running client.
#[tokio::test]
async fn restarting_the_router_under_a_running_client() {
    use wamp::router::{RealmConfig, Router};
    async fn start(addr: std::net::SocketAddr) -> Router {
        // The port was just released: retry briefly if the OS has not freed it yet.
        for _ in 0..50 {
            match Router::builder()
                .realm(RealmConfig::new("realm1"))
                .websocket(addr)
                .start()
                .await
            {
                Ok(r) => return r,
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        panic!("could not restart the router on {addr}");
    }
    let first = start("127.0.0.1:0".parse().expect("addr")).await;
    let addr = first.listeners()[0].addr;
    let url = first.listeners()[0].url();
    let policy = ReconnectPolicy {
        initial_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(500),
        ..Default::default()
    };
    let client = Session::builder(&url)
        .serializer(Serializer::Json)
        .reconnect(policy)
        .connect()
        .await
        .expect("connect");
    let _reg = client
        .register("com.restart.echo", |inv| async move { Ok(inv.payload) })
        .await
        .expect("register");
    let mut sub = client
        .subscribe("com.restart.topic")
        .await
        .expect("subscribe");
    let slow = client.register("com.restart.slow", |inv| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok(inv.payload)
    });
    let _slow = slow.await.expect("register");
    let other = Session::builder(&url).connect().await.expect("other");
    let pending = tokio::spawn(async move { other.call("com.restart.slow").await });
    tokio::time::sleep(Duration::from_millis(100)).await;

    first.shutdown(Duration::from_secs(5)).await;
    let in_flight = tokio::time::timeout(Duration::from_secs(2), pending)
        .await
        .expect("no hang")
        .expect("join");
    assert!(
        in_flight.is_err(),
        "the call in flight failed: {in_flight:?}"
    );
    let second = start(addr).await;
    wait_for(&client, |s| matches!(s, SessionState::Joined(_))).await;

    // The registration and the subscription came back by themselves.
    let peer = Session::builder(&url).connect().await.expect("peer");
    let mut result = None;
    for _ in 0..50 {
        match peer.call("com.restart.echo").args(&("back",)).await {
            Ok(r) => {
                result = Some(r);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    assert_eq!(
        result
            .expect("re-registered")
            .args::<(String,)>()
            .expect("args")
            .0,
        "back"
    );
    peer.publish("com.restart.topic")
        .args(&(1,))
        .acknowledge(true)
        .await
        .expect("publish");
    let ev = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("in time")
        .expect("open")
        .expect("event");
    assert_eq!(ev.args::<(i32,)>().expect("args"), (1,));
    second.shutdown(Duration::from_secs(2)).await;
}

/// Answers the SUBSCRIBE and REGISTER sent after a reconnect with ERRORs.
async fn refuse(t: &mut Transport) {
    for _ in 0..2 {
        let (request_type, request, error) = match next(t).await {
            Message::Subscribe(s) => (
                MessageType::Subscribe,
                s.request,
                "wamp.error.not_authorized",
            ),
            Message::Register(r) => (
                MessageType::Register,
                r.request,
                "wamp.error.not_authorized",
            ),
            other => panic!("unexpected {other:?}"),
        };
        t.send(
            ErrorMessage {
                request_type,
                request,
                details: ErrorDetails::new(),
                error: Uri::from_static(error),
                payload: Payload::empty(),
            }
            .into(),
        )
        .await
        .expect("error");
    }
}

/// A registration or subscription the router refuses to restore after a reconnect ends,
/// and says why; the session goes on. When the session is over, the ones made after the
/// reconnect end too.
#[tokio::test]
async fn a_refused_restore_and_the_end_of_the_session_are_observable() {
    use wamp::client::{EndReason, StandardError};
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("tcp://{}", listener.local_addr().expect("addr"));
    let policy = ReconnectPolicy {
        initial_delay: Duration::from_millis(50),
        jitter: 0.0,
        ..Default::default()
    };
    let connecting = tokio::spawn(async move {
        Session::builder(url)
            .serializer(Serializer::MsgPack)
            .reconnect(policy)
            .connect()
            .await
    });
    let mut conn1 = accept_session(&listener, 1).await;
    let session = connecting.await.expect("join").expect("connected");
    let subscribe_and_register = |session: Session| async move {
        let s = session.clone();
        let subscribing = tokio::spawn(async move { s.subscribe("com.example.topic").await });
        let registering = tokio::spawn(async move {
            session
                .register("com.example.proc", |inv| async move { Ok(inv.payload) })
                .await
        });
        (subscribing, registering)
    };
    let (subscribing, registering) = subscribe_and_register(session.clone()).await;
    confirm(&mut conn1, 100, 200).await;
    let mut sub = subscribing.await.expect("join").expect("subscribed");
    let reg = registering.await.expect("join").expect("registered");

    drop(conn1);
    let mut conn2 = accept_session(&listener, 2).await;
    refuse(&mut conn2).await;
    let ended = tokio::time::timeout(Duration::from_secs(5), reg.ended())
        .await
        .expect("ended in time");
    match &ended {
        EndReason::RestoreFailed(e) => assert!(e.is_kind(StandardError::NotAuthorized)),
        other => panic!("expected RestoreFailed, got {other:?}"),
    }
    let item = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("in time");
    match item {
        Some(Err(e)) => assert!(e.is(StandardError::NotAuthorized), "{e}"),
        other => panic!("expected the router's error, got {other:?}"),
    }
    assert!(matches!(
        sub.end_reason(),
        Some(EndReason::RestoreFailed(e)) if e.is_kind(StandardError::NotAuthorized)
    ));
    assert!(sub.next().await.is_none());
    wait_for(&session, |s| *s == SessionState::Joined(id(2))).await;

    // New ones on the new connection; then the router closes the session for good.
    let (subscribing, registering) = subscribe_and_register(session.clone()).await;
    confirm(&mut conn2, 101, 201).await;
    let mut sub = subscribing.await.expect("join").expect("subscribed");
    let reg = registering.await.expect("join").expect("registered");
    conn2
        .send(
            Goodbye {
                details: CloseDetails::new(),
                reason: Uri::from_static("wamp.close.killed"),
            }
            .into(),
        )
        .await
        .expect("goodbye");
    let ended = tokio::time::timeout(Duration::from_secs(5), reg.ended())
        .await
        .expect("ended in time");
    assert!(
        matches!(&ended, EndReason::SessionClosed(r) if r.contains("wamp.close.killed")),
        "{ended:?}"
    );
    let item = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("in time");
    assert!(
        matches!(item, Some(Err(Error::NotConnected(_)))),
        "{item:?}"
    );
    assert!(matches!(
        sub.end_reason(),
        Some(EndReason::SessionClosed(_))
    ));
}

/// Answers a SUBSCRIBE and a REGISTER already read, with the given IDs.
async fn answer(t: &mut Transport, subscribe: Id, sub_id: u64, register: Id, reg_id: u64) {
    t.send(
        Subscribed {
            request: subscribe,
            subscription: id(sub_id),
        }
        .into(),
    )
    .await
    .expect("subscribed");
    t.send(
        Registered {
            request: register,
            registration: id(reg_id),
        }
        .into(),
    )
    .await
    .expect("registered");
}

/// Reads a SUBSCRIBE and a REGISTER (in any order): their request IDs.
async fn read_requests(t: &mut Transport) -> (Id, Id) {
    let (mut subscribe, mut register) = (None, None);
    for _ in 0..2 {
        match next(t).await {
            Message::Subscribe(s) => subscribe = Some(s.request),
            Message::Register(r) => register = Some(r.request),
            other => panic!("unexpected {other:?}"),
        }
    }
    (
        subscribe.expect("a SUBSCRIBE"),
        register.expect("a REGISTER"),
    )
}

/// Expects an UNSUBSCRIBE of `sub_id` and an UNREGISTER of `reg_id`, in any order.
async fn expect_removals(t: &mut Transport, sub_id: u64, reg_id: u64) {
    let (mut unsubscribed, mut unregistered) = (false, false);
    for _ in 0..2 {
        match next(t).await {
            Message::Unsubscribe(u) => {
                assert_eq!(u.subscription, id(sub_id));
                unsubscribed = true;
            }
            Message::Unregister(u) => {
                assert_eq!(u.registration, id(reg_id));
                unregistered = true;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(unsubscribed && unregistered);
}

/// Nothing stays subscribed or registered for nobody: a subscribe or register abandoned
/// before the router answers, and handles dropped while they are being restored after a
/// reconnect, are undone as soon as the router confirms them.
#[tokio::test]
async fn abandoned_subscriptions_and_registrations_are_undone() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("tcp://{}", listener.local_addr().expect("addr"));
    let policy = ReconnectPolicy {
        initial_delay: Duration::from_millis(50),
        jitter: 0.0,
        ..Default::default()
    };
    let connecting = tokio::spawn(async move {
        Session::builder(url)
            .serializer(Serializer::MsgPack)
            .reconnect(policy)
            .connect()
            .await
    });
    let mut conn1 = accept_session(&listener, 1).await;
    let session = connecting.await.expect("join").expect("connected");
    let start = |session: Session| {
        let s = session.clone();
        let subscribing = tokio::spawn(async move { s.subscribe("com.example.topic").await });
        let registering = tokio::spawn(async move {
            session
                .register("com.example.proc", |inv| async move { Ok(inv.payload) })
                .await
        });
        (subscribing, registering)
    };

    // Abandoned before the answer.
    let (subscribing, registering) = start(session.clone());
    let (subscribe, register) = read_requests(&mut conn1).await;
    subscribing.abort();
    registering.abort();
    assert!(subscribing.await.is_err() && registering.await.is_err());
    answer(&mut conn1, subscribe, 100, register, 200).await;
    expect_removals(&mut conn1, 100, 200).await;

    // Dropped while being restored.
    let (subscribing, registering) = start(session.clone());
    confirm(&mut conn1, 110, 210).await;
    let sub = subscribing.await.expect("join").expect("subscribed");
    let reg = registering.await.expect("join").expect("registered");
    drop(conn1);
    let mut conn2 = accept_session(&listener, 2).await;
    let (subscribe, register) = read_requests(&mut conn2).await;
    drop(sub);
    drop(reg);
    answer(&mut conn2, subscribe, 111, register, 211).await;
    expect_removals(&mut conn2, 111, 211).await;
}

/// Found by the chaos soak (`bench/soak`, a network partition): the router had not yet
/// noticed that the client's previous connection was dead, so that session still held the
/// procedure and the re-REGISTER after the reconnect was refused with
/// `procedure_already_exists`; the registration ended for good although the router freed
/// the procedure moments later. Now such a restore is tried again with the reconnect
/// backoff until the router takes it, and the handler serves again.
#[tokio::test]
async fn a_restore_refused_while_the_old_session_holds_the_procedure_is_retried() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("tcp://{}", listener.local_addr().expect("addr"));
    let policy = ReconnectPolicy {
        initial_delay: Duration::from_millis(50),
        jitter: 0.0,
        ..Default::default()
    };
    let connecting = tokio::spawn(async move {
        Session::builder(url)
            .serializer(Serializer::MsgPack)
            .reconnect(policy)
            .connect()
            .await
    });
    let mut conn1 = accept_session(&listener, 1).await;
    let session = connecting.await.expect("join").expect("connected");
    let s = session.clone();
    let subscribing = tokio::spawn(async move { s.subscribe("com.example.topic").await });
    let s = session.clone();
    let registering = tokio::spawn(async move {
        s.register("com.example.proc", |inv| async move { Ok(inv.payload) })
            .await
    });
    confirm(&mut conn1, 100, 200).await;
    let _sub = subscribing.await.expect("join").expect("subscribed");
    let reg = registering.await.expect("join").expect("registered");

    drop(conn1);
    let mut conn2 = accept_session(&listener, 2).await;
    let (subscribe, register) = read_requests(&mut conn2).await;
    conn2
        .send(
            Subscribed {
                request: subscribe,
                subscription: id(101),
            }
            .into(),
        )
        .await
        .expect("subscribed");
    // Twice refused: the old session still holds it.
    let mut register = register;
    for _ in 0..2 {
        conn2
            .send(
                ErrorMessage {
                    request_type: MessageType::Register,
                    request: register,
                    details: ErrorDetails::new(),
                    error: Uri::from_static("wamp.error.procedure_already_exists"),
                    payload: Payload::empty(),
                }
                .into(),
            )
            .await
            .expect("error");
        register = match next(&mut conn2).await {
            Message::Register(r) => {
                assert_eq!(r.procedure.as_str(), "com.example.proc");
                r.request
            }
            other => panic!("expected the REGISTER again, got {other:?}"),
        };
    }
    assert!(reg.end_reason().is_none(), "{:?}", reg.end_reason());
    conn2
        .send(
            Registered {
                request: register,
                registration: id(201),
            }
            .into(),
        )
        .await
        .expect("registered");
    let inv = Invocation {
        request: id(7),
        registration: id(201),
        details: InvocationDetails::new(),
        payload: Payload::from_values(vec![5.into()], Dict::new()),
    };
    conn2.send(inv.into()).await.expect("invocation");
    match next(&mut conn2).await {
        Message::Yield(y) => assert_eq!(y.request, id(7)),
        other => panic!("expected YIELD, got {other:?}"),
    }
    assert!(reg.end_reason().is_none());
}
