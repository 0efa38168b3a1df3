//! Outbound queues are bounded in bytes: a subscriber that stops reading while large
//! events keep coming is cut off (ABORT `wamp.error.slow_consumer`) once its queue holds
//! more than `Limits::outbound_queue_bytes`, long before the message-count limits would
//! notice; the publisher and a subscriber that keeps reading get everything.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use wamp::protocol::*;
use wamp::router::{Limits, RealmConfig, Router};
use wamp::Session;

const EVENTS: usize = 300;
const EVENT_SIZE: usize = 64 * 1024;

#[tokio::test]
async fn a_stalled_subscriber_is_cut_off_by_bytes_and_nobody_else_notices() {
    let router = Router::builder()
        .realm(RealmConfig::new("realm1"))
        .limits(Limits {
            outbound_queue_bytes: 1024 * 1024,
            // Only the byte limit may cut anyone here.
            outbound_queue: 1_000_000,
            outbound_hard_limit: 1_000_000,
            slow_consumer_grace: Duration::from_secs(3600),
            ..Limits::default()
        })
        .start()
        .await
        .expect("router");

    // The stalled subscriber: joins, subscribes, then never reads again.
    let mut stalled = router.local_transport();
    stalled
        .send(
            Hello {
                realm: Uri::from_static("realm1"),
                details: HelloDetails::new(),
            }
            .into(),
        )
        .await
        .expect("hello");
    let welcome = stalled.next().await.expect("open").expect("welcome");
    assert!(matches!(welcome, Message::Welcome(_)), "{welcome:?}");
    stalled
        .send(
            Subscribe {
                request: Id::MIN,
                options: SubscribeOptions::new(),
                topic: Uri::from_static("com.flood"),
            }
            .into(),
        )
        .await
        .expect("subscribe");
    let subscribed = stalled.next().await.expect("open").expect("subscribed");
    assert!(
        matches!(subscribed, Message::Subscribed(_)),
        "{subscribed:?}"
    );

    // A subscriber that keeps reading.
    let healthy = Session::builder("memory")
        .connect_with(router.local_transport())
        .await
        .expect("healthy session");
    let mut sub = healthy.subscribe("com.flood").await.expect("subscribe");
    let reader = tokio::spawn(async move {
        let mut n = 0usize;
        while n < EVENTS {
            let event = tokio::time::timeout(Duration::from_secs(20), sub.next())
                .await
                .expect("events keep coming")
                .expect("open")
                .expect("event");
            let (data, i): (wamp::Binary, usize) = event.args().expect("args");
            assert_eq!((data.0.len(), i), (EVENT_SIZE, n));
            n += 1;
        }
        n
    });

    let publisher = Session::builder("memory")
        .connect_with(router.local_transport())
        .await
        .expect("publisher");
    assert_eq!(router.session_count(), 3);
    let data = wamp::Binary(vec![7; EVENT_SIZE]);
    for i in 0..EVENTS {
        publisher
            .publish("com.flood")
            .args(&(data.clone(), i))
            .acknowledge(true)
            .await
            .expect("every publication is acknowledged");
    }
    assert_eq!(reader.await.expect("reader"), EVENTS);
    assert_eq!(
        router.session_count(),
        2,
        "the stalled subscriber was cut off"
    );

    // What the stalled subscriber finds when it reads again: some events, then ABORT.
    let mut events = 0;
    let end = loop {
        match tokio::time::timeout(Duration::from_secs(10), stalled.next()).await {
            Ok(Some(Ok(Message::Event(_)))) => events += 1,
            Ok(Some(Ok(other))) => break other,
            other => panic!("no ABORT after {events} events: {other:?}"),
        }
    };
    assert!(
        matches!(&end, Message::Abort(a) if a.reason.as_str() == "wamp.error.slow_consumer"),
        "{end:?}"
    );
    assert!(
        events < EVENTS,
        "{events} events reached the stalled subscriber"
    );
    // The publisher is still fine.
    publisher
        .publish("com.flood.after")
        .acknowledge(true)
        .await
        .expect("publisher still joined");
}
