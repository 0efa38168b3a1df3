//! WAMP-over-RawSocket: a 4-byte handshake, then length-prefixed frames.
//!
//! RawSocket runs over any reliable byte stream (TCP, TLS, Unix sockets); [`connect`] is the
//! client half and [`accept`] the router half. Both take an already connected stream, so TLS,
//! timeouts and retries stay with the caller.
//!
//! The handshake is 4 octets each way: the magic `0x7F`, then `LLLL SSSS` (the largest
//! message the sender accepts, `2^(9 + L)` octets, and the serializer ID), then two reserved
//! zero octets. A router refuses with `0x7F, EEEE 0000, 0, 0` (error code `E`).
//!
//! After the handshake every frame is a 4-octet header `RRRR XTTT` + 24-bit big-endian
//! length, followed by the payload. `TTT` is 0 for a WAMP message, 1 for PING, 2 for PONG;
//! `X` is a 25th length bit, set only for a payload of exactly 2^24 octets. PINGs are
//! answered here, PONGs swallowed: the [`Transport`] only ever carries WAMP messages.
//!
//! Framing is done by a [`tokio_util::codec`] codec: incoming payloads are split off the read
//! buffer without copying (the decoded message keeps referring to them), outgoing header and
//! payload go into one write buffer, so small messages sent back to back leave in one
//! `write` call, and nothing is flushed before the sink is flushed.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll, Wake, Waker};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures_util::task::AtomicWaker;
use futures_util::{Sink, Stream};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, Sleep};
use tokio_util::codec::{Decoder, Encoder, Framed};

use super::framed::{CloseWith, MessageFramed};
use super::{
    HandshakeError, Transport, TransportError, TransportInfo, TransportKind,
    DEFAULT_MAX_MESSAGE_SIZE,
};
use crate::serializer::Serializer;

/// First octet of every handshake request and reply. No HTTP request can start with it, so a
/// router can share a port with WebSocket.
const MAGIC: u8 = 0x7F;
/// A length exponent `L` means `2^(LENGTH_BASE + L)` octets.
const LENGTH_BASE: u32 = 9;
/// The largest exponent that fits the 4-bit field: 2^24 octets (16 MiB).
const MAX_EXPONENT: u8 = 15;
/// The largest payload a frame header can announce (with the `X` bit).
const MAX_FRAME_LEN: usize = 1 << 24;
/// Octets in a frame header.
const HEADER_LEN: usize = 4;
/// Room reserved at once for a frame still arriving, whatever its header announces.
const PREALLOCATE: usize = 64 * 1024;
/// The read buffer gets this much room before each read that would otherwise have less than
/// [`MIN_READ_ROOM`]: reads stay large while the buffer is only allocated when data arrives.
const READ_CHUNK: usize = 8 * 1024;
/// Below this much free room in the read buffer, [`READ_CHUNK`] more is reserved first.
const MIN_READ_ROOM: usize = 1024;
/// A write buffer that grew past this (a large message went out) is given back once flushed.
const MAX_IDLE_WRITE_BUFFER: usize = 64 * 1024;
/// Handshake error code 1: serializer unsupported.
const ERR_SERIALIZER_UNSUPPORTED: u8 = 1;
/// Handshake error code 3: use of reserved bits.
const ERR_RESERVED_BITS: u8 = 3;
/// Handshake error code 4: maximum connection count reached.
const ERR_CONNECTION_LIMIT: u8 = 4;
/// How many PONGs (and PINGs) may wait for room in the write buffer before we stop reading:
/// a peer that floods PINGs without reading our PONGs gets backpressure, not our memory.
const MAX_QUEUED_CONTROL: usize = 16;
/// Keepalive intervals are at least this long, so a zero interval cannot spin.
const MIN_PING_INTERVAL: Duration = Duration::from_millis(1);

/// Options for one RawSocket connection.
#[derive(Clone, Debug)]
pub struct RawSocketConfig {
    /// Largest message this side accepts; announced in the handshake as the next power of two
    /// between 2^9 and 2^24 that is >= this value (values above 16 MiB are capped at 2^24).
    ///
    /// The announced (rounded) size is the one enforced on incoming frames, because it is what
    /// the peer was told it may send; [`TransportInfo::max_message_size`] reports it.
    pub max_message_size: usize,
    /// Send a PING frame this often and close the connection if no PONG (or any frame) comes
    /// back within `ping_timeout`. `None` (the default) sends no PINGs, because Crossbar.io
    /// drops the connection on them.
    ///
    /// A PING is only sent after a whole interval without any incoming frame, and only while
    /// the transport's stream is being polled (as a session always does).
    pub ping_interval: Option<Duration>,
    /// How long to wait for any frame after a PING before the stream ends with
    /// [`TransportError::Timeout`]. Unused without `ping_interval`.
    pub ping_timeout: Duration,
}

impl Default for RawSocketConfig {
    /// 16 MiB (the RawSocket maximum), no PINGs, 10 s ping timeout.
    fn default() -> Self {
        RawSocketConfig {
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            ping_interval: None,
            ping_timeout: Duration::from_secs(10),
        }
    }
}

/// Client half: sends the handshake requesting `serializer`, checks the reply, returns a
/// [`Transport`].
///
/// Fails with [`TransportError::Handshake`] when the router refuses (its error code decoded
/// into a [`HandshakeError`]), answers something that is not RawSocket
/// ([`HandshakeError::BadMagic`]), answers with another serializer
/// ([`HandshakeError::SerializerMismatch`]) or closes the connection
/// ([`HandshakeError::Closed`]: Crossbar.io's way of refusing a serializer, so a caller can
/// retry with the next one). There is no timeout here: wrap the call in one.
pub async fn connect<S>(
    mut stream: S,
    serializer: Serializer,
    config: &RawSocketConfig,
    kind: TransportKind,
    peer_addr: Option<SocketAddr>,
) -> Result<Transport, TransportError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let ours = length_exponent(config.max_message_size);
    let asked = serializer.rawsocket_id();
    let request = [MAGIC, (ours << 4) | asked, 0, 0];
    stream
        .write_all(&request)
        .await
        .map_err(handshake_io_error)?;
    stream.flush().await.map_err(handshake_io_error)?;

    let mut reply = [0u8; 4];
    stream
        .read_exact(&mut reply)
        .await
        .map_err(handshake_io_error)?;
    let theirs = parse_reply(reply, asked).inspect_err(|e| {
        tracing::debug!(?peer_addr, reply = ?reply, "RawSocket handshake refused: {e}");
    })?;
    Ok(open(
        stream, serializer, config, kind, peer_addr, ours, theirs,
    ))
}

/// Server half: reads the client's handshake, accepts it if the serializer is in
/// `serializers` (else answers error code 1 and fails with
/// [`HandshakeError::SerializerUnsupported`]), answers with our max length.
///
/// A request whose reserved octets are not zero is answered with error code 3
/// ([`HandshakeError::ReservedBits`]). A request without the magic octet is not RawSocket at
/// all: the connection is closed without an answer ([`HandshakeError::BadMagic`]). Any
/// message length the client announces is acceptable. Only the 4 handshake octets are read,
/// so a client that sends its first message right behind the handshake loses nothing.
/// There is no timeout here: wrap the call in one.
pub async fn accept<S>(
    mut stream: S,
    serializers: &[Serializer],
    config: &RawSocketConfig,
    kind: TransportKind,
    peer_addr: Option<SocketAddr>,
) -> Result<Transport, TransportError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut request = [0u8; 4];
    stream
        .read_exact(&mut request)
        .await
        .map_err(handshake_io_error)?;
    match parse_request(request, serializers) {
        Ok((serializer, theirs)) => {
            let ours = length_exponent(config.max_message_size);
            let reply = [MAGIC, (ours << 4) | serializer.rawsocket_id(), 0, 0];
            stream.write_all(&reply).await.map_err(handshake_io_error)?;
            stream.flush().await.map_err(handshake_io_error)?;
            Ok(open(
                stream, serializer, config, kind, peer_addr, ours, theirs,
            ))
        }
        Err(Refusal { code, error }) => {
            tracing::debug!(?peer_addr, request = ?request, "refusing RawSocket handshake: {error}");
            // The handshake already failed: a peer that is gone by now changes nothing, so
            // errors while answering and closing are not reported over the refusal.
            if let Some(code) = code {
                let _ = stream.write_all(&[MAGIC, code << 4, 0, 0]).await;
            }
            let _ = stream.shutdown().await;
            Err(error.into())
        }
    }
}

/// Server half, refusing: reads the client's handshake and answers error code 4, "maximum
/// connection count reached", then closes. The request is read first so that the answer is
/// not lost to a reset (closing a socket with unread data resets it). A request without the
/// magic octet gets no answer. There is no timeout here: wrap the call in one.
pub async fn refuse_connection_limit<S>(mut stream: S) -> Result<(), TransportError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut request = [0u8; 4];
    stream
        .read_exact(&mut request)
        .await
        .map_err(handshake_io_error)?;
    if request[0] == MAGIC {
        stream
            .write_all(&[MAGIC, ERR_CONNECTION_LIMIT << 4, 0, 0])
            .await
            .map_err(handshake_io_error)?;
    }
    let _ = stream.shutdown().await;
    Ok(())
}

/// The 4-bit length exponent announcing `max`: the smallest power of two `>= max`, within
/// 2^9..=2^24.
fn length_exponent(max: usize) -> u8 {
    let mut exponent = 0;
    while exponent < MAX_EXPONENT && exponent_size(exponent) < max {
        exponent += 1;
    }
    exponent
}

/// The message size a 4-bit length exponent stands for.
fn exponent_size(exponent: u8) -> usize {
    1 << (LENGTH_BASE + u32::from(exponent & 0x0F))
}

/// A socket error during the handshake. The ways of seeing the peer go away all mean the
/// same to the caller (routers refuse serializers by closing), so they become `Closed`.
fn handshake_io_error(e: io::Error) -> TransportError {
    match e.kind() {
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => HandshakeError::Closed.into(),
        _ => TransportError::Io(e),
    }
}

/// Checks a router's reply to our request for serializer `asked`; returns the router's
/// length exponent.
fn parse_reply(reply: [u8; 4], asked: u8) -> Result<u8, HandshakeError> {
    let [magic, octet, reserved1, reserved2] = reply;
    if magic != MAGIC {
        return Err(HandshakeError::BadMagic(magic));
    }
    let (high, serializer) = (octet >> 4, octet & 0x0F);
    if serializer == 0 {
        return Err(match high {
            1 => HandshakeError::SerializerUnsupported(asked),
            2 => HandshakeError::MaxLengthUnacceptable,
            3 => HandshakeError::ReservedBits,
            4 => HandshakeError::ConnectionLimit,
            code => HandshakeError::UnknownCode(code),
        });
    }
    if reserved1 != 0 || reserved2 != 0 {
        return Err(HandshakeError::ReservedBits);
    }
    if serializer != asked {
        return Err(HandshakeError::SerializerMismatch {
            asked,
            got: serializer,
        });
    }
    Ok(high)
}

/// Why a router refuses a handshake request, and the error code to answer with (`None`: the
/// peer does not speak RawSocket, answer nothing).
struct Refusal {
    code: Option<u8>,
    error: HandshakeError,
}

/// Checks a client's request; returns the serializer and the client's length exponent.
fn parse_request(
    request: [u8; 4],
    serializers: &[Serializer],
) -> Result<(Serializer, u8), Refusal> {
    let [magic, octet, reserved1, reserved2] = request;
    if magic != MAGIC {
        return Err(Refusal {
            code: None,
            error: HandshakeError::BadMagic(magic),
        });
    }
    if reserved1 != 0 || reserved2 != 0 {
        return Err(Refusal {
            code: Some(ERR_RESERVED_BITS),
            error: HandshakeError::ReservedBits,
        });
    }
    let id = octet & 0x0F;
    match Serializer::from_rawsocket_id(id).filter(|s| serializers.contains(s)) {
        Some(serializer) => Ok((serializer, octet >> 4)),
        None => Err(Refusal {
            code: Some(ERR_SERIALIZER_UNSUPPORTED),
            error: HandshakeError::SerializerUnsupported(id),
        }),
    }
}

/// Wraps a stream whose handshake succeeded into a [`Transport`].
fn open<S>(
    stream: S,
    serializer: Serializer,
    config: &RawSocketConfig,
    kind: TransportKind,
    peer_addr: Option<SocketAddr>,
    ours: u8,
    theirs: u8,
) -> Transport
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let max_message_size = exponent_size(ours);
    let peer_max_message_size = exponent_size(theirs);
    let frames = RawSocketFrames::new(stream, max_message_size, config);
    Transport::with_frames(
        MessageFramed::new(frames, serializer, peer_max_message_size),
        TransportInfo {
            kind,
            serializer: Some(serializer),
            max_message_size,
            peer_max_message_size,
            peer_addr,
            peer_certificate_sha256: None,
        },
    )
}

/// The transport-level frame types; 3 to 7 are reserved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FrameType {
    Message = 0,
    Ping = 1,
    Pong = 2,
}

/// One frame, header decoded.
#[derive(Debug)]
struct Frame {
    ty: FrameType,
    payload: Bytes,
}

/// RawSocket framing for [`Framed`]. Frames announcing more than `max_incoming` octets are
/// refused from the header alone, before anything is buffered.
struct RawSocketCodec {
    max_incoming: usize,
}

impl RawSocketCodec {
    /// Type and payload length from a header, or why the header is invalid.
    fn parse_header(&self, header: [u8; 4]) -> Result<(FrameType, usize), TransportError> {
        let [first, l1, l2, l3] = header;
        if first & 0xF0 != 0 {
            return Err(TransportError::Framing(format!(
                "reserved bits set in frame header (first octet 0x{first:02x})"
            )));
        }
        let ty = match first & 0x07 {
            0 => FrameType::Message,
            1 => FrameType::Ping,
            2 => FrameType::Pong,
            reserved => {
                return Err(TransportError::Framing(format!(
                    "reserved frame type {reserved}"
                )))
            }
        };
        let len24 = u32::from_be_bytes([0, l1, l2, l3]) as usize;
        let len = if first & 0x08 == 0 {
            len24
        } else if len24 == 0 {
            MAX_FRAME_LEN
        } else {
            return Err(TransportError::Framing(
                "length bit 25 set together with a non-zero 24-bit length".into(),
            ));
        };
        if len > self.max_incoming {
            return Err(TransportError::MessageTooLarge {
                size: len,
                max: self.max_incoming,
            });
        }
        Ok((ty, len))
    }
}

impl Decoder for RawSocketCodec {
    type Item = Frame;
    type Error = TransportError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, TransportError> {
        let Some(&[b0, b1, b2, b3]) = src.get(..HEADER_LEN) else {
            return Ok(None);
        };
        let (ty, len) = self.parse_header([b0, b1, b2, b3])?;
        let total = HEADER_LEN + len;
        if src.len() < total {
            // Make room for the rest of the frame, so it is read in large chunks and the
            // payload can be split off as is. But never more than double what the peer
            // actually sent (plus `PREALLOCATE`): a 4-octet header must not make us allocate
            // 16 MiB. The growth is geometric, so a large frame is moved about once while it
            // arrives; frames up to `PREALLOCATE` get their room in one go.
            let missing = total - src.len();
            src.reserve(missing.min(src.len().max(PREALLOCATE)));
            return Ok(None);
        }
        src.advance(HEADER_LEN);
        Ok(Some(Frame {
            ty,
            payload: src.split_to(len).freeze(),
        }))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, TransportError> {
        match self.decode(src)? {
            Some(frame) => Ok(Some(frame)),
            None if src.is_empty() => Ok(None),
            None => Err(TransportError::Framing(format!(
                "connection closed in the middle of a frame ({} octets of it received)",
                src.len()
            ))),
        }
    }
}

impl Encoder<Frame> for RawSocketCodec {
    type Error = TransportError;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> Result<(), TransportError> {
        let len = frame.payload.len();
        let header = match u32::try_from(len) {
            Ok(len24) if len < MAX_FRAME_LEN => (u32::from(frame.ty as u8) << 24) | len24,
            _ if len == MAX_FRAME_LEN => u32::from(frame.ty as u8 | 0x08) << 24,
            _ => {
                return Err(TransportError::MessageTooLarge {
                    size: len,
                    max: MAX_FRAME_LEN,
                })
            }
        };
        dst.reserve(HEADER_LEN + len);
        dst.put_u32(header);
        dst.extend_from_slice(&frame.payload);
        Ok(())
    }
}

/// Which side of the transport is writing: the stream (PONGs, PINGs) or the sink.
#[derive(Clone, Copy)]
enum Side {
    Stream,
    Sink,
}

/// The tasks waiting for the socket to become writable.
///
/// Both the stream side (answering PINGs) and the sink side write to the same socket, and a
/// socket remembers only the last waker that waited for writability. When the transport is
/// split between a reader task and a writer task, one would steal the other's wakeup and
/// the writer could hang. So writes are polled with a waker that wakes both.
#[derive(Default)]
struct WriteWakers {
    stream: AtomicWaker,
    sink: AtomicWaker,
}

impl Wake for WriteWakers {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.stream.wake();
        self.sink.wake();
    }
}

/// The keepalive state: a timer that either waits to send the next PING or waits for an
/// answer to the last one.
struct Keepalive {
    interval: Duration,
    timeout: Duration,
    timer: Pin<Box<Sleep>>,
    /// A PING went out and nothing has arrived since.
    awaiting_answer: bool,
    /// A frame arrived since the timer was last set: no need to PING yet.
    heard: bool,
    pings_sent: u64,
}

impl Keepalive {
    fn new(interval: Duration, timeout: Duration) -> Self {
        let interval = interval.max(MIN_PING_INTERVAL);
        Keepalive {
            interval,
            timeout,
            timer: Box::pin(tokio::time::sleep_until(deadline(interval))),
            awaiting_answer: false,
            heard: false,
            pings_sent: 0,
        }
    }

    /// Any incoming frame proves the peer alive. Cheap: the timer is only reset when a PING
    /// was waiting for an answer, once per PING.
    fn on_frame(&mut self) {
        if self.awaiting_answer {
            self.awaiting_answer = false;
            self.heard = false;
            self.timer.as_mut().reset(deadline(self.interval));
        } else {
            self.heard = true;
        }
    }

    /// `Ready(Ok(payload))` when a PING is due, `Ready(Err(Timeout))` when the last one went
    /// unanswered.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<Bytes, TransportError>> {
        loop {
            ready!(self.timer.as_mut().poll(cx));
            if self.awaiting_answer {
                return Poll::Ready(Err(TransportError::Timeout(self.timeout)));
            }
            if std::mem::take(&mut self.heard) {
                self.timer.as_mut().reset(deadline(self.interval));
                continue;
            }
            self.awaiting_answer = true;
            self.pings_sent += 1;
            self.timer.as_mut().reset(deadline(self.timeout));
            return Poll::Ready(Ok(Bytes::copy_from_slice(&self.pings_sent.to_be_bytes())));
        }
    }
}

/// `after` from now, saturating (a huge configured duration must not panic).
fn deadline(after: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(after)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(now)
}

/// The frame layer: a `Stream` of incoming WAMP message payloads and a `Sink` of outgoing
/// ones. PINGs are answered from whichever side is polled next (the stream side even if the
/// sink is never touched), PONGs are swallowed, keepalive PINGs are sent from the stream
/// side.
///
/// A fatal read error (oversized frame, framing violation, truncated frame, socket error,
/// keepalive timeout) is yielded once; the socket is then shut down and dropped, the stream
/// ends and the sink fails with [`TransportError::Closed`]. There is no way to find the next
/// frame boundary after such an error.
struct RawSocketFrames<S> {
    /// `None` once the connection was torn down after a fatal error.
    framed: Option<Framed<S, RawSocketCodec>>,
    /// PONGs and PINGs waiting for room in the write buffer.
    control: VecDeque<Frame>,
    /// Control frames were put in the write buffer but not flushed yet.
    control_unflushed: bool,
    keepalive: Option<Keepalive>,
    wakers: Arc<WriteWakers>,
    /// Wakes both entries of `wakers`; used for every write.
    write_waker: Waker,
    /// The stream has ended (EOF or fatal error).
    read_done: bool,
    /// A fatal error happened: the connection is (being) torn down.
    failed: bool,
    /// The sink was closed: our write half is shut down, PINGs go unanswered.
    write_closed: bool,
}

impl<S> RawSocketFrames<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn new(stream: S, max_incoming: usize, config: &RawSocketConfig) -> Self {
        let wakers = Arc::new(WriteWakers::default());
        RawSocketFrames {
            framed: Some({
                // Both buffers start empty and grow on first use; the read buffer is given
                // back whenever the connection goes quiet (see `poll_next`).
                let mut framed = Framed::new(stream, RawSocketCodec { max_incoming });
                *framed.read_buffer_mut() = BytesMut::new();
                *framed.write_buffer_mut() = BytesMut::new();
                framed
            }),
            control: VecDeque::new(),
            control_unflushed: false,
            keepalive: config
                .ping_interval
                .map(|interval| Keepalive::new(interval, config.ping_timeout)),
            write_waker: Waker::from(Arc::clone(&wakers)),
            wakers,
            read_done: false,
            failed: false,
            write_closed: false,
        }
    }

    fn register(&self, side: Side, cx: &Context<'_>) {
        match side {
            Side::Stream => self.wakers.stream.register(cx.waker()),
            Side::Sink => self.wakers.sink.register(cx.waker()),
        }
    }

    /// Moves queued control frames into the write buffer and flushes them. `Ready(Ok)` once
    /// there is nothing left to send.
    fn poll_control(
        &mut self,
        side: Side,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), TransportError>> {
        if self.control.is_empty() && !self.control_unflushed {
            return Poll::Ready(Ok(()));
        }
        self.register(side, cx);
        let Some(framed) = self.framed.as_mut() else {
            return Poll::Ready(Err(TransportError::Closed));
        };
        let mut wcx = Context::from_waker(&self.write_waker);
        while let Some(frame) = self.control.pop_front() {
            match Pin::new(&mut *framed).poll_ready(&mut wcx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    self.control.push_front(frame);
                    return Poll::Pending;
                }
            }
            Pin::new(&mut *framed).start_send(frame)?;
            self.control_unflushed = true;
        }
        ready!(Pin::new(&mut *framed).poll_flush(&mut wcx))?;
        self.control_unflushed = false;
        Poll::Ready(Ok(()))
    }

    /// Shuts the socket down (FIN, TLS close_notify) and drops it. Buffered outgoing data is
    /// discarded: after a fatal error the peer is not owed it.
    fn poll_teardown(&mut self, side: Side, cx: &mut Context<'_>) -> Poll<()> {
        self.register(side, cx);
        let Some(framed) = self.framed.as_mut() else {
            return Poll::Ready(());
        };
        let mut wcx = Context::from_waker(&self.write_waker);
        if Pin::new(framed.get_mut())
            .poll_shutdown(&mut wcx)
            .is_pending()
        {
            return Poll::Pending;
        }
        self.framed = None;
        Poll::Ready(())
    }

    /// Ends the stream with `error` and tears the connection down.
    fn fail(
        &mut self,
        cx: &mut Context<'_>,
        error: TransportError,
    ) -> Poll<Option<Result<Bytes, TransportError>>> {
        tracing::debug!("RawSocket connection failed: {error}");
        self.failed = true;
        self.read_done = true;
        self.control.clear();
        self.keepalive = None;
        let _ = self.poll_teardown(Side::Stream, cx);
        Poll::Ready(Some(Err(error)))
    }
}

impl<S> Stream for RawSocketFrames<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Item = Result<Bytes, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.read_done {
            if this.failed {
                let _ = this.poll_teardown(Side::Stream, cx);
            }
            return Poll::Ready(None);
        }
        loop {
            // Answer PINGs (and send ours) before reading on.
            if let Poll::Ready(Err(e)) = this.poll_control(Side::Stream, cx) {
                return this.fail(cx, e);
            }
            if this.control.len() >= MAX_QUEUED_CONTROL {
                // The peer is not reading our PONGs: read nothing more until it does (the
                // pending write above woke us up when it can go on).
                return Poll::Pending;
            }
            let Some(framed) = this.framed.as_mut() else {
                this.read_done = true;
                return Poll::Ready(None);
            };
            let buffer = framed.read_buffer_mut();
            if buffer.capacity() - buffer.len() < MIN_READ_ROOM {
                buffer.reserve(READ_CHUNK);
            }
            let polled = Pin::new(&mut *framed).poll_next(cx);
            if polled.is_pending() && framed.read_buffer().is_empty() {
                // Nothing buffered and nothing to read: give the buffer back, so an idle
                // connection holds no read memory (it is reserved again when data comes).
                *framed.read_buffer_mut() = BytesMut::new();
            }
            match polled {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(keepalive) = this.keepalive.as_mut() {
                        keepalive.on_frame();
                    }
                    match frame.ty {
                        FrameType::Message => return Poll::Ready(Some(Ok(frame.payload))),
                        FrameType::Ping if !this.write_closed => {
                            tracing::trace!(len = frame.payload.len(), "RawSocket PING");
                            this.control.push_back(Frame {
                                ty: FrameType::Pong,
                                payload: frame.payload,
                            });
                        }
                        FrameType::Ping | FrameType::Pong => {}
                    }
                }
                Poll::Ready(Some(Err(e))) => return this.fail(cx, e),
                Poll::Ready(None) => {
                    this.read_done = true;
                    return Poll::Ready(None);
                }
                Poll::Pending => {
                    // Nothing to read: the one moment to look at the keepalive timer (after
                    // any reset by `on_frame`, so its waker is registered).
                    let Some(keepalive) = this.keepalive.as_mut() else {
                        return Poll::Pending;
                    };
                    match keepalive.poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Ok(payload)) => {
                            tracing::trace!("RawSocket keepalive PING");
                            this.control.push_back(Frame {
                                ty: FrameType::Ping,
                                payload,
                            });
                        }
                        Poll::Ready(Err(e)) => return this.fail(cx, e),
                    }
                }
            }
        }
    }
}

/// RawSocket has no close status: the connection just ends.
impl<S> CloseWith for RawSocketFrames<S> {
    fn set_close_reason(&mut self, _reason: super::CloseReason) {}
}

impl<S> Sink<Bytes> for RawSocketFrames<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Error = TransportError;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = &mut *self;
        if this.failed {
            return Poll::Ready(Err(TransportError::Closed));
        }
        ready!(this.poll_control(Side::Sink, cx))?;
        this.register(Side::Sink, cx);
        let Some(framed) = this.framed.as_mut() else {
            return Poll::Ready(Err(TransportError::Closed));
        };
        Pin::new(framed).poll_ready(&mut Context::from_waker(&this.write_waker))
    }

    fn start_send(mut self: Pin<&mut Self>, payload: Bytes) -> Result<(), Self::Error> {
        let this = &mut *self;
        match this.framed.as_mut() {
            Some(framed) if !this.failed => Pin::new(framed).start_send(Frame {
                ty: FrameType::Message,
                payload,
            }),
            _ => Err(TransportError::Closed),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = &mut *self;
        if this.failed {
            return Poll::Ready(Err(TransportError::Closed));
        }
        ready!(this.poll_control(Side::Sink, cx))?;
        this.register(Side::Sink, cx);
        let Some(framed) = this.framed.as_mut() else {
            return Poll::Ready(Err(TransportError::Closed));
        };
        ready!(Pin::new(&mut *framed).poll_flush(&mut Context::from_waker(&this.write_waker)))?;
        if framed.write_buffer().capacity() > MAX_IDLE_WRITE_BUFFER {
            // One large message must not pin its size in memory for the connection's life.
            *framed.write_buffer_mut() = BytesMut::new();
        }
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = &mut *self;
        if this.failed {
            ready!(this.poll_teardown(Side::Sink, cx));
            return Poll::Ready(Ok(()));
        }
        if this.write_closed {
            return Poll::Ready(Ok(()));
        }
        ready!(this.poll_control(Side::Sink, cx))?;
        this.register(Side::Sink, cx);
        let Some(framed) = this.framed.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        ready!(Pin::new(framed).poll_close(&mut Context::from_waker(&this.write_waker)))?;
        // Nothing can be sent any more: no PONGs, no keepalive PINGs.
        this.write_closed = true;
        this.keepalive = None;
        Poll::Ready(Ok(()))
    }
}
