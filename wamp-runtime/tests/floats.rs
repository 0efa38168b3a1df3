//! Floats are exact: every f64 round-trips bit for bit through every serializer, typed
//! and dynamic, and through the router's conversion between serializers (a payload
//! decoded in one format and written in another). NaN and the infinities are not JSON:
//! writing one as JSON is an error naming the number, never a silent `null`; MessagePack
//! and CBOR carry them.

use bytes::Bytes;
use proptest::prelude::*;
use wamp::protocol::{Dict, Id, Message, Payload, Publish, PublishOptions, Uri, Value};
use wamp::Serializer;

/// Every bit pattern is equally likely (huge and tiny exponents, subnormals, NaNs with
/// payloads), plus proptest's float classes and the edges named explicitly.
fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<u64>().prop_map(f64::from_bits),
        any::<f64>(),
        prop::sample::select(vec![
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            f64::from_bits(1),
            -f64::from_bits(1),
            f64::from_bits(0x000f_ffff_ffff_ffff),
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
            1.5e-300,
            0.1,
            1e23,
            9007199254740993.0,
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ]),
    ]
}

fn finite_f64() -> impl Strategy<Value = f64> {
    any_f64().prop_filter("JSON has only finite numbers", |f| f.is_finite())
}

fn same(a: f64, b: f64) -> Result<(), TestCaseError> {
    prop_assert_eq!(a.to_bits(), b.to_bits(), "{:e} came back as {:e}", a, b);
    Ok(())
}

/// A PUBLISH carrying `f` positionally and as a keyword argument, encoded by `ser`.
fn publish(ser: Serializer, f: f64) -> Bytes {
    let mut kwargs = Dict::new();
    kwargs.insert("f".into(), Value::Float(f));
    kwargs.insert("l".into(), Value::List(vec![Value::Float(f)]));
    let msg: Message = Publish {
        request: Id::MIN,
        options: PublishOptions::default(),
        topic: Uri::new("com.example.floats").expect("uri"),
        payload: Payload::from_values(vec![Value::Float(f)], kwargs),
    }
    .into();
    ser.encode_bytes(&msg).expect("encode")
}

/// The floats in a PUBLISH's payload, read dynamically and typed.
fn floats_of(msg: &Message) -> Vec<f64> {
    let Message::Publish(p) = msg else {
        panic!("not a PUBLISH: {msg:?}")
    };
    let (typed,): (f64,) = p.payload.args().expect("typed args");
    let args = p.payload.args_values().expect("args");
    let kwargs = p.payload.kwargs_values().expect("kwargs");
    let Value::List(l) = &kwargs["l"] else {
        panic!("l is not a list")
    };
    [&args[0], &kwargs["f"], &l[0]]
        .into_iter()
        .map(|v| match v {
            Value::Float(f) => *f,
            other => panic!("not a float: {other:?}"),
        })
        .chain([typed])
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// Typed and dynamic values, each serializer on its own. JSON only for finite ones.
    #[test]
    fn every_serializer_round_trips_bits(f in any_f64()) {
        for ser in Serializer::ALL {
            if ser == Serializer::Json && !f.is_finite() {
                continue;
            }
            let typed = ser.encode_value(&f, "f").expect("encode");
            same(f, ser.decode_value::<f64>(&typed).expect("typed decode"))?;
            let dynamic = ser.encode_value(&Value::Float(f), "f").expect("encode");
            match ser.decode_value::<Value>(&dynamic).expect("dynamic decode") {
                Value::Float(back) => same(f, back)?,
                other => prop_assert!(false, "{ser}: {f:e} came back as {other:?}"),
            }
        }
    }

    /// JSON text as another peer may write it (shortest form, 17 significant digits,
    /// plain decimal) parses to the nearest f64, as the standard library's parser does.
    #[test]
    fn json_text_parses_to_the_nearest_f64(f in finite_f64()) {
        for text in [format!("{f:e}"), format!("{f:.16e}"), format!("{f:?}")] {
            let want: f64 = text.parse().expect("std parse");
            same(want, Serializer::Json.decode_value::<f64>(text.as_bytes()).expect("typed"))?;
            match Serializer::Json.decode_value::<Value>(text.as_bytes()).expect("dynamic") {
                Value::Float(back) => same(want, back)?,
                // Rust's `{:?}` writes whole floats with `.0`, `{:e}` with an exponent:
                // JSON reads both as floats.
                other => prop_assert!(false, "{text} came back as {other:?}"),
            }
        }
    }

    /// The router's conversion: a payload decoded from one serializer is written by the
    /// next, JSON → MessagePack → CBOR → JSON, and every float in it is unchanged.
    #[test]
    fn conversion_between_serializers_is_exact(f in finite_f64()) {
        let mut frame = publish(Serializer::Json, f);
        let mut from = Serializer::Json;
        for to in [Serializer::MsgPack, Serializer::Cbor, Serializer::Json] {
            let msg = from.decode(frame).expect("decode");
            frame = to.encode_bytes(&msg).expect("convert");
            from = to;
        }
        let back = Serializer::Json.decode(frame).expect("decode");
        for g in floats_of(&back) {
            same(f, g)?;
        }
    }

    /// Between the binary formats every float converts, NaN payloads and infinities too.
    #[test]
    fn binary_conversion_keeps_every_float(f in any_f64()) {
        let msg = Serializer::MsgPack.decode(publish(Serializer::MsgPack, f)).expect("decode");
        let cbor = Serializer::Cbor.encode_bytes(&msg).expect("to CBOR");
        let msg = Serializer::Cbor.decode(cbor).expect("decode");
        let back = Serializer::MsgPack.decode(Serializer::MsgPack.encode_bytes(&msg).expect("to MessagePack")).expect("decode");
        for g in floats_of(&back) {
            same(f, g)?;
        }
    }
}

/// NaN and ±infinity have no JSON form: every way of writing one as JSON (typed, dynamic,
/// converted from a binary format) is an error that says so; none becomes `null`.
#[test]
fn non_finite_floats_are_a_json_error() {
    for f in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let typed = Serializer::Json
            .encode_value(&(1, vec![f]), "args")
            .expect_err("typed NaN/inf as JSON");
        assert!(typed.to_string().contains("not a finite number"), "{typed}");
        let dynamic = Serializer::Json
            .encode_value(&Value::List(vec![Value::Float(f)]), "args")
            .expect_err("dynamic NaN/inf as JSON");
        assert!(
            dynamic.to_string().contains("not a finite number"),
            "{dynamic}"
        );
        // A direct serde_json write of a Value refuses too (the CLI prints this way).
        assert!(serde_json::to_string(&Value::Float(f)).is_err());
        // Converting a MessagePack payload that carries one into JSON fails to encode.
        let msg = Serializer::MsgPack
            .decode(publish(Serializer::MsgPack, f))
            .expect("decode");
        let err = Serializer::Json
            .encode_bytes(&msg)
            .expect_err("converted NaN/inf as JSON");
        assert!(err.to_string().contains("not a finite number"), "{err}");
    }
    // `f32` too, and JSON text with a number out of f64's range is refused when read.
    assert!(Serializer::Json.encode_value(&f32::NAN, "f").is_err());
    assert!(Serializer::Json.decode_value::<Value>(b"1e400").is_err());
    assert!(Serializer::Json.decode_value::<f64>(b"-1e400").is_err());
}

/// The report's example, spelled out.
#[test]
fn the_reported_float_is_exact() {
    let v: Value = Serializer::Json.decode_value(b"1.5e-300").expect("parse");
    assert_eq!(v, Value::Float(1.5e-300));
    let text = Serializer::Json.encode_value(&v, "v").expect("encode");
    assert_eq!(text, b"1.5e-300");
}
