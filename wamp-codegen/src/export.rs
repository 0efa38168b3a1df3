//! The contract for other tools: a JSON Schema of its payloads, and an AsyncAPI 3
//! document (with `x-wamp-*` extensions for what AsyncAPI has no words for).
//!
//! Both come from the model alone, so a team without Rust (Python, JavaScript, a schema
//! registry) can validate or document payloads exactly as the generated code reads them.

use serde_json::{json, Map, Value};

use crate::model::*;
use crate::validate::Resolver;

const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// The JSON Schema of a contract (the last of the bundle; the types of its imports are
/// included): `$defs` holds every type (imported ones as `alias.Name`), and
/// `x-wamp-procedures` / `x-wamp-topics` / `x-wamp-errors` the schemas of every payload.
pub fn json_schema(bundle: &Bundle) -> Value {
    let Some(c) = bundle.contracts.last() else {
        return json!({});
    };
    let r = Resolver::new(bundle);
    let s = Schemas { r: &r, c };
    let mut procedures = Map::new();
    for p in &c.procedures {
        let mut entry = Map::new();
        entry.insert("uri".into(), json!(p.uri.name));
        if let Some(d) = &p.meta.doc {
            entry.insert("description".into(), json!(d));
        }
        entry.insert("call".into(), s.payload(&p.input));
        if let Some(res) = &p.result {
            entry.insert("result".into(), s.payload(res));
        }
        if let Some(prog) = &p.progress {
            entry.insert("progress".into(), s.payload(prog));
        }
        if !p.errors.is_empty() {
            entry.insert(
                "errors".into(),
                json!(p
                    .errors
                    .iter()
                    .map(|e| error_uri(&r, c, e))
                    .collect::<Vec<_>>()),
            );
        }
        procedures.insert(p.name.name.clone(), Value::Object(entry));
    }
    let mut topics = Map::new();
    for t in &c.topics {
        let mut params = Map::new();
        for f in &t.params {
            params.insert(f.name.name.clone(), s.ty(&f.ty.expr));
        }
        topics.insert(
            t.name.name.clone(),
            json!({ "uri": t.uri.name, "params": params, "event": s.payload(&t.payload), "retain": t.retain }),
        );
    }
    let mut errors = Map::new();
    for e in &c.errors {
        errors.insert(
            e.name.name.clone(),
            json!({ "uri": e.uri.name, "payload": s.payload(&e.payload) }),
        );
    }
    json!({
        "$schema": DIALECT,
        "title": format!("{} {}", c.name.name, c.version),
        "description": c.doc.clone().unwrap_or_default(),
        "$defs": s.defs(bundle),
        "x-wamp-procedures": procedures,
        "x-wamp-topics": topics,
        "x-wamp-errors": errors,
    })
}

fn error_uri(r: &Resolver<'_>, c: &Contract, e: &ErrorRef) -> Value {
    r.error(c, e)
        .map_or(Value::Null, |(_, d)| json!(d.uri.name))
}

struct Schemas<'a> {
    r: &'a Resolver<'a>,
    c: &'a Contract,
}

impl Schemas<'_> {
    /// Every type of the contract and of what it imports, by reference name.
    fn defs(&self, bundle: &Bundle) -> Map<String, Value> {
        let mut defs = Map::new();
        for other in &bundle.contracts {
            let prefix = if std::ptr::eq(other, self.c) {
                String::new()
            } else {
                match self
                    .c
                    .imports
                    .iter()
                    .find(|i| i.contract == other.name.name)
                {
                    Some(i) => format!("{}.", i.alias.name),
                    None => format!("{}.", other.name.name),
                }
            };
            let s = Schemas {
                r: self.r,
                c: other,
            };
            for t in &other.types {
                defs.insert(format!("{prefix}{}", t.name.name), s.def(t, &prefix));
            }
        }
        defs
    }

    fn def(&self, t: &TypeDef, prefix: &str) -> Value {
        let mut v = match &t.kind {
            TypeKind::Struct(fields) => self.object(fields, prefix),
            TypeKind::Enum {
                values,
                open: false,
            } => {
                json!({ "type": "string", "enum": values.iter().map(|v| &v.value.name).collect::<Vec<_>>() })
            }
            TypeKind::Enum { values, open: true } => {
                json!({ "type": "string", "examples": values.iter().map(|v| &v.value.name).collect::<Vec<_>>(), "x-wamp-open-enum": true })
            }
            TypeKind::Alias(t) => self.ty_in(&t.expr, prefix),
            TypeKind::Union { tag, variants } => json!({
                "oneOf": variants.iter().map(|v| json!({
                    "allOf": [self.ty_in(&v.ty.expr, prefix)],
                    "properties": { tag.name.clone(): { "const": v.tag.name } },
                    "required": [tag.name],
                })).collect::<Vec<_>>(),
                "x-wamp-tag": tag.name,
            }),
        };
        if let (Some(doc), Value::Object(m)) = (&t.meta.doc, &mut v) {
            m.insert("description".into(), json!(doc));
        }
        v
    }

    fn object(&self, fields: &[Field], prefix: &str) -> Value {
        let mut props = Map::new();
        let mut required = Vec::new();
        for f in fields {
            let mut schema = self.ty_in(&f.ty.expr, prefix);
            if let Value::Object(m) = &mut schema {
                if let Some(d) = &f.meta.doc {
                    m.insert("description".into(), json!(d));
                }
                if let Some(d) = &f.default {
                    m.insert("default".into(), d.value.clone());
                }
            }
            if !f.may_be_left_out() {
                required.push(f.name.name.clone());
            }
            props.insert(f.name.name.clone(), schema);
        }
        json!({ "type": "object", "properties": props, "required": required })
    }

    /// `{ "args": [...], "kwargs": {...} }` of a payload.
    fn payload(&self, p: &PayloadDef) -> Value {
        let items: Vec<Value> = p
            .args
            .iter()
            .map(|f| {
                let mut s = self.ty(&f.ty.expr);
                if let Value::Object(m) = &mut s {
                    m.insert("title".into(), json!(f.name.name));
                }
                s
            })
            .collect();
        let min = p.args.iter().filter(|f| !f.ty.expr.is_optional()).count();
        // Extra trailing arguments are allowed: readers ignore them.
        let args = if items.is_empty() {
            json!({ "type": "array" })
        } else {
            json!({ "type": "array", "prefixItems": items, "minItems": min })
        };
        json!({
            "args": args,
            "kwargs": self.object(&p.kwargs, ""),
        })
    }

    fn ty(&self, e: &TypeExpr) -> Value {
        self.ty_in(e, "")
    }

    /// A type expression's schema; `prefix` qualifies names declared in an import.
    fn ty_in(&self, e: &TypeExpr, prefix: &str) -> Value {
        match e {
            TypeExpr::Scalar(s) => scalar(*s),
            TypeExpr::List(t) => json!({ "type": "array", "items": self.ty_in(t, prefix) }),
            TypeExpr::Map(t) => {
                json!({ "type": "object", "additionalProperties": self.ty_in(t, prefix) })
            }
            TypeExpr::Optional(t) => {
                json!({ "anyOf": [self.ty_in(t, prefix), { "type": "null" }] })
            }
            TypeExpr::Named {
                module: Some(m),
                name,
            } => json!({ "$ref": format!("#/$defs/{m}.{name}") }),
            TypeExpr::Named { module: None, name } => {
                json!({ "$ref": format!("#/$defs/{prefix}{name}") })
            }
        }
    }
}

fn scalar(s: Scalar) -> Value {
    let int = |min: i128, max: i128| json!({ "type": "integer", "minimum": min, "maximum": max });
    match s {
        Scalar::Bool => json!({ "type": "boolean" }),
        Scalar::I8 => int(i8::MIN.into(), i8::MAX.into()),
        Scalar::I16 => int(i16::MIN.into(), i16::MAX.into()),
        Scalar::I32 => int(i32::MIN.into(), i32::MAX.into()),
        Scalar::I64 => int(i64::MIN.into(), i64::MAX.into()),
        Scalar::U8 => int(0, u8::MAX.into()),
        Scalar::U16 => int(0, u16::MAX.into()),
        Scalar::U32 => int(0, u32::MAX.into()),
        Scalar::U64 => int(0, u64::MAX.into()),
        Scalar::F32 | Scalar::F64 => json!({ "type": "number" }),
        Scalar::String => json!({ "type": "string" }),
        Scalar::Bytes => {
            json!({ "type": "string", "contentEncoding": "base64", "description": "WAMP binary: native in MessagePack and CBOR; in JSON a string of \\u0000 followed by base64" })
        }
        Scalar::Uri => json!({ "type": "string", "format": "uri-reference", "x-wamp-uri": true }),
        Scalar::Id => int(1, 1 << 53),
        Scalar::Any => json!({}),
    }
}

/// An AsyncAPI 3.0 document of a contract: one channel per procedure and topic (topic
/// captures as channel parameters), operations from the client's point of view (`send`
/// for calls, with the result as reply; `send`/`receive` for publishing/subscribing),
/// and `x-wamp-*` extensions for args/kwargs, progressive results, cancel modes and
/// error URIs. Payload schemas are those of [`json_schema`].
pub fn asyncapi(bundle: &Bundle) -> Value {
    let Some(c) = bundle.contracts.last() else {
        return json!({});
    };
    let r = Resolver::new(bundle);
    let s = Schemas { r: &r, c };
    let mut schemas = s.defs(bundle);
    // AsyncAPI references components, not $defs.
    let fix = |v: Value| -> Value {
        let text = v.to_string().replace("#/$defs/", "#/components/schemas/");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    };
    for v in schemas.values_mut() {
        *v = fix(v.clone());
    }
    let mut channels = Map::new();
    let mut operations = Map::new();
    let mut messages = Map::new();
    for p in &c.procedures {
        let call = format!("{}.call", p.name.name);
        let result = format!("{}.result", p.name.name);
        messages.insert(
            call.clone(),
            json!({
                "name": call,
                "summary": p.meta.doc.clone().unwrap_or_default(),
                "payload": fix(s.payload(&p.input)),
                "x-wamp-message": "CALL",
            }),
        );
        messages.insert(
            result.clone(),
            json!({
                "name": result,
                "payload": fix(s.payload(p.result.as_ref().unwrap_or(&PayloadDef::default()))),
                "x-wamp-message": "RESULT",
            }),
        );
        let mut channel_messages = Map::new();
        channel_messages.insert(
            call.clone(),
            json!({ "$ref": format!("#/components/messages/{call}") }),
        );
        channel_messages.insert(
            result.clone(),
            json!({ "$ref": format!("#/components/messages/{result}") }),
        );
        if let Some(prog) = &p.progress {
            let progress = format!("{}.progress", p.name.name);
            messages.insert(progress.clone(), json!({ "name": progress, "payload": fix(s.payload(prog)), "x-wamp-message": "RESULT (progress)" }));
            channel_messages.insert(
                progress.clone(),
                json!({ "$ref": format!("#/components/messages/{progress}") }),
            );
        }
        channels.insert(
            p.name.name.clone(),
            json!({
                "address": p.uri.name,
                "description": p.meta.doc.clone().unwrap_or_default(),
                "messages": channel_messages,
                "x-wamp-kind": "procedure",
            }),
        );
        let mut op = json!({
            "action": "send",
            "channel": { "$ref": format!("#/channels/{}", p.name.name) },
            "messages": [{ "$ref": format!("#/channels/{}/messages/{call}", p.name.name) }],
            "reply": {
                "channel": { "$ref": format!("#/channels/{}", p.name.name) },
                "messages": [{ "$ref": format!("#/channels/{}/messages/{result}", p.name.name) }],
            },
            "x-wamp-errors": p.errors.iter().map(|e| error_uri(&r, c, e)).collect::<Vec<_>>(),
            "x-wamp-progressive": p.progress.is_some(),
        });
        if let Value::Object(m) = &mut op {
            if let Some(t) = p.timeout_ms {
                m.insert("x-wamp-timeout-ms".into(), json!(t));
            }
            if let Some(cancel) = p.cancel {
                m.insert(
                    "x-wamp-cancel".into(),
                    json!(match cancel {
                        Cancel::Skip => "skip",
                        Cancel::Kill => "kill",
                        Cancel::KillNoWait => "killnowait",
                    }),
                );
            }
            if let Some(i) = p.invoke {
                m.insert(
                    "x-wamp-invoke".into(),
                    json!(format!("{i:?}").to_lowercase()),
                );
            }
        }
        operations.insert(format!("call_{}", p.name.name), op);
    }
    for t in &c.topics {
        let event = format!("{}.event", t.name.name);
        messages.insert(event.clone(), json!({ "name": event, "payload": fix(s.payload(&t.payload)), "x-wamp-message": "EVENT" }));
        let mut params = Map::new();
        for f in &t.params {
            params.insert(f.name.name.clone(), json!({ "description": f.meta.doc.clone().unwrap_or_else(|| format!("`{}`", f.ty.expr)) }));
        }
        let address = t.uri.name.clone();
        channels.insert(
            t.name.name.clone(),
            json!({
                "address": address,
                "description": t.meta.doc.clone().unwrap_or_default(),
                "parameters": params,
                "messages": { event.clone(): { "$ref": format!("#/components/messages/{event}") } },
                "x-wamp-kind": "topic",
                "x-wamp-retain": t.retain,
            }),
        );
        for (action, verb) in [("send", "publish"), ("receive", "subscribe")] {
            operations.insert(format!("{verb}_{}", t.name.name), json!({
                "action": action,
                "channel": { "$ref": format!("#/channels/{}", t.name.name) },
                "messages": [{ "$ref": format!("#/channels/{}/messages/{event}", t.name.name) }],
            }));
        }
    }
    let mut error_schemas = Map::new();
    for e in &c.errors {
        error_schemas.insert(e.uri.name.clone(), fix(s.payload(&e.payload)));
    }
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": c.name.name,
            "version": c.version,
            "description": c.doc.clone().unwrap_or_default(),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": { "schemas": schemas, "messages": messages },
        "x-wamp-errors": error_schemas,
    })
}
