//! Byte-level compatibility with Autobahn|Python's serializers.
//!
//! `tests/golden/autobahn_vectors.json` holds every message type encoded by Autobahn's
//! own JSON, MessagePack and CBOR serializers (`tests/golden/generate.py`). We decode
//! each, compare with the message in its JSON form, then encode it ourselves and let
//! Autobahn decode our bytes (`tests/golden/check.py`).

use std::process::Command;

use bytes::Bytes;
use serde_json::Value as Json;
use wamp::Serializer;
use wamp_tests::{autobahn_python, workspace_root};

/// Vectors that are invalid per the spec, which Autobahn nevertheless produces, with the
/// error we must give.
const INVALID: &[(&str, &str)] = &[(
    "published_zero_one",
    "PUBLISHED.Publication: ID 0 is outside",
)];

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn autobahn_vectors_decode_and_ours_decode_in_autobahn() {
    let root = workspace_root();
    let text =
        std::fs::read_to_string(root.join("tests/golden/autobahn_vectors.json")).expect("vectors");
    let cases: Vec<Json> = serde_json::from_str(&text).expect("json");
    assert!(cases.len() > 100, "expected the full vector set");
    let mut ours = Vec::new();
    let mut types = std::collections::HashSet::new();
    for case in &cases {
        let name = case["name"].as_str().expect("name");
        let json_form = serde_json::to_vec(&case["message"]).expect("message");
        let expected = Serializer::Json.decode(Bytes::from(json_form));
        if let Some((_, err)) = INVALID.iter().find(|(n, _)| *n == name) {
            for ser in Serializer::ALL {
                let bytes = unhex(case[ser.name()].as_str().expect("encoding"));
                let got = ser.decode(Bytes::from(bytes)).expect_err("must be refused");
                assert!(got.to_string().contains(err), "{name} {ser}: {got}");
            }
            continue;
        }
        let expected = expected
            .unwrap_or_else(|e| panic!("{name}: our JSON decoder refused the message form: {e}"));
        types.insert(expected.message_type());
        let mut entry = serde_json::Map::new();
        entry.insert("name".into(), name.into());
        entry.insert("message".into(), case["message"].clone());
        for ser in Serializer::ALL {
            let bytes = unhex(case[ser.name()].as_str().expect("encoding"));
            let decoded = ser
                .decode(Bytes::from(bytes))
                .unwrap_or_else(|e| panic!("{name}: Autobahn's {ser} bytes do not decode: {e}"));
            assert_eq!(decoded, expected, "{name} {ser}");
            let encoded = ser.encode(&expected).expect("encode");
            entry.insert(ser.name().into(), hex(&encoded).into());
        }
        ours.push(Json::Object(entry));
    }
    assert_eq!(types.len(), 24, "vectors cover every message type");

    let out = std::env::temp_dir().join(format!("wamp-rust-vectors-{}.json", std::process::id()));
    std::fs::write(&out, serde_json::to_vec(&ours).expect("json")).expect("write");
    let result = Command::new(autobahn_python())
        .arg(root.join("tests/golden/check.py"))
        .arg(&out)
        .output()
        .expect("run check.py");
    let stdout = String::from_utf8_lossy(&result.stdout);
    let _ = std::fs::remove_file(&out);
    assert!(
        result.status.success(),
        "Autobahn refused our encodings:\n{stdout}\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}
