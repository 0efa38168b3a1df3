//! A joined session as the router sees it: who it is, what it supports, and the bounded
//! queue its writer task drains.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Notify};

use crate::protocol::{options::role_has_feature, Dict, Id, Message, Role};

/// One joined session.
#[derive(Debug)]
pub(crate) struct Peer {
    pub(crate) id: Id,
    pub(crate) authid: String,
    pub(crate) authrole: String,
    pub(crate) authmethod: String,
    /// The transport kind, for the meta API (`websocket`, `rawsocket`, ...).
    pub(crate) transport: String,
    pub(crate) roles: Dict,
    outbound: Outbox,
    /// Set when the router must drop the session (slow consumer, kill, shutdown).
    pub(crate) kick: Notify,
    kicked: std::sync::Mutex<Option<Kick>>,
    invocation_ids: AtomicU64,
    /// Testaments to publish when the session ends: (detached scope, destroyed scope).
    testaments: std::sync::Mutex<(Vec<Testament>, Vec<Testament>)>,
}

/// A session's outbound queue and the slow-consumer policy.
///
/// The queue itself is unbounded so that a burst never blocks the router or the
/// publisher; what is bounded is how long and how far a session may fall behind. Above
/// `high_water` queued messages a grace period starts; a session still above it after
/// `grace`, or above `hard_limit` at any time, is ended (`wamp.error.slow_consumer`).
/// The depth is counted in messages; the payload bytes are shared with other sessions'
/// copies of the same event.
pub(crate) struct Outbox {
    tx: mpsc::UnboundedSender<Message>,
    depth: Arc<AtomicUsize>,
    over_since: std::sync::Mutex<Option<Instant>>,
    high_water: usize,
    hard_limit: usize,
    grace: Duration,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("depth", &self.depth.load(Ordering::Relaxed))
            .finish()
    }
}

/// The writer's end of an [`Outbox`].
pub(crate) struct OutboxReceiver {
    rx: mpsc::UnboundedReceiver<Message>,
    depth: Arc<AtomicUsize>,
}

impl OutboxReceiver {
    /// The next message, waiting for one.
    pub(crate) async fn recv(&mut self) -> Option<Message> {
        let msg = self.rx.recv().await?;
        self.depth.fetch_sub(1, Ordering::Relaxed);
        Some(msg)
    }

    /// The next message if one is queued.
    pub(crate) fn try_recv(&mut self) -> Option<Message> {
        let msg = self.rx.try_recv().ok()?;
        self.depth.fetch_sub(1, Ordering::Relaxed);
        Some(msg)
    }
}

impl Outbox {
    pub(crate) fn new(limits: &super::Limits) -> (Outbox, OutboxReceiver) {
        let (tx, rx) = mpsc::unbounded_channel();
        let depth = Arc::new(AtomicUsize::new(0));
        let outbox = Outbox {
            tx,
            depth: depth.clone(),
            over_since: std::sync::Mutex::new(None),
            high_water: limits.outbound_queue.max(1),
            hard_limit: limits.outbound_hard_limit.max(limits.outbound_queue.max(1)),
            grace: limits.slow_consumer_grace,
        };
        (outbox, OutboxReceiver { rx, depth })
    }

    fn push(&self, msg: Message) -> Result<(), &'static str> {
        let depth = self.depth.fetch_add(1, Ordering::Relaxed) + 1;
        if depth > self.hard_limit {
            self.depth.fetch_sub(1, Ordering::Relaxed);
            return Err("the session fell too far behind reading its messages");
        }
        if let Ok(mut since) = self.over_since.lock() {
            if depth > self.high_water {
                let now = Instant::now();
                match *since {
                    None => *since = Some(now),
                    Some(t) if now.duration_since(t) > self.grace => {
                        return Err("the session did not read its messages fast enough");
                    }
                    Some(_) => {}
                }
            } else if since.is_some() {
                *since = None;
            }
        }
        // A closed queue means the session is ending anyway.
        let _ = self.tx.send(msg);
        Ok(())
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
        transport: String,
        roles: Dict,
        outbound: Outbox,
    ) -> Self {
        Peer {
            id,
            authid,
            authrole,
            authmethod,
            transport,
            roles,
            outbound,
            kick: Notify::new(),
            kicked: std::sync::Mutex::new(None),
            invocation_ids: AtomicU64::new(0),
            testaments: Default::default(),
        }
    }

    /// Queues a message for this session, never blocking the sender. A session that does
    /// not keep up is ended with ABORT `wamp.error.slow_consumer` (see [`Outbox`]).
    pub(crate) fn send(&self, msg: Message) {
        if let Err(why) = self.outbound.push(msg) {
            self.kick_out("wamp.error.slow_consumer", why);
        }
    }

    /// Queues the final message of a session (ABORT, GOODBYE).
    pub(crate) fn send_last(&self, msg: Message) {
        let _ = self.outbound.tx.send(msg);
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
        let n =
            self.invocation_ids.fetch_add(1, Ordering::Relaxed) % crate::protocol::id::MAX_ID + 1;
        Id::new(n).unwrap_or(Id::MIN)
    }

    /// Whether the session announced `feature` for `role`.
    pub(crate) fn has_feature(&self, role: Role, feature: &str) -> bool {
        role_has_feature(&self.roles, role, feature)
    }
}
