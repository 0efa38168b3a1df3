//! The three WAMP serializers: JSON, MessagePack and CBOR.
//!
//! A message is a list; each serializer knows three things about its format: how to write
//! one element, how to read one element, and where each element of the top-level list
//! starts and ends (`split`). Everything else (which elements a message has, what they
//! mean) lives in [`crate::protocol::message`], once for all formats. Splitting first is
//! what lets payloads stay in wire form ([`crate::protocol::Payload`]).
//!
//! No IO here: the transports feed frames in and take frames out.

mod cbor;
mod finite;
mod json;
mod lenient;
mod msgpack;

use std::ops::Range;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::protocol::{
    id::Id, message::MessageType, uri::Uri, uri::UriKind, DecodeError, EncodeError, Message,
    Payload, Value,
};

/// Lists and dictionaries nested deeper than this are refused when decoding, before any
/// recursive parser sees them.
pub const MAX_DEPTH: usize = 64;

/// A WAMP serializer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Serializer {
    /// `wamp.2.json`, text frames.
    Json,
    /// `wamp.2.msgpack`, binary frames.
    MsgPack,
    /// `wamp.2.cbor`, binary frames.
    Cbor,
}

impl Serializer {
    /// All serializers, in the default order of preference.
    pub const ALL: [Serializer; 3] = [Serializer::Json, Serializer::MsgPack, Serializer::Cbor];

    /// The WebSocket subprotocol name.
    pub fn subprotocol(self) -> &'static str {
        match self {
            Serializer::Json => "wamp.2.json",
            Serializer::MsgPack => "wamp.2.msgpack",
            Serializer::Cbor => "wamp.2.cbor",
        }
    }

    /// The serializer for a WebSocket subprotocol name.
    pub fn from_subprotocol(name: &str) -> Option<Serializer> {
        Serializer::ALL
            .into_iter()
            .find(|s| s.subprotocol() == name)
    }

    /// The RawSocket serializer ID (1 JSON, 2 MessagePack, 3 CBOR).
    pub fn rawsocket_id(self) -> u8 {
        match self {
            Serializer::Json => 1,
            Serializer::MsgPack => 2,
            Serializer::Cbor => 3,
        }
    }

    /// The serializer for a RawSocket serializer ID.
    pub fn from_rawsocket_id(id: u8) -> Option<Serializer> {
        Serializer::ALL.into_iter().find(|s| s.rawsocket_id() == id)
    }

    /// A short name: `json`, `msgpack`, `cbor`.
    pub fn name(self) -> &'static str {
        match self {
            Serializer::Json => "json",
            Serializer::MsgPack => "msgpack",
            Serializer::Cbor => "cbor",
        }
    }

    /// Parses a short name (`json`, `msgpack`, `cbor`).
    pub fn from_name(name: &str) -> Option<Serializer> {
        Serializer::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Whether frames are binary (WebSocket binary frames).
    pub fn is_binary(self) -> bool {
        !matches!(self, Serializer::Json)
    }

    /// Encodes a message.
    pub fn encode(self, msg: &Message) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(64);
        self.encode_into(msg, &mut out)?;
        Ok(out)
    }

    /// Encodes a message into `out` (cleared first); `out` keeps what was written even
    /// when encoding fails part way.
    fn encode_into(self, msg: &Message, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let mut w = MessageWriter::with_buffer(self, msg.arity(), std::mem::take(out));
        let written = w
            .element(&msg.message_type().code(), "message type")
            .and_then(|()| msg.write_elements(&mut w));
        *out = w.finish();
        written
    }

    /// Decodes a message. The payload keeps referring to `frame`'s bytes.
    pub fn decode(self, frame: Bytes) -> Result<Message, DecodeError> {
        let ranges = split(self, &frame)?;
        if ranges.is_empty() {
            return Err(DecodeError::Empty);
        }
        let first = &frame[ranges[0].clone()];
        let code: u64 = match small_uint(self, first) {
            Some(code) => code,
            None => self
                .decode_checked(first)
                .map_err(|_| DecodeError::Malformed {
                    format: self.name(),
                    reason: "the message type is not a non-negative integer".into(),
                })?,
        };
        let message_type = MessageType::from_code(code).ok_or(DecodeError::UnknownType(code))?;
        let reader = ElementReader {
            serializer: self,
            frame: &frame,
            ranges: &ranges,
            message_type,
        };
        Message::read(&reader)
    }

    /// Encodes a message into exactly-sized shared bytes (what transports send).
    pub fn encode_bytes(self, msg: &Message) -> Result<Bytes, EncodeError> {
        with_scratch(|out| self.encode_into(msg, out))
    }

    /// [`Serializer::encode_value`] into exactly-sized shared bytes.
    pub fn encode_value_bytes<T: Serialize + ?Sized>(
        self,
        value: &T,
        what: &'static str,
    ) -> Result<Bytes, EncodeError> {
        with_scratch(|out| self.write_value(out, value, what))
    }

    /// Encodes any serializable value in this format. Structs become dictionaries.
    pub fn encode_value<T: Serialize + ?Sized>(
        self,
        value: &T,
        what: &'static str,
    ) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.write_value(&mut out, value, what)?;
        Ok(out)
    }

    fn write_value<T: Serialize + ?Sized>(
        self,
        out: &mut Vec<u8>,
        value: &T,
        what: &'static str,
    ) -> Result<(), EncodeError> {
        let result = match self {
            // Through `Finite`: NaN and infinities are an error, not a silent `null`.
            Serializer::Json => {
                serde_json::to_writer(&mut *out, &finite::Finite(value)).map_err(|e| e.to_string())
            }
            Serializer::MsgPack => {
                rmp_serde::encode::write_named(out, value).map_err(|e| e.to_string())
            }
            Serializer::Cbor => ciborium::into_writer(value, &mut *out).map_err(|e| e.to_string()),
        };
        result.map_err(|reason| EncodeError::Serialize {
            what,
            format: self.name(),
            reason,
        })
    }

    /// Decodes one value in this format, refusing malformed, truncated or too deeply
    /// nested input and trailing bytes.
    pub fn decode_value<T: DeserializeOwned>(self, bytes: &[u8]) -> Result<T, DecodeError> {
        let checked = match self {
            Serializer::Json => Ok(bytes.len()),
            Serializer::MsgPack => msgpack::skip(bytes),
            Serializer::Cbor => cbor::skip(bytes),
        };
        match checked {
            Ok(len) if len == bytes.len() => self.decode_checked(bytes),
            Ok(len) => Err(DecodeError::Malformed {
                format: self.name(),
                reason: format!("{} trailing bytes after the value", bytes.len() - len),
            }),
            Err(e) => Err(split_error(self.name(), e)),
        }
    }

    /// Decodes one value whose extent and nesting [`split`] has already checked (every
    /// element of a decoded message). serde_json checks its own nesting.
    pub(crate) fn decode_checked<T: DeserializeOwned>(
        self,
        bytes: &[u8],
    ) -> Result<T, DecodeError> {
        let result = match self {
            Serializer::Json => serde_json::from_slice(bytes).map_err(|e| e.to_string()),
            Serializer::MsgPack => rmp_serde::from_slice(bytes).map_err(|e| e.to_string()),
            // Through `Lenient`: an integer reads as a float, as it does in JSON and MessagePack.
            Serializer::Cbor => ciborium::from_reader::<lenient::Read<T>, _>(bytes)
                .map(|r| r.0)
                .map_err(|e| e.to_string()),
        };
        result.map_err(|reason| DecodeError::Malformed {
            format: self.name(),
            reason,
        })
    }

    /// Whether `bytes` (one encoded value) is a list.
    pub(crate) fn is_list(self, bytes: &[u8]) -> bool {
        match self {
            Serializer::Json => json::first_char(bytes) == Some(b'['),
            Serializer::MsgPack => msgpack::is_array(bytes),
            Serializer::Cbor => cbor::is_major(bytes, 4),
        }
    }

    /// Whether `bytes` (one encoded value) is a dictionary.
    pub(crate) fn is_dict(self, bytes: &[u8]) -> bool {
        match self {
            Serializer::Json => json::first_char(bytes) == Some(b'{'),
            Serializer::MsgPack => msgpack::is_map(bytes),
            Serializer::Cbor => cbor::is_major(bytes, 5),
        }
    }
}

impl std::fmt::Display for Serializer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One encoded value read into WAMP's data model, to be written in another serializer.
///
/// serde alone would change some values silently on the way (MessagePack strings with
/// invalid UTF-8 read as binary, CBOR `undefined` as null, JSON integers beyond 64 bits as
/// floats) and name others only vaguely (an extension type is "a newtype struct"): a
/// format-specific scan refuses those first, naming the value. Only the router's
/// conversion between serializers pays for it; bytes forwarded in their own format are
/// not scanned.
pub(crate) fn wamp_value(serializer: Serializer, bytes: &[u8]) -> Result<Value, String> {
    match serializer {
        Serializer::Json => json::check_wamp_data(bytes),
        Serializer::MsgPack => msgpack::check_wamp_data(bytes),
        Serializer::Cbor => cbor::check_wamp_data(bytes),
    }?;
    serializer.decode_checked(bytes).map_err(unwrap_malformed)
}

/// The byte ranges of a message's elements. No WAMP message has more than 7 elements, so
/// they stay on the stack: decoding a message allocates nothing for them.
pub(crate) type Spans = smallvec::SmallVec<[Range<usize>; 8]>;

/// Splits an encoded top-level list into the byte ranges of its elements.
pub(crate) fn split(serializer: Serializer, frame: &[u8]) -> Result<Spans, DecodeError> {
    match serializer {
        Serializer::Json => json::split(frame),
        Serializer::MsgPack => msgpack::split(frame),
        Serializer::Cbor => cbor::split(frame),
    }
}

/// Builds one encoded message, element by element.
pub(crate) struct MessageWriter {
    serializer: Serializer,
    out: Vec<u8>,
    first: bool,
}

/// Up to this size, an encoding is copied out of the scratch buffer (one exact allocation);
/// larger ones take the buffer itself rather than copying it.
const SCRATCH_COPY_LIMIT: usize = 16 * 1024;

thread_local! {
    /// Where messages and payloads are encoded before they become [`Bytes`]: encoding into
    /// a fresh `Vec` cost a growing allocation plus a shared header for every message.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `encode` on the thread's scratch buffer and returns what it wrote.
fn with_scratch(
    encode: impl FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
) -> Result<Bytes, EncodeError> {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut out) => {
            out.clear();
            encode(&mut out)?;
            Ok(if out.len() <= SCRATCH_COPY_LIMIT {
                Bytes::copy_from_slice(&out)
            } else {
                Bytes::from(std::mem::take(&mut *out))
            })
        }
        // Re-entered (a Serialize impl that encodes WAMP itself): no scratch for this one.
        Err(_) => {
            let mut out = Vec::new();
            encode(&mut out)?;
            Ok(Bytes::from(out))
        }
    })
}

impl MessageWriter {
    /// A writer appending to `out` (cleared first).
    fn with_buffer(serializer: Serializer, len: usize, mut out: Vec<u8>) -> Self {
        out.clear();
        match serializer {
            Serializer::Json => out.push(b'['),
            Serializer::MsgPack => msgpack::write_array_len(&mut out, len),
            Serializer::Cbor => cbor::write_head(&mut out, 4, len as u64),
        }
        MessageWriter {
            serializer,
            out,
            first: true,
        }
    }

    pub(crate) fn serializer(&self) -> Serializer {
        self.serializer
    }

    fn separate(&mut self) {
        if self.serializer == Serializer::Json && !self.first {
            self.out.push(b',');
        }
        self.first = false;
    }

    /// Appends one element encoded from a Rust value.
    pub(crate) fn element<T: Serialize + ?Sized>(
        &mut self,
        value: &T,
        what: &'static str,
    ) -> Result<(), EncodeError> {
        self.separate();
        self.serializer.write_value(&mut self.out, value, what)
    }

    /// Appends one element that is already encoded in this writer's format.
    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        self.separate();
        self.out.extend_from_slice(bytes);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.serializer == Serializer::Json {
            self.out.push(b']');
        }
        self.out
    }
}

/// Reads the elements of one decoded message.
pub(crate) struct ElementReader<'a> {
    serializer: Serializer,
    frame: &'a Bytes,
    ranges: &'a [Range<usize>],
    message_type: MessageType,
}

impl ElementReader<'_> {
    pub(crate) fn message_type(&self) -> MessageType {
        self.message_type
    }

    pub(crate) fn len(&self) -> usize {
        self.ranges.len()
    }

    fn bytes(&self, index: usize) -> &[u8] {
        &self.frame[self.ranges[index].clone()]
    }

    pub(crate) fn field_error(&self, field: &str, reason: impl Into<String>) -> DecodeError {
        DecodeError::Field {
            message: self.message_type,
            field: field.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn value<T: DeserializeOwned>(
        &self,
        index: usize,
        field: &str,
    ) -> Result<T, DecodeError> {
        self.serializer
            .decode_checked(self.bytes(index))
            .map_err(|e| self.field_error(field, unwrap_malformed(e)))
    }

    pub(crate) fn id(&self, index: usize, field: &str) -> Result<Id, DecodeError> {
        let raw: u64 = match small_uint(self.serializer, self.bytes(index)) {
            Some(raw) => raw,
            None => self.value(index, field)?,
        };
        Id::new(raw).ok_or_else(|| self.field_error(field, format!("ID {raw} is outside 1..=2^53")))
    }

    pub(crate) fn string(&self, index: usize, field: &str) -> Result<String, DecodeError> {
        self.value(index, field)
    }

    pub(crate) fn uri(&self, index: usize, field: &str, kind: UriKind) -> Result<Uri, DecodeError> {
        let s = self.string(index, field)?;
        Uri::with_kind(&s, kind).map_err(|e| self.field_error(field, e.to_string()))
    }

    pub(crate) fn dict<D>(
        &self,
        index: usize,
        field: &str,
        check: impl FnOnce(&D) -> Result<(), crate::protocol::options::OptionTypeError>,
    ) -> Result<D, DecodeError>
    where
        D: DeserializeOwned + Default,
    {
        let bytes = self.bytes(index);
        if !self.serializer.is_dict(bytes) {
            return Err(self.field_error(field, "expected a dictionary"));
        }
        if is_empty_dict(self.serializer, bytes) {
            // The usual Details/Options: nothing to parse, nothing to check.
            return Ok(D::default());
        }
        let d: D = self.value(index, field)?;
        check(&d).map_err(|e| {
            self.field_error(
                &format!("{field}.{}", e.key),
                format!("expected {}, got {}", e.expected, e.found),
            )
        })?;
        Ok(d)
    }

    /// The optional `Arguments|list, ArgumentsKw|dict` starting at `index`.
    pub(crate) fn payload(&self, index: usize) -> Result<Payload, DecodeError> {
        let part = |i: usize, is_ok: fn(Serializer, &[u8]) -> bool, field: &str, expected: &str| {
            if i >= self.len() {
                return Ok(None);
            }
            if !is_ok(self.serializer, self.bytes(i)) {
                return Err(self.field_error(field, format!("expected {expected}")));
            }
            Ok(Some(self.frame.slice(self.ranges[i].clone())))
        };
        let args = part(index, Serializer::is_list, "Arguments", "a list")?;
        let kwargs = part(
            index + 1,
            Serializer::is_dict,
            "ArgumentsKw",
            "a dictionary",
        )?;
        Ok(Payload::from_encoded(self.serializer, args, kwargs))
    }

    /// `Request|id` (0 allowed when details follow) and the optional revocation details.
    pub(crate) fn revocable<D: DeserializeOwned + Default>(
        &self,
        check: impl FnOnce(&D) -> Result<(), crate::protocol::options::OptionTypeError>,
    ) -> Result<(u64, Option<D>), DecodeError> {
        if self.len() == 2 {
            return Ok((self.id(1, "Request")?.get(), None));
        }
        let request: u64 = self.value(1, "Request")?;
        if request != 0 && Id::new(request).is_none() {
            return Err(self.field_error("Request", format!("ID {request} is outside 1..=2^53")));
        }
        Ok((request, Some(self.dict(2, "Details", check)?)))
    }
}

/// An unsigned integer in its shortest common encoding, read without a deserializer (IDs
/// and message codes are in every message). `None`: anything else, left to serde.
fn small_uint(serializer: Serializer, bytes: &[u8]) -> Option<u64> {
    match serializer {
        Serializer::MsgPack => match *bytes {
            [b @ 0x00..=0x7f] => Some(u64::from(b)),
            [0xcc, b] => Some(u64::from(b)),
            [0xcd, ref rest @ ..] => Some(u64::from(u16::from_be_bytes(rest.try_into().ok()?))),
            [0xce, ref rest @ ..] => Some(u64::from(u32::from_be_bytes(rest.try_into().ok()?))),
            [0xcf, ref rest @ ..] => Some(u64::from_be_bytes(rest.try_into().ok()?)),
            _ => None,
        },
        Serializer::Cbor => match *bytes {
            [b @ 0x00..=0x17] => Some(u64::from(b)),
            [0x18, b] => Some(u64::from(b)),
            [0x19, ref rest @ ..] => Some(u64::from(u16::from_be_bytes(rest.try_into().ok()?))),
            [0x1a, ref rest @ ..] => Some(u64::from(u32::from_be_bytes(rest.try_into().ok()?))),
            [0x1b, ref rest @ ..] => Some(u64::from_be_bytes(rest.try_into().ok()?)),
            _ => None,
        },
        // Plain digits, short enough not to overflow; no leading zeros (not JSON).
        Serializer::Json => match bytes {
            [b'0'] => Some(0),
            [b'1'..=b'9', ..] if bytes.len() <= 16 && bytes.iter().all(u8::is_ascii_digit) => {
                Some(bytes.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')))
            }
            _ => None,
        },
    }
}

/// Whether `bytes` is exactly an empty dictionary (`{}`, `0x80`, `0xa0`).
fn is_empty_dict(serializer: Serializer, bytes: &[u8]) -> bool {
    match serializer {
        Serializer::Json => bytes == b"{}",
        Serializer::MsgPack => bytes == [0x80],
        Serializer::Cbor => bytes == [0xa0],
    }
}

fn unwrap_malformed(e: DecodeError) -> String {
    match e {
        DecodeError::Malformed { reason, .. } => reason,
        other => other.to_string(),
    }
}

/// An error for truncated or malformed binary input in the element splitters.
#[derive(Debug)]
pub(crate) enum SplitError {
    Truncated,
    Invalid(String),
    TooDeep,
}

impl std::fmt::Display for SplitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SplitError::Truncated => f.write_str("truncated data"),
            SplitError::Invalid(s) => f.write_str(s),
            SplitError::TooDeep => write!(f, "nesting deeper than {MAX_DEPTH} levels"),
        }
    }
}

fn split_error(format: &'static str, e: SplitError) -> DecodeError {
    match e {
        SplitError::TooDeep => DecodeError::TooDeep(MAX_DEPTH),
        other => DecodeError::Malformed {
            format,
            reason: other.to_string(),
        },
    }
}

/// Splits a binary format's top-level array with its `skip` function: the array header
/// gives the element count, then each element is skipped to find its end.
fn split_binary(
    format: &'static str,
    frame: &[u8],
    array_len: impl Fn(&[u8]) -> Result<Option<(usize, usize)>, SplitError>,
    skip: impl Fn(&[u8]) -> Result<usize, SplitError>,
) -> Result<Spans, DecodeError> {
    let (count, mut pos) = match array_len(frame).map_err(|e| split_error(format, e))? {
        Some(header) => header,
        None => return Err(DecodeError::NotAList),
    };
    // Every element takes at least one byte: a count beyond that is a lie.
    if count > frame.len().saturating_sub(pos) {
        return Err(split_error(format, SplitError::Truncated));
    }
    let mut ranges = Spans::with_capacity(count);
    for _ in 0..count {
        let len = skip(&frame[pos..]).map_err(|e| split_error(format, e))?;
        ranges.push(pos..pos + len);
        pos += len;
    }
    if pos != frame.len() {
        return Err(DecodeError::Malformed {
            format,
            reason: format!("{} trailing bytes after the message", frame.len() - pos),
        });
    }
    Ok(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wamp_data_scans_tell_keys_from_values_at_every_depth() {
        // Valid nested data in every format: dictionaries inside lists inside dictionaries.
        let mut inner = crate::protocol::Dict::new();
        inner.insert(
            "c".into(),
            Value::List(vec![Value::from(1), Value::from("x")]),
        );
        inner.insert("d".into(), Value::Binary(vec![0, 1]));
        let mut outer = crate::protocol::Dict::new();
        outer.insert(
            "a".into(),
            Value::List(vec![Value::Dict(inner.clone()), Value::Null]),
        );
        outer.insert("b".into(), Value::Dict(inner));
        let value = Value::List(vec![Value::Dict(outer), Value::from(2.5)]);
        for ser in Serializer::ALL {
            let bytes = ser.encode_value(&value, "v").expect("encode");
            assert_eq!(wamp_value(ser, &bytes).as_ref(), Ok(&value), "{ser}");
        }
        let refused = |ser, bytes: &[u8], names: &str| {
            let why = wamp_value(ser, bytes).expect_err("refused");
            assert!(why.contains(names), "{ser} {bytes:02x?}: {why}");
        };
        // MessagePack {"a": [{1: 2}]}, {"a": 1, "b": {"c": ext}}; a value that is a map.
        refused(
            Serializer::MsgPack,
            &[0x81, 0xa1, b'a', 0x91, 0x81, 0x01, 0x02],
            "not a string",
        );
        refused(
            Serializer::MsgPack,
            &[
                0x82, 0xa1, b'a', 0x01, 0xa1, b'b', 0x81, 0xa1, b'c', 0xd4, 0x05, 0x00,
            ],
            "extension type 5",
        );
        refused(
            Serializer::MsgPack,
            &[0x81, 0x80, 0x01],
            "not a string (a dictionary)",
        );
        assert!(wamp_value(
            Serializer::MsgPack,
            &[0x81, 0xa1, b'a', 0x81, 0xa1, b'b', 0x80]
        )
        .is_ok());
        // CBOR indefinite map {_ "a": 1, 2: 3}, {_ "a": {_ "b": 1}} (fine), indefinite
        // text as a key (fine), a tag inside a list.
        refused(
            Serializer::Cbor,
            &[0xbf, 0x61, b'a', 0x01, 0x02, 0x03, 0xff],
            "not text",
        );
        assert!(wamp_value(
            Serializer::Cbor,
            &[0xbf, 0x61, b'a', 0xbf, 0x61, b'b', 0x01, 0xff, 0xff]
        )
        .is_ok());
        assert!(wamp_value(Serializer::Cbor, &[0xa1, 0x7f, 0x61, b'a', 0xff, 0x01]).is_ok());
        refused(
            Serializer::Cbor,
            &[0x82, 0x01, 0xd8, 0x20, 0x61, b'u'],
            "CBOR tag 32",
        );
        // JSON: a 20-digit integer inside a string is text, outside it is refused.
        assert!(wamp_value(Serializer::Json, br#"["18446744073709551616"]"#).is_ok());
        assert!(wamp_value(Serializer::Json, br#"[1.8446744073709551616e19]"#).is_ok());
        refused(
            Serializer::Json,
            br#"{"k\\":[18446744073709551616]}"#,
            "64-bit range",
        );
    }

    #[test]
    fn integer_and_empty_dict_fast_paths_agree_with_serde() {
        let samples = [
            0u64,
            1,
            23,
            24,
            127,
            128,
            255,
            256,
            65_535,
            65_536,
            u32::MAX as u64,
            u32::MAX as u64 + 1,
            (1 << 53) - 1,
            1 << 53,
            u64::MAX,
        ];
        for ser in [Serializer::Json, Serializer::MsgPack, Serializer::Cbor] {
            for n in samples {
                let bytes = ser.encode_value(&n, "n").expect("encode");
                if let Some(fast) = small_uint(ser, &bytes) {
                    assert_eq!(fast, n, "{ser} {n}");
                }
                assert_eq!(ser.decode_checked::<u64>(&bytes).expect("serde"), n);
            }
            for v in [-1i64, i64::MIN] {
                let bytes = ser.encode_value(&v, "v").expect("encode");
                assert_eq!(small_uint(ser, &bytes), None, "{ser} {v}");
            }
            let empty = ser
                .encode_value(&std::collections::BTreeMap::<String, u8>::new(), "d")
                .expect("encode");
            assert!(is_empty_dict(ser, &empty), "{ser}");
            let one = ser
                .encode_value(&std::collections::BTreeMap::from([("a", 1u8)]), "d")
                .expect("encode");
            assert!(!is_empty_dict(ser, &one), "{ser}");
        }
        // JSON forms serde reads but the fast path leaves to it.
        for text in ["1.0", "01", "1e3", "-0", "12345678901234567"] {
            assert_eq!(
                small_uint(Serializer::Json, text.as_bytes()),
                None,
                "{text}"
            );
        }
    }
}
