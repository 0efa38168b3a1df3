//! How long code generation takes for a large contract: 200 procedures and 100 types
//! (structs, enums, a union, aliases), read, validated and rendered (formatted).
//!
//! `cargo bench -p wamp-codegen --bench generate`

#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, Criterion};

/// A contract with `procedures` procedures over `types` types.
fn large_contract(procedures: usize, types: usize) -> String {
    let mut t = String::from(
        "[contract]\nname = \"large\"\nversion = \"1.0.0\"\nuri_prefix = \"com.example.large\"\n\n",
    );
    for i in 0..types {
        match i % 4 {
            0 | 1 => t.push_str(&format!(
                "[types.Record{i}]\ndoc = \"Record {i}.\"\nfields = {{ id = \"u64\", name = \"string\", score = \"f64?\", tags = \"list<string>\", extra = {{ type = \"map<string, i64>?\", doc = \"More.\" }} }}\n\n"
            )),
            2 => t.push_str(&format!(
                "[types.State{i}]\nenum = [\"new\", \"running\", \"done\", \"failed\"]\nopen = {}\n\n",
                i % 8 == 2
            )),
            _ => t.push_str(&format!("[types.Alias{i}]\ntype = \"list<Record{}>\"\n\n", i - 3)),
        }
    }
    t.push_str("[errors.NotFound]\nuri = \".error.not_found\"\nkwargs = { id = \"u64\" }\n\n");
    for i in 0..procedures {
        let ty = (i % types) / 4 * 4;
        t.push_str(&format!(
            "[procedures.proc_{i}]\nuri = \".proc_{i}\"\ndoc = \"Procedure {i}.\"\nargs = [\"record: Record{ty}\", \"count: u32\"]\nkwargs = {{ verbose = {{ type = \"bool?\", default = false }}, state = \"State{}?\" }}\nresult = {{ args = [\"ok: bool\"], kwargs = {{ items = \"Alias{}\" }} }}\nerrors = [\"NotFound\"]\n{}\n",
            ty + 2,
            ty + 3,
            if i % 10 == 0 { "progress = { kwargs = { done = \"u64\", total = \"u64\" } }\ncancel = \"kill\"\n" } else { "" },
        ));
    }
    t
}

fn bench(c: &mut Criterion) {
    let text = large_contract(200, 100);
    let dir = std::env::temp_dir().join(format!("wamp-codegen-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("large.wamp.toml");
    std::fs::write(&path, &text).expect("write");
    let code = wamp_codegen::configure().generate(&[&path]).expect("valid");
    println!(
        "large contract: {} lines of TOML -> {} lines of Rust",
        text.lines().count(),
        code.lines().count()
    );
    let mut group = c.benchmark_group("generate");
    group.sample_size(20);
    group.bench_function("200 procedures, 100 types: load + validate", |b| {
        b.iter(|| wamp_codegen::load(&[&path]))
    });
    group.bench_function("200 procedures, 100 types: load + validate + render", |b| {
        b.iter(|| wamp_codegen::configure().generate(&[&path]).expect("valid"))
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
