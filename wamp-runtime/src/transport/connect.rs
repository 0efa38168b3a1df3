//! Connecting by URL: `ws://`, `wss://`, RawSocket `tcp://` / `tcps://` (with Autobahn's
//! `rs://` and `rss://` as aliases).

use std::time::Duration;

use tokio::net::TcpStream;

use super::rawsocket::{self, RawSocketConfig};
use super::tls::TlsClientConfig;
use super::websocket::{self, WebSocketConfig};
use super::{HandshakeError, Transport, TransportError, TransportKind, DEFAULT_MAX_MESSAGE_SIZE};
use crate::serializer::Serializer;

/// The URL schemes we connect to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlScheme {
    /// `ws://`
    Ws,
    /// `wss://`
    Wss,
    /// `tcp://` or `rs://`: RawSocket.
    Tcp,
    /// `tcps://` or `rss://`: RawSocket over TLS.
    Tcps,
}

impl UrlScheme {
    /// The transport kind this scheme gives.
    pub fn kind(self) -> TransportKind {
        match self {
            UrlScheme::Ws => TransportKind::WebSocket,
            UrlScheme::Wss => TransportKind::SecureWebSocket,
            UrlScheme::Tcp => TransportKind::RawSocket,
            UrlScheme::Tcps => TransportKind::SecureRawSocket,
        }
    }

    /// Whether the scheme uses TLS.
    pub fn is_tls(self) -> bool {
        matches!(self, UrlScheme::Wss | UrlScheme::Tcps)
    }
}

/// A parsed transport URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportUrl {
    /// The scheme.
    pub scheme: UrlScheme,
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// Port (defaults: 80/443 for WebSocket, 8080/443 for RawSocket).
    pub port: u16,
    /// The full URL, for the WebSocket request.
    pub url: String,
}

impl TransportUrl {
    /// Parses and checks a URL.
    pub fn parse(input: &str) -> Result<TransportUrl, TransportError> {
        let invalid = |reason: &str| TransportError::InvalidUrl {
            url: input.to_owned(),
            reason: reason.to_owned(),
        };
        let parsed = url::Url::parse(input).map_err(|e| invalid(&e.to_string()))?;
        let scheme = match parsed.scheme() {
            "ws" => UrlScheme::Ws,
            "wss" => UrlScheme::Wss,
            "tcp" | "rs" => UrlScheme::Tcp,
            "tcps" | "rss" => UrlScheme::Tcps,
            other => {
                return Err(invalid(&format!(
                    "unsupported scheme {other:?} (use ws, wss, tcp, tcps, rs or rss)"
                )))
            }
        };
        let host = parsed
            .host_str()
            .ok_or_else(|| invalid("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let default_port = match scheme {
            UrlScheme::Ws => 80,
            UrlScheme::Wss | UrlScheme::Tcps => 443,
            UrlScheme::Tcp => 8080,
        };
        if matches!(scheme, UrlScheme::Tcp | UrlScheme::Tcps) && !matches!(parsed.path(), "" | "/")
        {
            return Err(invalid("RawSocket URLs have no path"));
        }
        Ok(TransportUrl {
            scheme,
            host,
            port: parsed.port().unwrap_or(default_port),
            url: input.to_owned(),
        })
    }
}

/// Everything needed to open a client transport.
#[derive(Clone, Debug)]
pub struct ClientTransportConfig {
    /// Serializers in order of preference. WebSocket offers them all at once; RawSocket
    /// tries them one connection at a time.
    pub serializers: Vec<Serializer>,
    /// TLS settings for `wss://` and `tcps://`.
    pub tls: TlsClientConfig,
    /// Largest message accepted (and, for WebSocket, sent).
    pub max_message_size: usize,
    /// Keepalive ping interval. WebSocket only unless `rawsocket_ping` is set.
    pub ping_interval: Option<Duration>,
    /// How long to wait for an answer to a ping.
    pub ping_timeout: Duration,
    /// Also send RawSocket PING frames. Off by default: Crossbar.io drops the
    /// connection on them.
    pub rawsocket_ping: bool,
    /// Extra HTTP headers for the WebSocket handshake.
    pub headers: Vec<(String, String)>,
    /// Limit for TCP connect, TLS and transport handshakes together.
    pub connect_timeout: Duration,
}

impl Default for ClientTransportConfig {
    fn default() -> Self {
        ClientTransportConfig {
            serializers: Serializer::ALL.to_vec(),
            tls: TlsClientConfig::new(),
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            ping_interval: None,
            ping_timeout: Duration::from_secs(10),
            rawsocket_ping: false,
            headers: Vec::new(),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// Connects to `url` and negotiates a serializer.
pub async fn connect(
    url: &str,
    config: &ClientTransportConfig,
) -> Result<Transport, TransportError> {
    let url = TransportUrl::parse(url)?;
    if config.serializers.is_empty() {
        return Err(TransportError::NoCommonSerializer {
            offered: Vec::new(),
            chosen: None,
        });
    }
    let attempt = async {
        match url.scheme {
            UrlScheme::Ws | UrlScheme::Wss => connect_websocket(&url, config).await,
            UrlScheme::Tcp | UrlScheme::Tcps => connect_rawsocket(&url, config).await,
        }
    };
    tokio::time::timeout(config.connect_timeout, attempt)
        .await
        .map_err(|_| TransportError::Timeout(config.connect_timeout))?
}

async fn tcp(url: &TransportUrl) -> Result<(TcpStream, std::net::SocketAddr), TransportError> {
    let stream = TcpStream::connect((url.host.as_str(), url.port)).await?;
    // WAMP messages are small and latency-bound: never wait for Nagle.
    stream.set_nodelay(true)?;
    let peer = stream.peer_addr()?;
    Ok((stream, peer))
}

async fn connect_websocket(
    url: &TransportUrl,
    config: &ClientTransportConfig,
) -> Result<Transport, TransportError> {
    let ws_config = WebSocketConfig {
        max_message_size: config.max_message_size,
        ping_interval: config.ping_interval,
        ping_timeout: config.ping_timeout,
        headers: config.headers.clone(),
        path: None,
    };
    let (stream, peer) = tcp(url).await?;
    let kind = url.scheme.kind();
    if url.scheme.is_tls() {
        let tls = config.tls.connect(&url.host, stream).await?;
        websocket::connect(
            tls,
            &url.url,
            &config.serializers,
            &ws_config,
            kind,
            Some(peer),
        )
        .await
    } else {
        websocket::connect(
            stream,
            &url.url,
            &config.serializers,
            &ws_config,
            kind,
            Some(peer),
        )
        .await
    }
}

async fn connect_rawsocket(
    url: &TransportUrl,
    config: &ClientTransportConfig,
) -> Result<Transport, TransportError> {
    let rs_config = RawSocketConfig {
        max_message_size: config.max_message_size,
        ping_interval: if config.rawsocket_ping {
            config.ping_interval
        } else {
            None
        },
        ping_timeout: config.ping_timeout,
    };
    let mut last_error = None;
    for &serializer in &config.serializers {
        let (stream, peer) = tcp(url).await?;
        let kind = url.scheme.kind();
        let result = if url.scheme.is_tls() {
            let tls = config.tls.connect(&url.host, stream).await?;
            rawsocket::connect(tls, serializer, &rs_config, kind, Some(peer)).await
        } else {
            rawsocket::connect(stream, serializer, &rs_config, kind, Some(peer)).await
        };
        match result {
            // Routers refuse an unknown serializer with error code 1, or (Crossbar) by
            // closing the connection: try the next one.
            Err(TransportError::Handshake(
                HandshakeError::SerializerUnsupported(_) | HandshakeError::Closed,
            )) => {
                last_error = Some(serializer);
            }
            other => return other,
        }
    }
    Err(TransportError::NoCommonSerializer {
        offered: config.serializers.clone(),
        chosen: last_error.map(|_| "none (every RawSocket handshake was refused)".to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = TransportUrl::parse("ws://127.0.0.1:8080/ws").expect("valid");
        assert_eq!(
            (u.scheme, u.host.as_str(), u.port),
            (UrlScheme::Ws, "127.0.0.1", 8080)
        );
        assert_eq!(
            TransportUrl::parse("wss://example.com/ws")
                .map(|u| u.port)
                .ok(),
            Some(443)
        );
        assert_eq!(
            TransportUrl::parse("rs://h:1").map(|u| u.scheme).ok(),
            Some(UrlScheme::Tcp)
        );
        assert_eq!(
            TransportUrl::parse("rss://h:1").map(|u| u.scheme).ok(),
            Some(UrlScheme::Tcps)
        );
        assert_eq!(
            TransportUrl::parse("tcps://[::1]:9").map(|u| u.host).ok(),
            Some("::1".to_owned())
        );
        for bad in ["http://x", "ws://", "tcp://h:1/path", "nonsense"] {
            assert!(TransportUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
