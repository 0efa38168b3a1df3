//! RawSocket handshake and framing over an in-memory stream, both halves.
//!
//! Input: a selector byte, then everything the peer sends. Selector bits: 0 = which half
//! (router side `accept`, client side `connect`), 1-2 = serializer (client side), 3 = a
//! small message size limit (512 bytes) instead of the default, 4 = keepalive PINGs.
//! Every message that arrives is sent back (the writer's path).
//!
//! Invariants: no panic; once the peer's bytes end, the transport ends too (no hang).
#![no_main]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wamp::transport::rawsocket::{self, RawSocketConfig};
use wamp::transport::TransportKind;
use wamp::Serializer;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let input = input.to_vec();
    let config = RawSocketConfig {
        max_message_size: if selector & 8 != 0 {
            512
        } else {
            16 * 1024 * 1024
        },
        ping_interval: (selector & 16 != 0).then(|| Duration::from_secs(1)),
        ping_timeout: Duration::from_secs(2),
    };
    wamp_fuzz::runtime().block_on(async move {
        let (ours, theirs) = tokio::io::duplex(64 * 1024);
        let (mut peer_read, mut peer_write) = tokio::io::split(theirs);
        // The peer: sends its bytes, then closes its half; reads whatever comes back.
        tokio::spawn(async move {
            let _ = peer_write.write_all(&input).await;
            let _ = peer_write.shutdown().await;
        });
        tokio::spawn(async move {
            let mut sink = [0u8; 4096];
            while matches!(peer_read.read(&mut sink).await, Ok(n) if n > 0) {}
        });
        let run = async {
            let opened = if selector & 1 == 0 {
                rawsocket::accept(
                    ours,
                    &Serializer::ALL,
                    &config,
                    TransportKind::RawSocket,
                    None,
                )
                .await
            } else {
                let ser = wamp_fuzz::serializer(selector >> 1);
                rawsocket::connect(ours, ser, &config, TransportKind::RawSocket, None).await
            };
            let Ok(mut transport) = opened else { return };
            while let Some(Ok(msg)) = transport.next().await {
                if transport.send(msg).await.is_err() {
                    break;
                }
            }
        };
        tokio::time::timeout(wamp_fuzz::HANG, run)
            .await
            .expect("the transport ends once the peer's bytes do");
    });
});
