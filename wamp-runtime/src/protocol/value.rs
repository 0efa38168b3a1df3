//! WAMP's dynamic data model: the values that may appear in arguments, keyword arguments
//! and option dictionaries.
//!
//! Binary data is the one type the serializers disagree on. MessagePack and CBOR carry it
//! natively; JSON has no byte strings, so the spec encodes them as a text string made of a
//! NUL character followed by the standard base64 of the bytes. The serde impls here pick
//! the convention from [`serde::Serializer::is_human_readable`], so one `Value` (or one
//! [`Binary`] field in a user type) is right on every wire format.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// A dictionary with string keys, as used for options, details and keyword arguments.
pub type Dict = BTreeMap<String, Value>;

/// A list of values, as used for positional arguments.
pub type List = Vec<Value>;

/// Any value WAMP can carry.
///
/// Integers keep their full 64-bit range: non-negative integers that fit in an `i64` are
/// always stored as [`Value::Integer`] (whatever the wire encoding was), larger ones as
/// [`Value::UInteger`], so that equal numbers compare equal.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    /// The absence of a value (`null`, `nil`).
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer, or an unsigned one up to `i64::MAX`.
    Integer(i64),
    /// An unsigned integer above `i64::MAX`.
    UInteger(u64),
    /// A floating point number.
    Float(f64),
    /// A Unicode string.
    String(String),
    /// A byte string.
    Binary(Vec<u8>),
    /// An ordered list.
    List(List),
    /// A dictionary with string keys.
    Dict(Dict),
}

impl Value {
    /// The name of this value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Integer(_) | Value::UInteger(_) => "integer",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::Binary(_) => "binary",
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
        }
    }

    /// The value as a `u64`, if it is a non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Integer(i) => u64::try_from(i).ok(),
            Value::UInteger(u) => Some(u),
            _ => None,
        }
    }

    /// The value as an `i64`, if it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Integer(i) => Some(i),
            _ => None,
        }
    }

    /// The value as an `f64`, if it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Float(f) => Some(f),
            Value::Integer(i) => Some(i as f64),
            Value::UInteger(u) => Some(u as f64),
            _ => None,
        }
    }

    /// The value as a `bool`, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The value as a string slice, if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as bytes, if it is binary.
    pub fn as_binary(&self) -> Option<&[u8]> {
        match self {
            Value::Binary(b) => Some(b),
            _ => None,
        }
    }

    /// The value as a list, if it is one.
    pub fn as_list(&self) -> Option<&List> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// The value as a dictionary, if it is one.
    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Value::Dict(d) => Some(d),
            _ => None,
        }
    }

    /// Whether the value is `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

macro_rules! value_from {
    ($($t:ty => $variant:ident $(as $cast:ty)?),* $(,)?) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::$variant(v $(as $cast)?)
            }
        }
    )*};
}

value_from! {
    bool => Bool,
    i8 => Integer as i64,
    i16 => Integer as i64,
    i32 => Integer as i64,
    i64 => Integer,
    u8 => Integer as i64,
    u16 => Integer as i64,
    u32 => Integer as i64,
    f32 => Float as f64,
    f64 => Float,
    String => String,
    Vec<u8> => Binary,
    List => List,
    Dict => Dict,
}

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        match i64::try_from(v) {
            Ok(i) => Value::Integer(i),
            Err(_) => Value::UInteger(v),
        }
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.to_owned())
    }
}

impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Binary(v.to_vec())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// The marker that starts a binary value in WAMP's JSON convention.
const JSON_BINARY_PREFIX: char = '\u{0}';

/// Encodes bytes in WAMP's JSON binary convention (`"\u0000" + base64`).
pub fn binary_to_json_string(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(1 + bytes.len().div_ceil(3) * 4);
    s.push(JSON_BINARY_PREFIX);
    base64::engine::general_purpose::STANDARD.encode_string(bytes, &mut s);
    s
}

/// Decodes a string in WAMP's JSON binary convention. `None` if the string does not start
/// with the NUL marker (it is an ordinary string); an error if the base64 after it is bad.
pub fn binary_from_json_string(s: &str) -> Option<Result<Vec<u8>, base64::DecodeError>> {
    s.strip_prefix(JSON_BINARY_PREFIX)
        .map(|b64| base64::engine::general_purpose::STANDARD.decode(b64))
}

fn serialize_binary<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    if s.is_human_readable() {
        s.serialize_str(&binary_to_json_string(bytes))
    } else {
        s.serialize_bytes(bytes)
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Integer(i) => s.serialize_i64(*i),
            Value::UInteger(u) => s.serialize_u64(*u),
            // JSON has no NaN or infinity (serde_json would write `null`): refuse, never
            // change the value silently. Binary formats carry them as they are.
            Value::Float(f) if !f.is_finite() && s.is_human_readable() => {
                Err(serde::ser::Error::custom(format!(
                    "{f} is not a finite number, which JSON cannot represent"
                )))
            }
            Value::Float(f) => s.serialize_f64(*f),
            // In JSON a string starting with NUL is binary (WAMP's convention): a string
            // from MessagePack or CBOR that starts with one has no JSON form.
            Value::String(v) if v.starts_with(JSON_BINARY_PREFIX) && s.is_human_readable() => {
                Err(serde::ser::Error::custom(
                    "a string starting with NUL (U+0000) has no JSON form (WAMP's JSON reads it as binary)",
                ))
            }
            Value::String(v) => s.serialize_str(v),
            Value::Binary(b) => serialize_binary(b, s),
            Value::List(l) => {
                let mut seq = s.serialize_seq(Some(l.len()))?;
                for v in l {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Value::Dict(d) => {
                let mut map = s.serialize_map(Some(d.len()))?;
                for (k, v) in d {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

/// Reads any value. `binary_strings`: strings starting with NUL are WAMP's JSON binary
/// convention (only in human-readable formats; in MessagePack and CBOR they are strings).
struct ValueVisitor {
    binary_strings: bool,
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a WAMP value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Integer(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        if let Ok(i) = i64::try_from(v) {
            Ok(Value::Integer(i))
        } else if let Ok(u) = u64::try_from(v) {
            Ok(Value::UInteger(u))
        } else {
            Err(E::custom(format!(
                "integer {v} is outside the 64-bit range"
            )))
        }
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        u64::try_from(v)
            .map(Value::from)
            .map_err(|_| E::custom(format!("integer {v} is outside the 64-bit range")))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        if !self.binary_strings {
            return Ok(Value::String(v.to_owned()));
        }
        match binary_from_json_string(v) {
            Some(Ok(bytes)) => Ok(Value::Binary(bytes)),
            Some(Err(e)) => Err(E::custom(format!("invalid base64 in a binary string: {e}"))),
            None => Ok(Value::String(v.to_owned())),
        }
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        if self.binary_strings && v.starts_with(JSON_BINARY_PREFIX) {
            self.visit_str(&v)
        } else {
            Ok(Value::String(v))
        }
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Binary(v.to_vec()))
    }
    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Binary(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        // Never trust a length prefix from the wire for pre-allocation beyond a small bound.
        let mut list = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(v) = seq.next_element()? {
            list.push(v);
        }
        Ok(Value::List(list))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut dict = Dict::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            dict.insert(k, v);
        }
        Ok(Value::Dict(dict))
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let binary_strings = d.is_human_readable();
        d.deserialize_any(ValueVisitor { binary_strings })
    }
}

/// Bytes for use in typed payloads: serialized as native binary in MessagePack and CBOR
/// and as WAMP's `"\u0000" + base64` string in JSON, like [`Value::Binary`].
///
/// Use it in your own argument types where you would otherwise reach for `Vec<u8>`
/// (which serde writes as a list of numbers).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Binary(pub Vec<u8>);

impl Serialize for Binary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_binary(&self.0, s)
    }
}

impl<'de> Deserialize<'de> for Binary {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct BinaryVisitor;
        impl Visitor<'_> for BinaryVisitor {
            type Value = Binary;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("binary data (or a \"\\u0000\"-prefixed base64 string)")
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Binary, E> {
                Ok(Binary(v.to_vec()))
            }
            fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Binary, E> {
                Ok(Binary(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Binary, E> {
                match binary_from_json_string(v) {
                    Some(Ok(bytes)) => Ok(Binary(bytes)),
                    Some(Err(e)) => {
                        Err(E::custom(format!("invalid base64 in a binary string: {e}")))
                    }
                    None => Err(E::invalid_type(de::Unexpected::Str(v), &self)),
                }
            }
        }
        if d.is_human_readable() {
            d.deserialize_str(BinaryVisitor)
        } else {
            d.deserialize_bytes(BinaryVisitor)
        }
    }
}

impl From<Vec<u8>> for Binary {
    fn from(v: Vec<u8>) -> Self {
        Binary(v)
    }
}

impl From<Binary> for Value {
    fn from(b: Binary) -> Self {
        Value::Binary(b.0)
    }
}

/// Reading a [`Value`] as any Rust type, so that dynamic payloads and typed payloads share
/// one code path. Binary reads as bytes (it is not human-readable data).
impl<'de> Deserializer<'de> for Value {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        use de::value::{MapDeserializer, SeqDeserializer};
        match self {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Integer(i) => visitor.visit_i64(i),
            Value::UInteger(u) => visitor.visit_u64(u),
            Value::Float(f) => visitor.visit_f64(f),
            Value::String(s) => visitor.visit_string(s),
            Value::Binary(b) => visitor.visit_byte_buf(b),
            Value::List(l) => {
                let mut seq = SeqDeserializer::new(l.into_iter());
                let v = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(v)
            }
            Value::Dict(d) => {
                let mut map = MapDeserializer::new(d.into_iter());
                let v = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(v)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(other),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        use de::IntoDeserializer;
        match self {
            Value::String(s) => visitor.visit_enum(s.into_deserializer()),
            Value::Dict(d) if d.len() == 1 => {
                visitor.visit_enum(de::value::MapAccessDeserializer::new(
                    de::value::MapDeserializer::new(d.into_iter()),
                ))
            }
            other => Err(de::Error::invalid_type(
                other.unexpected(),
                &"an enum variant",
            )),
        }
    }

    fn is_human_readable(&self) -> bool {
        false
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

impl Value {
    fn unexpected(&self) -> de::Unexpected<'_> {
        match self {
            Value::Null => de::Unexpected::Unit,
            Value::Bool(b) => de::Unexpected::Bool(*b),
            Value::Integer(i) => de::Unexpected::Signed(*i),
            Value::UInteger(u) => de::Unexpected::Unsigned(*u),
            Value::Float(f) => de::Unexpected::Float(*f),
            Value::String(s) => de::Unexpected::Str(s),
            Value::Binary(b) => de::Unexpected::Bytes(b),
            Value::List(_) => de::Unexpected::Seq,
            Value::Dict(_) => de::Unexpected::Map,
        }
    }
}

impl<'de> de::IntoDeserializer<'de, de::value::Error> for Value {
    type Deserializer = Value;
    fn into_deserializer(self) -> Value {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_normalise() {
        assert_eq!(Value::from(5u64), Value::Integer(5));
        assert_eq!(Value::from(u64::MAX), Value::UInteger(u64::MAX));
        assert_eq!(Value::from(-1i64).as_u64(), None);
    }

    #[test]
    fn binary_json_convention() {
        let v = Value::Binary(vec![0, 1, 2, 255]);
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(json, "\"\\u0000AAEC/w==\"");
        let back: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back, v);
        assert!(serde_json::from_str::<Value>("\"\\u0000!!\"").is_err());
    }

    #[test]
    fn typed_from_value() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Point {
            x: i32,
            y: Option<String>,
            data: Binary,
        }
        let mut d = Dict::new();
        d.insert("x".into(), Value::from(3));
        d.insert("data".into(), Value::Binary(vec![1]));
        let p = Point::deserialize(Value::Dict(d)).unwrap();
        assert_eq!(
            p,
            Point {
                x: 3,
                y: None,
                data: Binary(vec![1])
            }
        );
        assert!(i32::deserialize(Value::from("no")).is_err());
    }
}
