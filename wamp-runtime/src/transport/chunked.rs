//! A read buffer that exists only while data is arriving.
//!
//! A protocol library that owns its read buffer keeps it for the life of the connection:
//! tungstenite allocates its whole `read_buffer_size` up front, so a router with 10,000
//! idle WebSocket sessions held 16 KiB for each. [`ChunkedReader`] sits between the socket
//! and such a library: it reads from the socket in large chunks (few system calls) and
//! hands the bytes on in whatever pieces the library asks for, so the library can be
//! configured with a small buffer of its own. When the socket has nothing more to give and
//! everything read was handed on, the chunk is freed.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::io::poll_read_buf;

/// How much is read from the socket at once.
const READ_CHUNK: usize = 8 * 1024;

/// Reads `S` in chunks of [`READ_CHUNK`] octets into a buffer that is freed whenever it is
/// empty and the socket has nothing to read. Writes go straight through.
pub(crate) struct ChunkedReader<S> {
    inner: S,
    buffer: BytesMut,
}

impl<S> ChunkedReader<S> {
    pub(crate) fn new(inner: S) -> Self {
        ChunkedReader {
            inner,
            buffer: BytesMut::new(),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ChunkedReader<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.buffer.is_empty() {
            if out.remaining() >= READ_CHUNK {
                // The caller asks for at least a chunk: no point in copying it twice.
                return Pin::new(&mut this.inner).poll_read(cx, out);
            }
            this.buffer.reserve(READ_CHUNK);
            match poll_read_buf(Pin::new(&mut this.inner), cx, &mut this.buffer) {
                Poll::Pending => {
                    // Idle: give the memory back until data comes.
                    this.buffer = BytesMut::new();
                    return Poll::Pending;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                // End of stream: `out` stays unfilled, which says so.
                Poll::Ready(Ok(0)) => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(_)) => {}
            }
        }
        let n = out.remaining().min(this.buffer.len());
        out.put_slice(&this.buffer[..n]);
        this.buffer.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ChunkedReader<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn hands_on_everything_in_small_pieces_and_frees_the_chunk_when_idle() {
        let (mut a, b) = tokio::io::duplex(64 * 1024);
        let mut reader = ChunkedReader::new(b);
        let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        a.write_all(&data).await.expect("write");
        let mut got = Vec::new();
        let mut piece = [0u8; 700];
        while got.len() < data.len() {
            let n = reader.read(&mut piece).await.expect("read");
            assert!(n > 0);
            got.extend_from_slice(&piece[..n]);
        }
        assert_eq!(got, data);
        // Nothing buffered, nothing to read: the next read is pending and frees the chunk.
        let pending = tokio::time::timeout(
            std::time::Duration::from_millis(20),
            reader.read(&mut piece),
        )
        .await;
        assert!(pending.is_err(), "nothing was sent");
        assert_eq!(reader.buffer.capacity(), 0);
        // Data again, then the end of the stream.
        a.write_all(b"more").await.expect("write");
        drop(a);
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).await.expect("read");
        assert_eq!(rest, b"more");
    }
}
