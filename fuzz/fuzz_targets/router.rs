//! The embedded router fed arbitrary message sequences from several sessions at once, over
//! its in-memory transport (no serialization: what arrives is what a peer could send).
//!
//! The script (built by `arbitrary`) has up to three session slots that send messages
//! (IDs picked from what each session was told, URIs from a small vocabulary that makes
//! subscriptions, registrations, calls and publications meet), leave with or without
//! GOODBYE, rejoin, and synchronise (a meta call whose answer shows that everything before
//! it was routed).
//!
//! Invariants:
//! - no panic, in the router's tasks either (libFuzzer's panic hook aborts);
//! - every session's tables are empty once it has left (kicked out, GOODBYE or dropped),
//!   and all of them once everyone has (`Router::fuzz_residue`);
//! - every call is answered: at the end, the sessions still there finish their
//!   progressive inputs and answer every invocation they hold, and then every CALL they
//!   made has had its final RESULT or ERROR;
//! - the router answers each synchronising call (no hang, in virtual time).
#![no_main]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use arbitrary::Arbitrary;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use wamp::protocol::{Id, Message, MessageType};
use wamp::router::{RealmConfig, Router};
use wamp::transport::Transport;
use wamp::Serializer;
use wamp_fuzz::MessageSpec;

const SLOTS: usize = 3;
const MAX_STEPS: usize = 128;
/// Request IDs of the synchronising calls (above what scripts pick, mostly).
const SYNC_BASE: u64 = 1 << 52;

#[derive(Arbitrary, Debug)]
enum Step {
    Send(u8, MessageSpec),
    Leave(u8, bool),
    Join(u8),
    Sync,
}

#[derive(Arbitrary, Debug)]
struct Script {
    steps: Vec<Step>,
    goodbye_at_end: bool,
}

/// One test session: a raw transport to the router and what it has learnt.
struct Peer {
    t: Transport,
    id: Id,
    ids: Vec<u64>,
    /// CALL request IDs without a final answer yet.
    calls: BTreeSet<u64>,
    /// Progressive invocation inputs still open: request ID -> procedure.
    open_inputs: BTreeMap<u64, String>,
    /// INVOCATION request IDs not answered with a final YIELD or ERROR.
    invocations: BTreeSet<u64>,
    next_sync: u64,
}

fn decode(v: serde_json::Value) -> Message {
    Serializer::Json
        .decode(Bytes::from(serde_json::to_vec(&v).expect("json")))
        .expect("a valid message")
}

fn hello() -> Message {
    let features = json!({"features": {
        "progressive_call_results": true, "progressive_call_invocations": true,
        "call_canceling": true, "call_timeout": true, "caller_identification": true,
        "publisher_exclusion": true, "publisher_identification": true,
        "pattern_based_registration": true, "pattern_based_subscription": true,
        "shared_registration": true, "subscriber_blackwhite_listing": true,
    }});
    decode(json!([1, "realm1", {"roles": {
        "caller": features, "callee": features, "publisher": features, "subscriber": features,
    }}]))
}

/// Why a session is over.
struct Gone;

impl Peer {
    async fn join(router: &Router) -> Peer {
        let mut t = router.local_transport();
        t.send(hello()).await.expect("HELLO");
        let id = match t.next().await {
            Some(Ok(Message::Welcome(w))) => w.session,
            other => panic!("expected WELCOME, got {other:?}"),
        };
        Peer {
            t,
            id,
            ids: vec![id.get()],
            calls: BTreeSet::new(),
            open_inputs: BTreeMap::new(),
            invocations: BTreeSet::new(),
            next_sync: SYNC_BASE,
        }
    }

    /// Sends one message, keeping track of calls and invocation answers.
    async fn send(&mut self, msg: Message) -> Result<(), Gone> {
        match &msg {
            Message::Call(m) => {
                let request = m.request.get();
                self.calls.insert(request);
                if m.options.progress() == Some(true) {
                    self.open_inputs
                        .insert(request, m.procedure.as_str().to_owned());
                } else {
                    self.open_inputs.remove(&request);
                }
            }
            Message::Yield(m) if m.options.progress() != Some(true) => {
                self.invocations.remove(&m.request.get());
            }
            Message::Error(m) if m.request_type == MessageType::Invocation => {
                self.invocations.remove(&m.request.get());
            }
            _ => {}
        }
        self.t.send(msg).await.map_err(|_| Gone)
    }

    /// Takes in one message from the router. `Err`: the session is over.
    async fn receive(&mut self, msg: Message) -> Result<(), Gone> {
        wamp_fuzz::ids_in(&msg, &mut self.ids);
        match msg {
            Message::Result(m) if m.details.progress() != Some(true) => {
                self.calls.remove(&m.request.get());
            }
            Message::Error(m) if m.request_type == MessageType::Call => {
                self.calls.remove(&m.request.get());
            }
            Message::Invocation(m) => {
                self.invocations.insert(m.request.get());
            }
            Message::Goodbye(_) => {
                // The router ends the session (wamp.session.kill): answer, as a peer must.
                let _ = self
                    .t
                    .send(decode(json!([6, {}, "wamp.close.goodbye_and_out"])))
                    .await;
                return Err(Gone);
            }
            Message::Abort(_) => return Err(Gone),
            _ => {}
        }
        Ok(())
    }

    /// Makes a meta call and reads everything until its answer: then everything this
    /// session sent before has been routed, and everything routed to it has arrived.
    async fn sync(&mut self) -> Result<(), Gone> {
        self.next_sync += 1;
        let request = self.next_sync;
        self.t
            .send(decode(json!([48, request, {}, "wamp.session.count"])))
            .await
            .map_err(|_| Gone)?;
        loop {
            let msg = tokio::time::timeout(wamp_fuzz::HANG, self.t.next())
                .await
                .expect("the router answers a meta call");
            let answered = match &msg {
                Some(Ok(Message::Result(m))) => m.request.get() == request,
                Some(Ok(Message::Error(m))) => m.request.get() == request,
                Some(Ok(_)) => false,
                Some(Err(_)) | None => return Err(Gone),
            };
            if let Some(Ok(msg)) = msg {
                self.receive(msg).await?;
            }
            if answered {
                return Ok(());
            }
        }
    }
}

/// Lets the router's tasks run for a moment, so that messages are mostly routed in the
/// order the script sends them (a REGISTER before the CALL that follows it); without it
/// every message up to the next await would be routed in whatever order the session tasks
/// happen to run, and scripts would rarely get a call to a callee.
async fn settle() {
    for _ in 0..4 {
        tokio::task::yield_now().await;
    }
}

/// Waits until the router holds nothing for `session` (it removes a session once its
/// task notices the end), and fails with what is left if that does not happen.
async fn assert_left(router: &Router, session: Option<Id>) {
    let deadline = tokio::time::Instant::now() + wamp_fuzz::HANG;
    loop {
        let residue = router.fuzz_residue(session);
        if residue.is_empty() {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("left behind for {session:?}: {residue:#?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn leave(router: &Router, mut peer: Peer, goodbye: bool) {
    if goodbye {
        let _ = peer
            .t
            .send(decode(json!([6, {}, "wamp.close.close_realm"])))
            .await;
        // Until the router's GOODBYE, or the end.
        while let Ok(Some(Ok(msg))) = tokio::time::timeout(wamp_fuzz::HANG, peer.t.next()).await {
            if matches!(msg, Message::Goodbye(_) | Message::Abort(_)) {
                break;
            }
        }
    }
    let id = peer.id;
    drop(peer);
    assert_left(router, Some(id)).await;
}

async fn run(script: Script) {
    let router = Router::builder()
        .realm(RealmConfig::new("realm1"))
        .start()
        .await
        .expect("router");
    let mut slots: Vec<Option<Peer>> = Vec::new();
    for _ in 0..SLOTS {
        slots.push(Some(Peer::join(&router).await));
    }
    for step in script.steps.into_iter().take(MAX_STEPS) {
        match step {
            Step::Send(slot, spec) => {
                let slot = usize::from(slot) % SLOTS;
                let Some(peer) = slots[slot].as_mut() else {
                    continue;
                };
                let Some(msg) = spec.build(&peer.ids) else {
                    continue;
                };
                if peer.send(msg).await.is_err() {
                    let peer = slots[slot].take().expect("present");
                    leave(&router, peer, false).await;
                }
                settle().await;
            }
            Step::Leave(slot, goodbye) => {
                if let Some(peer) = slots[usize::from(slot) % SLOTS].take() {
                    leave(&router, peer, goodbye).await;
                }
            }
            Step::Join(slot) => {
                let slot = &mut slots[usize::from(slot) % SLOTS];
                if slot.is_none() {
                    *slot = Some(Peer::join(&router).await);
                }
            }
            Step::Sync => sync_all(&router, &mut slots).await,
        }
    }

    // Everyone still there finishes what it started, then every call must be answered.
    sync_all(&router, &mut slots).await;
    for slot in slots.iter_mut() {
        let Some(peer) = slot.as_mut() else { continue };
        for (request, procedure) in std::mem::take(&mut peer.open_inputs) {
            let last = decode(json!([48, request, {}, procedure]));
            let _ = peer.send(last).await;
        }
    }
    sync_all(&router, &mut slots).await;
    for slot in slots.iter_mut() {
        let Some(peer) = slot.as_mut() else { continue };
        for request in std::mem::take(&mut peer.invocations) {
            let _ = peer.send(decode(json!([70, request, {}]))).await;
        }
    }
    sync_all(&router, &mut slots).await;
    for peer in slots.iter().flatten() {
        assert!(
            peer.calls.is_empty(),
            "session {} never got an answer to calls {:?}",
            peer.id,
            peer.calls
        );
    }
    for peer in slots.into_iter().flatten() {
        leave(&router, peer, script.goodbye_at_end).await;
    }
    assert_left(&router, None).await;
}

/// Synchronises every session twice: the first round routes what each has sent, the
/// second collects what that routing sent to each (other sessions' messages are routed
/// in no particular order with respect to one session's synchronising call).
async fn sync_all(router: &Router, slots: &mut [Option<Peer>]) {
    for _ in 0..2 {
        for slot in slots.iter_mut() {
            if let Some(peer) = slot.as_mut() {
                if peer.sync().await.is_err() {
                    let peer = slot.take().expect("present");
                    leave(router, peer, false).await;
                }
            }
        }
    }
}

fuzz_target!(|script: Script| {
    wamp_fuzz::runtime().block_on(run(script));
});
