//! A realm: its sessions, its broker and its dealer, behind one lock.
//!
//! Session tasks call into the realm with each message they read; routing decisions are
//! made under the lock and the resulting messages are pushed onto the target sessions'
//! bounded queues (never awaited under the lock). One realm never sees another's
//! sessions, topics or procedures.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::authz::{self, Action, Denied, Permission};
use super::broker::{error, Broker};
use super::dealer::Dealer;
use super::meta;
use super::peer::Peer;
use crate::protocol::{
    Dict, ErrorDetails, ErrorMessage, Id, Message, MessageType, Payload, ResultDetails,
    ResultMessage, Uri, Value,
};

/// Shared realm state.
pub(crate) struct Realm {
    pub(crate) name: Uri,
    roles: Option<HashMap<String, Vec<Permission>>>,
    state: Mutex<RealmState>,
    limits: SessionLimits,
}

/// The per-session limits the broker and dealer enforce (see [`super::Limits`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SessionLimits {
    pub(crate) registrations: usize,
    pub(crate) subscriptions: usize,
    pub(crate) pending_calls: usize,
    pub(crate) invocations_per_callee: usize,
    pub(crate) testaments: usize,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits::from(&super::Limits::default())
    }
}

impl From<&super::Limits> for SessionLimits {
    fn from(l: &super::Limits) -> Self {
        SessionLimits {
            registrations: l.max_registrations_per_session,
            subscriptions: l.max_subscriptions_per_session,
            pending_calls: l.max_pending_calls_per_session,
            invocations_per_callee: l.max_invocations_per_callee,
            testaments: l.max_testaments_per_session,
        }
    }
}

/// The ERROR for a request over one of the [`SessionLimits`]: `key` is the limit's TOML
/// key, `what` says what there would have been too many of.
pub(crate) fn limit_exceeded(
    request_type: MessageType,
    request: Id,
    key: &'static str,
    max: usize,
    what: &str,
) -> Message {
    let mut kwargs = Dict::new();
    kwargs.insert("limit".into(), Value::from(key));
    kwargs.insert("max".into(), Value::from(max as u64));
    ErrorMessage {
        request_type,
        request,
        details: ErrorDetails::new(),
        error: Uri::from_static(super::LIMIT_EXCEEDED),
        payload: Payload::from_values(vec![Value::from(format!("{what} ({key} = {max})"))], kwargs),
    }
    .into()
}

pub(crate) struct RealmState {
    pub(crate) sessions: HashMap<Id, Arc<Peer>>,
    pub(crate) broker: Broker,
    pub(crate) dealer: Dealer,
}

impl Realm {
    pub(crate) fn new(
        name: Uri,
        roles: Option<HashMap<String, Vec<Permission>>>,
        history_limit: usize,
        counters: Arc<super::convert::Counters>,
        limits: SessionLimits,
    ) -> Arc<Self> {
        Arc::new(Realm {
            name,
            roles,
            limits,
            state: Mutex::new(RealmState {
                sessions: HashMap::new(),
                broker: Broker::new(history_limit, limits.subscriptions, counters.clone()),
                dealer: Dealer::new(limits, counters),
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
        let mut state = self.lock();
        let details = meta::session_details(&peer);
        state.sessions.insert(peer.id, peer);
        let RealmState {
            sessions, broker, ..
        } = &mut *state;
        broker.publish_meta(
            "wamp.session.on_join",
            Payload::from_values(vec![Value::Dict(details)], Dict::new()),
            sessions,
        );
    }

    /// Removes a session and everything it had: subscriptions, registrations, calls;
    /// publishes its testaments and `wamp.session.on_leave`.
    pub(crate) fn leave(self: &Arc<Self>, session: Id) {
        let mut state = self.lock();
        let Some(peer) = state.sessions.remove(&session) else {
            return;
        };
        let RealmState {
            sessions,
            broker,
            dealer,
        } = &mut *state;
        for t in peer.take_testaments() {
            broker.deliver(Some(&peer), &t.topic, &t.options, &t.payload, sessions);
        }
        broker.remove_session(session);
        dealer.remove_session(session, sessions);
        let args = vec![
            Value::from(session.get()),
            Value::from(peer.authid.as_str()),
            Value::from(peer.authrole.as_str()),
        ];
        broker.publish_meta(
            "wamp.session.on_leave",
            Payload::from_values(args, Dict::new()),
            sessions,
        );
        Self::publish_pending_meta(&mut state);
    }

    /// Publishes the meta events the broker and dealer recorded.
    fn publish_pending_meta(state: &mut RealmState) {
        let RealmState {
            sessions,
            broker,
            dealer,
        } = state;
        let mut events = std::mem::take(&mut broker.meta);
        events.append(&mut dealer.meta);
        for (topic, payload) in events {
            broker.publish_meta(topic, payload, sessions);
        }
    }

    /// Whether `from` may do `action` on `uri`; if not, answers with the error (unless
    /// the request wants no answer) and returns false.
    fn authorized(
        &self,
        from: &Peer,
        action: Action,
        uri: &Uri,
        disclose_me: bool,
        reply: Option<(MessageType, Id)>,
    ) -> bool {
        match authz::check(
            self.roles.as_ref(),
            &from.authrole,
            action,
            uri.as_str(),
            disclose_me,
        ) {
            Ok(()) => true,
            Err(denied) => {
                if let Some((request_type, request)) = reply {
                    let (uri_err, why) = match denied {
                        Denied::NotAuthorized => (
                            "wamp.error.not_authorized",
                            format!("role {} may not {} {}", from.authrole, action.name(), uri),
                        ),
                        Denied::DiscloseMe => (
                            "wamp.error.option_disallowed.disclose_me",
                            format!("role {} may not disclose itself", from.authrole),
                        ),
                    };
                    from.send(error(request_type, request, uri_err, &why));
                }
                false
            }
        }
    }

    /// Routes one message from an established session.
    pub(crate) fn handle(self: &Arc<Self>, from: &Arc<Peer>, msg: Message) {
        let allowed = match &msg {
            Message::Publish(m) => {
                let ack = m
                    .options
                    .acknowledge()
                    .unwrap_or(false)
                    .then_some((MessageType::Publish, m.request));
                self.authorized(
                    from,
                    Action::Publish,
                    &m.topic,
                    m.options.disclose_me().unwrap_or(false),
                    ack,
                )
            }
            Message::Subscribe(m) => self.authorized(
                from,
                Action::Subscribe,
                &m.topic,
                false,
                Some((MessageType::Subscribe, m.request)),
            ),
            Message::Register(m) => self.authorized(
                from,
                Action::Register,
                &m.procedure,
                false,
                Some((MessageType::Register, m.request)),
            ),
            // Further chunks of a progressive invocation were authorized with the first.
            Message::Call(m) => self.authorized(
                from,
                Action::Call,
                &m.procedure,
                m.options.disclose_me().unwrap_or(false),
                Some((MessageType::Call, m.request)),
            ),
            _ => true,
        };
        if !allowed {
            return;
        }
        let mut state = self.lock();
        if let Message::Call(m) = &msg {
            if meta::is_meta_procedure(m.procedure.as_str()) {
                let max = self.limits.testaments;
                if m.procedure.as_str() == "wamp.session.add_testament"
                    && from.testament_count() >= max
                {
                    from.send(limit_exceeded(
                        MessageType::Call,
                        m.request,
                        "max_testaments_per_session",
                        max,
                        "the session has as many testaments as it may",
                    ));
                    return;
                }
                let reply = match meta::call(&mut state, from, m.procedure.as_str(), &m.payload) {
                    Ok(payload) => ResultMessage {
                        request: m.request,
                        details: ResultDetails::new(),
                        payload,
                    }
                    .into(),
                    Err((uri, why)) => error(MessageType::Call, m.request, uri, &why),
                };
                from.send(reply);
                // Revocations change subscriptions and registrations: their meta events.
                Self::publish_pending_meta(&mut state);
                return;
            }
        }
        let RealmState {
            sessions,
            broker,
            dealer,
        } = &mut *state;
        match msg {
            Message::Publish(m) => broker.publish(from, m, sessions),
            Message::Subscribe(m) => broker.subscribe(from, m),
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
        Self::publish_pending_meta(&mut state);
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
