//! MessagePack framing: array headers and skipping one value without decoding it.

use super::{split_binary, SplitError, MAX_DEPTH};
use crate::protocol::DecodeError;

pub(super) fn write_array_len(out: &mut Vec<u8>, len: usize) {
    // Writing to a Vec cannot fail.
    let _ = rmp::encode::write_array_len(out, len as u32);
}

pub(super) fn is_array(bytes: &[u8]) -> bool {
    matches!(bytes.first(), Some(0x90..=0x9f | 0xdc | 0xdd))
}

pub(super) fn is_map(bytes: &[u8]) -> bool {
    matches!(bytes.first(), Some(0x80..=0x8f | 0xde | 0xdf))
}

fn be(bytes: &[u8], at: usize, n: usize) -> Result<u64, SplitError> {
    let slice = bytes.get(at..at + n).ok_or(SplitError::Truncated)?;
    Ok(slice.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

/// What one header says: its own length, bytes of data that follow, child values.
fn header(bytes: &[u8]) -> Result<(usize, u64, u64), SplitError> {
    let m = *bytes.first().ok_or(SplitError::Truncated)?;
    Ok(match m {
        0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (1, 0, 0),
        0x80..=0x8f => (1, 0, 2 * u64::from(m & 0x0f)),
        0x90..=0x9f => (1, 0, u64::from(m & 0x0f)),
        0xa0..=0xbf => (1, u64::from(m & 0x1f), 0),
        0xc1 => {
            return Err(SplitError::Invalid(
                "reserved MessagePack marker 0xc1".into(),
            ))
        }
        0xc4 | 0xd9 => (2, be(bytes, 1, 1)?, 0),
        0xc5 | 0xda => (3, be(bytes, 1, 2)?, 0),
        0xc6 | 0xdb => (5, be(bytes, 1, 4)?, 0),
        0xc7 => (3, be(bytes, 1, 1)?, 0),
        0xc8 => (4, be(bytes, 1, 2)?, 0),
        0xc9 => (6, be(bytes, 1, 4)?, 0),
        0xca => (1, 4, 0),
        0xcb => (1, 8, 0),
        0xcc | 0xd0 => (1, 1, 0),
        0xcd | 0xd1 => (1, 2, 0),
        0xce | 0xd2 => (1, 4, 0),
        0xcf | 0xd3 => (1, 8, 0),
        0xd4 => (2, 1, 0),
        0xd5 => (2, 2, 0),
        0xd6 => (2, 4, 0),
        0xd7 => (2, 8, 0),
        0xd8 => (2, 16, 0),
        0xdc => (3, 0, be(bytes, 1, 2)?),
        0xdd => (5, 0, be(bytes, 1, 4)?),
        0xde => (3, 0, 2 * be(bytes, 1, 2)?),
        0xdf => (5, 0, 2 * be(bytes, 1, 4)?),
    })
}

/// The length in bytes of the one value at the start of `bytes`, checking that it is
/// complete and nests at most [`MAX_DEPTH`] levels. Iterative: hostile input cannot
/// exhaust the stack.
pub(super) fn skip(bytes: &[u8]) -> Result<usize, SplitError> {
    // Most elements (IDs, URIs, empty dictionaries) contain nothing: no stack needed.
    if let (head, data, 0) = header(bytes)? {
        let end = (head as u64)
            .checked_add(data)
            .ok_or(SplitError::Truncated)?;
        return if end > bytes.len() as u64 {
            Err(SplitError::Truncated)
        } else {
            Ok(end as usize)
        };
    }
    let mut pos = 0usize;
    // Values still to read at each open nesting level (on the stack for the usual shallow
    // values: skipping runs for every element of every message).
    let mut pending: smallvec::SmallVec<[u64; 16]> = smallvec::smallvec![1];
    while let Some(top) = pending.last_mut() {
        if *top == 0 {
            pending.pop();
            continue;
        }
        *top -= 1;
        let (head, data, children) = header(&bytes[pos..])?;
        let end = (pos as u64)
            .checked_add(head as u64 + data)
            .ok_or(SplitError::Truncated)?;
        if end > bytes.len() as u64 {
            return Err(SplitError::Truncated);
        }
        pos = end as usize;
        if children > 0 {
            if children > (bytes.len() - pos) as u64 {
                return Err(SplitError::Truncated);
            }
            if pending.len() > MAX_DEPTH {
                return Err(SplitError::TooDeep);
            }
            pending.push(children);
        }
    }
    Ok(pos)
}

pub(super) fn split(frame: &[u8]) -> Result<super::Spans, DecodeError> {
    let array_len = |b: &[u8]| -> Result<Option<(usize, usize)>, SplitError> {
        if !is_array(b) {
            return if b.is_empty() {
                Err(SplitError::Truncated)
            } else {
                Ok(None)
            };
        }
        let (head, _, children) = header(b)?;
        Ok(Some((children as usize, head)))
    };
    split_binary("msgpack", frame, array_len, skip)
}

/// Refuses what a MessagePack value may hold but WAMP's data model may not: extension
/// types, dictionary keys that are not strings, strings that are not UTF-8 (serde would
/// read those as binary, silently). `bytes` is one complete value ([`skip`] checked it).
pub(super) fn check_wamp_data(bytes: &[u8]) -> Result<(), String> {
    // Per open list or map: (values still to read, whether it is a map).
    let mut open: smallvec::SmallVec<[(u64, bool); 16]> = smallvec::smallvec![(1, false)];
    let mut pos = 0usize;
    while let Some(top) = open.last_mut() {
        if top.0 == 0 {
            open.pop();
            continue;
        }
        // Map entries alternate key, value, starting with a key (an even count left).
        let is_key = top.1 && top.0 % 2 == 0;
        top.0 -= 1;
        let rest = bytes.get(pos..).ok_or("truncated data")?;
        let (head, data, children) = header(rest).map_err(|e| e.to_string())?;
        let m = rest[0];
        let end = head
            .checked_add(usize::try_from(data).map_err(|_| "truncated data")?)
            .ok_or("truncated data")?;
        let body = rest.get(head..end).ok_or("truncated data")?;
        let is_str = matches!(m, 0xa0..=0xbf | 0xd9..=0xdb);
        if matches!(m, 0xc7..=0xc9 | 0xd4..=0xd8) {
            let ext_type = rest.get(head - 1).map_or(0, |t| *t as i8);
            return Err(format!(
                "MessagePack extension type {ext_type} has no form in WAMP's data model"
            ));
        }
        if is_key && !is_str {
            return Err(format!(
                "a dictionary key that is not a string ({}): WAMP keys are strings",
                kind(m)
            ));
        }
        if is_str && std::str::from_utf8(body).is_err() {
            return Err(format!(
                "a {} that is not valid UTF-8",
                if is_key { "dictionary key" } else { "string" }
            ));
        }
        pos += end;
        if children > 0 {
            open.push((children, matches!(m, 0x80..=0x8f | 0xde | 0xdf)));
        }
    }
    Ok(())
}

/// What a MessagePack marker starts, for error messages.
fn kind(m: u8) -> &'static str {
    match m {
        0x00..=0x7f | 0xcc..=0xd3 | 0xe0..=0xff => "an integer",
        0xc0 => "nil",
        0xc2 | 0xc3 => "a boolean",
        0xca | 0xcb => "a float",
        0xc4..=0xc6 => "binary",
        0x90..=0x9f | 0xdc | 0xdd => "a list",
        0x80..=0x8f | 0xde | 0xdf => "a dictionary",
        _ => "a value",
    }
}
