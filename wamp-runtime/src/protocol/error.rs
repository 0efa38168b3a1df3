//! Errors of the protocol layer: decoding, encoding and payload conversion.

use super::message::MessageType;

/// Why bytes from the wire are not a valid WAMP message.
///
/// Each variant says what is wrong and where (message type and field), so that a router
/// can put it in an ABORT and a client can show it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes are not valid in the serializer's format at all.
    #[error("malformed {format} message: {reason}")]
    Malformed {
        /// The serializer.
        format: &'static str,
        /// What the parser said.
        reason: String,
    },
    /// The top level is not a list.
    #[error("a WAMP message must be a list")]
    NotAList,
    /// The list is empty.
    #[error("empty message: the list has no message type")]
    Empty,
    /// The type code is not one the spec defines.
    #[error("unknown message type {0}")]
    UnknownType(u64),
    /// The message has the wrong number of elements.
    #[error("{message} message has {got} elements, expected {expected}")]
    Arity {
        /// The message type.
        message: MessageType,
        /// How many elements it had (including the type code).
        got: usize,
        /// What the spec allows.
        expected: &'static str,
    },
    /// One element is invalid.
    #[error("{message}.{field}: {reason}")]
    Field {
        /// The message type.
        message: MessageType,
        /// The element (or `Element.key` for dictionary entries).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The message nests lists and dictionaries deeper than allowed.
    #[error("message nests deeper than {0} levels")]
    TooDeep(usize),
}

/// Why a message or payload could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The value could not be serialized (e.g. a map with non-string keys).
    #[error("cannot encode {what} as {format}: {reason}")]
    Serialize {
        /// What was being encoded.
        what: &'static str,
        /// The serializer.
        format: &'static str,
        /// What the serializer said.
        reason: String,
    },
    /// Positional arguments did not serialize to a list.
    #[error("positional arguments must serialize to a list (use a tuple, array or Vec)")]
    ArgsNotAList,
    /// Keyword arguments did not serialize to a dictionary.
    #[error("keyword arguments must serialize to a dictionary (use a struct or map)")]
    KwargsNotADict,
}

/// Why a payload could not be read as the requested type.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{part} do not match the expected type: {reason}")]
pub struct PayloadError {
    /// `"arguments"` or `"keyword arguments"`.
    pub part: &'static str,
    /// What the deserializer said.
    pub reason: String,
}

/// Why a payload has no form in another serializer: the router refuses such a message to
/// its sender (`wamp.error.invalid_argument` with this text) or drops the one delivery
/// that would need it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{part} in {from} cannot be represented in {to}: {reason}")]
pub struct ConvertError {
    /// `"arguments"` or `"keyword arguments"`.
    pub part: &'static str,
    /// The serializer the payload is in.
    pub from: crate::serializer::Serializer,
    /// The serializer it has no form in.
    pub to: crate::serializer::Serializer,
    /// Which value, and why.
    pub reason: String,
}

impl ConvertError {
    pub(crate) fn new(
        part: &'static str,
        from: crate::serializer::Serializer,
        to: crate::serializer::Serializer,
        reason: String,
    ) -> Self {
        ConvertError {
            part,
            from,
            to,
            reason,
        }
    }
}
