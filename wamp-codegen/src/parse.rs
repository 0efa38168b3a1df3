//! The contract-file front end: a [`Node`] tree (from TOML or JSON) into the model.
//!
//! This step checks the shape of the file (known keys, the right kinds of value, names
//! that are identifiers, type expressions that parse) and resolves relative URIs. What
//! needs the whole set of contracts (names that exist, imports, collisions) is checked by
//! [`crate::validate`]. Every problem is reported, not only the first.

use crate::doc::{Key, Kind, Node};
use crate::model::*;
use crate::source::{Diagnostics, Span};
use crate::typeexpr;

/// A contract as read from one file, with the imports still to load.
pub(crate) struct Parsed {
    pub contract: Contract,
    /// `(alias, path as written, where)`.
    pub imports: Vec<(Named, String, Span)>,
}

/// Reads a contract. Returns None when the file is too broken to make a contract of
/// (then at least one error was reported).
pub(crate) fn contract(root: &Node, source_name: &str, diags: &mut Diagnostics) -> Option<Parsed> {
    let mut r = Reader { diags };
    let top = r.table(
        root,
        "the file",
        &[
            "contract",
            "imports",
            "types",
            "errors",
            "procedures",
            "topics",
            "$schema",
        ],
    )?;

    let Some(header) = top.get("contract") else {
        r.diags.error(
            Span::new(root.span.file, 0..0),
            "missing `[contract]` table (with `name` and `version`)",
        );
        return None;
    };
    let header = r.table(
        header,
        "contract",
        &["name", "version", "uri_prefix", "doc"],
    )?;
    let name = r.required_str(&header, "contract", "name");
    let version = r.required_str(&header, "contract", "version");
    let uri_prefix = header
        .get("uri_prefix")
        .and_then(|n| r.string(n, "contract.uri_prefix"));
    let doc = header.get("doc").and_then(|n| r.string(n, "contract.doc"));

    if let Some(name) = &name {
        if !is_lower_snake(&name.name) {
            r.diags.error(
                name.span,
                format!(
                    "contract.name: `{}` must be lower snake case (it names the generated module), e.g. `{}`",
                    name.name,
                    heck::ToSnakeCase::to_snake_case(name.name.as_str())
                ),
            );
        }
    }
    if let Some(v) = &version {
        if let Err(e) = semver::Version::parse(&v.name) {
            r.diags.error(
                v.span,
                format!(
                    "contract.version: `{}` is not a semantic version ({e})",
                    v.name
                ),
            );
        }
    }
    if let Some(p) = &uri_prefix {
        if let Err(e) = crate::uri::check(&p.name, false) {
            r.diags
                .error(p.span, format!("contract.uri_prefix: `{}` {e}", p.name));
        }
    }
    let prefix = uri_prefix.as_ref().map(|p| p.name.clone());

    let mut imports = Vec::new();
    if let Some(node) = top.get("imports") {
        if let Some(entries) = r.entries(node, "imports") {
            for (key, value) in entries {
                r.check_name(key, "imports");
                if let Some(path) = r.string(value, &format!("imports.{}", key.name)) {
                    imports.push((named(key), path.name, value.span));
                }
            }
        }
    }

    let mut contract = Contract {
        name: name.unwrap_or(Named {
            name: String::new(),
            span: root.span,
        }),
        version: version.map(|v| v.name).unwrap_or_default(),
        uri_prefix: prefix.clone(),
        doc: doc.map(|d| d.name),
        source_name: source_name.to_string(),
        imports: Vec::new(),
        types: Vec::new(),
        errors: Vec::new(),
        procedures: Vec::new(),
        topics: Vec::new(),
    };
    let ctx = Ctx {
        prefix: prefix.as_deref(),
    };

    for (key, node) in r.section(&top, "types") {
        if let Some(t) = r.type_def(key, node) {
            contract.types.push(t);
        }
    }
    for (key, node) in r.section(&top, "errors") {
        if let Some(e) = r.error_def(key, node, &ctx) {
            contract.errors.push(e);
        }
    }
    for (key, node) in r.section(&top, "procedures") {
        if let Some(p) = r.procedure(key, node, &ctx) {
            contract.procedures.push(p);
        }
    }
    for (key, node) in r.section(&top, "topics") {
        if let Some(t) = r.topic(key, node, &ctx) {
            contract.topics.push(t);
        }
    }
    Some(Parsed { contract, imports })
}

struct Ctx<'a> {
    prefix: Option<&'a str>,
}

/// A table's entries by key, remembering the keys' spans.
struct Table<'n> {
    entries: &'n [(Key, Node)],
}

impl<'n> Table<'n> {
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v)
    }
}

fn named(key: &Key) -> Named {
    Named {
        name: key.name.clone(),
        span: key.span,
    }
}

pub(crate) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_lower_snake(s: &str) -> bool {
    is_identifier(s)
        && !s.starts_with('_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

struct Reader<'d> {
    diags: &'d mut Diagnostics,
}

impl Reader<'_> {
    /// A table whose keys must be among `allowed`; unknown keys are reported with the
    /// list of valid ones.
    fn table<'n>(&mut self, node: &'n Node, path: &str, allowed: &[&str]) -> Option<Table<'n>> {
        let entries = self.entries(node, path)?;
        let mut seen: Vec<&str> = Vec::new();
        for (key, _) in entries {
            if !allowed.contains(&key.name.as_str()) {
                self.diags.error(
                    key.span,
                    format!(
                        "{path}: unknown key `{}` (valid keys: {})",
                        key.name,
                        allowed
                            .iter()
                            .filter(|k| !k.starts_with('$'))
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            } else if seen.contains(&key.name.as_str()) {
                self.diags
                    .error(key.span, format!("{path}: duplicate key `{}`", key.name));
            }
            seen.push(&key.name);
        }
        Some(Table { entries })
    }

    fn entries<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n [(Key, Node)]> {
        match &node.kind {
            Kind::Table(entries) => Some(entries),
            _ => {
                self.diags.error(
                    node.span,
                    format!("{path}: expected a table, found {}", node.describe()),
                );
                None
            }
        }
    }

    /// The entries of a top-level section (`[types]`, ...), each name checked.
    fn section<'n>(&mut self, top: &Table<'n>, section: &str) -> Vec<(&'n Key, &'n Node)> {
        let Some(node) = top.get(section) else {
            return Vec::new();
        };
        let Some(entries) = self.entries(node, section) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, value) in entries {
            if self.check_name(key, section) {
                out.push((key, value));
            }
        }
        out
    }

    fn check_name(&mut self, key: &Key, path: &str) -> bool {
        if is_identifier(&key.name) {
            return true;
        }
        self.diags.error(
            key.span,
            format!(
                "{path}: `{}` is not a valid name (letters, digits and `_`, not starting with a digit)",
                key.name
            ),
        );
        false
    }

    fn string(&mut self, node: &Node, path: &str) -> Option<Named> {
        match &node.kind {
            Kind::Str(s) => Some(Named {
                name: s.clone(),
                span: node.span,
            }),
            _ => {
                self.diags.error(
                    node.span,
                    format!("{path}: expected a string, found {}", node.describe()),
                );
                None
            }
        }
    }

    fn boolean(&mut self, node: &Node, path: &str) -> Option<bool> {
        match node.kind {
            Kind::Bool(b) => Some(b),
            _ => {
                self.diags.error(
                    node.span,
                    format!("{path}: expected true or false, found {}", node.describe()),
                );
                None
            }
        }
    }

    fn required_str(&mut self, t: &Table<'_>, path: &str, key: &str) -> Option<Named> {
        match t.get(key) {
            Some(n) => self.string(n, &format!("{path}.{key}")),
            None => {
                let span = t
                    .entries
                    .first()
                    .map_or_else(Span::default, |(k, _)| k.span);
                self.diags
                    .error(span, format!("{path}: missing required key `{key}`"));
                None
            }
        }
    }

    fn meta(&mut self, t: &Table<'_>, path: &str) -> Meta {
        let doc = t
            .get("doc")
            .and_then(|n| self.string(n, &format!("{path}.doc")))
            .map(|d| d.name);
        let since = t
            .get("since")
            .and_then(|n| self.string(n, &format!("{path}.since")));
        if let Some(s) = &since {
            if let Err(e) = semver::Version::parse(&s.name) {
                self.diags.error(
                    s.span,
                    format!("{path}.since: `{}` is not a semantic version ({e})", s.name),
                );
            }
        }
        Meta {
            doc,
            since: since.map(|s| s.name),
        }
    }

    fn type_expr(&mut self, node: &Node, path: &str) -> Option<TypeRef> {
        let text = self.string(node, path)?;
        self.parse_type(&text.name, text.span, path)
    }

    fn parse_type(&mut self, text: &str, span: Span, path: &str) -> Option<TypeRef> {
        match typeexpr::parse(text) {
            Ok(expr) => Some(TypeRef { expr, span }),
            Err(e) => {
                self.diags.error(span, format!("{path}: {e}"));
                None
            }
        }
    }

    /// `name = "type"` or `name = { type, doc, default, since }`.
    fn named_field(&mut self, key: &Key, node: &Node, path: &str) -> Option<Field> {
        self.check_name(key, path);
        let path = format!("{path}.{}", key.name);
        match &node.kind {
            Kind::Str(_) => Some(Field {
                name: named(key),
                ty: self.type_expr(node, &path)?,
                meta: Meta::default(),
                default: None,
            }),
            Kind::Table(_) => {
                let t = self.table(node, &path, &["type", "doc", "default", "since"])?;
                let ty = match t.get("type") {
                    Some(n) => self.type_expr(n, &format!("{path}.type"))?,
                    None => {
                        self.diags
                            .error(node.span, format!("{path}: missing required key `type`"));
                        return None;
                    }
                };
                let meta = self.meta(&t, &path);
                Some(Field {
                    name: named(key),
                    ty,
                    meta,
                    default: t.get("default").map(|n| Default {
                        value: n.to_json(),
                        span: n.span,
                    }),
                })
            }
            _ => {
                self.diags.error(
                    node.span,
                    format!(
                        "{path}: expected a type (a string) or a table with `type`, found {}",
                        node.describe()
                    ),
                );
                None
            }
        }
    }

    fn named_fields(&mut self, node: &Node, path: &str) -> Vec<Field> {
        let Some(entries) = self.entries(node, path) else {
            return Vec::new();
        };
        entries
            .iter()
            .filter_map(|(k, v)| self.named_field(k, v, path))
            .collect()
    }

    /// `["name: type", { name, type, doc }]`.
    fn positional(&mut self, node: &Node, path: &str) -> Vec<Field> {
        let Kind::Array(items) = &node.kind else {
            self.diags.error(
                node.span,
                format!(
                    "{path}: expected an array of \"name: type\" entries, found {}",
                    node.describe()
                ),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("{path}[{i}]");
            match &item.kind {
                Kind::Str(s) => {
                    let Some((name, ty)) = s.split_once(':') else {
                        self.diags.error(
                            item.span,
                            format!("{path}: `{s}` must be \"name: type\", e.g. \"a: f64\""),
                        );
                        continue;
                    };
                    let name = name.trim();
                    let key = Key {
                        name: name.to_string(),
                        span: item.span,
                    };
                    if !self.check_name(&key, &path) {
                        continue;
                    }
                    if let Some(ty) = self.parse_type(ty.trim(), item.span, &path) {
                        out.push(Field {
                            name: named(&key),
                            ty,
                            meta: Meta::default(),
                            default: None,
                        });
                    }
                }
                Kind::Table(_) => {
                    let Some(t) = self.table(item, &path, &["name", "type", "doc", "since"])
                    else {
                        continue;
                    };
                    let Some(name) = self.required_str(&t, &path, "name") else {
                        continue;
                    };
                    let key = Key {
                        name: name.name.clone(),
                        span: name.span,
                    };
                    if !self.check_name(&key, &path) {
                        continue;
                    }
                    let Some(ty) = (match t.get("type") {
                        Some(n) => self.type_expr(n, &format!("{path}.type")),
                        None => {
                            self.diags
                                .error(item.span, format!("{path}: missing required key `type`"));
                            None
                        }
                    }) else {
                        continue;
                    };
                    let meta = self.meta(&t, &path);
                    out.push(Field {
                        name: named(&key),
                        ty,
                        meta,
                        default: None,
                    });
                }
                _ => self.diags.error(
                    item.span,
                    format!(
                        "{path}: expected \"name: type\" or a table with `name` and `type`, found {}",
                        item.describe()
                    ),
                ),
            }
        }
        out
    }

    fn payload(&mut self, t: &Table<'_>, path: &str) -> PayloadDef {
        PayloadDef {
            args: t
                .get("args")
                .map(|n| self.positional(n, &format!("{path}.args")))
                .unwrap_or_default(),
            kwargs: t
                .get("kwargs")
                .map(|n| self.named_fields(n, &format!("{path}.kwargs")))
                .unwrap_or_default(),
        }
    }

    fn sub_payload(&mut self, node: &Node, path: &str) -> Option<PayloadDef> {
        let t = self.table(node, path, &["args", "kwargs"])?;
        Some(self.payload(&t, path))
    }

    fn uri(&mut self, t: &Table<'_>, path: &str, ctx: &Ctx<'_>, patterns: bool) -> Option<Named> {
        let raw = self.required_str(t, path, "uri")?;
        let full = match raw.name.strip_prefix('.') {
            Some(rest) => match ctx.prefix {
                Some(prefix) => format!("{prefix}.{rest}"),
                None => {
                    self.diags.error(
                        raw.span,
                        format!(
                            "{path}.uri: `{}` is relative (starts with `.`) but the contract has no `uri_prefix`",
                            raw.name
                        ),
                    );
                    return None;
                }
            },
            None => raw.name.clone(),
        };
        if let Err(e) = crate::uri::check(&full, patterns) {
            self.diags
                .error(raw.span, format!("{path}.uri: `{full}` {e}"));
            return None;
        }
        Some(Named {
            name: full,
            span: raw.span,
        })
    }

    fn type_def(&mut self, key: &Key, node: &Node) -> Option<TypeDef> {
        let path = format!("types.{}", key.name);
        let t = self.table(
            node,
            &path,
            &["doc", "since", "fields", "enum", "open", "type", "union"],
        )?;
        let meta = self.meta(&t, &path);
        let kinds: Vec<&str> = ["fields", "enum", "type", "union"]
            .into_iter()
            .filter(|k| t.get(k).is_some())
            .collect();
        if kinds.len() != 1 {
            self.diags.error(
                key.span,
                format!(
                    "{path}: a type has exactly one of `fields` (struct), `enum`, `type` (alias) or `union`{}",
                    if kinds.is_empty() {
                        String::new()
                    } else {
                        format!(", found {}", kinds.join(" and "))
                    }
                ),
            );
            return None;
        }
        if t.get("open").is_some() && kinds[0] != "enum" {
            self.diags
                .error(key.span, format!("{path}: `open` is only for enums"));
        }
        let kind = match kinds[0] {
            "fields" => {
                TypeKind::Struct(self.named_fields(t.get("fields")?, &format!("{path}.fields")))
            }
            "type" => TypeKind::Alias(self.type_expr(t.get("type")?, &format!("{path}.type"))?),
            "enum" => {
                let open = t
                    .get("open")
                    .and_then(|n| self.boolean(n, &format!("{path}.open")))
                    .unwrap_or(false);
                let node = t.get("enum")?;
                let Kind::Array(items) = &node.kind else {
                    self.diags.error(
                        node.span,
                        format!(
                            "{path}.enum: expected an array of strings, found {}",
                            node.describe()
                        ),
                    );
                    return None;
                };
                let mut values = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let ipath = format!("{path}.enum[{i}]");
                    match &item.kind {
                        Kind::Str(s) => values.push(EnumValue {
                            value: Named {
                                name: s.clone(),
                                span: item.span,
                            },
                            doc: None,
                        }),
                        Kind::Table(_) => {
                            let Some(vt) = self.table(item, &ipath, &["value", "doc"]) else {
                                continue;
                            };
                            let Some(value) = self.required_str(&vt, &ipath, "value") else {
                                continue;
                            };
                            let doc = vt
                                .get("doc")
                                .and_then(|n| self.string(n, &format!("{ipath}.doc")))
                                .map(|d| d.name);
                            values.push(EnumValue { value, doc });
                        }
                        _ => self.diags.error(
                            item.span,
                            format!(
                                "{ipath}: expected a string or a table with `value`, found {}",
                                item.describe()
                            ),
                        ),
                    }
                }
                if values.is_empty() {
                    self.diags.error(
                        node.span,
                        format!("{path}.enum: an enum needs at least one value"),
                    );
                }
                TypeKind::Enum { values, open }
            }
            _ => {
                let node = t.get("union")?;
                let ut = self.table(node, &format!("{path}.union"), &["tag", "variants"])?;
                let tag = self.required_str(&ut, &format!("{path}.union"), "tag")?;
                let vnode = match ut.get("variants") {
                    Some(v) => v,
                    None => {
                        self.diags.error(
                            node.span,
                            format!("{path}.union: missing required key `variants`"),
                        );
                        return None;
                    }
                };
                let entries = self.entries(vnode, &format!("{path}.union.variants"))?;
                let mut variants = Vec::new();
                for (k, v) in entries {
                    if let Some(ty) =
                        self.type_expr(v, &format!("{path}.union.variants.{}", k.name))
                    {
                        variants.push(Variant { tag: named(k), ty });
                    }
                }
                if variants.is_empty() {
                    self.diags.error(
                        vnode.span,
                        format!("{path}.union.variants: a union needs at least one variant"),
                    );
                }
                TypeKind::Union { tag, variants }
            }
        };
        Some(TypeDef {
            name: named(key),
            meta,
            kind,
        })
    }

    fn error_def(&mut self, key: &Key, node: &Node, ctx: &Ctx<'_>) -> Option<ErrorDef> {
        let path = format!("errors.{}", key.name);
        let t = self.table(node, &path, &["uri", "doc", "since", "args", "kwargs"])?;
        let meta = self.meta(&t, &path);
        let uri = self.uri(&t, &path, ctx, false);
        let payload = self.payload(&t, &path);
        Some(ErrorDef {
            name: named(key),
            meta,
            uri: uri?,
            payload,
        })
    }

    fn procedure(&mut self, key: &Key, node: &Node, ctx: &Ctx<'_>) -> Option<Procedure> {
        let path = format!("procedures.{}", key.name);
        let t = self.table(
            node,
            &path,
            &[
                "uri",
                "doc",
                "since",
                "args",
                "kwargs",
                "result",
                "errors",
                "progress",
                "timeout_ms",
                "invoke",
                "cancel",
                "disclose_caller",
            ],
        )?;
        let meta = self.meta(&t, &path);
        let uri = self.uri(&t, &path, ctx, false);
        let input = self.payload(&t, &path);
        let result = t
            .get("result")
            .and_then(|n| self.sub_payload(n, &format!("{path}.result")));
        let progress = t
            .get("progress")
            .and_then(|n| self.sub_payload(n, &format!("{path}.progress")));
        let mut errors = Vec::new();
        if let Some(node) = t.get("errors") {
            match &node.kind {
                Kind::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if let Some(s) = self.string(item, &format!("{path}.errors[{i}]")) {
                            let (module, name) = match s.name.split_once('.') {
                                Some((m, n)) => (Some(m.to_string()), n.to_string()),
                                None => (None, s.name.clone()),
                            };
                            errors.push(ErrorRef {
                                module,
                                name,
                                span: s.span,
                            });
                        }
                    }
                }
                _ => self.diags.error(
                    node.span,
                    format!(
                        "{path}.errors: expected an array of error names, found {}",
                        node.describe()
                    ),
                ),
            }
        }
        let timeout_ms = t.get("timeout_ms").and_then(|n| match n.kind {
            Kind::Int(i) if i > 0 && i <= i128::from(u32::MAX) => u64::try_from(i).ok(),
            _ => {
                self.diags.error(
                    n.span,
                    format!(
                        "{path}.timeout_ms: expected a positive number of milliseconds, found {}",
                        n.describe()
                    ),
                );
                None
            }
        });
        let invoke = t.get("invoke").and_then(|n| {
            let s = self.string(n, &format!("{path}.invoke"))?;
            let v = match s.name.as_str() {
                "single" => Invoke::Single,
                "roundrobin" => Invoke::RoundRobin,
                "random" => Invoke::Random,
                "first" => Invoke::First,
                "last" => Invoke::Last,
                other => {
                    self.diags.error(
                        s.span,
                        format!("{path}.invoke: unknown policy `{other}` (valid: `single`, `roundrobin`, `random`, `first`, `last`)"),
                    );
                    return None;
                }
            };
            Some(v)
        });
        let cancel = t.get("cancel").and_then(|n| {
            let s = self.string(n, &format!("{path}.cancel"))?;
            let v = match s.name.as_str() {
                "skip" => Cancel::Skip,
                "kill" => Cancel::Kill,
                "killnowait" => Cancel::KillNoWait,
                other => {
                    self.diags.error(
                        s.span,
                        format!("{path}.cancel: unknown mode `{other}` (valid: `skip`, `kill`, `killnowait`)"),
                    );
                    return None;
                }
            };
            Some(v)
        });
        let disclose_caller = t
            .get("disclose_caller")
            .and_then(|n| self.boolean(n, &format!("{path}.disclose_caller")))
            .unwrap_or(false);
        Some(Procedure {
            name: named(key),
            meta,
            uri: uri?,
            input,
            result,
            errors,
            progress,
            timeout_ms,
            invoke,
            cancel,
            disclose_caller,
        })
    }

    fn topic(&mut self, key: &Key, node: &Node, ctx: &Ctx<'_>) -> Option<Topic> {
        let path = format!("topics.{}", key.name);
        let t = self.table(
            node,
            &path,
            &["uri", "doc", "since", "params", "args", "kwargs", "retain"],
        )?;
        let meta = self.meta(&t, &path);
        let uri = self.uri(&t, &path, ctx, true);
        let declared = t
            .get("params")
            .map(|n| self.named_fields(n, &format!("{path}.params")))
            .unwrap_or_default();
        let payload = self.payload(&t, &path);
        let retain = t
            .get("retain")
            .and_then(|n| self.boolean(n, &format!("{path}.retain")))
            .unwrap_or(false);
        let uri = uri?;
        // Captures in URI order, each with its declared type.
        let mut params = Vec::new();
        for part in split_pattern(&uri.name) {
            if let UriPart::Capture(name) = part {
                match declared.iter().find(|f| f.name.name == name) {
                    Some(f) => params.push(f.clone()),
                    None => self.diags.error(
                        uri.span,
                        format!(
                            "{path}.uri: the capture `{{{name}}}` has no type in `{path}.params`"
                        ),
                    ),
                }
            }
        }
        for f in &declared {
            if !params.iter().any(|p| p.name.name == f.name.name) {
                self.diags.error(
                    f.name.span,
                    format!(
                        "{path}.params.{}: `{{{}}}` does not appear in the topic URI",
                        f.name.name, f.name.name
                    ),
                );
            }
        }
        Some(Topic {
            name: named(key),
            meta,
            uri,
            params,
            payload,
            retain,
        })
    }
}
