//! The calculator contract written in Rust (`wamp_examples::code_first::calculator`, a
//! `#[wamp::contract]` module) against the same contract generated from its file
//! (`wamp_examples::calculator`): each side's client calls the other side's callee, and
//! the contract the Rust module exports generates the code the file generates.

use futures_util::StreamExt;
use wamp::router::{RealmConfig, Router};
use wamp::typed::{Context, Progressive, Service};
use wamp::Session;
use wamp_examples::code_first::calculator as rust;
use wamp_examples::{calculator as file, geo};

/// The callee written against the trait generated from the Rust module.
struct RustCalc;

impl rust::Calculator for RustCalc {
    async fn add(&self, _: Context, a: f64, b: f64) -> Result<f64, wamp::client::Error> {
        Ok(a + b)
    }
    async fn divide(
        &self,
        ctx: Context<rust::DivideProgress>,
        a: f64,
        b: f64,
        precision: u32,
    ) -> Result<f64, rust::DivideError> {
        if b == 0.0 {
            return Err(rust::DivideByZero { dividend: a }.into());
        }
        ctx.progress(&rust::DivideProgress { done: 1, total: 1 })?;
        let scale = 10f64.powi(i32::try_from(precision).unwrap_or(6));
        Ok((a / b * scale).round() / scale)
    }
    async fn sqrt(&self, _: Context, x: f64) -> Result<f64, rust::SqrtError> {
        if x < 0.0 {
            return Err(rust::NegativeInput { value: x }.into());
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
        let m = (a.x - b.x).hypot(a.y - b.y);
        Ok(if unit == geo::Unit::Km { m / 1000.0 } else { m })
    }
    async fn round(
        &self,
        _: Context,
        value: f64,
        _digits: u8,
        mode: rust::Rounding,
    ) -> Result<rust::RoundResult, wamp::client::Error> {
        Ok(rust::RoundResult {
            value: value.round(),
            mode,
        })
    }
}

/// The callee written against the trait generated from the file.
struct FileCalc;

impl file::Calculator for FileCalc {
    async fn add(&self, _: Context, a: f64, b: f64) -> Result<f64, wamp::client::Error> {
        Ok(a + b + 1000.0)
    }
    async fn divide(
        &self,
        _: Context<file::DivideProgress>,
        a: f64,
        b: f64,
        _precision: u32,
    ) -> Result<f64, file::DivideError> {
        if b == 0.0 {
            return Err(file::DivideByZero { dividend: a }.into());
        }
        Ok(a / b)
    }
    async fn sqrt(&self, _: Context, x: f64) -> Result<f64, file::SqrtError> {
        Ok(x.sqrt())
    }
    async fn distance(
        &self,
        _: Context,
        _: geo::Point,
        _: geo::Point,
        _: geo::Unit,
    ) -> Result<f64, wamp::client::Error> {
        Ok(0.0)
    }
    async fn round(
        &self,
        _: Context,
        value: f64,
        _digits: u8,
        mode: file::Rounding,
    ) -> Result<file::RoundResult, wamp::client::Error> {
        Ok(file::RoundResult { value, mode })
    }
}

async fn router() -> (Router, Session, Session) {
    let router = Router::builder()
        .realm(RealmConfig::new("realm1"))
        .start()
        .await
        .expect("router");
    let callee = Session::builder("memory")
        .connect_with(router.local_transport())
        .await
        .expect("callee");
    let caller = Session::builder("memory")
        .connect_with(router.local_transport())
        .await
        .expect("caller");
    (router, callee, caller)
}

#[tokio::test]
async fn a_client_generated_from_the_file_calls_the_service_defined_in_rust() {
    let (_router, callee, caller) = router().await;
    let service: Service = rust::serve(&callee, RustCalc).await.expect("serve");
    assert_eq!(service.registrations().len(), 5);
    let calc = file::CalculatorClient::new(caller);
    assert_eq!(calc.add(2.0, 3.5).await.expect("add"), 5.5);
    assert_eq!(
        calc.divide(1.0, 3.0).await.expect("default precision 6"),
        0.333333
    );
    assert_eq!(
        calc.divide(1.0, 3.0).precision(1).await.expect("divide"),
        0.3
    );
    match calc.divide(7.0, 0.0).await {
        Err(file::DivideError::DivideByZero(e)) => assert_eq!(e.dividend, 7.0),
        other => panic!("expected DivideByZero, got {other:?}"),
    }
    match calc.sqrt(-4.0).await {
        Err(file::SqrtError::NegativeInput(e)) => assert_eq!(e.value, -4.0),
        other => panic!("expected NegativeInput, got {other:?}"),
    }
    let items: Vec<_> = calc.divide(1.0, 4.0).progressive().collect().await;
    let items: Vec<_> = items.into_iter().map(|i| i.expect("item")).collect();
    assert_eq!(
        items,
        vec![
            Progressive::Progress(file::DivideProgress { done: 1, total: 1 }),
            Progressive::Final(0.25),
        ]
    );
    let r = calc
        .round(2.5)
        .mode(file::Rounding::Floor)
        .await
        .expect("round");
    assert_eq!((r.value, r.mode), (3.0, file::Rounding::Floor));
}

#[tokio::test]
async fn a_client_generated_from_rust_calls_the_service_defined_by_the_file() {
    let (_router, callee, caller) = router().await;
    let _service = file::serve(&callee, FileCalc).await.expect("serve");
    let calc = rust::CalculatorClient::new(caller);
    assert_eq!(calc.add(1.0, 2.0).await.expect("add"), 1003.0);
    match calc.divide(7.0, 0.0).await {
        Err(rust::DivideError::DivideByZero(e)) => assert_eq!(e.dividend, 7.0),
        other => panic!("expected DivideByZero, got {other:?}"),
    }
    let r = calc.round(1.25).await.expect("round");
    assert_eq!((r.value, r.mode), (1.25, rust::Rounding::HalfEven));
    let d = calc
        .distance(
            geo::Point {
                x: 0.0,
                y: 0.0,
                label: None,
            },
            geo::Point {
                x: 1.0,
                y: 1.0,
                label: None,
            },
        )
        .await
        .expect("distance");
    assert_eq!(d, 0.0);
}

#[test]
fn the_exported_contract_generates_the_code_of_the_file() {
    let files = wamp_examples::code_first::calculator_contract();
    let names: Vec<&str> = files.iter().map(|f| f.0).collect();
    assert_eq!(names, ["calculator.wamp.toml", "geo.wamp.toml"]);
    let dir = std::env::temp_dir().join(format!("wamp-code-first-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("write");
    }
    let exported = wamp_codegen::configure()
        .generate(&[dir.join("calculator.wamp.toml")])
        .expect("the exported contract is valid");
    let _ = std::fs::remove_dir_all(&dir);
    let original = wamp_codegen::configure()
        .generate(&[concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../schemas/calculator.wamp.toml"
        )])
        .expect("valid");
    // Everything but the header (which names the files read) is the same, geo included.
    let body = |s: &str| s.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert!(body(&exported) == body(&original));
}

#[tokio::test]
async fn events_published_from_one_definition_reach_subscribers_of_the_other() {
    use wamp_examples::code_first_telemetry::telemetry as rust_tm;
    use wamp_examples::telemetry as file_tm;
    let (_router, a, b) = router().await;
    let mut from_file = file_tm::TelemetryClient::new(a.clone())
        .subscribe_telemetry()
        .await
        .expect("subscribe");
    let mut from_rust = rust_tm::TelemetryClient::new(a)
        .subscribe_chat()
        .await
        .expect("subscribe");
    rust_tm::TelemetryClient::new(b.clone())
        .publish_telemetry(&rust_tm::TelemetryEvent {
            device: "pump_7".into(),
            metric: rust_tm::Metric::Cpu,
            value: 0.5,
            ts_ms: 1,
            unit: None,
        })
        .acknowledge(true)
        .await
        .expect("publish");
    file_tm::TelemetryClient::new(b)
        .publish_chat(&file_tm::ChatEvent {
            room: "lobby".into(),
            author: "ada".into(),
            text: "hi".into(),
            sent_ms: 2,
        })
        .acknowledge(true)
        .await
        .expect("publish");
    let got = from_file.next().await.expect("an event").expect("typed");
    assert_eq!(
        (got.device.as_str(), got.metric, got.value),
        ("pump_7", file_tm::Metric::Cpu, 0.5)
    );
    let got = from_rust.next().await.expect("an event").expect("typed");
    assert_eq!((got.room.as_str(), got.text.as_str()), ("lobby", "hi"));
}
