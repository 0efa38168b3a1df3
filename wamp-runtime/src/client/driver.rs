//! The one task that reads a session's transport.
//!
//! Handles talk to it over an unbounded command channel; it keeps the request tables
//! (request ID → waiting caller) and the subscription and registration tables, writes
//! outgoing messages and dispatches incoming ones. The one thing it shares is the write
//! half and the pending-calls table ([`Outbound`]): a call made on an idle connection is
//! written by its caller (see `outbound.rs` for why and for the rules). Nobody else waits
//! while holding the writer, and every other table has one owner.
//!
//! With reconnection on, a lost connection does not end the driver: calls in flight fail
//! at once, subscriptions and registrations are kept, and after a successful reconnect
//! they are subscribed and registered again under their new router IDs. Handles refer to
//! them by local IDs and topic keys, which survive reconnects.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot, watch, OwnedMutexGuard};

use super::error::{Error, WampError};
use super::feed::FeedSender;
use super::outbound::{Outbound, Writer};
use super::types::{CallResult, EndReason, Event, Invocation, SessionState};
use super::Handler;
use crate::protocol::id::OwnIdMap;
use crate::protocol::*;
use crate::serializer::Serializer;
use crate::transport::{Transport, TransportError, TransportReader};

/// Replies for one call: progressive results, then the final result or an error.
pub(crate) enum CallSink {
    /// A plain call: one answer (a oneshot is cheaper than a channel per call).
    Once(oneshot::Sender<Result<CallResult, Error>>),
    /// Progressive results: any number of them (those the caller's buffer has no room
    /// for are dropped), then the final one, never dropped.
    Stream(FeedSender<CallResult, Result<CallResult, Error>>),
}

impl CallSink {
    /// Delivers the final answer.
    pub(crate) fn finish(self, result: Result<CallResult, Error>) {
        match self {
            CallSink::Once(tx) => {
                let _ = tx.send(result);
            }
            CallSink::Stream(tx) => tx.end(result),
        }
    }

    /// Delivers a progressive result (dropped for plain calls, which did not ask).
    fn progress(&self, result: CallResult) {
        if let CallSink::Stream(tx) = self {
            tx.push(result);
        }
    }

    fn is_closed(&self) -> bool {
        match self {
            CallSink::Once(tx) => tx.is_closed(),
            CallSink::Stream(tx) => tx.is_closed(),
        }
    }
}
/// Where a subscription's events go (those its buffer has no room for are dropped), then
/// why it ended.
pub(crate) type EventSink = FeedSender<Event, EndReason>;
/// Where a registration's end is told: `None` while it is active.
pub(crate) type EndSignal = watch::Sender<Option<EndReason>>;
/// The answer to a SUBSCRIBE or REGISTER: the router's ID.
pub(crate) type IdReply = oneshot::Sender<Result<Id, Error>>;
/// The answer to an UNSUBSCRIBE or UNREGISTER.
pub(crate) type UnitReply = oneshot::Sender<Result<(), Error>>;

/// What handles ask the driver to do.
pub(crate) enum Command {
    /// Send a message that needs no reply tracking (PUBLISH without ack).
    Send(Message),
    /// Finish writing what a caller's direct write left in the connection's buffer.
    Flush,
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
        ack: IdReply,
    },
    Subscribe {
        key: SubKey,
        options: SubscribeOptions,
        local: u64,
        events: EventSink,
        reply: IdReply,
    },
    Unsubscribe {
        key: SubKey,
        local: u64,
        reply: Option<UnitReply>,
    },
    Register {
        local: u64,
        procedure: Uri,
        options: RegisterOptions,
        handler: Handler,
        end: EndSignal,
        reply: IdReply,
    },
    Unregister {
        local: u64,
        reply: Option<UnitReply>,
    },
    /// A progressive result; its slot is freed once it is written.
    InvocationProgress {
        request: Id,
        msg: Message,
        slot: tokio::sync::OwnedSemaphorePermit,
    },
    InvocationDone {
        request: Id,
        msg: Message,
    },
    Leave {
        reason: Uri,
        reply: UnitReply,
    },
}

/// Subscriptions to the same topic with the same match policy share one router
/// subscription.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct SubKey {
    pub(crate) topic: Uri,
    pub(crate) policy: MatchPolicy,
}

/// One router subscription and the local streams that share it.
struct Subscription {
    key: SubKey,
    options: SubscribeOptions,
    locals: Vec<(u64, EventSink)>,
}

struct PendingSubscribe {
    key: SubKey,
    options: SubscribeOptions,
    locals: Vec<(u64, EventSink)>,
    /// Callers waiting for the ID (none when re-subscribing after a reconnect).
    replies: Vec<IdReply>,
}

/// A registered procedure, identified locally by `local` (router IDs change on reconnect).
struct Registration {
    local: u64,
    procedure: Uri,
    options: RegisterOptions,
    handler: Handler,
    end: EndSignal,
}

struct PendingRegister {
    registration: Registration,
    reply: Option<IdReply>,
}

/// Opens a new transport and joins again, for automatic reconnection.
pub(crate) type Connector = Arc<
    dyn Fn() -> futures_util::future::BoxFuture<'static, Result<(Transport, Welcome), Error>>
        + Send
        + Sync,
>;

/// Automatic reconnection: how to reconnect and how long to wait between attempts.
pub(crate) struct Reconnect {
    pub(crate) connect: Connector,
    pub(crate) policy: super::ReconnectPolicy,
}

/// What the handles can read about the current session.
#[derive(Debug)]
pub(crate) struct Joined {
    pub(crate) session: Id,
    pub(crate) welcome: WelcomeDetails,
}

/// The driver task has ended: the session is over.
#[derive(Debug)]
pub(crate) struct DriverGone;

/// The sending end of a driver's command queue, counting what it sends (a caller writes
/// its CALL itself only when the driver has nothing queued: see [`Outbound`]).
#[derive(Clone)]
pub(crate) struct Commands {
    tx: mpsc::UnboundedSender<Command>,
    outbound: Arc<Outbound>,
}

impl std::fmt::Debug for Commands {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Commands").finish_non_exhaustive()
    }
}

impl Commands {
    pub(crate) fn new(tx: mpsc::UnboundedSender<Command>, outbound: Arc<Outbound>) -> Self {
        Commands { tx, outbound }
    }

    /// Queues a command; fails if the driver is gone (the session is over).
    pub(crate) fn send(&self, cmd: Command) -> Result<(), DriverGone> {
        self.outbound.command_queued();
        self.tx.send(cmd).map_err(|_| {
            self.outbound.command_handled();
            DriverGone
        })
    }

    /// The connection's shared write side.
    pub(crate) fn outbound(&self) -> &Outbound {
        &self.outbound
    }
}

/// The channels and shared state a driver works with.
pub(crate) struct Links {
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    pub(crate) command_tx: mpsc::WeakUnboundedSender<Command>,
    pub(crate) outbound: Arc<Outbound>,
    pub(crate) state: watch::Sender<SessionState>,
    pub(crate) joined: Arc<std::sync::RwLock<Joined>>,
    pub(crate) ids: Arc<super::RequestIds>,
}

pub(crate) struct Driver {
    /// The read half of the connection (the write half is in `outbound`).
    reader: TransportReader,
    /// The write half, the pending calls, and what callers need to write directly.
    outbound: Arc<Outbound>,
    /// The write half while the driver writes a batch (released by [`Driver::flush`]).
    writing: Option<OwnedMutexGuard<Option<Writer>>>,
    commands: mpsc::UnboundedReceiver<Command>,
    command_tx: mpsc::WeakUnboundedSender<Command>,
    serializer: Serializer,
    state: watch::Sender<SessionState>,
    joined: Arc<std::sync::RwLock<Joined>>,
    ids: Arc<super::RequestIds>,
    reconnect: Option<Reconnect>,
    /// Keyed by our own request IDs (see [`OwnIdMap`]).
    publishes: OwnIdMap<IdReply>,
    subscribing: HashMap<Id, PendingSubscribe>,
    subscribing_keys: HashMap<SubKey, Id>,
    subscriptions: HashMap<Id, Subscription>,
    subscription_keys: HashMap<SubKey, Id>,
    unsubscribing: HashMap<Id, UnitReply>,
    registering: HashMap<Id, PendingRegister>,
    registrations: HashMap<Id, Registration>,
    registration_ids: HashMap<u64, Id>,
    unregistering: HashMap<Id, UnitReply>,
    invocations: HashMap<Id, Running>,
    leaving: Option<UnitReply>,
}

/// A running invocation: its task, and where further input chunks go (progressive call
/// invocations).
struct Running {
    task: tokio::task::AbortHandle,
    chunks: Option<mpsc::UnboundedSender<Payload>>,
}

/// Why the connection ended.
enum Exit {
    /// We left (or every handle is gone).
    Left,
    /// The connection was lost: retried when reconnection is on.
    Lost(String),
    /// The router ended the session on purpose (GOODBYE, ABORT) or broke the protocol:
    /// not retried.
    Closed(String),
}

impl Driver {
    /// A driver for the connection whose write half is already in `links.outbound`.
    pub(crate) fn new(
        reader: TransportReader,
        serializer: Serializer,
        links: Links,
        reconnect: Option<Reconnect>,
    ) -> Self {
        Driver {
            reader,
            outbound: links.outbound,
            writing: None,
            commands: links.commands,
            command_tx: links.command_tx,
            serializer,
            state: links.state,
            joined: links.joined,
            ids: links.ids,
            reconnect,
            publishes: OwnIdMap::default(),
            subscribing: HashMap::new(),
            subscribing_keys: HashMap::new(),
            subscriptions: HashMap::new(),
            subscription_keys: HashMap::new(),
            unsubscribing: HashMap::new(),
            registering: HashMap::new(),
            registrations: HashMap::new(),
            registration_ids: HashMap::new(),
            unregistering: HashMap::new(),
            invocations: HashMap::new(),
            leaving: None,
        }
    }

    pub(crate) async fn run(mut self) {
        // A connection lost while subscribing and registering again after a reconnect.
        let mut lost_restoring = None;
        let exit = loop {
            let exit = match lost_restoring.take() {
                Some(reason) => Exit::Lost(reason),
                None => self.run_inner().await,
            };
            let reason = match exit {
                Exit::Lost(reason) if self.reconnect.is_some() && self.leaving.is_none() => reason,
                other => break other,
            };
            self.close_writer().await;
            self.go_offline(&reason);
            if let Some(exit) = self.reconnect_loop(reason).await {
                break exit;
            }
            if let Err(e) = self.restore().await {
                lost_restoring = Some(format!("connection lost: {e}"));
            }
        };
        let reason = match &exit {
            Exit::Left => "the session left".to_owned(),
            Exit::Lost(r) | Exit::Closed(r) => r.clone(),
        };
        // The writer goes first: once it is gone no caller can put a call into the table
        // (they would write it themselves), so failing what is in there fails them all.
        let writer = self.take_writer().await;
        self.fail_everything(&reason);
        self.stop_invocations();
        close(writer).await;
        if let Some(reply) = self.leaving.take() {
            let _ = reply.send(match exit {
                Exit::Left => Ok(()),
                Exit::Lost(r) | Exit::Closed(r) => Err(Error::NotConnected(Some(r))),
            });
        }
        self.state.send_replace(SessionState::Closed(reason));
    }

    fn stop_invocations(&mut self) {
        for (_, running) in self.invocations.drain() {
            running.task.abort();
        }
    }

    /// The connection is gone but we will reconnect: fail what cannot survive (calls,
    /// acknowledgements, requests in flight), keep subscriptions and registrations.
    fn go_offline(&mut self, reason: &str) {
        let err = || Error::NotConnected(Some(format!("{reason}; reconnecting")));
        self.outbound.fail_calls(err);
        for (_, ack) in self.publishes.drain() {
            let _ = ack.send(Err(err()));
        }
        for (_, reply) in self.unsubscribing.drain().chain(self.unregistering.drain()) {
            let _ = reply.send(Err(err()));
        }
        // Subscribes the router never answered: their callers fail, the streams already
        // handed out (re-subscriptions) are kept for the next connection.
        for (_, p) in self.subscribing.drain() {
            for reply in p.replies {
                let _ = reply.send(Err(err()));
            }
            if !p.locals.is_empty() {
                let placeholder = self.ids.next();
                self.subscriptions.insert(
                    placeholder,
                    Subscription {
                        key: p.key,
                        options: p.options,
                        locals: p.locals,
                    },
                );
            }
        }
        self.subscribing_keys.clear();
        for (_, p) in self.registering.drain() {
            match p.reply {
                Some(reply) => {
                    let _ = reply.send(Err(err()));
                }
                // A re-registration in flight: keep it for the next connection.
                None => {
                    let placeholder = self.ids.next();
                    self.registration_ids
                        .insert(p.registration.local, placeholder);
                    self.registrations.insert(placeholder, p.registration);
                }
            }
        }
        self.stop_invocations();
        self.state
            .send_replace(SessionState::Disconnected(reason.to_owned()));
    }

    /// Reconnects with backoff while serving commands offline. `Some` when the session
    /// is over instead (left, handles gone, attempts exhausted).
    async fn reconnect_loop(&mut self, mut reason: String) -> Option<Exit> {
        let Some(reconnect) = &self.reconnect else {
            return Some(Exit::Lost(reason));
        };
        let connect = reconnect.connect.clone();
        let policy = reconnect.policy.clone();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            if policy.max_attempts.is_some_and(|max| attempt > max) {
                return Some(Exit::Lost(format!(
                    "{reason}; gave up after {} reconnection attempts",
                    attempt - 1
                )));
            }
            // Disconnected during the delay (with why), Reconnecting during the attempt.
            let delay = policy.delay(attempt);
            tracing::info!(attempt, ?delay, %reason, "reconnecting");
            if let Err(exit) = self.offline_while(tokio::time::sleep(delay)).await {
                return Some(exit);
            }
            self.state.send_replace(SessionState::Reconnecting(attempt));
            let outcome = match self.offline_while(connect()).await {
                Ok(outcome) => outcome,
                Err(exit) => return Some(exit),
            };
            match outcome {
                Ok((transport, welcome)) => {
                    if let Some(s) = transport.info().serializer {
                        self.serializer = s;
                    }
                    let (writer, reader) = crate::transport::split(transport);
                    self.reader = reader;
                    *self.outbound.writer.lock().await = Some(writer);
                    if let Ok(mut joined) = self.joined.write() {
                        *joined = Joined {
                            session: welcome.session,
                            welcome: welcome.details,
                        };
                    }
                    self.state
                        .send_replace(SessionState::Joined(welcome.session));
                    tracing::info!(attempt, session = %welcome.session, "reconnected");
                    return None;
                }
                Err(e) => {
                    reason = e.to_string();
                    // Expected while the router is away, and in the session's state: not a warning.
                    tracing::info!(attempt, error = %e, "reconnection attempt failed");
                    self.state.send_replace(SessionState::Disconnected(format!(
                        "reconnection attempt {attempt} failed: {e}"
                    )));
                }
            }
        }
    }

    /// Waits for `fut` while serving commands as [`Driver::offline_command`] does. `Err`
    /// when the session is over instead (left, every handle gone).
    async fn offline_while<F: std::future::Future>(&mut self, fut: F) -> Result<F::Output, Exit> {
        tokio::pin!(fut);
        loop {
            tokio::select! {
                output = &mut fut => return Ok(output),
                command = self.commands.recv() => match command {
                    Some(cmd) => {
                        let exit = self.offline_command(cmd);
                        self.outbound.command_handled();
                        if let Some(exit) = exit {
                            return Err(exit);
                        }
                    }
                    None => return Err(Exit::Left),
                },
            }
        }
    }

    /// Commands while disconnected: requests fail at once, removals are applied locally.
    fn offline_command(&mut self, cmd: Command) -> Option<Exit> {
        let offline = || Error::NotConnected(Some("disconnected; reconnecting".into()));
        match cmd {
            Command::Send(_)
            | Command::Flush
            | Command::CancelCall { .. }
            | Command::InvocationProgress { .. }
            | Command::InvocationDone { .. } => {}
            Command::Call { reply, .. } => reply.finish(Err(offline())),
            Command::Publish { ack, .. } => {
                let _ = ack.send(Err(offline()));
            }
            Command::Subscribe { reply, .. } | Command::Register { reply, .. } => {
                let _ = reply.send(Err(offline()));
            }
            Command::Unsubscribe { key, local, reply } => {
                self.remove_local_subscriber(&key, local);
                if let Some(r) = reply {
                    let _ = r.send(Ok(()));
                }
            }
            Command::Unregister { local, reply } => {
                if let Some(id) = self.registration_ids.remove(&local) {
                    self.registrations.remove(&id);
                }
                if let Some(r) = reply {
                    let _ = r.send(Ok(()));
                }
            }
            Command::Leave { reply, .. } => {
                self.leaving = Some(reply);
                return Some(Exit::Left);
            }
        }
        None
    }

    /// Removes one local subscriber. When it was the last one for its router
    /// subscription, that is removed too and its router ID returned.
    fn remove_local_subscriber(&mut self, key: &SubKey, local: u64) -> Option<Id> {
        let id = match self.subscription_keys.get(key) {
            Some(id) => *id,
            None => *self.subscriptions.iter().find(|(_, s)| &s.key == key)?.0,
        };
        let sub = self.subscriptions.get_mut(&id)?;
        sub.locals.retain(|(l, _)| *l != local);
        if !sub.locals.is_empty() {
            return None;
        }
        self.subscriptions.remove(&id);
        self.subscription_keys.remove(key);
        Some(id)
    }

    /// After a reconnect: subscribe and register again everything that was active.
    async fn restore(&mut self) -> Result<(), TransportError> {
        let subscriptions: Vec<Subscription> = self.subscriptions.drain().map(|(_, s)| s).collect();
        self.subscription_keys.clear();
        for sub in subscriptions {
            let request = self.ids.next();
            let msg = crate::protocol::Subscribe {
                request,
                options: sub.options.clone(),
                topic: sub.key.topic.clone(),
            };
            self.subscribing_keys.insert(sub.key.clone(), request);
            self.subscribing.insert(
                request,
                PendingSubscribe {
                    key: sub.key,
                    options: sub.options,
                    locals: sub.locals,
                    replies: Vec::new(),
                },
            );
            self.feed(msg.into()).await?;
        }
        let registrations: Vec<Registration> = self.registrations.drain().map(|(_, r)| r).collect();
        self.registration_ids.clear();
        for registration in registrations {
            let request = self.ids.next();
            let msg = crate::protocol::Register {
                request,
                options: registration.options.clone(),
                procedure: registration.procedure.clone(),
            };
            self.registering.insert(
                request,
                PendingRegister {
                    registration,
                    reply: None,
                },
            );
            self.feed(msg.into()).await?;
        }
        self.flush().await
    }

    async fn run_inner(&mut self) -> Exit {
        loop {
            tokio::select! {
                biased;
                incoming = self.reader.next() => match incoming {
                    Some(Ok(msg)) => {
                        if let Some(exit) = self.on_message(msg).await {
                            return exit;
                        }
                    }
                    Some(Err(TransportError::Decode(e))) => {
                        let reason = format!("the router sent an invalid message: {e}");
                        self.abort("wamp.error.protocol_violation", &reason).await;
                        return Exit::Closed(reason);
                    }
                    Some(Err(e)) => return Exit::Lost(format!("connection lost: {e}")),
                    None => return Exit::Lost("connection closed by the router".into()),
                },
                command = self.commands.recv() => match command {
                    Some(cmd) => {
                        if let Err(e) = self.handle_command(cmd).await {
                            return Exit::Lost(format!("connection lost: {e}"));
                        }
                        // Write what else is queued before flushing once.
                        while let Ok(cmd) = self.commands.try_recv() {
                            if let Err(e) = self.handle_command(cmd).await {
                                return Exit::Lost(format!("connection lost: {e}"));
                            }
                        }
                        if let Err(e) = self.flush().await {
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
        while let Some(Ok(msg)) = self.reader.next().await {
            if matches!(msg, Message::Goodbye(_)) {
                return;
            }
        }
    }

    async fn say_goodbye(&mut self, reason: Uri) {
        let _ = self
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
        let _ = self.send(msg.into()).await;
    }

    /// The write half, held until [`Driver::flush`].
    async fn writer(&mut self) -> Result<&mut Writer, TransportError> {
        if self.writing.is_none() {
            self.writing = Some(self.outbound.writer.clone().lock_owned().await);
        }
        self.writing
            .as_mut()
            .and_then(|w| w.as_mut())
            .ok_or(TransportError::Closed)
    }

    /// Flushes what was written and releases the write half.
    async fn flush(&mut self) -> Result<(), TransportError> {
        self.writer().await?.flush().await?;
        self.writing = None;
        Ok(())
    }

    /// Writes one message now.
    async fn send(&mut self, msg: Message) -> Result<(), TransportError> {
        self.writer().await?.feed(msg).await?;
        self.flush().await
    }

    /// Closes the write half (the connection is over or lost).
    async fn close_writer(&mut self) {
        let writer = self.take_writer().await;
        close(writer).await;
    }

    /// Takes the write half away from callers (they then hand their calls to the driver,
    /// which fails them while offline).
    async fn take_writer(&mut self) -> Option<Writer> {
        self.writing = None;
        self.outbound.writer.lock().await.take()
    }

    /// Queues a message; the loop flushes.
    async fn feed(&mut self, msg: Message) -> Result<(), TransportError> {
        match self.writer().await?.feed(msg).await {
            // Too large for the peer: the message is refused, the connection is fine.
            Err(TransportError::MessageTooLarge { .. }) => Ok(()),
            other => other,
        }
    }

    async fn feed_or_fail(&mut self, msg: Message) -> Result<Result<(), Error>, TransportError> {
        match self.writer().await?.feed(msg).await {
            Ok(()) => Ok(Ok(())),
            Err(e @ (TransportError::MessageTooLarge { .. } | TransportError::Encode(_))) => {
                Ok(Err(e.into()))
            }
            Err(e) => Err(e),
        }
    }

    /// Handles one command and counts it as handled (it has been written, so a caller
    /// may now write directly behind it).
    async fn handle_command(&mut self, cmd: Command) -> Result<(), TransportError> {
        let written = self.on_command(cmd).await;
        self.outbound.command_handled();
        written
    }

    async fn on_command(&mut self, cmd: Command) -> Result<(), TransportError> {
        match cmd {
            Command::Send(msg) => self.feed(msg).await?,
            // The loop flushes after every batch of commands.
            Command::Flush => {
                self.writer().await?;
            }
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
                        self.outbound.calls().insert(request, reply);
                    }
                    Err(e) => reply.finish(Err(e)),
                }
            }
            Command::CancelCall { request, mode } => {
                let pending = self.outbound.calls().remove(&request);
                if pending.is_some() {
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
                options,
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
                        p.locals.push((local, events));
                        p.replies.push(reply);
                        return Ok(());
                    }
                }
                let request = self.ids.next();
                let msg = crate::protocol::Subscribe {
                    request,
                    options: options.clone(),
                    topic: key.topic.clone(),
                };
                self.subscribing_keys.insert(key.clone(), request);
                self.subscribing.insert(
                    request,
                    PendingSubscribe {
                        key,
                        options,
                        locals: vec![(local, events)],
                        replies: vec![reply],
                    },
                );
                self.feed(msg.into()).await?;
            }
            Command::Unsubscribe { key, local, reply } => {
                let Some(subscription) = self.remove_local_subscriber(&key, local) else {
                    if let Some(r) = reply {
                        let _ = r.send(Ok(()));
                    }
                    return Ok(());
                };
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
                local,
                procedure,
                options,
                handler,
                end,
                reply,
            } => {
                let request = self.ids.next();
                let msg = crate::protocol::Register {
                    request,
                    options: options.clone(),
                    procedure: procedure.clone(),
                };
                let registration = Registration {
                    local,
                    procedure,
                    options,
                    handler,
                    end,
                };
                self.registering.insert(
                    request,
                    PendingRegister {
                        registration,
                        reply: Some(reply),
                    },
                );
                self.feed(msg.into()).await?;
            }
            Command::Unregister { local, reply } => {
                let Some(registration) = self.registration_ids.remove(&local) else {
                    if let Some(r) = reply {
                        let _ = r.send(Ok(()));
                    }
                    return Ok(());
                };
                self.registrations.remove(&registration);
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
            Command::InvocationProgress { request, msg, slot } => {
                if self.invocations.contains_key(&request) {
                    self.feed(msg).await?;
                }
                drop(slot);
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
                    if let Some(sink) = self.outbound.calls().get(&m.request) {
                        sink.progress(result);
                    }
                } else if let Some(sink) = self.outbound.answered(m.request) {
                    sink.finish(Ok(result));
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
                        only.push(event);
                    } else {
                        for (_, sink) in &sub.locals {
                            sink.push(event.clone());
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
                                options: pending.options.clone(),
                                locals: Vec::new(),
                            });
                    sub.locals.extend(pending.locals);
                    for reply in pending.replies {
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
                            let reason = EndReason::Revoked(details.reason());
                            for (_, sink) in sub.locals {
                                sink.end(reason.clone());
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
                if let Some(pending) = self.registering.remove(&m.request) {
                    self.registration_ids
                        .insert(pending.registration.local, m.registration);
                    self.registrations
                        .insert(m.registration, pending.registration);
                    if let Some(reply) = pending.reply {
                        let _ = reply.send(Ok(m.registration));
                    }
                }
            }
            Message::Unregistered(m) => match m.details {
                Some(details) => {
                    if let Some(id) = details.registration() {
                        if let Some(reg) = self.registrations.remove(&id) {
                            self.registration_ids.remove(&reg.local);
                            tracing::warn!(procedure = %reg.procedure, reason = ?details.reason(), "the router revoked a registration");
                            reg.end
                                .send_replace(Some(EndReason::Revoked(details.reason())));
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
                if let Some(running) = self.invocations.remove(&m.request) {
                    running.task.abort();
                    let reply = error_reply(
                        MessageType::Invocation,
                        m.request,
                        "wamp.error.canceled",
                        "the call was canceled",
                    );
                    let _ = self.send(reply).await;
                }
            }
            Message::Goodbye(m) => {
                if self.leaving.is_some() {
                    return Some(Exit::Left);
                }
                self.say_goodbye(Uri::from_static("wamp.close.goodbye_and_out"))
                    .await;
                // A router going down for a restart is worth reconnecting to; a router
                // that closed this session on purpose is not.
                if m.reason.as_str() == "wamp.close.system_shutdown" {
                    return Some(Exit::Lost(format!("the router shut down: {}", m.reason)));
                }
                return Some(Exit::Closed(format!(
                    "the router closed the session: {}",
                    m.reason
                )));
            }
            Message::Abort(m) => {
                return Some(Exit::Closed(format!(
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
                return Some(Exit::Closed(reason));
            }
        }
        None
    }

    fn on_error(&mut self, m: ErrorMessage) {
        let wamp = || WampError {
            uri: m.error.clone(),
            payload: m.payload.clone(),
            details: m.details.clone(),
        };
        let err = || Error::Wamp(wamp());
        match m.request_type {
            MessageType::Call => {
                if let Some(sink) = self.outbound.answered(m.request) {
                    sink.finish(Err(err()));
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
                    for reply in p.replies {
                        let _ = reply.send(Err(err()));
                    }
                    // Re-subscribing after a reconnect failed: the streams end with the error.
                    for (_, sink) in p.locals {
                        sink.end(EndReason::RestoreFailed(wamp()));
                    }
                }
            }
            MessageType::Unsubscribe => {
                if let Some(reply) = self.unsubscribing.remove(&m.request) {
                    let _ = reply.send(Err(err()));
                }
            }
            MessageType::Register => {
                if let Some(p) = self.registering.remove(&m.request) {
                    match p.reply {
                        Some(reply) => {
                            let _ = reply.send(Err(err()));
                        }
                        None => {
                            tracing::error!(
                                procedure = %p.registration.procedure,
                                error = %err(),
                                "registering again after a reconnect failed"
                            );
                            p.registration
                                .end
                                .send_replace(Some(EndReason::RestoreFailed(wamp())));
                        }
                    }
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
        // A further input chunk of a progressive call invocation already running.
        if let Some(running) = self.invocations.get_mut(&m.request) {
            let more = m.details.progress().unwrap_or(false);
            if let Some(chunks) = &running.chunks {
                let _ = chunks.send(m.payload);
            }
            if !more {
                running.chunks = None; // the final chunk: the handler's input ends
            }
            return;
        }
        let Some(reg) = self.registrations.get(&m.registration) else {
            let reply = error_reply(
                MessageType::Invocation,
                m.request,
                "wamp.error.no_such_registration",
                "no such registration",
            );
            let _ = self.send(reply).await;
            return;
        };
        let Some(commands) = self.command_tx.upgrade() else {
            return;
        };
        let commands = Commands::new(commands, self.outbound.clone());
        let procedure = m
            .details
            .procedure()
            .unwrap_or_else(|| reg.procedure.clone());
        let request = m.request;
        let (chunks_tx, chunks_rx) = if m.details.progress().unwrap_or(false) {
            let (tx, rx) = mpsc::unbounded_channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let invocation = Invocation::new(
            request,
            m.registration,
            procedure,
            m.payload,
            m.details,
            self.serializer,
            commands.clone(),
            chunks_rx,
        );
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
        self.invocations.insert(
            request,
            Running {
                task: task.abort_handle(),
                chunks: chunks_tx,
            },
        );
    }

    fn fail_everything(&mut self, reason: &str) {
        let err = || Error::NotConnected(Some(reason.to_owned()));
        let end = || EndReason::SessionClosed(reason.to_owned());
        self.outbound.fail_calls(err);
        for (_, ack) in self.publishes.drain() {
            let _ = ack.send(Err(err()));
        }
        for (_, p) in self.subscribing.drain() {
            for reply in p.replies {
                let _ = reply.send(Err(err()));
            }
            for (_, sink) in p.locals {
                sink.end(end());
            }
        }
        for (_, sub) in self.subscriptions.drain() {
            for (_, sink) in sub.locals {
                sink.end(end());
            }
        }
        for (_, reply) in self.unsubscribing.drain().chain(self.unregistering.drain()) {
            let _ = reply.send(Err(err()));
        }
        for (_, p) in self.registering.drain() {
            match p.reply {
                Some(reply) => {
                    let _ = reply.send(Err(err()));
                }
                None => {
                    p.registration.end.send_replace(Some(end()));
                }
            }
        }
        for (_, registration) in self.registrations.drain() {
            registration.end.send_replace(Some(end()));
        }
        self.subscribing_keys.clear();
        self.subscription_keys.clear();
        self.registration_ids.clear();
    }
}

/// Closes a write half taken with [`Driver::take_writer`].
async fn close(writer: Option<Writer>) {
    if let Some(mut writer) = writer {
        let _ = writer.close().await;
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
