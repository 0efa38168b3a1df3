//! Transports: how messages get from one peer to another.
//!
//! Every transport, whatever its framing and serializer, ends up as a [`Transport`]: a
//! `Stream` of incoming [`Message`]s and a `Sink` of outgoing ones. Sessions and the
//! router only ever see that type.
//!
//! - [`websocket`]: WebSocket client and server, subprotocol negotiation, ping/pong.
//! - [`rawsocket`]: WAMP RawSocket over TCP: handshake, framing, PING/PONG.
//! - [`tls`]: rustls configuration for both, client and server side.
//! - [`memory`]: an in-process pair with no serialization at all.
//! - [`connect`]: one entry point that picks the transport from a URL.

mod chunked;
mod connect;
mod error;
mod framed;
pub mod memory;
pub mod rawsocket;
pub mod tls;
pub mod websocket;

use std::fmt;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::{Sink, Stream};

pub use connect::{connect, ClientTransportConfig, TransportUrl, UrlScheme};
pub use error::{HandshakeError, TransportError};

use crate::protocol::Message;
use crate::serializer::Serializer;

/// The default maximum message size: 16 MiB, both ways (RawSocket's largest).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 16 * 1024 * 1024;

/// Which kind of transport carries a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// WebSocket (`ws://`).
    WebSocket,
    /// WebSocket over TLS (`wss://`).
    SecureWebSocket,
    /// RawSocket over TCP (`tcp://`, `rs://`).
    RawSocket,
    /// RawSocket over TLS (`tcps://`, `rss://`).
    SecureRawSocket,
    /// In-process, no bytes on any wire.
    Memory,
}

/// What a transport negotiated.
#[derive(Clone, Debug)]
pub struct TransportInfo {
    /// The kind of transport.
    pub kind: TransportKind,
    /// The serializer both sides agreed on; `None` for in-memory transports.
    pub serializer: Option<Serializer>,
    /// The largest message this side accepts.
    pub max_message_size: usize,
    /// The largest message the peer accepts (RawSocket tells; otherwise our own limit).
    pub peer_max_message_size: usize,
    /// The peer's address, for socket transports.
    pub peer_addr: Option<SocketAddr>,
    /// SHA-256 (hex) of the certificate the peer presented and TLS verified, if any.
    pub peer_certificate_sha256: Option<String>,
}

/// Why this side closes a connection. WebSocket sends it as the close frame's status code
/// (RFC 6455, section 7.4.1) with a short reason; RawSocket and in-memory transports have
/// no such field and ignore it. A transport closed without one says [`CloseReason::Normal`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CloseReason {
    /// 1000: the session ended as agreed (GOODBYE, a refused login answered with ABORT).
    #[default]
    Normal,
    /// 1001: this side is going away (router shutdown).
    GoingAway,
    /// 1002: the peer broke the WebSocket or WAMP protocol.
    ProtocolError,
    /// 1003: data of a kind this side cannot take (a text frame on a binary serializer).
    UnsupportedData,
    /// 1007: a message that does not decode (malformed, invalid UTF-8, invalid fields).
    InvalidPayload,
    /// 1008: the peer broke a policy (too many failed logins, a slow consumer).
    PolicyViolation,
    /// 1009: a message larger than this side accepts.
    TooBig,
}

impl CloseReason {
    /// The WebSocket close status code.
    pub fn websocket_code(self) -> u16 {
        match self {
            CloseReason::Normal => 1000,
            CloseReason::GoingAway => 1001,
            CloseReason::ProtocolError => 1002,
            CloseReason::UnsupportedData => 1003,
            CloseReason::InvalidPayload => 1007,
            CloseReason::PolicyViolation => 1008,
            CloseReason::TooBig => 1009,
        }
    }

    /// The short reason sent with the code.
    pub fn text(self) -> &'static str {
        match self {
            CloseReason::Normal => "normal closure",
            CloseReason::GoingAway => "going away",
            CloseReason::ProtocolError => "protocol error",
            CloseReason::UnsupportedData => "unsupported data",
            CloseReason::InvalidPayload => "invalid message",
            CloseReason::PolicyViolation => "policy violation",
            CloseReason::TooBig => "message too big",
        }
    }
}

/// Anything that is a `Stream` and `Sink` of messages. Implemented by every transport.
pub trait MessageChannel:
    Stream<Item = Result<Message, TransportError>> + Sink<Message, Error = TransportError> + Send
{
}

impl<T> MessageChannel for T where
    T: Stream<Item = Result<Message, TransportError>>
        + Sink<Message, Error = TransportError>
        + Send
{
}

/// A message channel that may also take frames already encoded in its serializer: the
/// router encodes an event once per serializer and sends the same bytes to every
/// subscriber (see [`Transport::frame_serializer`]).
pub(crate) trait Channel: MessageChannel {
    /// The serializer of the frames [`Channel::start_send_frame`] takes, if it takes any.
    fn frame_serializer(&self) -> Option<Serializer>;
    /// Like `start_send`, for a frame encoded with [`Channel::frame_serializer`].
    fn start_send_frame(self: Pin<&mut Self>, frame: bytes::Bytes) -> Result<(), TransportError>;
    /// Says why the next close happens (see [`CloseReason`]); nothing for transports
    /// without a close status.
    fn set_close_reason(self: Pin<&mut Self>, _reason: CloseReason) {}
}

/// Any other message channel (in-memory pairs, users' own): messages only.
struct MessagesOnly<T>(Pin<Box<T>>);

impl<T: MessageChannel> Stream for MessagesOnly<T> {
    type Item = Result<Message, TransportError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.as_mut().poll_next(cx)
    }
}

impl<T: MessageChannel> Sink<Message> for MessagesOnly<T> {
    type Error = TransportError;
    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.as_mut().poll_ready(cx)
    }
    fn start_send(mut self: Pin<&mut Self>, item: Message) -> Result<(), Self::Error> {
        self.0.as_mut().start_send(item)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.as_mut().poll_flush(cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.as_mut().poll_close(cx)
    }
}

impl<T: MessageChannel> Channel for MessagesOnly<T> {
    fn frame_serializer(&self) -> Option<Serializer> {
        None
    }
    fn start_send_frame(self: Pin<&mut Self>, _frame: bytes::Bytes) -> Result<(), TransportError> {
        Err(TransportError::Framing(
            "this transport takes messages, not encoded frames".into(),
        ))
    }
}

/// A connected transport: a `Stream` of incoming messages and a `Sink` of outgoing ones.
///
/// The stream yields `Err` for a message that could not be decoded (the session decides
/// whether that ends the session) and ends when the connection closes. Closing the sink
/// closes the connection cleanly (WebSocket close frame, TLS close_notify).
pub struct Transport {
    inner: Pin<Box<dyn Channel>>,
    info: TransportInfo,
}

impl Transport {
    /// Wraps any message channel.
    pub fn new(inner: impl MessageChannel + 'static, info: TransportInfo) -> Self {
        Transport {
            inner: Box::pin(MessagesOnly(Box::pin(inner))),
            info,
        }
    }

    /// Wraps a channel that also takes encoded frames.
    pub(crate) fn with_frames(inner: impl Channel + 'static, info: TransportInfo) -> Self {
        Transport {
            inner: Box::pin(inner),
            info,
        }
    }

    /// The serializer in which [`Transport::start_send_frame`] takes frames; `None` when
    /// this transport only takes messages.
    pub(crate) fn frame_serializer(&self) -> Option<Serializer> {
        self.inner.frame_serializer()
    }

    /// Queues a frame already encoded with [`Transport::frame_serializer`] (after
    /// `poll_ready`, like `start_send`). Refused with `MessageTooLarge` like a message.
    pub(crate) fn start_send_frame(&mut self, frame: bytes::Bytes) -> Result<(), TransportError> {
        self.inner.as_mut().start_send_frame(frame)
    }

    /// Says why this side will close the connection: a WebSocket close frame then carries
    /// the reason's status code (1000 if never set). Call it before closing the sink.
    pub fn set_close_reason(&mut self, reason: CloseReason) {
        self.inner.as_mut().set_close_reason(reason);
    }

    /// What was negotiated.
    pub fn info(&self) -> &TransportInfo {
        &self.info
    }

    /// Records what TLS learnt about the peer (done by whoever ran the TLS handshake).
    pub(crate) fn set_peer_certificate_sha256(&mut self, fingerprint: Option<String>) {
        self.info.peer_certificate_sha256 = fingerprint;
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("info", &self.info)
            .finish()
    }
}

impl Stream for Transport {
    type Item = Result<Message, TransportError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl Sink<Message> for Transport {
    type Error = TransportError;
    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.as_mut().poll_ready(cx)
    }
    fn start_send(mut self: Pin<&mut Self>, item: Message) -> Result<(), Self::Error> {
        self.inner.as_mut().start_send(item)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.as_mut().poll_flush(cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.as_mut().poll_close(cx)
    }
}

/// A [`Transport`] in two halves, for a reader and writers in different places (the
/// client's driver reads while callers may write: see `client::outbound`).
///
/// Each half locks the transport for the length of one poll, never longer, so neither
/// half waits on the other for more than that. Unlike `StreamExt::split`, a message goes
/// to the transport at `start_send`, so a message the peer would refuse (too large, not
/// encodable) is refused right there, as the message's own error.
pub(crate) fn split(transport: Transport) -> (TransportWriter, TransportReader) {
    let shared = std::sync::Arc::new(std::sync::Mutex::new(transport));
    (TransportWriter(shared.clone()), TransportReader(shared))
}

type SharedTransport = std::sync::Arc<std::sync::Mutex<Transport>>;

fn lock(shared: &SharedTransport) -> std::sync::MutexGuard<'_, Transport> {
    // A panic inside a transport's poll leaves nothing half-done that a later poll could
    // trip over: IO errors are reported, not unwound.
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// The reading half of a [`split`] transport.
pub(crate) struct TransportReader(SharedTransport);

impl Stream for TransportReader {
    type Item = Result<Message, TransportError>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut *lock(&self.0)).poll_next(cx)
    }
}

/// The writing half of a [`split`] transport.
pub(crate) struct TransportWriter(SharedTransport);

impl TransportWriter {
    /// The whole transport, if the reading half is not using it right now (it may be
    /// decoding a large message): for writers that would rather not wait.
    pub(crate) fn try_lock(&self) -> Option<std::sync::MutexGuard<'_, Transport>> {
        match self.0.try_lock() {
            Ok(guard) => Some(guard),
            Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// Says why this side will close the connection (see [`Transport::set_close_reason`]).
    pub(crate) fn set_close_reason(&self, reason: CloseReason) {
        lock(&self.0).set_close_reason(reason);
    }
}

impl Sink<Message> for TransportWriter {
    type Error = TransportError;
    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut *lock(&self.0)).poll_ready(cx)
    }
    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Self::Error> {
        Pin::new(&mut *lock(&self.0)).start_send(item)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut *lock(&self.0)).poll_flush(cx)
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut *lock(&self.0)).poll_close(cx)
    }
}
