//! The session's registrations: one table that owns the maps it needs and keeps them
//! consistent, with the one path for going offline, restoring after a reconnect, and
//! ending.
//!
//! A registration is *pending* from REGISTER to REGISTERED, then *active* under the
//! router's ID. Handles refer to theirs by a local ID, which survives reconnects: while
//! offline, active registrations are kept under placeholder IDs and registered again, with
//! the same handlers, once reconnected. When one ends without its owner (revoked, refused
//! after a reconnect, the session over), its [`EndSignal`] says why.
//!
//! One refusal after a reconnect does not end a registration: `procedure_already_exists`.
//! After a network partition the router may not have noticed yet that our previous
//! connection is dead, and that session still holds the procedure; giving up would lose
//! the registration for good although the router frees it moments later. Such a
//! registration waits in `retrying` and is registered again with the reconnect policy's
//! backoff until the router takes it (or the connection is lost, and the next reconnect
//! restores it as usual).

use std::collections::HashMap;

use tokio::time::Instant;

use super::command::{EndSignal, IdReply, RequestIds, UnitReply};
use super::error::{Error, StandardError, WampError};
use super::reconnect::ReconnectPolicy;
use super::types::{EndReason, Handler};
use crate::protocol::{Id, Message, Register, RegisterOptions, Unregister, Uri};

/// See the module documentation.
#[derive(Default)]
pub(crate) struct Registrations {
    /// REGISTERs sent and not answered yet, by request ID.
    pending: HashMap<Id, Pending>,
    /// Registered procedures, by the router's ID (a placeholder while offline).
    active: HashMap<Id, Registration>,
    /// Local ID → the router's ID, for the active ones.
    by_local: HashMap<u64, Id>,
    /// UNREGISTERs whose caller waits for the answer, by request ID.
    unregistering: HashMap<Id, UnitReply>,
    /// Restores refused with `procedure_already_exists`, waiting to be tried again.
    retrying: Vec<Retry>,
}

/// A registration to register again at `at`.
struct Retry {
    registration: Registration,
    at: Instant,
}

/// A registered procedure, identified locally by `local` (router IDs change on reconnect).
pub(crate) struct Registration {
    local: u64,
    procedure: Uri,
    options: RegisterOptions,
    handler: Handler,
    end: EndSignal,
    /// Restores refused in a row with `procedure_already_exists` (for the backoff).
    refusals: u32,
}

impl Registration {
    /// The procedure (or pattern) registered.
    pub(crate) fn procedure(&self) -> &Uri {
        &self.procedure
    }

    /// The handler that answers its invocations.
    pub(crate) fn handler(&self) -> &Handler {
        &self.handler
    }

    fn end(&self, reason: EndReason) {
        self.end.send_replace(Some(reason));
    }
}

struct Pending {
    registration: Registration,
    /// The caller waiting for the ID (none when registering again after a reconnect).
    reply: Option<IdReply>,
    /// Its owner unregistered it while the REGISTER was in flight.
    abandoned: bool,
}

impl Pending {
    /// Nobody wants it any more: unregistered meanwhile, or the caller that registered it
    /// stopped waiting (no handle will ever unregister it).
    fn is_abandoned(&self) -> bool {
        self.abandoned || self.reply.as_ref().is_some_and(IdReply::is_closed)
    }
}

impl Registrations {
    /// A new registration: the REGISTER to send.
    #[allow(clippy::too_many_arguments)] // the parts of a Command::Register
    pub(crate) fn register(
        &mut self,
        local: u64,
        procedure: Uri,
        options: RegisterOptions,
        handler: Handler,
        end: EndSignal,
        reply: IdReply,
        ids: &RequestIds,
    ) -> Message {
        let registration = Registration {
            local,
            procedure,
            options,
            handler,
            end,
            refusals: 0,
        };
        self.send_register(registration, Some(reply), ids)
    }

    fn send_register(
        &mut self,
        registration: Registration,
        reply: Option<IdReply>,
        ids: &RequestIds,
    ) -> Message {
        let request = ids.next();
        let msg = Register {
            request,
            options: registration.options.clone(),
            procedure: registration.procedure.clone(),
        };
        self.pending.insert(
            request,
            Pending {
                registration,
                reply,
                abandoned: false,
            },
        );
        msg.into()
    }

    /// REGISTERED: the pending registration is active under the router's ID, or, when it
    /// was abandoned meanwhile, the UNREGISTER to send is returned.
    pub(crate) fn registered(
        &mut self,
        request: Id,
        registration: Id,
        ids: &RequestIds,
    ) -> Option<Message> {
        let mut pending = self.pending.remove(&request)?;
        pending.registration.refusals = 0;
        if pending.is_abandoned() {
            return Some(
                Unregister {
                    request: ids.next(),
                    registration,
                }
                .into(),
            );
        }
        self.by_local
            .insert(pending.registration.local, registration);
        self.active.insert(registration, pending.registration);
        if let Some(reply) = pending.reply {
            let _ = reply.send(Ok(registration));
        }
        None
    }

    /// An ERROR answering a REGISTER: the caller gets it; a registration being made again
    /// after a reconnect ends with it, unless the procedure is still registered (see the
    /// module documentation): then it is tried again after `policy`'s delay.
    /// `false` if the request is not ours.
    pub(crate) fn register_failed(
        &mut self,
        request: Id,
        error: &WampError,
        policy: Option<&ReconnectPolicy>,
    ) -> bool {
        let Some(mut p) = self.pending.remove(&request) else {
            return false;
        };
        if p.abandoned {
            return true;
        }
        match p.reply {
            Some(reply) => {
                let _ = reply.send(Err(Error::Wamp(error.clone())));
            }
            None if error.is_kind(StandardError::ProcedureAlreadyExists) && policy.is_some() => {
                p.registration.refusals = p.registration.refusals.saturating_add(1);
                let delay = policy.map(|policy| policy.delay(p.registration.refusals));
                tracing::info!(
                    procedure = %p.registration.procedure,
                    ?delay,
                    "the procedure is still registered (our previous session, not yet gone at the router?); registering again later"
                );
                self.retrying.push(Retry {
                    at: Instant::now() + delay.unwrap_or_default(),
                    registration: p.registration,
                });
            }
            None => {
                tracing::error!(
                    procedure = %p.registration.procedure,
                    error = %error,
                    "registering again after a reconnect failed"
                );
                p.registration.end(EndReason::RestoreFailed(error.clone()));
            }
        }
        true
    }

    /// A registration ends: the UNREGISTER to send (and `reply` waits for its answer), or
    /// nothing when it is not registered (then `reply` is answered now).
    pub(crate) fn unregister(
        &mut self,
        local: u64,
        reply: Option<UnitReply>,
        ids: &RequestIds,
    ) -> Option<Message> {
        let Some(registration) = self.by_local.remove(&local) else {
            // Being registered again after a reconnect: unregistered once registered.
            self.abandon_pending(local);
            self.retrying.retain(|r| r.registration.local != local);
            if let Some(r) = reply {
                let _ = r.send(Ok(()));
            }
            return None;
        };
        self.active.remove(&registration);
        let request = ids.next();
        if let Some(r) = reply {
            self.unregistering.insert(request, r);
        }
        Some(
            Unregister {
                request,
                registration,
            }
            .into(),
        )
    }

    fn abandon_pending(&mut self, local: u64) {
        if let Some(p) = self
            .pending
            .values_mut()
            .find(|p| p.registration.local == local)
        {
            p.abandoned = true;
        }
    }

    /// A registration ends while offline: removed here, nothing to send.
    pub(crate) fn unregister_offline(&mut self, local: u64, reply: Option<UnitReply>) {
        if let Some(id) = self.by_local.remove(&local) {
            self.active.remove(&id);
        }
        if let Some(r) = reply {
            let _ = r.send(Ok(()));
        }
    }

    /// UNREGISTERED answering our request.
    pub(crate) fn unregistered(&mut self, request: Id) {
        if let Some(reply) = self.unregistering.remove(&request) {
            let _ = reply.send(Ok(()));
        }
    }

    /// An ERROR answering an UNREGISTER. `false` if the request is not ours.
    pub(crate) fn unregister_failed(&mut self, request: Id, error: &WampError) -> bool {
        match self.unregistering.remove(&request) {
            Some(reply) => {
                let _ = reply.send(Err(Error::Wamp(error.clone())));
                true
            }
            None => false,
        }
    }

    /// The router revoked a registration: it ends, saying why.
    pub(crate) fn revoked(&mut self, registration: Id, reason: Option<String>) {
        if let Some(reg) = self.active.remove(&registration) {
            self.by_local.remove(&reg.local);
            tracing::warn!(procedure = %reg.procedure, reason = ?reason, "the router revoked a registration");
            reg.end(EndReason::Revoked(reason));
        }
    }

    /// When the next refused restore is due to be tried again.
    pub(crate) fn next_retry(&self) -> Option<Instant> {
        self.retrying.iter().map(|r| r.at).min()
    }

    /// The REGISTERs of the refused restores due by `now`.
    pub(crate) fn due_retries(&mut self, now: Instant, ids: &RequestIds) -> Vec<Message> {
        let (due, later): (Vec<Retry>, Vec<Retry>) = std::mem::take(&mut self.retrying)
            .into_iter()
            .partition(|r| r.at <= now);
        self.retrying = later;
        due.into_iter()
            .map(|r| self.send_register(r.registration, None, ids))
            .collect()
    }

    /// The active registration with the router's ID `registration`.
    pub(crate) fn get(&self, registration: Id) -> Option<&Registration> {
        self.active.get(&registration)
    }

    /// The connection is gone but will come back: waiting callers fail with `err`,
    /// registrations are kept (those being registered again, under placeholder IDs).
    pub(crate) fn go_offline(&mut self, err: &dyn Fn() -> Error, ids: &RequestIds) {
        for (_, reply) in self.unregistering.drain() {
            let _ = reply.send(Err(err()));
        }
        for (_, p) in self.pending.drain() {
            match p.reply {
                Some(reply) => {
                    let _ = reply.send(Err(err()));
                }
                // A re-registration in flight: keep it for the next connection (unless
                // its owner unregistered it meanwhile).
                None if p.abandoned => {}
                None => {
                    let placeholder = ids.next();
                    self.by_local.insert(p.registration.local, placeholder);
                    self.active.insert(placeholder, p.registration);
                }
            }
        }
        // Refused restores wait for the next connection like the others.
        for r in std::mem::take(&mut self.retrying) {
            let placeholder = ids.next();
            self.by_local.insert(r.registration.local, placeholder);
            self.active.insert(placeholder, r.registration);
        }
    }

    /// After a reconnect: every registration becomes pending again; the REGISTERs to send.
    pub(crate) fn restore(&mut self, ids: &RequestIds) -> Vec<Message> {
        self.by_local.clear();
        let active: Vec<Registration> = self.active.drain().map(|(_, r)| r).collect();
        active
            .into_iter()
            .map(|registration| self.send_register(registration, None, ids))
            .collect()
    }

    /// The session is over: waiting callers fail with `err`, every registration ends with
    /// `end`.
    pub(crate) fn fail(&mut self, err: &dyn Fn() -> Error, end: &dyn Fn() -> EndReason) {
        for (_, reply) in self.unregistering.drain() {
            let _ = reply.send(Err(err()));
        }
        for (_, p) in self.pending.drain() {
            match p.reply {
                Some(reply) => {
                    let _ = reply.send(Err(err()));
                }
                None => p.registration.end(end()),
            }
        }
        for (_, registration) in self.active.drain() {
            registration.end(end());
        }
        for r in self.retrying.drain(..) {
            r.registration.end(end());
        }
        self.by_local.clear();
    }
}
