//! The embedded router with our own client: in-process and over sockets, every broker
//! and dealer feature, realms, authentication, misbehaving clients and shutdown.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use wamp::auth::scram::Kdf;
use wamp::auth::{cryptosign::SigningKey, Credentials};
use wamp::client::{Error, Progressive, SessionState, StandardError, WampError};
use wamp::protocol::*;
use wamp::router::{Limits, RealmConfig, Router, UserAuth};
use wamp::{Serializer, Session};

async fn router() -> Router {
    Router::builder()
        .realm(RealmConfig::new("realm1"))
        .realm(RealmConfig::new("realm2"))
        .websocket("127.0.0.1:0".parse().expect("addr"))
        .rawsocket("127.0.0.1:0".parse().expect("addr"))
        .start()
        .await
        .expect("router")
}

async fn local(router: &Router) -> Session {
    Session::builder("memory")
        .connect_with(router.local_transport())
        .await
        .expect("in-process session")
}

async fn next_event(sub: &mut wamp::client::Subscription) -> wamp::client::Event {
    tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("event in time")
        .expect("open")
        .expect("event")
}

/// Sends one message on a raw transport and returns the answer.
async fn ask(raw: &mut wamp::transport::Transport, msg: impl Into<Message>) -> Message {
    raw.send(msg.into()).await.expect("send");
    raw.next().await.expect("open").expect("message")
}

fn app_error(uri: &'static str) -> WampError {
    WampError::new(Uri::from_static(uri))
}

#[tokio::test]
async fn rpc_in_process_and_over_every_listener_and_serializer() {
    let router = router().await;
    let callee = local(&router).await;
    let _reg = callee
        .register("com.math.add", |inv| async move {
            let (a, b): (i64, i64) = inv
                .args()
                .map_err(|_| app_error("wamp.error.invalid_argument"))?;
            inv.result(&(a + b,))
        })
        .await
        .expect("register");
    let caller = local(&router).await;
    assert_eq!(
        caller
            .call("com.math.add")
            .args(&(1, 2))
            .await
            .expect("call")
            .args::<(i64,)>()
            .expect("args"),
        (3,)
    );
    for listener in router.listeners() {
        for ser in Serializer::ALL {
            let s = Session::builder(listener.url())
                .serializer(ser)
                .connect()
                .await
                .unwrap_or_else(|e| panic!("{} {ser}: {e}", listener.url()));
            let r = s.call("com.math.add").args(&(40, 2)).await.expect("call");
            assert_eq!(
                r.args::<(i64,)>().expect("args"),
                (42,),
                "{} {ser}",
                listener.url()
            );
            s.leave().await.expect("leave");
        }
    }
    let err = caller
        .call("com.math.nothing")
        .await
        .expect_err("no such procedure");
    assert!(err.is(StandardError::NoSuchProcedure), "{err}");
    let err = caller
        .call("com.math.add")
        .args(&("x",))
        .await
        .expect_err("bad args");
    assert!(err.is(StandardError::InvalidArgument), "{err}");
}

#[tokio::test]
async fn binary_and_big_numbers_cross_serializers() {
    let router = router().await;
    let ws = router.listeners()[0].url();
    let callee = Session::builder(&ws)
        .serializer(Serializer::Json)
        .connect()
        .await
        .expect("json");
    let _reg = callee
        .register("echo", |inv| async move { Ok(inv.payload) })
        .await
        .expect("register");
    for ser in [Serializer::MsgPack, Serializer::Cbor] {
        let caller = Session::builder(&ws)
            .serializer(ser)
            .connect()
            .await
            .expect("caller");
        let args = (
            wamp::Binary(vec![0, 1, 255]),
            u64::MAX,
            i64::MIN,
            -1.5f64,
            "ü".to_owned(),
        );
        let r = caller.call("echo").args(&args).await.expect("echo");
        assert_eq!(
            r.args::<(wamp::Binary, u64, i64, f64, String)>()
                .expect("args"),
            args
        );
    }
}

#[tokio::test]
async fn one_event_fans_out_to_subscribers_of_every_serializer_and_transport() {
    // The router encodes an event once per serializer and shares the bytes between the
    // subscribers of a subscription: each must still get exactly the published values.
    let router = router().await;
    let mut sessions = vec![local(&router).await];
    for listener in router.listeners() {
        for ser in Serializer::ALL {
            sessions.push(
                Session::builder(listener.url())
                    .serializer(ser)
                    .connect()
                    .await
                    .expect("connect"),
            );
        }
    }
    let mut subs = Vec::new();
    for s in &sessions {
        subs.push(s.subscribe("fan.out").await.expect("subscribe"));
        // Two subscriptions (exact and prefix), two shared encodings.
        subs.push(
            s.subscribe("fan")
                .match_policy(wamp::protocol::MatchPolicy::Prefix)
                .await
                .expect("subscribe prefix"),
        );
    }
    let args = (
        wamp::Binary(vec![0, 1, 255]),
        u64::MAX,
        i64::MIN,
        "ü".to_owned(),
    );
    let publisher = local(&router).await;
    for i in 0..3u32 {
        publisher
            .publish("fan.out")
            .args(&(args.clone(), i))
            .acknowledge(true)
            .await
            .expect("publish");
    }
    for sub in &mut subs {
        for i in 0..3u32 {
            let ev = next_event(sub).await;
            let (got, n): ((wamp::Binary, u64, i64, String), u32) = ev.args().expect("args");
            assert_eq!((got, n), (args.clone(), i));
        }
    }
}

#[tokio::test]
async fn pubsub_patterns_exclusion_and_disclosure() {
    let router = router().await;
    let a = local(&router).await;
    let b = local(&router).await;
    let mut exact = b.subscribe("com.shop.order.created").await.expect("exact");
    let mut prefix = b
        .subscribe("com.shop.")
        .match_policy(MatchPolicy::Prefix)
        .await
        .expect("prefix");
    let mut wildcard = b
        .subscribe("com..order.created")
        .match_policy(MatchPolicy::Wildcard)
        .await
        .expect("wildcard");
    let mut own = a
        .subscribe("com.shop.order.created")
        .await
        .expect("publisher's own");
    let publication = a
        .publish("com.shop.order.created")
        .args(&(1,))
        .acknowledge(true)
        .disclose_me(true)
        .await
        .expect("ack");
    for sub in [&mut exact, &mut prefix, &mut wildcard] {
        let ev = next_event(sub).await;
        assert_eq!(Some(ev.publication), publication);
        assert_eq!(ev.topic.as_str(), "com.shop.order.created");
        assert_eq!(ev.details.publisher(), Some(a.id()));
    }
    // Exact subscriptions get no topic detail; pattern ones do (checked above via topic).
    a.publish("com.shop.order.created")
        .args(&(2,))
        .exclude_me(false)
        .acknowledge(true)
        .await
        .expect("ack");
    assert_eq!(
        next_event(&mut own).await.args::<(i32,)>().expect("args"),
        (2,)
    );
    assert_eq!(
        next_event(&mut exact).await.details.publisher(),
        None,
        "not disclosed unless asked"
    );
    // Exclusion and eligibility by session, authid and authrole.
    a.publish("com.shop.order.created")
        .args(&(3,))
        .exclude_me(false)
        .exclude(vec![b.id()])
        .acknowledge(true)
        .await
        .expect("ack");
    assert_eq!(
        next_event(&mut own).await.args::<(i32,)>().expect("args"),
        (3,)
    );
    a.publish("com.shop.order.created")
        .args(&(4,))
        .exclude_me(false)
        .eligible(vec![b.id()])
        .acknowledge(true)
        .await
        .expect("ack");
    assert_eq!(
        next_event(&mut exact).await.args::<(i32,)>().expect("args"),
        (4,),
        "b got 4, not 3"
    );
    let b_authid = b.welcome_details().authid().expect("authid");
    a.publish("com.shop.order.created")
        .args(&(5,))
        .exclude_me(false)
        .exclude_authid(vec![b_authid])
        .acknowledge(true)
        .await
        .expect("ack");
    a.publish("com.shop.order.created")
        .args(&(6,))
        .exclude_me(false)
        .eligible_authrole(vec!["nobody".into()])
        .acknowledge(true)
        .await
        .expect("ack");
    a.publish("com.shop.order.created")
        .args(&(7,))
        .exclude_me(false)
        .exclude_authrole(vec!["anonymous".into()])
        .acknowledge(true)
        .await
        .expect("ack");
    a.publish("com.shop.order.created")
        .args(&(8,))
        .acknowledge(true)
        .await
        .expect("ack");
    assert_eq!(
        next_event(&mut own).await.args::<(i32,)>().expect("args"),
        (5,)
    );
    assert_eq!(
        next_event(&mut exact).await.args::<(i32,)>().expect("args"),
        (8,)
    );
}

#[tokio::test]
async fn events_from_one_publisher_arrive_in_order() {
    let router = router().await;
    let p = local(&router).await;
    let s = Session::builder(router.listeners()[1].url())
        .serializer(Serializer::MsgPack)
        .connect()
        .await
        .expect("rawsocket");
    // Room for every event: they are all published before the first is read.
    let mut sub = s
        .subscribe("com.seq")
        .buffer(2000)
        .await
        .expect("subscribe");
    for i in 0..2000u32 {
        p.publish("com.seq").args(&(i,)).await.expect("publish");
    }
    for i in 0..2000u32 {
        assert_eq!(
            next_event(&mut sub).await.args::<(u32,)>().expect("args"),
            (i,)
        );
    }
}

/// A call made one after another is written by the caller itself (no hop through the
/// session's driver task); it must still never overtake a message sent before it that
/// the driver has not written yet. A raw peer sees the messages in arrival order: each
/// call's INVOCATION must come after the EVENT of the publication made just before it
/// (the router keeps one session's messages in order, so only the caller could swap them).
#[tokio::test]
async fn calls_written_by_the_caller_stay_behind_queued_messages() {
    let router = router().await;
    let mut raw = router.local_transport();
    let request = |n| Id::new(n).expect("id");
    let hello = Hello {
        realm: Uri::from_static("realm1"),
        details: HelloDetails::new(),
    };
    assert!(matches!(ask(&mut raw, hello).await, Message::Welcome(_)));
    let subscribe = Subscribe {
        request: request(1),
        options: SubscribeOptions::new(),
        topic: Uri::from_static("com.order.topic"),
    };
    assert!(matches!(
        ask(&mut raw, subscribe).await,
        Message::Subscribed(_)
    ));
    let register = Register {
        request: request(2),
        options: RegisterOptions::new(),
        procedure: Uri::from_static("com.order.proc"),
    };
    assert!(matches!(
        ask(&mut raw, register).await,
        Message::Registered(_)
    ));
    // The raw callee answers whether the event numbered like the call came first.
    tokio::spawn(async move {
        let mut last_event = None;
        while let Some(Ok(msg)) = raw.next().await {
            match msg {
                Message::Event(e) => last_event = e.payload.args::<(u32,)>().ok(),
                Message::Invocation(inv) => {
                    let in_order = inv.payload.args::<(u32,)>().ok() == last_event;
                    let reply = Yield {
                        request: inv.request,
                        options: YieldOptions::new(),
                        payload: Payload::from_values(vec![in_order.into()], Dict::new()),
                    };
                    if raw.send(reply.into()).await.is_err() {
                        return;
                    }
                }
                _ => {}
            }
        }
    });
    for url in [router.listeners()[0].url(), router.listeners()[1].url()] {
        let caller = Session::builder(url).connect().await.expect("caller");
        for i in 0..200u32 {
            caller
                .publish("com.order.topic")
                .args(&(i,))
                .await
                .expect("publish");
            let (in_order,): (bool,) = caller
                .call("com.order.proc")
                .args(&(i,))
                .await
                .expect("call")
                .args()
                .expect("bool");
            assert!(in_order, "call {i} overtook the event published before it");
        }
    }
}

/// Calls made one after another (so their callers write them) from one or two tasks while
/// the router ends the session:
/// each one ends (a result or an error) and none hangs, whether its caller or the session
/// task wrote it, and whenever the end came.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_call_hangs_when_the_router_ends_the_session() {
    let router = router().await;
    let callee = local(&router).await;
    let _reg = callee
        .register("com.kill.echo", |inv| async move { Ok(inv.payload) })
        .await
        .expect("register");
    let admin = local(&router).await;
    for round in 0..40u64 {
        let caller = Session::builder(router.listeners()[(round / 2) as usize % 2].url())
            .connect()
            .await
            .expect("caller");
        let id = caller.id();
        let loops: Vec<_> = (0..1 + round % 2)
            .map(|_| {
                let caller = caller.clone();
                tokio::spawn(async move {
                    loop {
                        let call = caller.call("com.kill.echo").args(&(round,));
                        match tokio::time::timeout(Duration::from_secs(5), call).await {
                            Ok(Ok(_)) => continue,
                            Ok(Err(_)) => return,
                            Err(_) => panic!("round {round}: a call hung"),
                        }
                    }
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(5 + round % 7)).await;
        admin
            .call("wamp.session.kill")
            .args(&(id,))
            .await
            .expect("kill");
        for l in loops {
            l.await.expect("caller loop");
        }
    }
}

/// A call too large for the peer fails alone, whether the caller or the driver writes
/// it, and the connection goes on.
#[tokio::test]
async fn an_oversized_call_fails_and_the_session_goes_on() {
    let router = router().await;
    let callee = local(&router).await;
    let _reg = callee
        .register("com.big.echo", |inv| async move { Ok(inv.payload) })
        .await
        .expect("register");
    let caller = Session::builder(router.listeners()[0].url())
        .max_message_size(1024)
        .connect()
        .await
        .expect("caller");
    let big = "x".repeat(4096);
    for round in 0..3 {
        // A few calls one after another (the caller writes those itself), then one too
        // large, then more.
        for i in 0..3u32 {
            let r = caller
                .call("com.big.echo")
                .args(&(i,))
                .await
                .expect("small call");
            assert_eq!(r.args::<(u32,)>().expect("args"), (i,));
        }
        let err = caller
            .call("com.big.echo")
            .args(&(big.as_str(),))
            .await
            .expect_err("too large");
        assert!(
            matches!(
                err,
                Error::Transport(wamp::transport::TransportError::MessageTooLarge {
                    max: 1024,
                    ..
                })
            ),
            "round {round}: {err:?}"
        );
    }
    // Concurrent calls (written by the driver) after all that.
    let calls = (0..10u32).map(|i| {
        let caller = caller.clone();
        async move { caller.call("com.big.echo").args(&(i,)).await }
    });
    for r in futures_util::future::join_all(calls).await {
        r.expect("concurrent call");
    }
    assert!(caller.is_connected());
}

#[tokio::test]
async fn retained_events_reach_late_subscribers() {
    let router = router().await;
    let p = local(&router).await;
    p.publish("com.status")
        .args(&("online",))
        .retain(true)
        .acknowledge(true)
        .await
        .expect("publish");
    let s = local(&router).await;
    let mut sub = s
        .subscribe("com.status")
        .get_retained(true)
        .await
        .expect("subscribe");
    let ev = next_event(&mut sub).await;
    assert_eq!(ev.args::<(String,)>().expect("args").0, "online");
    assert_eq!(ev.details.retained(), Some(true));
}

#[tokio::test]
async fn registration_precedence_exact_prefix_wildcard() {
    let router = router().await;
    let callee = local(&router).await;
    let mut regs = Vec::new();
    for (uri, policy, name) in [
        ("a1.b2.c3.d4", MatchPolicy::Exact, "exact"),
        ("a1.b2", MatchPolicy::Prefix, "short prefix"),
        ("a1.b2.c3", MatchPolicy::Prefix, "long prefix"),
        ("a1...d4", MatchPolicy::Wildcard, "loose wildcard"),
        ("a1.b2..d4", MatchPolicy::Wildcard, "tight wildcard"),
    ] {
        let reg = callee
            .register(uri, move |inv| async move {
                inv.result_with_kwargs(&(name,), &inv.details.as_dict())
            })
            .match_policy(policy)
            .await
            .expect("register");
        regs.push(reg);
    }
    let caller = local(&router).await;
    for (procedure, expected) in [
        ("a1.b2.c3.d4", "exact"),
        ("a1.b2.c3.d98", "long prefix"),
        ("a1.b2.x3.d4", "short prefix"),
        ("a1.x.c3.d4", "loose wildcard"),
    ] {
        let r = caller.call(procedure).await.expect("call");
        assert_eq!(
            r.args::<(String,)>().expect("args").0,
            expected,
            "{procedure}"
        );
    }
    // Prefixes are string prefixes, as Crossbar.io does it: a1.b2.c3 also covers a1.b2.c33.
    let r = caller.call("a1.b2.c33.d4").await.expect("call");
    assert_eq!(r.args::<(String,)>().expect("args").0, "long prefix");
    drop(regs.remove(1)); // short prefix gone: a1.b2.x3.d4 falls to the tight wildcard
    tokio::time::sleep(Duration::from_millis(50)).await;
    let r = caller.call("a1.b2.x3.d4").await.expect("call");
    assert_eq!(r.args::<(String,)>().expect("args").0, "tight wildcard");
    let r = caller.call("a1.b2.c3.d98").await.expect("call");
    let details: Dict = r.kwargs().expect("details");
    assert_eq!(
        details.get("procedure").and_then(Value::as_str),
        Some("a1.b2.c3.d98"),
        "concrete procedure for patterns"
    );
}

#[tokio::test]
async fn shared_registrations_follow_their_invoke_policy() {
    let router = router().await;
    let callers = local(&router).await;
    let mut sessions = Vec::new();
    let mut regs = Vec::new();
    for i in 0..3u32 {
        let s = local(&router).await;
        for (uri, policy) in [
            ("rr", InvokePolicy::RoundRobin),
            ("first", InvokePolicy::First),
            ("last", InvokePolicy::Last),
            ("random", InvokePolicy::Random),
        ] {
            regs.push(
                s.register(uri, move |inv| async move { inv.result(&(i,)) })
                    .invoke(policy)
                    .await
                    .expect("shared"),
            );
        }
        sessions.push(s);
    }
    let who = |uri: &'static str| {
        let c = callers.clone();
        async move {
            c.call(uri)
                .await
                .expect("call")
                .args::<(u32,)>()
                .expect("args")
                .0
        }
    };
    assert_eq!(
        [
            who("rr").await,
            who("rr").await,
            who("rr").await,
            who("rr").await
        ],
        [0, 1, 2, 0]
    );
    assert_eq!(who("first").await, 0);
    assert_eq!(who("last").await, 2);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..60 {
        seen.insert(who("random").await);
    }
    assert_eq!(seen.len(), 3, "random reaches every callee");
    // Single registrations conflict; mismatched policies conflict.
    let other = local(&router).await;
    let _single = other
        .register("single", |inv| async move { inv.result(&()) })
        .await
        .expect("single");
    let err = sessions[0]
        .register("single", |inv| async move { inv.result(&()) })
        .await
        .expect_err("taken");
    assert!(err.is(StandardError::ProcedureAlreadyExists), "{err}");
    let err = other
        .register("rr", |inv| async move { inv.result(&()) })
        .invoke(InvokePolicy::First)
        .await
        .expect_err("policy mismatch");
    assert!(err.is(StandardError::ProcedureAlreadyExists), "{err}");
}

#[tokio::test]
async fn progressive_results_and_caller_disclosure() {
    let router = router().await;
    let callee = local(&router).await;
    let _reg = callee
        .register("count", |inv| async move {
            for i in 0..3u32 {
                inv.progress(inv.result(&(i,))?);
            }
            inv.result_with_kwargs(&("done",), &inv.details.as_dict())
        })
        .disclose_caller(true)
        .await
        .expect("register");
    let caller = local(&router).await;
    let items: Vec<CallResultSummary> = caller
        .call("count")
        .progressive()
        .map(|item| {
            let item = item.expect("result");
            let progress = !item.is_final();
            let (Progressive::Progress(r) | Progressive::Final(r)) = item;
            assert_eq!(r.is_progress(), progress);
            CallResultSummary {
                progress,
                first: r.payload.args_values().expect("args").first().cloned(),
            }
        })
        .collect()
        .await;
    assert_eq!(items.iter().filter(|i| i.progress).count(), 3);
    assert_eq!(
        items.last().and_then(|i| i.first.clone()),
        Some(Value::from("done"))
    );
    let r = caller.call("count").await.expect("plain");
    let details: Dict = r.kwargs().expect("details");
    assert_eq!(
        details.get("caller").and_then(Value::as_u64),
        Some(caller.id().get())
    );
}

#[derive(Debug)]
struct CallResultSummary {
    progress: bool,
    first: Option<Value>,
}

/// A callee that records whether its handler was dropped before finishing.
async fn slow_callee(
    router: &Router,
    uri: &str,
) -> (Session, wamp::client::Registration, Arc<AtomicUsize>) {
    let s = local(router).await;
    let dropped = Arc::new(AtomicUsize::new(0));
    struct Guard(Arc<AtomicUsize>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let d = dropped.clone();
    let reg = s
        .register(uri, move |inv| {
            let guard = Guard(d.clone());
            async move {
                tokio::time::sleep(Duration::from_secs(30)).await;
                drop(guard);
                inv.result(&())
            }
        })
        .await
        .expect("register");
    (s, reg, dropped)
}

async fn eventually(what: &str, check: impl Fn() -> bool) {
    for _ in 0..100 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn cancel_timeout_and_callee_loss() {
    let router = router().await;
    let caller = local(&router).await;

    // Dropping the call (killnowait) interrupts the callee.
    let (_c1, _r1, dropped) = slow_callee(&router, "slow.one").await;
    let call = tokio::spawn({
        let caller = caller.clone();
        async move { caller.call("slow.one").await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    call.abort();
    eventually("the interrupted handler to be dropped", || {
        dropped.load(Ordering::SeqCst) == 1
    })
    .await;

    // Kill mode: same for the callee.
    let (_c2, _r2, dropped) = slow_callee(&router, "slow.two").await;
    let call = tokio::spawn({
        let caller = caller.clone();
        async move { caller.call("slow.two").cancel_mode(CancelMode::Kill).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    call.abort();
    eventually("the killed handler to be dropped", || {
        dropped.load(Ordering::SeqCst) == 1
    })
    .await;

    // The router enforces CALL.Options.timeout in milliseconds: wamp.error.timeout.
    let (_c3, _r3, dropped) = slow_callee(&router, "slow.three").await;
    let raw = caller
        .call("slow.three")
        .option("timeout", 200u64)
        .await
        .expect_err("router timeout");
    assert!(raw.is(StandardError::Timeout), "{raw}");
    eventually("the timed-out handler to be dropped", || {
        dropped.load(Ordering::SeqCst) == 1
    })
    .await;

    // The callee goes away mid-call: the caller gets wamp.error.canceled at once.
    let (c4, r4, _dropped) = slow_callee(&router, "slow.four").await;
    let call = tokio::spawn({
        let caller = caller.clone();
        async move { caller.call("slow.four").await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    r4.detach();
    c4.leave().await.expect("leave");
    let err = tokio::time::timeout(Duration::from_secs(2), call)
        .await
        .expect("no hang")
        .expect("join")
        .expect_err("canceled");
    assert!(err.is(StandardError::Canceled), "{err}");
}

#[tokio::test]
async fn realms_are_isolated() {
    let router = router().await;
    let one = local(&router).await;
    let two = Session::builder("memory")
        .realm("realm2")
        .connect_with(router.local_transport())
        .await
        .expect("realm2");
    let _reg = one
        .register("same.name", |inv| async move { inv.result(&("realm1",)) })
        .await
        .expect("register");
    let err = two
        .call("same.name")
        .await
        .expect_err("not visible from realm2");
    assert!(err.is(StandardError::NoSuchProcedure), "{err}");
    let mut sub = two.subscribe("same.topic").await.expect("subscribe");
    one.publish("same.topic")
        .args(&(1,))
        .acknowledge(true)
        .await
        .expect("publish");
    assert!(
        tokio::time::timeout(Duration::from_millis(200), sub.next())
            .await
            .is_err(),
        "no cross-realm event"
    );
    let err = Session::builder("memory")
        .realm("realm3")
        .connect_with(router.local_transport())
        .await
        .expect_err("no realm3");
    assert!(
        matches!(&err, Error::Aborted { reason, .. } if reason.as_str() == "wamp.error.no_such_realm"),
        "{err}"
    );
}

#[tokio::test]
async fn every_authentication_method_with_right_and_wrong_credentials() {
    let dave = SigningKey::from_seed([4; 32]);
    let realm = RealmConfig::new("secure")
        .without_anonymous()
        .user("alice", "user", vec![UserAuth::Ticket("t1cket".into())])
        .user("bob", "user", vec![UserAuth::WampCra("cr4".into())])
        .user(
            "carol",
            "user",
            vec![UserAuth::WampCraSalted {
                password: "hunter2".into(),
                salt: "salt123".into(),
                iterations: 1000,
                keylen: 32,
            }],
        )
        .user(
            "dave",
            "admin",
            vec![UserAuth::Cryptosign(vec![dave.public_key_hex()])],
        )
        .user(
            "erin",
            "user",
            vec![UserAuth::scram_from_password(
                "s3cret",
                Kdf::Argon2id13 {
                    iterations: 2,
                    memory: 4096,
                },
            )
            .expect("scram")],
        )
        .user(
            "frank",
            "user",
            vec![
                UserAuth::scram_from_password("s3cret", Kdf::Pbkdf2 { iterations: 4096 })
                    .expect("scram"),
            ],
        );
    let router = Router::builder()
        .realm(realm)
        .rawsocket("127.0.0.1:0".parse().expect("addr"))
        .start()
        .await
        .expect("router");
    let url = router.listeners()[0].url();
    let join = |creds: Credentials| {
        let url = url.clone();
        async move {
            Session::builder(url)
                .realm("secure")
                .credentials(creds)
                .connect()
                .await
        }
    };
    for (who, role, creds) in [
        ("alice", "user", Credentials::ticket("alice", "t1cket")),
        ("bob", "user", Credentials::wampcra("bob", "cr4")),
        ("carol", "user", Credentials::wampcra("carol", "hunter2")),
        (
            "dave",
            "admin",
            Credentials::cryptosign("dave", dave.clone()),
        ),
        ("erin", "user", Credentials::scram("erin", "s3cret")),
        ("frank", "user", Credentials::scram("frank", "s3cret")),
    ] {
        let s = join(creds).await.unwrap_or_else(|e| panic!("{who}: {e}"));
        assert_eq!(s.welcome_details().authid().as_deref(), Some(who));
        assert_eq!(s.welcome_details().authrole().as_deref(), Some(role));
    }
    for creds in [
        Credentials::ticket("alice", "wrong"),
        Credentials::wampcra("bob", "wrong"),
        Credentials::wampcra("carol", "wrong"),
        Credentials::cryptosign("dave", SigningKey::from_seed([5; 32])),
        Credentials::scram("erin", "wrong"),
        Credentials::ticket("nobody", "x"),
        Credentials::Anonymous,
    ] {
        let what = format!("{creds:?}");
        let err = join(creds).await.expect_err("refused");
        assert!(
            matches!(&err, Error::Aborted { reason, .. } if reason.as_str() == "wamp.error.authentication_failed"),
            "{what}: {err}"
        );
    }
}

#[tokio::test]
async fn misbehaving_clients_are_aborted_and_nobody_else_notices() {
    let router = Router::builder()
        .realm(RealmConfig::new("realm1"))
        .limits(Limits {
            max_message_size: 64 * 1024,
            outbound_queue: 16,
            slow_consumer_grace: Duration::from_millis(100),
            ..Default::default()
        })
        .rawsocket("127.0.0.1:0".parse().expect("addr"))
        .start()
        .await
        .expect("router");
    let good = local(&router).await;
    let _reg = good
        .register("ping", |inv| async move { inv.result(&("pong",)) })
        .await
        .expect("register");

    // A second HELLO in an established session.
    let mut t = router.local_transport();
    let hello = || Hello {
        realm: Uri::from_static("realm1"),
        details: HelloDetails::new(),
    };
    t.send(hello().into()).await.expect("hello");
    assert!(matches!(t.next().await, Some(Ok(Message::Welcome(_)))));
    t.send(hello().into()).await.expect("hello again");
    match t.next().await {
        Some(Ok(Message::Abort(a))) => {
            assert_eq!(a.reason.as_str(), "wamp.error.protocol_violation")
        }
        other => panic!("expected ABORT, got {other:?}"),
    }

    // A client message the router never accepts from clients.
    let mut t = router.local_transport();
    t.send(hello().into()).await.expect("hello");
    let _welcome = t.next().await;
    t.send(
        Welcome {
            session: Id::MIN,
            details: WelcomeDetails::new(),
        }
        .into(),
    )
    .await
    .expect("welcome from a client");
    assert!(
        matches!(t.next().await, Some(Ok(Message::Abort(a))) if a.reason.as_str() == "wamp.error.protocol_violation")
    );

    // Garbage and oversized messages over a real socket.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = router.listeners()[0].addr;
    let mut raw = tokio::net::TcpStream::connect(addr).await.expect("connect");
    raw.write_all(&[0x7f, 0xf1, 0, 0]).await.expect("handshake");
    let mut reply = [0u8; 4];
    raw.read_exact(&mut reply).await.expect("reply");
    let junk = b"[1, \"realm1\", {}";
    raw.write_all(&[0, 0, 0, junk.len() as u8])
        .await
        .expect("header");
    raw.write_all(junk).await.expect("junk");
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), raw.read_to_end(&mut rest))
        .await
        .expect("closed in time");

    // Our client knows the router's limit from the RawSocket handshake and refuses
    // locally; the session stays up.
    let big = Session::builder(router.listeners()[0].url())
        .serializer(Serializer::MsgPack)
        .connect()
        .await
        .expect("connect");
    let err = big
        .call("ping")
        .args(&(vec![7u8; 100_000],))
        .await
        .expect_err("too large for the router");
    assert!(err.to_string().contains("exceeds the maximum"), "{err}");
    assert!(big.call("ping").await.is_ok());
    big.leave().await.expect("leave");
    // A client that ignores the limit is disconnected.
    let mut raw = tokio::net::TcpStream::connect(addr).await.expect("connect");
    raw.write_all(&[0x7f, 0xf1, 0, 0]).await.expect("handshake");
    raw.read_exact(&mut reply).await.expect("reply");
    raw.write_all(&[0, 0x01, 0x86, 0xa0])
        .await
        .expect("a 100000-byte frame header");
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), raw.read_to_end(&mut rest))
        .await
        .expect("closed in time");

    // A slow consumer: subscribes and never reads (raw transport, no reader).
    let mut slow = router.local_transport();
    slow.send(hello().into()).await.expect("hello");
    let _welcome = slow.next().await;
    slow.send(
        Subscribe {
            request: Id::MIN,
            options: SubscribeOptions::new(),
            topic: Uri::from_static("firehose"),
        }
        .into(),
    )
    .await
    .expect("subscribe");
    for i in 0..2000u32 {
        good.publish("firehose").args(&(i,)).await.expect("publish");
    }
    eventually("the slow consumer to be dropped", || {
        router.session_count() == 1
    })
    .await;
    drop(slow);

    // The well-behaved session never noticed.
    let r = good.call("ping").await.expect("still fine");
    assert_eq!(r.args::<(String,)>().expect("args").0, "pong");
}

#[tokio::test]
async fn graceful_shutdown_says_goodbye_to_everyone() {
    let router = router().await;
    let a = local(&router).await;
    let b = Session::builder(router.listeners()[0].url())
        .connect()
        .await
        .expect("ws");
    assert_eq!(router.session_count(), 2);
    router.shutdown(Duration::from_secs(5)).await;
    for s in [&a, &b] {
        let mut state = s.state();
        tokio::time::timeout(Duration::from_secs(5), async {
            while !matches!(&*state.borrow_and_update(), SessionState::Closed(r) if r.contains("system_shutdown")) {
                state.changed().await.expect("state");
            }
        })
        .await
        .expect("closed with system_shutdown");
    }
    assert!(
        Session::builder(router.listeners()[0].url())
            .connect()
            .await
            .is_err(),
        "listeners closed"
    );
}

#[tokio::test]
async fn progressive_call_invocations_stream_the_arguments() {
    let router = router().await;
    let callee = local(&router).await;
    let _reg = callee
        .register("sum.stream", |inv| async move {
            let mut total: i64 = inv.args::<(i64,)>().map(|a| a.0).unwrap_or(0);
            let mut chunks = 1;
            if inv.has_more_input() {
                while let Some(chunk) = inv.next_chunk().await {
                    total += chunk.args::<(i64,)>().map(|a| a.0).unwrap_or(0);
                    chunks += 1;
                }
            }
            inv.result(&(total, chunks))
        })
        .await
        .expect("register");
    let caller = Session::builder(router.listeners()[0].url())
        .serializer(Serializer::Cbor)
        .connect()
        .await
        .expect("ws");
    let call = caller
        .call("sum.stream")
        .args(&(1,))
        .stream_input()
        .expect("supported by our router");
    for n in 2..=4 {
        call.send(call.encode(&(n,)).expect("encode"))
            .expect("chunk");
    }
    let result = call
        .finish(Payload::encode_args(Serializer::Cbor, &(5,)).expect("encode"))
        .await
        .expect("result");
    assert_eq!(result.args::<(i64, u32)>().expect("args"), (15, 5));
    // An ordinary call to the same procedure still works.
    assert_eq!(
        caller
            .call("sum.stream")
            .args(&(7,))
            .await
            .expect("call")
            .args::<(i64, u32)>()
            .expect("args"),
        (7, 1)
    );
}

#[tokio::test]
async fn authorization_by_role_and_uri() {
    use wamp::router::{Action, Permission};
    let mut no_disclose = Permission::exact("com.app.secret", &[Action::Call]);
    no_disclose.disclose_caller = false;
    let realm = RealmConfig::new("realm1")
        .role(
            "service",
            vec![Permission::prefix(
                "",
                &[
                    Action::Register,
                    Action::Publish,
                    Action::Call,
                    Action::Subscribe,
                ],
            )],
        )
        .role(
            "anonymous",
            vec![
                Permission::prefix("com.app.", &[Action::Call, Action::Subscribe]),
                Permission::prefix("com.app.admin.", &[]),
                no_disclose,
            ],
        )
        .user("svc", "service", vec![UserAuth::Ticket("svc".into())]);
    let router = Router::builder()
        .realm(realm)
        .start()
        .await
        .expect("router");
    let service = Session::builder("memory")
        .credentials(Credentials::ticket("svc", "svc"))
        .connect_with(router.local_transport())
        .await
        .expect("service");
    for uri in ["com.app.add", "com.app.admin.reset", "com.app.secret"] {
        let reg = service
            .register(uri, |inv| async move { inv.result(&("ok",)) })
            .await
            .expect("the service may register");
        reg.detach();
    }
    let anon = local(&router).await;
    assert!(anon.call("com.app.add").await.is_ok());
    let err = anon
        .call("com.app.admin.reset")
        .await
        .expect_err("denied by the more specific prefix");
    assert!(err.is(StandardError::NotAuthorized), "{err}");
    let err = anon
        .register("com.app.mine", |inv| async move { inv.result(&()) })
        .await
        .expect_err("may not register");
    assert!(err.is(StandardError::NotAuthorized), "{err}");
    let err = anon
        .publish("com.app.news")
        .acknowledge(true)
        .await
        .expect_err("may not publish");
    assert!(err.is(StandardError::NotAuthorized), "{err}");
    assert!(anon.subscribe("com.app.news").await.is_ok());
    let err = anon
        .subscribe("org.other")
        .await
        .expect_err("nothing outside com.app.");
    assert!(err.is(StandardError::NotAuthorized), "{err}");
    assert!(anon.call("com.app.secret").await.is_ok());
    let err = anon
        .call("com.app.secret")
        .disclose_me(true)
        .await
        .expect_err("may not disclose");
    assert!(err.is(StandardError::OptionDisallowedDiscloseMe), "{err}");
}

#[tokio::test]
async fn session_meta_api_and_events() {
    let router = router().await;
    let admin = local(&router).await;
    let mut joins = admin
        .subscribe("wamp.session.on_join")
        .await
        .expect("on_join");
    let mut leaves = admin
        .subscribe("wamp.session.on_leave")
        .await
        .expect("on_leave");
    let other = local(&router).await;
    let joined: (Dict,) = next_event(&mut joins).await.args().expect("details");
    assert_eq!(
        joined.0.get("session").and_then(Value::as_u64),
        Some(other.id().get())
    );
    assert_eq!(
        joined.0.get("authmethod").and_then(Value::as_str),
        Some("anonymous")
    );

    let count: (u64,) = admin
        .call("wamp.session.count")
        .await
        .expect("count")
        .args()
        .expect("args");
    assert_eq!(count.0, 2);
    let (list,): (Vec<u64>,) = admin
        .call("wamp.session.list")
        .await
        .expect("list")
        .args()
        .expect("args");
    assert!(list.contains(&other.id().get()) && list.contains(&admin.id().get()));
    let (none,): (u64,) = admin
        .call("wamp.session.count")
        .args(&(vec!["nobody"],))
        .await
        .expect("filtered")
        .args()
        .expect("args");
    assert_eq!(none, 0);
    let (details,): (Dict,) = admin
        .call("wamp.session.get")
        .args(&(other.id().get(),))
        .await
        .expect("get")
        .args()
        .expect("args");
    assert_eq!(
        details.get("authrole").and_then(Value::as_str),
        Some("anonymous")
    );
    let err = admin
        .call("wamp.session.get")
        .args(&(12345u64,))
        .await
        .expect_err("no such session");
    assert_eq!(
        err.wamp().map(|w| w.uri.as_str().to_owned()).as_deref(),
        Some("wamp.error.no_such_session")
    );
    let err = admin
        .call("wamp.session.kill")
        .args(&(admin.id().get(),))
        .await
        .expect_err("not itself");
    assert_eq!(
        err.wamp().map(|w| w.uri.as_str().to_owned()).as_deref(),
        Some("wamp.error.no_such_session")
    );

    let mut kwargs = Dict::new();
    kwargs.insert("reason".into(), Value::from("com.example.go_away"));
    kwargs.insert("message".into(), Value::from("bye"));
    admin
        .call("wamp.session.kill")
        .args(&(other.id().get(),))
        .kwargs(&kwargs)
        .await
        .expect("kill");
    let mut state = other.state();
    tokio::time::timeout(Duration::from_secs(5), async {
        while !matches!(&*state.borrow_and_update(), SessionState::Closed(r) if r.contains("com.example.go_away")) {
            state.changed().await.expect("state");
        }
    })
    .await
    .expect("killed with GOODBYE and the reason");
    let left = next_event(&mut leaves).await;
    assert_eq!(
        left.args::<(u64, String, String)>().expect("args").0,
        other.id().get()
    );
}

#[tokio::test]
async fn the_router_revokes_subscriptions_and_registrations() {
    let router = router().await;
    let admin = local(&router).await;
    let client = Session::builder(router.listeners()[0].url())
        .connect()
        .await
        .expect("ws");
    let mut sub = client
        .subscribe("com.revoke.topic")
        .await
        .expect("subscribe");
    let reg = client
        .register("com.revoke.proc", |inv| async move { inv.result(&(1,)) })
        .await
        .expect("register");
    let mut unsubscribes = admin
        .subscribe("wamp.subscription.on_unsubscribe")
        .await
        .expect("on_unsubscribe");
    let revoke = |procedure: &'static str, id: Id, session: Id, reason: &'static str| {
        admin
            .call(procedure)
            .args(&(id.get(), session.get(), reason))
    };

    // Wrong session, wrong subscription: refused, nothing revoked.
    let err = revoke(
        "wamp.subscription.remove_subscriber",
        sub.id(),
        admin.id(),
        "x",
    )
    .await
    .expect_err("admin is not subscribed");
    assert_eq!(
        err.wamp().map(|w| w.uri.as_str()),
        Some("wamp.error.no_such_subscription")
    );
    let err = revoke(
        "wamp.subscription.remove_subscriber",
        sub.id(),
        Id::MAX,
        "x",
    )
    .await
    .expect_err("no such session");
    assert_eq!(
        err.wamp().map(|w| w.uri.as_str()),
        Some("wamp.error.no_such_session")
    );

    // Our client announces subscription_revocation: it hears of it, with the reason.
    revoke(
        "wamp.subscription.remove_subscriber",
        sub.id(),
        client.id(),
        "no longer authorized",
    )
    .await
    .expect("revoke subscription");
    match tokio::time::timeout(Duration::from_secs(5), sub.next()).await {
        Ok(Some(Err(wamp::client::Error::Revoked(reason)))) => {
            assert_eq!(reason, "no longer authorized")
        }
        other => panic!("expected a revocation, got {other:?}"),
    }
    let (session, subscription): (u64, u64) =
        next_event(&mut unsubscribes).await.args().expect("args");
    assert_eq!((session, subscription), (client.id().get(), sub.id().get()));
    admin
        .publish("com.revoke.topic")
        .acknowledge(true)
        .await
        .expect("publish");
    assert!(matches!(
        tokio::time::timeout(Duration::from_secs(5), sub.next()).await,
        Ok(None)
    ));

    // Registrations likewise: calls no longer reach the callee.
    assert!(admin.call("com.revoke.proc").await.is_ok());
    revoke(
        "wamp.registration.remove_callee",
        reg.id(),
        client.id(),
        "moved",
    )
    .await
    .expect("revoke registration");
    let err = admin.call("com.revoke.proc").await.expect_err("revoked");
    assert_eq!(
        err.wamp().map(|w| w.uri.as_str()),
        Some("wamp.error.no_such_procedure")
    );
    let err = revoke(
        "wamp.registration.remove_callee",
        reg.id(),
        client.id(),
        "again",
    )
    .await
    .expect_err("already revoked");
    assert_eq!(
        err.wamp().map(|w| w.uri.as_str()),
        Some("wamp.error.no_such_registration")
    );

    // A subscriber that did not announce the feature is removed silently (spec: the
    // broker MUST NOT send UNSUBSCRIBED then).
    let mut raw = router.local_transport();
    raw.send(
        Hello {
            realm: Uri::from_static("realm1"),
            details: HelloDetails::new(),
        }
        .into(),
    )
    .await
    .expect("hello");
    let Some(Ok(Message::Welcome(welcome))) = raw.next().await else {
        panic!("no WELCOME")
    };
    raw.send(
        Subscribe {
            request: Id::MIN,
            options: SubscribeOptions::new(),
            topic: Uri::from_static("com.revoke.silent"),
        }
        .into(),
    )
    .await
    .expect("subscribe");
    let Some(Ok(Message::Subscribed(subscribed))) = raw.next().await else {
        panic!("no SUBSCRIBED")
    };
    revoke(
        "wamp.subscription.remove_subscriber",
        subscribed.subscription,
        welcome.session,
        "quietly",
    )
    .await
    .expect("revoke");
    admin
        .publish("com.revoke.silent")
        .acknowledge(true)
        .await
        .expect("publish");
    assert!(
        tokio::time::timeout(Duration::from_millis(300), raw.next())
            .await
            .is_err(),
        "neither UNSUBSCRIBED nor the event may arrive"
    );
}

#[tokio::test]
async fn registration_and_subscription_meta_api() {
    let router = router().await;
    let admin = local(&router).await;
    let mut created = admin
        .subscribe("wamp.registration.on_create")
        .await
        .expect("on_create");
    let mut subscribed = admin
        .subscribe("wamp.subscription.on_subscribe")
        .await
        .expect("on_subscribe");
    let callee = local(&router).await;
    let reg = callee
        .register("com.meta.", |inv| async move { inv.result(&()) })
        .match_policy(MatchPolicy::Prefix)
        .await
        .expect("register");
    let (session, details): (u64, Dict) = next_event(&mut created).await.args().expect("args");
    assert_eq!(session, callee.id().get());
    assert_eq!(
        details.get("uri").and_then(Value::as_str),
        Some("com.meta.")
    );
    assert_eq!(details.get("match").and_then(Value::as_str), Some("prefix"));

    let call1 = |p: &'static str, args: Vec<Value>| {
        let admin = admin.clone();
        async move {
            admin
                .call(p)
                .payload(Payload::from_values(args, Dict::new()))
                .await
                .expect(p)
                .payload
                .args_values()
                .expect("args")
        }
    };
    let mut opts = Dict::new();
    opts.insert("match".into(), Value::from("prefix"));
    assert_eq!(
        call1(
            "wamp.registration.lookup",
            vec!["com.meta.".into(), Value::Dict(opts)]
        )
        .await,
        vec![Value::from(reg.id().get())]
    );
    assert_eq!(
        call1("wamp.registration.lookup", vec!["com.meta.".into()]).await,
        vec![Value::Null],
        "no exact registration"
    );
    assert_eq!(
        call1("wamp.registration.match", vec!["com.meta.anything".into()]).await,
        vec![Value::from(reg.id().get())]
    );
    assert_eq!(
        call1(
            "wamp.registration.list_callees",
            vec![reg.id().get().into()]
        )
        .await,
        vec![Value::List(vec![callee.id().get().into()])]
    );
    assert_eq!(
        call1(
            "wamp.registration.count_callees",
            vec![reg.id().get().into()]
        )
        .await,
        vec![Value::from(1)]
    );
    let list = call1("wamp.registration.list", vec![]).await;
    assert_eq!(
        list[0].as_dict().and_then(|d| d.get("prefix")).cloned(),
        Some(Value::List(vec![reg.id().get().into()]))
    );
    let err = admin
        .call("wamp.registration.get")
        .args(&(999_999u64,))
        .await
        .expect_err("none");
    assert_eq!(
        err.wamp().map(|w| w.uri.as_str().to_owned()).as_deref(),
        Some("wamp.error.no_such_registration")
    );

    let sub = callee.subscribe("com.meta.topic").await.expect("subscribe");
    let (session, sub_id): (u64, u64) = next_event(&mut subscribed).await.args().expect("args");
    assert_eq!((session, sub_id), (callee.id().get(), sub.id().get()));
    assert_eq!(
        call1("wamp.subscription.lookup", vec!["com.meta.topic".into()]).await,
        vec![Value::from(sub.id().get())]
    );
    assert_eq!(
        call1("wamp.subscription.match", vec!["com.meta.topic".into()]).await,
        vec![Value::List(vec![sub.id().get().into()])]
    );
    assert_eq!(
        call1(
            "wamp.subscription.count_subscribers",
            vec![sub.id().get().into()]
        )
        .await,
        vec![Value::from(1)]
    );
    let (details,): (Dict,) = admin
        .call("wamp.subscription.get")
        .args(&(sub.id().get(),))
        .await
        .expect("get")
        .args()
        .expect("args");
    assert_eq!(
        details.get("uri").and_then(Value::as_str),
        Some("com.meta.topic")
    );
    assert!(details
        .get("created")
        .and_then(Value::as_str)
        .is_some_and(|c| c.ends_with('Z')));
}

#[tokio::test]
async fn testaments_are_published_when_a_session_ends() {
    let router = router().await;
    let watcher = local(&router).await;
    let mut last_words = watcher
        .subscribe("com.app.last_words")
        .await
        .expect("subscribe");
    let mortal = local(&router).await;
    let mut kw = Dict::new();
    kw.insert("scope".into(), Value::from("destroyed"));
    let args = (
        Value::from("com.app.last_words"),
        Value::List(vec!["goodbye".into()]),
        Value::Dict(Dict::new()),
    );
    mortal
        .call("wamp.session.add_testament")
        .args(&args)
        .kwargs(&kw)
        .await
        .expect("add");
    let args2 = (
        Value::from("com.app.last_words"),
        Value::List(vec!["never sent".into()]),
        Value::Dict(Dict::new()),
    );
    kw.insert("scope".into(), Value::from("detached"));
    mortal
        .call("wamp.session.add_testament")
        .args(&args2)
        .kwargs(&kw)
        .await
        .expect("add detached");
    let flushed = mortal
        .call("wamp.session.flush_testaments")
        .kwargs(&kw)
        .await
        .expect("flush");
    assert_eq!(flushed.args::<(u64,)>().expect("args").0, 1);
    drop(mortal); // the last handle: the session leaves
    let ev = next_event(&mut last_words).await;
    assert_eq!(ev.args::<(String,)>().expect("args").0, "goodbye");
    assert!(
        tokio::time::timeout(Duration::from_millis(200), last_words.next())
            .await
            .is_err(),
        "the flushed one never comes"
    );
}

#[tokio::test]
async fn tls_client_certificates_authenticate() {
    use sha2::Digest;
    use wamp::transport::tls::{TlsClientConfig, TlsServerConfig};
    let pki = common::pki();
    let fingerprint = hex::encode(sha2::Sha256::digest(pki.client_chain[0].as_ref()));
    let tls = TlsServerConfig::new(pki.server_chain.clone(), pki.server_key.clone_key())
        .with_client_ca(vec![pki.ca.clone()])
        .client_cert_optional(true);
    let realm = RealmConfig::new("realm1").without_anonymous().user(
        "device-17",
        "device",
        vec![UserAuth::TlsCertificate(vec![fingerprint])],
    );
    let router = Router::builder()
        .realm(realm)
        .rawsocket_tls("127.0.0.1:0".parse().expect("addr"), tls)
        .start()
        .await
        .expect("router");
    let url = router.listeners()[0].url();
    assert!(url.starts_with("tcps://"), "{url}");
    let trusted = TlsClientConfig::new().add_ca_certificates([pki.ca.clone()]);
    let with_cert = trusted
        .clone()
        .with_client_cert(pki.client_chain.clone(), pki.client_key.clone_key());
    let s = Session::builder(&url)
        .tls(with_cert)
        .credentials(Credentials::Tls { authid: None })
        .connect()
        .await
        .expect("certificate accepted");
    assert_eq!(s.welcome_details().authid().as_deref(), Some("device-17"));
    assert_eq!(s.welcome_details().authmethod().as_deref(), Some("tls"));
    let err = Session::builder(&url)
        .tls(trusted)
        .credentials(Credentials::Tls { authid: None })
        .connect()
        .await
        .expect_err("no certificate");
    assert!(
        matches!(&err, Error::Aborted { reason, .. } if reason.as_str() == "wamp.error.authentication_failed"),
        "{err}"
    );
}

#[tokio::test]
async fn event_history_per_subscription() {
    let router = Router::builder()
        .realm(RealmConfig::new("realm1").event_history(3))
        .start()
        .await
        .expect("router");
    let s = local(&router).await;
    let p = local(&router).await;
    let exact = s.subscribe("com.log.auth").await.expect("exact");
    let prefix = s
        .subscribe("com.log.")
        .match_policy(MatchPolicy::Prefix)
        .await
        .expect("prefix");
    for (topic, n) in [
        ("com.log.auth", 1),
        ("com.log.basket", 2),
        ("com.log.basket", 3),
        ("com.log.basket", 4),
        ("com.log.checkout", 5),
    ] {
        p.publish(topic)
            .args(&(n,))
            .acknowledge(true)
            .await
            .expect("publish");
    }
    let events = |id: Id, kwargs: Dict| {
        let s = s.clone();
        async move {
            let (list,): (Vec<Dict>,) = s
                .call("wamp.subscription.get_events")
                .args(&(id.get(),))
                .kwargs(&kwargs)
                .await
                .expect("get_events")
                .args()
                .expect("args");
            list.iter()
                .map(|e| {
                    e["args"]
                        .as_list()
                        .and_then(|a| a[0].as_i64())
                        .unwrap_or(-1)
                })
                .collect::<Vec<i64>>()
        }
    };
    assert_eq!(events(exact.id(), Dict::new()).await, vec![1]);
    assert_eq!(
        events(prefix.id(), Dict::new()).await,
        vec![3, 4, 5],
        "bounded to the last 3"
    );
    let mut kw = Dict::new();
    kw.insert("reverse".into(), true.into());
    kw.insert("limit".into(), 2u64.into());
    assert_eq!(events(prefix.id(), kw).await, vec![5, 4]);
    let mut kw = Dict::new();
    kw.insert("topic".into(), "com.log.basket".into());
    assert_eq!(events(prefix.id(), kw).await, vec![3, 4]);
}
