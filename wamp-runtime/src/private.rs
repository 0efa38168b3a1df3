//! Items for generated code only (`wamp-codegen`'s output and `#[wamp::service]`), not
//! part of the public API: re-exports so that users need not depend on serde or
//! schemars themselves, and the small helpers the generated codecs call.

use std::fmt::Display;
use std::str::FromStr;

use serde::de::{self, DeserializeOwned, Deserializer, SeqAccess, Visitor};

use std::future::Future;
use std::sync::Arc;

use crate::client::{Error, Invocation, RegisterRequest, Session, WampError};
use crate::protocol::{EncodeError, Payload, PayloadError, Uri};
use crate::serializer::Serializer;
use crate::typed::Context;

pub use crate::{__call_error as call_error, __typed_call as typed_call};
pub use schemars;
pub use serde;
pub use wamp_macros::Wire;

/// Positional arguments as a struct, read tolerantly: extra trailing arguments are
/// ignored (a newer caller may send more), and an error names the argument.
pub fn decode_args<T: DeserializeOwned>(
    payload: &Payload,
    names: &[&str],
) -> Result<T, PayloadError> {
    payload
        .args::<Tracked<Tolerant<T>>>()
        .map(|t| t.0 .0)
        .map_err(|e| PayloadError {
            part: e.part,
            reason: name_positions(&e.reason, names),
        })
}

/// Keyword arguments as a struct (unknown keys are ignored by the generated structs); an
/// error names the key.
pub fn decode_kwargs<T: DeserializeOwned>(payload: &Payload) -> Result<T, PayloadError> {
    payload.kwargs::<Tracked<T>>().map(|t| t.0)
}

/// `...[1]: ...` → `...argument 2 (b): ...` (the first position in the reason).
fn name_positions(reason: &str, names: &[&str]) -> String {
    let mut from = 0;
    while let Some(open) = reason[from..].find('[').map(|i| i + from) {
        let rest = &reason[open + 1..];
        if let Some(close) = rest.find(']') {
            if let Ok(i) = rest[..close].parse::<usize>() {
                let tail = &rest[close + 1..];
                let tail = tail.strip_prefix('.').unwrap_or(tail);
                let what = match names.get(i) {
                    Some(name) => format!("argument {} ({name})", i + 1),
                    None => format!("argument {}", i + 1),
                };
                return format!("{}{what}{tail}", &reason[..open]);
            }
        }
        from = open + 1;
    }
    reason.to_string()
}

/// Deserializes `T` and prefixes an error with the path of the offending value
/// (`[1]`, `point.x`).
struct Tracked<T>(T);

impl<'de, T: de::Deserialize<'de>> de::Deserialize<'de> for Tracked<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut track = serde_path_to_error::Track::new();
        match T::deserialize(serde_path_to_error::Deserializer::new(
            deserializer,
            &mut track,
        )) {
            Ok(v) => Ok(Tracked(v)),
            Err(e) => {
                let path = track.path().to_string();
                if path == "." || path.is_empty() {
                    Err(e)
                } else {
                    Err(de::Error::custom(format!("{path}: {e}")))
                }
            }
        }
    }
}

/// A struct read from a list, leaving extra trailing elements unread (and skipped).
struct Tolerant<T>(T);

impl<'de, T: de::Deserialize<'de>> de::Deserialize<'de> for Tolerant<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: de::Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Tolerant<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of arguments")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let value = T::deserialize(de::value::SeqAccessDeserializer::new(&mut seq))?;
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(Tolerant(value))
            }
        }
        deserializer.deserialize_seq(V(std::marker::PhantomData))
    }
}

/// For `skip_serializing_if` on borrowed optional fields.
pub fn is_none<T>(value: &&Option<T>) -> bool {
    value.is_none()
}

/// The ERROR for arguments that do not match the contract (the client's own mapping,
/// as a function generated code can pass to `map_err`).
pub fn invalid_argument(e: PayloadError) -> WampError {
    WampError::from(e)
}

/// The ERROR for a result the callee could not encode (the one untyped handlers send).
pub fn encode_failure(e: EncodeError) -> WampError {
    crate::client::encode_failure(&e)
}

/// The ERROR a callee answers with for a failure that is not a declared error: an
/// ERROR it got (from a nested call) goes on as is, anything else is a runtime error.
pub fn error_to_wamp(e: Error) -> WampError {
    match e {
        Error::Wamp(w) => w,
        Error::Payload(p) => invalid_argument(p),
        other => WampError::with_payload(
            Uri::from_static("wamp.error.runtime_error"),
            Payload::from_values(vec![other.to_string().into()], Default::default()),
        ),
    }
}

/// A failure a typed callee method returns, as the ERROR sent to its caller: a
/// procedure's error enum (its declared errors go out with their URI and payload), or the
/// runtime's [`Error`] for procedures that declare none.
pub trait IntoWampError {
    /// The ERROR, with a payload encoded in `serializer`.
    fn into_wamp_error(self, serializer: Serializer) -> WampError;
}

impl IntoWampError for Error {
    fn into_wamp_error(self, _serializer: Serializer) -> WampError {
        error_to_wamp(self)
    }
}

/// Registers one procedure of a typed service: `decode` reads the invocation's inputs (a
/// [`PayloadError`] becomes `wamp.error.invalid_argument` naming the argument), `call`
/// calls the service's method with a [`Context`] whose progress items `progress`
/// encodes; its result is encoded with `encode`, its error sent as the procedure's ERROR.
/// What every registration of a generated `serve` has in common, so that the generated
/// code holds only what differs: the codecs and the method.
#[allow(clippy::too_many_arguments)]
pub fn register<S, I, P, T, E, F, Fut>(
    session: &Session,
    procedure: Uri,
    service: &Arc<S>,
    decode: fn(&Payload) -> Result<I, PayloadError>,
    encode: fn(&T, Serializer) -> Result<Payload, EncodeError>,
    progress: fn(&P, Serializer) -> Result<Payload, EncodeError>,
    call: F,
) -> RegisterRequest
where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, Context<P>, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    I: Send + 'static,
    P: 'static,
    T: Send + 'static,
    E: IntoWampError + Send + 'static,
{
    let service = Arc::clone(service);
    session.register(procedure, move |invocation: Invocation| {
        let serializer = invocation.serializer;
        let answer = decode(&invocation.payload).map(|input| {
            call(
                Arc::clone(&service),
                Context::new(invocation, progress),
                input,
            )
        });
        async move {
            match answer {
                Ok(answer) => match answer.await {
                    Ok(value) => encode(&value, serializer).map_err(encode_failure),
                    Err(error) => Err(error.into_wamp_error(serializer)),
                },
                Err(bad) => Err(invalid_argument(bad)),
            }
        }
    })
}

/// The encoder of a payload that is not there: a procedure without a result, or without
/// progressive results. It sends an empty payload.
pub fn encode_unit(_: &(), _: Serializer) -> Result<Payload, EncodeError> {
    Ok(Payload::empty())
}

/// The decoder of a payload that is not there: a procedure without inputs, or without a
/// result. Whatever the peer sent is ignored (an older contract may have had arguments; a
/// newer callee may return something).
pub fn decode_unit(_: &Payload) -> Result<(), PayloadError> {
    Ok(())
}

/// A capture's value as one URI component (no `.`, no whitespace, not empty).
pub fn capture<T: Display + ?Sized>(value: &T, name: &str) -> Result<String, Error> {
    let s = value.to_string();
    if s.is_empty() || s.contains(|c: char| c == '.' || c == '#' || c.is_whitespace()) {
        return Err(Error::InvalidCapture {
            name: name.to_string(),
            value: s,
        });
    }
    Ok(s)
}

/// Reads the capture at URI component `index` of a concrete topic.
pub fn capture_at<T>(topic: &str, index: usize, name: &str) -> Result<T, PayloadError>
where
    T: FromStr,
    T::Err: Display,
{
    let err = |reason: String| PayloadError {
        part: "topic",
        reason,
    };
    let component = topic.split('.').nth(index).ok_or_else(|| {
        err(format!(
            "`{topic}` has no component for the capture `{name}`"
        ))
    })?;
    component
        .parse()
        .map_err(|e| err(format!("capture `{name}` = `{component}`: {e}")))
}

/// The JSON Schema of an open enum: a string, with the known values as examples.
pub fn open_enum_schema(values: &[&str]) -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "examples": values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Two {
        a: f64,
        #[serde(default)]
        b: Option<String>,
    }

    #[test]
    fn positional_arguments_are_tolerant_and_errors_name_the_argument() {
        for ser in [Serializer::Json, Serializer::MsgPack, Serializer::Cbor] {
            let p = Payload::encode_args(ser, &(1.5, "x", 3, [4])).expect("encode");
            let two: Two = decode_args(&p, &["a", "b"]).expect("extra arguments are ignored");
            assert_eq!(
                two,
                Two {
                    a: 1.5,
                    b: Some("x".into())
                }
            );

            let p = Payload::encode_args(ser, &(1.5,)).expect("encode");
            let two: Two = decode_args(&p, &["a", "b"]).expect("a missing optional argument");
            assert_eq!(two.b, None);

            let p = Payload::encode_args(ser, &(1.5, 7)).expect("encode");
            let e = decode_args::<Two>(&p, &["a", "b"]).expect_err("b is not a string");
            assert!(e.reason.contains("argument 2 (b): "), "{ser:?}: {e}");

            let p = Payload::encode_args(ser, &Vec::<u8>::new()).expect("encode");
            assert!(
                decode_args::<Two>(&p, &["a", "b"]).is_err(),
                "a is required"
            );
        }
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Kw {
        inner: Inner,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Inner {
        x: u32,
    }

    #[test]
    fn keyword_errors_name_the_key_path() {
        let mut kw = crate::Dict::new();
        let mut inner = crate::Dict::new();
        inner.insert("x".into(), "nope".into());
        kw.insert("inner".into(), crate::Value::Dict(inner));
        let p = Payload::from_values(vec![], kw);
        let e = decode_kwargs::<Kw>(&p).expect_err("x is not a number");
        assert!(e.reason.contains("inner.x: "), "{e}");
    }

    #[test]
    fn captures() {
        assert_eq!(capture("dev1", "device").expect("valid"), "dev1");
        assert!(capture("a.b", "device").is_err());
        assert!(capture("", "device").is_err());
        let n: u64 = capture_at("com.x.42.cpu", 2, "id").expect("a number");
        assert_eq!(n, 42);
        assert!(capture_at::<u64>("com.x.y.cpu", 2, "id").is_err());
        assert!(capture_at::<u64>("com.x", 5, "id").is_err());
    }
}
