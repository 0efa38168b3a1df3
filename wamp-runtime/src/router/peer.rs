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
    pub(crate) roles: Dict,
    outbound: mpsc::Sender<Message>,
    /// Set when the router must drop the session (slow consumer, kill, shutdown).
    pub(crate) kick: Notify,
    kicked: std::sync::Mutex<Option<(String, String)>>,
    invocation_ids: AtomicU64,
}

impl Peer {
    pub(crate) fn new(
        id: Id,
        authid: String,
        authrole: String,
        roles: Dict,
        outbound: mpsc::Sender<Message>,
    ) -> Self {
        Peer {
            id,
            authid,
            authrole,
            roles,
            outbound,
            kick: Notify::new(),
            kicked: std::sync::Mutex::new(None),
            invocation_ids: AtomicU64::new(0),
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
        if let Ok(mut k) = self.kicked.lock() {
            if k.is_none() {
                *k = Some((reason.to_owned(), message.to_owned()));
            }
        }
        self.kick.notify_one();
    }

    /// Why the session was kicked out, if it was.
    pub(crate) fn kicked(&self) -> Option<(String, String)> {
        self.kicked.lock().ok().and_then(|k| k.clone())
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
