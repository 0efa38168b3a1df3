//! What the session hands to application code: call results, events, invocations, and
//! the handler type. Depends on no other part of the session: the session's internals
//! refer to these types, never the other way round.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::{encode_failure, WampError};
use crate::protocol::{
    EventDetails, Id, InvocationDetails, Payload, PayloadError, ResultDetails, Uri,
};
use crate::serializer::Serializer;

/// What a callee handler returns in the common case: result arguments, or an error for
/// the caller. Handlers may return any [`IntoResult`](super::IntoResult).
pub type HandlerResult = Result<Payload, WampError>;

/// A registered procedure's handler, type-erased.
pub(crate) type Handler =
    Arc<dyn Fn(Invocation) -> Pin<Box<dyn Future<Output = HandlerResult> + Send>> + Send + Sync>;

/// Where an invocation's progressive results go: to the session, which writes them, or
/// to a test. The slot is freed once the result is written (or taken by the test).
pub(crate) trait ProgressSink: Send + Sync {
    /// Hands over one progressive result for `request`; `false` if nobody takes it.
    fn send_progress(&self, request: Id, payload: Payload, slot: OwnedSemaphorePermit) -> bool;
}

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
    /// Where progressive results go.
    progress_to: Arc<dyn ProgressSink>,
    /// Further input chunks, when the caller streams its arguments.
    pub(crate) chunks: tokio::sync::Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<Payload>>>,
    /// One permit per progressive result that may be on its way to the connection; only
    /// when the caller asked for progressive results.
    progress_slots: Option<Arc<Semaphore>>,
}

impl Invocation {
    /// How many progressive results of one invocation may wait to be written to the
    /// connection (see [`Invocation::send_progress`]).
    pub const PROGRESS_QUEUE: usize = 64;

    /// An invocation as the session hands it to a handler.
    #[allow(clippy::too_many_arguments)] // the invocation's parts, each named once
    pub(crate) fn new(
        request: Id,
        registration: Id,
        procedure: Uri,
        payload: Payload,
        details: InvocationDetails,
        serializer: Serializer,
        progress_to: Arc<dyn ProgressSink>,
        chunks: Option<tokio::sync::mpsc::UnboundedReceiver<Payload>>,
    ) -> Self {
        let progress_slots = details
            .receive_progress()
            .unwrap_or(false)
            .then(|| Arc::new(Semaphore::new(Self::PROGRESS_QUEUE)));
        Invocation {
            request,
            registration,
            procedure,
            payload,
            details,
            serializer,
            progress_to,
            chunks: tokio::sync::Mutex::new(chunks),
            progress_slots,
        }
    }

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

    /// The serializer the session encodes with (what [`Invocation::result`] uses).
    pub fn serializer(&self) -> Serializer {
        self.serializer
    }

    /// Sends a progressive result, waiting while [`Invocation::PROGRESS_QUEUE`] of this
    /// invocation's progressive results are still on their way to the connection (a slow
    /// connection slows the handler down instead of filling memory). Returns whether it
    /// was sent: `false` when the caller did not ask for progressive results (the spec
    /// forbids sending them then) or the session is over.
    pub async fn send_progress(&self, payload: Payload) -> bool {
        let Some(slots) = &self.progress_slots else {
            return false;
        };
        match slots.clone().acquire_owned().await {
            Ok(slot) => self.send_progress_in(slot, payload),
            Err(_) => false,
        }
    }

    /// Sends a progressive result without waiting: when
    /// [`Invocation::PROGRESS_QUEUE`] of this invocation's progressive results are still
    /// on their way to the connection, this one is dropped. Returns whether it was sent:
    /// `false` when it was dropped, when the caller did not ask for progressive results
    /// (the spec forbids sending them then) or the session is over. Use
    /// [`Invocation::send_progress`] to wait for room instead.
    pub fn progress(&self, payload: Payload) -> bool {
        let Some(slots) = &self.progress_slots else {
            return false;
        };
        match slots.clone().try_acquire_owned() {
            Ok(slot) => self.send_progress_in(slot, payload),
            Err(_) => false,
        }
    }

    /// Hands a progressive result over with its slot, freed once written.
    fn send_progress_in(&self, slot: OwnedSemaphorePermit, payload: Payload) -> bool {
        self.progress_to.send_progress(self.request, payload, slot)
    }
}

impl std::fmt::Debug for Invocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invocation")
            .field("request", &self.request)
            .field("registration", &self.registration)
            .field("procedure", &self.procedure)
            .field("payload", &self.payload)
            .field("details", &self.details)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "test-util")]
impl Invocation {
    /// An invocation made by a test, without a session or a router: for testing handlers
    /// and generated callee glue. The request and registration IDs are 1, the serializer
    /// is MessagePack (what [`Invocation::result`] encodes with), and there is no further
    /// input ([`Invocation::next_chunk`] is `None`). Progressive results (only when
    /// `details` asks for them, as from a real caller) go to the [`ProgressReceiver`],
    /// with the same bound as in a session: taking one from the receiver is what makes
    /// room for the next (see [`Invocation::send_progress`]).
    pub fn for_test(
        procedure: Uri,
        payload: Payload,
        details: InvocationDetails,
    ) -> (Invocation, ProgressReceiver) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let progress_to: Arc<dyn ProgressSink> = Arc::new(TestProgress(tx));
        let progress_slots = details
            .receive_progress()
            .unwrap_or(false)
            .then(|| Arc::new(Semaphore::new(Self::PROGRESS_QUEUE)));
        let invocation = Invocation {
            request: Id::MIN,
            registration: Id::MIN,
            procedure,
            payload,
            details,
            serializer: Serializer::MsgPack,
            progress_to,
            chunks: tokio::sync::Mutex::new(None),
            progress_slots,
        };
        (invocation, ProgressReceiver { rx })
    }
}

/// A test's end of [`Invocation::for_test`]'s progressive results.
#[cfg(feature = "test-util")]
struct TestProgress(tokio::sync::mpsc::UnboundedSender<(Payload, OwnedSemaphorePermit)>);

#[cfg(feature = "test-util")]
impl ProgressSink for TestProgress {
    fn send_progress(&self, _request: Id, payload: Payload, slot: OwnedSemaphorePermit) -> bool {
        self.0.send((payload, slot)).is_ok()
    }
}

/// The progressive results an [`Invocation::for_test`] sent, in order. A stream of
/// payloads that ends when the invocation is dropped.
#[cfg(feature = "test-util")]
#[derive(Debug)]
pub struct ProgressReceiver {
    rx: tokio::sync::mpsc::UnboundedReceiver<(Payload, OwnedSemaphorePermit)>,
}

#[cfg(feature = "test-util")]
impl ProgressReceiver {
    /// The next progressive result; `None` once the invocation is gone and every result
    /// was taken.
    pub async fn recv(&mut self) -> Option<Payload> {
        self.rx.recv().await.map(|(payload, _slot)| payload)
    }

    /// The next progressive result if one was sent, without waiting.
    pub fn try_recv(&mut self) -> Option<Payload> {
        self.rx.try_recv().ok().map(|(payload, _slot)| payload)
    }

    /// Every progressive result sent so far.
    pub fn drain(&mut self) -> Vec<Payload> {
        std::iter::from_fn(|| self.try_recv()).collect()
    }
}

#[cfg(feature = "test-util")]
impl futures_util::Stream for ProgressReceiver {
    type Item = Payload;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Payload>> {
        self.rx
            .poll_recv(cx)
            .map(|next| next.map(|(payload, _slot)| payload))
    }
}

/// Why a registration or a subscription ended without its owner ending it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum EndReason {
    /// The router revoked it (e.g. `wamp.registration.remove_callee`), with the reason it
    /// gave, if any.
    Revoked(Option<String>),
    /// After a reconnect, the router refused to register or subscribe it again: its
    /// ERROR (e.g. `wamp.error.not_authorized`). Not `wamp.error.procedure_already_exists`:
    /// most likely the router has not noticed yet that our previous session is gone, so
    /// such a registration is registered again with the reconnect policy's backoff until
    /// the router takes it.
    RestoreFailed(WampError),
    /// The session is over (it left, the router closed it, or reconnection gave up): the
    /// session's reason.
    SessionClosed(String),
}

impl std::fmt::Display for EndReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EndReason::Revoked(Some(reason)) => write!(f, "revoked by the router: {reason}"),
            EndReason::Revoked(None) => f.write_str("revoked by the router"),
            EndReason::RestoreFailed(e) => {
                write!(f, "the router refused it again after a reconnect: {e}")
            }
            EndReason::SessionClosed(reason) => write!(f, "the session is over: {reason}"),
        }
    }
}

impl From<EndReason> for super::Error {
    /// The error item that ends a subscription's stream: [`Error::Revoked`](super::Error::Revoked),
    /// the router's [`Error::Wamp`](super::Error::Wamp), or
    /// [`Error::NotConnected`](super::Error::NotConnected).
    fn from(reason: EndReason) -> Self {
        match reason {
            EndReason::Revoked(reason) => {
                super::Error::Revoked(reason.unwrap_or_else(|| "revoked by the router".into()))
            }
            EndReason::RestoreFailed(e) => super::Error::Wamp(e),
            EndReason::SessionClosed(reason) => super::Error::NotConnected(Some(reason)),
        }
    }
}

/// Where a session is in its life.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionState {
    /// Joined with this session ID.
    Joined(Id),
    /// The connection was lost (or, with reconnection on, the last attempt to reconnect
    /// failed), and why; with reconnection on, the next attempt waits for its delay.
    Disconnected(String),
    /// Reconnecting: the attempt (1-based) under way.
    Reconnecting(u32),
    /// The session left (or was closed by the router) and is over.
    Closed(String),
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::protocol::Dict;

    /// A session that never writes: progressive results stay queued with their slots.
    #[derive(Default)]
    struct Stalled(Mutex<Vec<(Payload, OwnedSemaphorePermit)>>);

    impl ProgressSink for Stalled {
        fn send_progress(&self, _: Id, payload: Payload, slot: OwnedSemaphorePermit) -> bool {
            self.0.lock().map(|mut q| q.push((payload, slot))).is_ok()
        }
    }

    impl Stalled {
        fn write_one(&self) -> bool {
            self.0
                .lock()
                .map(|mut q| q.pop().is_some())
                .unwrap_or(false)
        }
        fn len(&self) -> usize {
            self.0.lock().map(|q| q.len()).unwrap_or(0)
        }
    }

    fn invocation(receive_progress: bool) -> (Invocation, Arc<Stalled>) {
        let sink = Arc::new(Stalled::default());
        let mut details = InvocationDetails::new();
        if receive_progress {
            details = details.with_receive_progress(true);
        }
        let inv = Invocation::new(
            Id::MIN,
            Id::MIN,
            Uri::from_static("com.example.p"),
            Payload::empty(),
            details,
            Serializer::Json,
            sink.clone(),
            None,
        );
        (inv, sink)
    }

    fn chunk(i: usize) -> Payload {
        Payload::from_values(vec![(i as u64).into()], Dict::new())
    }

    #[tokio::test]
    async fn progress_is_bounded_per_invocation() {
        let (inv, session) = invocation(true);
        for i in 0..Invocation::PROGRESS_QUEUE {
            assert!(inv.progress(chunk(i)), "progress {i}");
        }
        // Full: the non-blocking form drops and says so, the async one waits.
        assert!(!inv.progress(chunk(99)));
        let waiting =
            tokio::time::timeout(Duration::from_millis(50), inv.send_progress(chunk(100)));
        assert!(
            waiting.await.is_err(),
            "send_progress waits while the queue is full"
        );
        // The session writes one: there is room for one more.
        assert!(session.write_one());
        let sent = tokio::time::timeout(Duration::from_secs(1), inv.send_progress(chunk(101)));
        assert_eq!(sent.await, Ok(true));
        assert!(!inv.progress(chunk(102)), "full again");
        assert_eq!(session.len(), Invocation::PROGRESS_QUEUE);
    }

    #[tokio::test]
    async fn no_progress_unless_the_caller_asked_for_it() {
        let (inv, session) = invocation(false);
        assert!(!inv.progress(chunk(1)));
        assert!(!inv.send_progress(chunk(2)).await);
        assert_eq!(session.len(), 0);
    }
}
