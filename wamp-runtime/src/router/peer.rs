//! A joined session as the router sees it: who it is, what it supports, and the bounded
//! queue its writer task drains.

use std::sync::atomic::{AtomicU64, Ordering};

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
    outbound: mpsc::Sender<Message>,
    /// Set when the router must drop the session (slow consumer, kill, shutdown).
    pub(crate) kick: Notify,
    kicked: std::sync::Mutex<Option<Kick>>,
    invocation_ids: AtomicU64,
    /// Testaments to publish when the session ends: (detached scope, destroyed scope).
    testaments: std::sync::Mutex<(Vec<Testament>, Vec<Testament>)>,
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
        outbound: mpsc::Sender<Message>,
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

    /// Queues a message for this session. A session whose queue is full is not keeping
    /// up: rather than buffering without bound or blocking everyone else, the router
    /// ends it with ABORT `wamp.error.slow_consumer` (see [`super::Limits::outbound_queue`]).
    pub(crate) fn send(&self, msg: Message) {
        match self.outbound.try_send(msg) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.kick_out(
                    "wamp.error.slow_consumer",
                    "the session did not read its messages fast enough",
                );
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// Queues the final message of a session (ABORT, GOODBYE), best effort: if the queue
    /// is full the connection is closed without it.
    pub(crate) fn send_last(&self, msg: Message) {
        let _ = self.outbound.try_send(msg);
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
