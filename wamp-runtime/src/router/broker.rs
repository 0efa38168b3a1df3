//! The broker: subscriptions (exact, prefix, wildcard), publications, exclusion and
//! eligibility, publisher disclosure, event retention.

use std::collections::HashMap;
use std::sync::Arc;

use super::convert::{payload_for, Counters};
use super::matching::matches;
use super::peer::{Peer, SharedMessage};
use crate::protocol::*;

struct Subscription {
    id: Id,
    topic: Uri,
    policy: MatchPolicy,
    created: String,
    subscribers: Vec<Id>,
    /// The last events delivered to this subscription, oldest first (event history).
    history: std::collections::VecDeque<HistoryEntry>,
}

/// One event kept for `wamp.subscription.get_events`.
struct HistoryEntry {
    timestamp: String,
    publication: Id,
    topic: Uri,
    payload: Payload,
}

/// A retained event: the last one published with `retain` on its topic.
struct Retained {
    topic: Uri,
    publication: Id,
    details: EventDetails,
    payload: Payload,
    /// Who the publication was for: late subscribers get it only if it was for them.
    audience: Audience,
}

/// Who may receive a publication: the publisher's exclusion and eligibility options.
#[derive(Clone, Debug)]
struct Audience {
    publisher: Option<Id>,
    exclude_me: bool,
    exclude: Vec<Id>,
    exclude_authid: Vec<String>,
    exclude_authrole: Vec<String>,
    eligible: Option<Vec<Id>>,
    eligible_authid: Option<Vec<String>>,
    eligible_authrole: Option<Vec<String>>,
}

impl Audience {
    fn new(opts: &PublishOptions, publisher: Option<Id>) -> Self {
        Audience {
            publisher,
            exclude_me: opts.exclude_me().unwrap_or(true),
            exclude: opts.exclude().unwrap_or_default(),
            exclude_authid: opts.exclude_authid().unwrap_or_default(),
            exclude_authrole: opts.exclude_authrole().unwrap_or_default(),
            eligible: opts.eligible(),
            eligible_authid: opts.eligible_authid(),
            eligible_authrole: opts.eligible_authrole(),
        }
    }

    fn admits(&self, peer: &Peer) -> bool {
        let excluded = (Some(peer.id) == self.publisher && self.exclude_me)
            || self.exclude.contains(&peer.id)
            || self.exclude_authid.contains(&peer.authid)
            || self.exclude_authrole.contains(&peer.authrole);
        let eligible = self.eligible.as_ref().is_none_or(|e| e.contains(&peer.id))
            && self
                .eligible_authid
                .as_ref()
                .is_none_or(|e| e.contains(&peer.authid))
            && self
                .eligible_authrole
                .as_ref()
                .is_none_or(|e| e.contains(&peer.authrole));
        eligible && !excluded
    }
}

#[derive(Default)]
pub(crate) struct Broker {
    subscriptions: HashMap<Id, Subscription>,
    exact: HashMap<String, Id>,
    patterns: HashMap<(String, &'static str), Id>,
    by_session: HashMap<Id, Vec<Id>>,
    retained: HashMap<String, Retained>,
    next_id: u64,
    /// Meta events (`wamp.subscription.on_*`) waiting to be published by the realm.
    pub(crate) meta: Vec<(&'static str, Payload)>,
    /// Events kept per subscription for the event history (0: none).
    pub(crate) history_limit: usize,
    /// Deliveries dropped (and publications refused) for a payload a subscriber cannot
    /// represent.
    counters: Arc<Counters>,
    /// Subscriptions one session may hold.
    max_per_session: usize,
}

fn meta_args(args: Vec<Value>) -> Payload {
    Payload::from_values(args, Dict::new())
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
    /// A broker keeping `history_limit` events per subscription and allowing each
    /// session `max_per_session` subscriptions.
    pub(crate) fn new(
        history_limit: usize,
        max_per_session: usize,
        counters: Arc<Counters>,
    ) -> Self {
        Broker {
            history_limit,
            max_per_session,
            counters,
            ..Broker::default()
        }
    }

    pub(crate) fn subscribe(&mut self, from: &Arc<Peer>, m: Subscribe) {
        let policy = m.options.match_policy().unwrap_or(MatchPolicy::Exact);
        let topic = m.topic.as_str().to_owned();
        let existing = match policy {
            MatchPolicy::Exact => self.exact.get(&topic).copied(),
            _ => self
                .patterns
                .get(&(topic.clone(), policy_key(policy)))
                .copied(),
        };
        let already = existing
            .and_then(|id| self.subscriptions.get(&id))
            .is_some_and(|sub| sub.subscribers.contains(&from.id));
        let held = self.by_session.get(&from.id).map_or(0, Vec::len);
        if !already && held >= self.max_per_session {
            from.send(super::realm::limit_exceeded(
                MessageType::Subscribe,
                m.request,
                "max_subscriptions_per_session",
                self.max_per_session,
                "the session holds as many subscriptions as it may",
            ));
            return;
        }
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
                        created: super::meta::now_iso8601(),
                        subscribers: Vec::new(),
                        history: Default::default(),
                    },
                );
                if let Some(sub) = self.subscriptions.get(&id) {
                    if !m.topic.starts_with("wamp.") {
                        self.meta.push((
                            "wamp.subscription.on_create",
                            meta_args(vec![Value::from(from.id.get()), Value::Dict(sub.details())]),
                        ));
                    }
                }
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
                if !m.topic.starts_with("wamp.") {
                    self.meta.push((
                        "wamp.subscription.on_subscribe",
                        meta_args(vec![Value::from(from.id.get()), Value::from(id.get())]),
                    ));
                }
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
    }

    fn send_retained(&self, to: &Peer, subscription: Id, policy: MatchPolicy, pattern: &str) {
        for (topic, r) in &self.retained {
            if matches(policy, pattern, topic) && r.audience.admits(to) {
                let mut details = r.details.clone().with_retained(true);
                if policy != MatchPolicy::Exact {
                    details = details.with_topic(r.topic.clone());
                }
                let payload = match payload_for(r.payload.clone(), to) {
                    Ok(payload) => payload,
                    Err(e) => {
                        self.counters.dropped(&e);
                        continue;
                    }
                };
                to.send(
                    Event {
                        subscription,
                        publication: r.publication,
                        details,
                        payload,
                    }
                    .into(),
                );
            }
        }
    }

    pub(crate) fn unsubscribe(&mut self, from: &Arc<Peer>, m: Unsubscribe) {
        if self.detach(from.id, m.subscription) {
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

    /// Removes `peer` from `subscription` on the router's initiative (subscription
    /// revocation). The subscriber hears of it (UNSUBSCRIBED with request 0) only if it
    /// announced `subscription_revocation`, as the spec requires.
    pub(crate) fn revoke(
        &mut self,
        subscription: Id,
        peer: &Peer,
        reason: Option<String>,
    ) -> Result<(), String> {
        if !self.detach(peer.id, subscription) {
            return Err(format!(
                "session {} is not subscribed to subscription {subscription}",
                peer.id
            ));
        }
        if peer.has_feature(Role::Subscriber, "subscription_revocation") {
            let mut details = UnsubscribedDetails::new().with_subscription(subscription);
            if let Some(reason) = reason {
                details = details.with_reason(reason);
            }
            peer.send(
                Unsubscribed {
                    request: 0,
                    details: Some(details),
                }
                .into(),
            );
        }
        Ok(())
    }

    /// Takes `session` off `subscription` and out of its own list; `false` if it was not
    /// subscribed (then nothing changes).
    fn detach(&mut self, session: Id, subscription: Id) -> bool {
        if !self.remove_subscriber(session, subscription) {
            return false;
        }
        if let Some(list) = self.by_session.get_mut(&session) {
            list.retain(|s| *s != subscription);
        }
        true
    }

    fn remove_subscriber(&mut self, session: Id, subscription: Id) -> bool {
        let Some(sub) = self.subscriptions.get_mut(&subscription) else {
            return false;
        };
        let before = sub.subscribers.len();
        sub.subscribers.retain(|s| *s != session);
        let removed = sub.subscribers.len() != before;
        let visible = !sub.topic.starts_with("wamp.");
        if removed && visible {
            self.meta.push((
                "wamp.subscription.on_unsubscribe",
                meta_args(vec![
                    Value::from(session.get()),
                    Value::from(subscription.get()),
                ]),
            ));
        }
        if sub.subscribers.is_empty() {
            if visible {
                self.meta.push((
                    "wamp.subscription.on_delete",
                    meta_args(vec![
                        Value::from(session.get()),
                        Value::from(subscription.get()),
                    ]),
                ));
            }
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
        let outcome = self.deliver(Some(from), &m.topic, &m.options, &m.payload, sessions);
        if m.options.acknowledge().unwrap_or(false) {
            // Refused only if the event reached nobody because nobody could represent it;
            // a publication some subscribers received is PUBLISHED (the others' deliveries
            // are counted as dropped).
            match outcome.refused {
                Some(e) => {
                    self.counters.refused(&e);
                    from.send(error(
                        MessageType::Publish,
                        m.request,
                        "wamp.error.invalid_argument",
                        &format!("no subscriber can receive the event: {e}"),
                    ));
                }
                None => from.send(
                    Published {
                        request: m.request,
                        publication: outcome.publication,
                    }
                    .into(),
                ),
            }
        }
    }

    /// Publishes an event from the router itself (meta events): no publisher, no options.
    pub(crate) fn publish_meta(
        &mut self,
        topic: &'static str,
        payload: Payload,
        sessions: &HashMap<Id, Arc<Peer>>,
    ) {
        self.deliver(
            None,
            &Uri::from_static(topic),
            &PublishOptions::new(),
            &payload,
            sessions,
        );
    }

    /// Delivers an event to every matching subscriber the options let it reach; retains
    /// it if asked. `publisher` is `None` for events the router publishes itself.
    ///
    /// A subscriber whose serializer cannot represent the payload is left out (and
    /// counted); the payload is converted at most once per serializer.
    pub(crate) fn deliver(
        &mut self,
        publisher: Option<&Peer>,
        topic_uri: &Uri,
        opts: &PublishOptions,
        payload: &Payload,
        sessions: &HashMap<Id, Arc<Peer>>,
    ) -> Delivery {
        let publication = Id::random();
        let topic = topic_uri.as_str();
        let from_id = publisher.map(|p| p.id);
        let audience = Audience::new(opts, from_id);
        let mut base = EventDetails::new();
        if let (Some(from), true) = (publisher, opts.disclose_me().unwrap_or(false)) {
            base = base
                .with_publisher(from.id)
                .with_publisher_authid(from.authid.clone())
                .with_publisher_authrole(from.authrole.clone());
        }
        let mut converted = Converted::new(payload);
        let (mut delivered, mut dropped) = (0usize, None::<ConvertError>);
        let counters = &self.counters;
        let mut deliver = |sub: &Subscription| {
            let details = if sub.policy == MatchPolicy::Exact {
                base.clone()
            } else {
                base.clone().with_topic(topic_uri.clone())
            };
            let event = |payload: &Payload| -> Message {
                Event {
                    subscription: sub.id,
                    publication,
                    details: details.clone(),
                    payload: payload.clone(),
                }
                .into()
            };
            let mut receivers = sub
                .subscribers
                .iter()
                .filter_map(|sid| sessions.get(sid))
                .filter(|peer| audience.admits(peer));
            if sub.subscribers.len() == 1 {
                if let Some(peer) = receivers.next() {
                    match converted.for_peer(peer) {
                        Ok(payload) => {
                            peer.send(event(payload));
                            delivered += 1;
                        }
                        Err(e) => {
                            counters.dropped(e);
                            dropped.get_or_insert_with(|| e.clone());
                        }
                    }
                }
                return;
            }
            // Every subscriber of a subscription gets the very same EVENT (one per
            // serializer the payload had to be converted to): it is encoded once per
            // serializer, and the queues share the bytes.
            let mut shared: [Option<Arc<SharedMessage>>; 4] = Default::default();
            for peer in receivers {
                let group = converted.group(peer);
                let message = match &shared[group] {
                    Some(message) => message.clone(),
                    None => match converted.for_peer(peer) {
                        Ok(payload) => shared[group]
                            .insert(Arc::new(SharedMessage::new(event(payload))))
                            .clone(),
                        Err(e) => {
                            counters.dropped(e);
                            dropped.get_or_insert_with(|| e.clone());
                            continue;
                        }
                    },
                };
                peer.send_shared(message);
                delivered += 1;
            }
        };
        let mut matched: Vec<Id> = self.exact.get(topic).copied().into_iter().collect();
        matched.extend(self.patterns.values().filter(|id| {
            self.subscriptions
                .get(id)
                .is_some_and(|s| matches(s.policy, s.topic.as_str(), topic))
        }));
        let timestamp = (self.history_limit > 0).then(super::meta::now_iso8601);
        for id in matched {
            let Some(sub) = self.subscriptions.get_mut(&id) else {
                continue;
            };
            deliver(sub);
            if let Some(timestamp) = &timestamp {
                sub.history.push_back(HistoryEntry {
                    timestamp: timestamp.clone(),
                    publication,
                    topic: topic_uri.clone(),
                    payload: payload.clone(),
                });
                while sub.history.len() > self.history_limit {
                    sub.history.pop_front();
                }
            }
        }
        let refused = dropped.filter(|_| delivered == 0);
        // A publication refused to its publisher is not kept for later subscribers either.
        if opts.retain().unwrap_or(false) && refused.is_none() {
            self.retained.insert(
                topic.to_owned(),
                Retained {
                    topic: topic_uri.clone(),
                    publication,
                    details: base,
                    payload: payload.clone(),
                    audience,
                },
            );
        }
        Delivery {
            publication,
            refused,
        }
    }
}

/// What became of a publication.
pub(crate) struct Delivery {
    pub(crate) publication: Id,
    /// Why nobody received it, when every subscriber it was for had a serializer that
    /// cannot represent its payload.
    pub(crate) refused: Option<ConvertError>,
}

/// A publication's payload for each serializer among its recipients, converted at most
/// once per serializer (and only for the serializers that need it).
struct Converted<'a> {
    original: &'a Payload,
    /// Per serializer (RawSocket serializer ID - 1), once converted.
    to: [Option<Result<Payload, ConvertError>>; 3],
}

impl<'a> Converted<'a> {
    fn new(original: &'a Payload) -> Self {
        Converted {
            original,
            to: Default::default(),
        }
    }

    /// Which form of the payload `peer` takes: 0 to 2 a converted one, 3 the original.
    fn group(&self, peer: &Peer) -> usize {
        match peer.serializer {
            Some(s) if !self.original.is_encoded_in(s) => usize::from(s.rawsocket_id() - 1),
            _ => 3,
        }
    }

    /// The payload in `peer`'s serializer, or why it has none.
    fn for_peer(&mut self, peer: &Peer) -> Result<&Payload, &ConvertError> {
        match (self.group(peer), peer.serializer) {
            (group @ 0..=2, Some(to)) => self.to[group]
                .get_or_insert_with(|| self.original.convert_to(to))
                .as_ref(),
            _ => Ok(self.original),
        }
    }
}

impl Subscription {
    fn details(&self) -> Dict {
        let mut d = Dict::new();
        d.insert("id".into(), Value::from(self.id.get()));
        d.insert("created".into(), Value::from(self.created.as_str()));
        d.insert("uri".into(), Value::from(self.topic.as_str()));
        d.insert("match".into(), Value::from(self.policy.as_str()));
        d
    }
}

/// The subscription meta procedures (`wamp.subscription.*`).
impl Broker {
    pub(crate) fn meta_list(&self) -> Dict {
        let mut lists: Dict = ["exact", "prefix", "wildcard"]
            .iter()
            .map(|k| ((*k).to_owned(), Value::List(Vec::new())))
            .collect();
        for sub in self.subscriptions.values() {
            if let Some(Value::List(l)) = lists.get_mut(sub.policy.as_str()) {
                l.push(Value::from(sub.id.get()));
            }
        }
        lists
    }

    pub(crate) fn meta_lookup(&self, topic: &str, policy: MatchPolicy) -> Option<Id> {
        match policy {
            MatchPolicy::Exact => self.exact.get(topic).copied(),
            p => self
                .patterns
                .get(&(topic.to_owned(), policy_key(p)))
                .copied(),
        }
    }

    pub(crate) fn meta_match(&self, topic: &str) -> Vec<Id> {
        self.subscriptions
            .values()
            .filter(|s| matches(s.policy, s.topic.as_str(), topic))
            .map(|s| s.id)
            .collect()
    }

    pub(crate) fn meta_get(&self, id: Id) -> Option<Dict> {
        self.subscriptions.get(&id).map(Subscription::details)
    }

    pub(crate) fn meta_subscribers(&self, id: Id) -> Option<Vec<Id>> {
        self.subscriptions.get(&id).map(|s| s.subscribers.clone())
    }
}

/// `wamp.subscription.get_events`.
impl Broker {
    pub(crate) fn meta_events(&self, id: Id, kwargs: &Dict) -> Option<Vec<Value>> {
        let sub = self.subscriptions.get(&id)?;
        let text = |k: &str| kwargs.get(k).and_then(Value::as_str);
        let publication = |k: &str| kwargs.get(k).and_then(Value::as_u64);
        let mut entries: Vec<&HistoryEntry> = sub.history.iter().collect();
        // Publication bounds refer to positions in the history.
        if let Some(p) = publication("from_publication") {
            if let Some(i) = entries.iter().position(|e| e.publication.get() == p) {
                entries.drain(..i);
            }
        }
        if let Some(p) = publication("after_publication") {
            if let Some(i) = entries.iter().position(|e| e.publication.get() == p) {
                entries.drain(..=i);
            }
        }
        // Timestamps are compared as RFC 3339 UTC strings in the form the router writes
        // (`YYYY-MM-DDTHH:MM:SS.mmmZ`), which order lexicographically.
        entries.retain(|e| {
            text("from_time").is_none_or(|t| e.timestamp.as_str() >= t)
                && text("after_time").is_none_or(|t| e.timestamp.as_str() > t)
                && text("before_time").is_none_or(|t| e.timestamp.as_str() < t)
                && text("until_time").is_none_or(|t| e.timestamp.as_str() <= t)
                && text("topic").is_none_or(|t| e.topic.as_str() == t)
        });
        if kwargs
            .get("reverse")
            .and_then(Value::as_bool)
            .unwrap_or(false)
        {
            entries.reverse();
        }
        if let Some(limit) = kwargs.get("limit").and_then(Value::as_u64) {
            entries.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        }
        Some(
            entries
                .into_iter()
                .map(|e| {
                    let mut d = Dict::new();
                    d.insert("timestamp".into(), Value::from(e.timestamp.as_str()));
                    d.insert("subscription".into(), Value::from(id.get()));
                    d.insert("publication".into(), Value::from(e.publication.get()));
                    d.insert("topic".into(), Value::from(e.topic.as_str()));
                    d.insert(
                        "args".into(),
                        Value::List(e.payload.args_values().unwrap_or_default()),
                    );
                    d.insert(
                        "kwargs".into(),
                        Value::Dict(e.payload.kwargs_values().unwrap_or_default()),
                    );
                    Value::Dict(d)
                })
                .collect(),
        )
    }
}

#[cfg(feature = "fuzzing")]
impl Broker {
    /// What the broker still holds for `session` (every session when `None`): the
    /// fuzzers' check that a session leaves nothing behind. Retained events outlive
    /// their publishers by design and are not listed.
    pub(crate) fn residue(&self, session: Option<Id>, out: &mut Vec<String>) {
        let mine = |s: &Id| session.is_none_or(|want| want == *s);
        for s in self.by_session.keys().filter(|s| mine(s)) {
            out.push(format!("broker.by_session has session {s}"));
        }
        for sub in self.subscriptions.values() {
            if session.is_none() || sub.subscribers.iter().any(mine) {
                out.push(format!(
                    "broker subscription {} ({}) has subscribers {:?}",
                    sub.id, sub.topic, sub.subscribers
                ));
            }
        }
        if session.is_none() && !(self.exact.is_empty() && self.patterns.is_empty()) {
            out.push(format!(
                "broker topic indexes not empty: {:?} {:?}",
                self.exact, self.patterns
            ));
        }
    }
}
