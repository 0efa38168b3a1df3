//! The main demo: an embedded router, a callee and a caller in-process, plus a session
//! over a real WebSocket; RPC with arguments, an application error, progressive results,
//! a canceled call, and pub/sub with a pattern subscription.
//!
//! `cargo run -p wamp-examples --example untyped` (the typed quickstart is `--example demo`)

use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use wamp::client::{Invocation, Progressive, WampError};
use wamp::protocol::{MatchPolicy, Payload, Uri};
use wamp::router::{RealmConfig, Router};
use wamp::{Dict, Serializer, Session};

#[derive(Serialize, Deserialize, Debug)]
struct Order {
    item: String,
    quantity: u32,
}

async fn place_order(inv: Invocation) -> Result<Payload, WampError> {
    let order: Order = inv.kwargs().map_err(|e| {
        WampError::with_payload(
            Uri::from_static("wamp.error.invalid_argument"),
            Payload::from_values(vec![e.to_string().into()], Dict::new()),
        )
    })?;
    if order.quantity == 0 {
        let mut kw = Dict::new();
        kw.insert("item".into(), order.item.clone().into());
        return Err(WampError::with_payload(
            Uri::from_static("com.shop.error.empty_order"),
            Payload::from_values(vec!["nothing to order".into()], kw),
        ));
    }
    inv.result(&(format!("{} x {} confirmed", order.quantity, order.item),))
}

async fn count_down(inv: Invocation) -> Result<Payload, WampError> {
    let (from,): (u32,) = inv
        .args()
        .map_err(|_| WampError::new(Uri::from_static("wamp.error.invalid_argument")))?;
    for n in (1..=from).rev() {
        inv.progress(inv.result(&(n,))?);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    inv.result(&("liftoff",))
}

/// Prints when the handler's future is dropped before it finished: that is what an
/// INTERRUPT does to a running invocation.
struct ReportInterrupt(bool);

impl Drop for ReportInterrupt {
    fn drop(&mut self) {
        if !self.0 {
            println!("   (callee: very_slow was interrupted)");
        }
    }
}

async fn very_slow(inv: Invocation) -> Result<Payload, WampError> {
    let mut guard = ReportInterrupt(false);
    tokio::time::sleep(Duration::from_secs(60)).await;
    guard.0 = true;
    inv.result(&("too late",))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let router = Router::builder()
        .realm(RealmConfig::new("realm1"))
        .websocket("127.0.0.1:0".parse()?)
        .start()
        .await?;
    let ws_url = router.listeners()[0].url();
    println!("router: realm1, WebSocket listening at {ws_url}");

    let callee = Session::builder("memory")
        .connect_with(router.local_transport())
        .await?;
    println!("callee joined in-process (session {})", callee.id());
    let _orders = callee.register("com.shop.place_order", place_order).await?;
    let _countdown = callee.register("com.shop.count_down", count_down).await?;
    let _slow = callee.register("com.shop.very_slow", very_slow).await?;

    let caller = Session::builder(&ws_url)
        .serializer(Serializer::MsgPack)
        .connect()
        .await?;
    println!(
        "caller joined over WebSocket with MessagePack (session {})\n",
        caller.id()
    );

    println!("-- RPC with arguments");
    let order = Order {
        item: "teapot".into(),
        quantity: 2,
    };
    let reply = caller.call("com.shop.place_order").kwargs(&order).await?;
    println!(
        "   place_order({order:?}) -> {:?}",
        reply.args::<(String,)>()?.0
    );

    println!("-- an application error");
    let empty = Order {
        item: "teapot".into(),
        quantity: 0,
    };
    match caller.call("com.shop.place_order").kwargs(&empty).await {
        Err(e) => println!("   place_order(quantity 0) failed: {e}"),
        Ok(r) => println!("   unexpected success: {r:?}"),
    }

    println!("-- progressive results");
    let mut results = caller.call("com.shop.count_down").args(&(3,)).progressive();
    while let Some(item) = results.next().await {
        let (label, r) = match item? {
            Progressive::Progress(r) => ("progress:", r),
            Progressive::Final(r) => ("final:   ", r),
        };
        let value = r
            .payload
            .args_values()?
            .into_iter()
            .next()
            .unwrap_or_default();
        println!("   {label} {}", serde_json_compact(&value));
    }

    println!("-- a canceled call");
    let call = tokio::spawn({
        let caller = caller.clone();
        async move { caller.call("com.shop.very_slow").await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    println!("   very_slow() dropped by the caller after 200 ms");
    call.abort(); // dropping the call future sends CANCEL
    tokio::time::sleep(Duration::from_millis(100)).await;
    match caller
        .call("com.shop.very_slow")
        .timeout(Duration::from_millis(300))
        .await
    {
        Err(e) => println!("   very_slow() with a 300 ms deadline: {e}"),
        Ok(r) => println!("   unexpected success: {r:?}"),
    }
    tokio::time::sleep(Duration::from_millis(100)).await;

    println!("-- pub/sub with a pattern subscription");
    let mut events = callee
        .subscribe("com.shop.")
        .match_policy(MatchPolicy::Prefix)
        .await?;
    for (topic, what) in [
        ("com.shop.order.created", "teapot"),
        ("com.shop.stock.low", "cups"),
    ] {
        caller
            .publish(topic)
            .args(&(what,))
            .acknowledge(true)
            .await?;
    }
    for _ in 0..2 {
        if let Some(event) = events.next().await {
            let event = event?;
            println!(
                "   event on {} (via prefix com.shop.): {:?}",
                event.topic,
                event.args::<(String,)>()?.0
            );
        }
    }

    caller.leave().await?;
    callee.leave().await?;
    router.shutdown(Duration::from_secs(2)).await;
    println!("\ndone: both sessions left, router shut down");
    Ok(())
}

fn serde_json_compact(v: &wamp::Value) -> String {
    match v {
        wamp::Value::String(s) => format!("{s:?}"),
        wamp::Value::Integer(i) => i.to_string(),
        other => format!("{other:?}"),
    }
}
