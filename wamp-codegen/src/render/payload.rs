//! Payload "sites": every place a WAMP payload (positional + keyword arguments) is
//! typed — procedure inputs, results and progress, errors, topic events — and their
//! codecs in the `wire` module.
//!
//! A site with fields has a public struct holding all of them; the wire layout (which
//! are positional, in which order, which are keyword arguments) lives in the private
//! `wire` module: a struct read from the positional list (tolerant: extra trailing
//! arguments are ignored), an owned keyword struct (unknown keys ignored), a borrowed
//! keyword struct for encoding, and one encode and one decode function per site.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::types::{default_fn_name, dict_field};
use super::{doc_attrs, meta_docs, Cx};
use crate::model::*;
use crate::names;

/// How a site appears in Rust.
pub(super) enum Shape {
    /// Nothing on the wire: `()`.
    Unit,
    /// One positional value: the bare type.
    Single(TokenStream),
    /// A struct (public, in the contract module).
    Struct(Ident),
}

/// A typed payload.
pub(crate) struct Site<'m> {
    /// snake_case key for the wire items' names (`divide_result`).
    pub key: String,
    pub payload: &'m PayloadDef,
    /// Topic captures (only for events): part of the struct, not of the payload.
    pub captures: &'m [Field],
    /// The URI component index of each capture.
    pub capture_index: Vec<usize>,
    /// Whether this is a topic's event (decoded from the topic and the payload).
    pub is_event: bool,
}

impl Site<'_> {
    /// The site's layout struct in the `wire` module (`DivideResult`), which has the
    /// codecs (`wire::DivideResult::encode`/`decode`).
    pub fn layout_ident(&self) -> Ident {
        format_ident!("{}", names::type_name(&self.key))
    }
    /// The owned keyword-argument struct (`wire::DivideKwargs`).
    pub fn kw_ident(&self) -> Ident {
        format_ident!("{}Kwargs", names::type_name(&self.key))
    }
    /// `wire::Layout::encode`, from the contract module.
    pub fn encode_path(&self) -> TokenStream {
        let layout = self.layout_ident();
        quote!(wire::#layout::encode)
    }
    /// `wire::Layout::decode`, from the contract module.
    pub fn decode_path(&self) -> TokenStream {
        let layout = self.layout_ident();
        quote!(wire::#layout::decode)
    }
}

/// The encoder and decoder of a procedure's result (the runtime's for no result).
pub(super) fn result_codec(cx: &Cx<'_>, p: &Procedure) -> (TokenStream, TokenStream) {
    match (result_shape(cx, p), result_site(p)) {
        (Shape::Unit, _) | (_, None) => {
            let rt = &cx.rt;
            (
                quote!(#rt::__private::encode_unit),
                quote!(#rt::__private::decode_unit),
            )
        }
        (_, Some(site)) => (site.encode_path(), site.decode_path()),
    }
}

pub(super) fn result_shape(cx: &Cx<'_>, p: &Procedure) -> Shape {
    match &p.result {
        None => Shape::Unit,
        Some(r) if r.is_empty() => Shape::Unit,
        Some(r) if r.kwargs.is_empty() && r.args.len() == 1 => {
            Shape::Single(cx.ty(&r.args[0].ty.expr))
        }
        Some(_) => Shape::Struct(format_ident!("{}Result", names::type_name(&p.name.name))),
    }
}

pub(super) fn shape_type(cx: &Cx<'_>, shape: &Shape) -> TokenStream {
    match shape {
        Shape::Unit => quote!(()),
        Shape::Single(t) => t.clone(),
        Shape::Struct(i) => cx.local(i),
    }
}

pub(super) fn progress_ident(p: &Procedure) -> Ident {
    format_ident!("{}Progress", names::type_name(&p.name.name))
}

pub(super) fn event_ident(t: &Topic) -> Ident {
    format_ident!("{}Event", names::type_name(&t.name.name))
}

/// The public struct of a site.
fn public_struct(cx: &Cx<'_>, ident: &Ident, docs: TokenStream, site: &Site<'_>) -> TokenStream {
    let serde = cx.serde_derive(true, true);
    let schema = cx.schema_derive();
    let fields = site.captures.iter().chain(site.payload.fields()).map(|f| {
        let func = format!("wire::{}", default_fn_name(&site.key, &f.name.name));
        dict_field(cx, f, false, Some(&func))
    });
    quote! {
        #docs
        #[derive(Clone, Debug, PartialEq)]
        #serde
        #schema
        pub struct #ident {
            #(#fields)*
        }
    }
}

/// Error structs with their URI, Display and the runtime's `ApplicationError`.
pub(super) fn errors(cx: &Cx<'_>) -> TokenStream {
    let rt = &cx.rt;
    let mut out = TokenStream::new();
    for e in &cx.contract.errors {
        let ident = format_ident!("{}", names::type_name(&e.name.name));
        let uri = &e.uri.name;
        let mut docs = meta_docs(&e.meta);
        docs.extend(doc_attrs(Some(&format!(
            "\nSent as the error URI `{uri}`."
        ))));
        let site = error_site(e);
        out.extend(public_struct(cx, &ident, docs, &site));
        let encode = site.encode_path();
        let decode = site.decode_path();
        out.extend(quote! {
            impl ::core::fmt::Display for #ident {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.write_str(<Self as #rt::typed::ApplicationError>::URI)?;
                    ::core::write!(f, " {:?}", self)
                }
            }

            impl ::std::error::Error for #ident {}

            impl #rt::typed::ApplicationError for #ident {
                const URI: &'static str = #uri;

                fn to_payload(&self, serializer: #rt::Serializer) -> ::core::result::Result<#rt::Payload, #rt::protocol::EncodeError> {
                    #encode(self, serializer)
                }

                fn from_payload(payload: &#rt::Payload) -> ::core::result::Result<Self, #rt::protocol::PayloadError> {
                    #decode(payload)
                }
            }
        });
    }
    out
}

pub(crate) fn error_site(e: &ErrorDef) -> Site<'_> {
    Site {
        key: format!("error_{}", names::snake(&e.name.name)),
        payload: &e.payload,
        captures: &[],
        capture_index: Vec::new(),
        is_event: false,
    }
}

pub(crate) fn input_site(p: &Procedure) -> Site<'_> {
    Site {
        key: names::snake(&p.name.name),
        payload: &p.input,
        captures: &[],
        capture_index: Vec::new(),
        is_event: false,
    }
}

pub(crate) fn result_site(p: &Procedure) -> Option<Site<'_>> {
    p.result.as_ref().map(|r| Site {
        key: format!("{}_result", names::snake(&p.name.name)),
        payload: r,
        captures: &[],
        capture_index: Vec::new(),
        is_event: false,
    })
}

pub(crate) fn progress_site(p: &Procedure) -> Option<Site<'_>> {
    p.progress.as_ref().map(|r| Site {
        key: format!("{}_progress", names::snake(&p.name.name)),
        payload: r,
        captures: &[],
        capture_index: Vec::new(),
        is_event: false,
    })
}

pub(crate) fn event_site(t: &Topic) -> Site<'_> {
    Site {
        key: format!("{}_event", names::snake(&t.name.name)),
        payload: &t.payload,
        captures: &t.params,
        capture_index: t
            .parts()
            .iter()
            .enumerate()
            .filter(|(_, p)| matches!(p, UriPart::Capture(_)))
            .map(|(i, _)| i)
            .collect(),
        is_event: true,
    }
}

/// Result, progress and event structs.
pub(super) fn site_structs(cx: &Cx<'_>) -> TokenStream {
    let mut out = TokenStream::new();
    let c = cx.contract;
    let len = c.procedures.len() + c.topics.len();
    for (i, p) in c.procedures.iter().enumerate() {
        if !cx.in_part(i, len) {
            continue;
        }
        if let (Shape::Struct(ident), Some(site)) = (result_shape(cx, p), result_site(p)) {
            let docs = doc_attrs(Some(&format!("The result of `{}`.", p.name.name)));
            out.extend(public_struct(cx, &ident, docs, &site));
        }
        if let Some(site) = progress_site(p) {
            let docs = doc_attrs(Some(&format!("A progressive result of `{}`.", p.name.name)));
            out.extend(public_struct(cx, &progress_ident(p), docs, &site));
        }
    }
    for (i, t) in c.topics.iter().enumerate() {
        if !cx.in_part(c.procedures.len() + i, len) {
            continue;
        }
        let mut docs = meta_docs(&t.meta);
        docs.extend(doc_attrs(Some(&format!(
            "\nAn event of topic `{}` (`{}`).",
            t.name.name, t.uri.name
        ))));
        out.extend(public_struct(cx, &event_ident(t), docs, &event_site(t)));
    }
    out
}

/// The `wire` module: layouts and codecs of every site, and default values.
pub(super) fn wire_module(cx: &Cx<'_>) -> TokenStream {
    let mut items = TokenStream::new();
    let c = cx.contract;
    for t in &c.types {
        if let TypeKind::Struct(fields) = &t.kind {
            items.extend(default_fns(cx, &t.name.name, fields.iter()));
        }
    }
    for e in &c.errors {
        let ident = format_ident!("{}", names::type_name(&e.name.name));
        items.extend(site_codec(cx, &error_site(e), &Shape::Struct(ident)));
    }
    for p in &c.procedures {
        items.extend(input_layout(cx, p, &input_site(p)));
        if let Some(site) = result_site(p) {
            items.extend(site_codec(cx, &site, &result_shape(cx, p)));
        }
        if let Some(site) = progress_site(p) {
            items.extend(site_codec(cx, &site, &Shape::Struct(progress_ident(p))));
        }
    }
    for t in &c.topics {
        items.extend(site_codec(
            cx,
            &event_site(t),
            &Shape::Struct(event_ident(t)),
        ));
    }
    let prelude = cx.prelude_import();
    quote! {
        /// Wire layouts of the contract's payloads, with their codecs (used by the generated code).
        #[doc(hidden)]
        #[allow(dead_code)]
        pub mod wire {
            #prelude
            #items
        }
    }
}

fn default_fns<'f>(
    cx: &Cx<'_>,
    owner: &str,
    fields: impl Iterator<Item = &'f Field>,
) -> TokenStream {
    let mut out = TokenStream::new();
    for f in fields {
        if let Some(d) = &f.default {
            let name = format_ident!("{}", default_fn_name(owner, &f.name.name));
            let ty = cx.ty(f.ty.expr.strip_optional());
            let value = cx.default_expr(&d.value, &f.ty.expr);
            out.extend(quote! {
                pub fn #name() -> #ty { #value }
            });
        }
    }
    out
}

/// One field of a layout struct: its type as the site's struct has it, and where it goes
/// (see `wamp_codegen::wire_derive`).
fn layout_field(cx: &Cx<'_>, key: &str, f: &Field, kwarg: bool, setter: bool) -> TokenStream {
    let rust = names::snake(&f.name.name);
    let optional = f.may_be_left_out();
    let docs = if setter && kwarg && optional {
        doc_attrs(Some(&setter_doc(f)))
    } else {
        TokenStream::new()
    };
    let ident = names::ident(&rust);
    let mut args = Vec::new();
    if kwarg {
        args.push(quote!(kwarg));
    }
    let ty = if f.default.is_some() && kwarg {
        let func = format_ident!("{}", default_fn_name(key, &f.name.name));
        args.push(quote!(default = #func));
        cx.ty(f.ty.expr.strip_optional())
    } else {
        if f.ty.expr.is_optional() {
            args.push(quote!(optional));
        }
        cx.ty(&f.ty.expr)
    };
    if names::unraw(&rust) != f.name.name {
        let wire = &f.name.name;
        args.push(quote!(name = #wire));
    }
    let attr = (!args.is_empty()).then(|| quote!(#[wire(#(#args),*)]));
    quote!(#docs #attr #ident: #ty,)
}

/// The documentation of the call builder's setter of an optional keyword argument.
fn setter_doc(f: &Field) -> String {
    let mut doc = f
        .meta
        .doc
        .clone()
        .unwrap_or_else(|| format!("Sets the keyword argument `{}`.", f.name.name));
    if let Some(d) = &f.default {
        doc.push_str(&format!(
            "\n\nThe callee uses `{}` when it is not set.",
            d.value
        ));
    }
    if let Some(s) = &f.meta.since {
        doc.push_str(&format!("\n\nSince version {s}."));
    }
    doc
}

/// The layout struct of a site (`kind` says which codecs the derive gives it).
fn layout(
    cx: &Cx<'_>,
    site: &Site<'_>,
    kind: TokenStream,
    call: Option<TokenStream>,
) -> TokenStream {
    let rt = &cx.rt;
    let p = site.payload;
    let ident = site.layout_ident();
    let captures = site
        .captures
        .iter()
        .zip(&site.capture_index)
        .map(|(f, &i)| {
            let ident = names::ident(&names::snake(&f.name.name));
            let ty = cx.ty(&f.ty.expr);
            let index = proc_macro2::Literal::usize_unsuffixed(i);
            let rename = (names::unraw(&ident.to_string()) != f.name.name).then(|| {
                let wire = &f.name.name;
                quote!(, name = #wire)
            });
            quote!(#[wire(capture = #index #rename)] #ident: #ty,)
        });
    let setter = call.is_some();
    let args = p
        .args
        .iter()
        .map(|f| layout_field(cx, &site.key, f, false, setter));
    let kwargs = p
        .kwargs
        .iter()
        .map(|f| layout_field(cx, &site.key, f, true, setter));
    let mut out = default_fns(cx, &site.key, p.kwargs.iter());
    out.extend(quote! {
        #[derive(#rt::__private::Wire)]
        #[wire(runtime = #rt, #kind #call)]
        pub struct #ident {
            #(#captures)*
            #(#args)*
            #(#kwargs)*
        }
    });
    out
}

/// A procedure's input: its layout, whose `decode` gives every input in order (the
/// callee's arguments), defaults applied. Nothing for a procedure without inputs.
fn input_layout(cx: &Cx<'_>, p: &Procedure, site: &Site<'_>) -> TokenStream {
    if site.payload.is_empty() {
        return TokenStream::new();
    }
    // The call builder gets a setter per optional keyword argument.
    let call = site
        .payload
        .kwargs
        .iter()
        .any(Field::may_be_left_out)
        .then(|| {
            let builder = format_ident!("{}Call", names::type_name(&p.name.name));
            quote!(, call = super::#builder)
        });
    layout(cx, site, quote!(input), call)
}

/// The layout and codecs of a result, progress, error or event.
fn site_codec(cx: &Cx<'_>, site: &Site<'_>, shape: &Shape) -> TokenStream {
    match shape {
        Shape::Unit => TokenStream::new(),
        Shape::Single(_) => layout(cx, site, quote!(single), None),
        Shape::Struct(ident) => {
            let ty = cx.local(ident);
            if site.is_event {
                layout(cx, site, quote!(event = #ty), None)
            } else {
                layout(cx, site, quote!(of = #ty), None)
            }
        }
    }
}
