//! The Rust front end: a contract written as Rust (`#[wamp::contract]` on a module holding
//! the service trait, its types and errors, or `#[wamp::service]` on a trait alone) into
//! the same [`model`](crate::model) a contract file gives, validated by the same checks
//! and rendered by the same renderer. `wamp-macros` is a thin shell over [`expand`].
//!
//! Why a module: an attribute macro sees only the item it is on, and the code rendered
//! from a contract needs every type's fields (a struct, an enum's values, which type is a
//! union) to write its codecs. With the trait and its types in one module, the macro sees
//! all of them at once and builds the whole contract at compile time, so a trait and its
//! contract file render byte-identical code. Types of another contract are imported from
//! its file (`imports(geo = "../schemas/geo.wamp.toml")`, relative to the crate's
//! manifest), as a contract file imports them; the generated code refers to them as
//! `super::geo::Point`, like the code generated from files.
//!
//! Locations: the model's spans (`source::Span`) are byte ranges into files. A node
//! read from Rust gets a span in a file that does not exist (`RUST_FILE`) whose `start`
//! indexes a side table of `proc_macro2::Span`s, so validation reports land on the
//! offending token without the model knowing about Rust.
//!
//! Every problem is reported at once, each at its token; an invalid contract still
//! expands to a best guess (the model repaired: unknown types become `any`, unknown errors
//! and defaults that do not fit are left out), so that code using the module keeps
//! compiling in an IDE while the errors are fixed.

use std::path::{Path, PathBuf};

use heck::ToSnakeCase;
use proc_macro2::{Span as PSpan, TokenStream};
use quote::{quote, ToTokens};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{
    Attribute, Expr, Fields, FnArg, GenericArgument, Item, ItemEnum, ItemMod, ItemStruct,
    ItemTrait, ItemType, Lit, Meta, Pat, PathArguments, ReturnType, Token, TraitItem, Type,
};

use crate::model::Meta as Docs;
use crate::model::*;
use crate::source::{Diagnostics, FileId, Located, Span};
use crate::{names, render, validate};

/// Which attribute is expanded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// `#[wamp::contract(...)]` on a module holding the service trait, types and errors.
    Contract,
    /// `#[wamp::service(...)]` on a trait alone (its types are scalars or imported).
    Service,
}

/// Where the macro runs.
#[derive(Clone, Debug)]
pub struct Env {
    /// The runtime's path when the attribute has no `crate = "..."` (e.g. `::wamp`).
    pub runtime: String,
    /// The directory `imports(...)` paths are relative to: the crate's manifest directory.
    pub base_dir: PathBuf,
}

/// The file of every span read from Rust: its `start` indexes [`Parsed`]'s token spans.
const RUST_FILE: FileId = FileId(usize::MAX);

/// A contract read from Rust, checked.
pub struct Parsed {
    /// The imported contracts (read from their files) and, last, the contract.
    pub bundle: Bundle,
    /// Every problem found, each at its token (empty: the contract is valid).
    pub errors: Vec<syn::Error>,
    /// The runtime path given with `crate = "..."`.
    pub runtime: Option<String>,
    /// The contract files read for the imports.
    pub files: Vec<PathBuf>,
    /// `no_implicit_prelude` was given: the modules import the prelude themselves.
    pub prelude: bool,
    /// The item without the contract's attributes: the fallback when nothing renders.
    stripped: TokenStream,
}

impl Parsed {
    /// The contract (the last of the bundle), if the item was one at all.
    pub fn contract(&self) -> Option<&Contract> {
        if self.has_contract() {
            self.bundle.contracts.last()
        } else {
            None
        }
    }

    fn has_contract(&self) -> bool {
        self.bundle
            .contracts
            .last()
            .is_some_and(|c| c.name.span.file == RUST_FILE)
    }

    /// Every error as one message per line (for tests and tools).
    pub fn report(&self) -> String {
        self.errors
            .iter()
            .map(|e| format!("error: {e}\n"))
            .collect()
    }
}

/// The macro: the module (or trait) with its attribute arguments, into the generated
/// module, the contract's export function and, on errors, `compile_error!`s beside a best
/// guess.
pub fn expand(entry: Entry, attr: TokenStream, item: TokenStream, env: &Env) -> TokenStream {
    let parsed = parse(entry, attr, item, &env.base_dir);
    let runtime = parsed
        .runtime
        .clone()
        .unwrap_or_else(|| env.runtime.clone());
    let mut out = TokenStream::new();
    for e in &parsed.errors {
        out.extend(e.to_compile_error());
    }
    if parsed.contract().is_none() {
        out.extend(parsed.stripped.clone());
        return out;
    }
    let mut bundle = parsed.bundle.clone();
    if !parsed.errors.is_empty() {
        repair(&mut bundle);
    }
    let Some(contract) = bundle.contracts.last() else {
        out.extend(parsed.stripped.clone());
        return out;
    };
    match render::module_tokens(&bundle, contract, &runtime, parsed.prelude) {
        Ok(module) => out.extend(module),
        Err(e) => {
            out.extend(syn::Error::new(PSpan::call_site(), e).to_compile_error());
            out.extend(parsed.stripped.clone());
            return out;
        }
    }
    out.extend(export_fn(&bundle, contract));
    for f in &parsed.files {
        let path = f.display().to_string();
        out.extend(quote!(
            const _: &[u8] = ::core::include_bytes!(#path);
        ));
    }
    out
}

/// The contract's module as the macro renders it, formatted (what
/// [`Builder::render_module`](crate::Builder::render_module) gives for a contract file).
pub fn render_module(parsed: &Parsed, runtime: &str) -> Result<String, String> {
    let c = parsed
        .contract()
        .ok_or_else(|| "no contract was read".to_string())?;
    render::module_string(&parsed.bundle, c, runtime, parsed.prelude)
}

/// The contract as contract files, flat: every contract of the bundle as `NAME.wamp.toml`,
/// imports pointing at each other by those names; the contract first.
pub fn export_files(bundle: &Bundle) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for c in bundle.contracts.iter().rev() {
        let mut c = c.clone();
        for i in &mut c.imports {
            i.path = format!("{}.wamp.toml", i.contract);
        }
        out.push((format!("{}.wamp.toml", c.name.name), crate::write::toml(&c)));
    }
    out
}

fn export_fn(bundle: &Bundle, contract: &Contract) -> TokenStream {
    let ident = quote::format_ident!("{}_contract", names::snake(&contract.name.name));
    let files = export_files(bundle)
        .into_iter()
        .map(|(name, text)| quote!((#name, #text)));
    let doc = format!(
        " The contract `{}` version {} as contract files: `(file name, TOML text)`, the contract first, then every contract it imports. Write them into one directory for `wamp codegen`, other languages or `wamp codegen diff`.",
        contract.name.name, contract.version
    );
    quote! {
        #[doc = #doc]
        pub fn #ident() -> &'static [(&'static str, &'static str)] {
            &[#(#files),*]
        }
    }
}

/// Finds the first `#[wamp::contract]` module or `#[wamp::service]` trait in a Rust file
/// (at any depth of inline modules) and reads it as the macro would; `base_dir` is what
/// imports are relative to (the manifest directory of the crate the file belongs to).
pub fn parse_file(text: &str, base_dir: &Path) -> Result<Parsed, String> {
    let (entry, args, item) = find_file(text)?;
    Ok(parse(entry, args, item, base_dir))
}

/// What the macro expands the first contract of a Rust file to (see [`parse_file`]): for
/// tools, and to time the expansion outside a compiler.
pub fn expand_file(text: &str, env: &Env) -> Result<TokenStream, String> {
    let (entry, args, item) = find_file(text)?;
    Ok(expand(entry, args, item, env))
}

fn find_file(text: &str) -> Result<(Entry, TokenStream, TokenStream), String> {
    let file = syn::parse_file(text).map_err(|e| format!("not a Rust file: {e}"))?;
    find_in(&file.items)
        .ok_or_else(|| "no #[wamp::contract] module or #[wamp::service] trait".to_string())
}

/// The entry, the attribute's arguments and the item without that attribute.
fn find_in(items: &[Item]) -> Option<(Entry, TokenStream, TokenStream)> {
    for item in items {
        let (attrs, entry) = match item {
            Item::Mod(m) => (&m.attrs, Entry::Contract),
            Item::Trait(t) => (&t.attrs, Entry::Service),
            _ => continue,
        };
        let wanted = match entry {
            Entry::Contract => "contract",
            Entry::Service => "service",
        };
        if let Some(i) = attrs.iter().position(|a| attr_name(a) == Some(wanted)) {
            let args = match &attrs[i].meta {
                Meta::List(l) => l.tokens.clone(),
                _ => TokenStream::new(),
            };
            let mut item = item.clone();
            match &mut item {
                Item::Mod(m) => {
                    m.attrs.remove(i);
                }
                Item::Trait(t) => {
                    t.attrs.remove(i);
                }
                _ => {}
            }
            return Some((entry, args, item.into_token_stream()));
        }
        if let Item::Mod(ItemMod {
            content: Some((_, inner)),
            ..
        }) = item
        {
            if let Some(p) = find_in(inner) {
                return Some(p);
            }
        }
    }
    None
}

/// Reads the item into the model, loads its imports and validates the whole: every
/// problem is in [`Parsed::errors`].
pub fn parse(entry: Entry, attr: TokenStream, item: TokenStream, base_dir: &Path) -> Parsed {
    let mut f = Front::default();
    let stripped = strip(item.clone());
    let header = f.header(attr, entry);
    let contract = match syn::parse2::<Item>(item) {
        Ok(Item::Mod(m)) if entry == Entry::Contract => f.module(&m, &header),
        Ok(Item::Trait(t)) if entry == Entry::Service => f.lone_trait(&t, &header),
        Ok(other) => {
            let what = match entry {
                Entry::Contract => "`#[wamp::contract]` goes on an inline module (`mod calculator { ... }`) holding the service trait and the contract's types and errors",
                Entry::Service => "`#[wamp::service]` goes on a trait (or, with types and errors, use `#[wamp::contract]` on a module holding them)",
            };
            f.error(other.span(), what);
            None
        }
        Err(e) => {
            f.errors.push(e);
            None
        }
    };
    let mut bundle = Bundle::default();
    let mut files = Vec::new();
    if let Some(mut contract) = contract {
        if !header.imports.is_empty() {
            let fs = Rooted {
                base: base_dir.to_path_buf(),
            };
            let paths: Vec<&str> = header.imports.iter().map(|i| i.1.as_str()).collect();
            let loaded = crate::load_from(&paths, &fs);
            for d in loaded.diagnostics.iter() {
                let text = Located {
                    sources: &loaded.sources,
                    diagnostic: d,
                }
                .to_string();
                let at = header
                    .imports
                    .iter()
                    .find(|(_, p, _)| {
                        d.span
                            .is_some_and(|s| loaded.sources.get(s.file).name.as_str() == p)
                    })
                    .map_or(header.imports[0].2, |i| i.2);
                f.error(at, format!("in an imported contract: {text}"));
            }
            for (alias, path, span) in &header.imports {
                let canonical = fs.canonicalize_str(path);
                let found = canonical
                    .as_ref()
                    .and_then(|c| loaded.sources.find(c))
                    .and_then(|id| {
                        loaded
                            .bundle
                            .contracts
                            .iter()
                            .find(|c| c.name.span.file == id)
                    });
                match found {
                    Some(c) => contract.imports.push(Import {
                        alias: alias.clone(),
                        path: path.clone(),
                        contract: c.name.name.clone(),
                    }),
                    None if loaded.has_errors() => {}
                    None => f.error(*span, format!("cannot read the contract `{path}`")),
                }
            }
            files = loaded.sources.files().map(|s| s.path.clone()).collect();
            if loaded
                .bundle
                .contracts
                .iter()
                .any(|c| c.name.name == contract.name.name)
            {
                f.error(
                    f.pspan(contract.name.span),
                    format!(
                        "the contract `{}` imports a contract of the same name: the generated modules would collide",
                        contract.name.name
                    ),
                );
            }
            bundle.contracts = loaded.bundle.contracts;
        }
        bundle.contracts.push(contract);
        let mut diags = Diagnostics::default();
        validate::bundle(&bundle, &mut diags);
        let mut seen: Vec<(Option<Span>, String)> = Vec::new();
        for d in diags.iter() {
            if seen.iter().any(|(s, m)| *s == d.span && *m == d.message) {
                continue;
            }
            seen.push((d.span, d.message.clone()));
            match d.span {
                Some(s) if s.file == RUST_FILE => f.error(f.pspan(s), d.message.clone()),
                _ => f.error(PSpan::call_site(), d.message.clone()),
            }
        }
    }
    Parsed {
        bundle,
        errors: f.errors,
        runtime: header.runtime,
        prelude: header.prelude,
        files,
        stripped,
    }
}

/// Contract files relative to a base directory.
struct Rooted {
    base: PathBuf,
}

impl Rooted {
    fn canonicalize_str(&self, path: &str) -> Option<PathBuf> {
        std::fs::canonicalize(self.base.join(path)).ok()
    }
}

impl crate::FileSystem for Rooted {
    fn canonicalize(&self, path: &Path) -> std::io::Result<PathBuf> {
        std::fs::canonicalize(self.base.join(path))
    }
    fn read(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(self.base.join(path))
    }
}

/// The contract's settings from the attribute's arguments.
#[derive(Default)]
struct Header {
    name: Option<Named>,
    version: Option<Named>,
    prefix: Option<String>,
    runtime: Option<String>,
    file: Option<String>,
    /// `(alias, path, where)`.
    imports: Vec<(Named, String, PSpan)>,
    prelude: bool,
}

const HEADER_KEYS: &[&str] = &[
    "name",
    "version",
    "prefix",
    "imports",
    "file",
    "crate",
    "no_implicit_prelude",
];

const PROCEDURE_KEYS: &[&str] = &[
    "uri",
    "name",
    "result",
    "errors",
    "timeout_ms",
    "invoke",
    "cancel",
    "disclose_caller",
    "since",
];

const TOPIC_KEYS: &[&str] = &["uri", "name", "retain", "since"];

const FIELD_KEYS: &[&str] = &["name", "doc", "since", "default"];

#[derive(Default)]
struct Front {
    errors: Vec<syn::Error>,
    spans: Vec<PSpan>,
}

/// What a struct of the contract module is, by its derive.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Type,
    Error,
    Payload,
}

/// Where a field is declared: what it may say.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldSite {
    /// A field of a struct type: a dict key, documented with `///`.
    TypeField,
    /// A field of an error or payload struct: positional unless `#[kwarg]`.
    PayloadField,
    /// A method parameter: positional unless `#[kwarg]`, documented with `doc = "..."`.
    Param,
}

/// The types a contract module declares, for reading type expressions.
#[derive(Default)]
struct Scope {
    own: Vec<String>,
}

impl Front {
    fn error(&mut self, span: PSpan, message: impl std::fmt::Display) {
        self.errors.push(syn::Error::new(span, message));
    }

    fn span(&mut self, s: PSpan) -> Span {
        self.spans.push(s);
        Span {
            file: RUST_FILE,
            start: self.spans.len() - 1,
            end: self.spans.len(),
        }
    }

    fn pspan(&self, s: Span) -> PSpan {
        if s.file == RUST_FILE {
            self.spans
                .get(s.start)
                .copied()
                .unwrap_or_else(PSpan::call_site)
        } else {
            PSpan::call_site()
        }
    }

    fn named(&mut self, name: impl Into<String>, s: PSpan) -> Named {
        Named {
            name: name.into(),
            span: self.span(s),
        }
    }

    /// `key = value, key(...), flag` with keys among `allowed`: unknown and repeated keys
    /// are reported with the valid ones.
    fn args(&mut self, tokens: TokenStream, what: &str, allowed: &[&str]) -> Vec<(String, Meta)> {
        let metas = match syn::parse::Parser::parse2(
            Punctuated::<Meta, Token![,]>::parse_terminated,
            tokens,
        ) {
            Ok(m) => m,
            Err(e) => {
                self.errors.push(e);
                return Vec::new();
            }
        };
        let mut out: Vec<(String, Meta)> = Vec::new();
        for meta in metas {
            let Some(key) = meta.path().get_ident().map(|i| i.to_string()) else {
                self.error(
                    meta.path().span(),
                    format!("{what}: expected a key, found a path"),
                );
                continue;
            };
            let key = key.trim_start_matches("r#").to_string();
            if !allowed.contains(&key.as_str()) {
                let valid = if allowed.is_empty() {
                    "it takes no arguments".to_string()
                } else {
                    format!(
                        "valid keys: {}",
                        allowed
                            .iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                self.error(
                    meta.path().span(),
                    format!("{what}: unknown key `{key}` ({valid})"),
                );
                continue;
            }
            if out.iter().any(|(k, _)| *k == key) {
                self.error(meta.path().span(), format!("{what}: duplicate key `{key}`"));
                continue;
            }
            out.push((key, meta));
        }
        out
    }

    fn str_value(&mut self, meta: &Meta, what: &str) -> Option<(String, PSpan)> {
        if let Meta::NameValue(nv) = meta {
            if let Expr::Lit(syn::ExprLit {
                lit: Lit::Str(s), ..
            }) = &nv.value
            {
                return Some((s.value(), s.span()));
            }
        }
        self.error(
            meta.span(),
            format!("{what}: expected `= \"...\"` (a string)"),
        );
        None
    }

    fn bool_value(&mut self, meta: &Meta, what: &str) -> Option<bool> {
        match meta {
            Meta::Path(_) => Some(true),
            Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(syn::ExprLit {
                    lit: Lit::Bool(b), ..
                }) => Some(b.value),
                _ => {
                    self.error(
                        nv.value.span(),
                        format!("{what}: expected `true` or `false`"),
                    );
                    None
                }
            },
            Meta::List(_) => {
                self.error(meta.span(), format!("{what}: expected `= true` or nothing"));
                None
            }
        }
    }

    fn since(&mut self, meta: &Meta, what: &str) -> Option<String> {
        let (v, span) = self.str_value(meta, what)?;
        if let Err(e) = semver::Version::parse(&v) {
            self.error(
                span,
                format!("{what}: `{v}` is not a semantic version ({e})"),
            );
        }
        Some(v)
    }

    fn header(&mut self, attr: TokenStream, entry: Entry) -> Header {
        let mut h = Header::default();
        let what = match entry {
            Entry::Contract => "#[wamp::contract]",
            Entry::Service => "#[wamp::service]",
        };
        for (key, meta) in self.args(attr, what, HEADER_KEYS) {
            let path = format!("{what} `{key}`");
            match key.as_str() {
                "name" => {
                    if let Some((v, s)) = self.str_value(&meta, &path) {
                        h.name = Some(self.named(v, s));
                    }
                }
                "version" => {
                    if let Some((v, s)) = self.str_value(&meta, &path) {
                        if let Err(e) = semver::Version::parse(&v) {
                            self.error(s, format!("{path}: `{v}` is not a semantic version ({e})"));
                        }
                        h.version = Some(self.named(v, s));
                    }
                }
                "prefix" => {
                    if let Some((v, s)) = self.str_value(&meta, &path) {
                        if let Err(e) = crate::uri::check(&v, false) {
                            self.error(s, format!("{path}: `{v}` {e}"));
                        }
                        h.prefix = Some(v);
                    }
                }
                "file" => h.file = self.str_value(&meta, &path).map(|v| v.0),
                "no_implicit_prelude" => h.prelude = self.bool_value(&meta, &path).unwrap_or(false),
                "crate" => {
                    if let Some((v, s)) = self.str_value(&meta, &path) {
                        match syn::parse_str::<syn::Path>(&v) {
                            Ok(_) => h.runtime = Some(v),
                            Err(e) => self.error(s, format!("{path}: `{v}` is not a path: {e}")),
                        }
                    }
                }
                _ => {
                    let Meta::List(list) = &meta else {
                        self.error(
                            meta.span(),
                            format!("{path}: expected `imports(alias = \"file.wamp.toml\", ...)`"),
                        );
                        continue;
                    };
                    let entries = match syn::parse::Parser::parse2(
                        Punctuated::<syn::MetaNameValue, Token![,]>::parse_terminated,
                        list.tokens.clone(),
                    ) {
                        Ok(e) => e,
                        Err(e) => {
                            self.errors.push(e);
                            continue;
                        }
                    };
                    for nv in entries {
                        let Some(alias) = nv.path.get_ident() else {
                            self.error(
                                nv.path.span(),
                                format!("{path}: an alias is one identifier"),
                            );
                            continue;
                        };
                        let alias_name = alias.to_string();
                        let Expr::Lit(syn::ExprLit {
                            lit: Lit::Str(p), ..
                        }) = &nv.value
                        else {
                            self.error(
                                nv.value.span(),
                                format!("{path}: expected `{alias_name} = \"path/to/{alias_name}.wamp.toml\"` (relative to the crate's manifest directory)"),
                            );
                            continue;
                        };
                        if h.imports.iter().any(|(a, _, _)| a.name == alias_name) {
                            self.error(
                                alias.span(),
                                format!("{path}: duplicate alias `{alias_name}`"),
                            );
                            continue;
                        }
                        let named = self.named(alias_name, alias.span());
                        h.imports.push((named, p.value(), p.span()));
                    }
                }
            }
        }
        h
    }

    /// The contract of a `#[wamp::contract]` module.
    fn module(&mut self, m: &ItemMod, h: &Header) -> Option<Contract> {
        let Some((_, items)) = &m.content else {
            self.error(
                m.span(),
                "#[wamp::contract] needs the module's items inline (`mod calculator { ... }`)",
            );
            return None;
        };
        let mut doc = self
            .item_attrs(&m.attrs, "the contract module", &[], &[])
            .doc;
        let name = match &h.name {
            Some(n) => n.clone(),
            None => {
                let ident = &m.ident;
                self.named(unraw(ident), ident.span())
            }
        };
        self.check_contract_name(&name);

        // First pass: what each item is, and the names of the contract's types.
        let mut scope = Scope::default();
        let mut payloads: Vec<(&ItemStruct, bool)> = Vec::new();
        let mut service: Option<&ItemTrait> = None;
        for item in items {
            match item {
                Item::Struct(s) => match self.role(&s.attrs) {
                    Some(Role::Type) => scope.own.push(unraw(&s.ident)),
                    Some(Role::Payload) => payloads.push((s, false)),
                    _ => {}
                },
                Item::Enum(e) => scope.own.push(unraw(&e.ident)),
                Item::Type(t) => scope.own.push(unraw(&t.ident)),
                Item::Trait(t) => {
                    if let Some(first) = service {
                        let msg = format!(
                            "a contract has one service trait; `{}` is the first",
                            first.ident
                        );
                        self.error(t.ident.span(), msg);
                    } else {
                        service = Some(t);
                    }
                }
                _ => {}
            }
        }

        let mut c = self.empty_contract(name, h);
        for item in items {
            match item {
                Item::Struct(s) => match self.role(&s.attrs) {
                    Some(Role::Type) => {
                        if let Some(t) = self.struct_type(s, &scope) {
                            c.types.push(t);
                        }
                    }
                    Some(Role::Error) => {
                        if let Some(e) = self.error_def(s, &scope, h.prefix.as_deref()) {
                            c.errors.push(e);
                        }
                    }
                    Some(Role::Payload) => {}
                    None => self.error(
                        s.ident.span(),
                        format!(
                            "`{}`: say what this struct is: `#[derive(wamp::Type)]` (a type of the contract), `#[derive(wamp::Error)]` (an error, with `#[wamp(uri = \"...\")]`) or `#[derive(wamp::Payload)]` (a procedure's result or progress)",
                            s.ident
                        ),
                    ),
                },
                Item::Enum(e) => {
                    if let Some(t) = self.enum_type(e, &scope) {
                        c.types.push(t);
                    }
                }
                Item::Type(t) => {
                    if let Some(t) = self.alias(t, &scope) {
                        c.types.push(t);
                    }
                }
                Item::Trait(_) => {}
                other => self.error(
                    other.span(),
                    "a contract module holds only the service trait, structs and enums with `#[derive(wamp::Type)]`, `wamp::Error` or `wamp::Payload`, and type aliases; put other items outside it",
                ),
            }
        }
        match service {
            Some(t) => {
                let trait_doc = self.service_trait(t, &scope, &mut payloads, &mut c, true);
                match (&doc, trait_doc) {
                    (Some(_), Some((_, span))) => self.error(
                        span,
                        "document the contract once: on the module or on the trait, not both",
                    ),
                    (None, Some((d, _))) => doc = Some(d),
                    _ => {}
                }
            }
            None => self.error(
                m.ident.span(),
                "a contract module needs its service trait (`pub trait Calculator { ... }`)",
            ),
        }
        for (s, used) in payloads {
            if !used {
                self.error(
                    s.ident.span(),
                    format!(
                        "`{}` is not the result (`-> {}`) or the progress (`Context<{}>`) of a procedure",
                        s.ident, s.ident, s.ident
                    ),
                );
            }
        }
        c.doc = doc;
        Some(c)
    }

    /// The contract of a `#[wamp::service]` trait alone.
    fn lone_trait(&mut self, t: &ItemTrait, h: &Header) -> Option<Contract> {
        let name = match &h.name {
            Some(n) => n.clone(),
            None => self.named(unraw(&t.ident).to_snake_case(), t.ident.span()),
        };
        self.check_contract_name(&name);
        let mut c = self.empty_contract(name, h);
        let mut payloads = Vec::new();
        c.doc = self
            .service_trait(t, &Scope::default(), &mut payloads, &mut c, false)
            .map(|d| d.0);
        Some(c)
    }

    fn check_contract_name(&mut self, name: &Named) {
        let ok = crate::parse::is_identifier(&name.name)
            && !name.name.starts_with('_')
            && name
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            self.error(
                self.pspan(name.span),
                format!(
                    "the contract's name `{}` must be lower snake case (it names the generated module), e.g. `{}`",
                    name.name,
                    name.name.to_snake_case()
                ),
            );
        }
    }

    fn empty_contract(&mut self, name: Named, h: &Header) -> Contract {
        let version = match &h.version {
            Some(v) => v.name.clone(),
            None => {
                self.error(
                    self.pspan(name.span),
                    "the contract needs a version: `version = \"1.0.0\"`",
                );
                "0.0.0".into()
            }
        };
        Contract {
            source_name: h
                .file
                .clone()
                .unwrap_or_else(|| format!("{}.wamp.toml", name.name)),
            name,
            version,
            uri_prefix: h.prefix.clone(),
            doc: None,
            imports: Vec::new(),
            types: Vec::new(),
            errors: Vec::new(),
            procedures: Vec::new(),
            topics: Vec::new(),
        }
    }

    /// A struct's role from its derive; other derives are refused.
    fn role(&self, attrs: &[Attribute]) -> Option<Role> {
        let mut role = None;
        for a in attrs {
            if !a.path().is_ident("derive") {
                continue;
            }
            let Ok(paths) = a.parse_args_with(Punctuated::<syn::Path, Token![,]>::parse_terminated)
            else {
                continue;
            };
            for p in paths {
                let last = p.segments.last().map(|s| s.ident.to_string());
                match last.as_deref() {
                    Some("Type") => role = Some(Role::Type),
                    Some("Error") => role = Some(Role::Error),
                    Some("Payload") => role = Some(Role::Payload),
                    _ => {}
                }
            }
        }
        role
    }

    /// Docs and `#[wamp(...)]` of an item; any other attribute is refused.
    fn item_attrs(
        &mut self,
        attrs: &[Attribute],
        what: &str,
        keys: &[&str],
        derives: &[&str],
    ) -> ItemAttrs {
        let mut out = ItemAttrs::default();
        let mut docs = Vec::new();
        for a in attrs {
            match attr_name(a) {
                Some("doc") => {
                    if let Some(d) = doc_line(a) {
                        docs.push(d);
                        out.doc_span.get_or_insert(a.span());
                    }
                }
                Some("wamp") if a.path().get_ident().is_some() => {
                    let tokens = match &a.meta {
                        Meta::List(l) => l.tokens.clone(),
                        _ => TokenStream::new(),
                    };
                    out.keys
                        .extend(self.args(tokens, &format!("#[wamp] on {what}"), keys));
                }
                Some("derive") => {
                    let Ok(paths) =
                        a.parse_args_with(Punctuated::<syn::Path, Token![,]>::parse_terminated)
                    else {
                        self.error(a.span(), "expected `#[derive(...)]`");
                        continue;
                    };
                    for p in paths {
                        let last = p.segments.last().map(|s| s.ident.to_string());
                        if !last.as_deref().is_some_and(|l| derives.contains(&l)) {
                            self.error(
                                p.span(),
                                format!(
                                    "{what}: only {} may be derived here: the generated type derives what it needs (`Clone`, `Debug`, `PartialEq`, serde); implement other traits outside the contract module",
                                    if derives.is_empty() {
                                        "nothing".to_string()
                                    } else {
                                        derives
                                            .iter()
                                            .map(|d| format!("`wamp::{d}`"))
                                            .collect::<Vec<_>>()
                                            .join(" or ")
                                    }
                                ),
                            );
                        }
                    }
                }
                _ => self.error(
                    a.span(),
                    format!(
                        "{what}: unsupported attribute (a contract declaration takes `///` docs{})",
                        if keys.is_empty() {
                            String::new()
                        } else {
                            format!(
                                " and `#[wamp({})]`",
                                keys.iter()
                                    .map(|k| format!("{k} = .."))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        }
                    ),
                ),
            }
        }
        out.doc = join_doc(&docs);
        out
    }

    /// A type expression from a Rust type.
    fn type_ref(&mut self, ty: &Type, scope: &Scope) -> Option<TypeRef> {
        let expr = self.type_expr(ty, scope)?;
        Some(TypeRef {
            expr,
            span: self.span(ty.span()),
        })
    }

    fn type_expr(&mut self, ty: &Type, scope: &Scope) -> Option<TypeExpr> {
        let unsupported = |f: &mut Front, ty: &Type, why: &str| {
            f.error(
                ty.span(),
                format!(
                    "unsupported type `{}` in a contract{why}: use bool, i8..i64, u8..u64, f32, f64, String, Binary (bytes), Uri, Id, Value (any), Vec<T>, BTreeMap<String, T>, Option<T>, a type of this contract, or `alias::Type` of an import",
                    pretty_type(ty)
                ),
            );
            None
        };
        let path = match ty {
            Type::Path(p) if p.qself.is_none() => &p.path,
            Type::Paren(p) => return self.type_expr(&p.elem, scope),
            Type::Group(g) => return self.type_expr(&g.elem, scope),
            Type::Reference(_) => {
                return unsupported(
                    self,
                    ty,
                    " (a contract's values are owned: `String`, not `&str`)",
                )
            }
            _ => return unsupported(self, ty, ""),
        };
        let segs: Vec<_> = path.segments.iter().collect();
        let Some(last) = segs.last() else {
            return unsupported(self, ty, "");
        };
        if segs[..segs.len() - 1]
            .iter()
            .any(|s| !matches!(s.arguments, PathArguments::None))
        {
            return unsupported(self, ty, "");
        }
        let prefix: Vec<String> = segs[..segs.len() - 1]
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        let name = unraw(&last.ident);
        let args: Vec<&Type> = match &last.arguments {
            PathArguments::None => Vec::new(),
            PathArguments::AngleBracketed(a) => {
                let mut v = Vec::new();
                for g in &a.args {
                    match g {
                        GenericArgument::Type(t) => v.push(t),
                        _ => return unsupported(self, ty, ""),
                    }
                }
                v
            }
            PathArguments::Parenthesized(_) => return unsupported(self, ty, ""),
        };
        let global = path.leading_colon.is_some();
        let std_path = (prefix.is_empty() && !global)
            || prefix
                .first()
                .is_some_and(|p| matches!(p.as_str(), "std" | "core" | "alloc"));
        let rt_path = (prefix.is_empty() && !global && !scope.own.contains(&name))
            || (prefix.len() == 1 && matches!(prefix[0].as_str(), "wamp" | "wamp_runtime"));
        if prefix.is_empty() && !global && args.is_empty() {
            if let Some(s) = scalar_of(&name) {
                return Some(TypeExpr::Scalar(s));
            }
        }
        match (name.as_str(), args.len()) {
            ("String", 0) if std_path => Some(TypeExpr::Scalar(Scalar::String)),
            ("Binary", 0) if rt_path => Some(TypeExpr::Scalar(Scalar::Bytes)),
            ("Uri", 0) if rt_path => Some(TypeExpr::Scalar(Scalar::Uri)),
            ("Id", 0) if rt_path => Some(TypeExpr::Scalar(Scalar::Id)),
            ("Value", 0) if rt_path => Some(TypeExpr::Scalar(Scalar::Any)),
            ("Vec", 1) if std_path => {
                Some(TypeExpr::List(Box::new(self.type_expr(args[0], scope)?)))
            }
            ("Box", 1) if std_path => self.type_expr(args[0], scope),
            ("Option", 1) if std_path => {
                let inner = self.type_expr(args[0], scope)?;
                if inner.is_optional() {
                    return unsupported(self, ty, " (one `Option` is enough)");
                }
                Some(TypeExpr::Optional(Box::new(inner)))
            }
            ("BTreeMap", 2) if std_path => {
                if self.type_expr(args[0], scope) != Some(TypeExpr::Scalar(Scalar::String)) {
                    return unsupported(
                        self,
                        ty,
                        " (map keys are `String`: WAMP dictionaries have string keys)",
                    );
                }
                Some(TypeExpr::Map(Box::new(self.type_expr(args[1], scope)?)))
            }
            ("HashMap", _) => unsupported(
                self,
                ty,
                " (maps are `BTreeMap<String, T>`, as in the generated code)",
            ),
            (_, 0) if prefix.is_empty() && !global => Some(TypeExpr::Named { module: None, name }),
            (_, 0) if prefix.len() == 1 && !global => Some(TypeExpr::Named {
                module: Some(prefix[0].clone()),
                name,
            }),
            _ => unsupported(self, ty, ""),
        }
    }

    /// A field of a struct or payload, or a parameter. Returns the field and whether it is
    /// a keyword argument.
    fn field(
        &mut self,
        ident: &syn::Ident,
        ty: &Type,
        attrs: &[Attribute],
        site: FieldSite,
        scope: &Scope,
    ) -> Option<(Field, bool)> {
        let mut kwarg = false;
        let mut keys: Vec<(String, Meta)> = Vec::new();
        let mut docs = Vec::new();
        for a in attrs {
            match attr_name(a) {
                Some("doc") if site != FieldSite::Param => {
                    if let Some(d) = doc_line(a) {
                        docs.push(d);
                    }
                }
                Some("kwarg") if site != FieldSite::TypeField => {
                    kwarg = true;
                    if let Meta::List(l) = &a.meta {
                        keys.extend(self.args(l.tokens.clone(), "#[kwarg]", FIELD_KEYS));
                    }
                }
                Some("kwarg") => self.error(
                    a.span(),
                    "every field of a type is a dict key; `#[kwarg]` is for parameters and the fields of `wamp::Error` and `wamp::Payload` structs",
                ),
                Some("wamp") if a.path().get_ident().is_some() => {
                    if let Meta::List(l) = &a.meta {
                        keys.extend(self.args(l.tokens.clone(), "#[wamp]", FIELD_KEYS));
                    }
                }
                _ => self.error(
                    a.span(),
                    match site {
                        FieldSite::Param => "unsupported attribute on a parameter: use `#[kwarg]`, `#[kwarg(default = .., since = \"..\", doc = \"..\", name = \"..\")]` or `#[wamp(since = \"..\", doc = \"..\", name = \"..\")]`",
                        _ => "unsupported attribute on a field: use `///` docs, `#[wamp(name = \"..\", since = \"..\", default = ..)]`, or `#[kwarg]` in errors and payloads",
                    },
                ),
            }
        }
        let rust_name = unraw(ident);
        let mut wire = rust_name.clone();
        let mut meta = Docs::default();
        let mut default = None;
        for (key, m) in &keys {
            match key.as_str() {
                "name" => {
                    if let Some((v, s)) = self.str_value(m, "`name`") {
                        if !crate::parse::is_identifier(&v) {
                            self.error(s, format!("`{v}` is not a valid name (letters, digits and `_`, not starting with a digit)"));
                        } else if names::snake(&v) != rust_name {
                            self.error(s, format!("the generated Rust name of `{v}` is `{}`, not `{rust_name}`: name it so", names::snake(&v)));
                        }
                        wire = v;
                    }
                }
                "doc" => {
                    if !docs.is_empty() {
                        self.error(
                            m.span(),
                            "documented twice: with `///` and with `doc = \"...\"`",
                        );
                    }
                    meta.doc = self.str_value(m, "`doc`").map(|v| v.0);
                }
                "since" => meta.since = self.since(m, "`since`"),
                _ => {
                    if site != FieldSite::TypeField && !kwarg {
                        self.error(m.span(), "only keyword arguments (`#[kwarg(default = ...)]`) and fields of types have defaults; a positional argument is left out at the end instead (`Option<T>`)");
                        continue;
                    }
                    let Meta::NameValue(nv) = m else {
                        self.error(m.span(), "expected `default = value`");
                        continue;
                    };
                    match default_value(&nv.value) {
                        Some(v) => {
                            default = Some(Default {
                                value: v,
                                span: self.span(nv.value.span()),
                            })
                        }
                        None => self.error(nv.value.span(), "a default is a literal: a number, a string (enum values too), `true`/`false`, `[]` or `{}`"),
                    }
                }
            }
        }
        if meta.doc.is_none() {
            meta.doc = join_doc(&docs);
        }
        let ty_ref = self.type_ref(ty, scope)?;
        if default.is_some() && !ty_ref.expr.is_optional() {
            self.error(ty.span(), "a field with a default is optional: `Option<T>` (the default is used when it is absent)");
        }
        Some((
            Field {
                name: self.named(wire, ident.span()),
                ty: ty_ref,
                meta: Docs {
                    doc: meta.doc,
                    since: meta.since,
                },
                default,
            },
            kwarg,
        ))
    }

    fn struct_type(&mut self, s: &ItemStruct, scope: &Scope) -> Option<TypeDef> {
        let what = format!("type `{}`", s.ident);
        let a = self.item_attrs(&s.attrs, &what, &["since"], &["Type"]);
        self.no_generics(&s.generics, &what);
        let since = self.since_key(&a);
        let fields = match &s.fields {
            Fields::Named(f) => f
                .named
                .iter()
                .filter_map(|f| {
                    let ident = f.ident.as_ref()?;
                    self.field(ident, &f.ty, &f.attrs, FieldSite::TypeField, scope)
                        .map(|x| x.0)
                })
                .collect(),
            Fields::Unit => Vec::new(),
            Fields::Unnamed(_) => {
                self.error(
                    s.fields.span(),
                    format!("{what}: a struct of a contract has named fields (its dict keys)"),
                );
                Vec::new()
            }
        };
        Some(TypeDef {
            name: self.type_name(&s.ident),
            meta: Docs { doc: a.doc, since },
            kind: TypeKind::Struct(fields),
        })
    }

    fn type_name(&mut self, ident: &syn::Ident) -> Named {
        let name = unraw(ident);
        if names::type_name(&name) != name {
            self.error(
                ident.span(),
                format!(
                    "the generated type is named `{}`: name it so",
                    names::type_name(&name)
                ),
            );
        }
        self.named(name, ident.span())
    }

    fn since_key(&mut self, a: &ItemAttrs) -> Option<String> {
        let m = a.keys.iter().find(|(k, _)| k == "since")?.1.clone();
        self.since(&m, "`since`")
    }

    fn no_generics(&mut self, g: &syn::Generics, what: &str) {
        if !g.params.is_empty() || g.where_clause.is_some() {
            self.error(
                g.span(),
                format!("{what}: generics are not supported: a contract's types are concrete (the wire format is fixed)"),
            );
        }
    }

    fn enum_type(&mut self, e: &ItemEnum, scope: &Scope) -> Option<TypeDef> {
        let what = format!("type `{}`", e.ident);
        let a = self.item_attrs(&e.attrs, &what, &["since", "open", "tag"], &["Type"]);
        self.no_generics(&e.generics, &what);
        if self.role(&e.attrs) != Some(Role::Type) {
            self.error(
                e.ident.span(),
                format!("{what}: add `#[derive(wamp::Type)]`"),
            );
        }
        let since = self.since_key(&a);
        let open = match a.keys.iter().find(|(k, _)| k == "open") {
            Some((_, m)) => self.bool_value(&m.clone(), "`open`").unwrap_or(false),
            None => false,
        };
        let tag = match a.keys.iter().find(|(k, _)| k == "tag").cloned() {
            Some((_, m)) => self.str_value(&m, "`tag`").map(|(v, s)| self.named(v, s)),
            None => None,
        };
        let is_union = e.variants.iter().any(|v| !matches!(v.fields, Fields::Unit));
        let mut values = Vec::new();
        let mut variants = Vec::new();
        for v in &e.variants {
            let va = self.item_attrs(&v.attrs, &format!("variant `{}`", v.ident), &["value"], &[]);
            if let Some((_, d)) = &v.discriminant {
                self.error(d.span(), "an enum value is a string on the wire: use `#[wamp(value = \"...\")]`, not a discriminant");
            }
            let ident = unraw(&v.ident);
            let (wire, wspan) = match va.keys.iter().find(|(k, _)| k == "value").cloned() {
                Some((_, m)) => self
                    .str_value(&m, "`value`")
                    .unwrap_or((ident.to_snake_case(), v.ident.span())),
                None => (ident.to_snake_case(), v.ident.span()),
            };
            if names::variant(&wire) != ident {
                self.error(
                    wspan,
                    format!("the generated variant for `{wire}` is `{}`: name it so, or give the value with `#[wamp(value = \"...\")]`", names::variant(&wire)),
                );
            }
            let named = self.named(wire, wspan);
            match &v.fields {
                Fields::Unit if !is_union => values.push(EnumValue {
                    value: named,
                    doc: va.doc,
                }),
                Fields::Unnamed(f) if is_union && f.unnamed.len() == 1 => {
                    if va.doc.is_some() {
                        self.error(v.ident.span(), "a union variant's documentation is generated (document the struct it holds)");
                    }
                    if let Some(ty) = self.type_ref(&f.unnamed[0].ty, scope) {
                        variants.push(Variant { tag: named, ty });
                    }
                }
                _ => self.error(
                    v.span(),
                    "an enum of a contract is either all unit variants (a string enum) or all one-struct variants `Circle(Circle)` (a tagged union, with `#[wamp(tag = \"kind\")]`)",
                ),
            }
        }
        let kind = if is_union {
            if open {
                self.error(
                    e.ident.span(),
                    "a union is closed: `open` is only for string enums",
                );
            }
            let Some(tag) = tag else {
                self.error(
                    e.ident.span(),
                    format!("{what}: a tagged union needs its tag key: `#[wamp(tag = \"kind\")]`"),
                );
                return None;
            };
            TypeKind::Union { tag, variants }
        } else {
            if let Some(t) = &tag {
                self.error(
                    self.pspan(t.span),
                    "`tag` is only for unions (enums whose variants hold a struct)",
                );
            }
            if values.is_empty() {
                self.error(
                    e.ident.span(),
                    format!("{what}: an enum needs at least one value"),
                );
            }
            TypeKind::Enum { values, open }
        };
        Some(TypeDef {
            name: self.type_name(&e.ident),
            meta: Docs { doc: a.doc, since },
            kind,
        })
    }

    fn alias(&mut self, t: &ItemType, scope: &Scope) -> Option<TypeDef> {
        let what = format!("type `{}`", t.ident);
        let a = self.item_attrs(&t.attrs, &what, &["since"], &[]);
        self.no_generics(&t.generics, &what);
        let since = self.since_key(&a);
        let ty = self.type_ref(&t.ty, scope)?;
        Some(TypeDef {
            name: self.type_name(&t.ident),
            meta: Docs { doc: a.doc, since },
            kind: TypeKind::Alias(ty),
        })
    }

    /// The fields of an error or payload struct.
    fn payload_fields(&mut self, s: &ItemStruct, scope: &Scope) -> PayloadDef {
        let mut p = PayloadDef::default();
        match &s.fields {
            Fields::Named(f) => {
                for f in &f.named {
                    let Some(ident) = &f.ident else { continue };
                    if let Some((field, kw)) =
                        self.field(ident, &f.ty, &f.attrs, FieldSite::PayloadField, scope)
                    {
                        if kw {
                            p.kwargs.push(field);
                        } else if !p.kwargs.is_empty() {
                            self.error(ident.span(), "positional fields come first, then the `#[kwarg]` ones (the generated struct lists them in that order)");
                            p.args.push(field);
                        } else {
                            p.args.push(field);
                        }
                    }
                }
            }
            Fields::Unit => {}
            Fields::Unnamed(_) => self.error(
                s.fields.span(),
                "a payload has named fields: positional ones first, then `#[kwarg]` ones",
            ),
        }
        p
    }

    fn error_def(
        &mut self,
        s: &ItemStruct,
        scope: &Scope,
        prefix: Option<&str>,
    ) -> Option<ErrorDef> {
        let what = format!("error `{}`", s.ident);
        let a = self.item_attrs(&s.attrs, &what, &["uri", "since"], &["Error"]);
        self.no_generics(&s.generics, &what);
        let since = self.since_key(&a);
        let uri = match a.keys.iter().find(|(k, _)| k == "uri").cloned() {
            Some((_, m)) => self
                .str_value(&m, "`uri`")
                .and_then(|(v, span)| self.uri(&v, span, prefix, false, &what)),
            None => {
                self.error(
                    s.ident.span(),
                    format!("{what}: an error needs its URI: `#[wamp(uri = \".error.name\")]`"),
                );
                None
            }
        };
        let payload = self.payload_fields(s, scope);
        let uri = uri.unwrap_or_else(|| Named {
            name: format!("invalid.error.{}", names::snake(&s.ident.to_string())),
            span: Span::default(),
        });
        Some(ErrorDef {
            name: self.type_name(&s.ident),
            meta: Docs { doc: a.doc, since },
            uri,
            payload,
        })
    }

    /// An absolute URI (a leading `.` is relative to the prefix), checked.
    fn uri(
        &mut self,
        raw: &str,
        span: PSpan,
        prefix: Option<&str>,
        patterns: bool,
        what: &str,
    ) -> Option<Named> {
        let full = match raw.strip_prefix('.') {
            Some(rest) => match prefix {
                Some(p) => format!("{p}.{rest}"),
                None => {
                    self.error(span, format!("{what}: `{raw}` is relative (starts with `.`) but the contract has no `prefix`"));
                    return None;
                }
            },
            None => raw.to_string(),
        };
        if let Err(e) = crate::uri::check(&full, patterns) {
            self.error(span, format!("{what}: `{full}` {e}"));
            return None;
        }
        Some(self.named(full, span))
    }

    /// The procedures and topics of the service trait; returns its docs.
    fn service_trait(
        &mut self,
        t: &ItemTrait,
        scope: &Scope,
        payloads: &mut [(&ItemStruct, bool)],
        c: &mut Contract,
        in_module: bool,
    ) -> Option<(String, PSpan)> {
        let mut docs = Vec::new();
        let mut doc_span = None;
        for a in &t.attrs {
            match attr_name(a) {
                Some("doc") => {
                    if let Some(d) = doc_line(a) {
                        docs.push(d);
                        doc_span.get_or_insert(a.span());
                    }
                }
                Some("service") if in_module => {
                    if let Meta::List(l) = &a.meta {
                        self.args(
                            l.tokens.clone(),
                            "#[wamp::service] in a contract module (the contract's settings go on #[wamp::contract])",
                            &[],
                        );
                    }
                }
                _ => self.error(
                    a.span(),
                    "unsupported attribute on the service trait (it takes `///` docs)",
                ),
            }
        }
        let what = format!("trait `{}`", t.ident);
        self.no_generics(&t.generics, &what);
        if !t.supertraits.is_empty() {
            self.error(t.supertraits.span(), "the service trait has no supertraits: the generated one is `Send + Sync + 'static`");
        }
        if let Some(u) = &t.unsafety {
            self.error(u.span(), "the service trait is not `unsafe`");
        }
        let expected = names::type_name(&c.name.name);
        if t.ident != expected.as_str() {
            self.error(
                t.ident.span(),
                format!("the generated callee trait of the contract `{}` is named `{expected}`: name the trait so", c.name.name),
            );
        }
        let prefix = c.uri_prefix.clone();
        for item in &t.items {
            let TraitItem::Fn(f) = item else {
                self.error(item.span(), "the service trait holds only procedures (`async fn`) and topics (`fn` with `#[wamp::topic]`)");
                continue;
            };
            self.method(f, scope, payloads, c, prefix.as_deref());
        }
        join_doc(&docs).map(|d| (d, doc_span.unwrap_or_else(PSpan::call_site)))
    }

    fn method(
        &mut self,
        f: &syn::TraitItemFn,
        scope: &Scope,
        payloads: &mut [(&ItemStruct, bool)],
        c: &mut Contract,
        prefix: Option<&str>,
    ) {
        let mut docs = Vec::new();
        let mut marker: Option<(&str, TokenStream, PSpan)> = None;
        for a in &f.attrs {
            match attr_name(a) {
                Some("doc") => {
                    if let Some(d) = doc_line(a) {
                        docs.push(d);
                    }
                }
                Some(k @ ("procedure" | "topic")) => {
                    if marker.is_some() {
                        self.error(a.span(), "a method is either a procedure or a topic");
                        continue;
                    }
                    let tokens = match &a.meta {
                        Meta::List(l) => l.tokens.clone(),
                        _ => TokenStream::new(),
                    };
                    marker = Some((k, tokens, a.span()));
                }
                _ => self.error(a.span(), "unsupported attribute on a method: use `#[wamp::procedure(...)]`, `#[wamp::topic(...)]` and `///` docs"),
            }
        }
        let sig = &f.sig;
        let is_async = sig.asyncness.is_some();
        let (kind, tokens) = match marker {
            Some((k, t, _)) => (k, t),
            None if is_async => ("procedure", TokenStream::new()),
            None => {
                self.error(
                    sig.fn_token.span(),
                    format!("`{}`: mark it `#[wamp::procedure]` (an `async fn`) or `#[wamp::topic]` (a `fn`)", sig.ident),
                );
                return;
            }
        };
        let fn_name = unraw(&sig.ident);
        let what = format!("{kind} `{fn_name}`");
        if kind == "procedure" && !is_async {
            self.error(
                sig.fn_token.span(),
                format!("{what}: a procedure is an `async fn` (the generated callee method is async): `async fn {fn_name}(&self, ...)`"),
            );
        }
        if kind == "topic" {
            if let Some(a) = &sig.asyncness {
                self.error(a.span(), format!("{what}: a topic is published, not called: declare it with `fn`, not `async fn`"));
            }
        }
        self.no_generics(&sig.generics, &what);
        if let Some(c) = &sig.constness {
            self.error(c.span(), format!("{what}: not `const`"));
        }
        if let Some(u) = &sig.unsafety {
            self.error(u.span(), format!("{what}: not `unsafe`"));
        }
        if let Some(v) = &sig.variadic {
            self.error(v.span(), format!("{what}: no variadic arguments"));
        }
        if let Some(b) = &f.default {
            self.error(
                b.span(),
                format!("{what}: no body: the callee implements the generated trait"),
            );
        }
        // `&self` first.
        let mut inputs = sig.inputs.iter().peekable();
        match inputs.peek() {
            Some(FnArg::Receiver(r)) => {
                if r.reference.is_none() || r.mutability.is_some() || r.colon_token.is_some() {
                    self.error(r.span(), format!("{what}: the receiver is `&self` (the service is shared between concurrent invocations)"));
                }
                inputs.next();
            }
            _ => self.error(
                sig.ident.span(),
                format!("{what}: the first parameter is `&self`: `fn {fn_name}(&self, ...)`"),
            ),
        }

        let keys = self.args(
            tokens,
            &format!("#[wamp::{kind}]"),
            if kind == "procedure" {
                PROCEDURE_KEYS
            } else {
                TOPIC_KEYS
            },
        );
        let key = |k: &str| keys.iter().find(|(n, _)| n == k).map(|(_, m)| m.clone());
        let name = match key("name") {
            Some(m) => match self.str_value(&m, "`name`") {
                Some((v, s)) => {
                    if !crate::parse::is_identifier(&v) {
                        self.error(s, format!("`{v}` is not a valid name"));
                    } else if names::snake(&v) != fn_name {
                        self.error(s, format!("the generated method for `{v}` is `{}`, not `{fn_name}`: name it so", names::snake(&v)));
                    }
                    self.named(v, s)
                }
                None => self.named(fn_name.clone(), sig.ident.span()),
            },
            None => self.named(fn_name.clone(), sig.ident.span()),
        };
        let since = key("since").and_then(|m| self.since(&m, "`since`"));
        let meta = Docs {
            doc: join_doc(&docs),
            since,
        };
        let uri = match key("uri") {
            Some(m) => self
                .str_value(&m, "`uri`")
                .and_then(|(v, s)| self.uri(&v, s, prefix, kind == "topic", &what)),
            None if prefix.is_some() => self.uri(
                &format!(".{}", name.name),
                sig.ident.span(),
                prefix,
                false,
                &what,
            ),
            None => {
                self.error(sig.ident.span(), format!("{what}: give its URI (`uri = \"com.example.{}\"`): the contract has no `prefix` to make one", name.name));
                None
            }
        };
        let uri_span = uri
            .as_ref()
            .map(|u| self.pspan(u.span))
            .unwrap_or_else(|| sig.ident.span());
        let uri = uri.unwrap_or_else(|| Named {
            name: format!("invalid.{}", names::snake(&name.name)),
            span: name.span,
        });

        if kind == "topic" {
            let mut retain = false;
            if let Some(m) = key("retain") {
                retain = self.bool_value(&m, "`retain`").unwrap_or(false);
            }
            if let ReturnType::Type(_, ty) = &sig.output {
                if !is_unit(ty) {
                    self.error(
                        ty.span(),
                        format!("{what}: a topic returns nothing (its parameters are the event)"),
                    );
                }
            }
            let captures: Vec<String> = split_pattern(&uri.name)
                .into_iter()
                .filter_map(|p| match p {
                    UriPart::Capture(c) => Some(c),
                    UriPart::Literal(_) => None,
                })
                .collect();
            let mut params: Vec<Field> = Vec::new();
            let mut payload = PayloadDef::default();
            for arg in inputs {
                let Some((field, kw)) = self.param(arg, scope, &what) else {
                    continue;
                };
                if captures.contains(&field.name.name) {
                    if kw {
                        self.error(
                            self.pspan(field.name.span),
                            format!(
                                "`{}` is a capture of the URI, not a keyword argument",
                                field.name.name
                            ),
                        );
                    }
                    params.push(field);
                } else if kw {
                    payload.kwargs.push(field);
                } else {
                    payload.args.push(field);
                }
            }
            let mut ordered = Vec::new();
            for cap in &captures {
                match params.iter().position(|p| &p.name.name == cap) {
                    Some(i) => ordered.push(params.remove(i)),
                    None => {
                        self.error(
                            uri_span,
                            format!("{what}: the capture `{{{cap}}}` has no parameter: add `{cap}: String` (or an integer, `bool` or an enum) to `fn {fn_name}`"),
                        );
                        // The best guess: a string capture.
                        let span = self.span(uri_span);
                        ordered.push(Field {
                            name: Named {
                                name: cap.clone(),
                                span,
                            },
                            ty: TypeRef {
                                expr: TypeExpr::Scalar(Scalar::String),
                                span,
                            },
                            meta: Docs::default(),
                            default: None,
                        });
                    }
                }
            }
            c.topics.push(Topic {
                name,
                meta,
                uri,
                params: ordered,
                payload,
                retain,
            });
            return;
        }

        // A procedure: an optional `Context<P>` first, then the inputs.
        let mut input = PayloadDef::default();
        let mut progress = None;
        let mut first = true;
        let type_prefix = names::type_name(&name.name);
        for arg in inputs {
            if let FnArg::Typed(pt) = arg {
                if let Some(p) = context_type(&pt.ty) {
                    if !first {
                        self.error(pt.ty.span(), format!("{what}: the `Context` comes first, after `&self` (as in the generated trait)"));
                    }
                    first = false;
                    if let Some(pty) = p {
                        progress = self.payload_ref(
                            pty,
                            &format!("{type_prefix}Progress"),
                            "progress",
                            payloads,
                            scope,
                        );
                    }
                    continue;
                }
            }
            first = false;
            let Some((field, kw)) = self.param(arg, scope, &what) else {
                continue;
            };
            if kw {
                input.kwargs.push(field);
            } else {
                if !input.kwargs.is_empty() {
                    self.error(self.pspan(field.name.span), format!("{what}: positional parameters come first, then the `#[kwarg]` ones (as in the generated method)"));
                }
                input.args.push(field);
            }
        }
        let mut result_ty = match &sig.output {
            ReturnType::Default => None,
            ReturnType::Type(_, ty) if is_unit(ty) => None,
            ReturnType::Type(_, ty) => Some(&**ty),
        };
        if let Some(ty) = result_ty {
            if let Some((ok, err)) = result_parts(ty) {
                let expected = format!("{type_prefix}Error");
                let declared = keys.iter().any(|(k, _)| k == "errors");
                let named = err.to_token_stream().to_string();
                if !declared {
                    self.error(err.span(), format!("{what}: declare the errors it fails with in `#[wamp::procedure(errors(...))]`; the return type is the result alone (`-> T`)"));
                } else if named != expected {
                    self.error(err.span(), format!("{what}: the generated error type is `{expected}`: write `Result<_, {expected}>`, or the result alone"));
                }
                result_ty = if is_unit(ok) { None } else { Some(ok) };
            }
        }
        let result = match result_ty {
            None => {
                if let Some(m) = key("result") {
                    self.error(m.span(), format!("{what}: `result` names the one value a procedure returns, and this one returns nothing"));
                }
                None
            }
            Some(ty) => {
                let payload_name = single_ident(ty)
                    .filter(|n| payloads.iter().any(|(s, _)| s.ident == n.as_str()));
                match payload_name {
                    Some(_) => {
                        if let Some(m) = key("result") {
                            self.error(m.span(), format!("{what}: `result` names a single returned value; the fields of `{type_prefix}Result` name themselves"));
                        }
                        self.payload_ref(
                            ty,
                            &format!("{type_prefix}Result"),
                            "result",
                            payloads,
                            scope,
                        )
                    }
                    None => {
                        let (rname, rspan) = match key("result") {
                            Some(m) => self
                                .str_value(&m, "`result`")
                                .unwrap_or(("result".into(), ty.span())),
                            None => ("result".into(), ty.span()),
                        };
                        if !crate::parse::is_identifier(&rname) {
                            self.error(rspan, format!("`{rname}` is not a valid name"));
                        }
                        self.type_ref(ty, scope).map(|t| PayloadDef {
                            args: vec![Field {
                                name: self.named(rname, rspan),
                                ty: t,
                                meta: Docs::default(),
                                default: None,
                            }],
                            kwargs: Vec::new(),
                        })
                    }
                }
            }
        };
        let mut errors = Vec::new();
        if let Some(m) = key("errors") {
            match &m {
                Meta::List(l) => match syn::parse::Parser::parse2(
                    Punctuated::<syn::Path, Token![,]>::parse_terminated,
                    l.tokens.clone(),
                ) {
                    Ok(paths) => {
                        for p in paths {
                            let segs: Vec<String> =
                                p.segments.iter().map(|s| unraw(&s.ident)).collect();
                            let (module, ename) = match segs.as_slice() {
                                [n] => (None, n.clone()),
                                [m, n] => (Some(m.clone()), n.clone()),
                                _ => {
                                    self.error(p.span(), "an error is `Name` (of this contract) or `alias::Name` (of an import)");
                                    continue;
                                }
                            };
                            errors.push(ErrorRef {
                                module,
                                name: ename,
                                span: self.span(p.span()),
                            });
                        }
                    }
                    Err(e) => self.errors.push(e),
                },
                _ => self.error(
                    m.span(),
                    "expected `errors(DivideByZero, geo::NoSuchRegion)`",
                ),
            }
        }
        let timeout_ms = key("timeout_ms").and_then(|m| {
            let value = match &m {
                Meta::NameValue(nv) => match &nv.value {
                    Expr::Lit(syn::ExprLit { lit: Lit::Int(i), .. }) => i.base10_parse::<u64>().ok(),
                    _ => None,
                },
                _ => None,
            };
            match value {
                Some(v) if v > 0 && v <= u64::from(u32::MAX) => Some(v),
                _ => {
                    self.error(m.span(), "`timeout_ms`: expected a positive number of milliseconds (at most 4294967295)");
                    None
                }
            }
        });
        let invoke = key("invoke").and_then(|m| {
            let (v, s) = self.str_value(&m, "`invoke`")?;
            Some(match v.as_str() {
                "single" => Invoke::Single,
                "roundrobin" => Invoke::RoundRobin,
                "random" => Invoke::Random,
                "first" => Invoke::First,
                "last" => Invoke::Last,
                other => {
                    self.error(s, format!("`invoke`: unknown policy `{other}` (valid: `single`, `roundrobin`, `random`, `first`, `last`)"));
                    return None;
                }
            })
        });
        let cancel = key("cancel").and_then(|m| {
            let (v, s) = self.str_value(&m, "`cancel`")?;
            Some(match v.as_str() {
                "skip" => Cancel::Skip,
                "kill" => Cancel::Kill,
                "killnowait" => Cancel::KillNoWait,
                other => {
                    self.error(s, format!("`cancel`: unknown mode `{other}` (valid: `skip`, `kill`, `killnowait`)"));
                    return None;
                }
            })
        });
        let disclose_caller = key("disclose_caller")
            .and_then(|m| self.bool_value(&m, "`disclose_caller`"))
            .unwrap_or(false);
        c.procedures.push(Procedure {
            name,
            meta,
            uri,
            input,
            result,
            errors,
            progress,
            timeout_ms,
            invoke,
            cancel,
            disclose_caller,
        });
    }

    /// A method parameter as a field.
    fn param(&mut self, arg: &FnArg, scope: &Scope, what: &str) -> Option<(Field, bool)> {
        match arg {
            FnArg::Receiver(r) => {
                self.error(r.span(), format!("{what}: `self` comes first"));
                None
            }
            FnArg::Typed(pt) => match &*pt.pat {
                Pat::Ident(pi)
                    if pi.by_ref.is_none() && pi.mutability.is_none() && pi.subpat.is_none() =>
                {
                    self.field(&pi.ident, &pt.ty, &pt.attrs, FieldSite::Param, scope)
                }
                other => {
                    self.error(other.span(), format!("{what}: a parameter is a plain name (it is the argument's name in the contract)"));
                    None
                }
            },
        }
    }

    /// The payload struct a result or progress type names.
    fn payload_ref(
        &mut self,
        ty: &Type,
        expected: &str,
        what: &str,
        payloads: &mut [(&ItemStruct, bool)],
        scope: &Scope,
    ) -> Option<PayloadDef> {
        let name = single_ident(ty);
        let found = name
            .as_deref()
            .and_then(|n| payloads.iter().position(|(s, _)| s.ident == n));
        let Some(i) = found else {
            self.error(
                ty.span(),
                format!("the {what} is a struct with `#[derive(wamp::Payload)]` named `{expected}`, declared in the contract module (positional fields first, then `#[kwarg]` ones)"),
            );
            return None;
        };
        let s = payloads[i].0;
        payloads[i].1 = true;
        if s.ident != expected {
            self.error(
                ty.span(),
                format!("the generated {what} type is named `{expected}`: name the struct so"),
            );
        }
        let a = self.item_attrs(&s.attrs, &format!("`{}`", s.ident), &[], &["Payload"]);
        if let Some(span) = a.doc_span {
            self.error(span, format!("the documentation of a generated {what} type is fixed: document the procedure instead"));
        }
        self.no_generics(&s.generics, &format!("`{}`", s.ident));
        let p = self.payload_fields(s, scope);
        if what == "result" && p.kwargs.is_empty() && p.args.len() == 1 {
            self.error(
                s.ident.span(),
                format!("a result of one positional value is written as its type (`-> {}` with `#[wamp::procedure(result = \"{}\")]`): the generated method returns it bare", p.args[0].ty.expr, p.args[0].name.name),
            );
        }
        if p.is_empty() {
            self.error(s.ident.span(), format!("the {what} struct needs fields"));
        }
        Some(p)
    }
}

#[derive(Default)]
struct ItemAttrs {
    doc: Option<String>,
    doc_span: Option<PSpan>,
    keys: Vec<(String, Meta)>,
}

fn unraw(ident: &syn::Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_string).unwrap_or(s)
}

/// The name an attribute goes by: `doc`, `wamp`, `kwarg`, `derive`, or the last segment of
/// a path such as `wamp::procedure`.
fn attr_name(a: &Attribute) -> Option<&'static str> {
    let p = a.path();
    let last = p.segments.last()?.ident.to_string();
    let single = p.segments.len() == 1;
    Some(match last.as_str() {
        "doc" if single => "doc",
        "wamp" if single => "wamp",
        "kwarg" if single => "kwarg",
        "derive" if single => "derive",
        "procedure" => "procedure",
        "topic" => "topic",
        "service" => "service",
        "contract" => "contract",
        _ => return None,
    })
}

fn doc_line(a: &Attribute) -> Option<String> {
    if let Meta::NameValue(nv) = &a.meta {
        if let Expr::Lit(syn::ExprLit {
            lit: Lit::Str(s), ..
        }) = &nv.value
        {
            return Some(s.value());
        }
    }
    None
}

/// `///` lines into Markdown: one leading space dropped from each line.
fn join_doc(lines: &[String]) -> Option<String> {
    let text: Vec<String> = lines
        .iter()
        .flat_map(|l| l.split('\n').map(str::to_string).collect::<Vec<_>>())
        .map(|l| l.strip_prefix(' ').map(str::to_string).unwrap_or(l))
        .collect();
    let joined = text.join("\n").trim_end().to_string();
    (!joined.trim().is_empty()).then_some(joined)
}

/// A type as written (without the spaces of a token stream).
fn pretty_type(ty: &Type) -> String {
    ty.to_token_stream()
        .to_string()
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" < ", "<")
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace("& ", "&")
}

fn scalar_of(name: &str) -> Option<Scalar> {
    Some(match name {
        "bool" => Scalar::Bool,
        "i8" => Scalar::I8,
        "i16" => Scalar::I16,
        "i32" => Scalar::I32,
        "i64" => Scalar::I64,
        "u8" => Scalar::U8,
        "u16" => Scalar::U16,
        "u32" => Scalar::U32,
        "u64" => Scalar::U64,
        "f32" => Scalar::F32,
        "f64" => Scalar::F64,
        _ => return None,
    })
}

fn is_unit(ty: &Type) -> bool {
    matches!(ty, Type::Tuple(t) if t.elems.is_empty())
}

fn single_ident(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) if p.qself.is_none() && p.path.segments.len() == 1 => {
            let s = &p.path.segments[0];
            matches!(s.arguments, PathArguments::None).then(|| unraw(&s.ident))
        }
        _ => None,
    }
}

/// `Context` or `Context<P>` (any path ending in `Context`): `Some(None)` or `Some(Some(P))`.
fn context_type(ty: &Type) -> Option<Option<&Type>> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != "Context" {
        return None;
    }
    match &last.arguments {
        PathArguments::None => Some(None),
        PathArguments::AngleBracketed(a) => match a.args.first() {
            Some(GenericArgument::Type(t)) if a.args.len() == 1 => {
                Some(if is_unit(t) { None } else { Some(t) })
            }
            _ => Some(None),
        },
        PathArguments::Parenthesized(_) => None,
    }
}

/// `Result<T, E>`: `(T, E)`.
fn result_parts(ty: &Type) -> Option<(&Type, &Type)> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(a) = &last.arguments else {
        return None;
    };
    let tys: Vec<&Type> = a
        .args
        .iter()
        .filter_map(|g| match g {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        })
        .collect();
    match tys.as_slice() {
        [ok, err] => Some((ok, err)),
        _ => None,
    }
}

/// A default value as JSON: a literal, a negative number, `[]` or `{}`.
fn default_value(e: &Expr) -> Option<serde_json::Value> {
    use serde_json::Value;
    match e {
        Expr::Lit(l) => match &l.lit {
            Lit::Int(i) => i
                .base10_parse::<u64>()
                .ok()
                .map(Value::from)
                .or_else(|| i.base10_parse::<i64>().ok().map(Value::from)),
            Lit::Float(f) => f
                .base10_parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number),
            Lit::Str(s) => Some(Value::String(s.value())),
            Lit::Bool(b) => Some(Value::Bool(b.value)),
            _ => None,
        },
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => match default_value(&u.expr)? {
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Some(Value::from(-i))
                } else {
                    n.as_f64()
                        .and_then(|f| serde_json::Number::from_f64(-f))
                        .map(Value::Number)
                }
            }
            _ => None,
        },
        Expr::Array(a) if a.elems.is_empty() => Some(Value::Array(Vec::new())),
        Expr::Block(b) if b.block.stmts.is_empty() => Some(Value::Object(serde_json::Map::new())),
        Expr::Group(g) => default_value(&g.expr),
        _ => None,
    }
}

/// The item with every contract attribute removed (`#[wamp::procedure]`, `#[kwarg]`,
/// `#[wamp(...)]`, the marker derives), so that it compiles as plain Rust: the fallback
/// when the contract cannot be rendered at all.
fn strip(item: TokenStream) -> TokenStream {
    let Ok(mut item) = syn::parse2::<Item>(item.clone()) else {
        return item;
    };
    fn clean(attrs: &mut Vec<Attribute>) {
        attrs.retain(|a| {
            !matches!(
                attr_name(a),
                Some("wamp" | "kwarg" | "procedure" | "topic" | "service" | "contract")
            ) && !a.path().is_ident("derive")
        });
    }
    fn clean_item(item: &mut Item) {
        match item {
            Item::Mod(m) => {
                clean(&mut m.attrs);
                if let Some((_, items)) = &mut m.content {
                    items.iter_mut().for_each(clean_item);
                }
            }
            Item::Struct(s) => {
                clean(&mut s.attrs);
                s.fields.iter_mut().for_each(|f| clean(&mut f.attrs));
            }
            Item::Enum(e) => {
                clean(&mut e.attrs);
                for v in &mut e.variants {
                    clean(&mut v.attrs);
                }
            }
            Item::Type(t) => clean(&mut t.attrs),
            Item::Trait(t) => {
                clean(&mut t.attrs);
                for i in &mut t.items {
                    if let TraitItem::Fn(f) = i {
                        clean(&mut f.attrs);
                        for input in &mut f.sig.inputs {
                            if let FnArg::Typed(pt) = input {
                                clean(&mut pt.attrs);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    clean_item(&mut item);
    item.into_token_stream()
}

/// Makes an invalid contract renderable (the best guess emitted beside the errors):
/// unknown types become `any`, unknown errors and defaults that do not fit are dropped.
fn repair(bundle: &mut Bundle) {
    let Some(mut c) = bundle.contracts.pop() else {
        return;
    };
    {
        let r = validate::Resolver::new(bundle);
        let known = |expr: &TypeExpr, own: &[String]| -> bool {
            fn walk(e: &TypeExpr, ok: &dyn Fn(Option<&str>, &str) -> bool) -> bool {
                match e {
                    TypeExpr::Scalar(_) => true,
                    TypeExpr::List(t) | TypeExpr::Map(t) | TypeExpr::Optional(t) => walk(t, ok),
                    TypeExpr::Named { module, name } => ok(module.as_deref(), name),
                }
            }
            walk(expr, &|module, name| match module {
                None => own.iter().any(|o| o == name),
                Some(_) => true,
            })
        };
        let own: Vec<String> = c.types.iter().map(|t| t.name.name.clone()).collect();
        let import_ok = |c: &Contract, e: &TypeExpr| -> bool {
            fn walk(c: &Contract, r: &validate::Resolver<'_>, e: &TypeExpr) -> bool {
                match e {
                    TypeExpr::Scalar(_) => true,
                    TypeExpr::List(t) | TypeExpr::Map(t) | TypeExpr::Optional(t) => walk(c, r, t),
                    TypeExpr::Named {
                        module: Some(m),
                        name,
                    } => {
                        c.imports.iter().any(|i| &i.alias.name == m) && {
                            let import = c.imports.iter().find(|i| &i.alias.name == m);
                            import.is_some_and(|i| {
                                r.module_by_name(&i.contract)
                                    .is_some_and(|ic| ic.types.iter().any(|t| &t.name.name == name))
                            })
                        }
                    }
                    TypeExpr::Named { module: None, .. } => true,
                }
            }
            walk(c, &r, e)
        };
        let fix = |f: &mut TypeRef, c: &Contract| {
            if !known(&f.expr, &own) || !import_ok(c, &f.expr) {
                f.expr = TypeExpr::Scalar(Scalar::Any);
            }
        };
        let snapshot = c.clone();
        let fix_fields = |fields: &mut Vec<Field>| {
            for f in fields.iter_mut() {
                fix(&mut f.ty, &snapshot);
            }
        };
        for t in &mut c.types {
            match &mut t.kind {
                TypeKind::Struct(fields) => fix_fields(fields),
                TypeKind::Alias(ty) => fix(ty, &snapshot),
                TypeKind::Union { variants, .. } => {
                    variants.retain(|v| known(&v.ty.expr, &own) && import_ok(&snapshot, &v.ty.expr))
                }
                TypeKind::Enum { .. } => {}
            }
        }
        let payloads = |p: &mut PayloadDef| {
            fix_fields(&mut p.args);
            fix_fields(&mut p.kwargs);
        };
        for e in &mut c.errors {
            payloads(&mut e.payload);
        }
        for p in &mut c.procedures {
            payloads(&mut p.input);
            if let Some(res) = &mut p.result {
                payloads(res);
            }
            if let Some(prog) = &mut p.progress {
                payloads(prog);
            }
            p.errors.retain(|e| match &e.module {
                None => snapshot.errors.iter().any(|d| d.name.name == e.name),
                Some(m) => snapshot
                    .imports
                    .iter()
                    .find(|i| &i.alias.name == m)
                    .and_then(|i| r.module_by_name(&i.contract))
                    .is_some_and(|ic| ic.errors.iter().any(|d| d.name.name == e.name)),
            });
        }
        for t in &mut c.topics {
            fix_fields(&mut t.params);
            payloads(&mut t.payload);
        }
    }
    // Names that would collide in Rust: later ones are dropped.
    dedupe_names(&mut c);
    // Defaults that do not fit their type are dropped (checked with the repaired types).
    bundle.contracts.push(c.clone());
    let fits: Vec<bool> = {
        let r = validate::Resolver::new(bundle);
        let Some(last) = bundle.contracts.last() else {
            return;
        };
        let mut v = Vec::new();
        visit_fields(last, &mut |f| {
            v.push(
                f.default
                    .as_ref()
                    .is_none_or(|d| validate::default_fits(&r, last, &d.value, &f.ty.expr).is_ok()),
            )
        });
        v
    };
    let mut i = 0;
    visit_fields_mut(&mut c, &mut |f| {
        if !fits.get(i).copied().unwrap_or(true) {
            f.default = None;
        }
        i += 1;
    });
    bundle.contracts.pop();
    bundle.contracts.push(c);
}

fn visit_fields(c: &Contract, f: &mut dyn FnMut(&Field)) {
    for t in &c.types {
        if let TypeKind::Struct(fields) = &t.kind {
            fields.iter().for_each(&mut *f);
        }
    }
    for e in &c.errors {
        e.payload.fields().for_each(&mut *f);
    }
    for p in &c.procedures {
        p.input.fields().for_each(&mut *f);
        for x in p.result.iter().chain(p.progress.iter()) {
            x.fields().for_each(&mut *f);
        }
    }
    for t in &c.topics {
        t.params.iter().chain(t.payload.fields()).for_each(&mut *f);
    }
}

fn visit_fields_mut(c: &mut Contract, f: &mut dyn FnMut(&mut Field)) {
    for t in &mut c.types {
        if let TypeKind::Struct(fields) = &mut t.kind {
            fields.iter_mut().for_each(&mut *f);
        }
    }
    let payload = |p: &mut PayloadDef, f: &mut dyn FnMut(&mut Field)| {
        p.args.iter_mut().chain(p.kwargs.iter_mut()).for_each(f);
    };
    for e in &mut c.errors {
        payload(&mut e.payload, f);
    }
    for p in &mut c.procedures {
        payload(&mut p.input, f);
        if let Some(x) = &mut p.result {
            payload(x, f);
        }
        if let Some(x) = &mut p.progress {
            payload(x, f);
        }
    }
    for t in &mut c.topics {
        t.params.iter_mut().for_each(&mut *f);
        payload(&mut t.payload, f);
    }
}

/// Whether a `Cargo.toml` declares the runtime as `wamp_runtime = { package =
/// "wamp-runtime", ... }` (or `wamp-runtime = { package = ... }`): then the crate calls
/// it `wamp_runtime`; without `package`, it is called by its library's name, `wamp`.
pub fn renames_runtime(manifest: &str) -> bool {
    let Ok(doc) = manifest.parse::<::toml::Table>() else {
        return false;
    };
    let sections = ["dependencies", "dev-dependencies", "build-dependencies"];
    let mut tables: Vec<&::toml::Table> = sections
        .iter()
        .filter_map(|s| doc.get(*s).and_then(|v| v.as_table()))
        .collect();
    if let Some(targets) = doc.get("target").and_then(|t| t.as_table()) {
        for t in targets.values().filter_map(|t| t.as_table()) {
            tables.extend(
                sections
                    .iter()
                    .filter_map(|s| t.get(*s).and_then(|v| v.as_table())),
            );
        }
    }
    tables.iter().any(|deps| {
        deps.iter().any(|(key, value)| {
            key.replace('-', "_") == "wamp_runtime"
                && value
                    .get("package")
                    .and_then(|p| p.as_str())
                    .is_some_and(|p| p == "wamp-runtime")
        })
    })
}

/// Drops what would be defined twice in Rust (the best guess keeps the first).
fn dedupe_names(c: &mut Contract) {
    fn keep_first<T>(items: &mut Vec<T>, key: impl Fn(&T) -> String, taken: &mut Vec<String>) {
        items.retain(|i| {
            let k = key(i);
            if taken.contains(&k) {
                false
            } else {
                taken.push(k);
                true
            }
        });
    }
    let fields = |p: &mut PayloadDef, taken: &mut Vec<String>| {
        keep_first(&mut p.args, |f| names::snake(&f.name.name), taken);
        keep_first(&mut p.kwargs, |f| names::snake(&f.name.name), taken);
    };
    let mut types = Vec::new();
    keep_first(&mut c.types, |t| names::type_name(&t.name.name), &mut types);
    keep_first(
        &mut c.errors,
        |e| names::type_name(&e.name.name),
        &mut types,
    );
    let mut methods = vec!["new".to_string(), "session".to_string()];
    keep_first(
        &mut c.procedures,
        |p| names::snake(&p.name.name),
        &mut methods,
    );
    keep_first(
        &mut c.topics,
        |t| format!("publish_{}", names::snake(&t.name.name)),
        &mut methods,
    );
    for p in &mut c.procedures {
        let mut taken = Vec::new();
        fields(&mut p.input, &mut taken);
        p.input.kwargs.retain(|f| {
            !(f.may_be_left_out()
                && render::CALL_METHODS.contains(&names::snake(&f.name.name).as_str()))
        });
        for x in p.result.iter_mut().chain(p.progress.iter_mut()) {
            fields(x, &mut Vec::new());
        }
        let mut seen: Vec<(Option<String>, String)> = Vec::new();
        p.errors.retain(|e| {
            let k = (e.module.clone(), e.name.clone());
            let fresh = !seen.contains(&k) && names::type_name(&e.name) != "Other";
            seen.push(k);
            fresh
        });
    }
    for e in &mut c.errors {
        fields(&mut e.payload, &mut Vec::new());
    }
    for t in &mut c.topics {
        let mut taken = Vec::new();
        keep_first(&mut t.params, |f| names::snake(&f.name.name), &mut taken);
        fields(&mut t.payload, &mut taken);
    }
    for t in &mut c.types {
        match &mut t.kind {
            TypeKind::Struct(f) => keep_first(f, |f| names::snake(&f.name.name), &mut Vec::new()),
            TypeKind::Enum { values, open } => {
                let mut taken = if *open {
                    vec!["Other".to_string()]
                } else {
                    Vec::new()
                };
                keep_first(values, |v| names::variant(&v.value.name), &mut taken);
            }
            TypeKind::Union { variants, .. } => {
                keep_first(variants, |v| names::variant(&v.tag.name), &mut Vec::new())
            }
            TypeKind::Alias(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Parsed {
        parse_file(text, Path::new(".")).expect("a contract")
    }

    #[test]
    fn the_runtime_is_renamed_only_with_a_package_key() {
        assert!(!renames_runtime(
            "[dependencies]\nwamp-runtime = { path = \"x\" }\n"
        ));
        assert!(renames_runtime(
            "[dev-dependencies]\nwamp_runtime = { package = \"wamp-runtime\", path = \"x\" }\n"
        ));
        assert!(!renames_runtime(
            "[dependencies]\nwamp = { package = \"wamp-runtime\", path = \"x\" }\n"
        ));
        assert!(renames_runtime(
            "[target.'cfg(unix)'.dependencies]\nwamp-runtime = { package = \"wamp-runtime\", version = \"1\" }\n"
        ));
        assert!(!renames_runtime("not toml ["));
    }

    #[test]
    fn a_lone_trait_is_a_contract_named_after_it() {
        let p = parse_str(
            "/// Echoes.\n#[wamp::service(version = \"1.0.0\", prefix = \"com.example\")]\ntrait EchoBox {\n    async fn echo(&self, text: String, #[kwarg(default = 2)] times: Option<u8>) -> String;\n}",
        );
        assert!(p.errors.is_empty(), "{}", p.report());
        let c = p.contract().expect("contract");
        assert_eq!(c.name.name, "echo_box");
        assert_eq!(c.doc.as_deref(), Some("Echoes."));
        assert_eq!(c.source_name, "echo_box.wamp.toml");
        let proc = &c.procedures[0];
        assert_eq!(proc.uri.name, "com.example.echo");
        assert_eq!(proc.input.args[0].ty.expr.to_string(), "string");
        assert_eq!(proc.input.kwargs[0].ty.expr.to_string(), "u8?");
        assert_eq!(
            proc.input.kwargs[0]
                .default
                .as_ref()
                .map(|d| d.value.clone()),
            Some(serde_json::json!(2))
        );
        let result = proc.result.as_ref().expect("a result");
        assert_eq!(result.args[0].name.name, "result");
    }

    #[test]
    fn rust_types_map_to_type_expressions() {
        let p = parse_str(
            "#[wamp::service(version = \"1.0.0\", prefix = \"com.example\")]\ntrait T {\n    async fn f(&self, a: Vec<Option<u8>>, b: std::collections::BTreeMap<String, Vec<i64>>, c: wamp::Binary, d: Value, e: Id, f: Uri, g: Box<f32>, h: geo::Point) -> bool;\n}",
        );
        let c = p.bundle.contracts.last().expect("contract");
        let types: Vec<String> = c.procedures[0]
            .input
            .args
            .iter()
            .map(|f| f.ty.expr.to_string())
            .collect();
        assert_eq!(
            types,
            [
                "list<u8?>",
                "map<string, list<i64>>",
                "bytes",
                "any",
                "id",
                "uri",
                "f32",
                "geo.Point"
            ]
        );
        // `geo` is not imported: validation says so, at the type.
        assert!(
            p.report().contains("unknown import alias `geo`"),
            "{}",
            p.report()
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let p = parse_str(
            "#[wamp::contract(version = \"one\", prefix = \"com.example\")]\nmod m {\n    #[derive(wamp::Type)]\n    struct P { x: &str }\n    trait M {\n        fn a(&self);\n        async fn b(x: u8);\n        #[wamp::procedure(uri = \".B\")]\n        async fn c(&self);\n    }\n}",
        );
        let report = p.report();
        for expected in [
            "`one` is not a semantic version",
            "unsupported type `&str`",
            "mark it `#[wamp::procedure]`",
            "the first parameter is `&self`",
            "`com.example.B` is not a valid URI",
        ] {
            assert!(report.contains(expected), "{expected} in:\n{report}");
        }
    }
}
