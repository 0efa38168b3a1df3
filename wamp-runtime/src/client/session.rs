//! The [`Session`] handle: what every request, registration and subscription holds, and
//! the ways it reaches the driver task. The requests themselves (`Session::call` and the
//! others) are in `requests.rs`, `Session::builder` in `builder.rs`: they need this
//! module, not the other way round.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::command::{Command, Commands, Joined, RequestIds};
use super::error::Error;
use super::outbound::{self, CallSink};
use super::types::SessionState;
use crate::protocol::{options::role_has_feature, Id, Role, Uri, WelcomeDetails};
use crate::serializer::Serializer;

/// What the handles of one session share.
pub(crate) struct Inner {
    pub(crate) commands: Commands,
    pub(crate) ids: Arc<RequestIds>,
    pub(crate) locals: AtomicU64,
    pub(crate) joined: Arc<std::sync::RwLock<Joined>>,
    pub(crate) realm: Uri,
    pub(crate) serializer: Serializer,
    pub(crate) state: tokio::sync::watch::Receiver<SessionState>,
}

/// A joined WAMP session. Cheap to clone (`Arc` inside), `Send + Sync`.
///
/// The session lives as long as any handle, subscription or registration refers to it,
/// or until [`Session::leave`].
#[derive(Clone)]
pub struct Session {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id())
            .field("realm", &self.inner.realm)
            .field("serializer", &self.inner.serializer)
            .finish()
    }
}

impl Session {
    /// The session ID the router assigned (a new one after each reconnect).
    pub fn id(&self) -> Id {
        self.inner
            .joined
            .read()
            .map(|j| j.session)
            .unwrap_or(Id::MIN)
    }

    /// The realm joined.
    pub fn realm(&self) -> &Uri {
        &self.inner.realm
    }

    /// WELCOME.Details: the router's roles and features, the authenticated identity
    /// (of the current connection, after reconnects).
    pub fn welcome_details(&self) -> WelcomeDetails {
        self.inner
            .joined
            .read()
            .map(|j| j.welcome.clone())
            .unwrap_or_default()
    }

    /// Whether the router announced `feature` for `role` (`Role::Dealer`, `Role::Broker`).
    pub fn router_has_feature(&self, role: Role, feature: &str) -> bool {
        self.welcome_details()
            .roles()
            .is_some_and(|roles| role_has_feature(&roles, role, feature))
    }

    /// The serializer typed payloads are encoded with (the transport's; MessagePack for
    /// in-memory transports).
    pub fn serializer(&self) -> Serializer {
        self.inner.serializer
    }

    /// Watches the session's state.
    pub fn state(&self) -> tokio::sync::watch::Receiver<SessionState> {
        self.inner.state.clone()
    }

    /// Whether the session is still joined.
    pub fn is_connected(&self) -> bool {
        matches!(*self.inner.state.borrow(), SessionState::Joined(_))
    }

    /// Leaves the realm: GOODBYE, wait for the router's GOODBYE, close the connection.
    /// Pending calls fail; subscriptions and registrations end.
    pub async fn leave(&self) -> Result<(), Error> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(Command::Leave {
            reason: Uri::from_static("wamp.close.close_realm"),
            reply: tx,
        })?;
        match tokio::time::timeout(std::time::Duration::from_secs(5), rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Ok(()),
            Err(_) => Err(Error::Timeout(std::time::Duration::from_secs(5))),
        }
    }

    /// Hands a command to the driver; fails when the session is over.
    pub(crate) fn send(&self, cmd: Command) -> Result<(), Error> {
        self.inner
            .commands
            .send(cmd)
            .map_err(|_| self.not_connected())
    }

    /// Sends a CALL: written on this thread if the connection is idle (see
    /// [`outbound`]), otherwise handed to the driver.
    pub(crate) fn send_call(
        &self,
        request: Id,
        msg: crate::protocol::Message,
        reply: CallSink,
    ) -> Result<(), Error> {
        match self.inner.commands.outbound().try_call(request, msg, reply) {
            outbound::Direct::Done => Ok(()),
            // Ignoring a failure is right: the driver is gone, and with it the call's
            // reply, which then reports the end of the session.
            outbound::Direct::NeedsFlush => {
                let _ = self.inner.commands.send(Command::Flush);
                Ok(())
            }
            outbound::Direct::Declined(msg, reply) => self.send(Command::Call {
                request,
                msg,
                reply,
            }),
        }
    }

    /// The error for a request that finds the session not connected, saying why.
    pub(crate) fn not_connected(&self) -> Error {
        match &*self.inner.state.borrow() {
            SessionState::Closed(reason) | SessionState::Disconnected(reason) => {
                Error::NotConnected(Some(reason.clone()))
            }
            SessionState::Reconnecting(n) => {
                Error::NotConnected(Some(format!("reconnecting (attempt {n})")))
            }
            SessionState::Joined(_) => Error::NotConnected(None),
        }
    }

    /// A new request ID.
    pub(crate) fn next_request(&self) -> Id {
        self.inner.ids.next()
    }

    /// A new local ID (for a subscription or registration handle).
    pub(crate) fn next_local(&self) -> u64 {
        self.inner.locals.fetch_add(1, Ordering::Relaxed)
    }
}
