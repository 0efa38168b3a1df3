//! The caller side: `XClient` with one method per procedure (a call builder whose
//! optional keyword arguments and options are setters), per-procedure error enums, and
//! typed publishers and subscriptions for topics.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::payload::{self, progress_ident, result_shape, shape_type};
use super::{doc_attrs, meta_docs, Cx};
use crate::model::*;
use crate::names;

/// Builder methods of every call; a keyword argument may not take these names.
pub(crate) const CALL_METHODS: &[&str] = &[
    "timeout",
    "disclose_me",
    "cancel_mode",
    "into_request",
    "progressive",
];

pub(super) fn render(cx: &Cx<'_>) -> TokenStream {
    let rt = &cx.rt;
    let c = cx.contract;
    let client = format_ident!("{}Client", names::type_name(&c.name.name));
    let mut methods = TokenStream::new();
    let mut items = TokenStream::new();
    for p in &c.procedures {
        let (m, i) = procedure(cx, p);
        methods.extend(m);
        items.extend(i);
    }
    for t in &c.topics {
        let (m, i) = topic(cx, t);
        methods.extend(m);
        items.extend(i);
    }
    let doc = format!(
        "A typed client of the contract `{}`: one method per procedure{}.\n\nCheap to clone (it holds a [`{}::Session`]).",
        c.name.name,
        if c.topics.is_empty() { "" } else { ", and a publisher and a subscriber per topic" },
        super::rt_string(rt)
    );
    let docs = doc_attrs(Some(&doc));
    quote! {
        #docs
        #[derive(Clone, Debug)]
        pub struct #client {
            session: #rt::Session,
        }

        impl #client {
            /// A client on `session`.
            pub fn new(session: #rt::Session) -> Self {
                #client { session }
            }

            /// The session calls go through.
            pub fn session(&self) -> &#rt::Session {
                &self.session
            }

            #methods
        }

        #items
    }
}

/// The error type of a procedure, and the function mapping a call failure to it.
pub(super) fn error_type(cx: &Cx<'_>, p: &Procedure) -> (TokenStream, TokenStream) {
    let rt = &cx.rt;
    if p.errors.is_empty() {
        (
            quote!(#rt::client::Error),
            quote!(::core::convert::identity),
        )
    } else {
        let ident = format_ident!("{}Error", names::type_name(&p.name.name));
        let local = cx.local(&ident);
        (local.clone(), quote!(#local::from_call_error))
    }
}

/// A client parameter's type: strings are taken as `impl Into<String>`.
fn param(cx: &Cx<'_>, f: &Field) -> (Ident, TokenStream, TokenStream) {
    let ident = names::ident(&names::snake(&f.name.name));
    match f.ty.expr {
        TypeExpr::Scalar(Scalar::String | Scalar::Uri) => (
            ident.clone(),
            quote!(impl ::core::convert::Into<::std::string::String>),
            quote!(#ident.into()),
        ),
        _ => (ident.clone(), cx.ty(&f.ty.expr), quote!(#ident)),
    }
}

fn procedure(cx: &Cx<'_>, p: &Procedure) -> (TokenStream, TokenStream) {
    let rt = &cx.rt;
    let method = names::ident(&names::snake(&p.name.name));
    let builder = format_ident!("{}Call", names::type_name(&p.name.name));
    let uri_const = format_ident!("{}", names::constant(&p.name.name));
    let input = payload::input_site(p);

    // Parameters: positional arguments, then required keyword arguments.
    let required_kwargs: Vec<&Field> = p
        .input
        .kwargs
        .iter()
        .filter(|f| !f.may_be_left_out())
        .collect();
    let optional_kwargs: Vec<&Field> = p
        .input
        .kwargs
        .iter()
        .filter(|f| f.may_be_left_out())
        .collect();
    let mut params = Vec::new();
    let mut arg_values = Vec::new();
    for f in &p.input.args {
        let (ident, ty, value) = param(cx, f);
        params.push(quote!(#ident: #ty));
        arg_values.push(value);
    }
    let mut kw_inits = Vec::new();
    for f in &required_kwargs {
        let (ident, ty, value) = param(cx, f);
        params.push(quote!(#ident: #ty));
        kw_inits.push(quote!(#ident: #value,));
    }
    for f in &optional_kwargs {
        let ident = names::ident(&names::snake(&f.name.name));
        kw_inits.push(quote!(#ident: ::core::option::Option::None,));
    }

    let mut request = quote!(self.session.call(uri::#uri_const));
    if let Some(ms) = p.timeout_ms {
        request = quote!(#request.timeout(::core::time::Duration::from_millis(#ms)));
    }
    if let Some(cancel) = p.cancel {
        let mode = match cancel {
            Cancel::Skip => quote!(Skip),
            Cancel::Kill => quote!(Kill),
            Cancel::KillNoWait => quote!(KillNoWait),
        };
        request = quote!(#request.cancel_mode(#rt::protocol::CancelMode::#mode));
    }
    // Absent trailing optional arguments are left out of the list (not sent as null):
    // the positional list is as long as the last argument given.
    let required = p
        .input
        .args
        .iter()
        .take_while(|f| !f.ty.expr.is_optional())
        .count();
    let mut prelude = TokenStream::new();
    if p.input.args.len() > required {
        let idents: Vec<Ident> = p
            .input
            .args
            .iter()
            .map(|f| names::ident(&names::snake(&f.name.name)))
            .collect();
        for (ident, value) in idents.iter().zip(&arg_values) {
            if *ident != value.to_string() {
                prelude.extend(quote!(let #ident = #value;));
            }
        }
        let mut chain = {
            let prefix = &idents[..required];
            if prefix.is_empty() {
                quote!(request)
            } else {
                quote!(request.args(&(#(&#prefix,)*)))
            }
        };
        for end in required + 1..=idents.len() {
            let prefix = &idents[..end];
            let last = &idents[end - 1];
            chain = quote! {
                if #last.is_some() { request.args(&(#(&#prefix,)*)) } else { #chain }
            };
        }
        prelude.extend(quote! {
            let request = #request;
            let request = #chain;
        });
        request = TokenStream::new();
    } else if !p.input.args.is_empty() {
        request = quote!(#request.args(&(#(#arg_values,)*)));
    }
    let (kw_field, kw_init, kw_marker) = if p.input.kwargs.is_empty() {
        (TokenStream::new(), TokenStream::new(), TokenStream::new())
    } else {
        let kw = input.kw_ident();
        (
            quote!(kwargs: wire::#kw,),
            quote!(kwargs: wire::#kw { #(#kw_inits)* },),
            quote!(; kwargs),
        )
    };

    let request_field = if request.is_empty() {
        quote!(request,)
    } else {
        quote!(request: #request,)
    };
    let mut docs = meta_docs(&p.meta);
    docs.extend(doc_attrs(Some(&format!(
        "\nCalls `{}`; set options on the returned [`{builder}`], then `.await` it.",
        p.uri.name
    ))));
    let method_tokens = quote! {
        #docs
        pub fn #method(&self, #(#params),*) -> #builder {
            #prelude
            #builder {
                #request_field
                #kw_init
            }
        }
    };

    let shape = result_shape(cx, p);
    let result_ty = shape_type(cx, &shape);
    let (error_ty, map_error) = error_type(cx, p);
    let (_, decode_result) = payload::result_codec(cx, p);
    let progressive = payload::progress_site(p).map(|site| {
        let progress = progress_ident(p);
        let decode_progress = site.decode_path();
        let docs = doc_attrs(Some(&format!(
            "Asks for progressive results: a stream of [`Progressive::Progress`]({}::typed::Progressive)\nitems, then the final result. Dropping the stream early cancels the call.",
            super::rt_string(rt)
        )));
        quote! {
            #docs
            pub fn progressive(self) -> #rt::typed::ProgressiveCall<#progress, #result_ty, #error_ty> {
                #rt::typed::ProgressiveCall::new(
                    self.into_request().progressive(),
                    #decode_progress,
                    #decode_result,
                    #map_error,
                )
            }
        }
    });

    let name = &p.name.name;
    let builder_doc = doc_attrs(Some(&format!(
        "A call of `{name}` being prepared: set options, then `.await` it for the result. Dropping the future before it completes cancels the call{}.",
        match p.cancel {
            Some(Cancel::Skip) => " (mode `skip`)",
            Some(Cancel::Kill) => " (mode `kill`)",
            _ => "",
        }
    )));
    let error_enum = error_enum(cx, p);
    // The setters of optional keyword arguments come with the input's layout (the
    // `wire` module's `Wire` derive writes them, documented on its fields).
    let own_methods = match progressive {
        None => TokenStream::new(),
        Some(progressive) => quote! {
            impl #builder {
                #progressive
            }
        },
    };
    let items = quote! {
        #builder_doc
        #[must_use = "a call does nothing until it is awaited"]
        pub struct #builder {
            request: #rt::client::CallRequest,
            #kw_field
        }

        #own_methods

        #rt::__private::typed_call!(#builder => #result_ty, #error_ty; #decode_result, #map_error #kw_marker);

        #error_enum
    };
    (method_tokens, items)
}

fn error_enum(cx: &Cx<'_>, p: &Procedure) -> TokenStream {
    if p.errors.is_empty() {
        return TokenStream::new();
    }
    let rt = &cx.rt;
    let ident = format_ident!("{}Error", names::type_name(&p.name.name));
    let mut variants = Vec::new();
    let mut cases = Vec::new();
    for e in &p.errors {
        let (_, def) = cx
            .resolver
            .error(cx.contract, e)
            .expect("validated: every declared error exists");
        let variant = format_ident!("{}", names::type_name(&e.name));
        let ty = cx.named(e.module.as_deref(), &e.name);
        let doc = doc_attrs(Some(
            def.meta
                .doc
                .as_deref()
                .unwrap_or(&format!("`{}`", def.uri.name)),
        ));
        variants.push(quote!(#doc #variant(#ty),));
        cases.push(quote!(#variant(#ty)));
    }
    let doc = doc_attrs(Some(&format!(
        "Why a call of `{}` failed: one of its declared errors, or any other error (the router's, the transport's, a timeout, an undeclared application error).",
        p.name.name
    )));
    quote! {
        #doc
        #[derive(Debug)]
        pub enum #ident {
            #(#variants)*
            /// Any other failure.
            Other(#rt::client::Error),
        }

        #rt::__private::call_error!(#ident { #(#cases),* });
    }
}

fn topic(cx: &Cx<'_>, t: &Topic) -> (TokenStream, TokenStream) {
    let rt = &cx.rt;
    let event = payload::event_ident(t);
    let site = payload::event_site(t);
    let encode = site.encode_path();
    let decode = site.decode_path();
    let snake = names::snake(&t.name.name);
    let publish = format_ident!("publish_{}", snake);
    let subscribe = format_ident!("subscribe_{}", snake);
    let topic_fn = format_ident!("{}_topic", site.key);

    // The concrete topic of an event: literal components and formatted captures.
    let parts = t.parts();
    let mut format = Vec::new();
    let mut values = Vec::new();
    let mut pattern = Vec::new();
    for part in &parts {
        match part {
            UriPart::Literal(l) => {
                format.push(l.clone());
                pattern.push(l.clone());
            }
            UriPart::Capture(name) => {
                format.push("{}".into());
                pattern.push(String::new());
                let ident = names::ident(&names::snake(name));
                values.push(quote!(#rt::__private::capture(&event.#ident, #name)?));
            }
        }
    }
    let format = format.join(".");
    let pattern = pattern.join(".");
    let is_pattern = parts.iter().any(|p| matches!(p, UriPart::Capture(_)));
    let topic_body = if is_pattern {
        quote!(::core::result::Result::Ok(
            ::std::format!(#format, #(#values),*)
        ))
    } else {
        quote!({ let _ = event; ::core::result::Result::Ok(::std::string::String::from(#format)) })
    };
    let policy = if is_pattern {
        quote!(#rt::protocol::MatchPolicy::Wildcard)
    } else {
        quote!(#rt::protocol::MatchPolicy::Exact)
    };
    let retain = t.retain.then(|| quote!(.retain(true)));
    let get_retained = t.retain.then(|| quote!(.get_retained(true)));
    let mut docs = meta_docs(&t.meta);
    docs.extend(doc_attrs(Some(&format!(
        "\nPublishes an event to `{}`{}; set options on the returned request, then `.await` it.",
        t.uri.name,
        if t.retain { " (retained)" } else { "" }
    ))));
    let sub_docs = doc_attrs(Some(&format!(
        "Subscribes to `{}`{}: `.await` it for a stream of [`{event}`]s{}.",
        t.uri.name,
        if is_pattern {
            " (a wildcard subscription)"
        } else {
            ""
        },
        if t.retain {
            ", the retained one first"
        } else {
            ""
        }
    )));
    let methods = quote! {
        #docs
        pub fn #publish(&self, event: &#event) -> #rt::typed::Publish {
            #rt::typed::Publish::new(
                &self.session,
                #topic_fn(event),
                #encode(event, self.session.serializer()),
            ) #retain
        }

        #sub_docs
        pub fn #subscribe(&self) -> #rt::typed::Subscribe<#event> {
            #rt::typed::Subscribe::new(&self.session, #pattern, #policy, #decode) #get_retained
        }
    };
    let mut items = topic_uri_fn(cx, &topic_fn, &event, topic_body);
    let mut methods = methods;
    if is_pattern {
        let (m, i) = filter(cx, t, &event, &decode, &parts);
        methods.extend(m);
        items.extend(i);
    }
    (methods, items)
}

/// For a topic with captures: a filter struct (one optional field per capture) and a
/// `subscribe_X_where` method subscribing to the events whose captures have those values
/// (an exact subscription when every capture is set).
fn filter(
    cx: &Cx<'_>,
    t: &Topic,
    event: &Ident,
    decode: &TokenStream,
    parts: &[UriPart],
) -> (TokenStream, TokenStream) {
    let rt = &cx.rt;
    let ident = format_ident!("{}Filter", names::type_name(&t.name.name));
    let method = format_ident!("subscribe_{}_where", names::snake(&t.name.name));
    let fields = t.params.iter().map(|f| {
        let name = names::ident(&names::snake(&f.name.name));
        let ty = cx.ty(&f.ty.expr);
        let doc = doc_attrs(Some(&format!(
            "Only events whose `{{{}}}` is this value.",
            f.name.name
        )));
        quote!(#doc pub #name: ::core::option::Option<#ty>,)
    });
    let mut reads = Vec::new();
    let mut format = Vec::new();
    let mut values = Vec::new();
    let mut all_set = Vec::new();
    for part in parts {
        match part {
            UriPart::Literal(l) => format.push(l.clone()),
            UriPart::Capture(name) => {
                format.push("{}".into());
                let field = names::ident(&names::snake(name));
                reads.push(quote! {
                    let #field = match &filter.#field {
                        ::core::option::Option::Some(v) => #rt::__private::capture(v, #name)?,
                        ::core::option::Option::None => ::std::string::String::new(),
                    };
                });
                all_set.push(quote!(filter.#field.is_some()));
                values.push(field);
            }
        }
    }
    let format = format.join(".");
    let get_retained = t.retain.then(|| quote!(.get_retained(true)));
    let docs = doc_attrs(Some(&format!(
        "Subscribes to the events of `{}` whose captures have the values set in `filter` (unset ones match anything).",
        t.uri.name
    )));
    let method_tokens = quote! {
        #docs
        pub fn #method(&self, filter: &#ident) -> #rt::typed::Subscribe<#event> {
            let topic = (|| {
                #(#reads)*
                let policy = if #(#all_set)&&* {
                    #rt::protocol::MatchPolicy::Exact
                } else {
                    #rt::protocol::MatchPolicy::Wildcard
                };
                ::core::result::Result::Ok((::std::format!(#format, #(#values),*), policy))
            })();
            #rt::typed::Subscribe::filtered(&self.session, topic, #decode) #get_retained
        }
    };
    let doc = doc_attrs(Some(&format!(
        "Which events of `{}` to subscribe to: `None` matches any value.",
        t.name.name
    )));
    let item = quote! {
        #doc
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct #ident {
            #(#fields)*
        }
    };
    (method_tokens, item)
}

/// The concrete-topic function lives in the contract module (next to the client).
fn topic_uri_fn(cx: &Cx<'_>, name: &Ident, event: &Ident, body: TokenStream) -> TokenStream {
    let rt = &cx.rt;
    quote! {
        /// The concrete topic of an event: its captures in their URI components.
        fn #name(event: &#event) -> ::core::result::Result<::std::string::String, #rt::client::Error> {
            #body
        }
    }
}
