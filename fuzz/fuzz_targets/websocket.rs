//! The WebSocket server path (opening handshake, frames, control frames, close) over an
//! in-memory stream.
//!
//! Input: a selector byte, then bytes from the client. Selector bits 0-1: 0 = the input is
//! everything the client sends (HTTP request included); 1-3 = a valid opening request
//! offering wamp.2.json / msgpack / cbor comes first, and the input is the frames after
//! it. Bit 2: a small message size limit (512 bytes). Every message that arrives is sent
//! back (the writer's path).
//!
//! Invariants: no panic; once the client's bytes end, the transport ends too (no hang).
#![no_main]

use futures_util::{SinkExt, StreamExt};
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wamp::transport::websocket::{self, WebSocketConfig};
use wamp::transport::TransportKind;
use wamp::Serializer;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let mut bytes = Vec::new();
    if selector & 3 != 0 {
        let ser = wamp_fuzz::serializer((selector & 3) - 1);
        bytes.extend_from_slice(
            format!(
                "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                 Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {}\r\n\r\n",
                ser.subprotocol()
            )
            .as_bytes(),
        );
    }
    bytes.extend_from_slice(input);
    let config = WebSocketConfig {
        max_message_size: if selector & 4 != 0 {
            512
        } else {
            16 * 1024 * 1024
        },
        path: Some("/ws".into()),
        ..Default::default()
    };
    wamp_fuzz::runtime().block_on(async move {
        let (ours, theirs) = tokio::io::duplex(64 * 1024);
        let (mut peer_read, mut peer_write) = tokio::io::split(theirs);
        tokio::spawn(async move {
            let _ = peer_write.write_all(&bytes).await;
            let _ = peer_write.shutdown().await;
        });
        tokio::spawn(async move {
            let mut sink = [0u8; 4096];
            while matches!(peer_read.read(&mut sink).await, Ok(n) if n > 0) {}
        });
        let run = async {
            let Ok(mut transport) = websocket::accept(
                ours,
                &Serializer::ALL,
                &config,
                TransportKind::WebSocket,
                None,
            )
            .await
            else {
                return;
            };
            while let Some(Ok(msg)) = transport.next().await {
                if transport.send(msg).await.is_err() {
                    break;
                }
            }
        };
        tokio::time::timeout(wamp_fuzz::HANG, run)
            .await
            .expect("the transport ends once the client's bytes do");
    });
});
