//! A typed call (the code generated from `schemas/calculator.wamp.toml`) against the same
//! call written by hand with the untyped client, through the embedded router over a real
//! WebSocket (MessagePack): process CPU per call (router, callee and caller are all in
//! this process, as in the demo), sequential and with 64 calls in flight. Rounds of the
//! two alternate, and the table shows the median of each.
//!
//! `cargo bench -p wamp-examples --bench typed_call [-- CALLS ROUNDS]`

#![allow(missing_docs)]

use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use wamp::router::{RealmConfig, Router};
use wamp::{Serializer, Session};
use wamp_examples::calculator::{self, CalculatorClient};
use wamp_examples::fixtures::Calculator;

fn cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Typed,
    Untyped,
}

/// One round: `calls` calls, `in_flight` at a time; CPU per call.
async fn round(
    kind: Kind,
    client: &CalculatorClient,
    session: &Session,
    calls: usize,
    in_flight: usize,
) -> Duration {
    let one = |i: usize| {
        let client = client.clone();
        let session = session.clone();
        async move {
            let a = i as f64;
            match kind {
                Kind::Typed => client.add(a, 1.0).await.expect("typed add"),
                Kind::Untyped => {
                    session
                        .call("com.example.calc.add_untyped")
                        .args(&(a, 1.0))
                        .await
                        .expect("untyped add")
                        .args::<(f64,)>()
                        .expect("one f64")
                        .0
                }
            }
        }
    };
    let start = cpu();
    let mut pending = FuturesUnordered::new();
    let mut next = 0;
    while next < calls || !pending.is_empty() {
        while next < calls && pending.len() < in_flight {
            pending.push(one(next));
            next += 1;
        }
        if let Some(sum) = pending.next().await {
            assert!(sum >= 1.0);
        }
    }
    (cpu() - start) / u32::try_from(calls).unwrap_or(u32::MAX)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let calls = args.first().copied().unwrap_or(20_000);
    let rounds = args.get(1).copied().unwrap_or(7);

    let router = Router::builder()
        .realm(RealmConfig::new("realm1"))
        .websocket("127.0.0.1:0".parse()?)
        .start()
        .await?;
    let url = router.listeners()[0].url();
    // The callees: the generated one, and one written by hand (another realm would need
    // another router; a second URI is enough).
    let callee = Session::builder(&url)
        .serializer(Serializer::MsgPack)
        .connect()
        .await?;
    let _service = calculator::serve(&callee, Calculator).await?;
    let _untyped = callee
        .register("com.example.calc.add_untyped", |inv| async move {
            let (a, b): (f64, f64) = inv.args()?;
            inv.result(&(a + b,))
        })
        .await?;
    let caller = Session::builder(&url)
        .serializer(Serializer::MsgPack)
        .connect()
        .await?;
    let client = CalculatorClient::new(caller.clone());

    println!("typed vs untyped add(a, b) through the embedded router, WebSocket + MessagePack");
    println!("{calls} calls per round, {rounds} rounds each, process CPU per call (median)\n");
    println!("| in flight | typed (µs) | untyped (µs) | typed / untyped |");
    println!("|---:|---:|---:|---:|");
    for in_flight in [1, 64] {
        let mut typed = Vec::new();
        let mut untyped = Vec::new();
        // Warm-up.
        round(Kind::Typed, &client, &caller, calls / 10, in_flight).await;
        round(Kind::Untyped, &client, &caller, calls / 10, in_flight).await;
        for _ in 0..rounds {
            typed.push(round(Kind::Typed, &client, &caller, calls, in_flight).await);
            untyped.push(round(Kind::Untyped, &client, &caller, calls, in_flight).await);
        }
        let (t, u) = (median(typed), median(untyped));
        println!(
            "| {in_flight} | {:.2} | {:.2} | {:.3} |",
            t.as_secs_f64() * 1e6,
            u.as_secs_f64() * 1e6,
            t.as_secs_f64() / u.as_secs_f64()
        );
    }
    caller.leave().await?;
    callee.leave().await?;
    router.shutdown(Duration::from_secs(2)).await;
    Ok(())
}
