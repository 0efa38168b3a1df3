//! The dealer: registrations (exact, prefix, wildcard; shared with invoke policies),
//! calls and their invocations, progressive results and invocations, cancellation,
//! timeouts, and what happens when a caller or callee goes away.

use std::collections::HashMap;
use std::sync::Arc;

use super::broker::error;
use super::convert::{payload_for, Counters};
use super::matching::{matches, wildcard_rank};
use super::peer::Peer;
use super::realm::{limit_exceeded, Realm, SessionLimits};
use crate::protocol::*;

struct Registration {
    id: Id,
    procedure: Uri,
    policy: MatchPolicy,
    invoke: InvokePolicy,
    created: String,
    callees: Vec<(Id, bool)>, // (session, disclose_caller)
    next: usize,
}

/// A call in flight, keyed by (callee session, INVOCATION request ID).
struct CallRecord {
    registration: Id,
    caller: Id,
    request: Id,
    receive_progress: bool,
    /// Set when the caller canceled with `kill`: the callee's answer becomes `canceled`.
    killed: bool,
    /// The caller is still sending progressive invocation chunks.
    input_open: bool,
    timer: Option<tokio::task::AbortHandle>,
}

/// Calls in flight that involve one session, for the per-session limits.
#[derive(Default)]
struct InFlight {
    as_caller: usize,
    as_callee: usize,
}

#[derive(Default)]
pub(crate) struct Dealer {
    registrations: HashMap<Id, Registration>,
    exact: HashMap<String, Id>,
    patterns: HashMap<(String, &'static str), Id>,
    by_session: HashMap<Id, Vec<Id>>,
    calls: HashMap<(Id, Id), CallRecord>,
    by_caller: HashMap<(Id, Id), (Id, Id)>,
    next_id: u64,
    /// Meta events (`wamp.registration.on_*`) waiting to be published by the realm.
    pub(crate) meta: Vec<(&'static str, Payload)>,
    /// Calls, results and errors refused for a payload their recipient cannot represent.
    counters: Arc<Counters>,
    limits: SessionLimits,
    /// Per session with calls in flight: how many, as caller and as callee.
    in_flight: HashMap<Id, InFlight>,
}

fn meta_args(args: Vec<Value>) -> Payload {
    Payload::from_values(args, Dict::new())
}

impl Dealer {
    pub(crate) fn new(limits: SessionLimits, counters: Arc<Counters>) -> Self {
        Dealer {
            limits,
            counters,
            ..Dealer::default()
        }
    }

    pub(crate) fn register(&mut self, from: &Arc<Peer>, m: Register) {
        let max = self.limits.registrations;
        if self.by_session.get(&from.id).map_or(0, Vec::len) >= max {
            from.send(limit_exceeded(
                MessageType::Register,
                m.request,
                "max_registrations_per_session",
                max,
                "the session holds as many registrations as it may",
            ));
            return;
        }
        let policy = m.options.match_policy().unwrap_or(MatchPolicy::Exact);
        let invoke = m.options.invoke().unwrap_or(InvokePolicy::Single);
        let disclose = m.options.disclose_caller().unwrap_or(false);
        let key = m.procedure.as_str().to_owned();
        let existing = match policy {
            MatchPolicy::Exact => self.exact.get(&key).copied(),
            p => self.patterns.get(&(key.clone(), p.as_str())).copied(),
        };
        let id = match existing.and_then(|id| self.registrations.get_mut(&id)) {
            Some(reg) => {
                if reg.invoke == InvokePolicy::Single
                    || invoke == InvokePolicy::Single
                    || reg.invoke != invoke
                {
                    let why = if reg.invoke != invoke {
                        format!(
                            "registered with invoke policy {}, not {}",
                            reg.invoke, invoke
                        )
                    } else {
                        "the procedure is already registered".into()
                    };
                    from.send(error(
                        MessageType::Register,
                        m.request,
                        "wamp.error.procedure_already_exists",
                        &why,
                    ));
                    return;
                }
                if reg.callees.iter().any(|(s, _)| *s == from.id) {
                    from.send(error(
                        MessageType::Register,
                        m.request,
                        "wamp.error.procedure_already_exists",
                        "this session already registered it",
                    ));
                    return;
                }
                reg.callees.push((from.id, disclose));
                self.meta.push((
                    "wamp.registration.on_register",
                    meta_args(vec![Value::from(from.id.get()), Value::from(reg.id.get())]),
                ));
                reg.id
            }
            None => {
                self.next_id += 1;
                let id = Id::new(self.next_id).unwrap_or(Id::MIN);
                self.registrations.insert(
                    id,
                    Registration {
                        id,
                        procedure: m.procedure.clone(),
                        policy,
                        invoke,
                        created: super::meta::now_iso8601(),
                        callees: vec![(from.id, disclose)],
                        next: 0,
                    },
                );
                if let Some(reg) = self.registrations.get(&id) {
                    self.meta.push((
                        "wamp.registration.on_create",
                        meta_args(vec![Value::from(from.id.get()), Value::Dict(reg.details())]),
                    ));
                }
                self.meta.push((
                    "wamp.registration.on_register",
                    meta_args(vec![Value::from(from.id.get()), Value::from(id.get())]),
                ));
                match policy {
                    MatchPolicy::Exact => self.exact.insert(key, id),
                    p => self.patterns.insert((key, p.as_str()), id),
                };
                id
            }
        };
        self.by_session.entry(from.id).or_default().push(id);
        from.send(
            Registered {
                request: m.request,
                registration: id,
            }
            .into(),
        );
    }

    pub(crate) fn unregister(&mut self, from: &Arc<Peer>, m: Unregister) {
        if self.detach(from.id, m.registration) {
            from.send(
                Unregistered {
                    request: m.request.get(),
                    details: None,
                }
                .into(),
            );
        } else {
            from.send(error(
                MessageType::Unregister,
                m.request,
                "wamp.error.no_such_registration",
                "",
            ));
        }
    }

    /// Removes `peer` from `registration` on the router's initiative (registration
    /// revocation). The callee hears of it (UNREGISTERED with request 0) only if it
    /// announced `registration_revocation`, as the spec requires. Calls already routed
    /// to it run to their end.
    pub(crate) fn revoke(
        &mut self,
        registration: Id,
        peer: &Peer,
        reason: Option<String>,
    ) -> Result<(), String> {
        if !self.detach(peer.id, registration) {
            return Err(format!(
                "session {} is not a callee of registration {registration}",
                peer.id
            ));
        }
        if peer.has_feature(Role::Callee, "registration_revocation") {
            let mut details = UnregisteredDetails::new().with_registration(registration);
            if let Some(reason) = reason {
                details = details.with_reason(reason);
            }
            peer.send(
                Unregistered {
                    request: 0,
                    details: Some(details),
                }
                .into(),
            );
        }
        Ok(())
    }

    /// Takes `session` off `registration` and out of its own list; `false` if it was not
    /// a callee (then nothing changes).
    fn detach(&mut self, session: Id, registration: Id) -> bool {
        if !self.remove_callee(session, registration) {
            return false;
        }
        if let Some(list) = self.by_session.get_mut(&session) {
            list.retain(|r| *r != registration);
        }
        true
    }

    fn remove_callee(&mut self, session: Id, registration: Id) -> bool {
        let Some(reg) = self.registrations.get_mut(&registration) else {
            return false;
        };
        let before = reg.callees.len();
        reg.callees.retain(|(s, _)| *s != session);
        let removed = reg.callees.len() != before;
        if removed {
            self.meta.push((
                "wamp.registration.on_unregister",
                meta_args(vec![
                    Value::from(session.get()),
                    Value::from(registration.get()),
                ]),
            ));
        }
        if reg.callees.is_empty() {
            self.meta.push((
                "wamp.registration.on_delete",
                meta_args(vec![
                    Value::from(session.get()),
                    Value::from(registration.get()),
                ]),
            ));
            let key = reg.procedure.as_str().to_owned();
            match reg.policy {
                MatchPolicy::Exact => self.exact.remove(&key),
                p => self.patterns.remove(&(key, p.as_str())),
            };
            self.registrations.remove(&registration);
        }
        removed
    }

    /// The registration for a procedure: exact, then the longest prefix, then the most
    /// specific wildcard.
    fn lookup(&self, procedure: &str) -> Option<Id> {
        if let Some(id) = self.exact.get(procedure) {
            return Some(*id);
        }
        let candidates = self
            .patterns
            .values()
            .filter_map(|id| self.registrations.get(id))
            .filter(|r| matches(r.policy, r.procedure.as_str(), procedure));
        let mut best_prefix: Option<&Registration> = None;
        let mut best_wildcard: Option<&Registration> = None;
        for r in candidates {
            match r.policy {
                MatchPolicy::Prefix => {
                    if best_prefix.is_none_or(|b| r.procedure.len() > b.procedure.len()) {
                        best_prefix = Some(r);
                    }
                }
                _ => {
                    if best_wildcard
                        .is_none_or(|b| wildcard_rank(&r.procedure) > wildcard_rank(&b.procedure))
                    {
                        best_wildcard = Some(r);
                    }
                }
            }
        }
        best_prefix.or(best_wildcard).map(|r| r.id)
    }

    pub(crate) fn call(
        &mut self,
        realm: &Arc<Realm>,
        from: &Arc<Peer>,
        m: Call,
        sessions: &HashMap<Id, Arc<Peer>>,
    ) {
        let progress_chunk = m.options.progress().unwrap_or(false);
        // A further chunk of a progressive invocation goes to the same callee.
        if let Some(&(callee, invocation)) = self.by_caller.get(&(from.id, m.request)) {
            let Some(record) = self.calls.get_mut(&(callee, invocation)) else {
                return;
            };
            if !record.input_open {
                from.kick_out(
                    "wamp.error.protocol_violation",
                    "CALL with a request ID that is already in use",
                );
                return;
            }
            record.input_open = progress_chunk;
            let registration = record.registration;
            if let Some(peer) = sessions.get(&callee) {
                let payload = match payload_for(m.payload, peer) {
                    Ok(payload) => payload,
                    Err(e) => {
                        // The call cannot go on without this chunk: it ends for both.
                        self.counters.refused(&e);
                        self.finish(callee, invocation);
                        interrupt(peer, invocation, "wamp.error.invalid_argument");
                        refuse_call(from, m.request, &e);
                        return;
                    }
                };
                let mut details = InvocationDetails::new();
                if progress_chunk {
                    details = details.with_progress(true);
                }
                peer.send(
                    Invocation {
                        request: invocation,
                        registration,
                        details,
                        payload,
                    }
                    .into(),
                );
            }
            return;
        }
        let max = self.limits.pending_calls;
        if self.in_flight.get(&from.id).map_or(0, |f| f.as_caller) >= max {
            from.send(limit_exceeded(
                MessageType::Call,
                m.request,
                "max_pending_calls_per_session",
                max,
                "the session has as many calls in flight as it may",
            ));
            return;
        }
        let Some(reg_id) = self.lookup(m.procedure.as_str()) else {
            from.send(error(
                MessageType::Call,
                m.request,
                "wamp.error.no_such_procedure",
                &format!("no callee for {}", m.procedure),
            ));
            return;
        };
        let Some(reg) = self.registrations.get_mut(&reg_id) else {
            return;
        };
        let index = match reg.invoke {
            InvokePolicy::Single | InvokePolicy::First => 0,
            InvokePolicy::Last => reg.callees.len().saturating_sub(1),
            InvokePolicy::RoundRobin => {
                let i = reg.next % reg.callees.len().max(1);
                reg.next = i + 1;
                i
            }
            InvokePolicy::Random => rand::random_range(0..reg.callees.len().max(1)),
        };
        let Some(&(callee_id, disclose_caller)) = reg.callees.get(index) else {
            return;
        };
        let Some(callee) = sessions.get(&callee_id) else {
            return;
        };
        let max = self.limits.invocations_per_callee;
        if self.in_flight.get(&callee_id).map_or(0, |f| f.as_callee) >= max {
            from.send(limit_exceeded(
                MessageType::Call,
                m.request,
                "max_invocations_per_callee",
                max,
                "the callee has as many invocations in flight as it may",
            ));
            return;
        }
        if progress_chunk && !callee.has_feature(Role::Callee, "progressive_call_invocations") {
            from.send(error(
                MessageType::Call,
                m.request,
                "wamp.error.feature_not_supported",
                "the callee does not support progressive call invocations",
            ));
            return;
        }
        // Before anything is recorded: a CALL the callee cannot read is refused to the
        // caller, and the callee never hears of it.
        let payload = match payload_for(m.payload, callee) {
            Ok(payload) => payload,
            Err(e) => {
                self.counters.refused(&e);
                refuse_call(from, m.request, &e);
                return;
            }
        };
        let receive_progress = m.options.receive_progress().unwrap_or(false)
            && callee.has_feature(Role::Callee, "progressive_call_results");
        let mut details = InvocationDetails::new();
        if reg.policy != MatchPolicy::Exact {
            details = details.with_procedure(m.procedure.clone());
        }
        if receive_progress {
            details = details.with_receive_progress(true);
        }
        if progress_chunk {
            details = details.with_progress(true);
        }
        if disclose_caller || m.options.disclose_me().unwrap_or(false) {
            details = details
                .with_caller(from.id)
                .with_caller_authid(from.authid.clone())
                .with_caller_authrole(from.authrole.clone());
        }
        let invocation = callee.next_invocation_id();
        let timer = m.options.timeout().filter(|t| *t > 0).map(|ms| {
            let realm = realm.clone();
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                realm.call_timed_out(callee_id, invocation);
            })
            .abort_handle()
        });
        self.calls.insert(
            (callee_id, invocation),
            CallRecord {
                registration: reg_id,
                caller: from.id,
                request: m.request,
                receive_progress,
                killed: false,
                input_open: progress_chunk,
                timer,
            },
        );
        self.by_caller
            .insert((from.id, m.request), (callee_id, invocation));
        self.in_flight.entry(from.id).or_default().as_caller += 1;
        self.in_flight.entry(callee_id).or_default().as_callee += 1;
        callee.send(
            Invocation {
                request: invocation,
                registration: reg_id,
                details,
                payload,
            }
            .into(),
        );
    }

    fn finish(&mut self, callee: Id, invocation: Id) -> Option<CallRecord> {
        let record = self.calls.remove(&(callee, invocation))?;
        self.by_caller.remove(&(record.caller, record.request));
        self.leave_flight(record.caller, |f| &mut f.as_caller);
        self.leave_flight(callee, |f| &mut f.as_callee);
        if let Some(t) = &record.timer {
            t.abort();
        }
        Some(record)
    }

    /// Counts one call less for `session` (as caller or callee, as `count` picks).
    fn leave_flight(&mut self, session: Id, count: impl Fn(&mut InFlight) -> &mut usize) {
        if let Some(f) = self.in_flight.get_mut(&session) {
            let n = count(f);
            *n = n.saturating_sub(1);
            if f.as_caller == 0 && f.as_callee == 0 {
                self.in_flight.remove(&session);
            }
        }
    }

    pub(crate) fn on_yield(
        &mut self,
        from: &Arc<Peer>,
        m: Yield,
        sessions: &HashMap<Id, Arc<Peer>>,
    ) {
        let progress = m.options.progress().unwrap_or(false);
        if progress {
            let Some(record) = self.calls.get(&(from.id, m.request)) else {
                return;
            };
            if !record.receive_progress || record.killed {
                return;
            }
            let Some(caller) = sessions.get(&record.caller) else {
                return;
            };
            match payload_for(m.payload, caller) {
                Ok(payload) => caller.send(
                    ResultMessage {
                        request: record.request,
                        details: ResultDetails::new().with_progress(true),
                        payload,
                    }
                    .into(),
                ),
                Err(e) => {
                    // The caller gets an ERROR instead and the call is over; the callee,
                    // still producing results, is told with INTERRUPT if it can be.
                    self.counters.refused(&e);
                    let request = record.request;
                    self.finish(from.id, m.request);
                    refuse_result(caller, request, &e);
                    interrupt(from, m.request, "wamp.error.invalid_argument");
                }
            }
            return;
        }
        let Some(record) = self.finish(from.id, m.request) else {
            return;
        };
        let Some(caller) = sessions.get(&record.caller) else {
            return;
        };
        if record.killed {
            caller.send(error(
                MessageType::Call,
                record.request,
                "wamp.error.canceled",
                "the call was canceled",
            ));
            return;
        }
        // A final result the caller cannot read: the caller gets an ERROR. The callee's
        // part is over, and the spec has no message telling a callee its YIELD was refused
        // (an ERROR for a YIELD is not one a client must accept), so only the router's
        // counters and log record it.
        match payload_for(m.payload, caller) {
            Ok(payload) => caller.send(
                ResultMessage {
                    request: record.request,
                    details: ResultDetails::new(),
                    payload,
                }
                .into(),
            ),
            Err(e) => {
                self.counters.refused(&e);
                refuse_result(caller, record.request, &e);
            }
        }
    }

    pub(crate) fn on_error(
        &mut self,
        from: &Arc<Peer>,
        m: ErrorMessage,
        sessions: &HashMap<Id, Arc<Peer>>,
    ) {
        if m.request_type != MessageType::Invocation {
            from.kick_out(
                "wamp.error.protocol_violation",
                &format!(
                    "a client may only send ERROR for INVOCATION, not {}",
                    m.request_type
                ),
            );
            return;
        }
        let Some(record) = self.finish(from.id, m.request) else {
            return;
        };
        let Some(caller) = sessions.get(&record.caller) else {
            return;
        };
        // The callee's error, if the caller can read it; otherwise an ERROR of the
        // router's saying why (as for a result).
        let converted = payload_for(m.payload, caller).and_then(|payload| {
            details_for(&m.details, from, caller)?;
            Ok(payload)
        });
        match converted {
            Ok(payload) => caller.send(
                ErrorMessage {
                    request_type: MessageType::Call,
                    request: record.request,
                    details: m.details,
                    error: m.error,
                    payload,
                }
                .into(),
            ),
            Err(e) => {
                self.counters.refused(&e);
                refuse_result(caller, record.request, &e);
            }
        }
    }

    pub(crate) fn cancel(
        &mut self,
        from: &Arc<Peer>,
        m: Cancel,
        sessions: &HashMap<Id, Arc<Peer>>,
    ) {
        let Some(&(callee_id, invocation)) = self.by_caller.get(&(from.id, m.request)) else {
            return;
        };
        let callee = sessions.get(&callee_id);
        let can_interrupt = callee.is_some_and(|c| c.has_feature(Role::Callee, "call_canceling"));
        let mode = match m.options.mode().unwrap_or(CancelMode::Kill) {
            // A callee that cannot be interrupted can only be skipped.
            _ if !can_interrupt => CancelMode::Skip,
            mode => mode,
        };
        let interrupt = |mode| Interrupt {
            request: invocation,
            options: InterruptOptions::new()
                .with_mode(mode)
                .with_reason("wamp.error.canceled".into()),
        };
        match mode {
            CancelMode::Skip => {
                self.finish(callee_id, invocation);
                from.send(error(
                    MessageType::Call,
                    m.request,
                    "wamp.error.canceled",
                    "the call was canceled",
                ));
            }
            CancelMode::KillNoWait => {
                self.finish(callee_id, invocation);
                if let Some(c) = callee {
                    c.send(interrupt(mode).into());
                }
                from.send(error(
                    MessageType::Call,
                    m.request,
                    "wamp.error.canceled",
                    "the call was canceled",
                ));
            }
            CancelMode::Kill => {
                if let Some(record) = self.calls.get_mut(&(callee_id, invocation)) {
                    record.killed = true;
                }
                if let Some(c) = callee {
                    c.send(interrupt(mode).into());
                }
            }
        }
    }

    pub(crate) fn timed_out(
        &mut self,
        callee_id: Id,
        invocation: Id,
        sessions: &HashMap<Id, Arc<Peer>>,
    ) {
        let Some(record) = self.finish(callee_id, invocation) else {
            return;
        };
        if let Some(caller) = sessions.get(&record.caller) {
            caller.send(error(
                MessageType::Call,
                record.request,
                "wamp.error.timeout",
                "the call timed out",
            ));
        }
        if let Some(callee) = sessions.get(&callee_id) {
            if callee.has_feature(Role::Callee, "call_canceling") {
                let options = InterruptOptions::new()
                    .with_mode(CancelMode::KillNoWait)
                    .with_reason("wamp.error.timeout".into());
                callee.send(
                    Interrupt {
                        request: invocation,
                        options,
                    }
                    .into(),
                );
            }
        }
    }

    /// A session left: its registrations go, its calls as callee fail for their callers
    /// (`wamp.error.canceled`), its calls as caller are interrupted at their callees.
    pub(crate) fn remove_session(&mut self, session: Id, sessions: &HashMap<Id, Arc<Peer>>) {
        for reg in self.by_session.remove(&session).unwrap_or_default() {
            self.remove_callee(session, reg);
        }
        let affected: Vec<(Id, Id)> = self
            .calls
            .iter()
            .filter(|((callee, _), r)| *callee == session || r.caller == session)
            .map(|(k, _)| *k)
            .collect();
        for (callee_id, invocation) in affected {
            let Some(record) = self.finish(callee_id, invocation) else {
                continue;
            };
            if callee_id == session {
                if let Some(caller) = sessions.get(&record.caller) {
                    caller.send(error(
                        MessageType::Call,
                        record.request,
                        "wamp.error.canceled",
                        "the callee left while the call was running",
                    ));
                }
            } else if let Some(callee) = sessions.get(&callee_id) {
                if callee.has_feature(Role::Callee, "call_canceling") {
                    let options = InterruptOptions::new()
                        .with_mode(CancelMode::KillNoWait)
                        .with_reason("wamp.error.canceled".into());
                    callee.send(
                        Interrupt {
                            request: invocation,
                            options,
                        }
                        .into(),
                    );
                }
            }
        }
    }
}

/// The ERROR for a CALL (or a progressive chunk of one) whose payload the callee cannot
/// represent.
fn refuse_call(caller: &Peer, request: Id, e: &ConvertError) {
    caller.send(error(
        MessageType::Call,
        request,
        "wamp.error.invalid_argument",
        &e.to_string(),
    ));
}

/// Answers a call whose result (or error) the caller cannot represent.
fn refuse_result(caller: &Peer, request: Id, e: &ConvertError) {
    caller.send(error(
        MessageType::Call,
        request,
        "wamp.error.invalid_argument",
        &format!("the callee's answer cannot be delivered: {e}"),
    ));
}

/// Ends an invocation at a callee that supports call canceling (INTERRUPT, `killnowait`:
/// the router wants no answer).
fn interrupt(callee: &Peer, invocation: Id, reason: &'static str) {
    if callee.has_feature(Role::Callee, "call_canceling") {
        let options = InterruptOptions::new()
            .with_mode(CancelMode::KillNoWait)
            .with_reason(reason.to_owned());
        callee.send(
            Interrupt {
                request: invocation,
                options,
            }
            .into(),
        );
    }
}

/// Whether an ERROR's details dictionary, already decoded (the router reads every key),
/// can be written in the caller's serializer: only a value JSON has no form for (a
/// non-finite float from MessagePack or CBOR, ...) can fail.
fn details_for(details: &ErrorDetails, from: &Peer, to: &Peer) -> Result<(), ConvertError> {
    match (from.serializer, to.serializer) {
        (Some(from), Some(to)) if from != to && !details.0.is_empty() => to
            .encode_value(&details.0, "details")
            .map(drop)
            .map_err(|e| ConvertError::new("details", from, to, e.to_string())),
        _ => Ok(()),
    }
}

impl Registration {
    fn details(&self) -> Dict {
        let mut d = Dict::new();
        d.insert("id".into(), Value::from(self.id.get()));
        d.insert("created".into(), Value::from(self.created.as_str()));
        d.insert("uri".into(), Value::from(self.procedure.as_str()));
        d.insert("match".into(), Value::from(self.policy.as_str()));
        d.insert("invoke".into(), Value::from(self.invoke.as_str()));
        d
    }
}

/// The registration meta procedures (`wamp.registration.*`).
impl Dealer {
    pub(crate) fn meta_list(&self) -> Dict {
        let mut lists: Dict = ["exact", "prefix", "wildcard"]
            .iter()
            .map(|k| ((*k).to_owned(), Value::List(Vec::new())))
            .collect();
        for reg in self.registrations.values() {
            if let Some(Value::List(l)) = lists.get_mut(reg.policy.as_str()) {
                l.push(Value::from(reg.id.get()));
            }
        }
        lists
    }

    pub(crate) fn meta_lookup(&self, procedure: &str, policy: MatchPolicy) -> Option<Id> {
        match policy {
            MatchPolicy::Exact => self.exact.get(procedure).copied(),
            p => self
                .patterns
                .get(&(procedure.to_owned(), p.as_str()))
                .copied(),
        }
    }

    pub(crate) fn meta_match(&self, procedure: &str) -> Option<Id> {
        self.lookup(procedure)
    }

    pub(crate) fn meta_get(&self, id: Id) -> Option<Dict> {
        self.registrations.get(&id).map(Registration::details)
    }

    pub(crate) fn meta_callees(&self, id: Id) -> Option<Vec<Id>> {
        self.registrations
            .get(&id)
            .map(|r| r.callees.iter().map(|(s, _)| *s).collect())
    }
}

#[cfg(feature = "fuzzing")]
impl Dealer {
    /// What the dealer still holds for `session` (every session when `None`):
    /// registrations, calls it made or runs. The fuzzers' check that a session leaves
    /// nothing behind.
    pub(crate) fn residue(&self, session: Option<Id>, out: &mut Vec<String>) {
        let mine = |s: &Id| session.is_none_or(|want| want == *s);
        for s in self.by_session.keys().filter(|s| mine(s)) {
            out.push(format!("dealer.by_session has session {s}"));
        }
        for reg in self.registrations.values() {
            if session.is_none() || reg.callees.iter().any(|(s, _)| mine(s)) {
                out.push(format!(
                    "dealer registration {} ({}) has callees {:?}",
                    reg.id, reg.procedure, reg.callees
                ));
            }
        }
        for ((callee, invocation), record) in &self.calls {
            if mine(callee) || mine(&record.caller) {
                out.push(format!(
                    "dealer call {invocation} of callee {callee} from caller {} request {}",
                    record.caller, record.request
                ));
            }
        }
        for ((caller, request), (callee, _)) in &self.by_caller {
            if mine(caller) || mine(callee) {
                out.push(format!(
                    "dealer.by_caller has caller {caller} request {request} -> callee {callee}"
                ));
            }
        }
        if session.is_none() && !(self.exact.is_empty() && self.patterns.is_empty()) {
            out.push(format!(
                "dealer procedure indexes not empty: {:?} {:?}",
                self.exact, self.patterns
            ));
        }
    }
}
