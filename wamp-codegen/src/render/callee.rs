//! The callee side: a trait with one async method per procedure, and `serve`, which
//! registers an implementation with the contract's options and turns its typed results
//! and declared errors into the wire format.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::client::error_type;
use super::payload::{self, progress_ident, result_shape, shape_type};
use super::{doc_attrs, meta_docs, Cx};
use crate::model::*;
use crate::names;

pub(super) fn render(cx: &Cx<'_>) -> TokenStream {
    let rt = &cx.rt;
    let c = cx.contract;
    let trait_ident = format_ident!("{}", names::type_name(&c.name.name));
    let mut methods = TokenStream::new();
    let mut registrations = TokenStream::new();
    for p in &c.procedures {
        let (m, r) = procedure(cx, p);
        methods.extend(m);
        registrations.extend(r);
    }
    let count = c.procedures.len();
    let doc = format!(
        "The callee side of the contract `{}`: implement it and pass the implementation to [`serve`].{}",
        c.name.name,
        c.doc.as_deref().map(|d| format!("\n\n{d}")).unwrap_or_default()
    );
    let docs = doc_attrs(Some(&doc));
    let session_param = if count == 0 {
        quote!(_session)
    } else {
        quote!(session)
    };
    let service_binding = if count == 0 {
        quote!(let _ = service;)
    } else {
        quote!(let service = ::std::sync::Arc::new(service);)
    };
    quote! {
        #docs
        pub trait #trait_ident: ::core::marker::Send + ::core::marker::Sync + 'static {
            #methods
        }

        /// Registers every procedure of the contract on `session`, served by `service`,
        /// with the contract's registration options. Dropping the returned
        /// [`Service`](#rt::typed::Service) unregisters them.
        pub async fn serve<S: #trait_ident>(#session_param: &#rt::Session, service: S) -> ::core::result::Result<#rt::typed::Service, #rt::client::Error> {
            #service_binding
            let mut registrations = ::std::vec::Vec::with_capacity(#count);
            #registrations
            ::core::result::Result::Ok(#rt::typed::Service::new(registrations))
        }
    }
}

fn procedure(cx: &Cx<'_>, p: &Procedure) -> (TokenStream, TokenStream) {
    let rt = &cx.rt;
    let method = names::ident(&names::snake(&p.name.name));
    let uri_const = format_ident!("{}", names::constant(&p.name.name));
    let input = payload::input_site(p);
    let taken: Vec<String> = p
        .input
        .fields()
        .map(|f| names::snake(&f.name.name))
        .collect();
    // The context parameter and the service in `serve` take names no input has.
    let free = |candidates: &[&str]| {
        let name = candidates
            .iter()
            .find(|n| !taken.iter().any(|t| t == *n))
            .copied()
            .unwrap_or(candidates[candidates.len() - 1]);
        format_ident!("{}", name)
    };
    let ctx = free(&["ctx", "context", "invocation_context", "wamp_context"]);
    let service = free(&["service", "svc", "wamp_service"]);

    let progress_ty = match &p.progress {
        Some(_) => {
            let ident = progress_ident(p);
            quote!(#ident)
        }
        None => quote!(()),
    };
    let mut params = vec![quote!(#ctx: #rt::typed::Context<#progress_ty>)];
    let mut inputs = Vec::new();
    for f in p.input.fields() {
        let ident = names::ident(&names::snake(&f.name.name));
        let ty = if f.default.is_some() {
            cx.ty(f.ty.expr.strip_optional())
        } else {
            cx.ty(&f.ty.expr)
        };
        params.push(quote!(#ident: #ty));
        inputs.push(ident);
    }
    let result_ty = shape_type(cx, &result_shape(cx, p));
    let (error_ty, _) = error_type(cx, p);
    let mut docs = meta_docs(&p.meta);
    docs.extend(doc_attrs(Some(&format!("\nServes `{}`.", p.uri.name))));
    let many = params.len() > 7;
    let allow = many.then(|| quote!(#[allow(clippy::too_many_arguments)]));
    let method_tokens = quote! {
        #docs
        #allow
        fn #method(&self, #(#params),*) -> impl ::core::future::Future<Output = ::core::result::Result<#result_ty, #error_ty>> + ::core::marker::Send;
    };

    // The wire module's decoder gives the inputs in the method's order, defaults applied.
    let decode = if p.input.is_empty() {
        quote!(#rt::__private::decode_unit)
    } else {
        input.decode_path()
    };
    let progress = match payload::progress_site(p) {
        Some(site) => site.encode_path(),
        None => quote!(#rt::__private::encode_unit),
    };
    let (encode_result, _) = payload::result_codec(cx, p);
    let mut options = TokenStream::new();
    if let Some(invoke) = p.invoke {
        let policy = match invoke {
            Invoke::Single => quote!(Single),
            Invoke::RoundRobin => quote!(RoundRobin),
            Invoke::Random => quote!(Random),
            Invoke::First => quote!(First),
            Invoke::Last => quote!(Last),
        };
        options.extend(quote!(.invoke(#rt::protocol::InvokePolicy::#policy)));
    }
    if p.disclose_caller {
        options.extend(quote!(.disclose_caller(true)));
    }
    let registration = quote! {
        let registration = #rt::__private::register(
            session, uri::#uri_const, &service, #decode, #encode_result, #progress,
            |#service, #ctx, (#(#inputs,)*)| async move { #service.#method(#ctx, #(#inputs),*).await },
        )
        #options;
        registrations.push(registration.await?);
    };
    (method_tokens, registration)
}
