//! The client: a [`Session`] with the four roles (caller, callee, publisher, subscriber).
//!
//! ```no_run
//! # async fn demo() -> Result<(), wamp::client::Error> {
//! let session = wamp::Session::builder("ws://127.0.0.1:8080/ws").realm("realm1").connect().await?;
//! let sum: (i64,) = session.call("com.example.add").args(&(2, 3)).await?.args()?;
//! # Ok(()) }
//! ```
//!
//! One background task owns the transport; [`Session`] handles are cheap to clone and
//! usable from any task; concurrent calls are multiplexed on the one connection.

mod builder;
mod callee;
mod driver;
mod error;
mod feed;
mod join;
mod outbound;
mod requests;
mod types;
mod uri;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub use builder::{ReconnectPolicy, SessionBuilder};
pub use callee::{Args, ArgsKw, IntoPayload, IntoResult, Kwargs};
pub use error::{Error, StandardError, WampError};
pub use requests::{
    CallFuture, CallRequest, ProgressiveCall, PublishRequest, RegisterRequest, Registration,
    StreamingCall, SubscribeRequest, Subscription,
};
#[cfg(feature = "test-util")]
pub use types::ProgressReceiver;
pub use types::{CallResult, EndReason, Event, Invocation, Progressive, SessionState};
pub use uri::{IntoUri, PendingUri};

use crate::protocol::{options::role_has_feature, Id, Payload, Role, Uri, WelcomeDetails};
use crate::serializer::Serializer;
use driver::Command;

/// What a callee handler returns in the common case: result arguments, or an error for
/// the caller. Handlers may return any [`IntoResult`].
pub type HandlerResult = Result<Payload, WampError>;

/// A registered procedure's handler, type-erased.
pub(crate) type Handler =
    Arc<dyn Fn(Invocation) -> Pin<Box<dyn Future<Output = HandlerResult> + Send>> + Send + Sync>;

/// Session-scope request IDs, shared by the handles so that a call knows its own ID (to
/// cancel it) without asking the driver.
pub(crate) type RequestIds = crate::protocol::IdSequence;

struct Inner {
    commands: driver::Commands,
    ids: Arc<RequestIds>,
    locals: AtomicU64,
    joined: Arc<std::sync::RwLock<driver::Joined>>,
    realm: Uri,
    serializer: Serializer,
    state: tokio::sync::watch::Receiver<SessionState>,
}

/// A joined WAMP session. Cheap to clone (`Arc` inside), `Send + Sync`.
///
/// The session lives as long as any handle, subscription or registration refers to it,
/// or until [`Session::leave`].
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
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
    /// Starts building a session to a router at `url` (`ws://`, `wss://`, `tcp://`, `tcps://`).
    pub fn builder(url: impl Into<String>) -> SessionBuilder {
        SessionBuilder::new(url)
    }

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

    /// Calls a procedure. Set arguments and options on the returned request, then
    /// `.await` it (or turn it into a stream of progressive results). The URI is text
    /// (checked; an invalid one fails the call) or a [`Uri`] (see [`IntoUri`]).
    pub fn call(&self, procedure: impl IntoUri) -> CallRequest {
        CallRequest::new(self.clone(), procedure)
    }

    /// Publishes an event. Set arguments and options, then `.await` it. The topic is text
    /// or a [`Uri`] (see [`IntoUri`]).
    pub fn publish(&self, topic: impl IntoUri) -> PublishRequest {
        PublishRequest::new(self.clone(), topic)
    }

    /// Subscribes to a topic (or pattern). `.await` gives a [`Subscription`], a stream of
    /// events. Text is checked against the rules of the match policy when awaited; a
    /// [`Uri`] is taken as it is (see [`IntoUri`]).
    pub fn subscribe(&self, topic: impl IntoUri) -> SubscribeRequest {
        SubscribeRequest::new(self.clone(), topic)
    }

    /// Registers a procedure (or pattern) with an async handler. `.await` gives a
    /// [`Registration`]; dropping it unregisters. The URI is given as for
    /// [`Session::subscribe`].
    ///
    /// The handler returns anything [`IntoResult`]: a [`HandlerResult`] (result arguments
    /// or an error), a [`Payload`], `()`, or typed arguments ([`Args`], [`Kwargs`],
    /// [`ArgsKw`]).
    pub fn register<F, Fut>(&self, procedure: impl IntoUri, handler: F) -> RegisterRequest
    where
        F: Fn(Invocation) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoResult,
    {
        let handler: Handler = Arc::new(move |inv: Invocation| {
            let serializer = inv.serializer;
            let answer = handler(inv);
            Box::pin(async move { answer.await.into_result(serializer) })
        });
        RegisterRequest::new(self.clone(), procedure, handler)
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

    fn send(&self, cmd: Command) -> Result<(), Error> {
        self.inner
            .commands
            .send(cmd)
            .map_err(|_| self.not_connected())
    }

    /// Sends a CALL: written on this thread if the connection is idle (see
    /// [`outbound`]), otherwise handed to the driver.
    fn send_call(
        &self,
        request: Id,
        msg: crate::protocol::Message,
        reply: driver::CallSink,
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

    fn not_connected(&self) -> Error {
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

    fn next_request(&self) -> Id {
        self.inner.ids.next()
    }

    fn next_local(&self) -> u64 {
        self.inner.locals.fetch_add(1, Ordering::Relaxed)
    }
}
