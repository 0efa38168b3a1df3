//! CBOR framing: heads and skipping one data item without decoding it.

use super::{split_binary, SplitError, MAX_DEPTH};
use crate::protocol::DecodeError;

/// Writes a head: major type and argument, shortest form.
pub(super) fn write_head(out: &mut Vec<u8>, major: u8, arg: u64) {
    let m = major << 5;
    if arg < 24 {
        out.push(m | arg as u8);
    } else if arg <= u64::from(u8::MAX) {
        out.extend_from_slice(&[m | 24, arg as u8]);
    } else if arg <= u64::from(u16::MAX) {
        out.push(m | 25);
        out.extend_from_slice(&(arg as u16).to_be_bytes());
    } else if arg <= u64::from(u32::MAX) {
        out.push(m | 26);
        out.extend_from_slice(&(arg as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&arg.to_be_bytes());
    }
}

pub(super) fn is_major(bytes: &[u8], major: u8) -> bool {
    bytes.first().is_some_and(|b| b >> 5 == major)
}

/// A decoded head.
struct Head {
    major: u8,
    /// `None` for indefinite length (or the break code, major 7).
    arg: Option<u64>,
    len: usize,
}

fn head(bytes: &[u8]) -> Result<Head, SplitError> {
    let b = *bytes.first().ok_or(SplitError::Truncated)?;
    let (major, info) = (b >> 5, b & 0x1f);
    let n = match info {
        0..=23 => {
            return Ok(Head {
                major,
                arg: Some(u64::from(info)),
                len: 1,
            })
        }
        24 => 1,
        25 => 2,
        26 => 4,
        27 => 8,
        31 => {
            if matches!(major, 0 | 1 | 6) {
                return Err(SplitError::Invalid(format!(
                    "indefinite length is not allowed for CBOR major type {major}"
                )));
            }
            return Ok(Head {
                major,
                arg: None,
                len: 1,
            });
        }
        _ => {
            return Err(SplitError::Invalid(format!(
                "reserved CBOR additional info {info}"
            )))
        }
    };
    let slice = bytes.get(1..1 + n).ok_or(SplitError::Truncated)?;
    let arg = slice.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    Ok(Head {
        major,
        arg: Some(arg),
        len: 1 + n,
    })
}

/// What an open container still expects.
enum Pending {
    Items(u64),
    UntilBreak,
}

/// The length in bytes of the one data item at the start of `bytes`, checking that it is
/// complete and nests at most [`MAX_DEPTH`] levels. Iterative, like the MessagePack one.
pub(super) fn skip(bytes: &[u8]) -> Result<usize, SplitError> {
    let mut pos = 0usize;
    // On the stack for the usual shallow values: skipping runs for every element.
    let mut stack: smallvec::SmallVec<[Pending; 16]> = smallvec::smallvec![Pending::Items(1)];
    loop {
        match stack.last_mut() {
            None => return Ok(pos),
            Some(Pending::Items(0)) => {
                stack.pop();
                continue;
            }
            Some(Pending::Items(n)) => *n -= 1,
            Some(Pending::UntilBreak) => {
                if bytes.get(pos) == Some(&0xff) {
                    pos += 1;
                    stack.pop();
                    continue;
                }
            }
        }
        let h = head(&bytes[pos..])?;
        pos += h.len;
        let children = match (h.major, h.arg) {
            (0 | 1, _) | (7, Some(_)) => None,
            (7, None) => return Err(SplitError::Invalid("unexpected CBOR break code".into())),
            (2 | 3, Some(len)) => {
                let end = (pos as u64).checked_add(len).ok_or(SplitError::Truncated)?;
                if end > bytes.len() as u64 {
                    return Err(SplitError::Truncated);
                }
                pos = end as usize;
                None
            }
            // Indefinite strings are a sequence of definite chunks up to a break.
            (2 | 3, None) => Some(Pending::UntilBreak),
            (4, Some(n)) => Some(Pending::Items(n)),
            (5, Some(n)) => Some(Pending::Items(
                n.checked_mul(2).ok_or(SplitError::Truncated)?,
            )),
            (4 | 5, None) => Some(Pending::UntilBreak),
            (6, _) => Some(Pending::Items(1)),
            _ => return Err(SplitError::Invalid("invalid CBOR head".into())),
        };
        // Major 7 with a one-byte simple value or a float: skip its argument bytes,
        // which `head` already counted.
        if let Some(p) = children {
            if let Pending::Items(n) = p {
                if n > (bytes.len() - pos) as u64 {
                    return Err(SplitError::Truncated);
                }
            }
            if stack.len() > MAX_DEPTH {
                return Err(SplitError::TooDeep);
            }
            stack.push(p);
        }
    }
}

pub(super) fn split(frame: &[u8]) -> Result<super::Spans, DecodeError> {
    let array_len = |b: &[u8]| -> Result<Option<(usize, usize)>, SplitError> {
        if b.is_empty() {
            return Err(SplitError::Truncated);
        }
        if !is_major(b, 4) {
            return Ok(None);
        }
        let h = head(b)?;
        match h.arg {
            Some(n) => Ok(Some((
                usize::try_from(n).map_err(|_| SplitError::Truncated)?,
                h.len,
            ))),
            None => Err(SplitError::Invalid(
                "indefinite-length top-level arrays are not supported".into(),
            )),
        }
    };
    split_binary("cbor", frame, array_len, skip)
}

/// Refuses what a CBOR data item may hold but WAMP's data model may not: tags (other than
/// the bignums 2 and 3, which read as integers when they fit 64 bits), `undefined` and
/// other simple values (serde would read `undefined` as null, silently), dictionary keys
/// that are not text, text that is not UTF-8. `bytes` is one complete item ([`skip`]
/// checked it).
pub(super) fn check_wamp_data(bytes: &[u8]) -> Result<(), String> {
    struct Open {
        /// Items still to read; `None` until a break code.
        left: Option<u64>,
        map: bool,
        /// Items read so far (keys are the even ones of a map).
        seen: u64,
    }
    let mut open: smallvec::SmallVec<[Open; 16]> = smallvec::smallvec![Open {
        left: Some(1),
        map: false,
        seen: 0
    }];
    let mut pos = 0usize;
    while let Some(top) = open.last_mut() {
        match top.left {
            Some(0) => {
                open.pop();
                continue;
            }
            Some(ref mut n) => *n -= 1,
            None if bytes.get(pos) == Some(&0xff) => {
                pos += 1;
                open.pop();
                continue;
            }
            None => {}
        }
        let is_key = top.map && top.seen % 2 == 0;
        top.seen += 1;
        let h = head(bytes.get(pos..).ok_or("truncated data")?).map_err(|e| e.to_string())?;
        pos += h.len;
        if is_key && h.major != 3 {
            return Err(format!(
                "a dictionary key that is not text (CBOR major type {}): WAMP keys are strings",
                h.major
            ));
        }
        let child = match (h.major, h.arg) {
            (0 | 1, _) => None,
            (2 | 3, Some(len)) => {
                let end = usize::try_from(len)
                    .ok()
                    .and_then(|len| pos.checked_add(len))
                    .ok_or("truncated data")?;
                let body = bytes.get(pos..end).ok_or("truncated data")?;
                if h.major == 3 && std::str::from_utf8(body).is_err() {
                    return Err(format!(
                        "a {} that is not valid UTF-8",
                        if is_key { "dictionary key" } else { "string" }
                    ));
                }
                pos = end;
                None
            }
            (2 | 3, None) => Some((None, false)),
            (4, Some(n)) => Some((Some(n), false)),
            (5, Some(n)) => Some((Some(n.saturating_mul(2)), true)),
            (4, None) => Some((None, false)),
            (5, None) => Some((None, true)),
            (6, Some(2 | 3)) => Some((Some(1), false)),
            (6, tag) => {
                return Err(format!(
                    "CBOR tag {} has no form in WAMP's data model",
                    tag.unwrap_or_default()
                ))
            }
            // false, true, null, and the three float widths.
            (7, Some(20..=22)) if h.len == 1 => None,
            (7, _) if matches!(h.len, 3 | 5 | 9) => None,
            (7, Some(23)) if h.len == 1 => {
                return Err(
                    "CBOR undefined has no form in WAMP's data model (it is not null)".into(),
                )
            }
            (7, simple) => {
                return Err(format!(
                    "CBOR simple value {} has no form in WAMP's data model",
                    simple.unwrap_or_default()
                ))
            }
            _ => return Err("invalid CBOR head".into()),
        };
        if let Some((left, map)) = child {
            open.push(Open { left, map, seen: 0 });
        }
    }
    Ok(())
}
