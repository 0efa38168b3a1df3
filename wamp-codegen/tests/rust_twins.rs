//! Contracts written in Rust (`schemas/rust/*.rs`, `#[wamp::contract]` modules) against
//! their contract files: the same model renders byte-identical code, and exporting the
//! Rust contract to a file (the model → TOML/JSON writer) and generating from that file
//! gives that code again.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The module rendered from a contract file.
fn from_file(file: &str, contract: &str) -> String {
    let loaded = wamp_codegen::load(&[root().join("schemas").join(file)]);
    assert!(!loaded.has_errors(), "{}", loaded.report());
    wamp_codegen::configure()
        .render_module(&loaded, contract)
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// The module the macro renders from a Rust twin (imports are relative to a crate one
/// level below the repository root, as the examples crate is).
fn from_rust(file: &str) -> (wamp_codegen::rust::Parsed, String) {
    let text = std::fs::read_to_string(root().join("schemas/rust").join(file)).expect("read");
    let parsed = wamp_codegen::rust::parse_file(&text, &root().join("examples"))
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    assert!(parsed.errors.is_empty(), "{file}:\n{}", parsed.report());
    let code = wamp_codegen::rust::render_module(&parsed, "::wamp").expect("render");
    (parsed, code)
}

/// Every twin in schemas/rust/ and the contract file it mirrors.
const TWINS: &[(&str, &str, &str)] = &[
    ("calculator.rs", "calculator.wamp.toml", "calculator"),
    ("telemetry.rs", "telemetry.wamp.toml", "telemetry"),
];

#[test]
fn every_rust_twin_renders_the_code_of_its_contract_file() {
    let dir = root().join("schemas/rust");
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .expect("schemas/rust")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".rs"))
        .collect();
    found.sort();
    let listed: Vec<&str> = TWINS.iter().map(|t| t.0).collect();
    assert_eq!(found, listed, "list every twin in TWINS");
    for (rust, file, contract) in TWINS {
        let (_, code) = from_rust(rust);
        let expected = from_file(file, contract);
        assert!(
            code == expected,
            "{rust} and {file} differ:\n{}",
            first_difference(&code, &expected)
        );
    }
}

fn first_difference(a: &str, b: &str) -> String {
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("line {}:\n  rust: {x}\n  file: {y}", i + 1);
        }
    }
    format!("lengths {} and {}", a.lines().count(), b.lines().count())
}

fn write_all(dir: &Path, files: &[(String, String)]) {
    std::fs::create_dir_all(dir).expect("dir");
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("write");
    }
}

#[test]
fn exporting_a_rust_contract_then_generating_from_the_file_gives_the_same_code() {
    for (rust, _, contract) in TWINS {
        let (parsed, code) = from_rust(rust);
        let files = wamp_codegen::rust::export_files(&parsed.bundle);
        assert_eq!(files[0].0, format!("{contract}.wamp.toml"));
        let dir =
            std::env::temp_dir().join(format!("wamp-export-{}-{contract}", std::process::id()));
        write_all(&dir, &files);
        let again = {
            let loaded = wamp_codegen::load(&[dir.join(&files[0].0)]);
            assert!(!loaded.has_errors(), "{}\n{}", loaded.report(), files[0].1);
            wamp_codegen::configure()
                .render_module(&loaded, contract)
                .expect("render")
        };
        let _ = std::fs::remove_dir_all(&dir);
        assert!(again == code, "{}", first_difference(&again, &code));
    }
}

#[test]
fn every_contract_file_survives_the_writer_in_both_forms() {
    // TOML → model → TOML (and → JSON) → model renders the same code.
    for file in [
        "calculator.wamp.toml",
        "telemetry.wamp.toml",
        "jobs.wamp.toml",
        "wamp_meta.wamp.toml",
        "geo.wamp.toml",
    ] {
        let loaded = wamp_codegen::load(&[root().join("schemas").join(file)]);
        assert!(!loaded.has_errors(), "{}", loaded.report());
        let expected = wamp_codegen::configure().render(&loaded).expect("render");
        for json in [false, true] {
            let dir = std::env::temp_dir().join(format!(
                "wamp-writer-{}-{}-{json}",
                std::process::id(),
                file.replace('.', "_")
            ));
            std::fs::create_dir_all(&dir).expect("dir");
            let mut last = None;
            for c in &loaded.bundle.contracts {
                let mut c = c.clone();
                for i in &mut c.imports {
                    i.path = format!("{}.wamp.{}", i.contract, if json { "json" } else { "toml" });
                }
                let (name, text) = if json {
                    (
                        format!("{}.wamp.json", c.name.name),
                        wamp_codegen::write::json(&c),
                    )
                } else {
                    (
                        format!("{}.wamp.toml", c.name.name),
                        wamp_codegen::write::toml(&c),
                    )
                };
                std::fs::write(dir.join(&name), text).expect("write");
                last = Some(name);
            }
            let again = wamp_codegen::load(&[dir.join(last.expect("a contract"))]);
            assert!(
                !again.has_errors(),
                "{file} (json: {json}): {}",
                again.report()
            );
            let code = wamp_codegen::configure().render(&again).expect("render");
            let _ = std::fs::remove_dir_all(&dir);
            // The header names the files read; everything else must be the same.
            let body = |s: &str| s.lines().skip(1).collect::<Vec<_>>().join("\n");
            let strip_sources = |s: &str| s.replace(".wamp.json", ".wamp.toml");
            assert!(
                strip_sources(&body(&code)) == body(&expected),
                "{file} (json: {json}): {}",
                first_difference(&strip_sources(&body(&code)), &body(&expected))
            );
        }
    }
}

#[test]
fn diff_compares_two_exported_versions() {
    let (parsed, _) = from_rust("calculator.rs");
    let old = wamp_codegen::rust::export_files(&parsed.bundle);
    // Version 3.0.0 gives `add` a new URI: a breaking change.
    let new: Vec<(String, String)> = old
        .iter()
        .map(|(n, t)| {
            let t = if n == "calculator.wamp.toml" {
                t.replace("uri = \".add\"", "uri = \".plus\"")
                    .replace("version = \"2.1.0\"", "version = \"3.0.0\"")
            } else {
                t.clone()
            };
            (n.clone(), t)
        })
        .collect();
    assert_ne!(old, new, "the edit applies to the exported text");
    let base = std::env::temp_dir().join(format!("wamp-export-diff-{}", std::process::id()));
    write_all(&base.join("old"), &old);
    write_all(&base.join("new"), &new);
    let a = wamp_codegen::load(&[base.join("old/calculator.wamp.toml")]);
    let b = wamp_codegen::load(&[base.join("new/calculator.wamp.toml")]);
    let _ = std::fs::remove_dir_all(&base);
    assert!(
        !a.has_errors() && !b.has_errors(),
        "{}{}",
        a.report(),
        b.report()
    );
    let changes = wamp_codegen::diff::compare(&a.bundle, &b.bundle);
    assert!(
        changes
            .iter()
            .any(|c| c.path.contains("procedures.add")
                && c.level == wamp_codegen::diff::Level::Breaking),
        "{changes:?}"
    );
    // The same export twice: no change.
    let write_again = wamp_codegen::rust::export_files(&parsed.bundle);
    assert_eq!(old, write_again);
}
