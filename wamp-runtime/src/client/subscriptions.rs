//! The session's subscriptions: one table that owns the four maps it needs and keeps them
//! consistent, with the one path for going offline, restoring after a reconnect, and
//! ending.
//!
//! Local subscriptions (one per [`Subscription`](super::Subscription) handle) to the same
//! topic with the same match policy share one router subscription ([`SubKey`]). A router
//! subscription is *pending* from SUBSCRIBE to SUBSCRIBED, then *active* under the router's
//! ID. Handles refer to theirs by key and local ID, which survive reconnects: while
//! offline, active subscriptions are kept under placeholder IDs and subscribed again,
//! with the same event streams, once reconnected.

use std::collections::HashMap;

use super::command::{EventSink, IdReply, RequestIds, SubKey, UnitReply};
use super::error::{Error, WampError};
use super::types::{EndReason, Event};
use crate::protocol::{Id, Message, Subscribe, SubscribeOptions, Unsubscribe};

/// See the module documentation.
#[derive(Default)]
pub(crate) struct Subscriptions {
    /// SUBSCRIBEs sent and not answered yet, by request ID.
    pending: HashMap<Id, Pending>,
    pending_keys: HashMap<SubKey, Id>,
    /// Router subscriptions, by the router's ID (a placeholder while offline).
    active: HashMap<Id, Active>,
    active_keys: HashMap<SubKey, Id>,
    /// UNSUBSCRIBEs whose caller waits for the answer, by request ID.
    unsubscribing: HashMap<Id, UnitReply>,
}

/// One router subscription and the local streams that share it.
struct Active {
    key: SubKey,
    options: SubscribeOptions,
    locals: Vec<(u64, EventSink)>,
}

struct Pending {
    key: SubKey,
    options: SubscribeOptions,
    locals: Vec<(u64, EventSink)>,
    /// Callers waiting for the ID (none when re-subscribing after a reconnect).
    replies: Vec<IdReply>,
}

impl Subscriptions {
    /// A new local subscription: it joins the router subscription to its key (active or
    /// pending), or the SUBSCRIBE to send is returned.
    pub(crate) fn subscribe(
        &mut self,
        key: SubKey,
        options: SubscribeOptions,
        local: u64,
        events: EventSink,
        reply: IdReply,
        ids: &RequestIds,
    ) -> Option<Message> {
        if let Some(id) = self.active_keys.get(&key).copied() {
            if let Some(sub) = self.active.get_mut(&id) {
                sub.locals.push((local, events));
                let _ = reply.send(Ok(id));
                return None;
            }
        }
        if let Some(request) = self.pending_keys.get(&key).copied() {
            if let Some(p) = self.pending.get_mut(&request) {
                p.locals.push((local, events));
                p.replies.push(reply);
                return None;
            }
        }
        let request = ids.next();
        let msg = Subscribe {
            request,
            options: options.clone(),
            topic: key.topic.clone(),
        };
        self.pending_keys.insert(key.clone(), request);
        self.pending.insert(
            request,
            Pending {
                key,
                options,
                locals: vec![(local, events)],
                replies: vec![reply],
            },
        );
        Some(msg.into())
    }

    /// SUBSCRIBED: the pending subscription is active under the router's ID. Local
    /// subscriptions whose stream is gone meanwhile (a handle dropped while it was being
    /// subscribed again, a subscribe abandoned before its answer) are left out; when none
    /// is left, the UNSUBSCRIBE to send is returned.
    pub(crate) fn subscribed(
        &mut self,
        request: Id,
        subscription: Id,
        ids: &RequestIds,
    ) -> Option<Message> {
        let pending = self.pending.remove(&request)?;
        self.pending_keys.remove(&pending.key);
        let sub = self.active.entry(subscription).or_insert_with(|| Active {
            key: pending.key.clone(),
            options: pending.options.clone(),
            locals: Vec::new(),
        });
        sub.locals.extend(
            pending
                .locals
                .into_iter()
                .filter(|(_, sink)| !sink.is_closed()),
        );
        if sub.locals.is_empty() {
            self.active.remove(&subscription);
            for reply in pending.replies {
                let _ = reply.send(Err(Error::NotConnected(Some(
                    "the subscription was dropped".into(),
                ))));
            }
            return Some(
                Unsubscribe {
                    request: ids.next(),
                    subscription,
                }
                .into(),
            );
        }
        for reply in pending.replies {
            let _ = reply.send(Ok(subscription));
        }
        self.active_keys.insert(pending.key, subscription);
        None
    }

    /// An ERROR answering a SUBSCRIBE: the callers get it; streams that were being
    /// subscribed again after a reconnect end with it. `false` if the request is not ours.
    pub(crate) fn subscribe_failed(&mut self, request: Id, error: &WampError) -> bool {
        let Some(p) = self.pending.remove(&request) else {
            return false;
        };
        self.pending_keys.remove(&p.key);
        for reply in p.replies {
            let _ = reply.send(Err(Error::Wamp(error.clone())));
        }
        for (_, sink) in p.locals {
            sink.end(EndReason::RestoreFailed(error.clone()));
        }
        true
    }

    /// A local subscription ends: when it was the last one for its router subscription,
    /// the UNSUBSCRIBE to send is returned (and `reply` waits for its answer); otherwise
    /// `reply` is answered now.
    pub(crate) fn unsubscribe(
        &mut self,
        key: &SubKey,
        local: u64,
        reply: Option<UnitReply>,
        ids: &RequestIds,
    ) -> Option<Message> {
        let Some(subscription) = self.remove_local(key, local) else {
            if let Some(r) = reply {
                let _ = r.send(Ok(()));
            }
            return None;
        };
        let request = ids.next();
        if let Some(r) = reply {
            self.unsubscribing.insert(request, r);
        }
        Some(
            Unsubscribe {
                request,
                subscription,
            }
            .into(),
        )
    }

    /// A local subscription ends while offline: removed here, nothing to send.
    pub(crate) fn unsubscribe_offline(
        &mut self,
        key: &SubKey,
        local: u64,
        reply: Option<UnitReply>,
    ) {
        self.remove_local(key, local);
        if let Some(r) = reply {
            let _ = r.send(Ok(()));
        }
    }

    /// UNSUBSCRIBED answering our request.
    pub(crate) fn unsubscribed(&mut self, request: Id) {
        if let Some(reply) = self.unsubscribing.remove(&request) {
            let _ = reply.send(Ok(()));
        }
    }

    /// An ERROR answering an UNSUBSCRIBE. `false` if the request is not ours.
    pub(crate) fn unsubscribe_failed(&mut self, request: Id, error: &WampError) -> bool {
        match self.unsubscribing.remove(&request) {
            Some(reply) => {
                let _ = reply.send(Err(Error::Wamp(error.clone())));
                true
            }
            None => false,
        }
    }

    /// The router revoked a subscription: its streams end, saying why.
    pub(crate) fn revoked(&mut self, subscription: Id, reason: Option<String>) {
        if let Some(sub) = self.active.remove(&subscription) {
            self.active_keys.remove(&sub.key);
            let reason = EndReason::Revoked(reason);
            for (_, sink) in sub.locals {
                sink.end(reason.clone());
            }
        }
    }

    /// Delivers an EVENT to the local subscriptions that share its router subscription.
    pub(crate) fn event(&self, m: crate::protocol::Event) {
        let Some(sub) = self.active.get(&m.subscription) else {
            return;
        };
        let topic = m.details.topic().unwrap_or_else(|| sub.key.topic.clone());
        let event = Event {
            subscription: m.subscription,
            publication: m.publication,
            topic,
            payload: m.payload,
            details: m.details,
        };
        if let [(_, only)] = sub.locals.as_slice() {
            only.push(event);
        } else {
            for (_, sink) in &sub.locals {
                sink.push(event.clone());
            }
        }
    }

    /// The connection is gone but will come back: waiting callers fail with `err`,
    /// subscriptions are kept (those being subscribed again, under placeholder IDs).
    pub(crate) fn go_offline(&mut self, err: &dyn Fn() -> Error, ids: &RequestIds) {
        for (_, reply) in self.unsubscribing.drain() {
            let _ = reply.send(Err(err()));
        }
        // Subscribes the router never answered: their callers fail, the streams already
        // handed out (re-subscriptions) are kept for the next connection.
        for (_, p) in self.pending.drain() {
            for reply in p.replies {
                let _ = reply.send(Err(err()));
            }
            if !p.locals.is_empty() {
                let placeholder = ids.next();
                self.active.insert(
                    placeholder,
                    Active {
                        key: p.key,
                        options: p.options,
                        locals: p.locals,
                    },
                );
            }
        }
        self.pending_keys.clear();
    }

    /// After a reconnect: every subscription becomes pending again; the SUBSCRIBEs to send.
    pub(crate) fn restore(&mut self, ids: &RequestIds) -> Vec<Message> {
        self.active_keys.clear();
        let active: Vec<Active> = self.active.drain().map(|(_, s)| s).collect();
        let mut messages = Vec::with_capacity(active.len());
        for sub in active {
            let request = ids.next();
            messages.push(
                Subscribe {
                    request,
                    options: sub.options.clone(),
                    topic: sub.key.topic.clone(),
                }
                .into(),
            );
            self.pending_keys.insert(sub.key.clone(), request);
            self.pending.insert(
                request,
                Pending {
                    key: sub.key,
                    options: sub.options,
                    locals: sub.locals,
                    replies: Vec::new(),
                },
            );
        }
        messages
    }

    /// The session is over: waiting callers fail with `err`, every stream ends with `end`.
    pub(crate) fn fail(&mut self, err: &dyn Fn() -> Error, end: &dyn Fn() -> EndReason) {
        for (_, p) in self.pending.drain() {
            for reply in p.replies {
                let _ = reply.send(Err(err()));
            }
            for (_, sink) in p.locals {
                sink.end(end());
            }
        }
        for (_, sub) in self.active.drain() {
            for (_, sink) in sub.locals {
                sink.end(end());
            }
        }
        for (_, reply) in self.unsubscribing.drain() {
            let _ = reply.send(Err(err()));
        }
        self.pending_keys.clear();
        self.active_keys.clear();
    }

    /// Removes one local subscription. When it was the last one for its router
    /// subscription, that is removed too and its router ID returned.
    fn remove_local(&mut self, key: &SubKey, local: u64) -> Option<Id> {
        let id = match self.active_keys.get(key) {
            Some(id) => *id,
            // Offline, a subscription kept under a placeholder has no key entry.
            None => *self.active.iter().find(|(_, s)| &s.key == key)?.0,
        };
        let sub = self.active.get_mut(&id)?;
        sub.locals.retain(|(l, _)| *l != local);
        if !sub.locals.is_empty() {
            return None;
        }
        self.active.remove(&id);
        self.active_keys.remove(key);
        Some(id)
    }
}
