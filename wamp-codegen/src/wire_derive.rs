//! `#[derive(wamp::__private::Wire)]`: the codecs of one typed payload, from a struct that
//! lists its wire layout.
//!
//! Why a derive: the structs serde reads and writes, and the encode and decode functions
//! of every payload of a contract (a procedure's input, result and progress, an error, a
//! topic's event) follow from its fields alone. Written out by the renderer they were 40 %
//! of a contract's generated code and of the time generation takes (the output is parsed
//! back and formatted). With the derive the generated file keeps what a reader of the
//! wire contract needs, as a plain struct: which fields are positional and in which
//! order, which are keyword arguments, their wire names and types, the way prost's
//! output carries `#[derive(Message)]` rather than encoding code. The renderer writes
//! these structs and nothing else uses the derive (its input format is not public API).
//!
//! The layout struct `Name` (in the contract's `wire` module):
//!
//! ```text
//! #[derive(::wamp::__private::Wire)]
//! #[wire(runtime = ::wamp, of = super::DivideResult)]   // or `input`, `single`, `event = ...`
//! pub struct DivideResult {
//!     quotient: f64,                      // positional, in order
//!     #[wire(optional)]
//!     note: Option<String>,               // a positional argument that may be left out
//!     #[wire(kwarg)]
//!     exact: bool,                        // a keyword argument
//!     #[wire(kwarg, optional)]
//!     unit: Option<Unit>,                 // may be absent
//!     #[wire(kwarg, default = default_divide_result_digits, name = "digits")]
//!     digits: u32,                        // the default when absent (or null)
//!     #[wire(capture = 3)]
//!     device: String,                     // events: URI component 3 of the topic
//! }
//! ```
//!
//! gives `impl Name { fn encode, fn decode }`:
//! - `of = T`: `encode(&T, Serializer)`, `decode(&Payload) -> T` (T has the same fields);
//! - `event = T`: the same, and `decode(topic, payload)` also reads the captures;
//! - `single`: one positional field, `encode(&Type)`, `decode -> Type`;
//! - `input`: `decode(&Payload)` gives every field as a tuple, in order, defaults
//!   applied (the callee's arguments), and `NameKwargs` is public (a caller's builder
//!   holds it).
//!
//! Readers are tolerant: extra trailing positional arguments and unknown keyword
//! arguments are ignored; an error names the argument (`argument 2 (b)`) or the key path.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Fields, ItemStruct, LitInt, LitStr, Path, Token, Type};

/// The derive: the layout struct's tokens into its codecs, or a compile error.
pub fn derive_wire(input: TokenStream) -> TokenStream {
    match expand(input) {
        Ok(tokens) => tokens,
        Err(e) => e.to_compile_error(),
    }
}

enum Kind {
    Input,
    Single,
    Of(Path),
    Event(Path),
}

struct Field {
    ident: Ident,
    /// Its doc comments: the documentation of its setter, for an input's optional keyword
    /// argument.
    docs: Vec<syn::Attribute>,
    ty: Type,
    /// The wire name (the Rust name without `r#` unless `name = "..."` says otherwise).
    name: String,
    kwarg: bool,
    optional: bool,
    default: Option<Path>,
    capture: Option<LitInt>,
}

/// One `key` or `key = value` of a `#[wire(...)]` list.
struct Arg {
    key: Ident,
    value: Option<ArgValue>,
}

enum ArgValue {
    Path(Path),
    Str(LitStr),
    Int(LitInt),
}

impl Parse for Arg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        // `crate` and other keywords are not keys; `Ident::parse_any` is not needed.
        let key: Ident = input.parse()?;
        let value = if input.parse::<Option<Token![=]>>()?.is_some() {
            Some(if input.peek(LitStr) {
                ArgValue::Str(input.parse()?)
            } else if input.peek(LitInt) {
                ArgValue::Int(input.parse()?)
            } else {
                ArgValue::Path(input.parse()?)
            })
        } else {
            None
        };
        Ok(Arg { key, value })
    }
}

fn wire_args(attrs: &[syn::Attribute]) -> syn::Result<Vec<Arg>> {
    let mut out = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("wire")) {
        out.extend(attr.parse_args_with(Punctuated::<Arg, Token![,]>::parse_terminated)?);
    }
    Ok(out)
}

fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let item: ItemStruct = syn::parse2(input)?;
    let name = &item.ident;
    let Fields::Named(named) = &item.fields else {
        return Err(syn::Error::new_spanned(name, "Wire needs named fields"));
    };

    let mut runtime = None;
    let mut kind = None;
    let mut call = None;
    for arg in wire_args(&item.attrs)? {
        match (arg.key.to_string().as_str(), arg.value) {
            ("runtime", Some(ArgValue::Path(p))) => runtime = Some(p),
            ("input", None) => kind = Some(Kind::Input),
            ("single", None) => kind = Some(Kind::Single),
            ("of", Some(ArgValue::Path(p))) => kind = Some(Kind::Of(p)),
            ("event", Some(ArgValue::Path(p))) => kind = Some(Kind::Event(p)),
            ("call", Some(ArgValue::Path(p))) => call = Some(p),
            _ => return Err(syn::Error::new_spanned(&arg.key, "unknown `wire` argument")),
        }
    }
    let (Some(rt), Some(kind)) = (runtime, kind) else {
        return Err(syn::Error::new_spanned(
            name,
            "#[wire(runtime = PATH, input | single | of = TYPE | event = TYPE)] is required",
        ));
    };

    let mut fields = Vec::new();
    for f in &named.named {
        let Some(ident) = f.ident.clone() else {
            continue;
        };
        let mut field = Field {
            name: ident.to_string().trim_start_matches("r#").to_string(),
            ident,
            docs: f
                .attrs
                .iter()
                .filter(|a| a.path().is_ident("doc"))
                .cloned()
                .collect(),
            ty: f.ty.clone(),
            kwarg: false,
            optional: false,
            default: None,
            capture: None,
        };
        for arg in wire_args(&f.attrs)? {
            match (arg.key.to_string().as_str(), arg.value) {
                ("kwarg", None) => field.kwarg = true,
                ("optional", None) => field.optional = true,
                ("default", Some(ArgValue::Path(p))) => field.default = Some(p),
                ("name", Some(ArgValue::Str(s))) => field.name = s.value(),
                ("capture", Some(ArgValue::Int(i))) => field.capture = Some(i),
                _ => return Err(syn::Error::new_spanned(&arg.key, "unknown `wire` argument")),
            }
        }
        fields.push(field);
    }

    let serde = format!("{}::__private::serde", quote!(#rt)).replace(' ', "");
    let cx = Codec {
        rt: &rt,
        serde: &serde,
        name,
        args: fields
            .iter()
            .filter(|f| !f.kwarg && f.capture.is_none())
            .collect(),
        kwargs: fields.iter().filter(|f| f.kwarg).collect(),
        captures: fields.iter().filter(|f| f.capture.is_some()).collect(),
    };
    Ok(match kind {
        Kind::Input => {
            let mut out = cx.input();
            if let Some(call) = &call {
                out.extend(cx.setters(call)?);
            }
            out
        }
        Kind::Single => cx.single()?,
        Kind::Of(ty) => cx.of(&ty, false),
        Kind::Event(ty) => cx.of(&ty, true),
    })
}

struct Codec<'a> {
    rt: &'a Path,
    serde: &'a str,
    name: &'a Ident,
    args: Vec<&'a Field>,
    kwargs: Vec<&'a Field>,
    captures: Vec<&'a Field>,
}

impl Codec<'_> {
    fn kwargs_ident(&self) -> Ident {
        format_ident!("{}Kwargs", self.name)
    }

    /// A procedure's input: the keyword struct (public: the caller's builder holds it) and
    /// `decode` giving every input in order.
    fn input(&self) -> TokenStream {
        let rt = self.rt;
        let name = self.name;
        let kwargs_struct = self.kwargs_struct(quote!(pub));
        let read = self.read();
        let types = self
            .args
            .iter()
            .chain(&self.kwargs)
            .map(|f| &f.ty)
            .collect::<Vec<_>>();
        let values = self.args.iter().chain(&self.kwargs).map(|f| self.take(f));
        quote! {
            #kwargs_struct

            impl #name {
                /// Every input of the procedure, in order, defaults applied.
                pub fn decode(
                    payload: &#rt::Payload,
                ) -> ::core::result::Result<(#(#types,)*), #rt::protocol::PayloadError> {
                    #read
                    ::core::result::Result::Ok((#(#values,)*))
                }
            }
        }
    }

    /// The call builder's setters of the optional keyword arguments (the builder holds
    /// them in its `kwargs` field, a `NameKwargs`), documented as their fields are.
    fn setters(&self, call: &Path) -> syn::Result<TokenStream> {
        let mut setters = Vec::new();
        for f in &self.kwargs {
            let ident = &f.ident;
            let docs = &f.docs;
            let ty = if f.optional {
                option_inner(&f.ty).ok_or_else(|| {
                    syn::Error::new_spanned(&f.ty, "an optional field has an `Option<T>` type")
                })?
            } else if f.default.is_some() {
                &f.ty
            } else {
                continue;
            };
            setters.push(quote! {
                #(#docs)*
                pub fn #ident(mut self, #ident: #ty) -> Self {
                    self.kwargs.#ident = ::core::option::Option::Some(#ident);
                    self
                }
            });
        }
        Ok(quote! {
            impl #call {
                #(#setters)*
            }
        })
    }

    fn single(&self) -> syn::Result<TokenStream> {
        let rt = self.rt;
        let name = self.name;
        let [field] = self.args[..] else {
            return Err(syn::Error::new_spanned(
                name,
                "`single` lays out exactly one positional field",
            ));
        };
        let ty = &field.ty;
        let wire = &field.name;
        Ok(quote! {
            impl #name {
                /// The value as the one positional argument.
                pub fn encode(
                    value: &#ty,
                    serializer: #rt::Serializer,
                ) -> ::core::result::Result<#rt::Payload, #rt::protocol::EncodeError> {
                    #rt::Payload::encode_args(serializer, &(value,))
                }

                /// The value from the first positional argument.
                pub fn decode(
                    payload: &#rt::Payload,
                ) -> ::core::result::Result<#ty, #rt::protocol::PayloadError> {
                    let (value,): (#ty,) = #rt::__private::decode_args(payload, &[#wire])?;
                    ::core::result::Result::Ok(value)
                }
            }
        })
    }

    /// A struct-shaped payload (`ty` has the same fields): encode and decode.
    fn of(&self, ty: &Path, event: bool) -> TokenStream {
        let rt = self.rt;
        let name = self.name;
        let serde = self.serde;
        let kwargs_struct = self.kwargs_struct(TokenStream::new());
        let read = self.read();

        // Encoding borrows the value's fields: positional ones as a tuple, keyword ones
        // in a struct of references (an absent optional one is left out).
        let a = self.args.iter().map(|f| &f.ident);
        let encode_args = quote!(#rt::Payload::encode_args(serializer, &(#(&value.#a,)*)));
        let encode_body = if self.kwargs.is_empty() && self.args.is_empty() {
            quote!(::core::result::Result::Ok(#rt::Payload::empty()))
        } else if self.kwargs.is_empty() {
            encode_args
        } else {
            let args_payload = if self.args.is_empty() {
                quote!(#rt::Payload::empty())
            } else {
                quote!(#encode_args?)
            };
            let mut ref_fields = Vec::new();
            let mut inits = Vec::new();
            for f in &self.kwargs {
                let ident = &f.ident;
                let wire = &f.name;
                let ty = &f.ty;
                if f.optional {
                    let is_none = format!("{}::__private::is_none", quote!(#rt)).replace(' ', "");
                    ref_fields.push(quote! {
                        #[serde(rename = #wire, skip_serializing_if = #is_none)]
                        #ident: &'a #ty,
                    });
                } else {
                    ref_fields.push(quote! { #[serde(rename = #wire)] #ident: &'a #ty, });
                }
                inits.push(quote!(#ident: &value.#ident,));
            }
            quote! {
                #[derive(#rt::__private::serde::Serialize)]
                #[serde(crate = #serde)]
                struct KwargsRef<'a> { #(#ref_fields)* }

                #args_payload.with_encoded_kwargs(serializer, &KwargsRef { #(#inits)* })
            }
        };

        let (topic_param, captures) = if event {
            let captures = self.captures.iter().map(|f| {
                let ident = &f.ident;
                let ty = &f.ty;
                let wire = &f.name;
                let index = f.capture.as_ref();
                quote!(let #ident: #ty = #rt::__private::capture_at(topic, #index, #wire)?;)
            });
            let param = if self.captures.is_empty() {
                quote!(_topic: &str,)
            } else {
                quote!(topic: &str,)
            };
            (param, quote!(#(#captures)*))
        } else {
            (TokenStream::new(), TokenStream::new())
        };
        let inits = self
            .captures
            .iter()
            .chain(&self.args)
            .chain(&self.kwargs)
            .map(|f| {
                let ident = &f.ident;
                let value = self.take(f);
                quote!(#ident: #value,)
            });
        quote! {
            #kwargs_struct

            impl #name {
                /// The payload of a value.
                pub fn encode(
                    value: &#ty,
                    serializer: #rt::Serializer,
                ) -> ::core::result::Result<#rt::Payload, #rt::protocol::EncodeError> {
                    #encode_body
                }

                /// A value from a payload.
                pub fn decode(
                    #topic_param
                    payload: &#rt::Payload,
                ) -> ::core::result::Result<#ty, #rt::protocol::PayloadError> {
                    #captures
                    #read
                    ::core::result::Result::Ok(#ty { #(#inits)* })
                }
            }
        }
    }

    /// The owned keyword struct (`NameKwargs`): optional and defaulted keys may be absent.
    fn kwargs_struct(&self, vis: TokenStream) -> TokenStream {
        if self.kwargs.is_empty() {
            return TokenStream::new();
        }
        let rt = self.rt;
        let serde = self.serde;
        let ident = self.kwargs_ident();
        let fields = self.kwargs.iter().map(|f| {
            let field = &f.ident;
            let wire = &f.name;
            let ty = &f.ty;
            if f.optional {
                quote! {
                    #[serde(rename = #wire, default, skip_serializing_if = "::core::option::Option::is_none")]
                    pub #field: #ty,
                }
            } else if f.default.is_some() {
                quote! {
                    #[serde(rename = #wire, default, skip_serializing_if = "::core::option::Option::is_none")]
                    pub #field: ::core::option::Option<#ty>,
                }
            } else {
                quote! { #[serde(rename = #wire)] pub #field: #ty, }
            }
        });
        quote! {
            /// The keyword arguments.
            #[derive(#rt::__private::serde::Serialize, #rt::__private::serde::Deserialize)]
            #[serde(crate = #serde)]
            #vis struct #ident { #(#fields)* }
        }
    }

    /// Statements binding every positional and keyword field by its name.
    fn read(&self) -> TokenStream {
        let rt = self.rt;
        let serde = self.serde;
        let mut out = TokenStream::new();
        if !self.args.is_empty() {
            let names = self.args.iter().map(|f| &f.name);
            let idents: Vec<&Ident> = self.args.iter().map(|f| &f.ident).collect();
            let fields = self.args.iter().map(|f| {
                let ident = &f.ident;
                let ty = &f.ty;
                if f.optional {
                    quote!(#[serde(default)] #ident: #ty,)
                } else {
                    quote!(#ident: #ty,)
                }
            });
            out.extend(quote! {
                #[derive(#rt::__private::serde::Deserialize)]
                #[serde(crate = #serde)]
                struct Args { #(#fields)* }

                let Args { #(#idents),* } = #rt::__private::decode_args(payload, &[#(#names),*])?;
            });
        }
        if !self.kwargs.is_empty() {
            let kw = self.kwargs_ident();
            let idents = self.kwargs.iter().map(|f| &f.ident);
            out.extend(quote! {
                let #kw { #(#idents),* } = #rt::__private::decode_kwargs(payload)?;
            });
        }
        out
    }

    /// A read field's value: a defaulted keyword takes its default when absent.
    fn take(&self, f: &Field) -> TokenStream {
        let ident = &f.ident;
        match &f.default {
            Some(d) if f.kwarg => quote!(#ident.unwrap_or_else(#d)),
            _ => quote!(#ident),
        }
    }
}

/// `T` of an `Option<T>` (as the renderer writes it: a path ending in `Option<T>`).
fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(src: &str) -> String {
        let tokens: TokenStream = src.parse().expect("tokens");
        derive_wire(tokens).to_string()
    }

    #[test]
    fn an_input_gives_a_decoder_a_keyword_struct_and_setters() {
        let out = expand_str(
            "#[wire(runtime = ::wamp, input, call = super::DivideCall)]
             pub struct Divide {
                 a: f64,
                 #[wire(optional)] b: ::core::option::Option<f64>,
                 /// Digits.
                 #[wire(kwarg, default = default_divide_precision)] precision: u32,
                 #[wire(kwarg, optional, name = \"unit-name\")] unit: ::core::option::Option<String>,
             }",
        );
        for needle in [
            "pub struct DivideKwargs",
            "rename = \"unit-name\"",
            "pub fn decode",
            "precision . unwrap_or_else (default_divide_precision)",
            "impl super :: DivideCall",
            "pub fn precision (mut self , precision : u32)",
            "pub fn unit (mut self , unit : String)",
            "\" Digits.\"",
        ] {
            assert!(out.contains(needle), "missing {needle:?} in {out}");
        }
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn an_event_reads_its_captures_from_the_topic() {
        let out = expand_str(
            "#[wire(runtime = ::wamp, event = super::TelemetryEvent)]
             pub struct TelemetryEvent {
                 #[wire(capture = 3)] device: String,
                 #[wire(kwarg)] value: f64,
             }",
        );
        assert!(out.contains("capture_at (topic , 3 , \"device\")"), "{out}");
        assert!(out.contains("pub fn encode"), "{out}");
    }

    #[test]
    fn bad_layouts_are_compile_errors() {
        for (src, message) in [
            ("pub struct A { a: f64 }", "is required"),
            ("#[wire(runtime = ::wamp, input, nope)] pub struct A { a: f64 }", "unknown `wire` argument"),
            ("#[wire(runtime = ::wamp, single)] pub struct A { a: f64, b: f64 }", "exactly one positional field"),
            (
                "#[wire(runtime = ::wamp, input, call = C)] pub struct A { #[wire(kwarg, optional)] a: f64 }",
                "`Option<T>` type",
            ),
        ] {
            let out = expand_str(src);
            assert!(out.contains("compile_error") && out.contains(message), "{src}: {out}");
        }
    }
}
