//! `wamp codegen diff`: what changed between two versions of a contract, and whether a
//! deployed peer would break.
//!
//! Direction decides: a procedure's inputs are written by callers and read by the
//! callee, its outputs (result, progress, errors) the reverse; topics fan out to
//! subscribers nobody knows, so only changes of optional fields are safe there. Readers
//! generated from contracts are tolerant (unknown keys and extra trailing arguments are
//! ignored), and names of positional arguments are not on the wire.

use std::collections::BTreeSet;

use crate::model::*;
use crate::validate::{Resolved, Resolver};

/// How bad a change is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Safe, worth listing.
    Info,
    /// Safe on the wire, but some peer may need attention.
    Warning,
    /// A deployed peer breaks.
    Breaking,
}

impl Level {
    /// `breaking`, `warning` or `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Breaking => "breaking",
        }
    }
}

/// One change between two contract versions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// How bad.
    pub level: Level,
    /// The key path (`procedures.divide.kwargs.precision`).
    pub path: String,
    /// What changed.
    pub message: String,
    /// How to roll it out.
    pub hint: String,
}

/// Who writes and who reads a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dir {
    /// Callers write, the callee reads.
    Input,
    /// The callee writes, callers read.
    Output,
    /// Publishers write, unknown subscribers read, both in any version.
    Both,
}

const HINT_CALLEE_FIRST: &str = "safe in any order: upgrade either side when convenient";
const HINT_NEW_NAME: &str =
    "add the new version under a new name or URI, move every peer to it, then remove the old one";

/// Compares the first contract of each bundle (the one asked for; imports are followed
/// for the types it uses).
pub fn compare(old: &Bundle, new: &Bundle) -> Vec<Change> {
    let (Some(oc), Some(nc)) = (old.contracts.last(), new.contracts.last()) else {
        return Vec::new();
    };
    let mut d = Differ {
        old: Resolver::new(old),
        new: Resolver::new(new),
        oc,
        nc,
        out: Vec::new(),
        seen_types: BTreeSet::new(),
    };
    d.contract();
    d.out
        .sort_by(|a, b| b.level.cmp(&a.level).then(a.path.cmp(&b.path)));
    d.out
}

struct Differ<'a> {
    old: Resolver<'a>,
    new: Resolver<'a>,
    oc: &'a Contract,
    nc: &'a Contract,
    out: Vec<Change>,
    seen_types: BTreeSet<(String, String)>,
}

impl<'a> Differ<'a> {
    fn push(
        &mut self,
        level: Level,
        path: impl Into<String>,
        message: impl Into<String>,
        hint: &str,
    ) {
        self.out.push(Change {
            level,
            path: path.into(),
            message: message.into(),
            hint: hint.to_string(),
        });
    }

    fn contract(&mut self) {
        let (oc, nc) = (self.oc, self.nc);
        if oc.name.name != nc.name.name {
            self.push(
                Level::Breaking,
                "contract.name",
                format!(
                    "renamed from `{}` to `{}`: the generated module changes",
                    oc.name.name, nc.name.name
                ),
                "rename in every crate that includes the generated code",
            );
        }
        if let (Ok(o), Ok(n)) = (
            semver::Version::parse(&oc.version),
            semver::Version::parse(&nc.version),
        ) {
            if n < o {
                self.push(
                    Level::Warning,
                    "contract.version",
                    format!("the version goes down ({} → {})", oc.version, nc.version),
                    "versions should only grow",
                );
            }
        }
        if oc.doc != nc.doc {
            self.push(
                Level::Info,
                "contract.doc",
                "documentation changed",
                HINT_CALLEE_FIRST,
            );
        }

        for op in &oc.procedures {
            let path = format!("procedures.{}", op.name.name);
            match nc.procedures.iter().find(|p| p.name.name == op.name.name) {
                None => {
                    if let Some(np) = nc.procedures.iter().find(|p| p.uri.name == op.uri.name) {
                        self.push(Level::Info, &path, format!("renamed to `{}` (same URI: nothing changes on the wire; the generated method is renamed)", np.name.name), "rename the method in Rust code");
                        self.procedure(op, np, &format!("procedures.{}", np.name.name));
                    } else {
                        self.push(
                            Level::Breaking,
                            &path,
                            format!(
                                "removed: callers of `{}` get wamp.error.no_such_procedure",
                                op.uri.name
                            ),
                            "deprecate it first; remove it once no caller uses it",
                        );
                    }
                }
                Some(np) => self.procedure(op, np, &path),
            }
        }
        for np in &nc.procedures {
            let renamed = oc.procedures.iter().any(|p| p.uri.name == np.uri.name);
            if !renamed && !oc.procedures.iter().any(|p| p.name.name == np.name.name) {
                self.push(
                    Level::Info,
                    format!("procedures.{}", np.name.name),
                    format!("new procedure `{}`", np.uri.name),
                    "deploy its callee before the callers that use it",
                );
            }
        }
        for ot in &oc.topics {
            let path = format!("topics.{}", ot.name.name);
            match nc.topics.iter().find(|t| t.name.name == ot.name.name) {
                None => self.push(
                    Level::Breaking,
                    &path,
                    format!(
                        "removed: subscribers of `{}` get no more events",
                        ot.uri.name
                    ),
                    "keep publishing until no subscriber is left",
                ),
                Some(nt) => self.topic(ot, nt, &path),
            }
        }
        for nt in &nc.topics {
            if !oc.topics.iter().any(|t| t.name.name == nt.name.name) {
                self.push(
                    Level::Info,
                    format!("topics.{}", nt.name.name),
                    format!("new topic `{}`", nt.uri.name),
                    HINT_CALLEE_FIRST,
                );
            }
        }
        for oe in &oc.errors {
            let path = format!("errors.{}", oe.name.name);
            match nc.errors.iter().find(|e| e.name.name == oe.name.name) {
                None => self.push(Level::Info, &path, "error removed", HINT_CALLEE_FIRST),
                Some(ne) => {
                    if oe.uri.name != ne.uri.name {
                        self.push(Level::Breaking, format!("{path}.uri"), format!("URI changed from `{}` to `{}`: callers no longer recognise the error", oe.uri.name, ne.uri.name), HINT_NEW_NAME);
                    }
                    self.payload(&oe.payload, &ne.payload, &path, Dir::Output);
                }
            }
        }
        for nt in &nc.types {
            if !oc.types.iter().any(|t| t.name.name == nt.name.name) {
                self.push(
                    Level::Info,
                    format!("types.{}", nt.name.name),
                    "new type",
                    HINT_CALLEE_FIRST,
                );
            }
        }
        for ot in &oc.types {
            if !nc.types.iter().any(|t| t.name.name == ot.name.name) {
                self.push(
                    Level::Warning,
                    format!("types.{}", ot.name.name),
                    "type removed: contracts that import it break",
                    "check the contracts that import this one",
                );
            }
        }
    }

    fn procedure(&mut self, op: &Procedure, np: &Procedure, path: &str) {
        if op.uri.name != np.uri.name {
            self.push(
                Level::Breaking,
                format!("{path}.uri"),
                format!("URI changed from `{}` to `{}`", op.uri.name, np.uri.name),
                HINT_NEW_NAME,
            );
        }
        if op.meta.doc != np.meta.doc {
            self.push(
                Level::Info,
                format!("{path}.doc"),
                "documentation changed",
                HINT_CALLEE_FIRST,
            );
        }
        self.payload(&op.input, &np.input, path, Dir::Input);
        match (&op.result, &np.result) {
            (Some(o), Some(n)) => self.payload(o, n, &format!("{path}.result"), Dir::Output),
            (Some(o), None) if !o.is_empty() => self.push(
                Level::Breaking,
                format!("{path}.result"),
                "the result was removed: callers expecting it fail",
                HINT_NEW_NAME,
            ),
            (None, Some(n)) if !n.is_empty() => self.push(
                Level::Info,
                format!("{path}.result"),
                "a result was added (old callers ignore it)",
                "deploy the callee first",
            ),
            _ => {}
        }
        match (&op.progress, &np.progress) {
            (Some(o), Some(n)) => self.payload(o, n, &format!("{path}.progress"), Dir::Output),
            (Some(_), None) => self.push(
                Level::Breaking,
                format!("{path}.progress"),
                "progressive results were removed: callers waiting for progress see none",
                HINT_NEW_NAME,
            ),
            (None, Some(_)) => self.push(
                Level::Info,
                format!("{path}.progress"),
                "progressive results were added (sent only to callers that ask)",
                "deploy the callee first",
            ),
            _ => {}
        }
        for e in &np.errors {
            if !op
                .errors
                .iter()
                .any(|o| o.name == e.name && o.module == e.module)
            {
                self.push(Level::Warning, format!("{path}.errors"), format!("new declared error `{}`: callers built on the old contract see it as an undeclared error", e.name), "upgrade callers that handle errors before the callee starts sending it");
            }
        }
        for e in &op.errors {
            if !np
                .errors
                .iter()
                .any(|n| n.name == e.name && n.module == e.module)
            {
                self.push(
                    Level::Info,
                    format!("{path}.errors"),
                    format!("`{}` is no longer declared", e.name),
                    HINT_CALLEE_FIRST,
                );
            }
        }
        if op.timeout_ms != np.timeout_ms {
            self.push(
                Level::Info,
                format!("{path}.timeout_ms"),
                format!(
                    "default call timeout {} → {}",
                    show(op.timeout_ms),
                    show(np.timeout_ms)
                ),
                HINT_CALLEE_FIRST,
            );
        }
        if op.invoke != np.invoke {
            self.push(Level::Warning, format!("{path}.invoke"), format!("shared registration policy {:?} → {:?}: a router refuses a callee whose policy differs from the ones already registered", op.invoke, np.invoke), "restart every callee of the procedure together");
        }
        if op.cancel != np.cancel {
            self.push(
                Level::Info,
                format!("{path}.cancel"),
                format!("cancel mode {:?} → {:?}", op.cancel, np.cancel),
                HINT_CALLEE_FIRST,
            );
        }
        if op.disclose_caller != np.disclose_caller {
            self.push(
                Level::Info,
                format!("{path}.disclose_caller"),
                format!(
                    "disclose_caller {} → {}",
                    op.disclose_caller, np.disclose_caller
                ),
                HINT_CALLEE_FIRST,
            );
        }
    }

    fn topic(&mut self, ot: &Topic, nt: &Topic, path: &str) {
        if split_key(&ot.uri.name) != split_key(&nt.uri.name) {
            self.push(
                Level::Breaking,
                format!("{path}.uri"),
                format!(
                    "URI pattern changed from `{}` to `{}`: old subscribers miss the events",
                    ot.uri.name, nt.uri.name
                ),
                HINT_NEW_NAME,
            );
        } else {
            for (o, n) in ot.params.iter().zip(&nt.params) {
                self.ty(
                    &o.ty.expr,
                    &n.ty.expr,
                    &format!("{path}.params.{}", n.name.name),
                    Dir::Both,
                );
            }
        }
        if ot.retain != nt.retain {
            self.push(
                Level::Info,
                format!("{path}.retain"),
                format!("retain {} → {}", ot.retain, nt.retain),
                HINT_CALLEE_FIRST,
            );
        }
        self.payload(&ot.payload, &nt.payload, path, Dir::Both);
    }

    fn payload(&mut self, o: &PayloadDef, n: &PayloadDef, path: &str, dir: Dir) {
        self.positional(&o.args, &n.args, &format!("{path}.args"), dir);
        self.fields(
            &o.kwargs,
            &n.kwargs,
            &format!("{path}.kwargs"),
            dir,
            "keyword argument",
        );
    }

    fn positional(&mut self, o: &[Field], n: &[Field], path: &str, dir: Dir) {
        for (i, (of, nf)) in o.iter().zip(n).enumerate() {
            let p = format!("{path}[{i}]");
            if of.name.name != nf.name.name {
                if let Some(j) = o.iter().position(|f| f.name.name == nf.name.name) {
                    self.push(Level::Breaking, &p, format!("`{}` moved from position {} to {}: positional arguments are matched by position", nf.name.name, j + 1, i + 1), HINT_NEW_NAME);
                    continue;
                }
                self.push(
                    Level::Info,
                    &p,
                    format!(
                        "renamed `{}` → `{}` (positional names are not on the wire)",
                        of.name.name, nf.name.name
                    ),
                    HINT_CALLEE_FIRST,
                );
            }
            self.ty(&of.ty.expr, &nf.ty.expr, &p, dir);
        }
        if n.len() > o.len() {
            for (i, f) in n.iter().enumerate().skip(o.len()) {
                let p = format!("{path}[{i}]");
                let required = !f.ty.expr.is_optional();
                match dir {
                    Dir::Input if required => self.push(
                        Level::Breaking,
                        &p,
                        format!(
                            "new required argument `{}`: old callers do not send it",
                            f.name.name
                        ),
                        HINT_NEW_NAME,
                    ),
                    Dir::Both if required => self.push(
                        Level::Breaking,
                        &p,
                        format!(
                            "new required field `{}`: old publishers do not send it",
                            f.name.name
                        ),
                        HINT_NEW_NAME,
                    ),
                    _ => self.push(
                        Level::Info,
                        &p,
                        format!(
                            "new {}argument `{}` (old readers ignore extra trailing arguments)",
                            if required { "" } else { "optional " },
                            f.name.name
                        ),
                        "deploy the readers first",
                    ),
                }
            }
        }
        if o.len() > n.len() {
            for (i, f) in o.iter().enumerate().skip(n.len()) {
                self.push(
                    Level::Breaking,
                    format!("{path}[{i}]"),
                    format!("positional argument `{}` removed", f.name.name),
                    HINT_NEW_NAME,
                );
            }
        }
    }

    fn fields(&mut self, o: &[Field], n: &[Field], path: &str, dir: Dir, what: &str) {
        let optional = Field::may_be_left_out;
        for of in o {
            let p = format!("{path}.{}", of.name.name);
            match n.iter().find(|f| f.name.name == of.name.name) {
                None => {
                    let renamed_to = n.iter().find(|f| {
                        !o.iter().any(|x| x.name.name == f.name.name) && f.ty.expr == of.ty.expr
                    });
                    match renamed_to {
                        Some(r) => self.push(Level::Breaking, &p, format!("{what} renamed `{}` → `{}`: names are on the wire", of.name.name, r.name.name), HINT_NEW_NAME),
                        None => match dir {
                            Dir::Output | Dir::Both if !optional(of) => self.push(Level::Breaking, &p, format!("required {what} `{}` removed: readers expect it", of.name.name), HINT_NEW_NAME),
                            Dir::Input if !optional(of) => self.push(Level::Breaking, &p, format!("required {what} `{}` removed: callers still send it and the callee no longer reads it", of.name.name), "deprecate first; remove once no caller sends it"),
                            _ => self.push(Level::Warning, &p, format!("optional {what} `{}` removed: peers that still set it are ignored", of.name.name), "remove once no peer uses it"),
                        },
                    }
                }
                Some(nf) => {
                    match (optional(of), optional(nf)) {
                        (true, false) => match dir {
                            Dir::Input | Dir::Both => self.push(
                                Level::Breaking,
                                &p,
                                format!(
                                    "`{}` became required: old writers may leave it out",
                                    of.name.name
                                ),
                                HINT_NEW_NAME,
                            ),
                            Dir::Output => self.push(
                                Level::Info,
                                &p,
                                format!("`{}` became required (always written now)", of.name.name),
                                HINT_CALLEE_FIRST,
                            ),
                        },
                        (false, true) => match dir {
                            Dir::Output | Dir::Both => self.push(
                                Level::Breaking,
                                &p,
                                format!(
                                    "`{}` became optional: old readers require it",
                                    of.name.name
                                ),
                                HINT_NEW_NAME,
                            ),
                            Dir::Input => self.push(
                                Level::Info,
                                &p,
                                format!("`{}` became optional", of.name.name),
                                "deploy the callee first",
                            ),
                        },
                        _ => {}
                    }
                    if of.default.as_ref().map(|d| &d.value)
                        != nf.default.as_ref().map(|d| &d.value)
                    {
                        self.push(Level::Warning, format!("{p}.default"), format!("default of `{}` changed: old and new readers fill in different values", of.name.name), "upgrade every reader together");
                    }
                    self.ty(
                        of.ty.expr.strip_optional(),
                        nf.ty.expr.strip_optional(),
                        &p,
                        dir,
                    );
                }
            }
        }
        for nf in n {
            if o.iter().any(|f| f.name.name == nf.name.name) {
                continue;
            }
            let renamed = o
                .iter()
                .any(|f| !n.iter().any(|x| x.name.name == f.name.name) && f.ty.expr == nf.ty.expr);
            if renamed {
                continue;
            }
            let p = format!("{path}.{}", nf.name.name);
            match (dir, optional(nf)) {
                (Dir::Input, false) => self.push(
                    Level::Breaking,
                    &p,
                    format!(
                        "new required {what} `{}`: old callers do not send it",
                        nf.name.name
                    ),
                    "make it optional (with a default), or add a new procedure",
                ),
                (Dir::Both, false) => self.push(
                    Level::Breaking,
                    &p,
                    format!(
                        "new required {what} `{}`: old publishers do not send it",
                        nf.name.name
                    ),
                    "make it optional",
                ),
                (Dir::Output, _) => self.push(
                    Level::Info,
                    &p,
                    format!("new {what} `{}` (old readers ignore it)", nf.name.name),
                    "deploy the callee first",
                ),
                (_, true) => self.push(
                    Level::Info,
                    &p,
                    format!("new optional {what} `{}`", nf.name.name),
                    "deploy the readers first",
                ),
            }
        }
    }

    /// Compares two type expressions (optional markers already handled by the caller).
    fn ty(&mut self, o: &TypeExpr, n: &TypeExpr, path: &str, dir: Dir) {
        match (o, n) {
            (TypeExpr::Optional(o), TypeExpr::Optional(n)) => self.ty(o, n, path, dir),
            (TypeExpr::List(o), TypeExpr::List(n)) | (TypeExpr::Map(o), TypeExpr::Map(n)) => {
                self.ty(o, n, path, dir)
            }
            (TypeExpr::Named { .. }, _) | (_, TypeExpr::Named { .. }) => {
                let od = self.old.resolve(self.oc, o);
                let nd = self.new.resolve(self.nc, n);
                match (od, nd) {
                    (Some((_, Resolved::Def(od))), Some((_, Resolved::Def(nd)))) => {
                        if kind_name(&od.kind) != kind_name(&nd.kind) {
                            self.push(
                                Level::Breaking,
                                path,
                                format!(
                                    "type changed from `{o}` ({}) to `{n}` ({})",
                                    kind_name(&od.kind),
                                    kind_name(&nd.kind)
                                ),
                                HINT_NEW_NAME,
                            );
                            return;
                        }
                        let key = (od.name.name.clone(), nd.name.name.clone());
                        if !self.seen_types.insert(key) {
                            return;
                        }
                        let tpath = format!("types.{}", nd.name.name);
                        self.def(od, nd, &tpath, dir);
                    }
                    (Some((_, Resolved::Expr(oe))), Some((_, Resolved::Expr(ne)))) => {
                        self.ty(&oe, &ne, path, dir)
                    }
                    _ => self.push(
                        Level::Breaking,
                        path,
                        format!("type changed from `{o}` to `{n}`"),
                        HINT_NEW_NAME,
                    ),
                }
            }
            (o, n) if o == n => {}
            (TypeExpr::Scalar(os), TypeExpr::Scalar(ns))
                if widens(*os, *ns) && dir == Dir::Input =>
            {
                self.push(
                    Level::Info,
                    path,
                    format!("type widened from `{o}` to `{n}` (every old value still fits)"),
                    "deploy the callee first",
                );
            }
            _ => self.push(
                Level::Breaking,
                path,
                format!("type changed from `{o}` to `{n}`"),
                HINT_NEW_NAME,
            ),
        }
    }

    fn def(&mut self, od: &'a TypeDef, nd: &'a TypeDef, path: &str, dir: Dir) {
        match (&od.kind, &nd.kind) {
            (TypeKind::Struct(of), TypeKind::Struct(nf)) => {
                self.fields(of, nf, &format!("{path}.fields"), dir, "field")
            }
            (
                TypeKind::Enum {
                    values: ov,
                    open: oo,
                },
                TypeKind::Enum {
                    values: nv,
                    open: no,
                },
            ) => {
                for v in nv {
                    if !ov.iter().any(|x| x.value.name == v.value.name) {
                        let level = if *oo || dir == Dir::Input {
                            Level::Info
                        } else {
                            Level::Breaking
                        };
                        let why = if level == Level::Breaking {
                            ": old readers of this closed enum refuse it"
                        } else {
                            ""
                        };
                        self.push(level, format!("{path}.enum"), format!("new value `{}`{why}", v.value.name), if level == Level::Breaking { "make the enum open (`open = true`) before adding values, or upgrade every reader first" } else { "deploy the readers first" });
                    }
                }
                for v in ov {
                    if !nv.iter().any(|x| x.value.name == v.value.name) {
                        let level = if dir == Dir::Output {
                            Level::Info
                        } else {
                            Level::Breaking
                        };
                        self.push(
                            level,
                            format!("{path}.enum"),
                            format!("value `{}` removed", v.value.name),
                            if level == Level::Breaking {
                                "stop writing it everywhere first"
                            } else {
                                HINT_CALLEE_FIRST
                            },
                        );
                    }
                }
                if *oo && !*no && dir != Dir::Output {
                    self.push(
                        Level::Breaking,
                        format!("{path}.open"),
                        "the enum became closed: unknown values written by peers are refused",
                        HINT_NEW_NAME,
                    );
                } else if oo != no {
                    self.push(
                        Level::Info,
                        format!("{path}.open"),
                        format!("open {oo} → {no}"),
                        HINT_CALLEE_FIRST,
                    );
                }
            }
            (TypeKind::Alias(o), TypeKind::Alias(n)) => self.ty(&o.expr, &n.expr, path, dir),
            (
                TypeKind::Union {
                    tag: ot,
                    variants: ov,
                },
                TypeKind::Union {
                    tag: nt,
                    variants: nv,
                },
            ) => {
                if ot.name != nt.name {
                    self.push(
                        Level::Breaking,
                        format!("{path}.union.tag"),
                        format!("tag key `{}` → `{}`", ot.name, nt.name),
                        HINT_NEW_NAME,
                    );
                }
                for v in nv {
                    match ov.iter().find(|x| x.tag.name == v.tag.name) {
                        Some(o) => self.ty(
                            &o.ty.expr,
                            &v.ty.expr,
                            &format!("{path}.union.variants.{}", v.tag.name),
                            dir,
                        ),
                        None => {
                            let level = if dir == Dir::Input {
                                Level::Info
                            } else {
                                Level::Breaking
                            };
                            self.push(
                                level,
                                format!("{path}.union.variants.{}", v.tag.name),
                                "new variant: old readers refuse its tag",
                                "upgrade every reader first",
                            );
                        }
                    }
                }
                for v in ov {
                    if !nv.iter().any(|x| x.tag.name == v.tag.name) {
                        let level = if dir == Dir::Output {
                            Level::Info
                        } else {
                            Level::Breaking
                        };
                        self.push(
                            level,
                            format!("{path}.union.variants.{}", v.tag.name),
                            "variant removed",
                            "stop writing it everywhere first",
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

fn kind_name(k: &TypeKind) -> &'static str {
    match k {
        TypeKind::Struct(_) => "struct",
        TypeKind::Enum { .. } => "enum",
        TypeKind::Alias(_) => "alias",
        TypeKind::Union { .. } => "union",
    }
}

/// Whether every value of `from` is a value of `to` (for inputs, where the callee reads).
fn widens(from: Scalar, to: Scalar) -> bool {
    use Scalar::*;
    matches!(
        (from, to),
        (I8, I16 | I32 | I64)
            | (I16, I32 | I64)
            | (I32, I64)
            | (U8, U16 | U32 | U64 | I16 | I32 | I64)
            | (U16, U32 | U64 | I32 | I64)
            | (U32, U64 | I64)
            | (F32, F64)
    )
}

fn show(v: Option<u64>) -> String {
    v.map_or_else(|| "none".into(), |v| format!("{v} ms"))
}

fn split_key(uri: &str) -> Vec<Option<String>> {
    split_pattern(uri)
        .into_iter()
        .map(|p| match p {
            UriPart::Literal(l) => Some(l),
            UriPart::Capture(_) => None,
        })
        .collect()
}
