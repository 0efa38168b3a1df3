//! Property tests: every message type round-trips through every serializer, and converting
//! between serializers (what the router does for peers that use different ones) keeps
//! every value or fails with an error saying why, never changing a value silently.
//!
//! Messages are generated with arbitrary IDs, URIs, options (known keys with their types,
//! plus vendor keys holding any value) and payloads (any value: integers over the whole
//! 64-bit range, floats including infinities, any Unicode string, binary, nested lists and
//! dictionaries). What a serializer cannot represent is known up front (`representable`):
//! JSON has no infinities, and a JSON string starting with NUL is WAMP's binary convention,
//! so a string starting with NUL has no JSON form. Encoding must fail exactly then.
//!
//! Values that exist only in one wire format (a MessagePack map with integer keys, an
//! extension type, invalid UTF-8; a CBOR tag) are checked from raw frames at the end.

use bytes::Bytes;
use proptest::prelude::*;
use proptest::test_runner::Config;
use wamp::protocol::*;
use wamp::Serializer;

fn config() -> Config {
    Config {
        cases: 96,
        ..Config::default()
    }
}

fn any_float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        any::<u64>().prop_map(f64::from_bits),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
    ]
    // NaN is never equal to itself; floats.rs covers it bit for bit.
    .prop_filter("not NaN", |f| !f.is_nan())
}

fn any_string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        1 => any::<String>().prop_map(|s| format!("\0{s}")),
        1 => Just("\0AAEC".to_owned()),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Integer),
        (i64::MAX as u64 + 1..=u64::MAX).prop_map(Value::UInteger),
        any_float().prop_map(Value::Float),
        any_string().prop_map(Value::String),
        prop::collection::vec(any::<u8>(), 0..16).prop_map(Value::Binary),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
            prop::collection::btree_map(any_string(), inner, 0..6).prop_map(Value::Dict),
        ]
    })
}

fn id() -> impl Strategy<Value = Id> {
    prop_oneof![
        (1u64..=1 << 53).prop_map(|n| Id::new(n).expect("in range")),
        Just(Id::MIN),
        Just(Id::MAX),
    ]
}

fn uri() -> impl Strategy<Value = Uri> {
    "[a-z][a-z0-9_]{0,7}(\\.[a-z][a-z0-9_]{0,7}){0,3}".prop_map(|s| Uri::new(&s).expect("valid"))
}

/// Vendor keys with any value: options and details carry them through.
fn extras() -> impl Strategy<Value = Dict> {
    prop::collection::btree_map("x_[a-z]{1,6}", value(), 0..3)
}

fn payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        Just(Payload::empty()),
        prop::collection::vec(value(), 0..4).prop_map(|a| Payload::from_values(a, Dict::new())),
        (
            prop::collection::vec(value(), 0..4),
            prop::collection::btree_map(any_string(), value(), 1..4),
        )
            .prop_map(|(a, kw)| Payload::from_values(a, kw)),
    ]
}

/// Everything one message may need; `build` picks the type and uses what it takes.
#[derive(Debug, Clone)]
struct Parts {
    ids: [Id; 3],
    uri: Uri,
    extras: Dict,
    flag: bool,
    number: u64,
    text: String,
    payload: Payload,
}

fn parts() -> impl Strategy<Value = Parts> {
    (
        [id(), id(), id()],
        uri(),
        extras(),
        any::<bool>(),
        any::<u64>(),
        any::<String>(),
        payload(),
    )
        .prop_map(|(ids, uri, extras, flag, number, text, payload)| Parts {
            ids,
            uri,
            extras,
            flag,
            number,
            text,
            payload,
        })
}

/// An options or details dictionary with the vendor extras added.
macro_rules! with_extras {
    ($d:expr, $extras:expr $(,)?) => {{
        let mut dict = $d.into_dict();
        dict.extend($extras.clone());
        dict.into()
    }};
}

const MESSAGE_TYPES: usize = 24;

fn build(kind: usize, p: Parts) -> Message {
    let [a, b, c] = p.ids;
    let x = &p.extras;
    match kind {
        0 => Hello {
            realm: p.uri,
            details: with_extras!(HelloDetails::new().with_authid(p.text), x),
        }
        .into(),
        1 => Welcome {
            session: a,
            details: with_extras!(WelcomeDetails::new().with_authrole(p.text), x),
        }
        .into(),
        2 => Abort {
            details: with_extras!(CloseDetails::new().with_message(p.text), x),
            reason: p.uri,
        }
        .into(),
        3 => Challenge {
            auth_method: p.text,
            extra: with_extras!(AuthExtra::new().with_iterations(p.number), x),
        }
        .into(),
        4 => Authenticate {
            signature: p.text,
            extra: with_extras!(AuthExtra::new(), x),
        }
        .into(),
        5 => Goodbye {
            details: with_extras!(CloseDetails::new(), x),
            reason: p.uri,
        }
        .into(),
        6 => ErrorMessage {
            request_type: MessageType::Call,
            request: a,
            details: with_extras!(ErrorDetails::new(), x),
            error: p.uri,
            payload: p.payload,
        }
        .into(),
        7 => Publish {
            request: a,
            options: with_extras!(
                PublishOptions::new()
                    .with_acknowledge(p.flag)
                    .with_exclude(vec![b, c])
                    .with_eligible_authid(vec![p.text]),
                x,
            ),
            topic: p.uri,
            payload: p.payload,
        }
        .into(),
        8 => Published {
            request: a,
            publication: b,
        }
        .into(),
        9 => Subscribe {
            request: a,
            options: with_extras!(
                SubscribeOptions::new().with_match(if p.flag {
                    MatchPolicy::Prefix
                } else {
                    MatchPolicy::Exact
                }),
                x,
            ),
            topic: p.uri,
        }
        .into(),
        10 => Subscribed {
            request: a,
            subscription: b,
        }
        .into(),
        11 => Unsubscribe {
            request: a,
            subscription: b,
        }
        .into(),
        12 => Unsubscribed {
            request: if p.flag { 0 } else { a.get() },
            details: p.flag.then(|| {
                with_extras!(
                    UnsubscribedDetails::new()
                        .with_subscription(b)
                        .with_reason(p.text),
                    x,
                )
            }),
        }
        .into(),
        13 => Event {
            subscription: a,
            publication: b,
            details: with_extras!(EventDetails::new().with_publisher(c).with_topic(p.uri), x,),
            payload: p.payload,
        }
        .into(),
        14 => Call {
            request: a,
            options: with_extras!(
                CallOptions::new()
                    .with_timeout(p.number)
                    .with_receive_progress(p.flag),
                x,
            ),
            procedure: p.uri,
            payload: p.payload,
        }
        .into(),
        15 => Cancel {
            request: a,
            options: with_extras!(CancelOptions::new().with_mode(CancelMode::KillNoWait), x),
        }
        .into(),
        16 => ResultMessage {
            request: a,
            details: with_extras!(ResultDetails::new().with_progress(p.flag), x),
            payload: p.payload,
        }
        .into(),
        17 => Register {
            request: a,
            options: with_extras!(
                RegisterOptions::new().with_invoke(InvokePolicy::RoundRobin),
                x,
            ),
            procedure: p.uri,
        }
        .into(),
        18 => Registered {
            request: a,
            registration: b,
        }
        .into(),
        19 => Unregister {
            request: a,
            registration: b,
        }
        .into(),
        20 => Unregistered {
            request: if p.flag { 0 } else { a.get() },
            details: p
                .flag
                .then(|| with_extras!(UnregisteredDetails::new().with_registration(b), x)),
        }
        .into(),
        21 => Invocation {
            request: a,
            registration: b,
            details: with_extras!(
                InvocationDetails::new()
                    .with_caller(c)
                    .with_procedure(p.uri)
                    .with_receive_progress(p.flag),
                x,
            ),
            payload: p.payload,
        }
        .into(),
        22 => Interrupt {
            request: a,
            options: with_extras!(InterruptOptions::new().with_mode(CancelMode::Kill), x),
        }
        .into(),
        _ => Yield {
            request: a,
            options: with_extras!(YieldOptions::new().with_progress(p.flag), x),
            payload: p.payload,
        }
        .into(),
    }
}

fn message() -> impl Strategy<Value = Message> {
    (0..MESSAGE_TYPES, parts()).prop_map(|(kind, p)| build(kind, p))
}

/// Whether `ser` can carry `v` as it is.
fn representable(ser: Serializer, v: &Value) -> bool {
    match v {
        Value::Float(f) => ser != Serializer::Json || f.is_finite(),
        Value::String(s) => ser != Serializer::Json || !s.starts_with('\0'),
        Value::List(l) => l.iter().all(|v| representable(ser, v)),
        // Keys are strings in every format, NUL or not: no binary convention for keys.
        Value::Dict(d) => d.values().all(|v| representable(ser, v)),
        _ => true,
    }
}

/// Every dynamic value in a message: its options or details and its payload, as the
/// message looks encoded in MessagePack (which carries all of them).
fn message_representable(ser: Serializer, msg: &Message) -> bool {
    let bytes = Serializer::MsgPack
        .encode(msg)
        .expect("MessagePack carries every value");
    let elements: Vec<Value> = Serializer::MsgPack
        .decode_value(&bytes)
        .expect("a list of values");
    elements.iter().all(|v| representable(ser, v))
}

fn serializer() -> impl Strategy<Value = Serializer> {
    prop::sample::select(Serializer::ALL.to_vec())
}

proptest! {
    #![proptest_config(config())]

    /// Every message type × every serializer: encoding succeeds exactly when the
    /// serializer can represent every value, the result decodes to the same message, and
    /// re-encoding the decoded message gives the same bytes.
    #[test]
    fn every_message_round_trips(msg in message(), ser in serializer()) {
        match ser.encode(&msg) {
            Ok(bytes) => {
                prop_assert!(message_representable(ser, &msg), "{ser} encoded an unrepresentable {msg:?}");
                let back = ser.decode(Bytes::from(bytes.clone()));
                prop_assert!(back.is_ok(), "{ser}: {:?}", back);
                let back = back.expect("checked");
                prop_assert_eq!(&back, &msg);
                prop_assert_eq!(ser.encode(&back).expect("re-encode"), bytes);
            }
            Err(e) => {
                prop_assert!(!message_representable(ser, &msg), "{ser} refused {msg:?}: {e}");
                let why = e.to_string();
                prop_assert!(
                    why.contains("not a finite number") || why.contains("NUL"),
                    "the error says why: {why}"
                );
            }
        }
    }

    /// Decoded in one serializer, encoded in another (the router's transcoding of
    /// payloads and options): the same message, or an error when the target cannot
    /// represent a value.
    #[test]
    fn conversion_is_lossless_or_refused(msg in message(), from in serializer(), to in serializer()) {
        prop_assume!(message_representable(from, &msg));
        let wire = from.encode(&msg).expect("representable");
        let decoded = from.decode(Bytes::from(wire)).expect("decodes");
        match to.encode(&decoded) {
            Ok(bytes) => {
                prop_assert!(message_representable(to, &msg), "{from} -> {to} let through {msg:?}");
                let back = to.decode(Bytes::from(bytes)).expect("decodes");
                prop_assert_eq!(back, msg, "{} -> {}", from, to);
            }
            Err(e) => prop_assert!(!message_representable(to, &msg), "{from} -> {to} refused {msg:?}: {e}"),
        }
    }

    /// The dynamic value model itself: what one serializer writes, every serializer that
    /// can represent it reads back equal.
    #[test]
    fn values_convert_losslessly_or_fail(v in value(), from in serializer(), to in serializer()) {
        prop_assume!(representable(from, &v));
        let bytes = from.encode_value(&v, "value").expect("representable");
        let read: Value = from.decode_value(&bytes).expect("decodes");
        prop_assert_eq!(&read, &v);
        match to.encode_value(&read, "value") {
            Ok(out) => {
                prop_assert!(representable(to, &v));
                prop_assert_eq!(to.decode_value::<Value>(&out).expect("decodes"), v);
            }
            Err(e) => prop_assert!(!representable(to, &v), "{to} refused {v:?}: {e}"),
        }
    }
}

/// A MessagePack PUBLISH to `com.a` whose only argument is `arg` (raw bytes).
fn msgpack_publish(arg: &[u8]) -> Bytes {
    let mut f = vec![0x95, 0x10, 0x01, 0x80, 0xa5];
    f.extend_from_slice(b"com.a");
    f.push(0x91);
    f.extend_from_slice(arg);
    Bytes::from(f)
}

/// A CBOR PUBLISH to `com.a` whose only argument is `arg` (raw bytes).
fn cbor_publish(arg: &[u8]) -> Bytes {
    let mut f = vec![0x85, 0x10, 0x01, 0xa0, 0x65];
    f.extend_from_slice(b"com.a");
    f.push(0x81);
    f.extend_from_slice(arg);
    Bytes::from(f)
}

/// Converting `frame` (in `from`) to every other serializer fails with an error that
/// contains `why`; the same serializer forwards the bytes as they are.
fn refused_elsewhere(from: Serializer, frame: Bytes, why: &str) {
    let msg = from
        .decode(frame.clone())
        .expect("the frame decodes (payloads stay raw)");
    assert_eq!(
        from.encode(&msg).expect("same serializer"),
        frame.to_vec(),
        "{from} forwards the bytes unchanged"
    );
    for to in Serializer::ALL.into_iter().filter(|s| *s != from) {
        let e = to
            .encode(&msg)
            .expect_err("no silent conversion of a value the model cannot hold");
        assert!(e.to_string().contains(why), "{from} -> {to}: {e}");
    }
}

#[test]
fn msgpack_values_without_a_model_are_refused_in_conversion() {
    // {1: "a"}: an integer map key.
    refused_elsewhere(
        Serializer::MsgPack,
        msgpack_publish(&[0x81, 0x01, 0xa1, b'a']),
        "expected a string",
    );
    // fixext 1, type 5.
    refused_elsewhere(
        Serializer::MsgPack,
        msgpack_publish(&[0xd4, 0x05, 0x00]),
        "",
    );
    // A string that is not UTF-8: forwarded as is between MessagePack peers (the router
    // does not parse what it does not convert), refused when converted (rmp-serde would
    // hand it over as bytes, and it would become binary elsewhere).
    let frame = msgpack_publish(&[0xa2, 0xff, 0xfe]);
    let msg = Serializer::MsgPack.decode(frame.clone()).expect("decodes");
    assert_eq!(
        Serializer::MsgPack.encode(&msg).expect("same serializer"),
        frame.to_vec()
    );
    let Message::Publish(publish) = msg else {
        panic!("expected PUBLISH")
    };
    for to in [Serializer::Json, Serializer::Cbor] {
        let e = publish
            .payload
            .convert_to(to)
            .expect_err("not UTF-8: no form elsewhere");
        assert!(e.to_string().contains("UTF-8"), "{to}: {e}");
    }
}

#[test]
fn cbor_values_without_a_model_are_refused_in_conversion() {
    // {1: "a"}: an integer map key.
    refused_elsewhere(
        Serializer::Cbor,
        cbor_publish(&[0xa1, 0x01, 0x61, b'a']),
        "",
    );
}

#[test]
fn a_string_starting_with_nul_stays_a_string_outside_json() {
    // MessagePack "\0AAEC": a string that happens to look like WAMP's JSON binary form.
    let frame = msgpack_publish(&[0xa5, 0, b'A', b'A', b'E', b'C']);
    let msg = Serializer::MsgPack.decode(frame).expect("decodes");
    let Message::Publish(p) = &msg else {
        unreachable!()
    };
    assert_eq!(
        p.payload.args_values().expect("values"),
        vec![Value::String("\0AAEC".into())],
        "MessagePack strings are strings, whatever they start with"
    );
    let cbor = Serializer::Cbor.encode(&msg).expect("CBOR has strings");
    let Message::Publish(p) = Serializer::Cbor.decode(cbor.into()).expect("decodes") else {
        unreachable!()
    };
    assert_eq!(
        p.payload.args_values().expect("values"),
        vec![Value::String("\0AAEC".into())]
    );
    let e = Serializer::Json
        .encode(&msg)
        .expect_err("in JSON it would read as binary");
    assert!(e.to_string().contains("NUL"), "{e}");
}

#[test]
fn json_binary_convention_converts_to_native_binary_and_back() {
    let frame = Bytes::from_static(b"[16,1,{},\"com.a\",[\"\\u0000AAEC\"]]");
    let msg = Serializer::Json.decode(frame).expect("decodes");
    for to in [Serializer::MsgPack, Serializer::Cbor] {
        let back = to
            .decode(to.encode(&msg).expect("encodes").into())
            .expect("decodes");
        let Message::Publish(p) = back else {
            unreachable!()
        };
        assert_eq!(
            p.payload.args_values().expect("values"),
            vec![Value::Binary(vec![0, 1, 2])]
        );
    }
    // Bad base64 after the NUL is not binary and not a string: an error, not a guess.
    let bad = Serializer::Json
        .decode(Bytes::from_static(b"[16,1,{},\"com.a\",[\"\\u0000!!\"]]"))
        .expect("payloads stay raw");
    let e = Serializer::Cbor.encode(&bad).expect_err("undecodable");
    assert!(e.to_string().contains("base64"), "{e}");
}

#[test]
fn json_integers_beyond_64_bits_read_as_the_nearest_float() {
    // serde_json reads an integer literal outside the 64-bit range as the nearest f64 (no
    // big integers in the model); converting such a payload carries that float.
    let frame = Bytes::from_static(b"[16,1,{},\"com.a\",[18446744073709551616]]");
    let msg = Serializer::Json.decode(frame).expect("decodes");
    let Message::Publish(p) = Serializer::MsgPack
        .decode(Serializer::MsgPack.encode(&msg).expect("encodes").into())
        .expect("decodes")
    else {
        unreachable!()
    };
    assert_eq!(
        p.payload.args_values().expect("values"),
        vec![Value::Float(18446744073709551616.0)]
    );
}
