//! A realm: its sessions, its broker and its dealer, behind one lock.
//!
//! Session tasks call into the realm with each message they read; routing decisions are
//! made under the lock and the resulting messages are pushed onto the target sessions'
//! bounded queues (never awaited under the lock). One realm never sees another's
//! sessions, topics or procedures.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::broker::Broker;
use super::dealer::Dealer;
use super::peer::Peer;
use crate::protocol::{Id, Message, Uri};

/// Shared realm state.
pub(crate) struct Realm {
    pub(crate) name: Uri,
    state: Mutex<RealmState>,
}

pub(crate) struct RealmState {
    pub(crate) sessions: HashMap<Id, Arc<Peer>>,
    pub(crate) broker: Broker,
    pub(crate) dealer: Dealer,
}

impl Realm {
    pub(crate) fn new(name: Uri) -> Arc<Self> {
        Arc::new(Realm {
            name,
            state: Mutex::new(RealmState {
                sessions: HashMap::new(),
                broker: Broker::default(),
                dealer: Dealer::default(),
            }),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, RealmState> {
        // A panic while holding the lock cannot leave routing tables half-updated in a
        // way that matters more than stopping the realm would; keep serving.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn join(&self, peer: Arc<Peer>) {
        self.lock().sessions.insert(peer.id, peer);
    }

    /// Removes a session and everything it had: subscriptions, registrations, calls.
    pub(crate) fn leave(self: &Arc<Self>, session: Id) {
        let mut state = self.lock();
        state.sessions.remove(&session);
        state.broker.remove_session(session);
        let RealmState {
            sessions, dealer, ..
        } = &mut *state;
        dealer.remove_session(session, sessions);
    }

    /// Routes one message from an established session.
    pub(crate) fn handle(self: &Arc<Self>, from: &Arc<Peer>, msg: Message) {
        let mut state = self.lock();
        let RealmState {
            sessions,
            broker,
            dealer,
        } = &mut *state;
        match msg {
            Message::Publish(m) => broker.publish(from, m, sessions),
            Message::Subscribe(m) => broker.subscribe(from, m, sessions),
            Message::Unsubscribe(m) => broker.unsubscribe(from, m),
            Message::Call(m) => dealer.call(self, from, m, sessions),
            Message::Cancel(m) => dealer.cancel(from, m, sessions),
            Message::Register(m) => dealer.register(from, m),
            Message::Unregister(m) => dealer.unregister(from, m),
            Message::Yield(m) => dealer.on_yield(from, m, sessions),
            Message::Error(m) => dealer.on_error(from, m, sessions),
            other => from.kick_out(
                "wamp.error.protocol_violation",
                &format!(
                    "{} is not allowed in an established session",
                    other.message_type()
                ),
            ),
        }
    }

    /// Called by a call's timer: the call took too long.
    pub(crate) fn call_timed_out(&self, callee: Id, invocation: Id) {
        let mut state = self.lock();
        let RealmState {
            sessions, dealer, ..
        } = &mut *state;
        dealer.timed_out(callee, invocation, sessions);
    }
}
