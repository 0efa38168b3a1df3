//! Configuring and opening a session.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::command::{Commands, Joined, RequestIds};
use super::driver::{Driver, Links};
use super::error::Error;
use super::join::join;
use super::outbound::Outbound;
use super::reconnect::{Connector, Reconnect, ReconnectPolicy};
use super::session::{Inner, Session};
use super::types::SessionState;
use crate::auth::Credentials;
use crate::protocol::{Uri, Welcome};
use crate::serializer::Serializer;
use crate::transport::tls::TlsClientConfig;
use crate::transport::{self, ClientTransportConfig, Transport};

/// Builds a [`Session`]: where to connect, which realm, how to authenticate.
#[derive(Clone, Debug)]
pub struct SessionBuilder {
    url: String,
    realm: String,
    credentials: Credentials,
    authrole: Option<String>,
    agent: String,
    transport: ClientTransportConfig,
    reconnect: Option<ReconnectPolicy>,
}

impl Session {
    /// Starts building a session to a router at `url` (`ws://`, `wss://`, `tcp://`, `tcps://`).
    pub fn builder(url: impl Into<String>) -> SessionBuilder {
        SessionBuilder::new(url)
    }
}

impl SessionBuilder {
    pub(crate) fn new(url: impl Into<String>) -> Self {
        SessionBuilder {
            url: url.into(),
            realm: "realm1".into(),
            credentials: Credentials::Anonymous,
            authrole: None,
            agent: concat!("wamp-rs/", env!("CARGO_PKG_VERSION")).into(),
            transport: ClientTransportConfig::default(),
            reconnect: None,
        }
    }

    /// Reconnect automatically when the connection is lost (off by default). On
    /// reconnect the session joins again and re-subscribes and re-registers everything:
    /// event streams and handlers keep working. Calls in flight fail at once with
    /// [`Error::NotConnected`]; so do calls and publications while disconnected. A
    /// registration the router refuses to restore because the procedure is still
    /// registered (by our previous session, after a network partition, until the router
    /// notices it is gone) is tried again with this policy's backoff.
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.reconnect = Some(policy);
        self
    }

    /// The realm to join (default `realm1`).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// How to authenticate (default anonymous).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// The role to ask the router for.
    pub fn authrole(mut self, role: impl Into<String>) -> Self {
        self.authrole = Some(role.into());
        self
    }

    /// Serializers in order of preference (default JSON, MessagePack, CBOR).
    pub fn serializers(mut self, serializers: impl Into<Vec<Serializer>>) -> Self {
        self.transport.serializers = serializers.into();
        self
    }

    /// Use exactly one serializer.
    pub fn serializer(self, serializer: Serializer) -> Self {
        self.serializers(vec![serializer])
    }

    /// TLS settings for `wss://` and `tcps://`.
    pub fn tls(mut self, tls: TlsClientConfig) -> Self {
        self.transport.tls = tls;
        self
    }

    /// Limit for connecting, the TLS and transport handshakes (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.transport.connect_timeout = timeout;
        self
    }

    /// Largest message accepted (and sent) (default 16 MiB).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.transport.max_message_size = bytes;
        self
    }

    /// The `agent` string in HELLO.
    pub fn agent(mut self, agent: impl Into<String>) -> Self {
        self.agent = agent.into();
        self
    }

    /// An extra HTTP header for the WebSocket handshake.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.transport.headers.push((name.into(), value.into()));
        self
    }

    /// WebSocket keepalive pings (off by default). RawSocket PING frames too if
    /// `rawsocket` is set: off by default because Crossbar.io drops the connection on them.
    pub fn keepalive(mut self, interval: Duration, timeout: Duration, rawsocket: bool) -> Self {
        self.transport.ping_interval = Some(interval);
        self.transport.ping_timeout = timeout;
        self.transport.rawsocket_ping = rawsocket;
        self
    }

    /// Connects and joins. Fails with a clear error if the router cannot be reached, TLS
    /// fails, no serializer is common, the router aborts, or authentication fails.
    /// (Reconnection only applies once the session has been established.)
    pub async fn connect(&self) -> Result<Session, Error> {
        let (transport, welcome) = self.open().await?;
        self.start(transport, welcome)
    }

    /// Joins over an already connected transport (e.g. one end of
    /// [`transport::memory::pair`]). Such a session cannot reconnect by itself.
    pub async fn connect_with(&self, mut transport: Transport) -> Result<Session, Error> {
        let realm = Uri::new(&self.realm)?;
        let welcome = self.join_over(&mut transport, &realm).await?;
        let mut this = self.clone();
        this.reconnect = None;
        this.start(transport, welcome)
    }

    /// Opens a transport and joins.
    async fn open(&self) -> Result<(Transport, Welcome), Error> {
        let realm = Uri::new(&self.realm)?;
        let mut transport = transport::connect(&self.url, &self.transport).await?;
        let welcome = self.join_over(&mut transport, &realm).await?;
        Ok((transport, welcome))
    }

    async fn join_over(&self, transport: &mut Transport, realm: &Uri) -> Result<Welcome, Error> {
        let timeout = self.transport.connect_timeout;
        tokio::time::timeout(
            timeout,
            join(
                transport,
                realm,
                &self.credentials,
                &self.agent,
                self.authrole.as_deref(),
            ),
        )
        .await
        .map_err(|_| Error::Timeout(timeout))?
    }

    fn start(&self, transport: Transport, welcome: Welcome) -> Result<Session, Error> {
        let realm = Uri::new(&self.realm)?;
        let serializer = transport.info().serializer.unwrap_or(Serializer::MsgPack);
        let (tx, rx) = mpsc::unbounded_channel();
        let (state_tx, state_rx) = watch::channel(SessionState::Joined(welcome.session));
        let ids = Arc::new(RequestIds::default());
        let joined = Arc::new(std::sync::RwLock::new(Joined {
            session: welcome.session,
            welcome: welcome.details,
        }));
        let reconnect = self.reconnect.clone().map(|policy| {
            let builder = self.clone();
            let connect: Connector = Arc::new(move || {
                let builder = builder.clone();
                Box::pin(async move { builder.open().await })
            });
            Reconnect { connect, policy }
        });
        let (writer, reader) = transport::split(transport);
        let outbound = Arc::new(Outbound::new(writer));
        let links = Links {
            commands: rx,
            command_tx: tx.downgrade(),
            outbound: outbound.clone(),
            state: state_tx,
            joined: joined.clone(),
            ids: ids.clone(),
        };
        tokio::spawn(Driver::new(reader, serializer, links, reconnect).run());
        Ok(Session {
            inner: Arc::new(Inner {
                commands: Commands::new(tx, outbound),
                ids,
                locals: Default::default(),
                joined,
                realm,
                serializer,
                state: state_rx,
            }),
        })
    }
}
