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
use super::{doc_attrs, meta_docs, rename, Cx};
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
pub(super) struct Site<'m> {
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
    pub fn args_ident(&self) -> Ident {
        format_ident!("{}Args", names::type_name(&self.key))
    }
    pub fn kw_ident(&self) -> Ident {
        format_ident!("{}Kwargs", names::type_name(&self.key))
    }
    pub fn kw_ref_ident(&self) -> Ident {
        format_ident!("{}KwargsRef", names::type_name(&self.key))
    }
    pub fn names_ident(&self) -> Ident {
        format_ident!("{}_ARGS", names::constant(&self.key))
    }
    pub fn encode_fn(&self) -> Ident {
        format_ident!("encode_{}", self.key)
    }
    pub fn decode_fn(&self) -> Ident {
        format_ident!("decode_{}", self.key)
    }

    /// Whether the positional arguments are read into a tuple: when every one is required.
    /// Optional trailing arguments need the `Args` struct, whose `#[serde(default)]` gives
    /// them `None` when a caller leaves them out.
    pub fn args_as_tuple(&self) -> bool {
        self.payload.args.iter().all(|f| !f.ty.expr.is_optional())
    }

    /// The pattern (and type) `decode_args` reads a site's positional arguments into,
    /// binding each to its name: `(a, b): (f64, f64)`, or `ArgsStruct { a, b }` (named
    /// from where the code is rendered: `wire::` outside the wire module).
    pub fn args_pattern(&self, cx: &Cx<'_>) -> TokenStream {
        let fields = self
            .payload
            .args
            .iter()
            .map(|f| names::ident(&names::snake(&f.name.name)));
        if self.args_as_tuple() {
            let types = self.payload.args.iter().map(|f| cx.ty(&f.ty.expr));
            quote!((#(#fields,)*): (#(#types,)*))
        } else {
            let args = self.args_ident();
            let path = if cx.in_wire { quote!() } else { quote!(wire::) };
            quote!(#path #args { #(#fields),* })
        }
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
        let encode = site.encode_fn();
        let decode = site.decode_fn();
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
                    wire::#encode(self, serializer)
                }

                fn from_payload(payload: &#rt::Payload) -> ::core::result::Result<Self, #rt::protocol::PayloadError> {
                    wire::#decode(payload)
                }
            }
        });
    }
    out
}

pub(super) fn error_site(e: &ErrorDef) -> Site<'_> {
    Site {
        key: format!("error_{}", names::snake(&e.name.name)),
        payload: &e.payload,
        captures: &[],
        capture_index: Vec::new(),
        is_event: false,
    }
}

pub(super) fn input_site(p: &Procedure) -> Site<'_> {
    Site {
        key: names::snake(&p.name.name),
        payload: &p.input,
        captures: &[],
        capture_index: Vec::new(),
        is_event: false,
    }
}

pub(super) fn result_site(p: &Procedure) -> Option<Site<'_>> {
    p.result.as_ref().map(|r| Site {
        key: format!("{}_result", names::snake(&p.name.name)),
        payload: r,
        captures: &[],
        capture_index: Vec::new(),
        is_event: false,
    })
}

pub(super) fn progress_site(p: &Procedure) -> Option<Site<'_>> {
    p.progress.as_ref().map(|r| Site {
        key: format!("{}_progress", names::snake(&p.name.name)),
        payload: r,
        captures: &[],
        capture_index: Vec::new(),
        is_event: false,
    })
}

pub(super) fn event_site(t: &Topic) -> Site<'_> {
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
    for p in &cx.contract.procedures {
        if let (Shape::Struct(ident), Some(site)) = (result_shape(cx, p), result_site(p)) {
            let docs = doc_attrs(Some(&format!("The result of `{}`.", p.name.name)));
            out.extend(public_struct(cx, &ident, docs, &site));
        }
        if let Some(site) = progress_site(p) {
            let docs = doc_attrs(Some(&format!("A progressive result of `{}`.", p.name.name)));
            out.extend(public_struct(cx, &progress_ident(p), docs, &site));
        }
    }
    for t in &cx.contract.topics {
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
        items.extend(input_layout(cx, &input_site(p)));
        if let Some(site) = result_site(p) {
            items.extend(site_codec(cx, &site, &result_shape(cx, p)));
        } else {
            items.extend(site_codec(
                cx,
                &Site {
                    key: format!("{}_result", names::snake(&p.name.name)),
                    payload: &EMPTY,
                    captures: &[],
                    capture_index: Vec::new(),
                    is_event: false,
                },
                &Shape::Unit,
            ));
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
    let rt = &cx.rt;
    quote! {
        /// Wire layouts and codecs of the contract's payloads (used by the generated code).
        #[doc(hidden)]
        pub mod wire {
            #prelude
            #[allow(unused_imports)]
            use #rt::__private::serde::{Deserialize, Serialize};
            #[allow(unused_imports)]
            use #rt::{Payload, Serializer};
            #[allow(unused_imports)]
            use ::core::result::Result::Ok;
            /// What an encoder returns.
            #[allow(dead_code)]
            type Encoded = ::core::result::Result<#rt::Payload, #rt::protocol::EncodeError>;
            /// What a decoder returns.
            #[allow(dead_code)]
            type Decoded<T> = ::core::result::Result<T, #rt::protocol::PayloadError>;
            #items
        }
    }
}

static EMPTY: PayloadDef = PayloadDef {
    args: Vec::new(),
    kwargs: Vec::new(),
};

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

/// The positional struct, its names, and the owned keyword struct.
fn input_layout(cx: &Cx<'_>, site: &Site<'_>) -> TokenStream {
    let mut out = TokenStream::new();
    let p = site.payload;
    if !p.args.is_empty() {
        let ident = site.args_ident();
        let names_ident = site.names_ident();
        let names: Vec<&str> = p.args.iter().map(|f| f.name.name.as_str()).collect();
        let serde = cx.serde_derive(false, true);
        let fields = p.args.iter().map(|f| {
            let ident = names::ident(&names::snake(&f.name.name));
            let ty = cx.ty(&f.ty.expr);
            let attr = if f.ty.expr.is_optional() {
                quote!(#[serde(default)])
            } else {
                TokenStream::new()
            };
            quote! { #attr pub #ident: #ty, }
        });
        out.extend(quote! {
            pub const #names_ident: &[&str] = &[#(#names),*];
        });
        if !site.args_as_tuple() {
            out.extend(quote! {
                #serde
                pub struct #ident { #(#fields)* }
            });
        }
    }
    if !p.kwargs.is_empty() {
        let ident = site.kw_ident();
        let serde = cx.serde_derive(true, true);
        let fields = p.kwargs.iter().map(|f| {
            let rust = names::snake(&f.name.name);
            let fident = names::ident(&rust);
            let rename = rename(&f.name.name, &rust);
            if f.ty.expr.is_optional() || f.default.is_some() {
                let ty = cx.ty(f.ty.expr.strip_optional());
                quote! {
                    #rename
                    #[serde(default, skip_serializing_if = "::core::option::Option::is_none")]
                    pub #fident: ::core::option::Option<#ty>,
                }
            } else {
                let ty = cx.ty(&f.ty.expr);
                quote! { #rename pub #fident: #ty, }
            }
        });
        out.extend(quote! {
            #serde
            pub struct #ident { #(#fields)* }
        });
    }
    out.extend(default_fns(cx, &site.key, p.kwargs.iter()));
    out
}

/// Layout plus encode/decode functions of a site.
fn site_codec(cx: &Cx<'_>, site: &Site<'_>, shape: &Shape) -> TokenStream {
    let rt = &cx.rt;
    let mut out = input_layout(cx, site);
    let p = site.payload;
    let encode = site.encode_fn();
    let decode = site.decode_fn();
    let ty = shape_type(cx, shape);
    match shape {
        Shape::Unit => out.extend(quote! {
            pub fn #encode(_: &(), _: Serializer) -> Encoded {
                Ok(Payload::empty())
            }
            pub fn #decode(_: &Payload) -> Decoded<()> {
                Ok(())
            }
        }),
        Shape::Single(_) => {
            let pattern = site.args_pattern(cx);
            let names = site.names_ident();
            let field = names::ident(&names::snake(&p.args[0].name.name));
            out.extend(quote! {
                pub fn #encode(value: &#ty, serializer: Serializer) -> Encoded {
                    Payload::encode_args(serializer, &(value,))
                }
                pub fn #decode(payload: &Payload) -> Decoded<#ty> {
                    let #pattern = #rt::__private::decode_args(payload, #names)?;
                    Ok(#field)
                }
            });
        }
        Shape::Struct(_) => {
            // Encoding borrows the public struct's fields.
            let encode_args = if p.args.is_empty() {
                quote!(let payload = Payload::empty();)
            } else {
                let fields = p.args.iter().map(|f| {
                    let ident = names::ident(&names::snake(&f.name.name));
                    quote!(&value.#ident)
                });
                quote!(let payload = Payload::encode_args(serializer, &(#(#fields,)*))?;)
            };
            let encode_kwargs = if p.kwargs.is_empty() {
                quote!(Ok(payload))
            } else {
                let kw_ref = site.kw_ref_ident();
                let is_none = format!("{}::__private::is_none", super::rt_string(rt));
                let serde = cx.serde_derive(true, false);
                let ref_fields = p.kwargs.iter().map(|f| {
                    let rust = names::snake(&f.name.name);
                    let ident = names::ident(&rust);
                    let rename = rename(&f.name.name, &rust);
                    let (ty, attr) = if f.default.is_some() {
                        (cx.ty(f.ty.expr.strip_optional()), TokenStream::new())
                    } else if f.ty.expr.is_optional() {
                        (
                            cx.ty(&f.ty.expr),
                            quote!(#[serde(skip_serializing_if = #is_none)]),
                        )
                    } else {
                        (cx.ty(&f.ty.expr), TokenStream::new())
                    };
                    quote! { #rename #attr pub #ident: &'a #ty, }
                });
                let inits = p.kwargs.iter().map(|f| {
                    let ident = names::ident(&names::snake(&f.name.name));
                    quote!(#ident: &value.#ident,)
                });
                out.extend(quote! {
                    #serde
                    pub struct #kw_ref<'a> { #(#ref_fields)* }
                });
                quote!(payload.with_encoded_kwargs(serializer, &#kw_ref { #(#inits)* }))
            };
            let read_args = if p.args.is_empty() {
                TokenStream::new()
            } else {
                let pattern = site.args_pattern(cx);
                let names = site.names_ident();
                quote!(let #pattern = #rt::__private::decode_args(payload, #names)?;)
            };
            let read_kwargs = if p.kwargs.is_empty() {
                TokenStream::new()
            } else {
                let kw = site.kw_ident();
                let fields = p
                    .kwargs
                    .iter()
                    .map(|f| names::ident(&names::snake(&f.name.name)));
                quote!(let #kw { #(#fields),* } = #rt::__private::decode_kwargs(payload)?;)
            };
            let captures = site.captures.iter().enumerate().map(|(i, f)| {
                let ident = names::ident(&names::snake(&f.name.name));
                let name = &f.name.name;
                let index = site.capture_index[i];
                quote!(let #ident = #rt::__private::capture_at(topic, #index, #name)?;)
            });
            let inits = site.captures.iter().chain(p.fields()).map(|f| {
                let ident = names::ident(&names::snake(&f.name.name));
                match &f.default {
                    Some(_) if p.kwargs.iter().any(|k| std::ptr::eq(k, f)) => {
                        let func = format_ident!("{}", default_fn_name(&site.key, &f.name.name));
                        quote!(#ident: #ident.unwrap_or_else(#func),)
                    }
                    _ => quote!(#ident,),
                }
            });
            let decode_sig = if site.is_event && site.captures.is_empty() {
                quote!(_topic: &str, payload: &Payload)
            } else if site.is_event {
                quote!(topic: &str, payload: &Payload)
            } else {
                quote!(payload: &Payload)
            };
            out.extend(quote! {
                pub fn #encode(value: &#ty, serializer: Serializer) -> Encoded {
                    #encode_args
                    #encode_kwargs
                }
                pub fn #decode(#decode_sig) -> Decoded<#ty> {
                    #(#captures)*
                    #read_args
                    #read_kwargs
                    Ok(#ty { #(#inits)* })
                }
            });
        }
    }
    out
}
