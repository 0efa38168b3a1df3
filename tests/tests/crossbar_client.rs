//! The client session against a real Crossbar.io router: every role, on every transport
//! and serializer, and every authentication method Crossbar offers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use wamp::auth::{cryptosign::SigningKey, Credentials};
use wamp::client::{Error, Progressive, StandardError, WampError};
use wamp::protocol::{MatchPolicy, Payload, Uri};
use wamp::transport::tls::TlsClientConfig;
use wamp::{Dict, Serializer, Session, Value};
use wamp_tests::{anonymous_endpoints, crossbar, shared_dir};

fn builder(url: &str, ser: Serializer) -> wamp::SessionBuilder {
    let xb = crossbar();
    Session::builder(url).realm(xb.realm).serializer(ser).tls(
        TlsClientConfig::new()
            .add_ca_pem_file(&xb.ca_cert)
            .expect("CA"),
    )
}

async fn connect(url: &str, ser: Serializer) -> Session {
    builder(url, ser)
        .connect()
        .await
        .unwrap_or_else(|e| panic!("{url} {ser}: {e}"))
}

/// A unique URI per test run, so parallel tests never share procedures or topics.
fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}.p{}.n{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Order {
    item: String,
    quantity: u32,
    data: wamp::Binary,
}

#[tokio::test]
async fn rpc_and_pubsub_on_every_transport_and_serializer() {
    for url in anonymous_endpoints() {
        for ser in Serializer::ALL {
            let callee = connect(&url, ser).await;
            let caller = connect(&url, Serializer::Json).await; // cross-serializer through the router
            let proc_uri = unique("test.rpc.add");
            let _reg = callee
                .register(&proc_uri, |inv| async move {
                    let (a, b): (i64, i64) = inv.args().map_err(|e| {
                        WampError::with_payload(
                            Uri::from_static("wamp.error.invalid_argument"),
                            Payload::from_values(vec![e.to_string().into()], Dict::new()),
                        )
                    })?;
                    let order: Order = inv.kwargs().map_err(|_| {
                        WampError::new(Uri::from_static("wamp.error.invalid_argument"))
                    })?;
                    inv.result_with_kwargs(&(a + b,), &order)
                })
                .await
                .expect("register");
            let order = Order {
                item: "tea".into(),
                quantity: 3,
                data: wamp::Binary(vec![0, 1, 2, 255]),
            };
            let result = caller
                .call(&proc_uri)
                .args(&(40, 2))
                .kwargs(&order)
                .await
                .unwrap_or_else(|e| panic!("{url} {ser}: {e}"));
            assert_eq!(result.args::<(i64,)>().expect("args"), (42,), "{url} {ser}");
            assert_eq!(
                result.kwargs::<Order>().expect("kwargs"),
                order,
                "{url} {ser}: binary survives serializer changes"
            );

            let topic = unique("test.pubsub");
            let mut sub = callee.subscribe(&topic).await.expect("subscribe");
            let publication = caller
                .publish(&topic)
                .args(&("hello", 1))
                .acknowledge(true)
                .await
                .expect("publish");
            let event = tokio::time::timeout(Duration::from_secs(5), sub.next())
                .await
                .expect("event in time")
                .expect("stream")
                .expect("event");
            assert_eq!(Some(event.publication), publication);
            assert_eq!(
                event.args::<(String, u8)>().expect("args"),
                ("hello".into(), 1)
            );
            assert_eq!(event.topic.as_str(), topic);
            caller.leave().await.expect("leave");
            callee.leave().await.expect("leave");
        }
    }
}

#[tokio::test]
async fn application_errors_keep_uri_args_and_kwargs() {
    let xb = crossbar();
    let callee = connect(&xb.ws, Serializer::MsgPack).await;
    let caller = connect(&xb.ws, Serializer::Cbor).await;
    let uri = unique("test.rpc.fail");
    let _reg = callee
        .register(&uri, |_inv| async move {
            let mut kw = Dict::new();
            kw.insert("code".into(), Value::from(17));
            Err(WampError::with_payload(
                Uri::from_static("com.example.out_of_stock"),
                Payload::from_values(vec!["no tea".into()], kw),
            ))
        })
        .await
        .expect("register");
    let err = caller.call(&uri).await.expect_err("must fail");
    let wamp_err = err.wamp().expect("a WAMP error");
    assert_eq!(wamp_err.uri.as_str(), "com.example.out_of_stock");
    assert_eq!(
        wamp_err.payload.args::<(String,)>().expect("args").0,
        "no tea"
    );
    assert_eq!(
        wamp_err
            .payload
            .kwargs_values()
            .expect("kwargs")
            .get("code"),
        Some(&Value::from(17))
    );
    assert_eq!(
        err.to_string(),
        r#"com.example.out_of_stock ["no tea"] {"code":17}"#
    );

    let err = caller
        .call(unique("test.rpc.nobody"))
        .await
        .expect_err("no such procedure");
    assert!(err.is(StandardError::NoSuchProcedure), "{err}");
}

#[tokio::test]
async fn a_panicking_handler_answers_with_an_error_and_the_session_stays_up() {
    let xb = crossbar();
    let callee = connect(&xb.rawsocket, Serializer::Json).await;
    let caller = connect(&xb.ws, Serializer::Json).await;
    let uri = unique("test.rpc.panic");
    let _reg = callee
        .register(&uri, |inv| async move {
            let (boom,): (bool,) = inv.args().unwrap_or((false,));
            if boom {
                panic!("handler exploded");
            }
            inv.result(&("fine",))
        })
        .await
        .expect("register");
    let err = caller
        .call(&uri)
        .args(&(true,))
        .await
        .expect_err("panic becomes an error");
    assert!(err.is(StandardError::RuntimeError), "{err}");
    assert!(err.to_string().contains("handler exploded"), "{err}");
    let ok = caller
        .call(&uri)
        .args(&(false,))
        .await
        .expect("still serving");
    assert_eq!(ok.args::<(String,)>().expect("args").0, "fine");
    assert!(callee.is_connected());
}

#[tokio::test]
async fn progressive_results_arrive_in_order_before_the_final_one() {
    let xb = crossbar();
    let callee = connect(&xb.ws, Serializer::MsgPack).await;
    let caller = connect(&xb.rawsocket, Serializer::Cbor).await;
    let uri = unique("test.rpc.progress");
    let _reg = callee
        .register(&uri, |inv| async move {
            for i in 0..5u32 {
                let chunk = inv.result(&(i,))?;
                inv.progress(chunk);
            }
            inv.result(&("done",))
        })
        .await
        .expect("register");
    let mut stream = caller.call(&uri).progressive();
    let mut seen = Vec::new();
    while let Some(item) = stream.next().await {
        match item.expect("result") {
            Progressive::Progress(r) => seen.push(r.args::<(u32,)>().expect("progress").0),
            Progressive::Final(r) => assert_eq!(r.args::<(String,)>().expect("final").0, "done"),
        }
    }
    assert_eq!(seen, vec![0, 1, 2, 3, 4]);
    // Without asking for progress, only the final result comes back.
    let r = caller.call(&uri).await.expect("plain call");
    assert_eq!(r.args::<(String,)>().expect("final").0, "done");
}

#[tokio::test]
async fn dropping_a_call_interrupts_the_callee() {
    let xb = crossbar();
    let callee = connect(&xb.ws, Serializer::Json).await;
    let caller = connect(&xb.ws, Serializer::Json).await;
    let uri = unique("test.rpc.slow");
    let started = Arc::new(tokio::sync::Notify::new());
    let finished = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(tokio::sync::Notify::new());
    struct OnDrop(Arc<tokio::sync::Notify>);
    impl Drop for OnDrop {
        fn drop(&mut self) {
            self.0.notify_one();
        }
    }
    let (s, f, d) = (started.clone(), finished.clone(), dropped.clone());
    let _reg = callee
        .register(&uri, move |inv| {
            let (s, f, d) = (s.clone(), f.clone(), d.clone());
            async move {
                let _guard = OnDrop(d);
                s.notify_one();
                tokio::time::sleep(Duration::from_secs(30)).await;
                f.fetch_add(1, Ordering::SeqCst);
                inv.result(&())
            }
        })
        .await
        .expect("register");
    let call = tokio::spawn({
        let caller = caller.clone();
        let uri = uri.clone();
        async move { caller.call(&uri).await }
    });
    started.notified().await;
    call.abort(); // drops the call future: CANCEL killnowait
    tokio::time::timeout(Duration::from_secs(5), dropped.notified())
        .await
        .expect("the handler future was dropped by INTERRUPT");
    assert_eq!(finished.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn call_timeout_is_enforced_by_the_client() {
    let xb = crossbar();
    let callee = connect(&xb.ws, Serializer::Json).await;
    let caller = connect(&xb.ws, Serializer::Json).await;
    let uri = unique("test.rpc.sleepy");
    let _reg = callee
        .register(&uri, |inv| async move {
            tokio::time::sleep(Duration::from_secs(20)).await;
            inv.result(&())
        })
        .await
        .expect("register");
    let t0 = Instant::now();
    let err = caller
        .call(&uri)
        .timeout(Duration::from_millis(300))
        .await
        .expect_err("times out");
    assert!(matches!(err, Error::Timeout(_)), "{err}");
    // Crossbar reads the timeout as seconds; our own deadline is what counts.
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    // The session is fine afterwards.
    assert!(caller
        .call(unique("test.none"))
        .await
        .expect_err("no proc")
        .is(StandardError::NoSuchProcedure));
}

#[tokio::test]
async fn pattern_subscriptions_carry_the_concrete_topic_and_publisher() {
    let xb = crossbar();
    let sub_session = connect(&xb.ws, Serializer::Cbor).await;
    let publisher = connect(&xb.ws, Serializer::Json).await;
    let base = unique("test.pattern");
    let mut prefix = sub_session
        .subscribe(format!("{base}."))
        .match_policy(MatchPolicy::Prefix)
        .await
        .expect("prefix");
    let mut wildcard = sub_session
        .subscribe(format!("{base}..created"))
        .match_policy(MatchPolicy::Wildcard)
        .await
        .expect("wildcard");
    let topic = format!("{base}.orders.created");
    publisher
        .publish(&topic)
        .args(&(1,))
        .acknowledge(true)
        .await
        .expect("publish");
    for stream in [&mut prefix, &mut wildcard] {
        let ev = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("in time")
            .expect("open")
            .expect("event");
        assert_eq!(ev.topic.as_str(), topic);
        // Crossbar's config discloses publishers.
        assert_eq!(ev.details.publisher(), Some(publisher.id()));
    }
}

#[tokio::test]
async fn local_subscriptions_to_one_topic_share_the_router_subscription() {
    let xb = crossbar();
    let s = connect(&xb.ws, Serializer::MsgPack).await;
    let p = connect(&xb.ws, Serializer::MsgPack).await;
    let topic = unique("test.shared");
    let mut a = s.subscribe(&topic).await.expect("a");
    let mut b = s.subscribe(&topic).await.expect("b");
    assert_eq!(a.id(), b.id());
    p.publish(&topic)
        .args(&(1,))
        .acknowledge(true)
        .await
        .expect("publish");
    for sub in [&mut a, &mut b] {
        let ev = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .expect("in time")
            .expect("open")
            .expect("event");
        assert_eq!(ev.args::<(i32,)>().expect("args"), (1,));
    }
    drop(a);
    p.publish(&topic)
        .args(&(2,))
        .acknowledge(true)
        .await
        .expect("publish");
    let ev = tokio::time::timeout(Duration::from_secs(5), b.next())
        .await
        .expect("in time")
        .expect("open")
        .expect("event");
    assert_eq!(ev.args::<(i32,)>().expect("args"), (2,));
    b.unsubscribe().await.expect("unsubscribe");
}

#[tokio::test]
async fn publisher_exclusion_and_eligibility() {
    let xb = crossbar();
    let a = connect(&xb.ws, Serializer::Json).await;
    let b = connect(&xb.ws, Serializer::Json).await;
    let topic = unique("test.exclusion");
    let mut sub_a = a.subscribe(&topic).await.expect("sub a");
    let mut sub_b = b.subscribe(&topic).await.expect("sub b");
    // Not excluding ourselves: a hears its own event.
    a.publish(&topic)
        .args(&("self",))
        .exclude_me(false)
        .acknowledge(true)
        .await
        .expect("publish");
    let ev = tokio::time::timeout(Duration::from_secs(5), sub_a.next())
        .await
        .expect("in time")
        .expect("open")
        .expect("event");
    assert_eq!(ev.args::<(String,)>().expect("args").0, "self");
    let _ = tokio::time::timeout(Duration::from_secs(5), sub_b.next())
        .await
        .expect("b too");
    // Excluding b by session id: only a (exclude_me false) gets it.
    a.publish(&topic)
        .args(&("not b",))
        .exclude_me(false)
        .exclude(vec![b.id()])
        .acknowledge(true)
        .await
        .expect("publish");
    let ev = tokio::time::timeout(Duration::from_secs(5), sub_a.next())
        .await
        .expect("in time")
        .expect("open")
        .expect("event");
    assert_eq!(ev.args::<(String,)>().expect("args").0, "not b");
    // Eligible b only.
    a.publish(&topic)
        .args(&("only b",))
        .exclude_me(false)
        .eligible(vec![b.id()])
        .acknowledge(true)
        .await
        .expect("publish");
    let ev = tokio::time::timeout(Duration::from_secs(5), sub_b.next())
        .await
        .expect("in time")
        .expect("open")
        .expect("event");
    assert_eq!(ev.args::<(String,)>().expect("args").0, "only b");
    assert!(
        tokio::time::timeout(Duration::from_millis(300), sub_a.next())
            .await
            .is_err(),
        "a got nothing more"
    );
}

#[tokio::test]
async fn every_authentication_method_with_right_and_wrong_credentials() {
    let xb = crossbar();
    let seed =
        std::fs::read_to_string(shared_dir().join("interop/crossbar/cryptosign-dave.seed.hex"))
            .expect("dave's seed");
    let dave = SigningKey::from_hex(&seed).expect("seed");
    assert_eq!(
        dave.public_key_hex(),
        "09f3e2d159356a58ca51812028567614bdaf52c91e6dda99ce67504cd6c870fa"
    );
    let good = [
        ("alice", Credentials::ticket("alice", "secret123")),
        (
            "bob",
            Credentials::wampcra("bob", "prq7+YkJ1/KlW1X0YczMHw=="),
        ),
        ("carol", Credentials::wampcra("carol", "hunter2")),
        ("dave", Credentials::cryptosign("dave", dave)),
    ];
    for (who, creds) in good {
        let s = builder(&xb.ws_auth, Serializer::Json)
            .credentials(creds)
            .connect()
            .await
            .unwrap_or_else(|e| panic!("{who}: {e}"));
        assert_eq!(s.welcome_details().authid().as_deref(), Some(who));
        assert_eq!(
            s.welcome_details().authrole().as_deref(),
            Some("authenticated")
        );
        s.leave().await.expect("leave");
    }
    let bad = [
        Credentials::ticket("alice", "wrong"),
        Credentials::wampcra("bob", "wrong"),
        Credentials::wampcra("carol", "wrong"),
        Credentials::cryptosign("dave", SigningKey::from_seed([1; 32])),
        Credentials::Anonymous,
    ];
    for creds in bad {
        let what = format!("{creds:?}");
        assert!(
            !what.contains("secret123") && !what.contains("wrong"),
            "secrets stay out of Debug: {what}"
        );
        let err = builder(&xb.ws_auth, Serializer::Json)
            .credentials(creds)
            .connect()
            .await
            .expect_err("must be refused");
        assert!(matches!(err, Error::Aborted { .. }), "{what}: {err}");
    }
}

#[tokio::test]
async fn leaving_ends_pending_work_and_later_requests_fail_clearly() {
    let xb = crossbar();
    let s = connect(&xb.ws, Serializer::Json).await;
    let mut sub = s.subscribe(unique("test.leave")).await.expect("subscribe");
    s.leave().await.expect("leave");
    assert!(!s.is_connected());
    let end = tokio::time::timeout(Duration::from_secs(2), sub.next())
        .await
        .expect("stream ends");
    assert!(
        matches!(end, Some(Err(Error::NotConnected(_))) | None),
        "{end:?}"
    );
    let err = s
        .publish("test.after")
        .await
        .expect_err("publishing after leave fails");
    assert!(matches!(err, Error::NotConnected(_)), "{err}");
    let err = s
        .call("test.after")
        .await
        .expect_err("calling after leave fails");
    assert!(matches!(err, Error::NotConnected(_)), "{err}");
}

#[tokio::test]
async fn connection_errors_are_clear() {
    let err = Session::builder("ws://127.0.0.1:1/ws")
        .connect()
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("refused"), "{err}");
    let xb = crossbar();
    let err = builder(&xb.ws, Serializer::Json)
        .realm("no.such.realm")
        .connect()
        .await
        .expect_err("no realm");
    assert!(
        matches!(&err, Error::Aborted { reason, .. } if reason.as_str() == "wamp.error.no_such_realm"),
        "{err}"
    );
}

#[tokio::test]
async fn progressive_call_invocations_need_a_dealer_that_announces_them() {
    // Crossbar.io 26 does not implement progressive call invocations: refused locally,
    // as the spec requires, instead of sending CALL with progress.
    let xb = crossbar();
    let s = connect(&xb.ws, Serializer::Json).await;
    let err = s
        .call(unique("test.stream"))
        .args(&(1,))
        .stream_input()
        .err()
        .expect("refused");
    assert!(err.is(StandardError::FeatureNotSupported), "{err}");
}
