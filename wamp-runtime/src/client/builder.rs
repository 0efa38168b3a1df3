//! Configuring and opening a session.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::driver::Driver;
use super::error::Error;
use super::join::join;
use super::types::SessionState;
use super::{Inner, RequestIds, Session};
use crate::auth::Credentials;
use crate::protocol::Uri;
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
        }
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
    pub async fn connect(&self) -> Result<Session, Error> {
        let realm = Uri::new(&self.realm)?;
        let transport = transport::connect(&self.url, &self.transport).await?;
        self.join_over(transport, realm).await
    }

    /// Joins over an already connected transport (e.g. one end of
    /// [`transport::memory::pair`]).
    pub async fn connect_with(&self, transport: Transport) -> Result<Session, Error> {
        let realm = Uri::new(&self.realm)?;
        self.join_over(transport, realm).await
    }

    async fn join_over(&self, mut transport: Transport, realm: Uri) -> Result<Session, Error> {
        let timeout = self.transport.connect_timeout;
        let welcome = tokio::time::timeout(
            timeout,
            join(
                &mut transport,
                &realm,
                &self.credentials,
                &self.agent,
                self.authrole.as_deref(),
            ),
        )
        .await
        .map_err(|_| Error::Timeout(timeout))??;
        let serializer = transport.info().serializer.unwrap_or(Serializer::MsgPack);
        let (tx, rx) = mpsc::unbounded_channel();
        let (state_tx, state_rx) = watch::channel(SessionState::Joined(welcome.session));
        let ids = Arc::new(RequestIds::default());
        let driver = Driver::new(
            transport,
            rx,
            tx.downgrade(),
            serializer,
            state_tx,
            ids.clone(),
        );
        tokio::spawn(driver.run());
        Ok(Session {
            inner: Arc::new(Inner {
                commands: tx,
                ids,
                locals: Default::default(),
                session_id: welcome.session,
                realm,
                welcome: welcome.details,
                serializer,
                state: state_rx,
            }),
        })
    }
}
