//! The request builders behind `Session::{call, publish, subscribe, register}` and the
//! handles they produce. Each builder collects arguments and options, then is awaited
//! (`IntoFuture`); encoding errors surface there.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use serde::Serialize;
use tokio::sync::{oneshot, watch};
use tokio::time::Sleep;

use super::callee::IntoResult;
use super::command::{Command, SubKey};
use super::error::Error;
use super::feed::{feed, FeedReceiver, Next};
use super::outbound::CallSink;
use super::session::Session;
use super::types::{CallResult, EndReason, Event, Handler, Invocation, Progressive};
use super::uri::{IntoUri, PendingUri};
use crate::protocol::*;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl Session {
    /// Calls a procedure. Set arguments and options on the returned request, then
    /// `.await` it (or turn it into a stream of progressive results). The URI is text
    /// (checked; an invalid one fails the call) or a [`Uri`] (see [`IntoUri`]).
    pub fn call(&self, procedure: impl IntoUri) -> CallRequest {
        CallRequest::new(self.clone(), procedure)
    }

    /// Publishes an event. Set arguments and options, then `.await` it. The topic is text
    /// or a [`Uri`] (see [`IntoUri`]).
    pub fn publish(&self, topic: impl IntoUri) -> PublishRequest {
        PublishRequest::new(self.clone(), topic)
    }

    /// Subscribes to a topic (or pattern). `.await` gives a [`Subscription`], a stream of
    /// events. Text is checked against the rules of the match policy when awaited; a
    /// [`Uri`] is taken as it is (see [`IntoUri`]).
    pub fn subscribe(&self, topic: impl IntoUri) -> SubscribeRequest {
        SubscribeRequest::new(self.clone(), topic)
    }

    /// Registers a procedure (or pattern) with an async handler. `.await` gives a
    /// [`Registration`]; dropping it unregisters. The URI is given as for
    /// [`Session::subscribe`].
    ///
    /// The handler returns anything [`IntoResult`]: a [`HandlerResult`] (result arguments
    /// or an error), a [`Payload`], `()`, or typed arguments ([`Args`], [`Kwargs`],
    /// [`ArgsKw`]).
    pub fn register<F, Fut>(&self, procedure: impl IntoUri, handler: F) -> RegisterRequest
    where
        F: Fn(Invocation) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoResult,
    {
        let handler: Handler = Arc::new(move |inv: Invocation| {
            let serializer = inv.serializer;
            let answer = handler(inv);
            Box::pin(async move { answer.await.into_result(serializer) })
        });
        RegisterRequest::new(self.clone(), procedure, handler)
    }
}

fn add_args<A: Serialize + ?Sized>(
    session: &Session,
    payload: Result<Payload, Error>,
    args: &A,
) -> Result<Payload, Error> {
    Ok(payload?.with_encoded_args(session.serializer(), args)?)
}

fn add_kwargs<K: Serialize + ?Sized>(
    session: &Session,
    payload: Result<Payload, Error>,
    kwargs: &K,
) -> Result<Payload, Error> {
    Ok(payload?.with_encoded_kwargs(session.serializer(), kwargs)?)
}

/// A call being prepared. `.await` it for the final result, or call
/// [`CallRequest::progressive`] for a stream of progressive results.
///
/// Dropping the future before it completes cancels the call (CANCEL with the configured
/// mode, `killnowait` by default).
#[must_use = "a call does nothing until it is awaited"]
pub struct CallRequest {
    session: Session,
    /// Validated when the request is made (the error surfaces when it is awaited).
    procedure: Result<Uri, crate::protocol::UriError>,
    payload: Result<Payload, Error>,
    options: CallOptions,
    timeout: Option<Duration>,
    cancel_mode: CancelMode,
    progress_buffer: usize,
}

impl CallRequest {
    pub(crate) fn new(session: Session, procedure: impl IntoUri) -> Self {
        CallRequest {
            session,
            procedure: procedure.into_uri(UriKind::Concrete),
            payload: Ok(Payload::empty()),
            options: CallOptions::new(),
            timeout: None,
            cancel_mode: CancelMode::KillNoWait,
            progress_buffer: ProgressiveCall::DEFAULT_BUFFER,
        }
    }

    /// Positional arguments: a tuple, array or `Vec` of anything serializable.
    pub fn args<A: Serialize + ?Sized>(mut self, args: &A) -> Self {
        self.payload = add_args(&self.session, self.payload, args);
        self
    }

    /// Keyword arguments: a struct or map.
    pub fn kwargs<K: Serialize + ?Sized>(mut self, kwargs: &K) -> Self {
        self.payload = add_kwargs(&self.session, self.payload, kwargs);
        self
    }

    /// A ready-made payload (e.g. dynamic values).
    pub fn payload(mut self, payload: Payload) -> Self {
        self.payload = Ok(payload);
        self
    }

    /// A deadline for the whole call. Sent to the router (in milliseconds, per spec) and
    /// also enforced here: when it passes, the call is canceled and fails with
    /// [`Error::Timeout`], whatever the router does.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self.options = self
            .options
            .with_timeout(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// Asks the dealer to disclose our identity to the callee.
    pub fn disclose_me(mut self, disclose: bool) -> Self {
        self.options = self.options.with_disclose_me(disclose);
        self
    }

    /// How the call is canceled when dropped or timed out (default `killnowait`).
    pub fn cancel_mode(mut self, mode: CancelMode) -> Self {
        self.cancel_mode = mode;
        self
    }

    /// How many progressive results may wait for [`CallRequest::progressive`]'s stream to
    /// take them (default [`ProgressiveCall::DEFAULT_BUFFER`]); more are dropped and
    /// counted (see [`ProgressiveCall`]). No effect on a call that is only awaited.
    pub fn progress_buffer(mut self, results: usize) -> Self {
        self.progress_buffer = results;
        self
    }

    /// Any other CALL option.
    pub fn option(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.options.insert(key, value);
        self
    }

    /// Sends the CALL; its answers go to `reply` (a stream of them means the caller asks
    /// for progressive results). The returned guard cancels the call if dropped armed.
    fn send(self, reply: CallSink) -> Result<CancelGuard, Error> {
        let procedure = self.procedure?;
        let payload = self.payload?;
        let mut options = self.options;
        if matches!(reply, CallSink::Stream(_)) {
            options = options.with_receive_progress(true);
        }
        let request = self.session.next_request();
        let msg = Call {
            request,
            options,
            procedure,
            payload,
        }
        .into();
        self.session.send_call(request, msg, reply)?;
        Ok(CancelGuard {
            session: self.session,
            request,
            mode: self.cancel_mode,
            armed: true,
        })
    }

    /// Asks for progressive results: a stream of [`Progressive::Progress`] items, then the
    /// [`Progressive::Final`] one (or an error), then the end of the stream.
    pub fn progressive(self) -> ProgressiveCall {
        let timeout = self.timeout;
        let (tx, rx) = feed(self.progress_buffer);
        match self.send(CallSink::Stream(tx)) {
            Ok(guard) => ProgressiveCall {
                deadline: deadline(timeout),
                rx: Some(rx),
                guard: Some(guard),
                error: None,
                dropped: 0,
            },
            Err(e) => ProgressiveCall {
                rx: None,
                guard: None,
                deadline: None,
                error: Some(e),
                dropped: 0,
            },
        }
    }
}

impl CallRequest {
    /// Streams the arguments in chunks (progressive call invocation): the payload set on
    /// this request is the first chunk, [`StreamingCall::send`] adds more, and
    /// [`StreamingCall::finish`] sends the last one and waits for the result. Needs a
    /// dealer that announces `progressive_call_invocations`.
    pub fn stream_input(self) -> Result<StreamingCall, Error> {
        if !self
            .session
            .router_has_feature(Role::Dealer, "progressive_call_invocations")
        {
            return Err(Error::Wamp(super::WampError::with_payload(
                Uri::from_static("wamp.error.feature_not_supported"),
                Payload::from_values(
                    vec!["the router does not support progressive call invocations".into()],
                    Dict::new(),
                ),
            )));
        }
        let procedure = self.procedure?;
        let first = self.payload?;
        let request = self.session.next_request();
        let (tx, rx) = oneshot::channel();
        let options = self.options.with_progress(true);
        let msg = Call {
            request,
            options: options.clone(),
            procedure: procedure.clone(),
            payload: first,
        }
        .into();
        self.session.send(Command::Call {
            request,
            msg,
            reply: CallSink::Once(tx),
        })?;
        let guard = CancelGuard {
            session: self.session.clone(),
            request,
            mode: self.cancel_mode,
            armed: true,
        };
        Ok(StreamingCall {
            session: self.session,
            procedure,
            options,
            request,
            rx,
            guard,
            timeout: self.timeout,
        })
    }
}

/// A call whose arguments are still being sent. Dropping it cancels the call.
pub struct StreamingCall {
    session: Session,
    procedure: Uri,
    options: CallOptions,
    request: Id,
    rx: oneshot::Receiver<Result<CallResult, Error>>,
    guard: CancelGuard,
    timeout: Option<Duration>,
}

impl StreamingCall {
    fn chunk(&self, payload: Payload, more: bool) -> Result<(), Error> {
        let mut options = self.options.clone();
        if !more {
            options.0.remove("progress");
        }
        let msg = Call {
            request: self.request,
            options,
            procedure: self.procedure.clone(),
            payload,
        }
        .into();
        self.session.send(Command::Send(msg))
    }

    /// Encodes positional arguments for a chunk in the session's serializer.
    pub fn encode<A: Serialize + ?Sized>(&self, args: &A) -> Result<Payload, Error> {
        Ok(Payload::encode_args(self.session.serializer(), args)?)
    }

    /// Sends one more chunk.
    pub fn send(&self, payload: Payload) -> Result<(), Error> {
        self.chunk(payload, true)
    }

    /// Sends the final chunk and waits for the result.
    pub async fn finish(mut self, payload: Payload) -> Result<CallResult, Error> {
        self.chunk(payload, false)?;
        let rx = &mut self.rx;
        let session = self.session.clone();
        let wait = async { rx.await.unwrap_or_else(|_| Err(session.not_connected())) };
        final_result(wait, self.timeout, &mut self.guard).await
    }
}

/// A timer for a call's timeout, if it has one.
fn deadline(timeout: Option<Duration>) -> Option<(Duration, Pin<Box<Sleep>>)> {
    timeout.map(|t| (t, Box::pin(tokio::time::sleep(t))))
}

impl IntoFuture for CallRequest {
    type Output = Result<CallResult, Error>;
    type IntoFuture = CallFuture;

    fn into_future(self) -> CallFuture {
        CallFuture {
            state: CallState::Start(self),
        }
    }
}

/// An awaited [`CallRequest`]: resolves to the call's final result. The CALL goes out on
/// the first poll. Dropping it before the result arrives cancels the call; so does its
/// timeout.
///
/// A plain state machine rather than a boxed `async` block: a call is the hottest path of
/// a client, and this saves an allocation and the moves of a large future per call.
#[must_use = "futures do nothing unless polled"]
pub struct CallFuture {
    state: CallState,
}

enum CallState {
    Start(CallRequest),
    Waiting {
        rx: oneshot::Receiver<Result<CallResult, Error>>,
        guard: CancelGuard,
        deadline: Option<(Duration, Pin<Box<Sleep>>)>,
    },
    Done,
}

impl Future for CallFuture {
    type Output = Result<CallResult, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                CallState::Start(_) => {
                    let CallState::Start(request) =
                        std::mem::replace(&mut this.state, CallState::Done)
                    else {
                        return Poll::Pending;
                    };
                    let timeout = request.timeout;
                    let (tx, rx) = oneshot::channel();
                    let guard = match request.send(CallSink::Once(tx)) {
                        Ok(guard) => guard,
                        Err(e) => return Poll::Ready(Err(e)),
                    };
                    this.state = CallState::Waiting {
                        rx,
                        guard,
                        deadline: deadline(timeout),
                    };
                }
                CallState::Waiting {
                    rx,
                    guard,
                    deadline,
                } => {
                    if let Poll::Ready(answer) = Pin::new(rx).poll(cx) {
                        // Whatever the answer, the call is over: nothing to cancel.
                        guard.armed = false;
                        let result = answer.unwrap_or_else(|_| Err(guard.session.not_connected()));
                        this.state = CallState::Done;
                        return Poll::Ready(result);
                    }
                    if let Some((t, sleep)) = deadline {
                        if sleep.as_mut().poll(cx).is_ready() {
                            let t = *t;
                            // Dropping the armed guard sends CANCEL.
                            this.state = CallState::Done;
                            return Poll::Ready(Err(Error::Timeout(t)));
                        }
                    }
                    return Poll::Pending;
                }
                // Polled after completion: there is nothing more to give.
                CallState::Done => return Poll::Pending,
            }
        }
    }
}

/// Waits for a call's final answer within its deadline. The guard stays armed (and
/// cancels the call when dropped) only when the deadline passed first.
async fn final_result(
    wait: impl Future<Output = Result<CallResult, Error>>,
    timeout: Option<Duration>,
    guard: &mut CancelGuard,
) -> Result<CallResult, Error> {
    let result = match timeout {
        Some(t) => tokio::time::timeout(t, wait)
            .await
            .unwrap_or(Err(Error::Timeout(t))),
        None => wait.await,
    };
    if !matches!(result, Err(Error::Timeout(_))) {
        guard.armed = false;
    }
    result
}

/// Sends CANCEL when a call is abandoned before its final result.
struct CancelGuard {
    session: Session,
    request: Id,
    mode: CancelMode,
    armed: bool,
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if self.armed {
            let _ = self.session.send(Command::CancelCall {
                request: self.request,
                mode: self.mode,
            });
        }
    }
}

/// A call's progressive results, then its final result: a stream of
/// `Result<Progressive<CallResult, CallResult>, Error>` that ends after the
/// [`Progressive::Final`] item or an error. Dropping it early cancels the call.
///
/// Buffer: progressive results wait here until the stream takes them, up to
/// [`CallRequest::progress_buffer`] of them ([`ProgressiveCall::DEFAULT_BUFFER`] by
/// default). When the buffer is full, new progressive results are dropped and counted
/// ([`ProgressiveCall::dropped`]): the session task that reads the connection serves every
/// call and never waits for one slow reader. The final result (or the error) is never
/// dropped and always comes after every progressive result that was kept.
#[must_use = "streams do nothing unless polled"]
pub struct ProgressiveCall {
    rx: Option<FeedReceiver<CallResult, Result<CallResult, Error>>>,
    guard: Option<CancelGuard>,
    deadline: Option<(Duration, Pin<Box<Sleep>>)>,
    error: Option<Error>,
    /// The count of dropped results once the feed is gone.
    dropped: u64,
}

impl ProgressiveCall {
    /// How many progressive results wait for the reader by default.
    pub const DEFAULT_BUFFER: usize = 1024;

    /// How many progressive results were dropped because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.rx.as_ref().map_or(self.dropped, FeedReceiver::dropped)
    }

    fn finish(&mut self, cancel: bool) {
        if let Some(rx) = self.rx.take() {
            self.dropped = rx.dropped();
        }
        if let Some(mut g) = self.guard.take() {
            g.armed = cancel;
        }
    }
}

impl Stream for ProgressiveCall {
    type Item = Result<Progressive<CallResult, CallResult>, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(e) = self.error.take() {
            return Poll::Ready(Some(Err(e)));
        }
        if self.rx.is_none() {
            return Poll::Ready(None);
        }
        if let Some((t, sleep)) = &mut self.deadline {
            if sleep.as_mut().poll(cx).is_ready() {
                let t = *t;
                self.deadline = None;
                self.finish(true);
                return Poll::Ready(Some(Err(Error::Timeout(t))));
            }
        }
        let Some(rx) = self.rx.as_mut() else {
            return Poll::Ready(None);
        };
        match rx.poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Next::Item(r))) => Poll::Ready(Some(Ok(Progressive::Progress(r)))),
            Poll::Ready(Some(Next::End(end))) => {
                self.finish(false);
                Poll::Ready(Some(end.map(Progressive::Final)))
            }
            Poll::Ready(None) => {
                let err = self.guard.as_ref().map(|g| g.session.not_connected());
                self.finish(false);
                Poll::Ready(err.map(Err))
            }
        }
    }
}

/// A publication being prepared; `.await` it. Resolves to the publication ID when
/// acknowledged, `None` otherwise (then it resolves once the event is queued for sending).
#[must_use = "a publication does nothing until it is awaited"]
pub struct PublishRequest {
    session: Session,
    /// Validated when the request is made (the error surfaces when it is awaited).
    topic: Result<Uri, crate::protocol::UriError>,
    payload: Result<Payload, Error>,
    options: PublishOptions,
}

impl PublishRequest {
    pub(crate) fn new(session: Session, topic: impl IntoUri) -> Self {
        PublishRequest {
            session,
            topic: topic.into_uri(UriKind::Concrete),
            payload: Ok(Payload::empty()),
            options: PublishOptions::new(),
        }
    }

    /// Positional arguments.
    pub fn args<A: Serialize + ?Sized>(mut self, args: &A) -> Self {
        self.payload = add_args(&self.session, self.payload, args);
        self
    }

    /// Keyword arguments.
    pub fn kwargs<K: Serialize + ?Sized>(mut self, kwargs: &K) -> Self {
        self.payload = add_kwargs(&self.session, self.payload, kwargs);
        self
    }

    /// A ready-made payload.
    pub fn payload(mut self, payload: Payload) -> Self {
        self.payload = Ok(payload);
        self
    }

    /// Ask the broker to acknowledge (then `.await` gives the publication ID, or the
    /// broker's error).
    pub fn acknowledge(mut self, ack: bool) -> Self {
        self.options = self.options.with_acknowledge(ack);
        self
    }

    /// Whether to leave the publisher out of the receivers (default `true`).
    pub fn exclude_me(mut self, exclude: bool) -> Self {
        self.options = self.options.with_exclude_me(exclude);
        self
    }

    /// Sessions that must not receive the event.
    pub fn exclude(mut self, sessions: Vec<Id>) -> Self {
        self.options = self.options.with_exclude(sessions);
        self
    }

    /// Authids that must not receive the event.
    pub fn exclude_authid(mut self, authids: Vec<String>) -> Self {
        self.options = self.options.with_exclude_authid(authids);
        self
    }

    /// Authroles that must not receive the event.
    pub fn exclude_authrole(mut self, roles: Vec<String>) -> Self {
        self.options = self.options.with_exclude_authrole(roles);
        self
    }

    /// The only sessions that may receive the event.
    pub fn eligible(mut self, sessions: Vec<Id>) -> Self {
        self.options = self.options.with_eligible(sessions);
        self
    }

    /// The only authids that may receive the event.
    pub fn eligible_authid(mut self, authids: Vec<String>) -> Self {
        self.options = self.options.with_eligible_authid(authids);
        self
    }

    /// The only authroles that may receive the event.
    pub fn eligible_authrole(mut self, roles: Vec<String>) -> Self {
        self.options = self.options.with_eligible_authrole(roles);
        self
    }

    /// Ask the broker to disclose our identity to subscribers.
    pub fn disclose_me(mut self, disclose: bool) -> Self {
        self.options = self.options.with_disclose_me(disclose);
        self
    }

    /// Ask the broker to retain the event for late subscribers.
    pub fn retain(mut self, retain: bool) -> Self {
        self.options = self.options.with_retain(retain);
        self
    }

    /// Any other PUBLISH option.
    pub fn option(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.options.insert(key, value);
        self
    }
}

impl IntoFuture for PublishRequest {
    type Output = Result<Option<Id>, Error>;
    type IntoFuture = BoxFuture<Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let topic = self.topic?;
            let payload = self.payload?;
            let request = self.session.next_request();
            let ack = self.options.acknowledge().unwrap_or(false);
            let msg = Publish {
                request,
                options: self.options,
                topic,
                payload,
            }
            .into();
            if !ack {
                // Nothing comes back for an unacknowledged event: refuse it here while
                // disconnected rather than dropping it silently.
                if !self.session.is_connected() {
                    return Err(self.session.not_connected());
                }
                self.session.send(Command::Send(msg))?;
                return Ok(None);
            }
            let (tx, rx) = oneshot::channel();
            self.session.send(Command::Publish {
                request,
                msg,
                ack: tx,
            })?;
            match rx.await {
                Ok(result) => result.map(Some),
                Err(_) => Err(self.session.not_connected()),
            }
        })
    }
}

/// A subscription being prepared; `.await` it for a [`Subscription`].
#[must_use = "a subscription does nothing until it is awaited"]
pub struct SubscribeRequest {
    session: Session,
    /// Checked when awaited, once the match policy is known.
    topic: PendingUri,
    options: SubscribeOptions,
    buffer: usize,
}

impl SubscribeRequest {
    pub(crate) fn new(session: Session, topic: impl IntoUri) -> Self {
        SubscribeRequest {
            session,
            topic: topic.into_pending(),
            options: SubscribeOptions::new(),
            buffer: Subscription::DEFAULT_BUFFER,
        }
    }

    /// How many events may wait for the [`Subscription`] stream to take them (default
    /// [`Subscription::DEFAULT_BUFFER`]); more are dropped and counted (see
    /// [`Subscription`]).
    pub fn buffer(mut self, events: usize) -> Self {
        self.buffer = events;
        self
    }

    /// How the topic is matched (default exact).
    pub fn match_policy(mut self, policy: MatchPolicy) -> Self {
        if policy != MatchPolicy::Exact {
            self.options = self.options.with_match(policy);
        }
        self
    }

    /// Ask for the retained event, if any, right away.
    pub fn get_retained(mut self, get: bool) -> Self {
        self.options = self.options.with_get_retained(get);
        self
    }

    /// Any other SUBSCRIBE option.
    pub fn option(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.options.insert(key, value);
        self
    }
}

impl IntoFuture for SubscribeRequest {
    type Output = Result<Subscription, Error>;
    type IntoFuture = BoxFuture<Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let policy = self.options.match_policy().unwrap_or(MatchPolicy::Exact);
            let topic = self.topic.into_uri(policy.uri_kind())?;
            let local = self.session.next_local();
            let (events_tx, events_rx) = feed(self.buffer);
            let (tx, rx) = oneshot::channel();
            let key = SubKey { topic, policy };
            self.session.send(Command::Subscribe {
                key: key.clone(),
                options: self.options,
                local,
                events: events_tx,
                reply: tx,
            })?;
            let id = match rx.await {
                Ok(result) => result?,
                Err(_) => return Err(self.session.not_connected()),
            };
            Ok(Subscription {
                session: self.session,
                id,
                key,
                local,
                events: events_rx,
                end: None,
                active: true,
            })
        })
    }
}

/// A subscription: a stream of events. Dropping it unsubscribes.
///
/// End: when the subscription ends without its owner ending it, the stream yields one
/// error item saying why, then ends: [`Error::Revoked`] when the router revokes it,
/// the router's [`Error::Wamp`] when it refuses to subscribe it again after a reconnect,
/// [`Error::NotConnected`] when the session is over (it left, the router closed it,
/// reconnection gave up). [`Subscription::end_reason`] then has the [`EndReason`].
/// While the session reconnects, the stream just waits.
///
/// Buffer: events wait here until the stream takes them, up to
/// [`SubscribeRequest::buffer`] of them ([`Subscription::DEFAULT_BUFFER`] by default).
/// When the buffer is full, new events for this subscription are dropped and counted
/// ([`Subscription::dropped`]): the session task that reads the connection serves every
/// call and subscription and never waits for one slow reader, and the events kept are the
/// oldest, in order. The item that ends the stream is never dropped.
#[must_use = "streams do nothing unless polled"]
pub struct Subscription {
    session: Session,
    id: Id,
    key: SubKey,
    local: u64,
    events: FeedReceiver<Event, EndReason>,
    end: Option<EndReason>,
    active: bool,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .finish()
    }
}

impl Subscription {
    /// How many events wait for the reader by default.
    pub const DEFAULT_BUFFER: usize = 1024;

    /// How many events were dropped because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.events.dropped()
    }

    /// Why the subscription ended, once its stream has yielded the item saying so.
    pub fn end_reason(&self) -> Option<&EndReason> {
        self.end.as_ref()
    }

    /// The router's subscription ID (shared by local subscriptions to the same topic).
    pub fn id(&self) -> Id {
        self.id
    }

    /// Unsubscribes and waits for the router to confirm (when this was the last local
    /// subscription to the topic).
    pub async fn unsubscribe(mut self) -> Result<(), Error> {
        self.active = false;
        let (tx, rx) = oneshot::channel();
        self.session.send(Command::Unsubscribe {
            key: self.key.clone(),
            local: self.local,
            reply: Some(tx),
        })?;
        rx.await.unwrap_or(Ok(()))
    }
}

impl Stream for Subscription {
    type Item = Result<Event, Error>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let next = std::task::ready!(self.events.poll_next(cx));
        Poll::Ready(next.map(|next| match next {
            Next::Item(event) => Ok(event),
            Next::End(reason) => {
                self.end = Some(reason.clone());
                Err(reason.into())
            }
        }))
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if self.active {
            let _ = self.session.send(Command::Unsubscribe {
                key: self.key.clone(),
                local: self.local,
                reply: None,
            });
        }
    }
}

/// A registration being prepared; `.await` it for a [`Registration`].
#[must_use = "a registration does nothing until it is awaited"]
pub struct RegisterRequest {
    session: Session,
    /// Checked when awaited, once the match policy is known.
    procedure: PendingUri,
    options: RegisterOptions,
    handler: Handler,
}

impl RegisterRequest {
    pub(crate) fn new(session: Session, procedure: impl IntoUri, handler: Handler) -> Self {
        RegisterRequest {
            session,
            procedure: procedure.into_pending(),
            options: RegisterOptions::new(),
            handler,
        }
    }

    /// How the procedure URI is matched (default exact).
    pub fn match_policy(mut self, policy: MatchPolicy) -> Self {
        if policy != MatchPolicy::Exact {
            self.options = self.options.with_match(policy);
        }
        self
    }

    /// Shared registration policy (default single).
    pub fn invoke(mut self, policy: InvokePolicy) -> Self {
        if policy != InvokePolicy::Single {
            self.options = self.options.with_invoke(policy);
        }
        self
    }

    /// Ask the dealer to disclose callers' identities.
    pub fn disclose_caller(mut self, disclose: bool) -> Self {
        self.options = self.options.with_disclose_caller(disclose);
        self
    }

    /// Let this callee handle the call timeout instead of the dealer.
    pub fn forward_timeout(mut self, forward: bool) -> Self {
        self.options = self.options.with_forward_timeout(forward);
        self
    }

    /// Any other REGISTER option.
    pub fn option(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.options.insert(key, value);
        self
    }
}

impl IntoFuture for RegisterRequest {
    type Output = Result<Registration, Error>;
    type IntoFuture = BoxFuture<Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let policy = self.options.match_policy().unwrap_or(MatchPolicy::Exact);
            let procedure = self.procedure.into_uri(policy.uri_kind())?;
            let local = self.session.next_local();
            let (tx, rx) = oneshot::channel();
            let (end_tx, end_rx) = watch::channel(None);
            self.session.send(Command::Register {
                local,
                procedure,
                options: self.options,
                handler: self.handler,
                end: end_tx,
                reply: tx,
            })?;
            let id = match rx.await {
                Ok(result) => result?,
                Err(_) => return Err(self.session.not_connected()),
            };
            Ok(Registration {
                session: self.session,
                id,
                local,
                end: end_rx,
                active: true,
            })
        })
    }
}

/// A registered procedure. Dropping it unregisters.
///
/// With reconnection on, the procedure is registered again after each reconnect (under a
/// new router ID). When it ends without its owner ending it, [`Registration::ended`]
/// says why: the router revoked it, refused to register it again after a reconnect, or
/// the session is over.
#[must_use = "dropping a registration unregisters the procedure"]
pub struct Registration {
    session: Session,
    id: Id,
    local: u64,
    end: watch::Receiver<Option<EndReason>>,
    active: bool,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("id", &self.id)
            .finish()
    }
}

impl Registration {
    /// The router's registration ID (as first registered; it changes with reconnects).
    pub fn id(&self) -> Id {
        self.id
    }

    /// Resolves when the registration has ended without its owner ending it, with the
    /// reason; pending for as long as it is active (through reconnects).
    pub async fn ended(&self) -> EndReason {
        let mut end = self.end.clone();
        let result = match end.wait_for(Option::is_some).await {
            Ok(reason) => reason.clone(),
            Err(_) => None,
        };
        // The session's task is gone without a word: the session is over.
        result.unwrap_or_else(|| EndReason::SessionClosed("the session ended".into()))
    }

    /// Why the registration ended, if it has (see [`Registration::ended`]).
    pub fn end_reason(&self) -> Option<EndReason> {
        self.end.borrow().clone()
    }

    /// Unregisters and waits for the router to confirm.
    pub async fn unregister(mut self) -> Result<(), Error> {
        self.active = false;
        let (tx, rx) = oneshot::channel();
        self.session.send(Command::Unregister {
            local: self.local,
            reply: Some(tx),
        })?;
        rx.await.unwrap_or(Ok(()))
    }

    /// Keeps the procedure registered for as long as the session lives, without holding
    /// this handle.
    pub fn detach(mut self) {
        self.active = false;
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if self.active {
            let _ = self.session.send(Command::Unregister {
                local: self.local,
                reply: None,
            });
        }
    }
}
