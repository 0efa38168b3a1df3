//! The broker: subscriptions (exact, prefix, wildcard), publications, exclusion and
//! eligibility, publisher disclosure, event retention.

use std::collections::HashMap;
use std::sync::Arc;

use super::matching::matches;
use super::peer::Peer;
use crate::protocol::*;

struct Subscription {
    id: Id,
    topic: Uri,
    policy: MatchPolicy,
    subscribers: Vec<Id>,
}

/// A retained event: the last one published with `retain` on its topic.
struct Retained {
    topic: Uri,
    publication: Id,
    details: EventDetails,
    payload: Payload,
}

#[derive(Default)]
pub(crate) struct Broker {
    subscriptions: HashMap<Id, Subscription>,
    exact: HashMap<String, Id>,
    patterns: HashMap<(String, &'static str), Id>,
    by_session: HashMap<Id, Vec<Id>>,
    retained: HashMap<String, Retained>,
    next_id: u64,
}

fn policy_key(p: MatchPolicy) -> &'static str {
    p.as_str()
}

pub(crate) fn error(
    request_type: MessageType,
    request: Id,
    uri: &'static str,
    message: &str,
) -> Message {
    ErrorMessage {
        request_type,
        request,
        details: ErrorDetails::new(),
        error: Uri::from_static(uri),
        payload: if message.is_empty() {
            Payload::empty()
        } else {
            Payload::from_values(vec![message.into()], Dict::new())
        },
    }
    .into()
}

impl Broker {
    pub(crate) fn subscribe(
        &mut self,
        from: &Arc<Peer>,
        m: Subscribe,
        sessions: &HashMap<Id, Arc<Peer>>,
    ) {
        let policy = m.options.match_policy().unwrap_or(MatchPolicy::Exact);
        let topic = m.topic.as_str().to_owned();
        let existing = match policy {
            MatchPolicy::Exact => self.exact.get(&topic).copied(),
            _ => self
                .patterns
                .get(&(topic.clone(), policy_key(policy)))
                .copied(),
        };
        let id = match existing {
            Some(id) => id,
            None => {
                self.next_id += 1;
                let id = Id::new(self.next_id).unwrap_or(Id::MIN);
                self.subscriptions.insert(
                    id,
                    Subscription {
                        id,
                        topic: m.topic.clone(),
                        policy,
                        subscribers: Vec::new(),
                    },
                );
                match policy {
                    MatchPolicy::Exact => self.exact.insert(topic.clone(), id),
                    _ => self
                        .patterns
                        .insert((topic.clone(), policy_key(policy)), id),
                };
                id
            }
        };
        if let Some(sub) = self.subscriptions.get_mut(&id) {
            if !sub.subscribers.contains(&from.id) {
                sub.subscribers.push(from.id);
                self.by_session.entry(from.id).or_default().push(id);
            }
        }
        from.send(
            Subscribed {
                request: m.request,
                subscription: id,
            }
            .into(),
        );
        if m.options.get_retained().unwrap_or(false) {
            self.send_retained(from, id, policy, &topic);
        }
        let _ = sessions;
    }

    fn send_retained(&self, to: &Peer, subscription: Id, policy: MatchPolicy, pattern: &str) {
        for (topic, r) in &self.retained {
            if matches(policy, pattern, topic) {
                let mut details = r.details.clone().with_retained(true);
                if policy != MatchPolicy::Exact {
                    details = details.with_topic(r.topic.clone());
                }
                to.send(
                    Event {
                        subscription,
                        publication: r.publication,
                        details,
                        payload: r.payload.clone(),
                    }
                    .into(),
                );
            }
        }
    }

    pub(crate) fn unsubscribe(&mut self, from: &Arc<Peer>, m: Unsubscribe) {
        if self.remove_subscriber(from.id, m.subscription) {
            if let Some(list) = self.by_session.get_mut(&from.id) {
                list.retain(|s| *s != m.subscription);
            }
            from.send(
                Unsubscribed {
                    request: m.request.get(),
                    details: None,
                }
                .into(),
            );
        } else {
            from.send(error(
                MessageType::Unsubscribe,
                m.request,
                "wamp.error.no_such_subscription",
                "",
            ));
        }
    }

    fn remove_subscriber(&mut self, session: Id, subscription: Id) -> bool {
        let Some(sub) = self.subscriptions.get_mut(&subscription) else {
            return false;
        };
        let before = sub.subscribers.len();
        sub.subscribers.retain(|s| *s != session);
        let removed = sub.subscribers.len() != before;
        if sub.subscribers.is_empty() {
            let key = sub.topic.as_str().to_owned();
            match sub.policy {
                MatchPolicy::Exact => self.exact.remove(&key),
                p => self.patterns.remove(&(key, policy_key(p))),
            };
            self.subscriptions.remove(&subscription);
        }
        removed
    }

    pub(crate) fn remove_session(&mut self, session: Id) {
        for sub in self.by_session.remove(&session).unwrap_or_default() {
            self.remove_subscriber(session, sub);
        }
    }

    pub(crate) fn publish(
        &mut self,
        from: &Arc<Peer>,
        m: Publish,
        sessions: &HashMap<Id, Arc<Peer>>,
    ) {
        let publication = Id::random();
        let topic = m.topic.as_str();
        let opts = &m.options;
        let exclude_me = opts.exclude_me().unwrap_or(true);
        let exclude = opts.exclude().unwrap_or_default();
        let exclude_authid = opts.exclude_authid().unwrap_or_default();
        let exclude_authrole = opts.exclude_authrole().unwrap_or_default();
        let eligible = opts.eligible();
        let eligible_authid = opts.eligible_authid();
        let eligible_authrole = opts.eligible_authrole();
        let mut base = EventDetails::new();
        if opts.disclose_me().unwrap_or(false) {
            base = base
                .with_publisher(from.id)
                .with_publisher_authid(from.authid.clone())
                .with_publisher_authrole(from.authrole.clone());
        }
        let receives = |peer: &Peer| {
            let excluded = (peer.id == from.id && exclude_me)
                || exclude.contains(&peer.id)
                || exclude_authid.contains(&peer.authid)
                || exclude_authrole.contains(&peer.authrole);
            let eligible = eligible.as_ref().is_none_or(|e| e.contains(&peer.id))
                && eligible_authid
                    .as_ref()
                    .is_none_or(|e| e.contains(&peer.authid))
                && eligible_authrole
                    .as_ref()
                    .is_none_or(|e| e.contains(&peer.authrole));
            eligible && !excluded
        };
        let deliver = |sub: &Subscription| {
            let details = if sub.policy == MatchPolicy::Exact {
                base.clone()
            } else {
                base.clone().with_topic(m.topic.clone())
            };
            for sid in &sub.subscribers {
                if let Some(peer) = sessions.get(sid) {
                    if receives(peer) {
                        peer.send(
                            Event {
                                subscription: sub.id,
                                publication,
                                details: details.clone(),
                                payload: m.payload.clone(),
                            }
                            .into(),
                        );
                    }
                }
            }
        };
        if let Some(sub) = self
            .exact
            .get(topic)
            .and_then(|id| self.subscriptions.get(id))
        {
            deliver(sub);
        }
        for id in self.patterns.values() {
            if let Some(sub) = self.subscriptions.get(id) {
                if matches(sub.policy, sub.topic.as_str(), topic) {
                    deliver(sub);
                }
            }
        }
        if opts.retain().unwrap_or(false) {
            self.retained.insert(
                topic.to_owned(),
                Retained {
                    topic: m.topic.clone(),
                    publication,
                    details: base,
                    payload: m.payload.clone(),
                },
            );
        }
        if opts.acknowledge().unwrap_or(false) {
            from.send(
                Published {
                    request: m.request,
                    publication,
                }
                .into(),
            );
        }
    }
}
