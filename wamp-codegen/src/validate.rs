//! Checks that need the whole bundle: names that exist, URIs that are unique, defaults
//! that fit, and Rust names that stay distinct after conversion. Every problem found is
//! reported; nothing is rendered while any error remains.

use std::collections::HashMap;

use crate::model::*;
use crate::names;
use crate::source::{Diagnostics, Span};

/// Looks up named types across the bundle.
pub(crate) struct Resolver<'b> {
    contracts: HashMap<&'b str, &'b Contract>,
}

impl<'b> Resolver<'b> {
    pub fn new(bundle: &'b Bundle) -> Self {
        Resolver {
            contracts: bundle
                .contracts
                .iter()
                .map(|c| (c.name.name.as_str(), c))
                .collect(),
        }
    }

    /// A contract of the bundle by name.
    pub fn module_by_name(&self, name: &str) -> Option<&'b Contract> {
        self.contracts.get(name).copied()
    }

    /// The contract an alias (or None: `from` itself) refers to.
    pub fn module(&self, from: &'b Contract, alias: Option<&str>) -> Option<&'b Contract> {
        match alias {
            None => Some(from),
            Some(a) => {
                let import = from.imports.iter().find(|i| i.alias.name == a)?;
                self.contracts.get(import.contract.as_str()).copied()
            }
        }
    }

    /// A named type and the contract that declares it.
    pub fn lookup(
        &self,
        from: &'b Contract,
        module: Option<&str>,
        name: &str,
    ) -> Option<(&'b Contract, &'b TypeDef)> {
        let c = self.module(from, module)?;
        c.types.iter().find(|t| t.name.name == name).map(|t| (c, t))
    }

    /// An error and the contract that declares it.
    pub fn error(&self, from: &'b Contract, r: &ErrorRef) -> Option<(&'b Contract, &'b ErrorDef)> {
        let c = self.module(from, r.module.as_deref())?;
        c.errors
            .iter()
            .find(|e| e.name.name == r.name)
            .map(|e| (c, e))
    }

    /// Follows aliases to what a type expression finally is (None if unresolved or an
    /// alias cycle).
    pub fn resolve(
        &self,
        from: &'b Contract,
        expr: &TypeExpr,
    ) -> Option<(&'b Contract, Resolved<'b>)> {
        let mut from = from;
        let mut expr = expr.clone();
        for _ in 0..64 {
            match expr.strip_optional() {
                TypeExpr::Named { module, name } => {
                    let (c, def) = self.lookup(from, module.as_deref(), name)?;
                    match &def.kind {
                        TypeKind::Alias(t) => {
                            from = c;
                            expr = t.expr.clone();
                        }
                        _ => return Some((c, Resolved::Def(def))),
                    }
                }
                other => return Some((from, Resolved::Expr(other.clone()))),
            }
        }
        None
    }
}

/// What a type expression is once aliases are followed.
pub(crate) enum Resolved<'b> {
    /// A struct, enum or union.
    Def(&'b TypeDef),
    /// A scalar, list or map.
    Expr(TypeExpr),
}

/// Validates every contract of the bundle.
pub(crate) fn bundle(bundle: &Bundle, diags: &mut Diagnostics) {
    let r = Resolver::new(bundle);
    for c in &bundle.contracts {
        contract(&r, c, diags);
    }
}

fn contract(r: &Resolver<'_>, c: &Contract, diags: &mut Diagnostics) {
    // Rust items of the module: declared types and errors, and generated names.
    let mut items: Vec<(String, String, Span)> = Vec::new();
    let mut add = |rust: String, what: String, span: Span| items.push((rust, what, span));
    let contract_type = names::type_name(&c.name.name);
    add(
        format!("{contract_type}Client"),
        "the generated client".into(),
        c.name.span,
    );
    add(
        contract_type.clone(),
        "the generated callee trait".into(),
        c.name.span,
    );
    for t in &c.types {
        add(
            names::type_name(&t.name.name),
            format!("type `{}`", t.name.name),
            t.name.span,
        );
    }
    for e in &c.errors {
        add(
            names::type_name(&e.name.name),
            format!("error `{}`", e.name.name),
            e.name.span,
        );
    }
    for p in &c.procedures {
        let base = names::type_name(&p.name.name);
        let what = |s: &str| format!("{s} of procedure `{}`", p.name.name);
        add(format!("{base}Call"), what("the call builder"), p.name.span);
        if !p.errors.is_empty() {
            add(format!("{base}Error"), what("the error type"), p.name.span);
        }
        if p.result
            .as_ref()
            .is_some_and(|r| r.fields().count() > 1 || !r.kwargs.is_empty())
        {
            add(
                format!("{base}Result"),
                what("the result type"),
                p.name.span,
            );
        }
        if p.progress.is_some() {
            add(
                format!("{base}Progress"),
                what("the progress type"),
                p.name.span,
            );
        }
    }
    for t in &c.topics {
        let base = names::type_name(&t.name.name);
        let what = |s: &str| format!("{s} of topic `{}`", t.name.name);
        add(format!("{base}Event"), what("the event type"), t.name.span);
        if !t.params.is_empty() {
            add(
                format!("{base}Filter"),
                what("the subscription filter"),
                t.name.span,
            );
        }
    }
    collisions(&items, "in this contract's module", diags);
    wire_items(c, diags);

    // Client methods.
    let mut methods: Vec<(String, String, Span)> = vec![
        (
            "new".into(),
            "the generated constructor".into(),
            c.name.span,
        ),
        (
            "session".into(),
            "the generated session accessor".into(),
            c.name.span,
        ),
    ];
    for p in &c.procedures {
        methods.push((
            names::snake(&p.name.name),
            format!("procedure `{}`", p.name.name),
            p.name.span,
        ));
    }
    for t in &c.topics {
        methods.push((
            format!("publish_{}", names::snake(&t.name.name)),
            format!("the publisher of topic `{}`", t.name.name),
            t.name.span,
        ));
        methods.push((
            format!("subscribe_{}", names::snake(&t.name.name)),
            format!("the subscriber of topic `{}`", t.name.name),
            t.name.span,
        ));
        if !t.params.is_empty() {
            methods.push((
                format!("subscribe_{}_where", names::snake(&t.name.name)),
                format!("the filtered subscriber of topic `{}`", t.name.name),
                t.name.span,
            ));
        }
    }
    collisions(
        &methods,
        &format!("among the methods of `{contract_type}Client`"),
        diags,
    );

    // URIs: one meaning each.
    let mut uris: Vec<(String, String, Span)> = Vec::new();
    for p in &c.procedures {
        uris.push((
            p.uri.name.clone(),
            format!("procedure `{}`", p.name.name),
            p.uri.span,
        ));
    }
    for t in &c.topics {
        uris.push((
            pattern_key(&t.uri.name),
            format!("topic `{}`", t.name.name),
            t.uri.span,
        ));
    }
    for e in &c.errors {
        uris.push((
            e.uri.name.clone(),
            format!("error `{}`", e.name.name),
            e.uri.span,
        ));
    }
    for (i, (uri, what, span)) in uris.iter().enumerate() {
        if let Some((_, first, _)) = uris[..i].iter().find(|(u, _, _)| u == uri) {
            diags.error(
                *span,
                format!("duplicate URI `{uri}`: {what} has the URI of {first}"),
            );
        }
    }

    for i in &c.imports {
        if !c
            .imports
            .iter()
            .take_while(|j| !std::ptr::eq(*j, i))
            .all(|j| j.alias.name != i.alias.name)
        {
            diags.error(
                i.alias.span,
                format!("imports: duplicate alias `{}`", i.alias.name),
            );
        }
    }

    for t in &c.types {
        let path = format!("types.{}", t.name.name);
        match &t.kind {
            TypeKind::Struct(fields) => {
                fields_ok(r, c, fields, &format!("{path}.fields"), true, diags)
            }
            TypeKind::Alias(ty) => {
                type_ok(r, c, ty, &format!("{path}.type"), diags);
                if type_exists(r, c, &ty.expr) && r.resolve(c, &ty.expr).is_none() {
                    diags.error(ty.span, format!("{path}: the alias refers to itself"));
                }
            }
            TypeKind::Enum { values, .. } => {
                let mut seen: Vec<(String, String, Span)> = Vec::new();
                for v in values {
                    if v.value.name.is_empty() {
                        diags.error(
                            v.value.span,
                            format!("{path}.enum: an empty string is not a value"),
                        );
                    }
                    if let Some((_, first, _)) = seen.iter().find(|(_, w, _)| *w == v.value.name) {
                        diags.error(
                            v.value.span,
                            format!("{path}.enum: duplicate value `{first}`"),
                        );
                        continue;
                    }
                    seen.push((
                        names::variant(&v.value.name),
                        v.value.name.clone(),
                        v.value.span,
                    ));
                }
                let as_items: Vec<_> = seen
                    .into_iter()
                    .map(|(rust, wire, span)| (rust, format!("value `{wire}`"), span))
                    .collect();
                collisions(
                    &as_items,
                    &format!("among the variants of enum `{}`", t.name.name),
                    diags,
                );
                if let TypeKind::Enum { open: true, .. } = &t.kind {
                    if as_items_contains(&as_items, "Other") {
                        diags.error(t.name.span, format!("{path}: an open enum keeps unknown values in a variant `Other`; no value may be named `Other`"));
                    }
                }
            }
            TypeKind::Union { tag, variants } => {
                let mut seen: Vec<(String, String, Span)> = Vec::new();
                for v in variants {
                    let vpath = format!("{path}.union.variants.{}", v.tag.name);
                    if !type_ok(r, c, &v.ty, &vpath, diags) {
                        continue;
                    }
                    match r.resolve(c, &v.ty.expr) {
                        Some((
                            _,
                            Resolved::Def(TypeDef {
                                kind: TypeKind::Struct(fields),
                                ..
                            }),
                        )) if !v.ty.expr.is_optional() => {
                            if let Some(f) = fields.iter().find(|f| f.name.name == tag.name) {
                                diags.error(v.ty.span, format!("{vpath}: the struct has a field `{}`, which is the union's tag", f.name.name));
                            }
                        }
                        _ => diags.error(
                            v.ty.span,
                            format!(
                                "{vpath}: a union variant must be a struct type, found `{}`",
                                v.ty.expr
                            ),
                        ),
                    }
                    seen.push((
                        names::variant(&v.tag.name),
                        format!("variant `{}`", v.tag.name),
                        v.tag.span,
                    ));
                }
                collisions(
                    &seen,
                    &format!("among the variants of union `{}`", t.name.name),
                    diags,
                );
            }
        }
    }

    for e in &c.errors {
        payload_ok(r, c, &e.payload, &format!("errors.{}", e.name.name), diags);
    }

    for p in &c.procedures {
        let path = format!("procedures.{}", p.name.name);
        payload_ok(r, c, &p.input, &path, diags);
        if let Some(res) = &p.result {
            payload_ok(r, c, res, &format!("{path}.result"), diags);
        }
        if let Some(prog) = &p.progress {
            payload_ok(r, c, prog, &format!("{path}.progress"), diags);
            if prog.is_empty() {
                diags.error(
                    p.name.span,
                    format!("{path}.progress: progressive results need `args` or `kwargs`"),
                );
            }
        }
        for f in &p.input.kwargs {
            let rust = names::snake(&f.name.name);
            if f.may_be_left_out() && crate::render::CALL_METHODS.contains(&rust.as_str()) {
                diags.error(f.name.span, format!("{path}.kwargs.{}: name collision: the optional keyword argument's setter and the call builder's option `{rust}` both become `{rust}`", f.name.name));
            }
        }
        for (i, e) in p.errors.iter().enumerate() {
            if names::type_name(&e.name) == "Other" {
                diags.error(e.span, format!("{path}.errors[{i}]: name collision: the error `{}` and the catch-all variant `Other` of the procedure's error type both become `Other`", e.name));
            }
            if r.error(c, e).is_none() {
                let full = match &e.module {
                    Some(m) => format!("{m}.{}", e.name),
                    None => e.name.clone(),
                };
                diags.error(
                    e.span,
                    format!("{path}.errors[{i}]: unknown error `{full}`"),
                );
            } else if p.errors[..i]
                .iter()
                .any(|o| o.name == e.name && o.module == e.module)
            {
                diags.error(
                    e.span,
                    format!("{path}.errors[{i}]: `{}` is listed twice", e.name),
                );
            }
        }
    }

    for t in &c.topics {
        let path = format!("topics.{}", t.name.name);
        payload_ok(r, c, &t.payload, &path, diags);
        for f in &t.params {
            let ppath = format!("{path}.params.{}", f.name.name);
            if !type_ok(r, c, &f.ty, &ppath, diags) {
                continue;
            }
            let ok = match r.resolve(c, &f.ty.expr) {
                _ if f.ty.expr.is_optional() => false,
                Some((_, Resolved::Expr(TypeExpr::Scalar(s)))) => {
                    s.is_integer() || matches!(s, Scalar::String | Scalar::Bool)
                }
                Some((
                    _,
                    Resolved::Def(TypeDef {
                        kind: TypeKind::Enum { .. },
                        ..
                    }),
                )) => true,
                _ => false,
            };
            if !ok {
                diags.error(f.ty.span, format!("{ppath}: a capture is one URI component: its type must be `string`, an integer, `bool` or an enum, not `{}`", f.ty.expr));
            }
        }
        // Captures and payload fields are one struct: their names must differ.
        let mut all: Vec<(String, String, Span)> = Vec::new();
        for f in t.params.iter().chain(t.payload.fields()) {
            all.push((
                names::snake(&f.name.name),
                format!("`{}`", f.name.name),
                f.name.span,
            ));
        }
        collisions(
            &all,
            &format!("among the captures and fields of topic `{}`", t.name.name),
            diags,
        );
    }
}

fn as_items_contains(items: &[(String, String, Span)], name: &str) -> bool {
    items.iter().any(|(rust, _, _)| rust == name)
}

/// `a.{x}.b` and `a.{y}.b` are the same subscription.
fn pattern_key(uri: &str) -> String {
    split_pattern(uri)
        .into_iter()
        .map(|p| match p {
            UriPart::Literal(l) => l,
            UriPart::Capture(_) => "{}".into(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The `wire` module's structs: a layout per payload (an input, a result of more than a
/// bare value, progress, an error, an event) and, for one with keyword arguments, its
/// keyword struct. Names are made from the procedure's, error's or topic's name and a
/// suffix, so two different names can meet (`divide`'s result and `divide_result`'s input).
fn wire_items(c: &Contract, diags: &mut Diagnostics) {
    use crate::render::{error_site, event_site, input_site, progress_site, result_site, Site};

    let mut items: Vec<(String, String, Span)> = Vec::new();
    // The names the renderer gives, from its own sites.
    let mut add = |site: Site<'_>, what: String, span: Span| {
        if !site.payload.kwargs.is_empty() {
            items.push((
                site.kw_ident().to_string(),
                format!("the keyword struct of {what}"),
                span,
            ));
        }
        items.push((
            site.layout_ident().to_string(),
            format!("the wire layout of {what}"),
            span,
        ));
    };
    for e in &c.errors {
        add(
            error_site(e),
            format!("error `{}`", e.name.name),
            e.name.span,
        );
    }
    for p in &c.procedures {
        let what = |s: &str| format!("{s} of procedure `{}`", p.name.name);
        if !p.input.is_empty() {
            add(input_site(p), what("the input"), p.name.span);
        }
        // A procedure without a result (or with an empty one) has no layout for it.
        if let Some(site) = result_site(p).filter(|s| !s.payload.is_empty()) {
            add(site, what("the result"), p.name.span);
        }
        if let Some(site) = progress_site(p) {
            add(site, what("the progress"), p.name.span);
        }
    }
    for t in &c.topics {
        add(
            event_site(t),
            format!("topic `{}`", t.name.name),
            t.name.span,
        );
    }
    collisions(&items, "in this contract's `wire` module", diags);
}

fn collisions(items: &[(String, String, Span)], where_: &str, diags: &mut Diagnostics) {
    for (i, (rust, what, span)) in items.iter().enumerate() {
        if let Some((_, first, _)) = items[..i].iter().find(|(r, _, _)| r == rust) {
            diags.error(
                *span,
                format!("name collision {where_}: {what} and {first} both become the Rust name `{rust}`"),
            );
        }
    }
}

fn payload_ok(r: &Resolver<'_>, c: &Contract, p: &PayloadDef, path: &str, diags: &mut Diagnostics) {
    fields_ok(r, c, &p.args, &format!("{path}.args"), false, diags);
    fields_ok(r, c, &p.kwargs, &format!("{path}.kwargs"), true, diags);
    // Positional and keyword arguments become parameters of one function.
    let all: Vec<_> = p
        .fields()
        .map(|f| {
            (
                names::snake(&f.name.name),
                format!("`{}`", f.name.name),
                f.name.span,
            )
        })
        .collect();
    collisions(&all, &format!("among the arguments of `{path}`"), diags);
    // An optional positional argument can only be left out at the end.
    let mut seen_optional = false;
    for f in &p.args {
        if f.ty.expr.is_optional() {
            seen_optional = true;
        } else if seen_optional {
            diags.error(f.name.span, format!("{path}.args: the required argument `{}` follows an optional one (only trailing arguments can be left out)", f.name.name));
        }
    }
}

fn fields_ok(
    r: &Resolver<'_>,
    c: &Contract,
    fields: &[Field],
    path: &str,
    named: bool,
    diags: &mut Diagnostics,
) {
    let mut seen: Vec<(String, String, Span)> = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let fpath = if named {
            format!("{path}.{}", f.name.name)
        } else {
            format!("{path}[{i}]")
        };
        if named {
            seen.push((
                names::snake(&f.name.name),
                format!("`{}`", f.name.name),
                f.name.span,
            ));
        }
        if !type_ok(r, c, &f.ty, &fpath, diags) {
            continue;
        }
        if let Some(d) = &f.default {
            if let Err(e) = default_fits(r, c, &d.value, &f.ty.expr) {
                diags.error(d.span, format!("{fpath}.default: {e}"));
            }
        }
    }
    if named {
        collisions(&seen, &format!("in `{path}`"), diags);
    }
}

fn type_exists(r: &Resolver<'_>, c: &Contract, expr: &TypeExpr) -> bool {
    match expr {
        TypeExpr::Scalar(_) => true,
        TypeExpr::List(t) | TypeExpr::Map(t) | TypeExpr::Optional(t) => type_exists(r, c, t),
        TypeExpr::Named { module, name } => r.lookup(c, module.as_deref(), name).is_some(),
    }
}

/// Reports unknown types and aliases; true when the type is usable.
fn type_ok(
    r: &Resolver<'_>,
    c: &Contract,
    ty: &TypeRef,
    path: &str,
    diags: &mut Diagnostics,
) -> bool {
    fn walk(r: &Resolver<'_>, c: &Contract, e: &TypeExpr) -> Result<(), String> {
        match e {
            TypeExpr::Scalar(_) => Ok(()),
            TypeExpr::List(t) | TypeExpr::Map(t) | TypeExpr::Optional(t) => walk(r, c, t),
            TypeExpr::Named {
                module: Some(m),
                name,
            } => {
                if !c.imports.iter().any(|i| &i.alias.name == m) {
                    return Err(format!(
                        "unknown import alias `{m}` in `{m}.{name}` (declare it in `[imports]`)"
                    ));
                }
                if r.lookup(c, Some(m), name).is_none() {
                    return Err(format!(
                        "unknown type `{m}.{name}`: the imported contract has no type `{name}`"
                    ));
                }
                Ok(())
            }
            TypeExpr::Named { module: None, name } => {
                if r.lookup(c, None, name).is_none() {
                    let known: Vec<_> = c.types.iter().map(|t| t.name.name.as_str()).collect();
                    return Err(format!(
                        "unknown type `{name}` (built-in types: bool, i8..i64, u8..u64, f32, f64, string, bytes, uri, id, any; {})",
                        if known.is_empty() { "this contract declares no types".to_string() } else { format!("this contract's types: {}", known.join(", ")) }
                    ));
                }
                Ok(())
            }
        }
    }
    match walk(r, c, &ty.expr) {
        Ok(()) => true,
        Err(e) => {
            diags.error(ty.span, format!("{path}: {e}"));
            false
        }
    }
}

/// Whether a default value has the field's type; the error says why not.
pub(crate) fn default_fits(
    r: &Resolver<'_>,
    c: &Contract,
    v: &serde_json::Value,
    expr: &TypeExpr,
) -> Result<(), String> {
    use serde_json::Value;
    let (_, resolved) = r.resolve(c, expr).ok_or("the type is not resolved")?;
    match resolved {
        Resolved::Expr(TypeExpr::Scalar(s)) => {
            let fits = match s {
                Scalar::Bool => v.is_boolean(),
                Scalar::I8 => v.as_i64().is_some_and(|i| i8::try_from(i).is_ok()),
                Scalar::I16 => v.as_i64().is_some_and(|i| i16::try_from(i).is_ok()),
                Scalar::I32 => v.as_i64().is_some_and(|i| i32::try_from(i).is_ok()),
                Scalar::I64 => v.as_i64().is_some(),
                Scalar::U8 => v.as_u64().is_some_and(|i| u8::try_from(i).is_ok()),
                Scalar::U16 => v.as_u64().is_some_and(|i| u16::try_from(i).is_ok()),
                Scalar::U32 => v.as_u64().is_some_and(|i| u32::try_from(i).is_ok()),
                Scalar::U64 => v.as_u64().is_some(),
                Scalar::F32 | Scalar::F64 => v.is_number(),
                Scalar::String | Scalar::Uri => v.is_string(),
                Scalar::Id => v.as_u64().is_some_and(|i| (1..=1u64 << 53).contains(&i)),
                Scalar::Bytes | Scalar::Any => {
                    return Err(format!("defaults are not supported for `{}`", s.name()))
                }
            };
            if fits {
                Ok(())
            } else {
                Err(format!("{v} does not fit the type `{}`", s.name()))
            }
        }
        Resolved::Expr(TypeExpr::List(_)) => match v {
            Value::Array(a) if a.is_empty() => Ok(()),
            _ => Err("a list's default can only be the empty list `[]`".into()),
        },
        Resolved::Expr(TypeExpr::Map(_)) => match v {
            Value::Object(o) if o.is_empty() => Ok(()),
            _ => Err("a map's default can only be the empty table `{}`".into()),
        },
        Resolved::Expr(_) => Err("unsupported default".into()),
        Resolved::Def(def) => match &def.kind {
            TypeKind::Enum { values, open } => match v.as_str() {
                Some(s) if *open || values.iter().any(|x| x.value.name == s) => Ok(()),
                Some(s) => Err(format!(
                    "`{s}` is not a value of enum `{}` ({})",
                    def.name.name,
                    values.iter().map(|x| format!("`{}`", x.value.name)).collect::<Vec<_>>().join(", ")
                )),
                None => Err(format!("{v} is not a string, so not a value of enum `{}`", def.name.name)),
            },
            _ => Err(format!("defaults are supported for scalars, strings, enums and empty lists or maps, not for `{}`", def.name.name)),
        },
    }
}
