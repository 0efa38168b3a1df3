//! The typed layer that generated code (from contracts or `#[wamp::service]`) sits on.
//!
//! Generated clients return [`Call`] futures, [`ProgressiveCall`] streams, [`Publish`]
//! requests and [`Subscribe`] requests giving [`Subscription`] streams of typed events;
//! generated callees receive a [`Context`] and are registered as a [`Service`]. Declared
//! application errors implement [`ApplicationError`]. These wrap the untyped client of
//! [`crate::client`] with a decoder chosen by the generated code, so a typed call costs
//! what the same untyped call costs plus the decoding.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use futures_util::Stream;

use crate::client::{
    CallFuture, Error, Invocation, PublishRequest, Registration, Session, SubscribeRequest,
    WampError,
};
use crate::protocol::{
    EncodeError, Id, InvocationDetails, MatchPolicy, Payload, PayloadError, Uri,
};
use crate::serializer::Serializer;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Decodes a result payload.
pub type DecodeFn<T> = fn(&Payload) -> Result<T, PayloadError>;

/// A declared application error: an error URI and a typed payload.
pub trait ApplicationError: Sized {
    /// The error URI.
    const URI: &'static str;

    /// Encodes the payload.
    fn to_payload(&self, serializer: Serializer) -> Result<Payload, EncodeError>;

    /// Decodes the payload.
    fn from_payload(payload: &Payload) -> Result<Self, PayloadError>;

    /// The ERROR a callee answers with (a runtime error if the payload cannot be encoded).
    fn to_wamp_error(&self, serializer: Serializer) -> WampError {
        match self.to_payload(serializer) {
            Ok(payload) => WampError::with_payload(Uri::from_static(Self::URI), payload),
            Err(e) => crate::__private::encode_failure(e),
        }
    }
}

/// What a generated callee method gets besides its arguments: who is calling, the
/// invocation's details, and a typed sender for progressive results (`P`).
pub struct Context<P = ()> {
    invocation: Invocation,
    encode: fn(&P, Serializer) -> Result<Payload, EncodeError>,
}

impl<P> std::fmt::Debug for Context<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("procedure", &self.invocation.procedure)
            .field("details", &self.invocation.details)
            .finish()
    }
}

impl<P> Context<P> {
    /// A context for an invocation whose progress items are encoded by `encode`.
    pub fn new(
        invocation: Invocation,
        encode: fn(&P, Serializer) -> Result<Payload, EncodeError>,
    ) -> Self {
        Context { invocation, encode }
    }

    /// The invocation, with its raw payload.
    pub fn invocation(&self) -> &Invocation {
        &self.invocation
    }

    /// The procedure called (the concrete one for pattern registrations).
    pub fn procedure(&self) -> &Uri {
        &self.invocation.procedure
    }

    /// INVOCATION.Details.
    pub fn details(&self) -> &InvocationDetails {
        &self.invocation.details
    }

    /// The caller's session ID, when the router disclosed it.
    pub fn caller(&self) -> Option<Id> {
        self.invocation.details.caller()
    }

    /// The caller's authid, when the router disclosed it.
    pub fn caller_authid(&self) -> Option<String> {
        self.invocation.details.caller_authid()
    }

    /// The caller's authrole, when the router disclosed it.
    pub fn caller_authrole(&self) -> Option<String> {
        self.invocation.details.caller_authrole()
    }

    /// Whether the caller asked for progressive results.
    pub fn wants_progress(&self) -> bool {
        self.invocation.wants_progress()
    }

    /// Sends a progressive result. Returns whether it was sent: not when the caller did
    /// not ask for progress, or the call is over. Fails only if the item cannot be
    /// encoded ([`Error::Encode`]), so that `?` works in any generated error type.
    pub fn progress(&self, item: &P) -> Result<bool, Error> {
        if !self.wants_progress() {
            return Ok(false);
        }
        let payload = (self.encode)(item, self.invocation.serializer)?;
        Ok(self.invocation.progress(payload))
    }

    /// Sends a progressive result, waiting while too many of this invocation's progress
    /// items are still on their way to the connection (backpressure). Returns whether it
    /// was sent, as [`Context::progress`].
    pub async fn send_progress(&self, item: &P) -> Result<bool, Error> {
        if !self.wants_progress() {
            return Ok(false);
        }
        let payload = (self.encode)(item, self.invocation.serializer)?;
        Ok(self.invocation.send_progress(payload).await)
    }
}

/// A typed call: resolves to the decoded result, or the procedure's error type `E`.
/// Dropping it before it completes cancels the call.
#[must_use = "futures do nothing unless polled"]
pub struct Call<R, E> {
    inner: CallFuture,
    decode: DecodeFn<R>,
    error: fn(Error) -> E,
}

impl<R, E> Call<R, E> {
    /// Wraps an untyped call with a result decoder and an error mapping.
    pub fn new(inner: CallFuture, decode: DecodeFn<R>, error: fn(Error) -> E) -> Self {
        Call {
            inner,
            decode,
            error,
        }
    }
}

impl<R, E> Future for Call<R, E> {
    type Output = Result<R, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(result)) => Poll::Ready(
                (this.decode)(&result.payload).map_err(|e| (this.error)(Error::Payload(e))),
            ),
            Poll::Ready(Err(e)) => Poll::Ready(Err((this.error)(e))),
        }
    }
}

pub use crate::client::Progressive;

/// A typed progressive call: progress items (`P`), then the final result (`R`), or the
/// procedure's error (`E`). Dropping it early cancels the call.
#[must_use = "streams do nothing unless polled"]
pub struct ProgressiveCall<P, R, E> {
    inner: crate::client::ProgressiveCall,
    progress: DecodeFn<P>,
    result: DecodeFn<R>,
    error: fn(Error) -> E,
}

impl<P, R, E> ProgressiveCall<P, R, E> {
    /// Wraps an untyped progressive call with decoders and an error mapping.
    pub fn new(
        inner: crate::client::ProgressiveCall,
        progress: DecodeFn<P>,
        result: DecodeFn<R>,
        error: fn(Error) -> E,
    ) -> Self {
        ProgressiveCall {
            inner,
            progress,
            result,
            error,
        }
    }
}

impl<P, R, E> Stream for ProgressiveCall<P, R, E> {
    type Item = Result<Progressive<P, R>, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err((this.error)(e)))),
            Poll::Ready(Some(Ok(item))) => {
                let item = match item {
                    Progressive::Progress(r) => {
                        (this.progress)(&r.payload).map(Progressive::Progress)
                    }
                    Progressive::Final(r) => (this.result)(&r.payload).map(Progressive::Final),
                };
                Poll::Ready(Some(item.map_err(|e| (this.error)(Error::Payload(e)))))
            }
        }
    }
}

/// A typed publication being prepared; `.await` it. Resolves to the publication ID when
/// acknowledged, `None` otherwise.
#[must_use = "a publication does nothing until it is awaited"]
pub struct Publish {
    request: Result<PublishRequest, Error>,
}

impl Publish {
    /// A publication to `topic` (or why there is none) with `payload`.
    pub fn new(
        session: &Session,
        topic: Result<String, Error>,
        payload: Result<Payload, EncodeError>,
    ) -> Self {
        let request = topic.and_then(|topic| Ok(session.publish(topic).payload(payload?)));
        Publish { request }
    }

    fn map(mut self, f: impl FnOnce(PublishRequest) -> PublishRequest) -> Self {
        self.request = self.request.map(f);
        self
    }

    /// Asks the broker to acknowledge (then `.await` gives the publication ID).
    pub fn acknowledge(self, ack: bool) -> Self {
        self.map(|r| r.acknowledge(ack))
    }

    /// Whether to leave the publisher out of the receivers (default `true`).
    pub fn exclude_me(self, exclude: bool) -> Self {
        self.map(|r| r.exclude_me(exclude))
    }

    /// Sessions that must not receive the event.
    pub fn exclude(self, sessions: Vec<Id>) -> Self {
        self.map(|r| r.exclude(sessions))
    }

    /// The only sessions that may receive the event.
    pub fn eligible(self, sessions: Vec<Id>) -> Self {
        self.map(|r| r.eligible(sessions))
    }

    /// Asks the broker to disclose the publisher's identity.
    pub fn disclose_me(self, disclose: bool) -> Self {
        self.map(|r| r.disclose_me(disclose))
    }

    /// Asks the broker to retain the event for late subscribers.
    pub fn retain(self, retain: bool) -> Self {
        self.map(|r| r.retain(retain))
    }

    /// The untyped request (for options the typed one does not have).
    pub fn into_request(self) -> Result<PublishRequest, Error> {
        self.request
    }
}

impl IntoFuture for Publish {
    type Output = Result<Option<Id>, Error>;
    type IntoFuture = BoxFuture<Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        match self.request {
            Ok(r) => r.into_future(),
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }
}

/// Decodes an event from its concrete topic and payload.
pub type EventDecodeFn<T> = fn(&str, &Payload) -> Result<T, PayloadError>;

/// A typed subscription being prepared; `.await` it for a [`Subscription`].
#[must_use = "a subscription does nothing until it is awaited"]
pub struct Subscribe<T> {
    request: Result<SubscribeRequest, Error>,
    decode: EventDecodeFn<T>,
}

impl<T> Subscribe<T> {
    /// A subscription to `topic` (a pattern if `policy` says so) decoding events with `decode`.
    pub fn new(
        session: &Session,
        topic: &str,
        policy: MatchPolicy,
        decode: EventDecodeFn<T>,
    ) -> Self {
        Subscribe {
            request: Ok(session.subscribe(topic).match_policy(policy)),
            decode,
        }
    }

    /// A subscription to a topic built from filter values (or why there is none: a value
    /// that is not one URI component). The error surfaces when it is awaited.
    pub fn filtered(
        session: &Session,
        topic: Result<(String, MatchPolicy), Error>,
        decode: EventDecodeFn<T>,
    ) -> Self {
        Subscribe {
            request: topic.map(|(topic, policy)| session.subscribe(topic).match_policy(policy)),
            decode,
        }
    }

    /// Asks for the retained event, if any, right away.
    pub fn get_retained(mut self, get: bool) -> Self {
        self.request = self.request.map(|r| r.get_retained(get));
        self
    }

    /// How many events to buffer before dropping new ones (see
    /// [`SubscribeRequest::buffer`]).
    pub fn buffer(mut self, events: usize) -> Self {
        self.request = self.request.map(|r| r.buffer(events));
        self
    }
}

impl<T: Send + 'static> IntoFuture for Subscribe<T> {
    type Output = Result<Subscription<T>, Error>;
    type IntoFuture = BoxFuture<Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        let decode = self.decode;
        Box::pin(async move {
            let inner = self.request?.await?;
            Ok(Subscription { inner, decode })
        })
    }
}

/// A typed subscription: a stream of decoded events. An event that does not match the
/// contract is an `Err` item ([`Error::Payload`]) and the stream goes on; the stream
/// ends as the untyped one does. Dropping it unsubscribes.
#[must_use = "streams do nothing unless polled"]
pub struct Subscription<T> {
    inner: crate::client::Subscription,
    decode: EventDecodeFn<T>,
}

impl<T> std::fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.inner.id())
            .finish()
    }
}

impl<T> Subscription<T> {
    /// The router's subscription ID.
    pub fn id(&self) -> Id {
        self.inner.id()
    }

    /// Unsubscribes and waits for the router to confirm.
    pub async fn unsubscribe(self) -> Result<(), Error> {
        self.inner.unsubscribe().await
    }
}

impl<T> Stream for Subscription<T> {
    type Item = Result<T, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(event))) => Poll::Ready(Some(
                (this.decode)(event.topic.as_str(), &event.payload).map_err(Error::Payload),
            )),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The registrations of a served contract. Dropping it unregisters every procedure.
#[must_use = "dropping a service unregisters its procedures"]
#[derive(Debug)]
pub struct Service {
    registrations: Vec<Registration>,
}

impl Service {
    /// A service made of these registrations.
    pub fn new(registrations: Vec<Registration>) -> Self {
        Service { registrations }
    }

    /// The registrations, one per procedure, in the contract's order.
    pub fn registrations(&self) -> &[Registration] {
        &self.registrations
    }

    /// Unregisters every procedure and waits for the router to confirm.
    pub async fn unregister(self) -> Result<(), Error> {
        for r in self.registrations {
            r.unregister().await?;
        }
        Ok(())
    }

    /// Keeps the procedures registered for as long as the session lives.
    pub fn detach(self) {
        for r in self.registrations {
            r.detach();
        }
    }
}

/// JSON Schemas of the runtime's own value types, for contract types that use them
/// (`bytes`, `id`, `any`).
mod schemas {
    use std::borrow::Cow;

    use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};

    use crate::protocol::{Binary, Id, Value};

    impl JsonSchema for Id {
        fn schema_name() -> Cow<'static, str> {
            Cow::Borrowed("WampId")
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "description": "A WAMP ID: an integer in 1..=2^53.",
                "type": "integer",
                "minimum": 1,
                "maximum": 9_007_199_254_740_992u64,
            })
        }
    }

    impl JsonSchema for Binary {
        fn schema_name() -> Cow<'static, str> {
            Cow::Borrowed("WampBinary")
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "description": "Binary data: native in MessagePack and CBOR; in JSON a string of \\u0000 followed by base64.",
                "type": "string",
            })
        }
    }

    impl JsonSchema for Value {
        fn schema_name() -> Cow<'static, str> {
            Cow::Borrowed("WampValue")
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({ "description": "Any WAMP value." })
        }
    }
}
