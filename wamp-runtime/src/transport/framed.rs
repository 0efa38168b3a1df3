//! Turns a channel of frames (one serialized message per frame) into a channel of
//! messages. Shared by the WebSocket and RawSocket transports, which only differ in how
//! they frame bytes.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use futures_util::{Sink, Stream};

use super::{CloseReason, TransportError};
use crate::protocol::Message;
use crate::serializer::Serializer;

/// A frame layer that can say why it closes (WebSocket's status codes).
pub(crate) trait CloseWith {
    /// Records the reason the next close sends.
    fn set_close_reason(&mut self, reason: CloseReason);
}

/// A `Stream + Sink` of messages over a `Stream + Sink` of frames.
///
/// Incoming frames are decoded with the negotiated serializer; a frame that does not
/// decode is reported as `Err(TransportError::Decode)` and the stream goes on (the session
/// layer answers it with ABORT). Outgoing messages are encoded and refused with
/// [`TransportError::MessageTooLarge`] when they exceed the peer's limit, before anything
/// is written, so the connection stays usable.
pub(crate) struct MessageFramed<S> {
    inner: S,
    serializer: Serializer,
    max_outgoing: usize,
}

impl<S> MessageFramed<S> {
    pub(crate) fn new(inner: S, serializer: Serializer, max_outgoing: usize) -> Self {
        MessageFramed {
            inner,
            serializer,
            max_outgoing,
        }
    }
}

impl<S> MessageFramed<S>
where
    S: Sink<Bytes, Error = TransportError> + Unpin,
{
    /// Hands one encoded message to the frame layer, unless the peer would refuse its size.
    fn send_frame(&mut self, frame: Bytes) -> Result<(), TransportError> {
        if frame.len() > self.max_outgoing {
            return Err(TransportError::MessageTooLarge {
                size: frame.len(),
                max: self.max_outgoing,
            });
        }
        Pin::new(&mut self.inner).start_send(frame)
    }
}

impl<S> Stream for MessageFramed<S>
where
    S: Stream<Item = Result<Bytes, TransportError>> + Unpin,
{
    type Item = Result<Message, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_next(cx));
        Poll::Ready(frame.map(|f| f.and_then(|bytes| Ok(self.serializer.decode(bytes)?))))
    }
}

impl<S> Sink<Message> for MessageFramed<S>
where
    S: Sink<Bytes, Error = TransportError> + Unpin,
{
    type Error = TransportError;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.inner).poll_ready(cx)
    }

    fn start_send(mut self: Pin<&mut Self>, msg: Message) -> Result<(), Self::Error> {
        let bytes = self.serializer.encode_bytes(&msg)?;
        self.send_frame(bytes)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

impl<S> super::Channel for MessageFramed<S>
where
    S: Stream<Item = Result<Bytes, TransportError>> + Sink<Bytes, Error = TransportError>,
    S: CloseWith + Unpin + Send,
{
    fn frame_serializer(&self) -> Option<Serializer> {
        Some(self.serializer)
    }

    fn start_send_frame(mut self: Pin<&mut Self>, frame: Bytes) -> Result<(), TransportError> {
        self.send_frame(frame)
    }

    fn set_close_reason(mut self: Pin<&mut Self>, reason: CloseReason) {
        self.inner.set_close_reason(reason);
    }
}
