//! A bounded one-consumer queue from the driver task to a handle, with a last item of its
//! own: a subscription's events then why it ended, a call's progressive results then its
//! final result.
//!
//! Why not a channel: the driver serves every call and subscription of the session, so it
//! must never wait for one slow consumer (a bounded channel would make it wait, or lose the
//! item that matters most when full), and an unbounded one lets a slow consumer grow the
//! process without limit. The rules:
//! - The driver never waits: [`FeedSender::push`] takes the item if there is room and
//!   otherwise drops it and counts it ([`FeedReceiver::dropped`]): the oldest items are
//!   kept, in order, and the consumer can tell that it missed some.
//! - The end is never dropped: [`FeedSender::end`] stores it beside the queue, whatever the
//!   queue holds, and the consumer gets it after every item pushed before it.
//! - A consumer that went away is visible to the driver ([`FeedSender::is_closed`]), and
//!   what is still queued is freed with it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// What a consumer takes out of a feed.
pub(crate) enum Next<T, E> {
    /// The next item.
    Item(T),
    /// The end the driver gave.
    End(E),
}

struct State<T, E> {
    items: VecDeque<T>,
    capacity: usize,
    dropped: u64,
    end: Option<E>,
    /// The sender is gone (with or without an end) or the end was taken.
    finished: bool,
    receiver_gone: bool,
    waker: Option<Waker>,
}

type Shared<T, E> = Arc<Mutex<State<T, E>>>;

fn lock<T, E>(shared: &Shared<T, E>) -> MutexGuard<'_, State<T, E>> {
    // Every critical section is a few field updates: a panic cannot leave it half done.
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// A feed holding at most `capacity` items (the end aside).
pub(crate) fn feed<T, E>(capacity: usize) -> (FeedSender<T, E>, FeedReceiver<T, E>) {
    let shared = Arc::new(Mutex::new(State {
        items: VecDeque::new(),
        capacity,
        dropped: 0,
        end: None,
        finished: false,
        receiver_gone: false,
        waker: None,
    }));
    (
        FeedSender {
            shared: shared.clone(),
        },
        FeedReceiver { shared },
    )
}

/// The driver's end. Dropping it without [`FeedSender::end`] ends the feed with no end item.
pub(crate) struct FeedSender<T, E> {
    shared: Shared<T, E>,
}

impl<T, E> FeedSender<T, E> {
    /// Queues an item, or drops and counts it when the queue is full. Returns whether it
    /// was queued (also `false` when the consumer is gone).
    pub(crate) fn push(&self, item: T) -> bool {
        let waker = {
            let mut state = lock(&self.shared);
            if state.receiver_gone || state.finished {
                return false;
            }
            if state.items.len() >= state.capacity {
                state.dropped = state.dropped.saturating_add(1);
                return false;
            }
            state.items.push_back(item);
            state.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        true
    }

    /// Ends the feed with `end`, delivered after the items queued so far.
    pub(crate) fn end(self, end: E) {
        let waker = {
            let mut state = lock(&self.shared);
            if state.receiver_gone || state.finished {
                return;
            }
            state.end = Some(end);
            state.finished = true;
            state.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Whether the consumer has gone away.
    pub(crate) fn is_closed(&self) -> bool {
        lock(&self.shared).receiver_gone
    }
}

impl<T, E> Drop for FeedSender<T, E> {
    fn drop(&mut self) {
        let waker = {
            let mut state = lock(&self.shared);
            state.finished = true;
            state.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// The handle's end.
pub(crate) struct FeedReceiver<T, E> {
    shared: Shared<T, E>,
}

impl<T, E> FeedReceiver<T, E> {
    /// The next item, then the end (if the driver gave one), then `None`.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Next<T, E>>> {
        let mut state = lock(&self.shared);
        if let Some(item) = state.items.pop_front() {
            return Poll::Ready(Some(Next::Item(item)));
        }
        if let Some(end) = state.end.take() {
            return Poll::Ready(Some(Next::End(end)));
        }
        if state.finished {
            return Poll::Ready(None);
        }
        match &mut state.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// How many items were dropped because the queue was full.
    pub(crate) fn dropped(&self) -> u64 {
        lock(&self.shared).dropped
    }
}

impl<T, E> Drop for FeedReceiver<T, E> {
    fn drop(&mut self) {
        let (items, end) = {
            let mut state = lock(&self.shared);
            state.receiver_gone = true;
            state.waker = None;
            (std::mem::take(&mut state.items), state.end.take())
        };
        // Freed outside the lock.
        drop((items, end));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    use super::*;

    #[derive(Default)]
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn next<T, E>(rx: &mut FeedReceiver<T, E>) -> Poll<Option<Next<T, E>>> {
        rx.poll_next(&mut Context::from_waker(Waker::noop()))
    }

    fn item(p: Poll<Option<Next<u32, &'static str>>>) -> Option<u32> {
        match p {
            Poll::Ready(Some(Next::Item(i))) => Some(i),
            _ => None,
        }
    }

    #[test]
    fn a_full_feed_drops_new_items_and_counts_them_but_never_the_end() {
        let (tx, mut rx) = feed::<u32, &str>(3);
        for i in 0..10 {
            assert_eq!(tx.push(i), i < 3, "item {i}");
        }
        assert_eq!(rx.dropped(), 7);
        tx.end("over");
        for want in 0..3 {
            assert_eq!(item(next(&mut rx)), Some(want));
        }
        assert!(matches!(
            next(&mut rx),
            Poll::Ready(Some(Next::End("over")))
        ));
        assert!(matches!(next(&mut rx), Poll::Ready(None)));
        assert_eq!(rx.dropped(), 7);
    }

    #[test]
    fn room_comes_back_as_the_consumer_takes_items() {
        let (tx, mut rx) = feed::<u32, &str>(1);
        assert!(tx.push(1));
        assert!(!tx.push(2));
        assert_eq!(item(next(&mut rx)), Some(1));
        assert!(tx.push(3));
        assert_eq!(item(next(&mut rx)), Some(3));
        assert!(next(&mut rx).is_pending());
        drop(tx);
        assert!(matches!(next(&mut rx), Poll::Ready(None)), "no end given");
        assert_eq!(rx.dropped(), 1);
    }

    #[test]
    fn the_consumer_is_woken_by_items_and_by_the_end() {
        let (tx, mut rx) = feed::<u32, &str>(4);
        let counter = Arc::new(CountingWaker::default());
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(rx.poll_next(&mut cx).is_pending());
        tx.push(1);
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert!(matches!(
            rx.poll_next(&mut cx),
            Poll::Ready(Some(Next::Item(1)))
        ));
        assert!(rx.poll_next(&mut cx).is_pending());
        tx.end("done");
        assert_eq!(counter.0.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn the_driver_sees_a_consumer_that_went_away() {
        let (tx, rx) = feed::<u32, &str>(4);
        assert!(!tx.is_closed());
        assert!(tx.push(1));
        drop(rx);
        assert!(tx.is_closed());
        assert!(!tx.push(2));
        tx.end("nobody listens");
    }
}
