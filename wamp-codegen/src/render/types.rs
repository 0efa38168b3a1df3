//! Named types: structs, enums (closed and open), aliases, tagged unions.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{doc_attrs, meta_docs, rename, Cx};
use crate::model::*;
use crate::names;
use crate::validate::Resolved;

pub(super) fn render(cx: &Cx<'_>) -> TokenStream {
    let mut out = TokenStream::new();
    let len = cx.contract.types.len();
    for (i, t) in cx.contract.types.iter().enumerate() {
        if !cx.in_part(i, len) {
            continue;
        }
        out.extend(match &t.kind {
            TypeKind::Struct(fields) => strukt(cx, t, fields),
            TypeKind::Enum {
                values,
                open: false,
            } => closed_enum(cx, t, values),
            TypeKind::Enum { values, open: true } => open_enum(cx, t, values),
            TypeKind::Alias(ty) => {
                let docs = meta_docs(&t.meta);
                let name = format_ident!("{}", names::type_name(&t.name.name));
                let ty = cx.ty(&ty.expr);
                quote! { #docs pub type #name = #ty; }
            }
            TypeKind::Union { tag, variants } => union(cx, t, tag, variants),
        });
    }
    out
}

/// Serde attributes and Rust type of a dict field: optional fields may be absent, fields
/// with defaults take their default when absent.
pub(super) fn dict_field(
    cx: &Cx<'_>,
    f: &Field,
    boxed: bool,
    default_fn: Option<&str>,
) -> TokenStream {
    let rust = names::snake(&f.name.name);
    let ident = names::ident(&rust);
    let docs = if f.meta.doc.is_some() {
        meta_docs(&f.meta)
    } else {
        let mut meta = f.meta.clone();
        meta.doc = Some(format!("`{}`: `{}`.", f.name.name, f.ty.expr));
        meta_docs(&meta)
    };
    let rename = rename(&f.name.name, &rust);
    let (ty, attr) = match (&f.default, default_fn) {
        (Some(_), Some(func)) => {
            let ty = cx.ty_boxed(f.ty.expr.strip_optional(), boxed);
            (ty, quote!(#[serde(default = #func)]))
        }
        _ if f.ty.expr.is_optional() => (
            cx.ty_boxed(&f.ty.expr, boxed),
            quote!(#[serde(default, skip_serializing_if = "::core::option::Option::is_none")]),
        ),
        _ => (cx.ty_boxed(&f.ty.expr, boxed), TokenStream::new()),
    };
    quote! {
        #docs
        #rename
        #attr
        pub #ident: #ty,
    }
}

/// The name of the function giving a field's default (in the `wire` module).
pub(super) fn default_fn_name(owner: &str, field: &str) -> String {
    format!("default_{}_{}", names::snake(owner), names::snake(field))
}

fn strukt(cx: &Cx<'_>, t: &TypeDef, fields: &[Field]) -> TokenStream {
    let docs = meta_docs(&t.meta);
    let name = format_ident!("{}", names::type_name(&t.name.name));
    let serde = cx.serde_derive(true, true);
    let schema = cx.schema_derive();
    let fields = fields.iter().map(|f| {
        let boxed = recursive(cx, &f.ty.expr, &t.name.name);
        let func = format!("wire::{}", default_fn_name(&t.name.name, &f.name.name));
        dict_field(cx, f, boxed, Some(&func))
    });
    quote! {
        #docs
        #[derive(Clone, Debug, PartialEq)]
        #serde
        #schema
        pub struct #name {
            #(#fields)*
        }
    }
}

/// Whether a field of type `e` in struct `owner` must be boxed: it names (directly, or
/// through `?`) a type that contains `owner` again without a list or map in between.
fn recursive(cx: &Cx<'_>, e: &TypeExpr, owner: &str) -> bool {
    let TypeExpr::Named { module: None, name } = e.strip_optional() else {
        return false;
    };
    let mut seen = Vec::new();
    reaches(cx, name, owner, &mut seen)
}

fn reaches(cx: &Cx<'_>, from: &str, target: &str, seen: &mut Vec<String>) -> bool {
    if from == target {
        return true;
    }
    if seen.iter().any(|s| s == from) {
        return false;
    }
    seen.push(from.to_string());
    let Some(def) = cx.contract.types.iter().find(|t| t.name.name == from) else {
        return false;
    };
    let direct = |e: &TypeExpr| match e.strip_optional() {
        TypeExpr::Named { module: None, name } => Some(name.clone()),
        _ => None,
    };
    let next: Vec<String> = match &def.kind {
        TypeKind::Struct(fields) => fields.iter().filter_map(|f| direct(&f.ty.expr)).collect(),
        TypeKind::Alias(t) => direct(&t.expr).into_iter().collect(),
        TypeKind::Union { variants, .. } => {
            variants.iter().filter_map(|v| direct(&v.ty.expr)).collect()
        }
        TypeKind::Enum { .. } => Vec::new(),
    };
    next.iter().any(|n| reaches(cx, n, target, seen))
}

fn closed_enum(cx: &Cx<'_>, t: &TypeDef, values: &[EnumValue]) -> TokenStream {
    let docs = meta_docs(&t.meta);
    let name = format_ident!("{}", names::type_name(&t.name.name));
    let serde = cx.serde_derive(true, true);
    let schema = cx.schema_derive();
    let variants = values.iter().map(|v| {
        let ident = format_ident!("{}", names::variant(&v.value.name));
        let wire = &v.value.name;
        let docs = doc_attrs(Some(v.doc.as_deref().unwrap_or(&format!("`{wire}`"))));
        quote! { #docs #[serde(rename = #wire)] #ident, }
    });
    let arms = values.iter().map(|v| {
        let ident = format_ident!("{}", names::variant(&v.value.name));
        let wire = &v.value.name;
        quote!(#name::#ident => #wire,)
    });
    let parse = values.iter().map(|v| {
        let ident = format_ident!("{}", names::variant(&v.value.name));
        let wire = &v.value.name;
        quote!(#wire => ::core::result::Result::Ok(#name::#ident),)
    });
    let type_name = &t.name.name;
    quote! {
        #docs
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #serde
        #schema
        pub enum #name {
            #(#variants)*
        }

        impl #name {
            /// The value on the wire.
            pub fn as_str(&self) -> &'static str {
                match self { #(#arms)* }
            }
        }

        impl ::core::fmt::Display for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::core::str::FromStr for #name {
            type Err = ::std::string::String;
            fn from_str(s: &str) -> ::core::result::Result<Self, Self::Err> {
                match s {
                    #(#parse)*
                    other => ::core::result::Result::Err(::std::format!("`{}` is not a value of {}", other, #type_name)),
                }
            }
        }
    }
}

fn open_enum(cx: &Cx<'_>, t: &TypeDef, values: &[EnumValue]) -> TokenStream {
    let rt = &cx.rt;
    let docs = meta_docs(&t.meta);
    let name = format_ident!("{}", names::type_name(&t.name.name));
    let type_name = &t.name.name;
    let variants = values.iter().map(|v| {
        let ident = format_ident!("{}", names::variant(&v.value.name));
        let wire = &v.value.name;
        let docs = doc_attrs(Some(v.doc.as_deref().unwrap_or(&format!("`{wire}`"))));
        quote! { #docs #ident, }
    });
    let arms = values.iter().map(|v| {
        let ident = format_ident!("{}", names::variant(&v.value.name));
        let wire = &v.value.name;
        quote!(#name::#ident => #wire,)
    });
    let parse = values.iter().map(|v| {
        let ident = format_ident!("{}", names::variant(&v.value.name));
        let wire = &v.value.name;
        quote!(#wire => #name::#ident,)
    });
    let wire_values: Vec<&str> = values.iter().map(|v| v.value.name.as_str()).collect();
    quote! {
        #docs
        ///
        /// An open enum: values this version does not know are kept in `Other`.
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum #name {
            #(#variants)*
            /// A value this version of the contract does not know.
            Other(::std::string::String),
        }

        impl #name {
            /// The value on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    #(#arms)*
                    #name::Other(s) => s,
                }
            }
        }

        impl ::core::convert::From<&str> for #name {
            fn from(s: &str) -> Self {
                match s {
                    #(#parse)*
                    other => #name::Other(::std::string::String::from(other)),
                }
            }
        }

        impl ::core::fmt::Display for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::core::str::FromStr for #name {
            type Err = ::core::convert::Infallible;
            fn from_str(s: &str) -> ::core::result::Result<Self, Self::Err> {
                ::core::result::Result::Ok(#name::from(s))
            }
        }

        impl #rt::__private::serde::Serialize for #name {
            fn serialize<S: #rt::__private::serde::Serializer>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> #rt::__private::serde::Deserialize<'de> for #name {
            fn deserialize<D: #rt::__private::serde::Deserializer<'de>>(deserializer: D) -> ::core::result::Result<Self, D::Error> {
                let s: ::std::string::String = #rt::__private::serde::Deserialize::deserialize(deserializer)?;
                ::core::result::Result::Ok(#name::from(s.as_str()))
            }
        }

        impl #rt::__private::schemars::JsonSchema for #name {
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed(#type_name)
            }
            fn json_schema(_: &mut #rt::__private::schemars::SchemaGenerator) -> #rt::__private::schemars::Schema {
                #rt::__private::open_enum_schema(&[#(#wire_values),*])
            }
        }
    }
}

fn union(cx: &Cx<'_>, t: &TypeDef, tag: &Named, variants: &[Variant]) -> TokenStream {
    let docs = meta_docs(&t.meta);
    let name = format_ident!("{}", names::type_name(&t.name.name));
    let serde = cx.serde_derive(true, true);
    let schema = cx.schema_derive();
    let tag_name = &tag.name;
    let vs = variants.iter().map(|v| {
        let ident = format_ident!("{}", names::variant(&v.tag.name));
        let wire = &v.tag.name;
        let boxed = recursive(cx, &v.ty.expr, &t.name.name);
        let ty = cx.ty_boxed(&v.ty.expr, boxed);
        let doc = match cx.resolver.resolve(cx.contract, &v.ty.expr) {
            Some((_, Resolved::Def(def))) => {
                format!("`{tag_name}: \"{wire}\"`: a `{}`.", def.name.name)
            }
            _ => format!("`{tag_name}: \"{wire}\"`"),
        };
        let docs = doc_attrs(Some(&doc));
        quote! { #docs #[serde(rename = #wire)] #ident(#ty), }
    });
    quote! {
        #docs
        #[derive(Clone, Debug, PartialEq)]
        #serde
        #schema
        #[serde(tag = #tag_name)]
        pub enum #name {
            #(#vs)*
        }
    }
}
