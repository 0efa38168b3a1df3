//! WebSocket transport (client and server) on tokio-tungstenite.
//!
//! The serializer is negotiated as the WebSocket subprotocol (`wamp.2.json`,
//! `wamp.2.msgpack`, `wamp.2.cbor`): the client offers its list in order of preference,
//! the server takes the first one it supports. JSON travels in text frames, the binary
//! serializers in binary frames. Pings from the peer are answered by tungstenite; our own
//! pings are optional keepalive ([`WebSocketConfig::ping_interval`]).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Sink, Stream};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, Sleep};
use tokio_tungstenite::tungstenite::{
    self,
    client::IntoClientRequest,
    handshake::server::{ErrorResponse, Request, Response},
    http::{HeaderName, HeaderValue, StatusCode},
    protocol::frame::{coding::CloseCode, CloseFrame},
    protocol::WebSocketConfig as WsConfig,
    Message as WsMessage,
};
use tokio_tungstenite::WebSocketStream;

use super::chunked::ChunkedReader;
use super::framed::{CloseWith, MessageFramed};
use super::{
    CloseReason, Transport, TransportError, TransportInfo, TransportKind, DEFAULT_MAX_MESSAGE_SIZE,
};
use crate::serializer::Serializer;

const SUBPROTOCOL_HEADER: &str = "sec-websocket-protocol";

/// Options for one WebSocket connection, either side.
#[derive(Clone, Debug)]
pub struct WebSocketConfig {
    /// Largest message accepted from the peer, and largest sent to it.
    pub max_message_size: usize,
    /// Send a ping this often; `None` sends none.
    pub ping_interval: Option<Duration>,
    /// Close the connection when nothing arrives this long after a ping.
    pub ping_timeout: Duration,
    /// Extra HTTP headers for the client's opening handshake.
    pub headers: Vec<(String, String)>,
    /// The path the server accepts (`/ws`); `None` accepts any path.
    pub path: Option<String>,
}

impl Default for WebSocketConfig {
    fn default() -> Self {
        WebSocketConfig {
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            ping_interval: None,
            ping_timeout: Duration::from_secs(10),
            headers: Vec::new(),
            path: None,
        }
    }
}

impl WebSocketConfig {
    fn tungstenite(&self) -> WsConfig {
        // tungstenite allocates its read buffer up front and keeps it, and zero-fills it
        // before each read. The socket is read in large chunks by `ChunkedReader` (which
        // frees them when idle), so tungstenite's own buffer only needs to be small: an
        // idle WebSocket session then holds ~1 KiB for it instead of 16 (or 128 by default).
        WsConfig::default()
            .read_buffer_size(TUNGSTENITE_READ_BUFFER)
            // Write through to `ChunkedReader`, which collects the writes until a flush
            // and frees its buffer afterwards: tungstenite's own write buffer would keep
            // the capacity of the largest burst for the life of the connection.
            .write_buffer_size(0)
            .max_message_size(Some(self.max_message_size))
            .max_frame_size(Some(self.max_message_size))
    }
}

/// tungstenite's own read buffer; see [`WebSocketConfig::tungstenite`]. It is allocated
/// at the handshake and kept, so it is part of every idle session's cost; it also bounds
/// each read tungstenite makes from `ChunkedReader` (a copy from memory, not a system
/// call), so a large message takes size / 512 of them.
const TUNGSTENITE_READ_BUFFER: usize = 512;

fn ws_err(e: tungstenite::Error) -> TransportError {
    match e {
        tungstenite::Error::Io(io) => TransportError::Io(io),
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
            TransportError::Closed
        }
        other => TransportError::WebSocket(other.to_string()),
    }
}

/// Client half: performs the opening handshake on a connected stream (TCP or TLS) and
/// offers `serializers` in order of preference.
pub async fn connect<S>(
    stream: S,
    url: &str,
    serializers: &[Serializer],
    config: &WebSocketConfig,
    kind: TransportKind,
    peer_addr: Option<SocketAddr>,
) -> Result<Transport, TransportError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    if serializers.is_empty() {
        return Err(TransportError::NoCommonSerializer {
            offered: Vec::new(),
            chosen: None,
        });
    }
    let mut request = url
        .into_client_request()
        .map_err(|e| TransportError::InvalidUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
    let offered: Vec<&str> = serializers.iter().map(|s| s.subprotocol()).collect();
    let headers = request.headers_mut();
    headers.insert(
        SUBPROTOCOL_HEADER,
        HeaderValue::from_str(&offered.join(", "))
            .map_err(|e| TransportError::WebSocket(e.to_string()))?,
    );
    for (name, value) in &config.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| TransportError::WebSocket(format!("invalid header name {name:?}: {e}")))?;
        let value = HeaderValue::from_str(value).map_err(|e| {
            TransportError::WebSocket(format!("invalid value for header {name}: {e}"))
        })?;
        headers.append(name, value);
    }
    let (ws, response) = tokio_tungstenite::client_async_with_config(
        request,
        ChunkedReader::new(stream),
        Some(config.tungstenite()),
    )
    .await
    .map_err(|e| match e {
        tungstenite::Error::Protocol(
            tungstenite::error::ProtocolError::SecWebSocketSubProtocolError(_),
        ) => TransportError::NoCommonSerializer {
            offered: serializers.to_vec(),
            chosen: None,
        },
        tungstenite::Error::Http(resp) => TransportError::WebSocket(format!(
            "the server refused the WebSocket upgrade with HTTP {}{}",
            resp.status(),
            resp.body()
                .as_ref()
                .map(|b| format!(": {}", String::from_utf8_lossy(b).trim()))
                .unwrap_or_default()
        )),
        other => ws_err(other),
    })?;
    let chosen = response
        .headers()
        .get(SUBPROTOCOL_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    let serializer = chosen
        .and_then(Serializer::from_subprotocol)
        .filter(|s| serializers.contains(s))
        .ok_or_else(|| TransportError::NoCommonSerializer {
            offered: serializers.to_vec(),
            chosen: chosen.map(str::to_owned),
        })?;
    Ok(wrap(ws, serializer, config, kind, peer_addr, false))
}

/// Server half: performs the opening handshake on an accepted stream and picks the
/// client's most preferred subprotocol among `serializers`. A client offering none of them
/// gets HTTP 400 with a body that says why; a wrong path gets 404.
pub async fn accept<S>(
    stream: S,
    serializers: &[Serializer],
    config: &WebSocketConfig,
    kind: TransportKind,
    peer_addr: Option<SocketAddr>,
) -> Result<Transport, TransportError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut chosen = None;
    let mut refusal = None;
    // The error type is tungstenite's, sized by its HTTP response type.
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, mut response: Response| -> Result<Response, ErrorResponse> {
        let refuse = |status: StatusCode, text: String| {
            let mut resp = ErrorResponse::new(Some(text));
            *resp.status_mut() = status;
            resp
        };
        if let Some(path) = &config.path {
            if request.uri().path() != path {
                refusal = Some(format!("wrong path {}", request.uri().path()));
                return Err(refuse(
                    StatusCode::NOT_FOUND,
                    format!("no WAMP endpoint at {}\n", request.uri().path()),
                ));
            }
        }
        let offered: Vec<String> = request
            .headers()
            .get_all(SUBPROTOCOL_HEADER)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect();
        let pick = offered
            .iter()
            .filter_map(|p| Serializer::from_subprotocol(p))
            .find(|s| serializers.contains(s));
        match pick {
            Some(s) => {
                response.headers_mut().insert(
                    SUBPROTOCOL_HEADER,
                    HeaderValue::from_static(s.subprotocol()),
                );
                chosen = Some(s);
                Ok(response)
            }
            None => {
                let supported: Vec<&str> = serializers.iter().map(|s| s.subprotocol()).collect();
                refusal = Some(format!("client offered {offered:?}"));
                Err(refuse(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "no supported WAMP subprotocol: offered {offered:?}, supported {supported:?}\n"
                    ),
                ))
            }
        }
    };
    let result = tokio_tungstenite::accept_hdr_async_with_config(
        ChunkedReader::new(stream),
        callback,
        Some(config.tungstenite()),
    )
    .await;
    let ws = match (result, refusal) {
        (Ok(ws), _) => ws,
        (Err(_), Some(reason)) if chosen.is_none() => {
            return Err(TransportError::NoCommonSerializer {
                offered: Vec::new(),
                chosen: Some(reason),
            })
        }
        (Err(e), _) => return Err(ws_err(e)),
    };
    let serializer = chosen.ok_or_else(|| {
        TransportError::WebSocket("handshake finished without a subprotocol".into())
    })?;
    Ok(wrap(ws, serializer, config, kind, peer_addr, true))
}

/// Server half, refusing: reads the client's opening handshake and answers with an HTTP
/// error (`status`, e.g. 503 when the router holds as many connections as it may) and
/// `text` as the body, without upgrading. There is no timeout here: wrap the call in one.
pub async fn refuse<S>(stream: S, status: u16, text: &str) -> Result<(), TransportError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    // The error type is tungstenite's, sized by its HTTP response type.
    #[allow(clippy::result_large_err)]
    let callback = |_: &Request, _: Response| -> Result<Response, ErrorResponse> {
        let mut resp = ErrorResponse::new(Some(format!("{text}\n")));
        *resp.status_mut() = status;
        Err(resp)
    };
    // Ends with an error once the refusal is sent: that is the expected outcome.
    match tokio_tungstenite::accept_hdr_async(stream, callback).await {
        Ok(_) => Err(TransportError::WebSocket(
            "a refused WebSocket upgrade was accepted".into(),
        )),
        Err(tungstenite::Error::Http(_)) => Ok(()),
        Err(e) => Err(ws_err(e)),
    }
}

/// `server`: data frames are written by [`WsFrames`] itself (see [`WsFrames::direct`]).
fn wrap<S>(
    ws: WebSocketStream<ChunkedReader<S>>,
    serializer: Serializer,
    config: &WebSocketConfig,
    kind: TransportKind,
    peer_addr: Option<SocketAddr>,
    server: bool,
) -> Transport
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let frames = WsFrames {
        ws,
        serializer,
        keepalive: config.ping_interval.map(|every| Keepalive {
            every,
            timeout: config.ping_timeout,
            timer: Box::pin(tokio::time::sleep(every)),
            awaiting_since: None,
            pings_sent: 0,
        }),
        ping_to_send: None,
        done: false,
        close: Some(CloseReason::Normal),
        direct: server,
        peer_closed: false,
    };
    let info = TransportInfo {
        kind,
        serializer: Some(serializer),
        max_message_size: config.max_message_size,
        peer_max_message_size: config.max_message_size,
        peer_addr,
        peer_certificate_sha256: None,
    };
    Transport::with_frames(
        MessageFramed::new(frames, serializer, config.max_message_size),
        info,
    )
}

struct Keepalive {
    every: Duration,
    timeout: Duration,
    timer: Pin<Box<Sleep>>,
    /// When the last unanswered ping went out.
    awaiting_since: Option<Instant>,
    pings_sent: u64,
}

/// WebSocket messages as WAMP frames: text or binary data, control frames handled here.
struct WsFrames<S> {
    ws: WebSocketStream<ChunkedReader<S>>,
    serializer: Serializer,
    keepalive: Option<Keepalive>,
    ping_to_send: Option<Bytes>,
    done: bool,
    /// The reason the close frame will carry; `None` once it was handed to tungstenite.
    close: Option<CloseReason>,
    /// Server side: data frames (unmasked, a header and the payload) are added to
    /// `ChunkedReader`'s write buffer directly, not through tungstenite, whose write buffer
    /// would keep the capacity of the largest frame ever sent (the WELCOME, for an idle
    /// session) for the life of the connection. Control frames (pongs, pings, the close)
    /// still go through tungstenite; `ChunkedReader` takes every write whole, so frames
    /// never interleave. A client masks its frames: it writes through tungstenite.
    direct: bool,
    /// The peer sent a close frame (tungstenite answered it): no data frame may follow.
    peer_closed: bool,
}

impl<S> CloseWith for WsFrames<S> {
    fn set_close_reason(&mut self, reason: CloseReason) {
        if self.close.is_some() {
            self.close = Some(reason);
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WsFrames<S> {
    /// Drives the keepalive timer: queues pings, reports a dead peer.
    fn poll_keepalive(&mut self, cx: &mut Context<'_>) -> Result<(), TransportError> {
        let Some(ka) = &mut self.keepalive else {
            return Ok(());
        };
        while ka.timer.as_mut().poll(cx).is_ready() {
            let now = Instant::now();
            if let Some(since) = ka.awaiting_since {
                if now.duration_since(since) >= ka.timeout {
                    return Err(TransportError::Timeout(ka.timeout));
                }
            }
            ka.pings_sent += 1;
            self.ping_to_send = Some(Bytes::copy_from_slice(&ka.pings_sent.to_be_bytes()));
            if ka.awaiting_since.is_none() {
                ka.awaiting_since = Some(now);
            }
            let next = ka.every.min(ka.timeout);
            ka.timer.as_mut().reset(now + next);
        }
        if self.ping_to_send.is_some() {
            if let Poll::Ready(Ok(())) = Pin::new(&mut self.ws).poll_ready(cx) {
                if let Some(p) = self.ping_to_send.take() {
                    Pin::new(&mut self.ws)
                        .start_send(WsMessage::Ping(p))
                        .map_err(ws_err)?;
                }
                // Pending is fine: tungstenite finishes the write on the next poll.
                let _ = Pin::new(&mut self.ws).poll_flush(cx);
            }
        }
        Ok(())
    }

    fn alive(&mut self) {
        if let Some(ka) = &mut self.keepalive {
            ka.awaiting_since = None;
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for WsFrames<S> {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let Err(e) = self.poll_keepalive(cx) {
            self.done = true;
            return Poll::Ready(Some(Err(e)));
        }
        loop {
            let msg = match Pin::new(&mut self.ws).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    self.done = true;
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(Err(e))) => {
                    self.done = true;
                    return match e {
                        tungstenite::Error::ConnectionClosed
                        | tungstenite::Error::AlreadyClosed => Poll::Ready(None),
                        tungstenite::Error::Capacity(c) => {
                            Poll::Ready(Some(Err(capacity_error(c))))
                        }
                        tungstenite::Error::Utf8(e) => Poll::Ready(Some(Err(
                            TransportError::Decode(crate::protocol::DecodeError::Malformed {
                                format: "json",
                                reason: format!("a text frame that is not UTF-8: {e}"),
                            }),
                        ))),
                        other => Poll::Ready(Some(Err(ws_err(other)))),
                    };
                }
                Poll::Ready(Some(Ok(m))) => m,
            };
            self.alive();
            match msg {
                WsMessage::Text(text) => {
                    if self.serializer.is_binary() {
                        return Poll::Ready(Some(Err(TransportError::Framing(format!(
                            "text frame received, but {} uses binary frames",
                            self.serializer.subprotocol()
                        )))));
                    }
                    return Poll::Ready(Some(Ok(Bytes::from(text))));
                }
                WsMessage::Binary(data) => return Poll::Ready(Some(Ok(data))),
                WsMessage::Close(_) => {
                    // tungstenite answers the close; the stream ends after it.
                    self.peer_closed = true;
                    continue;
                }
                WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_) => continue,
            }
        }
    }
}

/// WebSocket opcodes of a final text and binary frame (RFC 6455, section 5.2).
const OPCODE_TEXT: u8 = 0x1;
const OPCODE_BINARY: u8 = 0x2;

/// The header of an unmasked, final data frame of `len` payload octets: its octets and how
/// many of them are used (2, 4 or 10).
fn frame_header(opcode: u8, len: usize) -> ([u8; 10], usize) {
    let mut h = [0u8; 10];
    h[0] = 0x80 | opcode;
    if len < 126 {
        h[1] = len as u8;
        (h, 2)
    } else if let Ok(short) = u16::try_from(len) {
        h[1] = 126;
        h[2..4].copy_from_slice(&short.to_be_bytes());
        (h, 4)
    } else {
        h[1] = 127;
        h[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        (h, 10)
    }
}

fn capacity_error(e: tungstenite::error::CapacityError) -> TransportError {
    match e {
        tungstenite::error::CapacityError::MessageTooLong { size, max_size } => {
            TransportError::MessageTooLarge {
                size,
                max: max_size,
            }
        }
        other => TransportError::WebSocket(other.to_string()),
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Bytes> for WsFrames<S> {
    type Error = TransportError;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.direct {
            return self.ws.get_mut().poll_room(cx).map_err(TransportError::Io);
        }
        Pin::new(&mut self.ws).poll_ready(cx).map_err(ws_err)
    }

    fn start_send(mut self: Pin<&mut Self>, frame: Bytes) -> Result<(), Self::Error> {
        if self.direct {
            if self.peer_closed || self.close.is_none() {
                return Err(TransportError::Closed);
            }
            let opcode = if self.serializer.is_binary() {
                OPCODE_BINARY
            } else {
                std::str::from_utf8(&frame).map_err(|e| {
                    TransportError::Framing(format!("JSON message is not UTF-8: {e}"))
                })?;
                OPCODE_TEXT
            };
            let (header, len) = frame_header(opcode, frame.len());
            self.ws.get_mut().queue(&[&header[..len], &frame]);
            return Ok(());
        }
        let msg = if self.serializer.is_binary() {
            WsMessage::Binary(frame)
        } else {
            let text = tungstenite::Utf8Bytes::try_from(frame)
                .map_err(|e| TransportError::Framing(format!("JSON message is not UTF-8: {e}")))?;
            WsMessage::Text(text)
        };
        Pin::new(&mut self.ws).start_send(msg).map_err(ws_err)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.ws).poll_flush(cx).map_err(ws_err)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // tokio-tungstenite's own close sends a frame without a status code: queue ours
        // first (tungstenite sends one close frame, whichever comes first).
        if let Some(reason) = self.close {
            match Pin::new(&mut self.ws).poll_ready(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(())) => {
                    self.close = None;
                    let frame = CloseFrame {
                        code: CloseCode::from(reason.websocket_code()),
                        reason: reason.text().into(),
                    };
                    // Already closed (by the peer, or a dead socket): nothing to say.
                    let _ = Pin::new(&mut self.ws).start_send(WsMessage::Close(Some(frame)));
                }
                Poll::Ready(Err(_)) => self.close = None,
            }
        }
        match Pin::new(&mut self.ws).poll_close(cx) {
            Poll::Ready(Err(
                tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed,
            )) => Poll::Ready(Ok(())),
            other => other.map_err(ws_err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tungstenite::protocol::frame::{coding::Data, coding::OpCode, Frame};

    /// Our data frame headers are the ones tungstenite writes, for every length encoding.
    #[test]
    fn frame_headers_match_tungstenite() {
        for len in [0usize, 1, 125, 126, 127, 65_535, 65_536, 1 << 20] {
            for (opcode, data) in [(OPCODE_TEXT, Data::Text), (OPCODE_BINARY, Data::Binary)] {
                let payload = vec![b'a'; len];
                let frame = Frame::message(payload.clone(), OpCode::Data(data), true);
                let mut theirs = Vec::new();
                frame.format(&mut theirs).expect("format");
                let (header, n) = frame_header(opcode, len);
                let mut ours = header[..n].to_vec();
                ours.extend_from_slice(&payload);
                assert_eq!(ours, theirs, "length {len}");
            }
        }
    }
}
