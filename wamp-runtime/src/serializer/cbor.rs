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
