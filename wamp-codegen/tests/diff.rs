//! A table of contract changes and the verdicts `wamp codegen diff` must give them.

use wamp_codegen::diff::{compare, Level};

const BASE: &str = r#"
[contract]
name = "shop"
version = "1.0.0"
uri_prefix = "com.shop"

[types.Item]
fields = { sku = "string", qty = "u32", note = "string?" }

[types.State]
enum = ["open", "paid"]

[types.Kind]
enum = ["book", "toy"]

[errors.OutOfStock]
uri = ".error.out_of_stock"
kwargs = { sku = "string" }

[procedures.order]
uri = ".order"
args = ["item: Item", "kind: Kind"]
kwargs = { gift = "bool?" }
result = { args = ["id: u64"], kwargs = { state = "State", eta_days = "u32" } }
errors = ["OutOfStock"]

[topics.shipped]
uri = ".shipped.{id}"
params = { id = "u64" }
kwargs = { carrier = "string", tracking = "string?" }
"#;

/// The verdict of changing `from` into `to` in the base contract: the worst level, and
/// whether some change's path contains `path`.
fn verdict(from: &str, to: &str, path: &str) -> Option<Level> {
    assert!(BASE.contains(from), "the base contract has no {from:?}");
    let new = BASE.replacen(from, to, 1);
    let dir = std::env::temp_dir().join(format!(
        "wamp-diff-{}-{}",
        std::process::id(),
        path.replace(['.', '[', ']'], "_")
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("old.wamp.toml"), BASE).expect("write");
    std::fs::write(dir.join("new.wamp.toml"), &new).expect("write");
    let old = wamp_codegen::load(&[dir.join("old.wamp.toml")]);
    let newl = wamp_codegen::load(&[dir.join("new.wamp.toml")]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!old.has_errors(), "{}", old.report());
    assert!(!newl.has_errors(), "{}", newl.report());
    let changes = compare(&old.bundle, &newl.bundle);
    changes
        .iter()
        .filter(|c| c.path.contains(path))
        .map(|c| c.level)
        .max()
}

use Level::*;

#[test]
fn nothing_changed() {
    let old = wamp_codegen::load(&[concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../schemas/calculator.wamp.toml"
    )]);
    assert!(compare(&old.bundle, &old.bundle).is_empty());
}

#[test]
fn the_table() {
    let cases: &[(&str, &str, &str, &str, Option<Level>)] = &[
        // (what, from, to, path, verdict)
        (
            "removed procedure",
            "[procedures.order]\nuri = \".order\"",
            "[procedures.order2]\nuri = \".order2\"",
            "procedures.order",
            Some(Breaking),
        ),
        (
            "changed URI",
            "uri = \".order\"",
            "uri = \".place_order\"",
            "procedures.order.uri",
            Some(Breaking),
        ),
        (
            "new procedure",
            "[topics.shipped]",
            "[procedures.ping]\nuri = \".ping\"\n\n[topics.shipped]",
            "procedures.ping",
            Some(Info),
        ),
        (
            "new required kwarg",
            "kwargs = { gift = \"bool?\" }",
            "kwargs = { gift = \"bool?\", coupon = \"string\" }",
            "kwargs.coupon",
            Some(Breaking),
        ),
        (
            "new optional kwarg",
            "kwargs = { gift = \"bool?\" }",
            "kwargs = { gift = \"bool?\", coupon = \"string?\" }",
            "kwargs.coupon",
            Some(Info),
        ),
        (
            "renamed kwarg",
            "kwargs = { gift = \"bool?\" }",
            "kwargs = { present = \"bool?\" }",
            "kwargs.gift",
            Some(Breaking),
        ),
        (
            "input made required",
            "kwargs = { gift = \"bool?\" }",
            "kwargs = { gift = \"bool\" }",
            "kwargs.gift",
            Some(Breaking),
        ),
        (
            "input made optional",
            "args = [\"item: Item\", \"kind: Kind\"]\nkwargs = { gift = \"bool?\" }",
            "args = [\"item: Item\", \"kind: Kind\"]\nkwargs = { gift = \"bool?\" }",
            "kwargs.gift",
            None,
        ),
        (
            "reordered positional args",
            "args = [\"item: Item\", \"kind: Kind\"]",
            "args = [\"kind: Kind\", \"item: Item\"]",
            "procedures.order.args",
            Some(Breaking),
        ),
        (
            "renamed positional arg",
            "args = [\"item: Item\", \"kind: Kind\"]",
            "args = [\"item: Item\", \"category: Kind\"]",
            "procedures.order.args[1]",
            Some(Info),
        ),
        (
            "removed positional arg",
            "args = [\"item: Item\", \"kind: Kind\"]",
            "args = [\"item: Item\"]",
            "procedures.order.args[1]",
            Some(Breaking),
        ),
        (
            "new required positional arg",
            "args = [\"item: Item\", \"kind: Kind\"]",
            "args = [\"item: Item\", \"kind: Kind\", \"count: u32\"]",
            "procedures.order.args[2]",
            Some(Breaking),
        ),
        (
            "new optional positional arg",
            "args = [\"item: Item\", \"kind: Kind\"]",
            "args = [\"item: Item\", \"kind: Kind\", \"count: u32?\"]",
            "procedures.order.args[2]",
            Some(Info),
        ),
        (
            "changed type",
            "args = [\"id: u64\"]",
            "args = [\"id: string\"]",
            "result.args[0]",
            Some(Breaking),
        ),
        (
            "output made optional",
            "eta_days = \"u32\"",
            "eta_days = \"u32?\"",
            "result.kwargs.eta_days",
            Some(Breaking),
        ),
        (
            "output removed",
            "state = \"State\", eta_days = \"u32\"",
            "state = \"State\"",
            "result.kwargs.eta_days",
            Some(Breaking),
        ),
        (
            "new output field",
            "eta_days = \"u32\" }",
            "eta_days = \"u32\", warehouse = \"string\" }",
            "result.kwargs.warehouse",
            Some(Info),
        ),
        (
            "new value in an output enum",
            "enum = [\"open\", \"paid\"]",
            "enum = [\"open\", \"paid\", \"refunded\"]",
            "types.State",
            Some(Breaking),
        ),
        // Opening the enum in the same change does not help: old readers are still closed.
        (
            "new value while opening an output enum",
            "enum = [\"open\", \"paid\"]",
            "enum = [\"open\", \"paid\", \"refunded\"]\nopen = true",
            "types.State.enum",
            Some(Breaking),
        ),
        (
            "opening an output enum",
            "enum = [\"open\", \"paid\"]",
            "enum = [\"open\", \"paid\"]\nopen = true",
            "types.State.open",
            Some(Info),
        ),
        (
            "new value in an input enum",
            "enum = [\"book\", \"toy\"]",
            "enum = [\"book\", \"toy\", \"game\"]",
            "types.Kind",
            Some(Info),
        ),
        (
            "removed value of an input enum",
            "enum = [\"book\", \"toy\"]",
            "enum = [\"book\"]",
            "types.Kind",
            Some(Breaking),
        ),
        (
            "renamed struct field",
            "sku = \"string\", qty",
            "code = \"string\", qty",
            "types.Item.fields.sku",
            Some(Breaking),
        ),
        (
            "new optional struct field in input",
            "note = \"string?\" }",
            "note = \"string?\", color = \"string?\" }",
            "types.Item.fields.color",
            Some(Info),
        ),
        (
            "new required topic field",
            "carrier = \"string\", tracking",
            "carrier = \"string\", weight = \"f64\", tracking",
            "topics.shipped.kwargs.weight",
            Some(Breaking),
        ),
        (
            "new optional topic field",
            "carrier = \"string\", tracking",
            "carrier = \"string\", weight = \"f64?\", tracking",
            "topics.shipped.kwargs.weight",
            Some(Info),
        ),
        (
            "topic field made optional",
            "carrier = \"string\"",
            "carrier = \"string?\"",
            "topics.shipped.kwargs.carrier",
            Some(Breaking),
        ),
        (
            "changed topic pattern",
            "uri = \".shipped.{id}\"",
            "uri = \".sent.{id}\"",
            "topics.shipped.uri",
            Some(Breaking),
        ),
        (
            "renamed capture only",
            "uri = \".shipped.{id}\"\nparams = { id = \"u64\" }",
            "uri = \".shipped.{order}\"\nparams = { order = \"u64\" }",
            "topics.shipped.uri",
            None,
        ),
        (
            "newly declared error",
            "errors = [\"OutOfStock\"]",
            "errors = [\"OutOfStock\", \"Closed\"]\n\n[errors.Closed]\nuri = \".error.closed\"",
            "procedures.order.errors",
            Some(Warning),
        ),
        (
            "docs",
            "[procedures.order]\nuri = \".order\"",
            "[procedures.order]\nuri = \".order\"\ndoc = \"Orders an item.\"",
            "procedures.order.doc",
            Some(Info),
        ),
        (
            "widened input integer",
            "qty = \"u32\"",
            "qty = \"u64\"",
            "types.Item.fields.qty",
            Some(Info),
        ),
    ];
    let mut failures = Vec::new();
    for (what, from, to, path, expected) in cases {
        let got = verdict(from, to, path);
        if got != *expected {
            failures.push(format!(
                "{what}: expected {expected:?} at {path}, got {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
