//! The JSON Schema `wamp codegen json-schema` exports agrees with the generated codecs:
//! payloads the generated code writes validate, and payloads it refuses do not.

use serde_json::{json, Value};
use wamp::{Payload, Serializer};
use wamp_examples::calculator;
use wamp_examples::geo;

fn schema() -> Value {
    let loaded = wamp_codegen::load(&[concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../schemas/calculator.wamp.toml"
    )]);
    assert!(!loaded.has_errors(), "{}", loaded.report());
    wamp_codegen::export::json_schema(&loaded.bundle)
}

/// A validator for one payload half (`args` or `kwargs`) of a schema entry.
fn validator(schema: &Value, pointer: &str) -> jsonschema::Validator {
    let mut part = schema.pointer(pointer).cloned().expect(pointer);
    if let Value::Object(m) = &mut part {
        m.insert("$defs".into(), schema["$defs"].clone());
    }
    jsonschema::draft202012::new(&part).expect("a valid schema")
}

fn as_json(payload: &Payload) -> (Value, Value) {
    let args = payload.args_values().expect("args");
    let kwargs = payload.kwargs_values().expect("kwargs");
    (
        serde_json::to_value(args).expect("json"),
        serde_json::to_value(kwargs).expect("json"),
    )
}

#[test]
fn generated_payloads_validate() {
    let s = schema();
    let result = calculator::RoundResult {
        value: 2.5,
        mode: calculator::Rounding::HalfEven,
    };
    let payload = calculator::wire::RoundResult::encode(&result, Serializer::Json).expect("encode");
    let (args, kwargs) = as_json(&payload);
    assert!(validator(&s, "/x-wamp-procedures/round/result/args").is_valid(&args));
    assert!(validator(&s, "/x-wamp-procedures/round/result/kwargs").is_valid(&kwargs));

    let error = calculator::DivideByZero { dividend: 4.0 };
    let payload =
        calculator::wire::ErrorDivideByZero::encode(&error, Serializer::Json).expect("encode");
    let (_, kwargs) = as_json(&payload);
    assert!(validator(&s, "/x-wamp-errors/DivideByZero/payload/kwargs").is_valid(&kwargs));

    // Call arguments as the generated client writes them: positional points.
    let a = geo::Point {
        x: 1.0,
        y: 2.0,
        label: None,
    };
    let b = geo::Point {
        x: 3.0,
        y: 4.0,
        label: Some("b".into()),
    };
    let payload = Payload::encode_args(Serializer::Json, &(&a, &b)).expect("encode");
    let (args, _) = as_json(&payload);
    assert!(validator(&s, "/x-wamp-procedures/distance/call/args").is_valid(&args));
}

#[test]
fn what_the_schema_refuses_the_generated_reader_refuses() {
    let s = schema();
    let args = validator(&s, "/x-wamp-procedures/distance/call/args");
    for bad in [
        json!([{ "x": "one", "y": 2.0 }, { "x": 3.0, "y": 4.0 }]),
        json!([{ "x": 1.0 }, { "x": 3.0, "y": 4.0 }]),
        json!([{ "x": 1.0, "y": 2.0 }]),
    ] {
        assert!(!args.is_valid(&bad), "the schema accepts {bad}");
        let list: Vec<wamp::Value> = serde_json::from_value(bad.clone()).expect("values");
        let payload = Payload::from_values(list, wamp::Dict::new());
        let read: Result<(geo::Point, geo::Point), _> = payload.args();
        assert!(read.is_err(), "the reader accepts {bad}");
    }
    let kwargs = validator(&s, "/x-wamp-procedures/round/result/kwargs");
    assert!(!kwargs.is_valid(&json!({ "value": 1.0, "mode": "sideways" })));
}
