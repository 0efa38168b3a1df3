//! In-process transport: two connected ends that pass [`Message`] values, with no
//! serialization and no socket. This is how a client session and the embedded router
//! meet inside one program, and what functional tests run on first.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_channel::mpsc;
use futures_util::{Sink, Stream};

use super::{Transport, TransportError, TransportInfo, TransportKind, DEFAULT_MAX_MESSAGE_SIZE};
use crate::protocol::Message;

/// How many messages may wait in each direction before the sender waits. Bounded, so a
/// peer that stops reading slows its sender down instead of growing memory.
pub const DEFAULT_CAPACITY: usize = 256;

/// Creates two connected in-memory transports.
pub fn pair() -> (Transport, Transport) {
    pair_with_capacity(DEFAULT_CAPACITY)
}

/// Creates two connected in-memory transports with `capacity` messages of buffer in each
/// direction.
pub fn pair_with_capacity(capacity: usize) -> (Transport, Transport) {
    let (a_tx, b_rx) = mpsc::channel(capacity);
    let (b_tx, a_rx) = mpsc::channel(capacity);
    let info = TransportInfo {
        kind: TransportKind::Memory,
        serializer: None,
        max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        peer_max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        peer_addr: None,
        peer_certificate_sha256: None,
    };
    (
        Transport::new(End { tx: a_tx, rx: a_rx }, info.clone()),
        Transport::new(End { tx: b_tx, rx: b_rx }, info),
    )
}

struct End {
    tx: mpsc::Sender<Message>,
    rx: mpsc::Receiver<Message>,
}

impl Stream for End {
    type Item = Result<Message, TransportError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.rx).poll_next(cx).map(|m| m.map(Ok))
    }
}

impl Sink<Message> for End {
    type Error = TransportError;
    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.tx.poll_ready(cx).map_err(|_| TransportError::Closed)
    }
    fn start_send(mut self: Pin<&mut Self>, item: Message) -> Result<(), Self::Error> {
        self.tx.start_send(item).map_err(|_| TransportError::Closed)
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Result<(), Self::Error>> {
        // The other end's stream ends once it has read what is buffered.
        self.tx.close_channel();
        Poll::Ready(Ok(()))
    }
}
