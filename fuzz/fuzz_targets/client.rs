//! The client driver against a scripted, arbitrary router: a fake peer on the in-memory
//! transport that answers HELLO with whatever the script says (usually a WELCOME) and then
//! sends arbitrary messages (IDs picked from what the client sent, so that answers often
//! match real requests), waits, and finally closes the connection.
//!
//! Meanwhile the client calls (plain, progressive, with a timeout), subscribes, registers
//! a procedure, publishes with acknowledgement and leaves, as the script says.
//!
//! Invariants: no panic; once the router is gone, every request the client made resolves
//! (a result or an error), every subscription stream ends, and the session is closed, in
//! bounded (virtual) time.
#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use futures_util::{FutureExt, SinkExt, StreamExt};
use libfuzzer_sys::fuzz_target;
use tokio::task::JoinSet;
use wamp::client::SessionState;
use wamp::protocol::Message;
use wamp::transport::{memory, Transport};
use wamp::{Payload, Session};
use wamp_fuzz::{MessageSpec, UriPick};

const MAX_STEPS: usize = 64;
const MAX_ACTIONS: usize = 8;

#[derive(Arbitrary, Debug)]
enum Action {
    Call(UriPick, Option<u8>),
    ProgressiveCall(UriPick),
    Subscribe(UriPick),
    Register(UriPick),
    Publish(UriPick, bool),
    Leave,
}

#[derive(Arbitrary, Debug)]
enum RouterStep {
    Send(MessageSpec),
    /// Lets the clock run (timeouts fire).
    Wait(u8),
    Close,
}

#[derive(Arbitrary, Debug)]
struct Script {
    /// `None`: a plain WELCOME; otherwise the first answer to HELLO.
    first: Option<MessageSpec>,
    actions: Vec<Action>,
    steps: Vec<RouterStep>,
}

fn welcome() -> Message {
    let features = serde_json::json!({"features": {
        "progressive_call_results": true, "progressive_call_invocations": true,
        "call_canceling": true, "call_timeout": true, "pattern_based_registration": true,
        "shared_registration": true, "publisher_exclusion": true,
    }});
    let text = serde_json::json!([2, 77, {"roles": {"broker": features, "dealer": features}}]);
    wamp::Serializer::Json
        .decode(serde_json::to_vec(&text).expect("json").into())
        .expect("a valid WELCOME")
}

/// The IDs the client used so far, read off whatever it has sent.
fn drain(t: &mut Transport, ids: &mut Vec<u64>) -> bool {
    loop {
        match t.next().now_or_never() {
            Some(Some(Ok(msg))) => wamp_fuzz::ids_in(&msg, ids),
            Some(_) => return false,
            None => return true,
        }
    }
}

async fn fake_router(mut t: Transport, first: Option<MessageSpec>, steps: Vec<RouterStep>) {
    let mut ids = Vec::new();
    match t.next().await {
        Some(Ok(Message::Hello(_))) => {}
        _ => return,
    }
    let answer = match first {
        None => Some(welcome()),
        Some(spec) => spec.build(&ids),
    };
    if let Some(answer) = answer {
        if t.send(answer).await.is_err() {
            return;
        }
    }
    for step in steps.into_iter().take(MAX_STEPS) {
        // Let the client's tasks run, then see what they sent.
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
        if !drain(&mut t, &mut ids) {
            return;
        }
        match step {
            RouterStep::Send(spec) => {
                if let Some(msg) = spec.build(&ids) {
                    if t.send(msg).await.is_err() {
                        return;
                    }
                }
            }
            RouterStep::Wait(ms) => {
                tokio::time::sleep(Duration::from_millis(u64::from(ms) * 40)).await
            }
            RouterStep::Close => return,
        }
    }
}

async fn act(session: Session, action: Action) {
    match action {
        Action::Call(uri, timeout) => {
            let mut call = session.call(uri.as_str()).args(&(1, "x"));
            if let Some(s) = timeout {
                call = call.timeout(Duration::from_millis(u64::from(s) * 100));
            }
            let _ = call.await;
        }
        Action::ProgressiveCall(uri) => {
            let mut results = session.call(uri.as_str()).progressive();
            while let Some(r) = results.next().await {
                if r.is_err() {
                    break;
                }
            }
        }
        Action::Subscribe(uri) => {
            if let Ok(mut sub) = session.subscribe(uri.as_str()).await {
                while sub.next().await.is_some() {}
            }
        }
        Action::Register(uri) => {
            let registered = session
                .register(uri.as_str(), |inv| async move { inv.payload })
                .await;
            if let Ok(registration) = registered {
                closed(&session).await;
                drop(registration);
            }
        }
        Action::Publish(uri, ack) => {
            let _ = session
                .publish(uri.as_str())
                .payload(Payload::empty())
                .acknowledge(ack)
                .await;
        }
        Action::Leave => {
            let _ = session.leave().await;
        }
    }
}

/// Waits until the session is closed.
async fn closed(session: &Session) {
    let mut state = session.state();
    loop {
        if matches!(*state.borrow_and_update(), SessionState::Closed(_)) {
            return;
        }
        if state.changed().await.is_err() {
            return;
        }
    }
}

async fn run(script: Script) {
    let (client_end, router_end) = memory::pair();
    let router = tokio::spawn(fake_router(router_end, script.first, script.steps));
    let connected = tokio::time::timeout(
        wamp_fuzz::HANG,
        Session::builder("memory")
            .realm("realm1")
            .connect_timeout(Duration::from_secs(5))
            .connect_with(client_end),
    )
    .await
    .expect("joining ends in time");
    let Ok(session) = connected else {
        let _ = router.await;
        return;
    };
    let mut tasks = JoinSet::new();
    for action in script.actions.into_iter().take(MAX_ACTIONS) {
        tasks.spawn(act(session.clone(), action));
    }
    // The fake router's script runs out and it hangs up (dropping its end).
    tokio::time::timeout(wamp_fuzz::HANG, router)
        .await
        .expect("the fake router's script ends")
        .expect("the fake router does not panic");
    tokio::time::timeout(wamp_fuzz::HANG, async {
        while let Some(done) = tasks.join_next().await {
            done.expect("a client task does not panic");
        }
        closed(&session).await;
    })
    .await
    .expect("every request resolves and the session closes once the router is gone");
}

fuzz_target!(|script: Script| {
    wamp_fuzz::runtime().block_on(run(script));
});
