//! Typed payload decoding: what generated code does with a CALL's arguments
//! (`wamp::__private::decode_args` / `decode_kwargs`), against structs shaped like the
//! ones codegen writes (optional and defaulted fields, nested structs, a tagged union,
//! maps, lists, binary, every number type).
//!
//! Input: a selector byte (serializer), a split byte, then bytes cut in two at the split:
//! the `Arguments` and `ArgumentsKw` elements of a CALL, in the picked serializer.
//!
//! Invariants: no panic; a struct that decodes encodes again and decodes to the same value.
#![no_main]

use std::collections::BTreeMap;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use serde::{Deserialize, Serialize};
use wamp::protocol::Message;
use wamp::{Binary, Payload, Serializer};

#[derive(Serialize, Deserialize, Debug)]
struct Point {
    x: f64,
    y: f32,
}

#[derive(Serialize, Deserialize, Debug)]
#[serde(tag = "kind")]
enum Shape {
    #[serde(rename = "circle")]
    Circle { center: Point, r: f64 },
    #[serde(rename = "rect")]
    Rect { w: u32, h: u16 },
    #[serde(rename = "empty")]
    Empty,
}

/// Positional arguments, as the wire struct of a procedure with six parameters.
#[derive(Serialize, Deserialize, Debug)]
struct Args {
    count: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default)]
    points: Vec<Point>,
    #[serde(default)]
    flag: bool,
    #[serde(default)]
    small: u8,
    #[serde(default)]
    data: Option<Binary>,
}

fn default_limit() -> u64 {
    10
}

/// Keyword arguments: nested, a union, maps, defaults.
#[derive(Serialize, Deserialize, Debug)]
struct Kwargs {
    #[serde(rename = "user-name")]
    user: String,
    #[serde(default)]
    tags: BTreeMap<String, i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shape: Option<Shape>,
    #[serde(default = "default_limit")]
    limit: u64,
    #[serde(default)]
    scores: Vec<Option<f64>>,
    #[serde(default)]
    nested: Option<Box<Kwargs>>,
    #[serde(default)]
    big: Option<i128>,
}

const NAMES: &[&str] = &["count", "name", "points", "flag", "small", "data"];

/// A CALL frame carrying `args` (and `kwargs` if any) as its payload elements.
fn call_frame(ser: Serializer, args: &[u8], kwargs: &[u8]) -> Vec<u8> {
    let elements = if kwargs.is_empty() { 5 } else { 6 };
    let mut f = match ser {
        Serializer::Json => b"[48,1,{},\"com.a\",".to_vec(),
        Serializer::MsgPack => vec![0x90 | elements, 0x30, 0x01, 0x80, 0xa5],
        Serializer::Cbor => vec![0x80 | elements, 0x18, 0x30, 0x01, 0xa0, 0x65],
    };
    if ser != Serializer::Json {
        f.extend_from_slice(b"com.a");
    }
    f.extend_from_slice(args);
    if !kwargs.is_empty() {
        if ser == Serializer::Json {
            f.push(b',');
        }
        f.extend_from_slice(kwargs);
    }
    if ser == Serializer::Json {
        f.push(b']');
    }
    f
}

fn debug<T: std::fmt::Debug>(v: &T) -> String {
    format!("{v:?}")
}

fuzz_target!(|data: &[u8]| {
    let [selector, split, rest @ ..] = data else {
        return;
    };
    let ser = wamp_fuzz::serializer(*selector);
    let cut = usize::from(*split) % (rest.len() + 1);
    let (args, kwargs) = rest.split_at(cut);
    let Ok(Message::Call(call)) = ser.decode(Bytes::from(call_frame(ser, args, kwargs))) else {
        return;
    };
    let payload = &call.payload;

    if let Ok(a) = wamp::__private::decode_args::<Args>(payload, NAMES) {
        for to in Serializer::ALL {
            // Encoding may refuse (a NaN for JSON); what encodes reads back the same.
            let Ok(p) = Payload::encode_args(to, &a) else {
                continue;
            };
            let back = wamp::__private::decode_args::<Args>(&p, NAMES)
                .unwrap_or_else(|e| panic!("{to}: {a:?} does not read back: {e}"));
            assert_eq!(debug(&a), debug(&back), "{ser} -> {to}");
        }
    }
    if let Ok(k) = wamp::__private::decode_kwargs::<Kwargs>(payload) {
        for to in Serializer::ALL {
            let Ok(p) = Payload::empty().with_encoded_kwargs(to, &k) else {
                continue;
            };
            let back = wamp::__private::decode_kwargs::<Kwargs>(&p)
                .unwrap_or_else(|e| panic!("{to}: {k:?} does not read back: {e}"));
            assert_eq!(debug(&k), debug(&back), "{ser} -> {to}");
        }
    }
    // The untyped reads the router and dynamic handlers do.
    let _ = payload.args_values();
    let _ = payload.kwargs_values();
    let _ = payload.args::<(String, u64, Vec<bool>)>();
    let _ = payload.kwargs::<BTreeMap<String, Binary>>();
});
