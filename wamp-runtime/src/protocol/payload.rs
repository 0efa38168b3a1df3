//! Arguments and keyword arguments, kept in wire form until someone asks for them.
//!
//! A payload decoded from the wire is not parsed into [`Value`]s: it keeps the exact bytes
//! of its `Arguments` and `ArgumentsKw` elements together with the serializer they are in.
//! Reading them as a Rust type deserializes straight from those bytes, and re-encoding
//! them with the same serializer (a router forwarding an event) copies the bytes. Only a
//! hop between different serializers goes through [`Value`]. Payloads built from Rust
//! values are encoded once, straight to the serializer the session uses.

use std::fmt;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::{ConvertError, EncodeError, PayloadError};
use super::value::{Dict, List, Value};
use crate::serializer::Serializer;

/// One of the two payload elements.
#[derive(Clone)]
enum Part {
    /// Exactly the bytes of a list or dictionary in `serializer`'s format.
    Encoded(Serializer, Bytes),
    /// A dynamic value (a `List` for arguments, a `Dict` for keyword arguments).
    Value(Value),
}

/// The `Arguments|list` and `ArgumentsKw|dict` of a message.
///
/// Cheap to clone: encoded parts are reference-counted bytes.
#[derive(Clone, Default)]
pub struct Payload {
    args: Option<Part>,
    kwargs: Option<Part>,
}

impl Payload {
    /// No arguments at all.
    pub fn empty() -> Self {
        Self::default()
    }

    /// A payload of dynamic values. Empty keyword arguments are left out, and so are
    /// empty positional arguments when there are no keyword arguments.
    pub fn from_values(args: List, kwargs: Dict) -> Self {
        let kwargs = (!kwargs.is_empty()).then(|| Part::Value(Value::Dict(kwargs)));
        let args = (!args.is_empty() || kwargs.is_some()).then(|| Part::Value(Value::List(args)));
        Payload { args, kwargs }
    }

    /// Positional arguments encoded from any serializable list-like value (a tuple, an
    /// array, a `Vec`), straight into `serializer`'s format.
    pub fn encode_args<A>(serializer: Serializer, args: &A) -> Result<Self, EncodeError>
    where
        A: Serialize + ?Sized,
    {
        Payload::empty().with_encoded_args(serializer, args)
    }

    /// Sets the positional arguments, encoded straight into `serializer`'s format.
    pub fn with_encoded_args<A>(
        mut self,
        serializer: Serializer,
        args: &A,
    ) -> Result<Self, EncodeError>
    where
        A: Serialize + ?Sized,
    {
        let bytes = serializer.encode_value_bytes(args, "arguments")?;
        if !serializer.is_list(&bytes) {
            return Err(EncodeError::ArgsNotAList);
        }
        self.args = Some(Part::Encoded(serializer, bytes));
        Ok(self)
    }

    /// Adds keyword arguments encoded from any serializable struct or map.
    pub fn with_encoded_kwargs<K>(
        mut self,
        serializer: Serializer,
        kwargs: &K,
    ) -> Result<Self, EncodeError>
    where
        K: Serialize + ?Sized,
    {
        let bytes = serializer.encode_value_bytes(kwargs, "keyword arguments")?;
        if !serializer.is_dict(&bytes) {
            return Err(EncodeError::KwargsNotADict);
        }
        if self.args.is_none() {
            self.args = Some(Part::Value(Value::List(Vec::new())));
        }
        self.kwargs = Some(Part::Encoded(serializer, bytes));
        Ok(self)
    }

    /// Wraps encoded elements taken from a decoded message. The caller has checked that
    /// `args` is a list and `kwargs` a dictionary.
    pub(crate) fn from_encoded(
        serializer: Serializer,
        args: Option<Bytes>,
        kwargs: Option<Bytes>,
    ) -> Self {
        Payload {
            args: args.map(|b| Part::Encoded(serializer, b)),
            kwargs: kwargs.map(|b| Part::Encoded(serializer, b)),
        }
    }

    /// Whether the message carries an `Arguments` element.
    pub fn has_args(&self) -> bool {
        self.args.is_some()
    }

    /// Whether the message carries an `ArgumentsKw` element.
    pub fn has_kwargs(&self) -> bool {
        self.kwargs.is_some()
    }

    /// Whether neither element is present.
    pub fn is_empty(&self) -> bool {
        self.args.is_none() && self.kwargs.is_none()
    }

    /// The positional arguments as a Rust type (a tuple, a `Vec`, a struct deserialized
    /// from a sequence, ...). Absent arguments read as an empty list.
    pub fn args<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        read_part(self.args.as_ref(), "arguments", || Value::List(Vec::new()))
    }

    /// The keyword arguments as a Rust type (a struct, a map). Absent keyword arguments
    /// read as an empty dictionary.
    pub fn kwargs<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        read_part(self.kwargs.as_ref(), "keyword arguments", || {
            Value::Dict(Dict::new())
        })
    }

    /// The positional arguments as dynamic values. A value WAMP's data model has no form
    /// for (a MessagePack extension type, a string that is not UTF-8, CBOR `undefined`, ...)
    /// is an error naming it, never a silently different value.
    pub fn args_values(&self) -> Result<List, PayloadError> {
        match read_values(self.args.as_ref(), "arguments")? {
            Some(Value::List(list)) => Ok(list),
            _ => self.args(),
        }
    }

    /// The keyword arguments as dynamic values (checked like [`Payload::args_values`]).
    pub fn kwargs_values(&self) -> Result<Dict, PayloadError> {
        match read_values(self.kwargs.as_ref(), "keyword arguments")? {
            Some(Value::Dict(dict)) => Ok(dict),
            _ => self.kwargs(),
        }
    }

    /// How many elements the payload adds to a message: 0, 1 or 2.
    pub(crate) fn arity(&self) -> usize {
        match (&self.args, &self.kwargs) {
            (None, None) => 0,
            (_, None) => 1,
            (_, Some(_)) => 2,
        }
    }

    /// About how many bytes the payload holds: the exact length of encoded parts, an
    /// estimate for dynamic ones. What the router counts against a session's outbound
    /// queue bytes.
    pub(crate) fn approx_size(&self) -> usize {
        [&self.args, &self.kwargs]
            .into_iter()
            .flatten()
            .map(|part| match part {
                Part::Encoded(_, bytes) => bytes.len(),
                Part::Value(v) => approx_value_size(v),
            })
            .sum()
    }

    /// Appends the payload elements to a message being encoded with `serializer`.
    pub(crate) fn write_to(
        &self,
        w: &mut crate::serializer::MessageWriter,
    ) -> Result<(), EncodeError> {
        let empty = Part::Value(Value::List(Vec::new()));
        let args = match (&self.args, &self.kwargs) {
            (None, None) => return Ok(()),
            (Some(a), _) => a,
            (None, Some(_)) => &empty,
        };
        write_part(w, args, "arguments")?;
        if let Some(kw) = &self.kwargs {
            write_part(w, kw, "keyword arguments")?;
        }
        Ok(())
    }

    /// Whether writing the payload with `serializer` only copies bytes: every part is
    /// already encoded in it (or there is no part).
    pub fn is_encoded_in(&self, serializer: Serializer) -> bool {
        [&self.args, &self.kwargs]
            .into_iter()
            .flatten()
            .all(|part| matches!(part, Part::Encoded(s, _) if *s == serializer))
    }

    /// The payload with every part encoded in `to`, or why it has no form there.
    ///
    /// This is the router's conversion between serializers, done once when a message is
    /// routed rather than in each recipient's writer: a value the sender's format allows
    /// but `to` does not (NaN for JSON, a MessagePack extension type, a dictionary key
    /// that is not a string, a JSON number beyond `f64`, ...) is found here, while the
    /// router can still refuse the message to its sender or drop one delivery, instead of
    /// failing in the writer of a recipient who did nothing wrong. Parts already in `to`
    /// are shared, not copied.
    pub fn convert_to(&self, to: Serializer) -> Result<Payload, ConvertError> {
        let convert =
            |part: &Option<Part>, what: &'static str| -> Result<Option<Part>, ConvertError> {
                let Some(part) = part else {
                    return Ok(None);
                };
                let bytes = match part {
                    Part::Encoded(s, _) if *s == to => return Ok(Some(part.clone())),
                    Part::Encoded(from, bytes) => {
                        let value = crate::serializer::wamp_value(*from, bytes)
                            .map_err(|reason| ConvertError::new(what, *from, to, reason))?;
                        to.encode_value_bytes(&value, what)
                            .map_err(|e| ConvertError::new(what, *from, to, encode_reason(e)))?
                    }
                    Part::Value(v) => to
                        .encode_value_bytes(v, what)
                        .map_err(|e| ConvertError::new(what, to, to, encode_reason(e)))?,
                };
                Ok(Some(Part::Encoded(to, bytes)))
            };
        Ok(Payload {
            args: convert(&self.args, "arguments")?,
            kwargs: convert(&self.kwargs, "keyword arguments")?,
        })
    }

    /// The payload converted to dynamic values, for comparisons and debugging.
    fn to_values(&self) -> Result<(Option<Value>, Option<Value>), PayloadError> {
        let conv = |p: &Option<Part>, what| p.as_ref().map(|p| part_value(p, what)).transpose();
        Ok((
            conv(&self.args, "arguments")?,
            conv(&self.kwargs, "keyword arguments")?,
        ))
    }
}

/// What the serializer said, without the "cannot encode ... as ..." the caller adds itself.
fn encode_reason(e: EncodeError) -> String {
    match e {
        EncodeError::Serialize { reason, .. } => reason,
        other => other.to_string(),
    }
}

fn part_value(part: &Part, what: &'static str) -> Result<Value, PayloadError> {
    match part {
        Part::Value(v) => Ok(v.clone()),
        Part::Encoded(ser, bytes) => ser.decode_checked(bytes).map_err(|e| PayloadError {
            part: what,
            reason: e.to_string(),
        }),
    }
}

/// An estimate of a dynamic value's encoded size (9 bytes a scalar, the length of strings
/// and binaries). Nesting is bounded by decoding, so the recursion is too.
fn approx_value_size(v: &Value) -> usize {
    match v {
        Value::String(s) => 9 + s.len(),
        Value::Binary(b) => 9 + b.len(),
        Value::List(l) => 9 + l.iter().map(approx_value_size).sum::<usize>(),
        Value::Dict(d) => {
            9 + d
                .iter()
                .map(|(k, v)| 9 + k.len() + approx_value_size(v))
                .sum::<usize>()
        }
        _ => 9,
    }
}

/// An encoded part read as a dynamic value through the data-model checks; `None` for
/// parts that are not encoded (or absent).
fn read_values(part: Option<&Part>, what: &'static str) -> Result<Option<Value>, PayloadError> {
    match part {
        Some(Part::Encoded(ser, bytes)) => crate::serializer::wamp_value(*ser, bytes)
            .map(Some)
            .map_err(|reason| PayloadError { part: what, reason }),
        _ => Ok(None),
    }
}

fn read_part<T: DeserializeOwned>(
    part: Option<&Part>,
    what: &'static str,
    empty: impl FnOnce() -> Value,
) -> Result<T, PayloadError> {
    let err = |reason: String| PayloadError { part: what, reason };
    match part {
        Some(Part::Encoded(ser, bytes)) => {
            ser.decode_checked(bytes).map_err(|e| err(e.to_string()))
        }
        Some(Part::Value(v)) => T::deserialize(v.clone()).map_err(|e| err(e.to_string())),
        None => T::deserialize(empty()).map_err(|e| err(e.to_string())),
    }
}

fn write_part(
    w: &mut crate::serializer::MessageWriter,
    part: &Part,
    what: &'static str,
) -> Result<(), EncodeError> {
    match part {
        Part::Encoded(ser, bytes) if *ser == w.serializer() => {
            w.raw(bytes);
            Ok(())
        }
        Part::Encoded(ser, bytes) => {
            // Another serializer's bytes: transcode through the dynamic model.
            let value: Value = ser
                .decode_checked(bytes)
                .map_err(|e| EncodeError::Serialize {
                    what,
                    format: ser.name(),
                    reason: e.to_string(),
                })?;
            w.element(&value, what)
        }
        Part::Value(v) => w.element(v, what),
    }
}

impl PartialEq for Payload {
    /// Compares what the payloads mean, not how they are encoded.
    fn eq(&self, other: &Self) -> bool {
        match (self.to_values(), other.to_values()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_values() {
            Ok((args, kwargs)) => f
                .debug_struct("Payload")
                .field("args", &args)
                .field("kwargs", &kwargs)
                .finish(),
            Err(e) => write!(f, "Payload(<undecodable: {e}>)"),
        }
    }
}
