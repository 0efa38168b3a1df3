//! The embedded router: a WAMP broker and dealer in-process, with WebSocket and RawSocket
//! listeners (optionally over TLS) and in-memory sessions.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use wamp::router::{RealmConfig, Router};
//! let router = Router::builder()
//!     .realm(RealmConfig::new("realm1"))
//!     .websocket("127.0.0.1:8080".parse()?)
//!     .start()
//!     .await?;
//! // An in-process client session, no socket involved:
//! let session = wamp::Session::builder("memory").connect_with(router.local_transport()).await?;
//! # Ok(()) }
//! ```
//!
//! Slow consumers: a session may fall behind for a while (a burst), but one that stays
//! more than [`Limits::outbound_queue`] messages behind for longer than
//! [`Limits::slow_consumer_grace`], or ever falls [`Limits::outbound_hard_limit`] messages or
//! [`Limits::outbound_queue_bytes`] bytes behind, is ended with ABORT
//! `wamp.error.slow_consumer`; nobody else waits for it.
//!
//! Refused logins: the ABORT for a failed authentication is delayed, more for each further
//! failure of the same authid ([`Limits::login_failure_delay`]), and a connection may fail
//! [`Limits::login_failures_per_connection`] times before it is closed.

mod auth;
mod authz;
mod broker;
mod connections;
mod convert;
mod dealer;
mod login_guard;
mod matching;
mod meta;
mod peer;
mod realm;
mod session;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::task::TaskTracker;

pub use auth::{RealmConfig, User, UserAuth};
pub use authz::{Action, Permission};
pub use convert::RouterStats;

use crate::protocol::Uri;
use crate::serializer::Serializer;
use crate::transport::rawsocket::{self, RawSocketConfig};
use crate::transport::tls::TlsServerConfig;
use crate::transport::websocket::{self, WebSocketConfig};
use crate::transport::{
    memory, Transport, TransportError, TransportKind, DEFAULT_MAX_MESSAGE_SIZE,
};
use realm::Realm;

/// Resource limits: what one peer may take of the router, so that it cannot take it from
/// the others. Every limit has a key in `wamp router`'s TOML (`[limits]`); the README lists
/// them with their defaults. A limit that is hit is refused in the open, never silently:
/// connections over a connection limit get the transport's own refusal (RawSocket handshake
/// error 4 "maximum connection count reached", WebSocket HTTP 503), requests over a
/// per-session limit an ERROR [`LIMIT_EXCEEDED`] naming the limit, and a session over its
/// outbound queue an ABORT `wamp.error.slow_consumer`.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest message accepted from (and sent to) a client (default 16 MiB).
    pub max_message_size: usize,
    /// Queued messages above which a session starts to count as a slow consumer
    /// (default 4096).
    pub outbound_queue: usize,
    /// How long a session may stay above `outbound_queue` before it is disconnected as a
    /// slow consumer (default 5 s): bursts are fine, falling behind for good is not.
    pub slow_consumer_grace: Duration,
    /// Queued messages above which a session is disconnected at once (default 262144).
    pub outbound_hard_limit: usize,
    /// Queued bytes (payloads plus a small allowance per message) above which a session is
    /// disconnected at once as a slow consumer (default 8 MiB). A message always fits an
    /// empty queue, so a message of up to `max_message_size` is still delivered.
    pub outbound_queue_bytes: usize,
    /// Time allowed for the transport handshake: TLS, then the WebSocket upgrade or the
    /// RawSocket handshake (default 10 s). A connection that sends nothing, or dribbles its
    /// HTTP request (slowloris), is closed when it runs out.
    pub handshake_timeout: Duration,
    /// Time allowed for each login attempt once the transport is open: from when the router
    /// starts waiting for a HELLO until it has the last message of the authentication
    /// (default 10 s). A connection that never sends HELLO, or never answers the CHALLENGE,
    /// is closed when it runs out. The delay of a refused login is the router's own and does
    /// not count.
    pub hello_timeout: Duration,
    /// Connections the router holds at once over all its listeners, handshakes included
    /// (default 20000; in-process sessions do not count). One more is refused.
    pub max_connections: usize,
    /// Connections from one remote address at once (default 1000). IPv6 addresses count
    /// per /64 network, the smallest block one subscriber usually gets.
    pub max_connections_per_address: usize,
    /// Registrations one session may hold (default 1000); one more REGISTER is answered
    /// with ERROR [`LIMIT_EXCEEDED`].
    pub max_registrations_per_session: usize,
    /// Subscriptions one session may hold (default 1000); one more SUBSCRIBE is answered
    /// with ERROR [`LIMIT_EXCEEDED`].
    pub max_subscriptions_per_session: usize,
    /// Calls one session may have in flight as caller (default 1000); one more CALL is
    /// answered with ERROR [`LIMIT_EXCEEDED`] (the calls in flight go on).
    pub max_pending_calls_per_session: usize,
    /// Invocations one callee may have in flight, from all its callers together (default
    /// 10000); a CALL that would be one more is answered with ERROR [`LIMIT_EXCEEDED`], so
    /// that a callee that stopped answering fails its callers at once rather than piling
    /// up their calls.
    pub max_invocations_per_callee: usize,
    /// Testaments one session may have waiting (`wamp.session.add_testament`, both
    /// scopes together; default 64); one more is answered with ERROR [`LIMIT_EXCEEDED`].
    /// Each holds an event payload until the session ends.
    pub max_testaments_per_session: usize,
    /// How long the ABORT for a failed authentication waits (default 500 ms). It doubles
    /// with each further failure of the same authid in the same realm, up to
    /// `login_failure_delay_max`; a successful login of that authid, or a quiet spell of
    /// twice the maximum, starts it over. Authids the realm does not know share one count.
    /// Zero turns the delay off. Correct logins are never delayed.
    pub login_failure_delay: Duration,
    /// The longest a failed authentication waits for its ABORT (default 16 s).
    pub login_failure_delay_max: Duration,
    /// Failed HELLOs (refused authentication, unknown realm) one connection may make; after
    /// the last ABORT the connection is closed (WebSocket 1008). Default 3; at least 1.
    pub login_failures_per_connection: u32,
}

/// The error URI of a request refused because the session hit one of its [`Limits`]
/// (registrations, subscriptions, testaments, calls in flight, or the callee's invocations
/// in flight).
/// The ERROR's first argument says which limit, by its TOML key, and its value; its
/// keyword arguments carry them as `limit` and `max`.
///
/// The WAMP specification defines no URI for this (`wamp.error.payload_size_exceeded` is
/// for messages, and nothing else fits), so the router names the condition itself, in the
/// `wamp.error.` namespace like the specification's own errors.
pub const LIMIT_EXCEEDED: &str = "wamp.error.limit_exceeded";

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            outbound_queue: 4096,
            slow_consumer_grace: Duration::from_secs(5),
            outbound_hard_limit: 262_144,
            outbound_queue_bytes: 8 * 1024 * 1024,
            handshake_timeout: Duration::from_secs(10),
            hello_timeout: Duration::from_secs(10),
            max_connections: 20_000,
            max_connections_per_address: 1_000,
            max_registrations_per_session: 1_000,
            max_subscriptions_per_session: 1_000,
            max_pending_calls_per_session: 1_000,
            max_invocations_per_callee: 10_000,
            max_testaments_per_session: 64,
            login_failure_delay: Duration::from_millis(500),
            login_failure_delay_max: Duration::from_secs(16),
            login_failures_per_connection: 3,
        }
    }
}

/// The kind of listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListenerKind {
    /// WebSocket at path `/ws`.
    WebSocket,
    /// RawSocket.
    RawSocket,
}

#[derive(Clone, Debug)]
struct ListenerConfig {
    kind: ListenerKind,
    addr: SocketAddr,
    tls: Option<TlsServerConfig>,
}

/// A listener once bound.
#[derive(Clone, Debug)]
pub struct BoundListener {
    /// What it serves.
    pub kind: ListenerKind,
    /// Where it listens (the real port when asked for port 0).
    pub addr: SocketAddr,
    /// Whether it is TLS.
    pub tls: bool,
}

impl BoundListener {
    /// A client URL for this listener (`ws://addr/ws`, `tcp://addr`, or the TLS forms).
    pub fn url(&self) -> String {
        match (self.kind, self.tls) {
            (ListenerKind::WebSocket, false) => format!("ws://{}/ws", self.addr),
            (ListenerKind::WebSocket, true) => format!("wss://{}/ws", self.addr),
            (ListenerKind::RawSocket, false) => format!("tcp://{}", self.addr),
            (ListenerKind::RawSocket, true) => format!("tcps://{}", self.addr),
        }
    }
}

/// Why the router could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RouterError {
    /// A listener could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The socket error.
        source: std::io::Error,
    },
    /// TLS configuration failed.
    #[error(transparent)]
    Tls(#[from] TransportError),
    /// A realm name is not a valid URI, or appears twice.
    #[error("invalid realm {0:?}")]
    InvalidRealm(String),
}

/// Configures and starts a [`Router`].
#[derive(Clone, Debug, Default)]
pub struct RouterBuilder {
    realms: Vec<RealmConfig>,
    listeners: Vec<ListenerConfig>,
    limits: Limits,
}

impl RouterBuilder {
    /// Adds a realm.
    pub fn realm(mut self, realm: RealmConfig) -> Self {
        self.realms.push(realm);
        self
    }

    /// Listens for WebSocket connections (path `/ws`, all three serializers).
    pub fn websocket(mut self, addr: SocketAddr) -> Self {
        self.listeners.push(ListenerConfig {
            kind: ListenerKind::WebSocket,
            addr,
            tls: None,
        });
        self
    }

    /// Listens for WebSocket connections over TLS.
    pub fn websocket_tls(mut self, addr: SocketAddr, tls: TlsServerConfig) -> Self {
        self.listeners.push(ListenerConfig {
            kind: ListenerKind::WebSocket,
            addr,
            tls: Some(tls),
        });
        self
    }

    /// Listens for RawSocket connections (all three serializers).
    pub fn rawsocket(mut self, addr: SocketAddr) -> Self {
        self.listeners.push(ListenerConfig {
            kind: ListenerKind::RawSocket,
            addr,
            tls: None,
        });
        self
    }

    /// Listens for RawSocket connections over TLS.
    pub fn rawsocket_tls(mut self, addr: SocketAddr, tls: TlsServerConfig) -> Self {
        self.listeners.push(ListenerConfig {
            kind: ListenerKind::RawSocket,
            addr,
            tls: Some(tls),
        });
        self
    }

    /// Resource limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Binds every listener and starts serving.
    pub async fn start(self) -> Result<Router, RouterError> {
        let mut realms = HashMap::new();
        let mut configs = HashMap::new();
        let counters = Arc::new(convert::Counters::default());
        for config in self.realms {
            let name = Uri::new(&config.name)
                .map_err(|_| RouterError::InvalidRealm(config.name.clone()))?;
            if realms
                .insert(
                    config.name.clone(),
                    Realm::new(
                        name,
                        config.roles.clone(),
                        config.event_history,
                        counters.clone(),
                        realm::SessionLimits::from(&self.limits),
                    ),
                )
                .is_some()
            {
                return Err(RouterError::InvalidRealm(config.name));
            }
            configs.insert(config.name.clone(), config);
        }
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(RouterShared {
            realms,
            configs,
            logins: login_guard::LoginGuard::new(
                self.limits.login_failure_delay,
                self.limits.login_failure_delay_max,
            ),
            connections: connections::Connections::new(
                self.limits.max_connections,
                self.limits.max_connections_per_address,
            ),
            limits: self.limits.clone(),
            counters,
        });
        let tasks = TaskTracker::new();
        let mut bound = Vec::new();
        for l in self.listeners {
            let listener = TcpListener::bind(l.addr)
                .await
                .map_err(|source| RouterError::Bind {
                    addr: l.addr,
                    source,
                })?;
            let addr = listener.local_addr().map_err(|source| RouterError::Bind {
                addr: l.addr,
                source,
            })?;
            let acceptor = l.tls.as_ref().map(TlsServerConfig::acceptor).transpose()?;
            bound.push(BoundListener {
                kind: l.kind,
                addr,
                tls: acceptor.is_some(),
            });
            tasks.spawn(accept_loop(
                listener,
                l.kind,
                acceptor,
                shared.clone(),
                shutdown_rx.clone(),
                tasks.clone(),
            ));
        }
        Ok(Router {
            inner: Arc::new(RouterInner {
                shared,
                listeners: bound,
                shutdown: shutdown_tx,
                tasks,
            }),
        })
    }
}

/// What every session task needs.
pub(crate) struct RouterShared {
    pub(crate) realms: HashMap<String, Arc<Realm>>,
    pub(crate) configs: HashMap<String, RealmConfig>,
    pub(crate) limits: Limits,
    /// Failed logins, for their delays.
    pub(crate) logins: login_guard::LoginGuard,
    /// Messages refused or dropped for a payload a recipient cannot represent.
    pub(crate) counters: Arc<convert::Counters>,
    /// Connections held, for the connection limits.
    connections: Arc<connections::Connections>,
}

struct RouterInner {
    shared: Arc<RouterShared>,
    listeners: Vec<BoundListener>,
    shutdown: watch::Sender<bool>,
    tasks: TaskTracker,
}

/// A running router. Cheap to clone; [`Router::shutdown`] stops it.
#[derive(Clone)]
pub struct Router {
    inner: Arc<RouterInner>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("listeners", &self.inner.listeners)
            .finish_non_exhaustive()
    }
}

impl Router {
    /// Starts configuring a router.
    pub fn builder() -> RouterBuilder {
        RouterBuilder::default()
    }

    /// The bound listeners, in the order they were configured.
    pub fn listeners(&self) -> &[BoundListener] {
        &self.inner.listeners
    }

    /// A transport connected to this router in-process (no socket, no serialization).
    /// Join over it with `Session::builder(..).connect_with(transport)`.
    pub fn local_transport(&self) -> Transport {
        let (client, server) = memory::pair();
        let shared = self.inner.shared.clone();
        let shutdown = self.inner.shutdown.subscribe();
        self.inner
            .tasks
            .spawn(session::serve(server, shared, shutdown));
        client
    }

    /// Number of sessions currently joined, over all realms.
    pub fn session_count(&self) -> usize {
        self.inner
            .shared
            .realms
            .values()
            .map(|r| r.lock().sessions.len())
            .sum()
    }

    /// The router's counters (messages refused or dropped because a payload had no form
    /// in a recipient's serializer).
    pub fn stats(&self) -> RouterStats {
        self.inner.shared.counters.snapshot()
    }

    /// What the realms still hold for `session` (for every session when `None`):
    /// sessions, subscriptions, registrations, calls. Empty once a session has left (or
    /// everyone has). For the fuzz targets only (`fuzzing` feature), not an API.
    #[cfg(feature = "fuzzing")]
    #[doc(hidden)]
    pub fn fuzz_residue(&self, session: Option<crate::protocol::Id>) -> Vec<String> {
        let mut out = Vec::new();
        for realm in self.inner.shared.realms.values() {
            let state = realm.lock();
            for s in state.sessions.keys() {
                if session.is_none_or(|want| want == *s) {
                    out.push(format!("realm {} still has session {s}", realm.name));
                }
            }
            state.broker.residue(session, &mut out);
            state.dealer.residue(session, &mut out);
        }
        out
    }

    /// Graceful shutdown: every session gets GOODBYE `wamp.close.system_shutdown`,
    /// listeners close, and this returns once every task has finished (or after
    /// `timeout`).
    pub async fn shutdown(&self, timeout: Duration) {
        self.inner.shutdown.send_replace(true);
        self.inner.tasks.close();
        let _ = tokio::time::timeout(timeout, self.inner.tasks.wait()).await;
    }
}

async fn accept_loop(
    listener: TcpListener,
    kind: ListenerKind,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<RouterShared>,
    mut shutdown: watch::Receiver<bool>,
    tasks: TaskTracker,
) {
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let slot = match shared.connections.admit(peer.ip()) {
            connections::Admission::Admitted(slot) => slot,
            connections::Admission::Refuse(refusing, why) => {
                tracing::debug!(%peer, "refusing a connection: {why}");
                let (limit, tls) = (shared.limits.handshake_timeout, tls.clone());
                tasks.spawn(async move {
                    let refusal = refuse_connection(stream, kind, tls, &why);
                    let _ = tokio::time::timeout(limit, refusal).await;
                    drop(refusing);
                });
                continue;
            }
            connections::Admission::Drop => {
                tracing::debug!(%peer, "over the connection limits: closed without an answer");
                continue;
            }
        };
        let (shared, shutdown, tls) = (shared.clone(), shutdown.clone(), tls.clone());
        tasks.spawn(async move {
            // Held until the connection's task ends: the connection's place in the counts.
            let _slot = slot;
            let limit = shared.limits.handshake_timeout;
            // Boxed: the TLS and transport handshakes' state must not stay in the
            // future of every established session.
            let opened =
                tokio::time::timeout(limit, Box::pin(open(stream, peer, kind, tls, &shared))).await;
            match opened {
                Ok(Ok(transport)) => session::serve(transport, shared, shutdown).await,
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "transport handshake failed"),
                Err(_) => tracing::debug!(%peer, "transport handshake timed out"),
            }
        });
    }
}

/// Answers a connection over a connection limit with the transport's own refusal:
/// RawSocket handshake error 4 ("maximum connection count reached", the one the
/// specification defines for this) or, for WebSocket, HTTP 503 before any upgrade, with
/// `why` (which limit) as the body. Either way the client learns why at once, before any
/// WAMP session state exists, and nothing of the refused connection is kept.
async fn refuse_connection(
    stream: tokio::net::TcpStream,
    kind: ListenerKind,
    tls: Option<tokio_rustls::TlsAcceptor>,
    why: &str,
) {
    let refused = match tls {
        None => refuse_on(stream, kind, why).await,
        Some(acceptor) => match acceptor.accept(stream).await {
            Ok(stream) => refuse_on(stream, kind, why).await,
            Err(e) => Err(TransportError::Tls(e.to_string())),
        },
    };
    if let Err(e) = refused {
        tracing::debug!(error = %e, "refusing a connection failed");
    }
}

async fn refuse_on<S>(stream: S, kind: ListenerKind, why: &str) -> Result<(), TransportError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    match kind {
        ListenerKind::RawSocket => rawsocket::refuse_connection_limit(stream).await,
        ListenerKind::WebSocket => websocket::refuse(stream, 503, why).await,
    }
}

async fn open(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    kind: ListenerKind,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: &RouterShared,
) -> Result<Transport, TransportError> {
    let max = shared.limits.max_message_size;
    let ws = WebSocketConfig {
        max_message_size: max,
        path: Some("/ws".into()),
        ..Default::default()
    };
    let rs = RawSocketConfig {
        max_message_size: max,
        ..Default::default()
    };
    let all = Serializer::ALL;
    match (kind, tls) {
        (ListenerKind::WebSocket, None) => {
            websocket::accept(stream, &all, &ws, TransportKind::WebSocket, Some(peer)).await
        }
        (ListenerKind::RawSocket, None) => {
            rawsocket::accept(stream, &all, &rs, TransportKind::RawSocket, Some(peer)).await
        }
        (kind, Some(acceptor)) => {
            let stream = acceptor
                .accept(stream)
                .await
                .map_err(|e| TransportError::Tls(e.to_string()))?;
            // The client certificate, verified by rustls against the configured CAs.
            let fingerprint = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|cert| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(cert.as_ref())));
            let mut transport = match kind {
                ListenerKind::WebSocket => {
                    websocket::accept(
                        stream,
                        &all,
                        &ws,
                        TransportKind::SecureWebSocket,
                        Some(peer),
                    )
                    .await?
                }
                ListenerKind::RawSocket => {
                    rawsocket::accept(
                        stream,
                        &all,
                        &rs,
                        TransportKind::SecureRawSocket,
                        Some(peer),
                    )
                    .await?
                }
            };
            transport.set_peer_certificate_sha256(fingerprint);
            Ok(transport)
        }
    }
}
