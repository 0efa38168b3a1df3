//! Read and write buffers that exist only while data is moving.
//!
//! A protocol library that owns its buffers keeps them for the life of the connection:
//! tungstenite allocates its whole `read_buffer_size` up front, so a router with 10,000
//! idle WebSocket sessions held 16 KiB for each, and its write buffer keeps the capacity
//! of the largest burst it ever wrote. [`ChunkedReader`] sits between the socket and such
//! a library: it reads from the socket in large chunks (few system calls) and hands the
//! bytes on in whatever pieces the library asks for, so the library can be configured
//! with a small buffer of its own; when the socket has nothing more to give and everything
//! read was handed on, the chunk is freed. Writes are collected in a buffer of its own
//! (the library is told to write through at once), which is freed whenever a flush empties
//! it; [`ChunkedReader::queue`] lets the transport add whole frames to it directly.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::io::poll_read_buf;

/// How much is read from the socket at once.
const READ_CHUNK: usize = 8 * 1024;
/// Written bytes collected before a write waits for the socket to take some.
const WRITE_HIGH_WATER: usize = 64 * 1024;

/// Reads `S` in chunks of [`READ_CHUNK`] octets into a buffer that is freed whenever it is
/// empty and the socket has nothing to read; collects writes until a flush (or
/// [`WRITE_HIGH_WATER`] octets), in a buffer freed whenever a flush empties it.
///
/// A write is taken whole or not at all, so whole frames written by the library and whole
/// frames added with [`ChunkedReader::queue`] never interleave.
pub(crate) struct ChunkedReader<S> {
    inner: S,
    buffer: BytesMut,
    written: BytesMut,
}

impl<S> ChunkedReader<S> {
    pub(crate) fn new(inner: S) -> Self {
        ChunkedReader {
            inner,
            buffer: BytesMut::new(),
            written: BytesMut::new(),
        }
    }

    /// Adds `parts` (one whole frame) to what will be written, after everything written
    /// before. Call [`ChunkedReader::poll_room`] first.
    pub(crate) fn queue(&mut self, parts: &[&[u8]]) {
        self.written.reserve(parts.iter().map(|p| p.len()).sum());
        for p in parts {
            self.written.extend_from_slice(p);
        }
    }
}

impl<S: AsyncWrite + Unpin> ChunkedReader<S> {
    /// Ready when there is room for another frame: fewer than [`WRITE_HIGH_WATER`] octets
    /// wait (writing some to the socket if not).
    pub(crate) fn poll_room(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written.len() >= WRITE_HIGH_WATER {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.written))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written.advance(n);
        }
        Poll::Ready(Ok(()))
    }

    /// Writes everything collected to the socket and flushes it; the buffer is freed.
    fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.written.is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.written))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written.advance(n);
        }
        // Not `capacity() > 0`: once everything was advanced past, an emptied buffer
        // reports no capacity but still holds its allocation.
        self.written = BytesMut::new();
        Pin::new(&mut self.inner).poll_flush(cx)
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
        ready!(self.poll_room(cx))?;
        self.written.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_write_out(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_write_out(cx))?;
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

    #[tokio::test]
    async fn collects_writes_in_order_until_a_flush_then_frees_them() {
        let (a, mut b) = tokio::io::duplex(256 * 1024);
        let mut io = ChunkedReader::new(a);
        io.write_all(b"one ").await.expect("write");
        std::future::poll_fn(|cx| io.poll_room(cx))
            .await
            .expect("room");
        io.queue(&[b"two", b" "]);
        io.write_all(b"three").await.expect("write");
        // Nothing reaches the socket before the flush.
        let mut probe = [0u8; 16];
        let early =
            tokio::time::timeout(std::time::Duration::from_millis(20), b.read(&mut probe)).await;
        assert!(early.is_err(), "written before the flush");
        io.flush().await.expect("flush");
        assert_eq!(
            io.written.as_ptr(),
            BytesMut::new().as_ptr(),
            "the write buffer is given back once flushed"
        );
        let mut got = vec![0u8; 13];
        b.read_exact(&mut got).await.expect("read");
        assert_eq!(got, b"one two three");
        // Past the high-water mark a write waits for the socket to take some.
        let big = vec![7u8; 3 * WRITE_HIGH_WATER];
        io.write_all(&big).await.expect("write");
        io.flush().await.expect("flush");
        let mut got = vec![0u8; big.len()];
        b.read_exact(&mut got).await.expect("read");
        assert_eq!(got, big);
    }
}
