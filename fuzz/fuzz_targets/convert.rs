//! Cross-serializer conversion, as the router does it: a frame decoded with one
//! serializer is encoded with another (payloads transcoded through the dynamic model).
//! The first byte picks the pair (from = b % 3, to = b / 3 % 3).
//!
//! Invariant: the conversion either fails with an error or gives a frame that decodes to
//! the same message (no value silently changed); never a panic.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, frame)) = data.split_first() else {
        return;
    };
    let from = wamp_fuzz::serializer(selector);
    let to = wamp_fuzz::serializer(selector / 3);
    let Ok(msg) = from.decode(Bytes::copy_from_slice(frame)) else {
        return;
    };
    wamp_fuzz::check_conversion(&msg, to);
});
