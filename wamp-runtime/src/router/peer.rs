//! A joined session as the router sees it: who it is, what it supports, and the bounded
//! queue its session task drains into the transport.

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use tokio::sync::Notify;

use crate::protocol::{options::role_has_feature, Dict, Id, Message, Role};
use crate::serializer::Serializer;

/// One joined session.
#[derive(Debug)]
pub(crate) struct Peer {
    pub(crate) id: Id,
    pub(crate) authid: String,
    pub(crate) authrole: String,
    pub(crate) authmethod: String,
    /// The transport kind, for the meta API (`websocket`, `rawsocket`, ...).
    pub(crate) transport: &'static str,
    /// The serializer payloads must be in for this session; `None` when its transport
    /// takes messages, not bytes (in-memory sessions read any serializer's payloads).
    pub(crate) serializer: Option<Serializer>,
    /// The client features the router consults (bits of [`CLIENT_FEATURES`]), read once
    /// from HELLO (the whole roles dictionary is not kept: it would be most of an idle
    /// session's memory).
    features: u8,
    outbound: Outbox,
    /// Set when the router must drop the session (slow consumer, kill, shutdown).
    pub(crate) kick: Notify,
    kicked: std::sync::Mutex<Option<Kick>>,
    invocation_ids: crate::protocol::IdSequence,
    /// Testaments to publish when the session ends: (detached scope, destroyed scope).
    testaments: std::sync::Mutex<(Vec<Testament>, Vec<Testament>)>,
}

/// The client features the router needs to know about (role, feature).
const CLIENT_FEATURES: [(Role, &str); 5] = [
    (Role::Callee, "progressive_call_results"),
    (Role::Callee, "progressive_call_invocations"),
    (Role::Callee, "call_canceling"),
    (Role::Callee, "registration_revocation"),
    (Role::Subscriber, "subscription_revocation"),
];

/// A session's outbound queue and the slow-consumer policy.
///
/// The queue is a plain `VecDeque` behind a mutex: pushing never blocks the router or
/// the publisher, the writer takes everything queued in one swap, and an idle session's
/// queue holds no memory at all. What is bounded is how far and how long a session may
/// fall behind: above `high_water` queued messages a grace period starts; a session still
/// above it after `grace`, or above `hard_limit` at any time, is ended
/// (`wamp.error.slow_consumer`). Payload bytes are shared between the copies of an event.
///
/// Bytes are bounded too: a message that would take the queue above `max_bytes` (counted
/// with [`Message::approx_size`]; a shared event counts in full in every queue, since a
/// stalled queue keeps it alive) ends the session at once, unless the queue is empty, so
/// that any message the transport accepts can be delivered. The writer holds at most one
/// batch taken from the queue, so a session pins at most about twice `max_bytes`.
pub(crate) struct Outbox {
    shared: Arc<OutboxShared>,
    high_water: usize,
    hard_limit: usize,
    max_bytes: usize,
    grace: Duration,
}

struct OutboxShared {
    queue: std::sync::Mutex<OutboxQueue>,
    /// The session task, woken when something is queued.
    ready: AtomicWaker,
}

#[derive(Default)]
struct OutboxQueue {
    messages: VecDeque<Outgoing>,
    /// The approximate size of `messages`.
    bytes: usize,
    /// When the queue went above the high-water mark.
    over_since: Option<Instant>,
    /// The session is over: the writer finishes what is queued and stops.
    closed: bool,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").finish_non_exhaustive()
    }
}

/// The session task's end of an [`Outbox`].
pub(crate) struct OutboxReceiver {
    shared: Arc<OutboxShared>,
}

impl OutboxReceiver {
    /// Everything queued, or `Pending` (and a wakeup once something is queued) if nothing
    /// is; `Ready(None)` once the session is over and the queue drained.
    pub(crate) fn poll_batch(&mut self, cx: &mut Context<'_>) -> Poll<Option<VecDeque<Outgoing>>> {
        // Register first: a push after the check below then wakes us.
        self.shared.ready.register(cx.waker());
        let mut q = self.shared.queue.lock().unwrap_or_else(|p| p.into_inner());
        if !q.messages.is_empty() {
            q.over_since = None;
            q.bytes = 0;
            return Poll::Ready(Some(std::mem::take(&mut q.messages)));
        }
        if q.closed {
            return Poll::Ready(None);
        }
        Poll::Pending
    }
}

impl Outbox {
    pub(crate) fn new(limits: &super::Limits) -> (Outbox, OutboxReceiver) {
        let shared = Arc::new(OutboxShared {
            queue: Default::default(),
            ready: AtomicWaker::new(),
        });
        let outbox = Outbox {
            shared: shared.clone(),
            high_water: limits.outbound_queue.max(1),
            hard_limit: limits.outbound_hard_limit.max(limits.outbound_queue.max(1)),
            max_bytes: limits.outbound_queue_bytes,
            grace: limits.slow_consumer_grace,
        };
        (outbox, OutboxReceiver { shared })
    }

    fn push(&self, msg: Outgoing) -> Result<(), &'static str> {
        {
            let mut q = self.shared.queue.lock().unwrap_or_else(|p| p.into_inner());
            if q.closed {
                return Ok(());
            }
            let depth = q.messages.len() + 1;
            if depth > self.hard_limit {
                return Err("the session fell too far behind reading its messages");
            }
            let size = msg.approx_size();
            if depth > 1 && q.bytes.saturating_add(size) > self.max_bytes {
                return Err("the session fell too many bytes behind reading its messages");
            }
            if depth > self.high_water {
                let now = Instant::now();
                match q.over_since {
                    None => q.over_since = Some(now),
                    Some(t) if now.duration_since(t) > self.grace => {
                        return Err("the session did not read its messages fast enough");
                    }
                    Some(_) => {}
                }
            }
            q.messages.push_back(msg);
            q.bytes = q.bytes.saturating_add(size);
            if depth > 1 {
                // Not the first since the session task last emptied the queue: that first
                // push already woke it, and it takes everything when it runs. (Waking per
                // message made the wakers' cache line bounce between threads on fan-out.)
                return Ok(());
            }
        }
        self.shared.ready.wake();
        Ok(())
    }

    /// Queues a message even past the limits (the last one of a session).
    fn push_last(&self, msg: Message) {
        let mut q = self.shared.queue.lock().unwrap_or_else(|p| p.into_inner());
        q.bytes = q.bytes.saturating_add(msg.approx_size());
        q.messages.push_back(Outgoing::Message(msg));
        drop(q);
        self.shared.ready.wake();
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        self.shared
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .closed = true;
        self.shared.ready.wake();
    }
}

/// What waits in a session's outbound queue.
pub(crate) enum Outgoing {
    Message(Message),
    /// The same message for many sessions (an event for every subscriber of a
    /// subscription): encoded at most once per serializer, whoever sends it first.
    Shared(Arc<SharedMessage>),
}

impl Outgoing {
    /// About how many bytes it holds (see [`Message::approx_size`]).
    fn approx_size(&self) -> usize {
        match self {
            Outgoing::Message(m) => m.approx_size(),
            Outgoing::Shared(s) => s.size,
        }
    }
}

/// A message shared between the queues of many sessions, with its encodings.
pub(crate) struct SharedMessage {
    message: Message,
    /// `message.approx_size()`, computed once for all the queues it goes into.
    size: usize,
    /// Per serializer (indexed by RawSocket serializer ID - 1): the encoded frame, or
    /// `None` if it could not be encoded in that format.
    frames: [OnceLock<Option<Bytes>>; 3],
}

impl SharedMessage {
    pub(crate) fn new(message: Message) -> Self {
        SharedMessage {
            size: message.approx_size(),
            message,
            frames: Default::default(),
        }
    }

    /// The message, for transports that take messages rather than frames.
    pub(crate) fn message(&self) -> &Message {
        &self.message
    }

    /// The message encoded with `serializer`; `None` if it cannot be (logged once).
    pub(crate) fn frame(&self, serializer: Serializer) -> Option<&Bytes> {
        let slot = usize::from(serializer.rawsocket_id()).saturating_sub(1);
        self.frames
            .get(slot)?
            .get_or_init(|| match serializer.encode_bytes(&self.message) {
                Ok(frame) => Some(frame),
                Err(e) => {
                    tracing::warn!(%serializer, error = %e, "dropping a message that cannot be encoded");
                    None
                }
            })
            .as_ref()
    }
}

/// How the router ends a session it wants gone.
#[derive(Clone, Debug)]
pub(crate) struct Kick {
    pub(crate) reason: String,
    pub(crate) message: String,
    /// GOODBYE (a meta API kill) rather than ABORT (a protocol problem).
    pub(crate) goodbye: bool,
}

/// An event to publish on the session's behalf when it ends.
#[derive(Clone, Debug)]
pub(crate) struct Testament {
    pub(crate) topic: crate::protocol::Uri,
    pub(crate) payload: crate::protocol::Payload,
    pub(crate) options: crate::protocol::PublishOptions,
}

impl Peer {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: Id,
        authid: String,
        authrole: String,
        authmethod: String,
        transport: &'static str,
        serializer: Option<Serializer>,
        roles: Dict,
        outbound: Outbox,
    ) -> Self {
        Peer {
            id,
            authid,
            authrole,
            authmethod,
            transport,
            serializer,
            features: CLIENT_FEATURES
                .iter()
                .enumerate()
                .filter(|(_, (role, f))| role_has_feature(&roles, *role, f))
                .fold(0, |acc, (i, _)| acc | (1 << i)),
            outbound,
            kick: Notify::new(),
            kicked: std::sync::Mutex::new(None),
            invocation_ids: Default::default(),
            testaments: Default::default(),
        }
    }

    /// Queues a message for this session, never blocking the sender. A session that does
    /// not keep up is ended with ABORT `wamp.error.slow_consumer` (see [`Outbox`]).
    pub(crate) fn send(&self, msg: Message) {
        self.enqueue(Outgoing::Message(msg));
    }

    /// Queues a message shared with other sessions (see [`SharedMessage`]).
    pub(crate) fn send_shared(&self, msg: Arc<SharedMessage>) {
        self.enqueue(Outgoing::Shared(msg));
    }

    fn enqueue(&self, msg: Outgoing) {
        if let Err(why) = self.outbound.push(msg) {
            self.kick_out("wamp.error.slow_consumer", why);
        }
    }

    /// Queues the final message of a session (ABORT, GOODBYE).
    pub(crate) fn send_last(&self, msg: Message) {
        self.outbound.push_last(msg);
    }

    /// Asks the session's task to end the session with an ABORT carrying `reason`.
    pub(crate) fn kick_out(&self, reason: &str, message: &str) {
        self.end(Kick {
            reason: reason.to_owned(),
            message: message.to_owned(),
            goodbye: false,
        });
    }

    /// Closes the session with GOODBYE `reason` (the meta API's kill).
    pub(crate) fn kill(&self, reason: &str, message: &str) {
        self.end(Kick {
            reason: reason.to_owned(),
            message: message.to_owned(),
            goodbye: true,
        });
    }

    fn end(&self, kick: Kick) {
        if let Ok(mut k) = self.kicked.lock() {
            if k.is_none() {
                *k = Some(kick);
            }
        }
        self.kick.notify_one();
    }

    /// Why the session was ended by the router, if it was.
    pub(crate) fn kicked(&self) -> Option<Kick> {
        self.kicked.lock().ok().and_then(|k| k.clone())
    }

    /// Adds a testament to the detached or destroyed scope.
    pub(crate) fn add_testament(&self, t: Testament, detached: bool) {
        if let Ok(mut ts) = self.testaments.lock() {
            if detached {
                ts.0.push(t)
            } else {
                ts.1.push(t)
            }
        }
    }

    /// Testaments waiting, both scopes.
    pub(crate) fn testament_count(&self) -> usize {
        self.testaments
            .lock()
            .map(|ts| ts.0.len() + ts.1.len())
            .unwrap_or(0)
    }

    /// Removes the testaments of a scope; returns how many there were.
    pub(crate) fn flush_testaments(&self, detached: bool) -> usize {
        self.testaments
            .lock()
            .map(|mut ts| {
                if detached {
                    std::mem::take(&mut ts.0).len()
                } else {
                    std::mem::take(&mut ts.1).len()
                }
            })
            .unwrap_or(0)
    }

    /// All testaments, detached scope first, as the spec orders them.
    pub(crate) fn take_testaments(&self) -> Vec<Testament> {
        self.testaments
            .lock()
            .map(|mut ts| {
                let (mut detached, destroyed) = std::mem::take(&mut *ts);
                detached.extend(destroyed);
                detached
            })
            .unwrap_or_default()
    }

    /// The next INVOCATION request ID (session scope, router to callee).
    pub(crate) fn next_invocation_id(&self) -> Id {
        self.invocation_ids.next()
    }

    /// Whether the session announced `feature` for `role`.
    pub(crate) fn has_feature(&self, role: Role, feature: &str) -> bool {
        CLIENT_FEATURES
            .iter()
            .position(|(r, f)| *r == role && *f == feature)
            .is_some_and(|i| self.features & (1 << i) != 0)
    }
}
