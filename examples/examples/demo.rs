//! The main demo, typed: code generated from `schemas/calculator.wamp.toml` and
//! `schemas/telemetry.wamp.toml` (by this crate's `build.rs`) serves and calls a
//! calculator through the embedded router, and streams typed telemetry events.
//!
//! It shows a typed call, a typed application error, progressive results (one call
//! canceled by dropping its stream, one run to the end), and typed events from a pattern
//! subscription whose captures come back as typed fields.
//!
//! `cargo run -p wamp-examples --example demo`

use std::time::Duration;

use futures_util::StreamExt;
use wamp::router::{RealmConfig, Router};
use wamp::typed::{Context, Progressive};
use wamp::{Serializer, Session};
use wamp_examples::calculator::{self, DivideByZero, DivideError, DivideProgress, NegativeInput};
use wamp_examples::geo;
use wamp_examples::telemetry::{Metric, TelemetryClient, TelemetryEvent};

/// The callee: implements the trait generated from the contract.
struct Calculator;

/// Prints when a handler's future is dropped before it finished: what the caller's
/// cancellation (INTERRUPT) does to a running invocation.
struct ReportInterrupt(&'static str, bool);

impl Drop for ReportInterrupt {
    fn drop(&mut self) {
        if !self.1 {
            println!("   (callee: {} was interrupted)", self.0);
        }
    }
}

impl calculator::Calculator for Calculator {
    async fn add(&self, _: Context, a: f64, b: f64) -> Result<f64, wamp::client::Error> {
        Ok(a + b)
    }

    async fn divide(
        &self,
        ctx: Context<DivideProgress>,
        a: f64,
        b: f64,
        precision: u32,
    ) -> Result<f64, DivideError> {
        if b == 0.0 {
            return Err(DivideByZero { dividend: a }.into());
        }
        if ctx.wants_progress() {
            // Pretend the division is long, and say how far it got.
            let mut guard = ReportInterrupt("divide", false);
            let total = 4;
            for done in 1..=total {
                tokio::time::sleep(Duration::from_millis(150)).await;
                ctx.send_progress(&DivideProgress { done, total }).await?;
            }
            guard.1 = true;
        }
        let scale = 10f64.powi(i32::try_from(precision).unwrap_or(6));
        Ok((a / b * scale).round() / scale)
    }

    async fn sqrt(&self, _: Context, x: f64) -> Result<f64, calculator::SqrtError> {
        if x < 0.0 {
            return Err(NegativeInput { value: x }.into());
        }
        Ok(x.sqrt())
    }

    async fn distance(
        &self,
        _: Context,
        a: geo::Point,
        b: geo::Point,
        unit: geo::Unit,
    ) -> Result<f64, wamp::client::Error> {
        let meters = (a.x - b.x).hypot(a.y - b.y);
        Ok(match unit {
            geo::Unit::M => meters,
            geo::Unit::Km => meters / 1000.0,
            geo::Unit::Mi => meters / 1609.344,
        })
    }

    async fn round(
        &self,
        _: Context,
        value: f64,
        digits: u8,
        mode: calculator::Rounding,
    ) -> Result<calculator::RoundResult, wamp::client::Error> {
        let scale = 10f64.powi(i32::from(digits));
        let scaled = value * scale;
        let rounded = match mode {
            calculator::Rounding::HalfEven => scaled.round_ties_even(),
            calculator::Rounding::HalfUp => scaled.round(),
            calculator::Rounding::Down => scaled.trunc(),
            calculator::Rounding::Floor => scaled.floor(),
            calculator::Rounding::Ceil => scaled.ceil(),
        };
        Ok(calculator::RoundResult {
            value: rounded / scale,
            mode,
        })
    }
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

    // The callee joins in-process and serves the generated trait.
    let callee = Session::builder("memory")
        .connect_with(router.local_transport())
        .await?;
    let _service = calculator::serve(&callee, Calculator).await?;
    println!(
        "callee joined in-process (session {}) and serves contract {} {}",
        callee.id(),
        calculator::CONTRACT,
        calculator::VERSION
    );

    // The caller talks over a real WebSocket through the generated client.
    let session = Session::builder(&ws_url)
        .serializer(Serializer::MsgPack)
        .connect()
        .await?;
    let calc = calculator::CalculatorClient::new(session.clone());
    println!(
        "caller joined over WebSocket with MessagePack (session {})\n",
        session.id()
    );

    println!("-- a typed call");
    let sum: f64 = calc.add(2.0, 3.5).await?;
    println!("   add(2, 3.5) -> {sum}");
    let q = calc.divide(10.0, 3.0).precision(2).await?;
    println!("   divide(10, 3).precision(2) -> {q}");
    let d = calc
        .distance(
            geo::Point {
                x: 0.0,
                y: 0.0,
                label: None,
            },
            geo::Point {
                x: 3000.0,
                y: 4000.0,
                label: Some("b".into()),
            },
        )
        .unit(geo::Unit::Km)
        .await?;
    println!("   distance((0,0), (3000,4000)).unit(km) -> {d}");

    println!("-- a typed error");
    match calc.divide(1.0, 0.0).await {
        Err(DivideError::DivideByZero(e)) => {
            println!(
                "   divide(1, 0) -> DivideByZero {{ dividend: {} }}",
                e.dividend
            )
        }
        other => println!("   unexpected: {other:?}"),
    }
    match calc.sqrt(-4.0).await {
        Err(calculator::SqrtError::NegativeInput(e)) => {
            println!("   sqrt(-4) -> NegativeInput {{ value: {} }}", e.value)
        }
        other => println!("   unexpected: {other:?}"),
    }

    println!("-- progressive results, canceled after two");
    let mut stream = calc.divide(1.0, 4.0).progressive();
    for _ in 0..2 {
        if let Some(Ok(Progressive::Progress(p))) = stream.next().await {
            println!("   progress {}/{}", p.done, p.total);
        }
    }
    drop(stream); // dropping the stream cancels the call (mode `kill`)
    println!("   stream dropped by the caller");
    tokio::time::sleep(Duration::from_millis(100)).await;

    println!("-- progressive results to the end");
    let mut stream = calc.divide(1.0, 4.0).progressive();
    while let Some(item) = stream.next().await {
        match item? {
            Progressive::Progress(p) => println!("   progress {}/{}", p.done, p.total),
            Progressive::Final(q) => println!("   final    {q}"),
        }
    }

    println!("-- typed events from a pattern subscription");
    let telemetry = TelemetryClient::new(session.clone());
    let listener = TelemetryClient::new(callee.clone());
    let mut events = listener.subscribe_telemetry().await?;
    for (device, metric, value) in [
        ("pump-1", Metric::Temperature, 71.5),
        ("pump-2", Metric::Other("vibration".into()), 0.02),
    ] {
        telemetry
            .publish_telemetry(&TelemetryEvent {
                device: device.into(),
                metric,
                value,
                ts_ms: 1_700_000_000_000,
                unit: None,
            })
            .acknowledge(true)
            .await?;
    }
    for _ in 0..2 {
        if let Some(event) = events.next().await {
            let e = event?;
            println!(
                "   {} {} = {} (metric {:?})",
                e.device, e.metric, e.value, e.metric
            );
        }
    }

    session.leave().await?;
    callee.leave().await?;
    router.shutdown(Duration::from_secs(2)).await;
    println!("\ndone: both sessions left, router shut down");
    Ok(())
}
