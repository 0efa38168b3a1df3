//! Every message type through every serializer: encode, decode, compare. One helper over
//! many cases, plus the decoding errors a peer can provoke.

use bytes::Bytes;
use wamp::protocol::*;
use wamp::Serializer;

fn id(n: u64) -> Id {
    Id::new(n).expect("valid id")
}

fn uri(s: &str) -> Uri {
    Uri::with_kind(s, UriKind::Wildcard).expect("valid uri")
}

fn payload() -> Payload {
    let mut kw = Dict::new();
    kw.insert("bin".into(), Value::Binary(vec![0, 1, 2, 255]));
    kw.insert("big".into(), Value::from(u64::MAX));
    kw.insert("neg".into(), Value::from(i64::MIN));
    kw.insert(
        "nested".into(),
        Value::List(vec![Value::Null, Value::Float(1.5), "ü".into()]),
    );
    Payload::from_values(
        vec![Value::from(1), Value::from("two"), Value::Bool(true)],
        kw,
    )
}

fn args_only() -> Payload {
    Payload::from_values(vec![Value::from(42)], Dict::new())
}

fn all_messages() -> Vec<Message> {
    let mut roles = Dict::new();
    roles.insert(
        "caller".into(),
        options::role_entry(&["progressive_call_results"]),
    );
    let mut unknown = CallOptions::new()
        .with_timeout(1000)
        .with_receive_progress(true);
    unknown.insert("x_vendor", Value::from("kept"));
    vec![
        Hello {
            realm: uri("realm1"),
            details: HelloDetails::new()
                .with_roles(roles.clone())
                .with_authmethods(vec!["ticket".into(), "anonymous".into()])
                .with_authid("alice".into()),
        }
        .into(),
        Welcome {
            session: Id::MAX,
            details: WelcomeDetails::new()
                .with_roles(roles)
                .with_authrole("user".into()),
        }
        .into(),
        Abort {
            details: CloseDetails::new().with_message("no".into()),
            reason: uri("wamp.error.no_such_realm"),
        }
        .into(),
        Challenge {
            auth_method: "wampcra".into(),
            extra: AuthExtra::new()
                .with_challenge("{}".into())
                .with_iterations(1000),
        }
        .into(),
        Authenticate {
            signature: "sig".into(),
            extra: AuthExtra::new(),
        }
        .into(),
        Goodbye {
            details: CloseDetails::new(),
            reason: uri("wamp.close.close_realm"),
        }
        .into(),
        ErrorMessage {
            request_type: MessageType::Call,
            request: id(7),
            details: ErrorDetails::new(),
            error: uri("com.app.error"),
            payload: payload(),
        }
        .into(),
        ErrorMessage {
            request_type: MessageType::Subscribe,
            request: id(7),
            details: ErrorDetails::new(),
            error: uri("wamp.error.not_authorized"),
            payload: Payload::empty(),
        }
        .into(),
        Publish {
            request: id(1),
            options: PublishOptions::new()
                .with_acknowledge(true)
                .with_exclude(vec![id(5)])
                .with_eligible_authrole(vec!["a".into()]),
            topic: uri("com.topic"),
            payload: payload(),
        }
        .into(),
        Publish {
            request: id(1),
            options: PublishOptions::new(),
            topic: uri("com.topic"),
            payload: Payload::empty(),
        }
        .into(),
        Published {
            request: id(1),
            publication: id(99),
        }
        .into(),
        Subscribe {
            request: id(2),
            options: SubscribeOptions::new().with_match(MatchPolicy::Wildcard),
            topic: uri("com..topic"),
        }
        .into(),
        Subscribe {
            request: id(2),
            options: SubscribeOptions::new()
                .with_match(MatchPolicy::Prefix)
                .with_get_retained(true),
            topic: uri("com."),
        }
        .into(),
        Subscribed {
            request: id(2),
            subscription: id(3),
        }
        .into(),
        Unsubscribe {
            request: id(4),
            subscription: id(3),
        }
        .into(),
        Unsubscribed {
            request: 4,
            details: None,
        }
        .into(),
        Unsubscribed {
            request: 0,
            details: Some(
                UnsubscribedDetails::new()
                    .with_subscription(id(3))
                    .with_reason("gone".into()),
            ),
        }
        .into(),
        Event {
            subscription: id(3),
            publication: id(99),
            details: EventDetails::new()
                .with_publisher(id(8))
                .with_topic(uri("com.x.topic")),
            payload: payload(),
        }
        .into(),
        Event {
            subscription: id(3),
            publication: id(99),
            details: EventDetails::new(),
            payload: args_only(),
        }
        .into(),
        Call {
            request: id(10),
            options: unknown,
            procedure: uri("com.proc"),
            payload: payload(),
        }
        .into(),
        Call {
            request: id(10),
            options: CallOptions::new(),
            procedure: uri("com.proc"),
            payload: Payload::empty(),
        }
        .into(),
        Cancel {
            request: id(10),
            options: CancelOptions::new().with_mode(CancelMode::KillNoWait),
        }
        .into(),
        ResultMessage {
            request: id(10),
            details: ResultDetails::new().with_progress(true),
            payload: payload(),
        }
        .into(),
        ResultMessage {
            request: id(10),
            details: ResultDetails::new(),
            payload: Payload::empty(),
        }
        .into(),
        Register {
            request: id(11),
            options: RegisterOptions::new()
                .with_match(MatchPolicy::Prefix)
                .with_invoke(InvokePolicy::RoundRobin),
            procedure: uri("com."),
        }
        .into(),
        Registered {
            request: id(11),
            registration: id(12),
        }
        .into(),
        Unregister {
            request: id(13),
            registration: id(12),
        }
        .into(),
        Unregistered {
            request: 13,
            details: None,
        }
        .into(),
        Unregistered {
            request: 0,
            details: Some(UnregisteredDetails::new().with_registration(id(12))),
        }
        .into(),
        Invocation {
            request: id(14),
            registration: id(12),
            details: InvocationDetails::new()
                .with_caller(id(1))
                .with_procedure(uri("com.p"))
                .with_receive_progress(true),
            payload: payload(),
        }
        .into(),
        Interrupt {
            request: id(14),
            options: InterruptOptions::new().with_mode(CancelMode::Kill),
        }
        .into(),
        Yield {
            request: id(14),
            options: YieldOptions::new().with_progress(true),
            payload: payload(),
        }
        .into(),
        Yield {
            request: id(14),
            options: YieldOptions::new(),
            payload: args_only(),
        }
        .into(),
    ]
}

#[test]
fn every_message_round_trips_in_every_serializer() {
    let messages = all_messages();
    let mut seen = std::collections::HashSet::new();
    for msg in &messages {
        seen.insert(msg.message_type());
        for ser in Serializer::ALL {
            let bytes = ser
                .encode(msg)
                .unwrap_or_else(|e| panic!("{ser} encode {msg:?}: {e}"));
            let back = ser
                .decode(Bytes::from(bytes.clone()))
                .unwrap_or_else(|e| panic!("{ser} decode {msg:?}: {e}"));
            assert_eq!(&back, msg, "{ser}");
            // Re-encoding a decoded message copies its payload bytes: identical output.
            assert_eq!(
                ser.encode(&back).expect("re-encode"),
                bytes,
                "{ser} re-encode"
            );
        }
    }
    assert_eq!(seen.len(), 24, "every message type is covered");
}

#[test]
fn payloads_transcode_between_serializers() {
    for from in Serializer::ALL {
        let msg: Message = Event {
            subscription: id(1),
            publication: id(2),
            details: EventDetails::new(),
            payload: payload(),
        }
        .into();
        let decoded = from
            .decode(from.encode(&msg).expect("encode").into())
            .expect("decode");
        for to in Serializer::ALL {
            let again = to
                .decode(to.encode(&decoded).expect("encode").into())
                .expect("decode");
            assert_eq!(again, msg, "{from} -> {to}");
        }
    }
}

#[test]
fn typed_payloads_skip_the_dynamic_value() {
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Kw {
        name: String,
        data: Binary,
        count: u64,
    }
    let kw = Kw {
        name: "x".into(),
        data: Binary(vec![9, 8]),
        count: u64::MAX,
    };
    for ser in Serializer::ALL {
        let p = Payload::encode_args(ser, &(1u8, "a"))
            .and_then(|p| p.with_encoded_kwargs(ser, &kw))
            .expect("encode");
        let msg: Message = Call {
            request: id(1),
            options: CallOptions::new(),
            procedure: uri("p"),
            payload: p,
        }
        .into();
        let back = ser
            .decode(ser.encode(&msg).expect("encode").into())
            .expect("decode");
        let Message::Call(call) = back else {
            panic!("not a call")
        };
        assert_eq!(
            call.payload.args::<(u8, String)>().expect("args"),
            (1, "a".to_owned())
        );
        assert_eq!(call.payload.kwargs::<Kw>().expect("kwargs"), kw);
        let err = call.payload.args::<(String,)>().expect_err("wrong type");
        assert!(err.to_string().contains("arguments"), "{err}");
    }
    assert_eq!(
        Payload::encode_args(Serializer::Json, &5).err(),
        Some(EncodeError::ArgsNotAList)
    );
    assert_eq!(
        Payload::empty()
            .with_encoded_kwargs(Serializer::Cbor, &[1])
            .err(),
        Some(EncodeError::KwargsNotADict)
    );
}

/// One bad input and a fragment of the error it must produce.
fn check_error(ser: Serializer, input: &[u8], expected: &str) {
    match ser.decode(Bytes::copy_from_slice(input)) {
        Ok(m) => {
            panic!("{ser}: {input:?} decoded to {m:?}, expected error containing {expected:?}")
        }
        Err(e) => assert!(
            e.to_string().contains(expected),
            "{ser}: {input:?}: error {e:?} does not contain {expected:?}"
        ),
    }
}

#[test]
fn json_decode_errors() {
    let j = Serializer::Json;
    for (input, expected) in [
        (&b""[..], "malformed json"),
        (b"{}", "must be a list"),
        (b"[", "malformed json"),
        (b"[]", "empty message"),
        (b"[\"x\"]", "message type"),
        (b"[99, 1]", "unknown message type 99"),
        (
            b"[48, 1, {}]",
            "CALL message has 3 elements, expected 4 to 6",
        ),
        (b"[48, 0, {}, \"p\"]", "CALL.Request: ID 0 is outside"),
        (b"[48, 9007199254740993, {}, \"p\"]", "outside 1..=2^53"),
        (b"[48, 1, [], \"p\"]", "CALL.Options: expected a dictionary"),
        (
            b"[48, 1, {\"timeout\": \"soon\"}, \"p\"]",
            "CALL.Options.timeout: expected a non-negative integer, got string",
        ),
        (b"[48, 1, {}, \"bad uri\"]", "CALL.Procedure"),
        (b"[48, 1, {}, \"a..b\"]", "empty component"),
        (b"[48, 1, {}, \"p\", {}]", "CALL.Arguments: expected a list"),
        (
            b"[48, 1, {}, \"p\", [], []]",
            "CALL.ArgumentsKw: expected a dictionary",
        ),
        (
            b"[32, 1, {\"match\": \"regex\"}, \"t\"]",
            "SUBSCRIBE.Options.match",
        ),
        (b"[32, 1, {}, \"a..b\"]", "empty component"),
        (
            b"[8, 99, 1, {}, \"e\"]",
            "ERROR.REQUEST.Type: unknown message type 99",
        ),
        (b"[35, 0]", "UNSUBSCRIBED.Request"),
        (b"[1, \"realm1\", {\"roles\": 5}]", "HELLO.Details.roles"),
        (b"[48, 1, {}, \"p\", [\"\\u0000!!\"]]", ""),
    ] {
        if expected.is_empty() {
            // Bad base64 surfaces when the arguments are read, not when routing.
            let msg = j.decode(Bytes::copy_from_slice(input)).expect("routable");
            let Message::Call(c) = msg else { panic!() };
            assert!(c.payload.args_values().is_err());
            continue;
        }
        check_error(j, input, expected);
    }
    let deep = format!("[48,1,{{}},\"p\",[{}{}]]", "[".repeat(200), "]".repeat(200));
    check_error(j, deep.as_bytes(), "deeper");
}

#[test]
fn binary_decode_errors() {
    for ser in [Serializer::MsgPack, Serializer::Cbor] {
        let good = ser
            .encode(
                &Call {
                    request: id(1),
                    options: CallOptions::new(),
                    procedure: uri("p"),
                    payload: payload(),
                }
                .into(),
            )
            .expect("encode");
        // Every truncation is an error, never a panic.
        for cut in 0..good.len() {
            assert!(
                ser.decode(Bytes::copy_from_slice(&good[..cut])).is_err(),
                "{ser} cut {cut}"
            );
        }
        let mut trailing = good.clone();
        trailing.push(0);
        check_error(ser, &trailing, "trailing");
        // Random garbage never panics.
        let mut state = 0x1234_5678_u32;
        for _ in 0..2000 {
            let len = (state % 40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    state as u8
                })
                .collect();
            let _ = ser.decode(Bytes::from(bytes));
        }
    }
    // Deep nesting is refused before a recursive decoder sees it.
    let mut deep = vec![0x95, 0x30, 0x01, 0x80, 0xa1, b'p'];
    deep.extend(std::iter::repeat_n(0x91, 100_000));
    deep.push(0xc0);
    check_error(Serializer::MsgPack, &deep, "deeper");
    let mut deep = vec![0x85, 0x18, 0x30, 0x01, 0xa0, 0x61, b'p'];
    deep.extend(std::iter::repeat_n(0x81, 100_000));
    deep.push(0xf6);
    check_error(Serializer::Cbor, &deep, "deeper");
    // A huge declared length with no data behind it.
    check_error(
        Serializer::MsgPack,
        &[0xdd, 0xff, 0xff, 0xff, 0xff],
        "truncated",
    );
    check_error(
        Serializer::Cbor,
        &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        "truncated",
    );
}

#[test]
fn secrets_are_not_in_debug_output() {
    let m: Message = Authenticate {
        signature: "hunter2".into(),
        extra: AuthExtra::new(),
    }
    .into();
    assert!(!format!("{m:?}").contains("hunter2"));
}
