//! Encoding and decoding CALL, RESULT and EVENT with a small and a 64 KiB payload, in each
//! serializer, through typed Rust values and through the dynamic `Value`.
//!
//! `cargo bench -p wamp-runtime --bench codec`

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use serde::{Deserialize, Serialize};
use wamp::protocol::*;
use wamp::Serializer;

#[derive(Serialize, Deserialize, Clone)]
struct Small {
    name: String,
    count: u64,
    tags: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone)]
struct Record {
    id: u64,
    name: String,
    score: f64,
}

#[derive(Serialize, Deserialize, Clone)]
struct Large {
    records: Vec<Record>,
}

type SmallArgs = (String, u64, f64);

fn small() -> (SmallArgs, Small) {
    (
        ("com.example".into(), 42, 3.25),
        Small {
            name: "alice".into(),
            count: 7,
            tags: vec!["a".into(), "b".into()],
        },
    )
}

/// About 64 KiB in JSON.
fn large() -> (SmallArgs, Large) {
    let records = (0..1000)
        .map(|i| Record {
            id: i,
            name: format!("record number {i:06} with some text"),
            score: i as f64 * 0.5,
        })
        .collect();
    (small().0, Large { records })
}

fn to_value<T: Serialize>(v: &T) -> Value {
    // Build the dynamic form once, outside the measurement.
    let bytes = Serializer::MsgPack
        .encode_value(v, "bench")
        .expect("encode");
    Serializer::MsgPack.decode_value(&bytes).expect("decode")
}

#[derive(Clone, Copy)]
enum Kind {
    Call,
    Result,
    Event,
}

fn message(kind: Kind, payload: Payload) -> Message {
    let id = Id::new(123_456).expect("id");
    match kind {
        Kind::Call => Call {
            request: id,
            options: CallOptions::new(),
            procedure: Uri::from_static("com.example.procedure"),
            payload,
        }
        .into(),
        Kind::Result => ResultMessage {
            request: id,
            details: ResultDetails::new(),
            payload,
        }
        .into(),
        Kind::Event => Event {
            subscription: id,
            publication: Id::new(987_654_321).expect("id"),
            details: EventDetails::new(),
            payload,
        }
        .into(),
    }
}

fn payload_of(msg: &Message) -> &Payload {
    match msg {
        Message::Call(m) => &m.payload,
        Message::Result(m) => &m.payload,
        Message::Event(m) => &m.payload,
        _ => unreachable!("bench messages carry payloads"),
    }
}

fn bench_case<K: Serialize + for<'de> Deserialize<'de> + Clone>(
    c: &mut Criterion,
    size: &str,
    args: SmallArgs,
    kwargs: K,
) {
    let args_value = to_value(&args);
    let kwargs_value = to_value(&kwargs);
    let (Value::List(args_list), Value::Dict(kwargs_dict)) = (args_value, kwargs_value) else {
        unreachable!("tuples are lists and structs are dicts")
    };
    for (kind, kname) in [
        (Kind::Call, "CALL"),
        (Kind::Result, "RESULT"),
        (Kind::Event, "EVENT"),
    ] {
        let mut group = c.benchmark_group(format!("{kname}/{size}"));
        for ser in Serializer::ALL {
            let wire = ser
                .encode(&message(
                    kind,
                    Payload::from_values(args_list.clone(), kwargs_dict.clone()),
                ))
                .expect("encode");
            group.throughput(Throughput::Bytes(wire.len() as u64));

            group.bench_function(BenchmarkId::new("encode-typed", ser), |b| {
                b.iter(|| {
                    let p = Payload::encode_args(ser, black_box(&args))
                        .and_then(|p| p.with_encoded_kwargs(ser, black_box(&kwargs)))
                        .expect("payload");
                    ser.encode(&message(kind, p)).expect("encode")
                })
            });
            group.bench_function(BenchmarkId::new("encode-dynamic", ser), |b| {
                b.iter(|| {
                    let p = Payload::from_values(
                        black_box(args_list.clone()),
                        black_box(kwargs_dict.clone()),
                    );
                    ser.encode(&message(kind, p)).expect("encode")
                })
            });
            let frame = Bytes::from(wire);
            group.bench_function(BenchmarkId::new("decode-typed", ser), |b| {
                b.iter(|| {
                    let msg = ser.decode(black_box(frame.clone())).expect("decode");
                    let p = payload_of(&msg);
                    (
                        p.args::<SmallArgs>().expect("args"),
                        p.kwargs::<K>().expect("kwargs"),
                    )
                })
            });
            group.bench_function(BenchmarkId::new("decode-dynamic", ser), |b| {
                b.iter(|| {
                    let msg = ser.decode(black_box(frame.clone())).expect("decode");
                    let p = payload_of(&msg);
                    (
                        p.args_values().expect("args"),
                        p.kwargs_values().expect("kwargs"),
                    )
                })
            });
            group.bench_function(BenchmarkId::new("route-passthrough", ser), |b| {
                // What a router does: decode the envelope, re-encode with the payload as is.
                b.iter(|| {
                    let msg = ser.decode(black_box(frame.clone())).expect("decode");
                    ser.encode(&msg).expect("encode")
                })
            });
        }
        group.finish();
    }
}

fn codec(c: &mut Criterion) {
    let (args, kwargs) = small();
    bench_case(c, "small", args, kwargs);
    let (args, kwargs) = large();
    bench_case(c, "64KiB", args, kwargs);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(1))
        .sample_size(30);
    targets = codec
}
criterion_main!(benches);
