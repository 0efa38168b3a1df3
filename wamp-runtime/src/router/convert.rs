//! Payloads for recipients that use another serializer, and the count of what had no form
//! in theirs.
//!
//! A payload travels in its sender's wire format. When the recipient uses the same one the
//! router forwards the bytes; when it does not, the payload is converted here, while the
//! message is being routed, not later in the recipient's writer. That is where a failure
//! can still be answered well: the dealer refuses the CALL, YIELD or ERROR to whoever sent
//! it (`wamp.error.invalid_argument` naming the value), the broker drops the one delivery
//! (an acknowledged publication that reached nobody is refused). A failure in the writer
//! could only drop the message with nobody told; it remains as a last safety net (see
//! `session.rs`), counted the same way.

use std::sync::atomic::{AtomicU64, Ordering};

use super::peer::Peer;
use crate::protocol::{ConvertError, Payload};

/// `payload` as `to` should receive it: unchanged (shared bytes) when `to` uses the
/// payload's own serializer or takes messages rather than bytes (in-memory sessions),
/// converted otherwise.
pub(crate) fn payload_for(payload: Payload, to: &Peer) -> Result<Payload, ConvertError> {
    match to.serializer {
        Some(s) if !payload.is_encoded_in(s) => payload.convert_to(s),
        _ => Ok(payload),
    }
}

/// What the router refused or dropped because a value had no form in a recipient's
/// serializer. One per router, shared by its realms and session tasks.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    refused: AtomicU64,
    dropped: AtomicU64,
}

impl Counters {
    /// A CALL, YIELD, ERROR or acknowledged PUBLISH answered with
    /// `wamp.error.invalid_argument` instead of being routed.
    pub(crate) fn refused(&self, error: &ConvertError) {
        tracing::debug!(%error, "refused a message with a payload its recipient cannot represent");
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    /// One delivery (an event to one subscriber, or a message the writer could not
    /// encode) left out.
    pub(crate) fn dropped(&self, error: &dyn std::fmt::Display) {
        tracing::debug!(%error, "dropped a delivery its recipient cannot represent");
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> RouterStats {
        RouterStats {
            unrepresentable_refused: self.refused.load(Ordering::Relaxed),
            unrepresentable_dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}

/// Counters of a running router ([`Router::stats`](super::Router::stats)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouterStats {
    /// Messages refused to their sender with `wamp.error.invalid_argument` because a
    /// payload value has no form in the recipient's serializer (a CALL to a callee, a
    /// YIELD or ERROR to a caller, an acknowledged PUBLISH that no subscriber could take).
    pub unrepresentable_refused: u64,
    /// Deliveries left out for the same reason while others went ahead: an event for one
    /// subscriber among several, or a message the recipient's writer could not encode.
    /// The recipient's session is never ended for it.
    pub unrepresentable_dropped: u64,
}
