//! Refused logins are slowed: the ABORT for a wrong ticket waits, twice as long for each
//! further failure of the same authid (capped); a connection gets a limited number of
//! failed HELLOs; a correct login, of another authid or of the same one, is never
//! delayed. Measured on tokio's paused clock, not wall time.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::time::Instant;
use wamp::protocol::*;
use wamp::router::{Limits, RealmConfig, Router, UserAuth};
use wamp::transport::Transport;

const SECOND: Duration = Duration::from_secs(1);

async fn router(per_connection: u32) -> Router {
    let realm = RealmConfig::new("realm1")
        .without_anonymous()
        .user(
            "alice",
            "user",
            vec![UserAuth::Ticket("alice-secret".into())],
        )
        .user("bob", "user", vec![UserAuth::Ticket("bob-secret".into())]);
    Router::builder()
        .realm(realm)
        .limits(Limits {
            login_failure_delay: SECOND,
            login_failure_delay_max: 8 * SECOND,
            login_failures_per_connection: per_connection,
            // Longer than any delay here: a slow ABORT must not look like a timeout.
            handshake_timeout: Duration::from_secs(60),
            ..Limits::default()
        })
        .start()
        .await
        .expect("router")
}

async fn send(t: &mut Transport, msg: impl Into<Message>) {
    t.send(msg.into()).await.expect("send");
}

async fn recv(t: &mut Transport) -> Option<Message> {
    t.next().await.map(|m| m.expect("a message"))
}

/// One ticket login on `t`: the answer (WELCOME or ABORT) and how long it took.
async fn login(t: &mut Transport, authid: &str, ticket: &str) -> (Message, Duration) {
    let start = Instant::now();
    send(
        t,
        Hello {
            realm: Uri::from_static("realm1"),
            details: HelloDetails::new()
                .with_authmethods(vec!["ticket".into()])
                .with_authid(authid.into()),
        },
    )
    .await;
    match recv(t).await.expect("CHALLENGE") {
        Message::Challenge(_) => {}
        other => panic!("expected CHALLENGE, got {other:?}"),
    }
    send(
        t,
        Authenticate {
            signature: ticket.into(),
            extra: AuthExtra::new(),
        },
    )
    .await;
    let answer = recv(t).await.expect("WELCOME or ABORT");
    (answer, start.elapsed())
}

fn is_refusal(msg: &Message) -> bool {
    matches!(msg, Message::Abort(a) if a.reason.as_str() == "wamp.error.authentication_failed")
}

#[tokio::test(start_paused = true)]
async fn wrong_tickets_in_a_row_take_at_least_the_configured_delays() {
    let router = router(3).await;
    let start = Instant::now();
    // Three wrong tickets on one connection: 1 s, 2 s, 4 s, then it is closed.
    let mut t = router.local_transport();
    for want in [1, 2, 4] {
        let (answer, took) = login(&mut t, "alice", "guess").await;
        assert!(is_refusal(&answer), "{answer:?}");
        assert!(took >= want * SECOND, "ABORT after {took:?}, want {want} s");
    }
    assert!(recv(&mut t).await.is_none(), "closed after 3 failed HELLOs");
    // The count is the authid's, not the connection's: a new connection goes on doubling,
    // up to the cap.
    for want in [8, 8] {
        let mut t = router.local_transport();
        let (answer, took) = login(&mut t, "alice", "guess").await;
        assert!(is_refusal(&answer), "{answer:?}");
        assert!(took >= want * SECOND, "ABORT after {took:?}, want {want} s");
    }
    assert!(start.elapsed() >= 23 * SECOND, "{:?}", start.elapsed());
    // Unknown authids are slowed too (they share a count of their own).
    let mut t = router.local_transport();
    send(
        &mut t,
        Hello {
            realm: Uri::from_static("realm1"),
            details: HelloDetails::new()
                .with_authmethods(vec!["ticket".into()])
                .with_authid("mallory".into()),
        },
    )
    .await;
    let before = Instant::now();
    let answer = recv(&mut t).await.expect("ABORT");
    assert!(is_refusal(&answer), "{answer:?}");
    assert!(before.elapsed() >= SECOND, "{:?}", before.elapsed());
}

#[tokio::test(start_paused = true)]
async fn correct_logins_are_not_delayed() {
    let router = router(10).await;
    // Alice is being guessed at on another connection, with growing delays.
    let attacker = {
        let mut t = router.local_transport();
        tokio::spawn(async move {
            for _ in 0..5 {
                let (answer, _) = login(&mut t, "alice", "guess").await;
                assert!(is_refusal(&answer), "{answer:?}");
            }
        })
    };
    // Let the attack get going (its first ABORT is out after 1 s).
    tokio::time::sleep(3 * SECOND / 2).await;
    // Bob logs in meanwhile: no delay at all.
    let mut t = router.local_transport();
    let (answer, took) = login(&mut t, "bob", "bob-secret").await;
    assert!(matches!(answer, Message::Welcome(_)), "{answer:?}");
    assert!(took < SECOND / 10, "bob's login took {took:?}");
    attacker.await.expect("attacker");
    // Alice herself, with her real ticket, after 5 failures: no delay either, and her
    // count starts over (the next failure waits the base delay again).
    let mut t = router.local_transport();
    let (answer, took) = login(&mut t, "alice", "alice-secret").await;
    assert!(matches!(answer, Message::Welcome(_)), "{answer:?}");
    assert!(took < SECOND / 10, "alice's login took {took:?}");
    let mut t = router.local_transport();
    let (answer, took) = login(&mut t, "alice", "guess").await;
    assert!(is_refusal(&answer), "{answer:?}");
    assert!(took >= SECOND && took < 2 * SECOND, "{took:?}");
}

#[tokio::test(start_paused = true)]
async fn a_connection_may_retry_after_a_failed_login() {
    let router = router(3).await;
    let mut t = router.local_transport();
    let (answer, _) = login(&mut t, "bob", "typo").await;
    assert!(is_refusal(&answer), "{answer:?}");
    let (answer, took) = login(&mut t, "bob", "bob-secret").await;
    assert!(matches!(answer, Message::Welcome(_)), "{answer:?}");
    assert!(took < SECOND / 10, "{took:?}");
}
