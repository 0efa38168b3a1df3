//! The one task that owns a session's transport.
//!
//! Handles talk to it over an unbounded command channel; it keeps the request tables
//! (request ID → waiting caller) and the subscription and registration tables, writes
//! outgoing messages and dispatches incoming ones. Nothing else touches the transport, so
//! no lock is held across IO and every table has one owner.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot, watch};

use super::error::{Error, WampError};
use super::types::{CallResult, Event, Invocation, SessionState};
use super::Handler;
use crate::protocol::*;
use crate::serializer::Serializer;
use crate::transport::{Transport, TransportError};

/// Replies for one call: progressive results, then the final result or an error.
pub(crate) type CallSink = mpsc::UnboundedSender<Result<CallResult, Error>>;
/// Where a subscription's events go.
pub(crate) type EventSink = mpsc::UnboundedSender<Result<Event, Error>>;
/// The answer to a SUBSCRIBE or REGISTER: the router's ID.
pub(crate) type IdReply = oneshot::Sender<Result<Id, Error>>;

/// What handles ask the driver to do.
pub(crate) enum Command {
    /// Send a message that needs no reply tracking (PUBLISH without ack).
    Send(Message),
    Call {
        request: Id,
        msg: Message,
        reply: CallSink,
    },
    CancelCall {
        request: Id,
        mode: CancelMode,
    },
    Publish {
        request: Id,
        msg: Message,
        ack: oneshot::Sender<Result<Id, Error>>,
    },
    Subscribe {
        key: SubKey,
        msg: Message,
        local: u64,
        events: EventSink,
        reply: oneshot::Sender<Result<Id, Error>>,
    },
    Unsubscribe {
        subscription: Id,
        local: u64,
        reply: Option<oneshot::Sender<Result<(), Error>>>,
    },
    Register {
        request: Id,
        msg: Message,
        handler: Handler,
        reply: oneshot::Sender<Result<Id, Error>>,
    },
    Unregister {
        registration: Id,
        reply: Option<oneshot::Sender<Result<(), Error>>>,
    },
    InvocationProgress {
        request: Id,
        msg: Message,
    },
    InvocationDone {
        request: Id,
        msg: Message,
    },
    Leave {
        reason: Uri,
        reply: oneshot::Sender<Result<(), Error>>,
    },
}

/// Subscriptions to the same topic with the same match policy share one router
/// subscription.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct SubKey {
    pub(crate) topic: Uri,
    pub(crate) policy: MatchPolicy,
}

struct Subscription {
    key: SubKey,
    locals: Vec<(u64, EventSink)>,
}

struct PendingSubscribe {
    key: SubKey,
    waiting: Vec<(u64, EventSink, IdReply)>,
}

struct Registration {
    procedure: Uri,
    handler: Handler,
}

pub(crate) struct Driver {
    pub(crate) transport: Transport,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    pub(crate) command_tx: mpsc::WeakUnboundedSender<Command>,
    pub(crate) serializer: Serializer,
    pub(crate) state: watch::Sender<SessionState>,
    pub(crate) ids: Arc<super::RequestIds>,
    calls: HashMap<Id, CallSink>,
    publishes: HashMap<Id, oneshot::Sender<Result<Id, Error>>>,
    subscribing: HashMap<Id, PendingSubscribe>,
    subscribing_keys: HashMap<SubKey, Id>,
    subscriptions: HashMap<Id, Subscription>,
    subscription_keys: HashMap<SubKey, Id>,
    unsubscribing: HashMap<Id, oneshot::Sender<Result<(), Error>>>,
    registering: HashMap<Id, (Uri, Handler, IdReply)>,
    registrations: HashMap<Id, Registration>,
    unregistering: HashMap<Id, oneshot::Sender<Result<(), Error>>>,
    invocations: HashMap<Id, tokio::task::AbortHandle>,
    leaving: Option<oneshot::Sender<Result<(), Error>>>,
}

/// Why the driver stopped.
enum Exit {
    Left,
    Lost(String),
}

impl Driver {
    pub(crate) fn new(
        transport: Transport,
        commands: mpsc::UnboundedReceiver<Command>,
        command_tx: mpsc::WeakUnboundedSender<Command>,
        serializer: Serializer,
        state: watch::Sender<SessionState>,
        ids: Arc<super::RequestIds>,
    ) -> Self {
        Driver {
            transport,
            commands,
            command_tx,
            serializer,
            state,
            ids,
            calls: HashMap::new(),
            publishes: HashMap::new(),
            subscribing: HashMap::new(),
            subscribing_keys: HashMap::new(),
            subscriptions: HashMap::new(),
            subscription_keys: HashMap::new(),
            unsubscribing: HashMap::new(),
            registering: HashMap::new(),
            registrations: HashMap::new(),
            unregistering: HashMap::new(),
            invocations: HashMap::new(),
            leaving: None,
        }
    }

    pub(crate) async fn run(mut self) {
        let exit = self.run_inner().await;
        let reason = match &exit {
            Exit::Left => "the session left".to_owned(),
            Exit::Lost(r) => r.clone(),
        };
        self.fail_everything(&reason);
        for (_, task) in self.invocations.drain() {
            task.abort();
        }
        let _ = self.transport.close().await;
        if let Some(reply) = self.leaving.take() {
            let _ = reply.send(match exit {
                Exit::Left => Ok(()),
                Exit::Lost(r) => Err(Error::NotConnected(Some(r))),
            });
        }
        self.state.send_replace(SessionState::Closed(reason));
    }

    async fn run_inner(&mut self) -> Exit {
        loop {
            tokio::select! {
                biased;
                incoming = self.transport.next() => match incoming {
                    Some(Ok(msg)) => {
                        if let Some(exit) = self.on_message(msg).await {
                            return exit;
                        }
                    }
                    Some(Err(TransportError::Decode(e))) => {
                        let reason = format!("the router sent an invalid message: {e}");
                        self.abort("wamp.error.protocol_violation", &reason).await;
                        return Exit::Lost(reason);
                    }
                    Some(Err(e)) => return Exit::Lost(format!("connection lost: {e}")),
                    None => return Exit::Lost("connection closed by the router".into()),
                },
                command = self.commands.recv() => match command {
                    Some(cmd) => {
                        if let Err(e) = self.on_command(cmd).await {
                            return Exit::Lost(format!("connection lost: {e}"));
                        }
                        // Write what else is queued before flushing once.
                        while let Ok(cmd) = self.commands.try_recv() {
                            if let Err(e) = self.on_command(cmd).await {
                                return Exit::Lost(format!("connection lost: {e}"));
                            }
                        }
                        if let Err(e) = self.transport.flush().await {
                            return Exit::Lost(format!("connection lost: {e}"));
                        }
                    }
                    None => {
                        // Every handle is gone: leave politely.
                        self.say_goodbye(Uri::from_static("wamp.close.close_realm")).await;
                        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), self.await_goodbye()).await;
                        return Exit::Left;
                    }
                },
            }
        }
    }

    async fn await_goodbye(&mut self) {
        while let Some(Ok(msg)) = self.transport.next().await {
            if matches!(msg, Message::Goodbye(_)) {
                return;
            }
        }
    }

    async fn say_goodbye(&mut self, reason: Uri) {
        let _ = self
            .transport
            .send(
                Goodbye {
                    details: CloseDetails::new(),
                    reason,
                }
                .into(),
            )
            .await;
    }

    async fn abort(&mut self, reason: &'static str, message: &str) {
        let msg = Abort {
            details: CloseDetails::new().with_message(message.to_owned()),
            reason: Uri::from_static(reason),
        };
        let _ = self.transport.send(msg.into()).await;
    }

    /// Queues a message; the loop flushes.
    async fn feed(&mut self, msg: Message) -> Result<(), TransportError> {
        match self.transport.feed(msg).await {
            // Too large for the peer: the message is refused, the connection is fine.
            Err(TransportError::MessageTooLarge { .. }) => Ok(()),
            other => other,
        }
    }

    async fn feed_or_fail(&mut self, msg: Message) -> Result<Result<(), Error>, TransportError> {
        match self.transport.feed(msg).await {
            Ok(()) => Ok(Ok(())),
            Err(e @ (TransportError::MessageTooLarge { .. } | TransportError::Encode(_))) => {
                Ok(Err(e.into()))
            }
            Err(e) => Err(e),
        }
    }

    async fn on_command(&mut self, cmd: Command) -> Result<(), TransportError> {
        match cmd {
            Command::Send(msg) => self.feed(msg).await?,
            Command::Call {
                request,
                msg,
                reply,
            } => {
                if reply.is_closed() {
                    return Ok(()); // the caller gave up before we got here
                }
                match self.feed_or_fail(msg).await? {
                    Ok(()) => {
                        self.calls.insert(request, reply);
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Command::CancelCall { request, mode } => {
                if self.calls.remove(&request).is_some() {
                    self.feed(
                        Cancel {
                            request,
                            options: CancelOptions::new().with_mode(mode),
                        }
                        .into(),
                    )
                    .await?;
                }
            }
            Command::Publish { request, msg, ack } => match self.feed_or_fail(msg).await? {
                Ok(()) => {
                    self.publishes.insert(request, ack);
                }
                Err(e) => {
                    let _ = ack.send(Err(e));
                }
            },
            Command::Subscribe {
                key,
                msg,
                local,
                events,
                reply,
            } => {
                if let Some(id) = self.subscription_keys.get(&key).copied() {
                    if let Some(sub) = self.subscriptions.get_mut(&id) {
                        sub.locals.push((local, events));
                        let _ = reply.send(Ok(id));
                        return Ok(());
                    }
                }
                if let Some(request) = self.subscribing_keys.get(&key).copied() {
                    if let Some(p) = self.subscribing.get_mut(&request) {
                        p.waiting.push((local, events, reply));
                        return Ok(());
                    }
                }
                let Message::Subscribe(s) = &msg else {
                    return Ok(());
                };
                let request = s.request;
                self.subscribing_keys.insert(key.clone(), request);
                self.subscribing.insert(
                    request,
                    PendingSubscribe {
                        key,
                        waiting: vec![(local, events, reply)],
                    },
                );
                self.feed(msg).await?;
            }
            Command::Unsubscribe {
                subscription,
                local,
                reply,
            } => {
                let Some(sub) = self.subscriptions.get_mut(&subscription) else {
                    if let Some(r) = reply {
                        let _ = r.send(Ok(()));
                    }
                    return Ok(());
                };
                sub.locals.retain(|(l, _)| *l != local);
                if !sub.locals.is_empty() {
                    if let Some(r) = reply {
                        let _ = r.send(Ok(()));
                    }
                    return Ok(());
                }
                if let Some(sub) = self.subscriptions.remove(&subscription) {
                    self.subscription_keys.remove(&sub.key);
                }
                let request = self.ids.next();
                if let Some(r) = reply {
                    self.unsubscribing.insert(request, r);
                }
                self.feed(
                    Unsubscribe {
                        request,
                        subscription,
                    }
                    .into(),
                )
                .await?;
            }
            Command::Register {
                request,
                msg,
                handler,
                reply,
            } => {
                let Message::Register(r) = &msg else {
                    return Ok(());
                };
                self.registering
                    .insert(request, (r.procedure.clone(), handler, reply));
                self.feed(msg).await?;
            }
            Command::Unregister {
                registration,
                reply,
            } => {
                if self.registrations.remove(&registration).is_none() {
                    if let Some(r) = reply {
                        let _ = r.send(Ok(()));
                    }
                    return Ok(());
                }
                let request = self.ids.next();
                if let Some(r) = reply {
                    self.unregistering.insert(request, r);
                }
                self.feed(
                    Unregister {
                        request,
                        registration,
                    }
                    .into(),
                )
                .await?;
            }
            Command::InvocationProgress { request, msg } => {
                if self.invocations.contains_key(&request) {
                    self.feed(msg).await?;
                }
            }
            Command::InvocationDone { request, msg } => {
                if self.invocations.remove(&request).is_some() {
                    // A result too large for the router becomes an error the caller sees.
                    if let Err(e) = self.feed_or_fail(msg).await? {
                        let err = error_reply(
                            MessageType::Invocation,
                            request,
                            "wamp.error.payload_size_exceeded",
                            &e.to_string(),
                        );
                        self.feed(err).await?;
                    }
                }
            }
            Command::Leave { reason, reply } => {
                self.leaving = Some(reply);
                self.say_goodbye(reason).await;
            }
        }
        Ok(())
    }

    /// Handles one message from the router; `Some` ends the session.
    async fn on_message(&mut self, msg: Message) -> Option<Exit> {
        match msg {
            Message::Result(m) => {
                let progress = m.details.progress().unwrap_or(false);
                let result = CallResult {
                    payload: m.payload,
                    details: m.details,
                };
                if progress {
                    if let Some(sink) = self.calls.get(&m.request) {
                        let _ = sink.send(Ok(result));
                    }
                } else if let Some(sink) = self.calls.remove(&m.request) {
                    let _ = sink.send(Ok(result));
                }
            }
            Message::Error(m) => self.on_error(m),
            Message::Event(m) => {
                if let Some(sub) = self.subscriptions.get(&m.subscription) {
                    let topic = m.details.topic().unwrap_or_else(|| sub.key.topic.clone());
                    let event = Event {
                        subscription: m.subscription,
                        publication: m.publication,
                        topic,
                        payload: m.payload,
                        details: m.details,
                    };
                    if let [(_, only)] = sub.locals.as_slice() {
                        let _ = only.send(Ok(event));
                    } else {
                        for (_, sink) in &sub.locals {
                            let _ = sink.send(Ok(event.clone()));
                        }
                    }
                }
            }
            Message::Published(m) => {
                if let Some(ack) = self.publishes.remove(&m.request) {
                    let _ = ack.send(Ok(m.publication));
                }
            }
            Message::Subscribed(m) => {
                if let Some(pending) = self.subscribing.remove(&m.request) {
                    self.subscribing_keys.remove(&pending.key);
                    let sub =
                        self.subscriptions
                            .entry(m.subscription)
                            .or_insert_with(|| Subscription {
                                key: pending.key.clone(),
                                locals: Vec::new(),
                            });
                    for (local, events, reply) in pending.waiting {
                        sub.locals.push((local, events));
                        let _ = reply.send(Ok(m.subscription));
                    }
                    self.subscription_keys.insert(pending.key, m.subscription);
                }
            }
            Message::Unsubscribed(m) => match m.details {
                Some(details) => {
                    // Revocation by the broker.
                    if let Some(id) = details.subscription() {
                        if let Some(sub) = self.subscriptions.remove(&id) {
                            self.subscription_keys.remove(&sub.key);
                            let reason = details
                                .reason()
                                .unwrap_or_else(|| "revoked by the router".into());
                            for (_, sink) in sub.locals {
                                let _ = sink.send(Err(Error::Revoked(reason.clone())));
                            }
                        }
                    }
                }
                None => {
                    if let Some(reply) =
                        Id::new(m.request).and_then(|r| self.unsubscribing.remove(&r))
                    {
                        let _ = reply.send(Ok(()));
                    }
                }
            },
            Message::Registered(m) => {
                if let Some((procedure, handler, reply)) = self.registering.remove(&m.request) {
                    self.registrations
                        .insert(m.registration, Registration { procedure, handler });
                    let _ = reply.send(Ok(m.registration));
                }
            }
            Message::Unregistered(m) => match m.details {
                Some(details) => {
                    if let Some(id) = details.registration() {
                        if let Some(reg) = self.registrations.remove(&id) {
                            tracing::warn!(procedure = %reg.procedure, reason = ?details.reason(), "the router revoked a registration");
                        }
                    }
                }
                None => {
                    if let Some(reply) =
                        Id::new(m.request).and_then(|r| self.unregistering.remove(&r))
                    {
                        let _ = reply.send(Ok(()));
                    }
                }
            },
            Message::Invocation(m) => self.on_invocation(m).await,
            Message::Interrupt(m) => {
                if let Some(task) = self.invocations.remove(&m.request) {
                    task.abort();
                    let reply = error_reply(
                        MessageType::Invocation,
                        m.request,
                        "wamp.error.canceled",
                        "the call was canceled",
                    );
                    let _ = self.transport.send(reply).await;
                }
            }
            Message::Goodbye(m) => {
                if self.leaving.is_some() {
                    return Some(Exit::Left);
                }
                self.say_goodbye(Uri::from_static("wamp.close.goodbye_and_out"))
                    .await;
                return Some(Exit::Lost(format!(
                    "the router closed the session: {}",
                    m.reason
                )));
            }
            Message::Abort(m) => {
                return Some(Exit::Lost(format!(
                    "the router aborted the session: {}{}",
                    m.reason,
                    m.details
                        .message()
                        .map(|s| format!(" ({s})"))
                        .unwrap_or_default()
                )));
            }
            other => {
                let reason = format!(
                    "unexpected {} message in an established session",
                    other.message_type()
                );
                self.abort("wamp.error.protocol_violation", &reason).await;
                return Some(Exit::Lost(reason));
            }
        }
        None
    }

    fn on_error(&mut self, m: ErrorMessage) {
        let err = || {
            Error::Wamp(WampError {
                uri: m.error.clone(),
                payload: m.payload.clone(),
                details: m.details.clone(),
            })
        };
        match m.request_type {
            MessageType::Call => {
                if let Some(sink) = self.calls.remove(&m.request) {
                    let _ = sink.send(Err(err()));
                }
            }
            MessageType::Publish => {
                if let Some(ack) = self.publishes.remove(&m.request) {
                    let _ = ack.send(Err(err()));
                }
            }
            MessageType::Subscribe => {
                if let Some(p) = self.subscribing.remove(&m.request) {
                    self.subscribing_keys.remove(&p.key);
                    for (_, _, reply) in p.waiting {
                        let _ = reply.send(Err(err()));
                    }
                }
            }
            MessageType::Unsubscribe => {
                if let Some(reply) = self.unsubscribing.remove(&m.request) {
                    let _ = reply.send(Err(err()));
                }
            }
            MessageType::Register => {
                if let Some((_, _, reply)) = self.registering.remove(&m.request) {
                    let _ = reply.send(Err(err()));
                }
            }
            MessageType::Unregister => {
                if let Some(reply) = self.unregistering.remove(&m.request) {
                    let _ = reply.send(Err(err()));
                }
            }
            other => {
                tracing::debug!(request_type = %other, error = %m.error, "ignoring an ERROR for a request we do not track")
            }
        }
    }

    async fn on_invocation(&mut self, m: crate::protocol::Invocation) {
        let Some(reg) = self.registrations.get(&m.registration) else {
            let reply = error_reply(
                MessageType::Invocation,
                m.request,
                "wamp.error.no_such_registration",
                "no such registration",
            );
            let _ = self.transport.send(reply).await;
            return;
        };
        let Some(commands) = self.command_tx.upgrade() else {
            return;
        };
        let procedure = m
            .details
            .procedure()
            .unwrap_or_else(|| reg.procedure.clone());
        let request = m.request;
        let invocation = Invocation {
            request,
            registration: m.registration,
            procedure,
            payload: m.payload,
            details: m.details,
            serializer: self.serializer,
            commands: commands.clone(),
        };
        let handler = reg.handler.clone();
        let task = tokio::spawn(async move {
            let outcome = AssertUnwindSafe(handler(invocation)).catch_unwind().await;
            let msg = match outcome {
                Ok(Ok(payload)) => Yield {
                    request,
                    options: YieldOptions::new(),
                    payload,
                }
                .into(),
                Ok(Err(e)) => ErrorMessage {
                    request_type: MessageType::Invocation,
                    request,
                    details: ErrorDetails::new(),
                    error: e.uri,
                    payload: e.payload,
                }
                .into(),
                Err(panic) => {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "unknown panic".into());
                    error_reply(
                        MessageType::Invocation,
                        request,
                        "wamp.error.runtime_error",
                        &format!("the callee panicked: {what}"),
                    )
                }
            };
            let _ = commands.send(Command::InvocationDone { request, msg });
        });
        self.invocations.insert(request, task.abort_handle());
    }

    fn fail_everything(&mut self, reason: &str) {
        let err = || Error::NotConnected(Some(reason.to_owned()));
        for (_, sink) in self.calls.drain() {
            let _ = sink.send(Err(err()));
        }
        for (_, ack) in self.publishes.drain() {
            let _ = ack.send(Err(err()));
        }
        for (_, p) in self.subscribing.drain() {
            for (_, _, reply) in p.waiting {
                let _ = reply.send(Err(err()));
            }
        }
        for (_, sub) in self.subscriptions.drain() {
            for (_, sink) in sub.locals {
                let _ = sink.send(Err(err()));
            }
        }
        for (_, reply) in self.unsubscribing.drain() {
            let _ = reply.send(Err(err()));
        }
        for (_, (_, _, reply)) in self.registering.drain() {
            let _ = reply.send(Err(err()));
        }
        for (_, reply) in self.unregistering.drain() {
            let _ = reply.send(Err(err()));
        }
        self.subscribing_keys.clear();
        self.subscription_keys.clear();
        self.registrations.clear();
    }
}

/// An ERROR answering a request, with a message as its one argument.
pub(crate) fn error_reply(
    request_type: MessageType,
    request: Id,
    uri: &'static str,
    message: &str,
) -> Message {
    ErrorMessage {
        request_type,
        request,
        details: ErrorDetails::new(),
        error: Uri::from_static(uri),
        payload: Payload::from_values(vec![message.into()], Dict::new()),
    }
    .into()
}
