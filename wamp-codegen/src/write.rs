//! The model back to a contract file: [`toml()`] writes the `.wamp.toml` form, [`json()`] the
//! `.wamp.json` form. Reading either back gives a model that renders the same code (a
//! test checks it for every contract in `schemas/`); this is how a contract defined in
//! Rust (`#[wamp::contract]`) is exported for `wamp codegen`, other languages and
//! `wamp codegen diff`.
//!
//! What the model does not keep is not written: comments, the original spelling of
//! relative URIs (a URI under the contract's prefix is written relative again), and the
//! choice between a short entry (`"a: f64"`) and a table (`{ name = "a", type = "f64" }`),
//! which is the short one whenever nothing but the type is set.

use crate::model::*;

/// The `.wamp.toml` form of a contract.
pub fn toml(contract: &Contract) -> String {
    let mut out = format!(
        "# The contract `{}` version {}, written by wamp-codegen.\n",
        contract.name.name, contract.version
    );
    let W::Obj(sections) = contract_tree(contract) else {
        return out;
    };
    for (section, value) in sections {
        let W::Obj(entries) = value else { continue };
        match section.as_str() {
            "contract" | "imports" => {
                out.push_str(&format!("\n[{section}]\n"));
                toml_keys(&entries, &mut out);
            }
            _ => {
                for (name, item) in entries {
                    let W::Obj(keys) = item else { continue };
                    out.push_str(&format!("\n[{section}.{}]\n", toml_key(&name)));
                    // Struct fields read best one per line, in a sub-table written last.
                    let (fields, rest): (Vec<_>, Vec<_>) = keys.into_iter().partition(|(k, v)| {
                        k == "fields" && matches!(v, W::Obj(f) if !f.is_empty())
                    });
                    toml_keys(&rest, &mut out);
                    for (_, f) in fields {
                        if let W::Obj(f) = f {
                            out.push_str(&format!("\n[{section}.{}.fields]\n", toml_key(&name)));
                            toml_keys(&f, &mut out);
                        }
                    }
                }
            }
        }
    }
    out
}

fn toml_keys(entries: &[(String, W)], out: &mut String) {
    for (k, v) in entries {
        out.push_str(&toml_key(k));
        out.push_str(" = ");
        match v {
            // A long doc reads best as a multi-line string.
            W::Str(text)
                if text.contains('\n')
                    && !text.contains("\"\"\"")
                    && !text.ends_with('"')
                    && !text.contains('\\')
                    && !text.chars().any(|c| c.is_control() && c != '\n') =>
            {
                out.push_str("\"\"\"\n");
                out.push_str(text);
                out.push_str("\"\"\"");
            }
            _ => toml_inline(v, out),
        }
        out.push('\n');
    }
}

fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        json_string(k)
    }
}

/// A value on one line (TOML basic strings take JSON's escapes).
fn toml_inline(w: &W, out: &mut String) {
    match w {
        W::Str(x) => out.push_str(&json_string(x)),
        W::Int(i) => out.push_str(&i.to_string()),
        W::UInt(u) => out.push_str(&u.to_string()),
        W::Float(f) => out.push_str(&format!("{f:?}")),
        W::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        W::Arr(a) => {
            out.push('[');
            for (i, item) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                toml_inline(item, out);
            }
            out.push(']');
        }
        W::Obj(o) if o.is_empty() => out.push_str("{}"),
        W::Obj(o) => {
            out.push_str("{ ");
            for (i, (k, v)) in o.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&toml_key(k));
                out.push_str(" = ");
                toml_inline(v, out);
            }
            out.push_str(" }");
        }
    }
}

fn json_string(x: &str) -> String {
    serde_json::Value::String(x.to_string()).to_string()
}

/// The `.wamp.json` form of a contract.
pub fn json(contract: &Contract) -> String {
    let mut out = String::new();
    write_json(&contract_tree(contract), 0, &mut out);
    out.push('\n');
    out
}

/// An ordered tree of values: tables keep the model's order in both forms.
enum W {
    Str(String),
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
    Arr(Vec<W>),
    Obj(Vec<(String, W)>),
}

fn s(v: impl Into<String>) -> W {
    W::Str(v.into())
}

fn from_json(v: &serde_json::Value) -> W {
    use serde_json::Value;
    match v {
        Value::Null => W::Arr(Vec::new()),
        Value::Bool(b) => W::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => W::Int(i),
            (None, Some(u)) => W::UInt(u),
            _ => W::Float(n.as_f64().unwrap_or_default()),
        },
        Value::String(x) => s(x.as_str()),
        Value::Array(a) => W::Arr(a.iter().map(from_json).collect()),
        Value::Object(o) => W::Obj(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect()),
    }
}

struct Obj(Vec<(String, W)>);

impl Obj {
    fn new() -> Self {
        Obj(Vec::new())
    }
    fn put(&mut self, key: &str, value: W) {
        self.0.push((key.to_string(), value));
    }
    fn opt(&mut self, key: &str, value: Option<W>) {
        if let Some(v) = value {
            self.put(key, v);
        }
    }
    fn meta(&mut self, meta: &Meta) {
        self.opt("doc", meta.doc.as_deref().map(s));
        self.opt("since", meta.since.as_deref().map(s));
    }
    fn done(self) -> W {
        W::Obj(self.0)
    }
}

fn contract_tree(c: &Contract) -> W {
    let prefix = c.uri_prefix.as_deref();
    let mut top = Obj::new();
    let mut header = Obj::new();
    header.put("name", s(c.name.name.as_str()));
    header.put("version", s(c.version.as_str()));
    header.opt("uri_prefix", prefix.map(s));
    header.opt("doc", c.doc.as_deref().map(s));
    top.put("contract", header.done());
    if !c.imports.is_empty() {
        top.put(
            "imports",
            W::Obj(
                c.imports
                    .iter()
                    .map(|i| (i.alias.name.clone(), s(i.path.as_str())))
                    .collect(),
            ),
        );
    }
    if !c.types.is_empty() {
        top.put(
            "types",
            W::Obj(
                c.types
                    .iter()
                    .map(|t| (t.name.name.clone(), type_def(t)))
                    .collect(),
            ),
        );
    }
    if !c.errors.is_empty() {
        let errors = c.errors.iter().map(|e| {
            let mut o = Obj::new();
            o.put("uri", s(relative(&e.uri.name, prefix)));
            o.meta(&e.meta);
            payload_into(&mut o, &e.payload);
            (e.name.name.clone(), o.done())
        });
        top.put("errors", W::Obj(errors.collect()));
    }
    if !c.procedures.is_empty() {
        let procedures = c
            .procedures
            .iter()
            .map(|p| (p.name.name.clone(), procedure(p, prefix)));
        top.put("procedures", W::Obj(procedures.collect()));
    }
    if !c.topics.is_empty() {
        let topics = c.topics.iter().map(|t| {
            let mut o = Obj::new();
            o.put("uri", s(relative(&t.uri.name, prefix)));
            o.meta(&t.meta);
            if !t.params.is_empty() {
                o.put("params", named_fields(&t.params));
            }
            payload_into(&mut o, &t.payload);
            if t.retain {
                o.put("retain", W::Bool(true));
            }
            (t.name.name.clone(), o.done())
        });
        top.put("topics", W::Obj(topics.collect()));
    }
    top.done()
}

/// `com.example.calc.add` under the prefix `com.example.calc` is `.add`.
fn relative(uri: &str, prefix: Option<&str>) -> String {
    match prefix.and_then(|p| uri.strip_prefix(p)) {
        Some(rest) if rest.starts_with('.') => rest.to_string(),
        _ => uri.to_string(),
    }
}

fn type_def(t: &TypeDef) -> W {
    let mut o = Obj::new();
    o.meta(&t.meta);
    match &t.kind {
        TypeKind::Struct(fields) => o.put("fields", named_fields(fields)),
        TypeKind::Enum { values, open } => {
            if *open {
                o.put("open", W::Bool(true));
            }
            let values = values.iter().map(|v| match &v.doc {
                None => s(v.value.name.as_str()),
                Some(doc) => {
                    let mut e = Obj::new();
                    e.put("value", s(v.value.name.as_str()));
                    e.put("doc", s(doc.as_str()));
                    e.done()
                }
            });
            o.put("enum", W::Arr(values.collect()));
        }
        TypeKind::Alias(ty) => o.put("type", s(ty.expr.to_string())),
        TypeKind::Union { tag, variants } => {
            let mut u = Obj::new();
            u.put("tag", s(tag.name.as_str()));
            u.put(
                "variants",
                W::Obj(
                    variants
                        .iter()
                        .map(|v| (v.tag.name.clone(), s(v.ty.expr.to_string())))
                        .collect(),
                ),
            );
            o.put("union", u.done());
        }
    }
    o.done()
}

fn named_fields(fields: &[Field]) -> W {
    W::Obj(
        fields
            .iter()
            .map(|f| {
                let ty = f.ty.expr.to_string();
                let value = if f.meta.doc.is_none() && f.meta.since.is_none() && f.default.is_none()
                {
                    s(ty)
                } else {
                    let mut o = Obj::new();
                    o.put("type", s(ty));
                    o.opt("doc", f.meta.doc.as_deref().map(s));
                    o.opt("default", f.default.as_ref().map(|d| from_json(&d.value)));
                    o.opt("since", f.meta.since.as_deref().map(s));
                    o.done()
                };
                (f.name.name.clone(), value)
            })
            .collect(),
    )
}

fn positional(fields: &[Field]) -> W {
    W::Arr(
        fields
            .iter()
            .map(|f| {
                if f.meta.doc.is_none() && f.meta.since.is_none() {
                    s(format!("{}: {}", f.name.name, f.ty.expr))
                } else {
                    let mut o = Obj::new();
                    o.put("name", s(f.name.name.as_str()));
                    o.put("type", s(f.ty.expr.to_string()));
                    o.meta(&f.meta);
                    o.done()
                }
            })
            .collect(),
    )
}

fn payload_into(o: &mut Obj, p: &PayloadDef) {
    if !p.args.is_empty() {
        o.put("args", positional(&p.args));
    }
    if !p.kwargs.is_empty() {
        o.put("kwargs", named_fields(&p.kwargs));
    }
}

fn payload(p: &PayloadDef) -> W {
    let mut o = Obj::new();
    payload_into(&mut o, p);
    o.done()
}

fn procedure(p: &Procedure, prefix: Option<&str>) -> W {
    let mut o = Obj::new();
    o.put("uri", s(relative(&p.uri.name, prefix)));
    o.meta(&p.meta);
    payload_into(&mut o, &p.input);
    o.opt("result", p.result.as_ref().map(payload));
    if !p.errors.is_empty() {
        let errors = p.errors.iter().map(|e| match &e.module {
            Some(m) => s(format!("{m}.{}", e.name)),
            None => s(e.name.as_str()),
        });
        o.put("errors", W::Arr(errors.collect()));
    }
    o.opt("progress", p.progress.as_ref().map(payload));
    o.opt("timeout_ms", p.timeout_ms.map(W::UInt));
    o.opt(
        "invoke",
        p.invoke.map(|i| {
            s(match i {
                Invoke::Single => "single",
                Invoke::RoundRobin => "roundrobin",
                Invoke::Random => "random",
                Invoke::First => "first",
                Invoke::Last => "last",
            })
        }),
    );
    o.opt(
        "cancel",
        p.cancel.map(|c| {
            s(match c {
                Cancel::Skip => "skip",
                Cancel::Kill => "kill",
                Cancel::KillNoWait => "killnowait",
            })
        }),
    );
    if p.disclose_caller {
        o.put("disclose_caller", W::Bool(true));
    }
    o.done()
}

fn write_json(w: &W, indent: usize, out: &mut String) {
    let pad = |n: usize| "  ".repeat(n);
    match w {
        W::Str(x) => out.push_str(&json_string(x)),
        W::Int(i) => out.push_str(&i.to_string()),
        W::UInt(u) => out.push_str(&u.to_string()),
        W::Float(f) => out.push_str(
            &serde_json::Number::from_f64(*f).map_or_else(|| "null".into(), |n| n.to_string()),
        ),
        W::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        W::Arr(a) if a.is_empty() => out.push_str("[]"),
        W::Arr(a) => {
            out.push_str("[\n");
            for (i, item) in a.iter().enumerate() {
                out.push_str(&pad(indent + 1));
                write_json(item, indent + 1, out);
                out.push_str(if i + 1 < a.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(indent));
            out.push(']');
        }
        W::Obj(o) if o.is_empty() => out.push_str("{}"),
        W::Obj(o) => {
            out.push_str("{\n");
            for (i, (k, v)) in o.iter().enumerate() {
                out.push_str(&pad(indent + 1));
                out.push_str(&json_string(k));
                out.push_str(": ");
                write_json(v, indent + 1, out);
                out.push_str(if i + 1 < o.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(indent));
            out.push('}');
        }
    }
}
