//! Generated code end to end through the embedded router: a typed callee served from the
//! contract, called by the typed client and by an untyped peer writing the wire layout
//! by hand (as a Python or JavaScript peer would), and typed events.

use std::time::Duration;

use futures_util::StreamExt;
use wamp::router::{RealmConfig, Router};
use wamp::typed::Progressive;
use wamp::{Dict, Payload, Session, Value};
use wamp_examples::calculator::{self, CalculatorClient, DivideError, DivideProgress};
use wamp_examples::fixtures::Calculator;
use wamp_examples::geo;
use wamp_examples::telemetry::{Metric, TelemetryClient, TelemetryEvent};

async fn setup() -> (Router, Session, Session, wamp::typed::Service) {
    let router = Router::builder()
        .realm(RealmConfig::new("realm1"))
        .websocket("127.0.0.1:0".parse().expect("address"))
        .start()
        .await
        .expect("router");
    let callee = Session::builder("memory")
        .connect_with(router.local_transport())
        .await
        .expect("callee");
    let service = calculator::serve(&callee, Calculator).await.expect("serve");
    let caller = Session::builder(router.listeners()[0].url())
        .serializer(wamp::Serializer::Json)
        .connect()
        .await
        .expect("caller");
    (router, callee, caller, service)
}

#[tokio::test]
async fn typed_calls_results_defaults_and_errors() {
    let (_router, _callee, caller, service) = setup().await;
    assert_eq!(service.registrations().len(), 5);
    let calc = CalculatorClient::new(caller.clone());
    assert_eq!(calc.add(2.0, 3.5).await.expect("add"), 5.5);
    // The default precision (6) applies when the caller does not set it.
    assert_eq!(calc.divide(1.0, 3.0).await.expect("divide"), 0.333333);
    assert_eq!(
        calc.divide(1.0, 3.0).precision(2).await.expect("divide"),
        0.33
    );
    match calc.divide(7.0, 0.0).await {
        Err(DivideError::DivideByZero(e)) => assert_eq!(e.dividend, 7.0),
        other => panic!("expected DivideByZero, got {other:?}"),
    }
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
                label: None,
            },
        )
        .unit(geo::Unit::Km)
        .await
        .expect("distance");
    assert_eq!(d, 5.0);
    let r = calc.round(2.6).await.expect("round");
    assert_eq!(r.value, 3.0);
}

#[tokio::test]
async fn progressive_results_are_typed() {
    let (_router, _callee, caller, _service) = setup().await;
    let calc = CalculatorClient::new(caller);
    let items: Vec<_> = calc.divide(1.0, 4.0).progressive().collect().await;
    let items: Vec<_> = items.into_iter().map(|i| i.expect("item")).collect();
    assert_eq!(
        items,
        vec![
            Progressive::Progress(DivideProgress { done: 1, total: 3 }),
            Progressive::Progress(DivideProgress { done: 2, total: 3 }),
            Progressive::Progress(DivideProgress { done: 3, total: 3 }),
            Progressive::Final(0.25),
        ]
    );
}

#[tokio::test]
async fn an_untyped_peer_speaks_the_wire_layout_the_contract_gives() {
    let (_router, _callee, caller, _service) = setup().await;
    // Positional a, b; keyword precision; extra trailing args and unknown kwargs ignored.
    let mut kw = Dict::new();
    kw.insert("precision".into(), Value::from(1u64));
    kw.insert("added_in_3_0".into(), Value::from("ignored"));
    let r = caller
        .call(calculator::uri::DIVIDE)
        .payload(Payload::from_values(
            vec![9.0.into(), 4.0.into(), "extra".into()],
            kw,
        ))
        .await
        .expect("divide");
    assert_eq!(r.args::<(f64,)>().expect("one result").0, 2.3);

    // A wrong type is wamp.error.invalid_argument naming the argument, never a panic.
    let err = caller
        .call(calculator::uri::DIVIDE)
        .args(&(1.0, "zero"))
        .await
        .expect_err("b is not a number");
    let wamp = err.wamp().expect("an ERROR").clone();
    assert_eq!(wamp.uri.as_str(), "wamp.error.invalid_argument");
    let text = format!("{wamp}");
    assert!(text.contains("argument 2 (b)"), "{text}");

    // The declared error on the wire: its URI and keyword payload.
    let err = caller
        .call(calculator::uri::DIVIDE)
        .args(&(3.0, 0.0))
        .await
        .expect_err("divide by zero");
    let wamp = err.wamp().expect("an ERROR");
    assert_eq!(wamp.uri.as_str(), "com.example.calc.error.divide_by_zero");
    let kwargs = wamp.payload.kwargs_values().expect("kwargs");
    assert_eq!(kwargs.get("dividend"), Some(&Value::from(3.0)));
}

#[tokio::test]
async fn typed_events_carry_their_captures() {
    let (_router, callee, caller, _service) = setup().await;
    let listener = TelemetryClient::new(callee.clone());
    let mut events = listener.subscribe_telemetry().await.expect("subscribe");
    let publisher = TelemetryClient::new(caller.clone());
    let sent = TelemetryEvent {
        device: "pump-1".into(),
        metric: Metric::Other("vibration".into()),
        value: 0.5,
        ts_ms: 42,
        unit: Some("g".into()),
    };
    publisher
        .publish_telemetry(&sent)
        .acknowledge(true)
        .await
        .expect("publish");
    // A malformed event from an untyped peer is an error item; the stream goes on.
    caller
        .publish("com.example.telemetry.pump-2.cpu")
        .kwargs(&serde_json_like("value", "hot"))
        .acknowledge(true)
        .await
        .expect("publish");
    let got = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("in time")
        .expect("an event")
        .expect("typed");
    assert_eq!(got, sent);
    let bad = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("in time")
        .expect("an item");
    assert!(bad.is_err(), "{bad:?}");

    // A capture must be one URI component.
    let err = publisher
        .publish_telemetry(&TelemetryEvent {
            device: "a.b".into(),
            ..sent
        })
        .acknowledge(true)
        .await
        .expect_err("a dot in a capture");
    assert!(err.to_string().contains("capture `device`"), "{err}");
}

fn serde_json_like(key: &str, value: &str) -> Dict {
    let mut d = Dict::new();
    d.insert(key.into(), Value::from(value));
    d
}

#[tokio::test]
async fn subscriptions_filtered_by_capture_values() {
    use wamp_examples::telemetry::TelemetryFilter;
    let (_router, callee, caller, _service) = setup().await;
    let listener = TelemetryClient::new(callee.clone());
    // Only pump-2's events, any metric (a wildcard subscription)...
    let mut pump2 = listener
        .subscribe_telemetry_where(&TelemetryFilter {
            device: Some("pump-2".into()),
            metric: None,
        })
        .await
        .expect("subscribe");
    // ...and exactly pump-1's temperature (an exact subscription).
    let mut pump1_temp = listener
        .subscribe_telemetry_where(&TelemetryFilter {
            device: Some("pump-1".into()),
            metric: Some(Metric::Temperature),
        })
        .await
        .expect("subscribe");
    let publisher = TelemetryClient::new(caller.clone());
    for (device, metric, value) in [
        ("pump-1", Metric::Cpu, 1.0),
        ("pump-2", Metric::Cpu, 2.0),
        ("pump-1", Metric::Temperature, 3.0),
    ] {
        publisher
            .publish_telemetry(&TelemetryEvent {
                device: device.into(),
                metric,
                value,
                ts_ms: 1,
                unit: None,
            })
            .acknowledge(true)
            .await
            .expect("publish");
    }
    assert_eq!(next(&mut pump2).await.value, 2.0);
    assert_eq!(next(&mut pump1_temp).await.value, 3.0);
    // Nothing else arrives on either.
    assert!(
        tokio::time::timeout(Duration::from_millis(200), pump2.next())
            .await
            .is_err()
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(200), pump1_temp.next())
            .await
            .is_err()
    );

    // A filter value that is not one URI component fails when awaited.
    let err = listener
        .subscribe_telemetry_where(&TelemetryFilter {
            device: Some("a.b".into()),
            metric: None,
        })
        .await
        .expect_err("a dot");
    assert!(err.to_string().contains("capture `device`"), "{err}");
}

async fn next(s: &mut wamp::typed::Subscription<TelemetryEvent>) -> TelemetryEvent {
    tokio::time::timeout(Duration::from_secs(5), s.next())
        .await
        .expect("in time")
        .expect("an event")
        .expect("typed")
}
