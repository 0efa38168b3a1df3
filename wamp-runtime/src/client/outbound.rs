//! The connection's write side, shared by the driver and by callers.
//!
//! Why: handing a CALL to the driver task costs a wake-up of that task. When the caller
//! runs on another thread than the driver, which on tokio's multi-thread runtime is the
//! rule (`#[tokio::main]` runs the main future outside the worker threads), that wake-up
//! is a cross-thread one, and for a call made on an idle connection it roughly doubles
//! the system calls and context switches of the whole round trip. So a caller that finds
//! the connection idle (no call in flight, nothing queued for the driver, and the same
//! for the call before) writes its CALL itself, on its own thread. Everything else goes
//! through the driver, which batches the writes: with calls already in flight, batching
//! saves more than a direct write would (a burst written piecemeal also comes back
//! piecemeal, in more wake-ups).
//!
//! The rules that keep this correct:
//! - Messages keep the order they were sent in: a caller writes directly only when no
//!   command sent to the driver is still unhandled ([`Outbound::queued`] is zero, read
//!   while holding the writer, which the driver holds while it writes).
//! - A call is in the pending-calls table before its CALL can reach the router, so its
//!   answer always finds it: the table lives here, not in the driver.
//! - A caller never waits: it gives up (and hands the call to the driver) when the driver
//!   holds the writer or is reading; it polls once with a no-op waker, and whatever it
//!   could not finish (a full socket buffer) is left for the driver to flush.

use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, MutexGuard};
use std::task::{Context, Poll, Waker};

use futures_util::Sink;

use tokio::sync::oneshot;

use super::error::Error;
use super::feed::FeedSender;
use super::types::CallResult;
use crate::protocol::id::OwnIdMap;
use crate::protocol::{Id, Message};
use crate::transport::{TransportError, TransportWriter};

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
    pub(crate) fn progress(&self, result: CallResult) {
        if let CallSink::Stream(tx) = self {
            tx.push(result);
        }
    }

    /// Whether the caller has given up waiting.
    pub(crate) fn is_closed(&self) -> bool {
        match self {
            CallSink::Once(tx) => tx.is_closed(),
            CallSink::Stream(tx) => tx.is_closed(),
        }
    }
}

/// The write half of the current connection.
pub(crate) type Writer = TransportWriter;

/// See the module documentation.
pub(crate) struct Outbound {
    /// The write half; `None` while disconnected. The driver holds it while it writes and
    /// flushes a batch; a caller holds it for one direct write.
    pub(crate) writer: Arc<tokio::sync::Mutex<Option<Writer>>>,
    /// Commands sent to the driver and not handled yet.
    queued: AtomicUsize,
    /// How many calls in a row found no other call in flight. Only from the second one
    /// on is the connection taken to be idle: the first call of a burst also finds the
    /// table empty, and writing it alone would split the burst (it would come back on
    /// its own, in one more wake-up); calls made one after the other all find it empty.
    /// Reset by a call found in flight, and by an answer that leaves others pending
    /// (calls overlap: see [`Outbound::answered`]).
    idle_calls: AtomicU32,
    /// Calls waiting for their answer, by request ID.
    calls: std::sync::Mutex<OwnIdMap<CallSink>>,
}

/// What became of a direct write.
pub(crate) enum Direct {
    /// Written and flushed, or failed and answered: the call is in the driver's hands.
    Done,
    /// Handed to the connection, but not all of it could be flushed (full socket
    /// buffer), or the connection failed: the driver must flush (and so find out).
    NeedsFlush,
    /// Not written: send it to the driver.
    Declined(Message, CallSink),
}

impl Outbound {
    pub(crate) fn new(writer: Writer) -> Self {
        Outbound {
            writer: Arc::new(tokio::sync::Mutex::new(Some(writer))),
            queued: AtomicUsize::new(0),
            idle_calls: AtomicU32::new(0),
            calls: std::sync::Mutex::new(OwnIdMap::default()),
        }
    }

    /// The pending-calls table. (A panic while it was locked cannot leave it
    /// inconsistent: every use is a single map operation.)
    pub(crate) fn calls(&self) -> MutexGuard<'_, OwnIdMap<CallSink>> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes an answered call out of the table. Calls answered while others are still
    /// in flight mean the connection is not used one call at a time: the next calls do
    /// not count as idle (see `idle_calls`).
    pub(crate) fn answered(&self, request: Id) -> Option<CallSink> {
        let mut calls = self.calls();
        let sink = calls.remove(&request);
        if !calls.is_empty() {
            self.idle_calls.store(0, Ordering::Relaxed);
        }
        sink
    }

    /// Fails every pending call (the connection is gone). The table is emptied first and
    /// the callers are answered outside its lock.
    pub(crate) fn fail_calls(&self, err: impl Fn() -> Error) {
        let calls = std::mem::take(&mut *self.calls());
        for (_, sink) in calls {
            sink.finish(Err(err()));
        }
    }

    /// A command is about to be sent to the driver.
    pub(crate) fn command_queued(&self) {
        self.queued.fetch_add(1, Ordering::SeqCst);
    }

    /// The driver has handled a command (and written what it had to write).
    pub(crate) fn command_handled(&self) {
        self.queued.fetch_sub(1, Ordering::SeqCst);
    }

    /// Writes a CALL on the caller's thread if the connection is idle (see the module
    /// documentation); otherwise gives it back.
    pub(crate) fn try_call(&self, request: Id, msg: Message, reply: CallSink) -> Direct {
        // The cheap checks first: with calls in flight this is all a call costs, and it
        // leaves the writer alone (taking it, even briefly, could make the driver wait
        // for it and be woken from this thread).
        let idle = if self.calls().is_empty() {
            self.idle_calls
                .fetch_add(1, Ordering::Relaxed)
                .saturating_add(1)
        } else {
            self.idle_calls.store(0, Ordering::Relaxed);
            0
        };
        if idle < 2 || self.queued.load(Ordering::SeqCst) != 0 {
            return Direct::Declined(msg, reply);
        }
        let Ok(mut guard) = self.writer.try_lock() else {
            return Direct::Declined(msg, reply);
        };
        let Some(writer) = guard.as_mut() else {
            return Direct::Declined(msg, reply);
        };
        // Again, now that the driver cannot be writing: a command queued in between must
        // go out first.
        if self.queued.load(Ordering::SeqCst) != 0 || !self.calls().is_empty() {
            return Direct::Declined(msg, reply);
        }
        // Not while the driver is reading (it may be decoding a large message).
        let Some(mut transport) = writer.try_lock() else {
            return Direct::Declined(msg, reply);
        };
        let mut cx = Context::from_waker(Waker::noop());
        if !matches!(
            Pin::new(&mut *transport).poll_ready(&mut cx),
            Poll::Ready(Ok(()))
        ) {
            return Direct::Declined(msg, reply);
        }
        self.calls().insert(request, reply);
        if let Err(e) = Pin::new(&mut *transport).start_send(msg) {
            return self.failed(request, e);
        }
        match Pin::new(&mut *transport).poll_flush(&mut cx) {
            Poll::Ready(Ok(())) => Direct::Done,
            Poll::Pending => Direct::NeedsFlush,
            Poll::Ready(Err(e)) => self.failed(request, e),
        }
    }

    /// A direct write failed: the call gets the error. A message the peer would refuse
    /// (too large, not encodable) leaves the connection usable; anything else means it
    /// is broken, and the driver finds out when it flushes.
    fn failed(&self, request: Id, e: TransportError) -> Direct {
        let connection_ok = matches!(
            e,
            TransportError::MessageTooLarge { .. } | TransportError::Encode(_)
        );
        if let Some(reply) = self.calls().remove(&request) {
            reply.finish(Err(Error::from(e)));
        }
        if connection_ok {
            Direct::Done
        } else {
            Direct::NeedsFlush
        }
    }
}
