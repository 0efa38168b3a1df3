//! What the foundation does today: one message in three serializers, a typed payload read
//! back without a detour through dynamic values, and messages over a real loopback
//! WebSocket and RawSocket (server and client halves both ours).
//!
//! `cargo run -p wamp-examples --example wire`

use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use wamp::protocol::{Call, CallOptions, Id, Message, Payload, Uri};
use wamp::transport::rawsocket::{self, RawSocketConfig};
use wamp::transport::websocket::{self, WebSocketConfig};
use wamp::transport::{connect, ClientTransportConfig, Transport, TransportError, TransportKind};
use wamp::Serializer;

#[derive(Serialize, Deserialize, Debug)]
struct Order {
    item: String,
    quantity: u32,
    gift_wrap: bool,
}

fn order_call(serializer: Serializer) -> Result<Message, Box<dyn std::error::Error>> {
    let order = Order {
        item: "teapot".into(),
        quantity: 2,
        gift_wrap: true,
    };
    let payload = Payload::encode_args(serializer, &("customer-17",))?
        .with_encoded_kwargs(serializer, &order)?;
    Ok(Call {
        request: Id::MIN,
        options: CallOptions::new().with_timeout(5_000),
        procedure: Uri::new("com.shop.place_order")?,
        payload,
    }
    .into())
}

fn show(bytes: &[u8], binary: bool) -> String {
    if binary {
        bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    }
}

/// Sends the first message received back to its sender.
async fn echo_one(mut t: Transport) -> Result<(), TransportError> {
    if let Some(msg) = t.next().await {
        let msg = msg?;
        let ser = t.info().serializer.map(|s| s.name()).unwrap_or("-");
        println!(
            "   server ({:?}, {ser}) got {}",
            t.info().kind,
            msg.message_type()
        );
        t.send(msg).await?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("== one CALL, three serializers");
    for ser in Serializer::ALL {
        let bytes = ser.encode(&order_call(ser)?)?;
        println!(
            "{:>8} ({:>3} bytes): {}",
            ser.name(),
            bytes.len(),
            show(&bytes, ser.is_binary())
        );
        let Message::Call(call) = ser.decode(bytes.into())? else {
            unreachable!("we encoded a CALL")
        };
        let (customer,): (String,) = call.payload.args()?;
        let order: Order = call.payload.kwargs()?;
        println!("          read back typed: customer={customer} order={order:?}");
    }

    println!("\n== a bad frame gives a located error, not a panic");
    let bad = br#"[48, 1, {"timeout": "soon"}, "com.shop.place_order"]"#;
    println!(
        "   {}",
        Serializer::Json
            .decode(bad.to_vec().into())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    );

    println!("\n== over loopback sockets");
    let ws_listener = TcpListener::bind("127.0.0.1:0").await?;
    let rs_listener = TcpListener::bind("127.0.0.1:0").await?;
    let ws_url = format!("ws://{}/ws", ws_listener.local_addr()?);
    let rs_url = format!("tcp://{}", rs_listener.local_addr()?);
    let server = tokio::spawn(async move {
        let (ws, peer) = ws_listener.accept().await?;
        let ws = websocket::accept(
            ws,
            &Serializer::ALL,
            &WebSocketConfig::default(),
            TransportKind::WebSocket,
            Some(peer),
        )
        .await?;
        echo_one(ws).await?;
        let (rs, peer) = rs_listener.accept().await?;
        let rs = rawsocket::accept(
            rs,
            &Serializer::ALL,
            &RawSocketConfig::default(),
            TransportKind::RawSocket,
            Some(peer),
        )
        .await?;
        echo_one(rs).await
    });
    for (url, ser) in [(&ws_url, Serializer::MsgPack), (&rs_url, Serializer::Cbor)] {
        let config = ClientTransportConfig {
            serializers: vec![ser],
            ..Default::default()
        };
        let mut client = connect(url, &config).await?;
        client.send(order_call(ser)?).await?;
        let echoed = client.next().await.ok_or("connection closed")??;
        println!(
            "   client {url} echoed back {} intact: {}",
            echoed.message_type(),
            echoed == order_call(ser)?
        );
    }
    server.await??;
    println!("\nThe client session, the embedded router and typed contracts are not written yet (see README).");
    Ok(())
}
