//! Broken contracts and the diagnostics they must produce: every problem at once, each
//! as `FILE:LINE:COL: error: MESSAGE` naming the key path and the offending name.

use std::path::PathBuf;

/// Writes `files` (name, text) into a fresh directory and checks the first one.
fn check(files: &[(&str, &str)]) -> String {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("wamp-codegen-diag-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("write");
    }
    let root: PathBuf = dir.join(files[0].0);
    let loaded = wamp_codegen::load(&[&root]);
    let report = loaded.report();
    let _ = std::fs::remove_dir_all(&dir);
    // Paths differ per run: show them relative to the directory.
    report.replace(&format!("{}/", dir.display()), "")
}

const HEADER: &str =
    "[contract]\nname = \"c\"\nversion = \"1.0.0\"\nuri_prefix = \"com.example\"\n";

#[test]
fn a_valid_contract_has_no_diagnostics() {
    let text = format!("{HEADER}[procedures.add]\nuri = \".add\"\nargs = [\"a: f64\", \"b: f64\"]\nresult = {{ args = [\"sum: f64\"] }}\n");
    assert_eq!(check(&[("c.wamp.toml", &text)]), "");
}

#[test]
fn every_problem_is_reported_with_its_position() {
    let text = format!(
        "{HEADER}\
[types.Point]
fields = {{ x = \"f64\", y = \"Flaot\" }}

[types.Unit]
enum = [\"m\", \"km\"]

[errors.Oops]
uri = \".error.oops\"

[procedures.add]
uri = \".add\"
args = [\"a: f64\", \"b: lst<f64>\"]
kwargs = {{ unit = {{ type = \"Unit?\", default = \"furlong\" }}, n = {{ type = \"u8?\", default = 300 }} }}
errors = [\"Oopz\"]
frobnicate = true

[procedures.add_again]
uri = \".add\"

[procedures.Bad_Uri]
uri = \".Add\"

[topics.telemetry]
uri = \".telemetry.{{device}}.{{metric}}\"
params = {{ device = \"string\" }}
"
    );
    let report = check(&[("c.wamp.toml", &text)]);
    // Shape errors (all of them) stop the run before bundle validation, which the next
    // test covers.
    for needle in [
        "c.wamp.toml:16:19: error: procedures.add.args[1]: unexpected `<f64>` after the type in `lst<f64>`",
        "c.wamp.toml:19:1: error: procedures.add: unknown key `frobnicate` (valid keys: `uri`, `doc`, `since`, `args`, `kwargs`, `result`, `errors`, `progress`, `timeout_ms`, `invoke`, `cancel`, `disclose_caller`)",
        "c.wamp.toml:25:7: error: procedures.Bad_Uri.uri: `com.example.Add` is not a valid URI: `A` in component `Add`",
        "c.wamp.toml:28:7: error: topics.telemetry.uri: the capture `{metric}` has no type in `topics.telemetry.params`",
    ] {
        assert!(report.contains(needle), "missing {needle:?} in:\n{report}");
    }
}

#[test]
fn validation_reports_names_types_defaults_and_duplicates() {
    let text = format!(
        "{HEADER}\
[types.Point]
fields = {{ x = \"f64\", y = \"Flaot\", sentMs = \"u64\", sent_ms = \"u64\", type = \"string\" }}

[types.Unit]
enum = [\"m\", \"km\"]

[procedures.add]
uri = \".add\"
args = [\"a: f64\"]
kwargs = {{ unit = {{ type = \"Unit?\", default = \"furlong\" }}, n = {{ type = \"u8?\", default = 300 }} }}
errors = [\"Oopz\"]

[procedures.add_again]
uri = \".add\"

[topics.telemetry]
uri = \".telemetry.{{device}}\"
params = {{ device = \"f64\" }}
"
    );
    let report = check(&[("c.wamp.toml", &text)]);
    for needle in [
        "c.wamp.toml:6:27: error: types.Point.fields.y: unknown type `Flaot`",
        "c.wamp.toml:6:52: error: name collision in `types.Point.fields`: `sent_ms` and `sentMs` both become the Rust name `sent_ms`",
        "error: procedures.add.kwargs.unit.default: `furlong` is not a value of enum `Unit` (`m`, `km`)",
        "error: procedures.add.kwargs.n.default: 300 does not fit the type `u8`",
        "error: procedures.add.errors[0]: unknown error `Oopz`",
        "error: duplicate URI `com.example.add`: procedure `add_again` has the URI of procedure `add`",
        "error: topics.telemetry.params.device: a capture is one URI component: its type must be `string`, an integer, `bool` or an enum, not `f64`",
    ] {
        assert!(report.contains(needle), "missing {needle:?} in:\n{report}");
    }
    // A keyword is not refused: the field `type` becomes `r#type`.
    assert!(!report.contains("`type`"), "{report}");
}

#[test]
fn generated_wire_names_that_meet_are_refused() {
    // `divide`'s result and `divide_result`'s input would both be laid out as
    // `wire::DivideResult` (with a `DivideResultKwargs`): the generated code could not
    // compile, so the contract is refused naming both.
    let text = "[contract]\nname = \"c\"\nversion = \"1.0.0\"\n\n[procedures.divide]\nuri = \"c.divide\"\nargs = [\"a: f64\"]\nresult = { kwargs = { q = \"f64\" } }\n\n[procedures.divide_result]\nuri = \"c.divide_result\"\nkwargs = { x = \"f64?\" }\n";
    let report = check(&[("c.wamp.toml", text)]);
    for needle in [
        "c.wamp.toml:10:13: error: name collision in this contract's `wire` module: the wire layout of the input of procedure `divide_result` and the wire layout of the result of procedure `divide` both become the Rust name `DivideResult`",
        "error: name collision in this contract's `wire` module: the keyword struct of the input of procedure `divide_result` and the keyword struct of the result of procedure `divide` both become the Rust name `DivideResultKwargs`",
    ] {
        assert!(report.contains(needle), "missing {needle:?} in:\n{report}");
    }
}

#[test]
fn imports_missing_files_and_cycles() {
    let a = "[contract]\nname = \"a\"\nversion = \"1.0.0\"\n[imports]\nb = \"b.wamp.toml\"\nmissing = \"nope.wamp.toml\"\n";
    let b = "[contract]\nname = \"b\"\nversion = \"1.0.0\"\n[imports]\na = \"a.wamp.toml\"\n";
    let report = check(&[("a.wamp.toml", a), ("b.wamp.toml", b)]);
    assert!(
        report.contains("b.wamp.toml:5:5: error: import cycle:"),
        "{report}"
    );
    assert!(
        report.contains("a.wamp.toml:6:11: error: cannot read imported file"),
        "{report}"
    );
}

#[test]
fn syntax_errors_are_located_in_toml_and_json() {
    let report = check(&[("c.wamp.toml", "[contract\nname = 1\n")]);
    assert!(report.starts_with("c.wamp.toml:1:"), "{report}");
    assert!(report.contains("error: invalid TOML"), "{report}");
    let report = check(&[(
        "c.wamp.json",
        "{\n  \"contract\": { \"name\": \"c\",, }\n}\n",
    )]);
    assert!(report.starts_with("c.wamp.json:2:"), "{report}");
    assert!(report.contains("error: invalid JSON"), "{report}");
}

#[test]
fn json_contracts_are_checked_like_toml_ones() {
    let text = r#"{
  "contract": { "name": "c", "version": "1.0", "uri_prefix": "com.example" },
  "procedures": { "add": { "uri": ".add", "args": ["a: f64"], "colour": "red" } }
}"#;
    let report = check(&[("c.wamp.json", text)]);
    assert!(
        report
            .contains("c.wamp.json:2:41: error: contract.version: `1.0` is not a semantic version"),
        "{report}"
    );
    assert!(
        report.contains("c.wamp.json:3:63: error: procedures.add: unknown key `colour`"),
        "{report}"
    );
}
