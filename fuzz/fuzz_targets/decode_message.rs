//! Each serializer's message decoder on arbitrary bytes. The first byte picks the
//! serializer (JSON, MessagePack, CBOR), the rest is one frame.
//!
//! Invariants: decoding never panics; a frame that decodes re-encodes with the same
//! serializer and decodes to the same message; reading its payload as values never
//! panics either (the Debug form does that).
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, frame)) = data.split_first() else {
        return;
    };
    let ser = wamp_fuzz::serializer(selector);
    let Ok(msg) = ser.decode(Bytes::copy_from_slice(frame)) else {
        return;
    };
    let bytes = ser
        .encode(&msg)
        .unwrap_or_else(|e| panic!("{ser}: decoded {msg:?} but cannot encode it again: {e}"));
    let back = ser
        .decode(Bytes::from(bytes))
        .unwrap_or_else(|e| panic!("{ser}: re-encoded {msg:?} does not decode: {e}"));
    assert_eq!(wamp_fuzz::meaning(&msg), wamp_fuzz::meaning(&back));
});
