//! A contract is the only thing two teams share: Autobahn|Python implements and calls the
//! calculator and telemetry contracts by hand (tests/python/contract_peer.py), our side
//! uses the code generated from the same files, and they meet on Crossbar.io. Each
//! direction, with the serializers differing between the two sides.

use std::process::Stdio;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use wamp::typed::Progressive;
use wamp::{Serializer, Session};
use wamp_examples::calculator::{
    self, CalculatorClient, DivideByZero, DivideError, DivideProgress, NegativeInput, SqrtError,
};
use wamp_examples::fixtures::Calculator;
use wamp_examples::telemetry::{Metric, TelemetryClient};
use wamp_tests::{autobahn_python, crossbar, workspace_root};

const STEP: Duration = Duration::from_secs(15);

/// The Python peer, with its JSON lines.
struct Peer {
    child: Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl Peer {
    fn start(mode: &str, serializer: &str) -> Peer {
        let mut child = Command::new(autobahn_python())
            .arg(workspace_root().join("tests/python/contract_peer.py"))
            .args([mode, &crossbar().ws, serializer])
            .env("XBAR_REALM", crossbar().realm)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start contract_peer.py");
        let stdout = child.stdout.take().expect("stdout");
        Peer {
            child,
            lines: BufReader::new(stdout).lines(),
        }
    }

    /// The next line with `key`, as JSON.
    async fn expect(&mut self, key: &str) -> serde_json::Value {
        loop {
            let line = tokio::time::timeout(STEP, self.lines.next_line())
                .await
                .unwrap_or_else(|_| panic!("no `{key}` from the Python peer in time"))
                .expect("read")
                .unwrap_or_else(|| panic!("the Python peer exited before `{key}`"));
            let v: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
            if v["key"] == key {
                assert!(
                    v.get("error").is_none(),
                    "{key} failed on the Python side: {v}"
                );
                return v;
            }
        }
    }

    async fn stop(mut self) {
        drop(self.child.stdin.take());
        let _ = tokio::time::timeout(STEP, self.child.wait()).await;
    }
}

async fn join(serializer: Serializer) -> Session {
    let xb = crossbar();
    Session::builder(&xb.ws)
        .realm(&xb.realm)
        .serializer(serializer)
        .connect()
        .await
        .expect("join Crossbar.io")
}

/// Python serves the calculator; our generated client calls it.
async fn python_serves(ours: Serializer, theirs: &str) {
    let mut peer = Peer::start("callee", theirs);
    peer.expect("ready").await;
    let session = join(ours).await;
    let calc = CalculatorClient::new(session.clone());

    assert_eq!(calc.add(2.0, 3.5).await.expect("add"), 5.5);
    assert_eq!(calc.divide(10.0, 4.0).await.expect("divide"), 2.5);
    assert_eq!(
        calc.divide(1.0, 3.0).precision(2).await.expect("divide"),
        0.33
    );
    match calc.divide(7.0, 0.0).await {
        Err(DivideError::DivideByZero(DivideByZero { dividend })) => assert_eq!(dividend, 7.0),
        other => panic!("expected DivideByZero from Python, got {other:?}"),
    }
    match calc.sqrt(-4.0).await {
        Err(SqrtError::NegativeInput(NegativeInput { value })) => assert_eq!(value, -4.0),
        other => panic!("expected NegativeInput from Python, got {other:?}"),
    }
    let items: Vec<_> = calc.divide(1.0, 4.0).progressive().collect().await;
    let items: Vec<_> = items
        .into_iter()
        .map(|i| i.expect("progress item"))
        .collect();
    assert_eq!(
        items,
        vec![
            Progressive::Progress(DivideProgress { done: 1, total: 3 }),
            Progressive::Progress(DivideProgress { done: 2, total: 3 }),
            Progressive::Progress(DivideProgress { done: 3, total: 3 }),
            Progressive::Final(0.25),
        ]
    );

    // A typed event with captures reaches the hand-written subscriber.
    let telemetry = TelemetryClient::new(session.clone());
    telemetry
        .publish_telemetry(&wamp_examples::telemetry::TelemetryEvent {
            device: "pump-1".into(),
            metric: Metric::Temperature,
            value: 71.5,
            ts_ms: 1_700_000_000_000,
            unit: Some("C".into()),
        })
        .acknowledge(true)
        .await
        .expect("publish");
    let event = peer.expect("event").await;
    assert_eq!(event["topic"], "com.example.telemetry.pump-1.temperature");
    assert_eq!(event["value"], 71.5);
    assert_eq!(event["unit"], "C");

    session.leave().await.expect("leave");
    peer.stop().await;
}

/// We serve the calculator from the generated trait; Python calls it by hand.
async fn rust_serves(ours: Serializer, theirs: &str) {
    let session = join(ours).await;
    let service = calculator::serve(&session, Calculator)
        .await
        .expect("serve");
    let telemetry = TelemetryClient::new(session.clone());
    let mut events = telemetry.subscribe_telemetry().await.expect("subscribe");

    let mut peer = Peer::start("caller", theirs);
    peer.expect("ready").await;
    let add = peer.expect("add").await;
    assert_eq!(add["args"], serde_json::json!([5.5]));
    let divide = peer.expect("divide").await;
    assert_eq!(divide["args"], serde_json::json!([2.5]));
    let precision = peer.expect("divide-precision").await;
    assert_eq!(precision["args"], serde_json::json!([0.33]));
    let extra = peer.expect("divide-extra").await;
    assert_eq!(
        extra["args"],
        serde_json::json!([2.3]),
        "extra args and kwargs are ignored"
    );
    let zero = peer.expect("divide-zero").await;
    assert_eq!(zero["uri"], "com.example.calc.error.divide_by_zero");
    assert_eq!(zero["kwargs"], serde_json::json!({ "dividend": 7.0 }));
    let bad = peer.expect("divide-bad-type").await;
    assert_eq!(bad["uri"], "wamp.error.invalid_argument");
    let message = bad["args"][0].as_str().unwrap_or_default();
    assert!(message.contains("argument 1 (a)"), "{bad}");
    let sqrt = peer.expect("sqrt-negative").await;
    assert_eq!(sqrt["uri"], "com.example.calc.error.negative_input");
    assert_eq!(sqrt["args"], serde_json::json!([-4.0]));
    let progress = peer.expect("divide-progress").await;
    assert_eq!(
        progress["progress"],
        serde_json::json!([
            { "done": 1, "total": 3 },
            { "done": 2, "total": 3 },
            { "done": 3, "total": 3 }
        ])
    );
    assert_eq!(progress["final"], serde_json::json!([0.25]));
    peer.expect("published").await;
    let event = tokio::time::timeout(STEP, events.next())
        .await
        .expect("an event in time")
        .expect("the stream goes on")
        .expect("an event the contract decodes");
    assert_eq!(event.device, "pump-7");
    assert_eq!(event.metric, Metric::Temperature);
    assert_eq!(event.value, 21.5);
    assert_eq!(event.unit.as_deref(), Some("C"));
    peer.expect("done").await;
    peer.stop().await;
    service.unregister().await.expect("unregister");
    session.leave().await.expect("leave");
}

#[tokio::test]
async fn contracts_interoperate_with_autobahn_python_through_crossbar() {
    // The calculator URIs are fixed by the contract: one registration at a time, so the
    // combinations run one after another.
    for (ours, theirs) in [
        (Serializer::MsgPack, "json"),
        (Serializer::Json, "cbor"),
        (Serializer::Cbor, "msgpack"),
    ] {
        python_serves(ours, theirs).await;
        rust_serves(ours, theirs).await;
    }
}
