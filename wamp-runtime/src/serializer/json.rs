//! JSON framing helpers. serde_json does the parsing; `RawValue` gives element spans.

use serde_json::value::RawValue;

use super::MAX_DEPTH;
use crate::protocol::DecodeError;

/// The first non-whitespace byte.
pub(super) fn first_char(bytes: &[u8]) -> Option<u8> {
    bytes.iter().copied().find(|b| !b.is_ascii_whitespace())
}

/// Element spans of a top-level JSON array. serde_json limits nesting to 128 levels.
pub(super) fn split(frame: &[u8]) -> Result<super::Spans, DecodeError> {
    if first_char(frame) != Some(b'[') {
        // Still report a syntax error as such, not as "not a list".
        return match serde_json::from_slice::<serde::de::IgnoredAny>(frame) {
            Err(e) => Err(malformed(e)),
            Ok(_) => Err(DecodeError::NotAList),
        };
    }
    let elements: Vec<&RawValue> = serde_json::from_slice(frame).map_err(malformed)?;
    check_depth(frame)?;
    let base = frame.as_ptr() as usize;
    Ok(elements
        .iter()
        .map(|raw| {
            // RawValue borrows from `frame`, so its address tells where it is.
            let start = raw.get().as_ptr() as usize - base;
            start..start + raw.get().len()
        })
        .collect())
}

/// serde_json skips over `RawValue`s without its recursion limit, so the nesting of
/// payload elements is checked here, on syntactically valid JSON, in one pass.
fn check_depth(frame: &[u8]) -> Result<(), DecodeError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in frame {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH + 1 {
                    return Err(DecodeError::TooDeep(MAX_DEPTH));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

fn malformed(e: serde_json::Error) -> DecodeError {
    if e.to_string().contains("recursion limit") {
        return DecodeError::TooDeep(128);
    }
    DecodeError::Malformed {
        format: "json",
        reason: e.to_string(),
    }
}

/// Refuses the JSON integers serde would silently read as a float: those beyond the
/// 64-bit range (`18446744073709551616` would become `1.8446744073709552e19`). `bytes` is
/// one syntactically valid JSON value; numbers with a fraction or an exponent are floats
/// in JSON already and are left to the parser (which refuses those beyond `f64`).
pub(super) fn check_wamp_data(bytes: &[u8]) -> Result<(), String> {
    let (mut in_string, mut escaped) = (false, false);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < bytes.len()
                    && matches!(bytes[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
                let token = &bytes[start..i];
                let integer = !token.iter().any(|c| matches!(c, b'.' | b'e' | b'E'));
                // 19 digits always fit; only longer integers need parsing.
                if integer && token.len() > 19 {
                    let text = std::str::from_utf8(token).unwrap_or_default();
                    if text.parse::<i64>().is_err() && text.parse::<u64>().is_err() {
                        return Err(format!(
                            "integer {text} is outside the 64-bit range (it would become a float)"
                        ));
                    }
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}
