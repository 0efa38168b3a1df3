//! The API generated code sits on: errors, URIs, progressive results, callee results,
//! lifecycle of registrations and subscriptions. Through the embedded router, in-process
//! and over sockets.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use wamp::client::{Error, StandardError, WampError};
use wamp::router::{RealmConfig, Router};
use wamp::{Serializer, Session};

async fn router() -> Router {
    Router::builder()
        .realm(RealmConfig::new("realm1"))
        .websocket("127.0.0.1:0".parse().expect("addr"))
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

async fn remote(router: &Router, serializer: Serializer) -> Session {
    Session::builder(router.listeners()[0].url())
        .serializer(serializer)
        .connect()
        .await
        .expect("session over WebSocket")
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Problem {
    field: String,
    limit: u32,
}

/// A callee's typed error arguments reach callers on every serializer; a callee that
/// reads its arguments with `?` answers `wamp.error.invalid_argument` with the reason.
#[tokio::test]
async fn callee_errors_with_typed_arguments_and_question_mark() {
    let router = router().await;
    let callee = local(&router).await;
    let _reg = callee
        .register("com.seam.checked", |inv| async move {
            let (n,): (u32,) = inv.args()?;
            if n > 10 {
                return Err(WampError::new(wamp::Uri::from_static("com.seam.too_big"))
                    .with_args(&("too big", n))
                    .and_then(|e| {
                        e.with_kwargs(&Problem {
                            field: "n".into(),
                            limit: 10,
                        })
                    })
                    .map_err(|_| WampError::from(StandardError::RuntimeError))?);
            }
            inv.result(&(n,))
        })
        .await
        .expect("register");
    for ser in Serializer::ALL {
        let caller = remote(&router, ser).await;
        let err = caller
            .call("com.seam.checked")
            .args(&(11,))
            .await
            .expect_err("too big");
        let wamp = err.wamp().expect("an ERROR");
        assert!(wamp.is("com.seam.too_big"), "{ser}: {wamp}");
        assert_eq!(wamp.message().as_deref(), Some("too big"), "{ser}");
        assert_eq!(
            wamp.payload.args::<(String, u32)>().expect("args"),
            ("too big".to_owned(), 11)
        );
        assert_eq!(
            wamp.payload.kwargs::<Problem>().expect("kwargs"),
            Problem {
                field: "n".into(),
                limit: 10
            },
            "{ser}"
        );
        let err = caller
            .call("com.seam.checked")
            .args(&("eleven",))
            .await
            .expect_err("not a number");
        assert!(err.is(StandardError::InvalidArgument), "{ser}: {err}");
        let reason = err.wamp().and_then(WampError::message).expect("a reason");
        assert!(reason.contains("arguments"), "{reason}");
        caller.leave().await.expect("leave");
    }
}

/// The client's own deadline reads as `wamp.error.timeout`, like the router's.
#[tokio::test]
async fn a_client_side_timeout_is_the_standard_timeout() {
    let router = router().await;
    let callee = local(&router).await;
    let _reg = callee
        .register("com.seam.slow", |inv| async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(inv.payload)
        })
        .await
        .expect("register");
    let caller = local(&router).await;
    let err = caller
        .call("com.seam.slow")
        .timeout(Duration::from_millis(50))
        .cancel_mode(wamp::protocol::CancelMode::Kill)
        .await
        .expect_err("times out");
    assert!(matches!(err, Error::Timeout(_)), "{err}");
    assert!(err.is(StandardError::Timeout), "{err}");
    assert_eq!(err.kind(), Some(StandardError::Timeout));
}

/// `const` URIs go to every session method, patterns included; text is still checked.
#[tokio::test]
async fn const_uris_everywhere_a_uri_is_taken() {
    use futures_util::StreamExt;
    use wamp::protocol::MatchPolicy;
    use wamp::Uri;
    const ECHO: Uri = Uri::from_static("com.seam.echo");
    const TOPIC: Uri = Uri::from_static("com.seam.topic");
    const PREFIX: Uri = Uri::from_static("com.seam.");
    let router = router().await;
    let session = local(&router).await;
    let _reg = session
        .register(ECHO, |inv| async move { Ok(inv.payload) })
        .await
        .expect("register");
    let mut exact = session.subscribe(&TOPIC).await.expect("subscribe");
    let mut prefix = session
        .subscribe(PREFIX)
        .match_policy(MatchPolicy::Prefix)
        .await
        .expect("subscribe prefix");
    let other = local(&router).await;
    let r = other.call(&ECHO).args(&(1,)).await.expect("call");
    assert_eq!(r.args::<(i32,)>().expect("args"), (1,));
    other
        .publish(TOPIC)
        .args(&(2,))
        .acknowledge(true)
        .await
        .expect("publish");
    for sub in [&mut exact, &mut prefix] {
        let ev = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .expect("in time")
            .expect("open")
            .expect("event");
        assert_eq!(ev.topic, TOPIC);
    }
    // Text keeps being checked, for the kind the match policy asks for.
    let err = other.call("com..echo").await.expect_err("invalid");
    assert!(matches!(err, Error::InvalidUri(_)), "{err}");
    let err = session
        .subscribe(String::from("com.seam."))
        .await
        .expect_err("a prefix is not a topic");
    assert!(matches!(err, Error::InvalidUri(_)), "{err}");
}

/// Progressive results and the final one are told apart by the item, so they can be
/// read as different types.
#[tokio::test]
async fn progressive_items_say_progress_or_final() {
    use futures_util::StreamExt;
    use wamp::client::Progressive;
    let router = router().await;
    let callee = local(&router).await;
    let _reg = callee
        .register("com.seam.count", |inv| async move {
            for i in 0..3u32 {
                assert!(inv.progress(inv.result(&(i,))?));
            }
            inv.result(&("done", 3))
        })
        .await
        .expect("register");
    let caller = remote(&router, Serializer::Cbor).await;
    let items: Vec<Progressive<u32, (String, u32)>> = caller
        .call("com.seam.count")
        .progressive()
        .map(|item| {
            item.expect("result")
                .map_progress(|r| r.args::<(u32,)>().map(|(i,)| i))
                .map_final(|r| r.args::<(String, u32)>())
                .transpose()
                .expect("typed")
        })
        .collect()
        .await;
    assert_eq!(
        items,
        vec![
            Progressive::Progress(0),
            Progressive::Progress(1),
            Progressive::Progress(2),
            Progressive::Final(("done".to_owned(), 3)),
        ]
    );
    assert!(items[3].is_final() && items[0].is_progress());
    assert_eq!(items[3].clone().into_final(), Some(("done".to_owned(), 3)));
}

/// A reader that does not keep up loses the newest progressive results beyond its buffer,
/// is told how many, and still gets the final result after the ones kept.
#[tokio::test]
async fn progressive_results_beyond_the_buffer_are_dropped_but_never_the_final_one() {
    use futures_util::StreamExt;
    use std::sync::Arc;
    use wamp::client::Progressive;
    let router = router().await;
    let callee = local(&router).await;
    let done = Arc::new(tokio::sync::Notify::new());
    let notify = done.clone();
    let _reg = callee
        .register("com.seam.many", move |inv| {
            let done = notify.clone();
            async move {
                for i in 0..10u32 {
                    inv.progress(inv.result(&(i,))?);
                }
                done.notify_one();
                inv.result(&("final",))
            }
        })
        .await
        .expect("register");
    let _ping = callee
        .register(
            "com.seam.ping",
            |_inv| async move { Ok(wamp::Payload::empty()) },
        )
        .await
        .expect("register");
    let caller = local(&router).await;
    let mut stream = caller
        .call("com.seam.many")
        .progress_buffer(3)
        .progressive();
    done.notified().await;
    // The callee answers the ping after its final YIELD: once the ping's result is back,
    // every result of the progressive call has reached the caller's session.
    caller.call("com.seam.ping").await.expect("ping");
    assert_eq!(stream.dropped(), 7);
    let mut seen = Vec::new();
    while let Some(item) = stream.next().await {
        seen.push(
            item.expect("result")
                .map_progress(|r| r.args::<(u32,)>().expect("progress").0)
                .map_final(|r| r.args::<(String,)>().expect("final").0),
        );
    }
    assert_eq!(
        seen,
        vec![
            Progressive::Progress(0),
            Progressive::Progress(1),
            Progressive::Progress(2),
            Progressive::Final("final".to_owned()),
        ]
    );
    assert_eq!(stream.dropped(), 7);
}

/// A subscriber that does not keep up loses the newest events beyond its buffer, is told
/// how many, and still gets the item that ends its stream. Another local subscription to
/// the same topic has its own buffer.
#[tokio::test]
async fn events_beyond_the_buffer_are_dropped_and_counted_but_never_the_end() {
    use futures_util::StreamExt;
    let router = router().await;
    let subscriber = local(&router).await;
    let mut slow = subscriber
        .subscribe("com.seam.flood")
        .buffer(4)
        .await
        .expect("subscribe");
    let mut fast = subscriber
        .subscribe("com.seam.flood")
        .await
        .expect("subscribe");
    let publisher = local(&router).await;
    for i in 0..10u32 {
        publisher
            .publish("com.seam.flood")
            .args(&(i,))
            .acknowledge(true)
            .await
            .expect("publish");
    }
    for i in 0..10u32 {
        let ev = tokio::time::timeout(Duration::from_secs(5), fast.next())
            .await
            .expect("in time")
            .expect("open")
            .expect("event");
        assert_eq!(ev.args::<(u32,)>().expect("args"), (i,));
    }
    // A round trip after the events: the session has handled every one of them.
    let _ = subscriber.call("com.seam.nobody").await;
    assert_eq!(slow.dropped(), 6);
    assert_eq!(fast.dropped(), 0);
    subscriber.leave().await.expect("leave");
    let mut kept = Vec::new();
    let mut end = None;
    while let Some(item) = slow.next().await {
        match item {
            Ok(ev) => kept.push(ev.args::<(u32,)>().expect("args").0),
            Err(e) => end = Some(e),
        }
    }
    assert_eq!(kept, vec![0, 1, 2, 3]);
    assert!(matches!(end, Some(Error::NotConnected(_))), "{end:?}");
}

/// Handlers may return a payload, nothing, typed arguments, or a `Result` of those.
#[tokio::test]
async fn handlers_return_any_into_result() {
    use wamp::client::{Args, ArgsKw, Kwargs};
    let router = router().await;
    let callee = local(&router).await;
    let _unit = callee
        .register("com.seam.unit", |_inv| async move {})
        .await
        .expect("register");
    let _typed = callee
        .register("com.seam.typed", |_inv| async move { Args(("v", 2)) })
        .await
        .expect("register");
    // Only ever an error: the closure names no result type.
    let _refuse = callee
        .register("com.seam.refuse", |_inv| async move {
            Err(WampError::from(StandardError::NotAuthorized))
        })
        .await
        .expect("register");
    let _args = callee
        .register("com.seam.args", |inv| async move {
            let (a, b): (i64, i64) = inv.args()?;
            inv.result(&(a + b,))
        })
        .await
        .expect("register");
    let _kwargs = callee
        .register("com.seam.kwargs", |_inv| async move {
            Kwargs(Problem {
                field: "x".into(),
                limit: 3,
            })
        })
        .await
        .expect("register");
    let _both = callee
        .register("com.seam.both", |_inv| async move {
            ArgsKw(
                ("a", 1),
                Problem {
                    field: "y".into(),
                    limit: 4,
                },
            )
        })
        .await
        .expect("register");
    let _payload = callee
        .register("com.seam.payload", |inv| async move { inv.payload })
        .await
        .expect("register");
    // The common case, unchanged: a closure whose `Ok` names no error type.
    let _plain = callee
        .register("com.seam.plain", |inv| async move { Ok(inv.payload) })
        .await
        .expect("register");
    for ser in Serializer::ALL {
        let caller = remote(&router, ser).await;
        let r = caller.call("com.seam.unit").await.expect("unit");
        assert!(r.payload.is_empty(), "{ser}");
        let r = caller
            .call("com.seam.args")
            .args(&(2, 3))
            .await
            .expect("args");
        assert_eq!(r.args::<(i64,)>().expect("args"), (5,), "{ser}");
        let err = caller
            .call("com.seam.args")
            .args(&("x",))
            .await
            .expect_err("bad");
        assert!(err.is(StandardError::InvalidArgument), "{ser}: {err}");
        let r = caller.call("com.seam.typed").await.expect("typed");
        assert_eq!(r.args::<(String, i32)>().expect("args"), ("v".into(), 2));
        let err = caller.call("com.seam.refuse").await.expect_err("refused");
        assert!(err.is(StandardError::NotAuthorized), "{ser}: {err}");
        let r = caller.call("com.seam.kwargs").await.expect("kwargs");
        assert_eq!(
            r.kwargs::<Problem>().expect("kwargs"),
            Problem {
                field: "x".into(),
                limit: 3
            }
        );
        let r = caller.call("com.seam.both").await.expect("both");
        assert_eq!(r.args::<(String, i32)>().expect("args"), ("a".into(), 1));
        assert_eq!(r.kwargs::<Problem>().expect("kwargs").limit, 4);
        for uri in ["com.seam.payload", "com.seam.plain"] {
            let r = caller.call(uri).args(&(9,)).await.expect("echo");
            assert_eq!(r.args::<(i32,)>().expect("args"), (9,), "{ser} {uri}");
        }
        caller.leave().await.expect("leave");
    }
}

/// `send_progress` waits for room instead of dropping: every progressive result arrives,
/// in order, however many the handler sends.
#[tokio::test]
async fn send_progress_delivers_every_result_in_order() {
    use futures_util::StreamExt;
    use wamp::client::{Invocation, Progressive};
    const N: u32 = 1000;
    let router = router().await;
    let callee = remote(&router, Serializer::MsgPack).await;
    let _reg = callee
        .register("com.seam.stream", |inv| async move {
            for i in 0..N {
                let sent = inv.send_progress(inv.result(&(i,))?).await;
                assert!(sent, "progress {i}");
            }
            Ok(wamp::Payload::empty())
        })
        .await
        .expect("register");
    let caller = local(&router).await;
    let mut stream = caller
        .call("com.seam.stream")
        .progress_buffer(N as usize)
        .progressive();
    let mut next = 0;
    while let Some(item) = stream.next().await {
        match item.expect("result") {
            Progressive::Progress(r) => {
                assert_eq!(r.args::<(u32,)>().expect("args"), (next,));
                next += 1;
            }
            Progressive::Final(r) => assert!(r.payload.is_empty()),
        }
    }
    assert_eq!(next, N);
    assert_eq!(stream.dropped(), 0);
    assert_eq!(Invocation::PROGRESS_QUEUE, 64);
}

/// A registration and a subscription say why they ended: the router revoked them.
#[tokio::test]
async fn revoked_registrations_and_subscriptions_say_so() {
    use futures_util::StreamExt;
    use wamp::client::EndReason;
    let router = router().await;
    let admin = local(&router).await;
    let client = remote(&router, Serializer::Json).await;
    let reg = client
        .register("com.seam.revoked", |inv| async move { Ok(inv.payload) })
        .await
        .expect("register");
    let mut sub = client
        .subscribe("com.seam.revoked")
        .await
        .expect("subscribe");
    assert_eq!(reg.end_reason(), None);
    admin
        .call("wamp.registration.remove_callee")
        .args(&(reg.id().get(), client.id().get(), "moved"))
        .await
        .expect("revoke registration");
    let ended = tokio::time::timeout(Duration::from_secs(5), reg.ended())
        .await
        .expect("ended in time");
    assert_eq!(ended, EndReason::Revoked(Some("moved".into())));
    assert_eq!(reg.end_reason(), Some(ended));
    admin
        .call("wamp.subscription.remove_subscriber")
        .args(&(sub.id().get(), client.id().get(), "closed"))
        .await
        .expect("revoke subscription");
    let item = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("in time");
    assert!(
        matches!(&item, Some(Err(Error::Revoked(r))) if r == "closed"),
        "{item:?}"
    );
    assert_eq!(
        sub.end_reason(),
        Some(&EndReason::Revoked(Some("closed".into())))
    );
    assert!(sub.next().await.is_none());
    assert!(client.is_connected(), "the session goes on");
}

/// When the session is over, registrations and subscriptions say so.
#[tokio::test]
async fn the_end_of_the_session_ends_registrations_and_subscriptions() {
    use futures_util::StreamExt;
    use wamp::client::EndReason;
    let router = router().await;
    let admin = local(&router).await;
    let client = remote(&router, Serializer::Cbor).await;
    let reg = client
        .register("com.seam.closing", |inv| async move { Ok(inv.payload) })
        .await
        .expect("register");
    let mut sub = client
        .subscribe("com.seam.closing")
        .await
        .expect("subscribe");
    admin
        .call("wamp.session.kill")
        .args(&(client.id().get(),))
        .await
        .expect("kill");
    let ended = tokio::time::timeout(Duration::from_secs(5), reg.ended())
        .await
        .expect("ended in time");
    assert!(
        matches!(&ended, EndReason::SessionClosed(r) if r.contains("closed the session")),
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
    assert!(sub.next().await.is_none());
}
