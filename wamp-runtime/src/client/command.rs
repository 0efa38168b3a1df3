//! What the handles and the driver task say to each other: the commands, the channels
//! replies come back on, and the little shared state the handles read.
//!
//! The handles ([`Session`](super::Session), the requests, registrations, subscriptions,
//! invocations) only ever send commands; the driver only ever receives them. Neither side
//! needs the other's code, only these types.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

use super::error::Error;
use super::feed::FeedSender;
use super::outbound::{CallSink, Outbound};
use super::types::{EndReason, Event, Handler, ProgressSink};
use crate::protocol::{
    CancelMode, Id, MatchPolicy, Message, Payload, RegisterOptions, SubscribeOptions, Uri,
    WelcomeDetails, Yield, YieldOptions,
};

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
    /// Send a message that needs no reply tracking (PUBLISH without ack, further chunks of
    /// a progressive call invocation).
    Send(Message),
    /// Finish writing what a caller's direct write left in the connection's buffer.
    Flush,
    /// A CALL the caller did not write itself.
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
    /// The handler's YIELD or ERROR.
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

/// Session-scope request IDs, shared by the handles so that a call knows its own ID (to
/// cancel it) without asking the driver.
pub(crate) type RequestIds = crate::protocol::IdSequence;

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
        send_counted(&self.tx, &self.outbound, cmd)
    }

    /// The connection's shared write side.
    pub(crate) fn outbound(&self) -> &Outbound {
        &self.outbound
    }
}

fn send_counted(
    tx: &mpsc::UnboundedSender<Command>,
    outbound: &Outbound,
    cmd: Command,
) -> Result<(), DriverGone> {
    outbound.command_queued();
    tx.send(cmd).map_err(|_| {
        outbound.command_handled();
        DriverGone
    })
}

/// Closes a command queue and takes every command it accepted: those in it, and those a
/// handle is sending at this very moment.
///
/// Why `recv` until the end rather than `try_recv` until empty: tokio counts a message
/// when its send begins and links it into the queue a moment later, and `try_recv` calls a
/// queue with only such a message in it empty. That message would then arrive after the
/// last look and stay in the queue for good, since the handles hold its sending end and so
/// keep it alive: a call's reply with it, and the call would never be answered. On a closed
/// queue `recv` waits for such a message, and ends only once no send is under way
/// (tokio's documented way to drain a closed channel). The wait is for sends already
/// running, never for new ones: the queue refuses those.
pub(crate) async fn close_and_drain<T>(queue: &mut mpsc::UnboundedReceiver<T>) -> Vec<T> {
    queue.close();
    let mut accepted = Vec::new();
    while let Some(item) = queue.recv().await {
        accepted.push(item);
    }
    accepted
}

/// Where invocations send their progressive results: the driver's command queue, held
/// weakly (the task running a handler keeps the session alive, not its progress), so
/// that the driver can hand one to every invocation without keeping itself alive.
pub(crate) struct ProgressLink {
    tx: mpsc::WeakUnboundedSender<Command>,
    outbound: Arc<Outbound>,
}

impl ProgressLink {
    pub(crate) fn new(tx: mpsc::WeakUnboundedSender<Command>, outbound: Arc<Outbound>) -> Self {
        ProgressLink { tx, outbound }
    }
}

impl ProgressSink for ProgressLink {
    fn send_progress(
        &self,
        request: Id,
        payload: Payload,
        slot: tokio::sync::OwnedSemaphorePermit,
    ) -> bool {
        let Some(tx) = self.tx.upgrade() else {
            return false;
        };
        let msg = Yield {
            request,
            options: YieldOptions::new().with_progress(true),
            payload,
        };
        let cmd = Command::InvocationProgress {
            request,
            msg: msg.into(),
            slot,
        };
        send_counted(&tx, &self.outbound, cmd).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Threads send as fast as they can while the queue is closed: every message a send
    /// reported as accepted must come out of the drain. (With `try_recv` in place of
    /// `recv`, a message whose send was under way at the close was missed in a good share
    /// of the rounds.)
    #[test]
    fn a_closed_queue_gives_up_every_message_it_accepted() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        for round in 0..200 {
            let (tx, mut rx) = mpsc::unbounded_channel::<u64>();
            let senders: Vec<_> = (0..2)
                .map(|_| {
                    let tx = tx.clone();
                    std::thread::spawn(move || {
                        let mut accepted = 0usize;
                        while tx.send(0).is_ok() {
                            accepted += 1;
                        }
                        accepted
                    })
                })
                .collect();
            drop(tx);
            // Let the senders get going (some rounds close before they do: also fine).
            std::thread::sleep(Duration::from_micros(100));
            let drained = runtime.block_on(close_and_drain(&mut rx)).len();
            let accepted: usize = senders
                .into_iter()
                .map(|s| s.join().expect("sender thread"))
                .sum();
            assert_eq!(
                drained, accepted,
                "round {round}: accepted messages left behind"
            );
        }
    }
}
