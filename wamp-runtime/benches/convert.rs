//! What the router's representability check costs (see ARCHITECTURE.md, "Serializers"):
//! routing an EVENT whose payload stays in its serializer, with and without the check, and
//! converting one between serializers in the recipient's writer (before) or when routing
//! (now, with the format scans), for a small and a 64 KiB payload.
//!
//! `cargo bench -p wamp-runtime --bench convert`

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use serde::Serialize;
use wamp::protocol::*;
use wamp::Serializer;

#[derive(Serialize, Clone)]
struct Record {
    id: u64,
    name: String,
    score: f64,
    tags: Vec<String>,
}

fn kwargs(n: u64) -> std::collections::BTreeMap<String, Vec<Record>> {
    let records = (0..n)
        .map(|i| Record {
            id: i,
            name: format!("record number {i:06} with some text"),
            score: i as f64 * 0.5,
            tags: vec!["a".into(), "b".into()],
        })
        .collect();
    std::collections::BTreeMap::from([("records".to_owned(), records)])
}

fn event(payload: Payload) -> Message {
    Event {
        subscription: Id::new(123_456).expect("id"),
        publication: Id::new(987_654_321).expect("id"),
        details: EventDetails::new(),
        payload,
    }
    .into()
}

fn payload(msg: &Message) -> &Payload {
    match msg {
        Message::Event(m) => &m.payload,
        _ => unreachable!("an EVENT"),
    }
}

/// An EVENT frame in `ser` with `n` records.
fn frame(ser: Serializer, n: u64) -> Bytes {
    let p = Payload::encode_args(ser, &("com.example", 42, 3.25))
        .and_then(|p| p.with_encoded_kwargs(ser, &kwargs(n)))
        .expect("payload");
    Bytes::from(ser.encode(&event(p)).expect("encode"))
}

fn convert(c: &mut Criterion) {
    for (size, n) in [("small", 1), ("64KiB", 600)] {
        let mut group = c.benchmark_group(format!("route-EVENT/{size}"));
        for ser in Serializer::ALL {
            let wire = frame(ser, n);
            group.throughput(Throughput::Bytes(wire.len() as u64));
            // The router before: decode the envelope, encode it with the payload as is.
            group.bench_function(BenchmarkId::new("same-unchecked", ser), |b| {
                b.iter(|| {
                    let msg = ser.decode(black_box(wire.clone())).expect("decode");
                    ser.encode(&msg).expect("encode")
                })
            });
            // The check alone, as the broker and dealer run it for each recipient: is the
            // payload already in the recipient's serializer?
            let decoded = ser.decode(wire.clone()).expect("decode");
            group.bench_function(BenchmarkId::new("check-only", ser), |b| {
                b.iter(|| black_box(payload(&decoded)).is_encoded_in(black_box(ser)))
            });
            // Now: the same, asking first whether the recipient can take the payload.
            group.bench_function(BenchmarkId::new("same-checked", ser), |b| {
                b.iter(|| {
                    let msg = ser.decode(black_box(wire.clone())).expect("decode");
                    let msg = if payload(&msg).is_encoded_in(ser) {
                        msg
                    } else {
                        event(payload(&msg).convert_to(ser).expect("convertible"))
                    };
                    ser.encode(&msg).expect("encode")
                })
            });
        }
        for (from, to) in [
            (Serializer::MsgPack, Serializer::Json),
            (Serializer::Json, Serializer::MsgPack),
            (Serializer::Cbor, Serializer::Json),
        ] {
            let wire = frame(from, n);
            group.throughput(Throughput::Bytes(wire.len() as u64));
            let pair = format!("{from}->{to}");
            // Before: the recipient's writer transcoded (and failed there).
            group.bench_function(BenchmarkId::new("cross-in-writer", &pair), |b| {
                b.iter(|| {
                    let msg = from.decode(black_box(wire.clone())).expect("decode");
                    to.encode(&msg).expect("encode")
                })
            });
            // Now: converted (and checked) when routing, then written as is.
            group.bench_function(BenchmarkId::new("cross-when-routing", &pair), |b| {
                b.iter(|| {
                    let msg = from.decode(black_box(wire.clone())).expect("decode");
                    let p = payload(&msg).convert_to(to).expect("convertible");
                    to.encode(&event(p)).expect("encode")
                })
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(1))
        .sample_size(30);
    targets = convert
}
criterion_main!(benches);
