//! What the session hands to application code: call results, events, invocations.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::driver::Command;
use super::error::WampError;
use crate::protocol::{
    EventDetails, Id, InvocationDetails, Payload, PayloadError, ResultDetails, Uri, Yield,
    YieldOptions,
};
use crate::serializer::Serializer;

/// The result of a call, or one progressive result.
#[derive(Clone, Debug, PartialEq)]
pub struct CallResult {
    /// Result arguments.
    pub payload: Payload,
    /// RESULT.Details.
    pub details: ResultDetails,
}

impl CallResult {
    /// Whether this is a progressive result (more follow).
    pub fn is_progress(&self) -> bool {
        self.details.progress().unwrap_or(false)
    }

    /// The positional results as a Rust type.
    pub fn args<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        self.payload.args()
    }

    /// The keyword results as a Rust type.
    pub fn kwargs<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        self.payload.kwargs()
    }
}

/// One item of a call's progressive results: a progressive result, or the final one. The
/// two may have different types (typed code maps them with [`Progressive::map_progress`]
/// and [`Progressive::map_final`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progressive<P, R> {
    /// A progressive result: more follow.
    Progress(P),
    /// The final result: the last item.
    Final(R),
}

impl<P, R> Progressive<P, R> {
    /// Whether this is the final result.
    pub fn is_final(&self) -> bool {
        matches!(self, Progressive::Final(_))
    }

    /// Whether this is a progressive result.
    pub fn is_progress(&self) -> bool {
        matches!(self, Progressive::Progress(_))
    }

    /// Converts a progressive result, leaves the final one.
    pub fn map_progress<Q>(self, f: impl FnOnce(P) -> Q) -> Progressive<Q, R> {
        match self {
            Progressive::Progress(p) => Progressive::Progress(f(p)),
            Progressive::Final(r) => Progressive::Final(r),
        }
    }

    /// Converts the final result, leaves progressive ones.
    pub fn map_final<S>(self, f: impl FnOnce(R) -> S) -> Progressive<P, S> {
        match self {
            Progressive::Progress(p) => Progressive::Progress(p),
            Progressive::Final(r) => Progressive::Final(f(r)),
        }
    }

    /// The final result, if this is it.
    pub fn into_final(self) -> Option<R> {
        match self {
            Progressive::Final(r) => Some(r),
            Progressive::Progress(_) => None,
        }
    }
}

impl<P, R, E> Progressive<Result<P, E>, Result<R, E>> {
    /// Turns an item whose progress and final conversions can fail into a result: what a
    /// typed stream yields after `map_progress(|r| r.args())` and `map_final(...)`.
    pub fn transpose(self) -> Result<Progressive<P, R>, E> {
        match self {
            Progressive::Progress(p) => p.map(Progressive::Progress),
            Progressive::Final(r) => r.map(Progressive::Final),
        }
    }
}

/// An event delivered to a subscription.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The subscription it was delivered for.
    pub subscription: Id,
    /// The publication ID.
    pub publication: Id,
    /// The topic: the concrete one for pattern subscriptions.
    pub topic: Uri,
    /// Event arguments.
    pub payload: Payload,
    /// EVENT.Details (publisher identity when disclosed, retained flag, ...).
    pub details: EventDetails,
}

impl Event {
    /// The positional arguments as a Rust type.
    pub fn args<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        self.payload.args()
    }

    /// The keyword arguments as a Rust type.
    pub fn kwargs<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        self.payload.kwargs()
    }
}

/// One invocation of a registered procedure, as a handler sees it.
#[derive(Debug)]
pub struct Invocation {
    /// The INVOCATION request ID.
    pub request: Id,
    /// The registration invoked.
    pub registration: Id,
    /// The procedure: the concrete one for pattern registrations.
    pub procedure: Uri,
    /// Call arguments.
    pub payload: Payload,
    /// INVOCATION.Details (caller identity when disclosed, receive_progress, ...).
    pub details: InvocationDetails,
    pub(crate) serializer: Serializer,
    pub(crate) commands: super::driver::Commands,
    /// Further input chunks, when the caller streams its arguments.
    pub(crate) chunks: tokio::sync::Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<Payload>>>,
}

impl Invocation {
    /// The positional arguments as a Rust type.
    pub fn args<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        self.payload.args()
    }

    /// The keyword arguments as a Rust type.
    pub fn kwargs<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        self.payload.kwargs()
    }

    /// Whether the caller is streaming its arguments (progressive call invocation): the
    /// first chunk is [`Invocation::payload`], further ones come from
    /// [`Invocation::next_chunk`].
    pub fn has_more_input(&self) -> bool {
        self.details.progress().unwrap_or(false)
    }

    /// The next input chunk of a progressive call invocation, the caller's final chunk
    /// included; `None` once the input has ended (or for an ordinary invocation).
    pub async fn next_chunk(&self) -> Option<Payload> {
        let mut guard = self.chunks.lock().await;
        guard.as_mut()?.recv().await
    }

    /// Whether the caller asked for progressive results.
    pub fn wants_progress(&self) -> bool {
        self.details.receive_progress().unwrap_or(false)
    }

    /// The caller's session ID, when the dealer disclosed it.
    pub fn caller(&self) -> Option<Id> {
        self.details.caller()
    }

    /// Encodes a result payload from positional arguments (a tuple, array or Vec),
    /// straight into the session's serializer.
    pub fn result<A: Serialize + ?Sized>(&self, args: &A) -> Result<Payload, WampError> {
        Payload::encode_args(self.serializer, args).map_err(|e| encode_failure(&e))
    }

    /// Encodes a result payload with positional and keyword arguments.
    pub fn result_with_kwargs<A, K>(&self, args: &A, kwargs: &K) -> Result<Payload, WampError>
    where
        A: Serialize + ?Sized,
        K: Serialize + ?Sized,
    {
        Payload::encode_args(self.serializer, args)
            .and_then(|p| p.with_encoded_kwargs(self.serializer, kwargs))
            .map_err(|e| encode_failure(&e))
    }

    /// Sends a progressive result. Ignored when the caller did not ask for progress (the
    /// spec forbids sending it then) or the invocation has been interrupted. Returns
    /// whether it was sent.
    pub fn progress(&self, payload: Payload) -> bool {
        if !self.wants_progress() {
            return false;
        }
        let msg = Yield {
            request: self.request,
            options: YieldOptions::new().with_progress(true),
            payload,
        };
        self.commands
            .send(Command::InvocationProgress {
                request: self.request,
                msg: msg.into(),
            })
            .is_ok()
    }
}

fn encode_failure(e: &crate::protocol::EncodeError) -> WampError {
    WampError::with_payload(
        Uri::from_static("wamp.error.runtime_error"),
        Payload::from_values(
            vec![format!("the callee could not encode its result: {e}").into()],
            Default::default(),
        ),
    )
}

/// Where a session is in its life.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionState {
    /// Joined with this session ID.
    Joined(Id),
    /// The connection was lost; with reconnection on, a new attempt is under way.
    Disconnected(String),
    /// Reconnecting: attempt number.
    Reconnecting(u32),
    /// The session left (or was closed by the router) and is over.
    Closed(String),
}
