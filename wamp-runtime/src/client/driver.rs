//! The one task that reads a session's transport.
//!
//! Handles talk to it over an unbounded command channel (`command.rs`); it owns the
//! tables of what is waiting for the router (publications, the [`Subscriptions`], the
//! [`Registrations`], the running [`Invocations`]), writes outgoing messages and
//! dispatches incoming ones. The one thing it shares is the write half and the
//! pending-calls table ([`Outbound`]): a call made on an idle connection is written by
//! its caller (see `outbound.rs` for why and for the rules). Nobody else waits while
//! holding the writer, and every other table has one owner.
//!
//! With reconnection on, a lost connection does not end the driver: calls in flight fail
//! at once, subscriptions and registrations are kept, and after a successful reconnect
//! they are subscribed and registered again under their new router IDs. Handles refer to
//! them by local IDs and topic keys, which survive reconnects. The three steps, going
//! offline, restoring and ending, each have one function here that asks every table.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch, OwnedMutexGuard};

use super::callee::{error_reply, Invocations, Start};
use super::command::{
    close_and_drain, Command, Commands, IdReply, Joined, ProgressLink, RequestIds, UnitReply,
};
use super::error::{Error, WampError};
use super::outbound::{Outbound, Writer};
use super::reconnect::Reconnect;
use super::registrations::Registrations;
use super::subscriptions::Subscriptions;
use super::types::{CallResult, EndReason, ProgressSink, SessionState};
use crate::protocol::id::OwnIdMap;
use crate::protocol::*;
use crate::serializer::Serializer;
use crate::transport::{CloseReason, TransportError, TransportReader};

/// The channels and shared state a driver works with.
pub(crate) struct Links {
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    pub(crate) command_tx: mpsc::WeakUnboundedSender<Command>,
    pub(crate) outbound: Arc<Outbound>,
    pub(crate) state: watch::Sender<SessionState>,
    pub(crate) joined: Arc<std::sync::RwLock<Joined>>,
    pub(crate) ids: Arc<RequestIds>,
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
    ids: Arc<RequestIds>,
    reconnect: Option<Reconnect>,
    /// Where invocations send their progressive results (one for all of them).
    progress: Arc<dyn ProgressSink>,
    /// Acknowledged publications, keyed by our own request IDs (see [`OwnIdMap`]).
    publishes: OwnIdMap<IdReply>,
    subscriptions: Subscriptions,
    registrations: Registrations,
    invocations: Invocations,
    leaving: Option<UnitReply>,
    /// What the WebSocket close frame says when this side ends the connection: 1007 after
    /// a message that does not decode, 1002 after one that breaks the protocol.
    close_reason: CloseReason,
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
        let progress = Arc::new(ProgressLink::new(
            links.command_tx.clone(),
            links.outbound.clone(),
        ));
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
            progress,
            publishes: OwnIdMap::default(),
            subscriptions: Subscriptions::default(),
            registrations: Registrations::default(),
            invocations: Invocations::default(),
            leaving: None,
            close_reason: CloseReason::Normal,
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
        self.end(&reason);
        // Nothing sent to the driver from now on would be handled, but the channel stays
        // open until the driver is dropped, after the close handshake below, which can
        // take a while: a call sent meanwhile would wait that long for its error. Refuse
        // new commands now, and answer every one the channel accepted, including one whose
        // send is still under way (see `close_and_drain`: missed, it would never be
        // answered).
        for cmd in close_and_drain(&mut self.commands).await {
            let _ = self.command_while(cmd, || Error::NotConnected(Some(reason.clone())));
            self.outbound.command_handled();
        }
        close(writer, self.close_reason).await;
        if let Some(reply) = self.leaving.take() {
            let _ = reply.send(match exit {
                Exit::Left => Ok(()),
                Exit::Lost(r) | Exit::Closed(r) => Err(Error::NotConnected(Some(r))),
            });
        }
        self.state.send_replace(SessionState::Closed(reason));
    }

    /// The connection is gone but we will reconnect: fail what cannot survive (calls,
    /// acknowledgements, requests in flight, running invocations), keep subscriptions and
    /// registrations.
    fn go_offline(&mut self, reason: &str) {
        let err = || Error::NotConnected(Some(format!("{reason}; reconnecting")));
        self.outbound.fail_calls(err);
        for (_, ack) in self.publishes.drain() {
            let _ = ack.send(Err(err()));
        }
        self.subscriptions.go_offline(&err, &self.ids);
        self.registrations.go_offline(&err, &self.ids);
        self.invocations.stop_all();
        self.state
            .send_replace(SessionState::Disconnected(reason.to_owned()));
    }

    /// The session is over: everything waiting fails, every subscription and
    /// registration ends, running invocations stop.
    fn end(&mut self, reason: &str) {
        let err = || Error::NotConnected(Some(reason.to_owned()));
        let end = || EndReason::SessionClosed(reason.to_owned());
        self.outbound.fail_calls(err);
        for (_, ack) in self.publishes.drain() {
            let _ = ack.send(Err(err()));
        }
        self.subscriptions.fail(&err, &end);
        self.registrations.fail(&err, &end);
        self.invocations.stop_all();
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
        self.command_while(cmd, || {
            Error::NotConnected(Some("disconnected; reconnecting".into()))
        })
    }

    /// A command without a connection: requests fail with `offline()`, removals are
    /// applied locally, and a leave ends the session.
    fn command_while(&mut self, cmd: Command, offline: impl Fn() -> Error) -> Option<Exit> {
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
                self.subscriptions.unsubscribe_offline(&key, local, reply);
            }
            Command::Unregister { local, reply } => {
                self.registrations.unregister_offline(local, reply);
            }
            Command::Leave { reply, .. } => {
                self.leaving = Some(reply);
                return Some(Exit::Left);
            }
        }
        None
    }

    /// After a reconnect: subscribe and register again everything that was active.
    async fn restore(&mut self) -> Result<(), TransportError> {
        let subscribes = self.subscriptions.restore(&self.ids);
        let registers = self.registrations.restore(&self.ids);
        for msg in subscribes.into_iter().chain(registers) {
            self.feed(msg).await?;
        }
        self.flush().await
    }

    async fn run_inner(&mut self) -> Exit {
        loop {
            let retry_at = self.registrations.next_retry();
            // Lazy: no timer is made unless a refused restore waits.
            let retry = async {
                match retry_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
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
                        self.abort("wamp.error.protocol_violation", &reason, CloseReason::InvalidPayload).await;
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
                () = retry => {
                    let due = self
                        .registrations
                        .due_retries(tokio::time::Instant::now(), &self.ids);
                    for msg in due {
                        if let Err(e) = self.feed(msg).await {
                            return Exit::Lost(format!("connection lost: {e}"));
                        }
                    }
                    if let Err(e) = self.flush().await {
                        return Exit::Lost(format!("connection lost: {e}"));
                    }
                }
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

    /// Sends ABORT; the connection then closes with `close`.
    async fn abort(&mut self, reason: &'static str, message: &str, close: CloseReason) {
        self.close_reason = close;
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
        close(writer, CloseReason::Normal).await;
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
                let subscribe = self
                    .subscriptions
                    .subscribe(key, options, local, events, reply, &self.ids);
                if let Some(msg) = subscribe {
                    self.feed(msg).await?;
                }
            }
            Command::Unsubscribe { key, local, reply } => {
                if let Some(msg) = self
                    .subscriptions
                    .unsubscribe(&key, local, reply, &self.ids)
                {
                    self.feed(msg).await?;
                }
            }
            Command::Register {
                local,
                procedure,
                options,
                handler,
                end,
                reply,
            } => {
                let msg = self
                    .registrations
                    .register(local, procedure, options, handler, end, reply, &self.ids);
                self.feed(msg).await?;
            }
            Command::Unregister { local, reply } => {
                if let Some(msg) = self.registrations.unregister(local, reply, &self.ids) {
                    self.feed(msg).await?;
                }
            }
            Command::InvocationProgress { request, msg, slot } => {
                if self.invocations.is_running(request) {
                    self.feed(msg).await?;
                }
                drop(slot);
            }
            Command::InvocationDone { request, msg } => {
                if self.invocations.finish(request) {
                    // A result too large for the router becomes an error the caller sees.
                    if let Err(e) = self.feed_or_fail(msg).await? {
                        let err = error_reply(
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
            Message::Event(m) => self.subscriptions.event(m),
            Message::Published(m) => {
                if let Some(ack) = self.publishes.remove(&m.request) {
                    let _ = ack.send(Ok(m.publication));
                }
            }
            Message::Subscribed(m) => {
                let abandoned = self
                    .subscriptions
                    .subscribed(m.request, m.subscription, &self.ids);
                if let Some(unsubscribe) = abandoned {
                    let _ = self.send(unsubscribe).await;
                }
            }
            Message::Unsubscribed(m) => match m.details {
                // Revocation by the broker.
                Some(details) => {
                    if let Some(id) = details.subscription() {
                        self.subscriptions.revoked(id, details.reason());
                    }
                }
                None => {
                    if let Some(request) = Id::new(m.request) {
                        self.subscriptions.unsubscribed(request);
                    }
                }
            },
            Message::Registered(m) => {
                let abandoned = self
                    .registrations
                    .registered(m.request, m.registration, &self.ids);
                if let Some(unregister) = abandoned {
                    let _ = self.send(unregister).await;
                }
            }
            Message::Unregistered(m) => match m.details {
                // Revocation by the dealer.
                Some(details) => {
                    if let Some(id) = details.registration() {
                        self.registrations.revoked(id, details.reason());
                    }
                }
                None => {
                    if let Some(request) = Id::new(m.request) {
                        self.registrations.unregistered(request);
                    }
                }
            },
            Message::Invocation(m) => self.on_invocation(m).await,
            Message::Interrupt(m) => {
                if self.invocations.interrupt(m.request) {
                    let reply =
                        error_reply(m.request, "wamp.error.canceled", "the call was canceled");
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
                self.abort(
                    "wamp.error.protocol_violation",
                    &reason,
                    CloseReason::ProtocolError,
                )
                .await;
                return Some(Exit::Closed(reason));
            }
        }
        None
    }

    fn on_error(&mut self, m: ErrorMessage) {
        let error = WampError {
            uri: m.error,
            payload: m.payload,
            details: m.details,
        };
        let ours = match m.request_type {
            MessageType::Call => match self.outbound.answered(m.request) {
                Some(sink) => {
                    sink.finish(Err(Error::Wamp(error)));
                    return;
                }
                None => false,
            },
            MessageType::Publish => match self.publishes.remove(&m.request) {
                Some(ack) => {
                    let _ = ack.send(Err(Error::Wamp(error)));
                    return;
                }
                None => false,
            },
            MessageType::Subscribe => self.subscriptions.subscribe_failed(m.request, &error),
            MessageType::Unsubscribe => self.subscriptions.unsubscribe_failed(m.request, &error),
            MessageType::Register => self.registrations.register_failed(
                m.request,
                &error,
                self.reconnect.as_ref().map(|r| &r.policy),
            ),
            MessageType::Unregister => self.registrations.unregister_failed(m.request, &error),
            _ => false,
        };
        if !ours {
            tracing::debug!(request_type = %m.request_type, error = %error.uri, "ignoring an ERROR for a request we do not track");
        }
    }

    async fn on_invocation(&mut self, mut m: crate::protocol::Invocation) {
        // A further input chunk of a progressive call invocation already running.
        if self.invocations.chunk(&mut m) {
            return;
        }
        let Some(reg) = self.registrations.get(m.registration) else {
            let reply = error_reply(
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
        let start = Start {
            procedure: reg.procedure().clone(),
            handler: reg.handler().clone(),
            m,
            serializer: self.serializer,
            progress: self.progress.clone(),
            done: Commands::new(commands, self.outbound.clone()),
        };
        self.invocations.start(start);
    }
}

/// Closes a write half taken with [`Driver::take_writer`].
async fn close(writer: Option<Writer>, reason: CloseReason) {
    if let Some(mut writer) = writer {
        writer.set_close_reason(reason);
        let _ = writer.close().await;
    }
}
