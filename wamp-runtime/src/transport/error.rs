//! Transport errors.

use crate::protocol::{DecodeError, EncodeError};
use crate::serializer::Serializer;

/// Why a transport could not be opened or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The URL is not one we can connect to.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A socket error (connection refused, reset, ...).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Connecting took longer than the configured timeout.
    #[error("timed out after {0:?}")]
    Timeout(std::time::Duration),
    /// TLS configuration or handshake failed.
    #[error("TLS error: {0}")]
    Tls(String),
    /// The WebSocket layer failed (bad handshake, protocol error).
    #[error("WebSocket error: {0}")]
    WebSocket(String),
    /// The WebSocket peer accepted none of the offered WAMP subprotocols.
    #[error("no common serializer: offered {offered:?}, the peer chose {chosen:?}")]
    NoCommonSerializer {
        /// What this side offered.
        offered: Vec<Serializer>,
        /// The subprotocol the peer answered with, if any.
        chosen: Option<String>,
    },
    /// The RawSocket handshake failed.
    #[error("RawSocket handshake failed: {0}")]
    Handshake(#[from] HandshakeError),
    /// A message is larger than the limit (ours when receiving, the peer's when sending).
    #[error("message of {size} bytes exceeds the maximum of {max} bytes")]
    MessageTooLarge {
        /// The message size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A message could not be decoded.
    #[error("invalid message: {0}")]
    Decode(#[from] DecodeError),
    /// A message could not be encoded.
    #[error("cannot encode message: {0}")]
    Encode(#[from] EncodeError),
    /// The peer broke the framing protocol (e.g. a RawSocket frame of unknown type, a
    /// WebSocket text frame on a binary serializer).
    #[error("framing error: {0}")]
    Framing(String),
    /// The connection is closed.
    #[error("connection closed")]
    Closed,
}

impl TransportError {
    /// The close reason this error calls for when it ends a connection: 1007 for a
    /// message that does not decode, 1009 for one too large, 1003 for the wrong kind of
    /// frame, 1002 for a broken WebSocket protocol, 1000 otherwise.
    pub fn close_reason(&self) -> super::CloseReason {
        use super::CloseReason as C;
        match self {
            TransportError::Decode(_) => C::InvalidPayload,
            TransportError::MessageTooLarge { .. } => C::TooBig,
            TransportError::Framing(_) => C::UnsupportedData,
            TransportError::WebSocket(_) => C::ProtocolError,
            _ => C::Normal,
        }
    }
}

/// RawSocket handshake failures, including the error codes a router answers with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The first byte was not the magic 0x7F.
    #[error("bad magic byte 0x{0:02x} (expected 0x7f): the peer does not speak WAMP RawSocket")]
    BadMagic(u8),
    /// The peer closed the connection during the handshake (Crossbar does this for an
    /// unsupported serializer).
    #[error("the peer closed the connection during the handshake")]
    Closed,
    /// Error code 1 (or we refuse a serializer ID).
    #[error("serializer unsupported by the peer (requested {0})")]
    SerializerUnsupported(u8),
    /// Error code 2.
    #[error("the peer does not accept the maximum message length")]
    MaxLengthUnacceptable,
    /// Error code 3: reserved bits were used.
    #[error("use of reserved bits (unsupported feature)")]
    ReservedBits,
    /// Error code 4.
    #[error("the peer reached its connection limit")]
    ConnectionLimit,
    /// An error code the spec does not define.
    #[error("unknown error code {0}")]
    UnknownCode(u8),
    /// The peer answered with another serializer than the one requested.
    #[error("the peer answered with serializer {got}, we asked for {asked}")]
    SerializerMismatch {
        /// What we asked for.
        asked: u8,
        /// What the reply said.
        got: u8,
    },
}
