//! Code-first WAMP contracts: a contract written in Rust instead of a `.wamp.toml` file.
//!
//! Use them through the runtime (`#[wamp::contract]`, `#[wamp::service]`, ...): it
//! re-exports them. This crate is a thin shell: it finds the runtime's name in the
//! calling crate's manifest and hands the tokens to `wamp_codegen::rust::expand`, which
//! reads them into the contract model, validates it and renders it with the renderer
//! `wamp codegen` uses, so a contract written in Rust and the same contract written as a
//! file generate the same code.
//!
//! ```ignore
//! #[wamp::contract(version = "2.1.0", prefix = "com.example.calc")]
//! pub mod calculator {
//!     /// The divisor was zero.
//!     #[derive(wamp::Error)]
//!     #[wamp(uri = ".error.divide_by_zero")]
//!     pub struct DivideByZero {
//!         #[kwarg]
//!         pub dividend: f64,
//!     }
//!
//!     #[derive(wamp::Payload)]
//!     pub struct DivideProgress {
//!         #[kwarg]
//!         pub done: u64,
//!         #[kwarg]
//!         pub total: u64,
//!     }
//!
//!     pub trait Calculator {
//!         /// Adds two numbers.
//!         #[wamp::procedure(result = "sum")]
//!         async fn add(&self, a: f64, b: f64) -> f64;
//!
//!         /// Divides a by b.
//!         #[wamp::procedure(result = "quotient", errors(DivideByZero), timeout_ms = 5000, cancel = "kill")]
//!         async fn divide(
//!             &self,
//!             ctx: Context<DivideProgress>,
//!             a: f64,
//!             b: f64,
//!             #[kwarg(default = 6, since = "2.1.0")] precision: Option<u32>,
//!         ) -> f64;
//!
//!         /// One sample of one metric of one device.
//!         #[wamp::topic(uri = ".telemetry.{device}.{metric}")]
//!         fn telemetry(&self, device: String, metric: String, #[kwarg] value: f64);
//!     }
//! }
//! ```
//!
//! expands to exactly what `wamp codegen` generates from the equivalent contract file
//! (`pub mod calculator` with `CalculatorClient`, the callee trait `Calculator` whose
//! methods take a `wamp::typed::Context`, `serve`, the error and payload types, typed
//! publishers and subscriptions), plus `calculator_contract()`, the contract as
//! `.wamp.toml` files. `schemas/README.md` describes the contract format and
//! `schemas/rust/` holds contracts written both ways.

use proc_macro::TokenStream;
use proc_macro_crate::{crate_name, FoundCrate};
use quote::quote;
use wamp_codegen::rust::{expand, Entry, Env};

/// A contract: the module holds the service trait and the contract's types
/// (`#[derive(wamp::Type)]`), errors (`#[derive(wamp::Error)]`) and result or progress
/// payloads (`#[derive(wamp::Payload)]`); it is replaced by the generated module of the
/// same name.
///
/// Arguments: `version = "1.0.0"` (required), `prefix = "com.example"` (relative URIs
/// starting with `.` are under it), `name = "..."` (default: the module's name),
/// `imports(geo = "../schemas/geo.wamp.toml")` (contract files, relative to the crate's
/// manifest directory; their types are `geo::Point` and the generated code refers to
/// `super::geo`), `file = "..."` (the file name the contract is exported as, default
/// `NAME.wamp.toml`), `crate = "::path"` (the runtime's path, default: found in
/// `Cargo.toml`).
#[proc_macro_attribute]
pub fn contract(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand(Entry::Contract, attr.into(), item.into(), &env()).into()
}

/// A service trait. Inside a `#[wamp::contract]` module it marks the trait (and takes
/// no arguments); on a trait alone it is the whole contract (types are then scalars or
/// imported), with the arguments of `#[wamp::contract]` (`name` defaults to the trait's
/// name in snake case).
#[proc_macro_attribute]
pub fn service(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand(Entry::Service, attr.into(), item.into(), &env()).into()
}

/// A procedure of a service trait: `async fn name(&self, [ctx: Context<NameProgress>,]
/// positional args..., #[kwarg] keyword args...) -> Result`.
///
/// Keys: `uri` (default `.NAME`), `result = "sum"` (the name of a single returned value),
/// `errors(DivideByZero, geo::NoSuchRegion)`, `timeout_ms`, `invoke` (`"roundrobin"`,
/// ...), `cancel` (`"kill"`, ...), `disclose_caller`, `since`, `name`. Only meaningful
/// inside a `#[wamp::service]` trait, which reads it.
#[proc_macro_attribute]
pub fn procedure(_attr: TokenStream, item: TokenStream) -> TokenStream {
    outside("#[wamp::procedure]", item)
}

/// A topic of a service trait: `fn name(&self, captures..., positional args..., #[kwarg]
/// keyword args...)`; parameters named like a `{capture}` of the URI are captures.
///
/// Keys: `uri` (default `.NAME`), `retain`, `since`, `name`. Only meaningful inside a
/// `#[wamp::service]` trait, which reads it.
#[proc_macro_attribute]
pub fn topic(_attr: TokenStream, item: TokenStream) -> TokenStream {
    outside("#[wamp::topic]", item)
}

/// Declares a type of a `#[wamp::contract]` module: a struct (a dict), an enum of unit
/// variants (a string enum; `#[wamp(open)]` keeps unknown values; `#[wamp(value =
/// "...")]` on a variant gives its wire value, default the variant's name in snake case)
/// or of one-struct variants (a tagged union, `#[wamp(tag = "kind")]`). Fields take
/// `#[wamp(name = "...", since = "...", default = ...)]`.
#[proc_macro_derive(Type, attributes(wamp, kwarg))]
pub fn derive_type(_item: TokenStream) -> TokenStream {
    outside_derive("wamp::Type")
}

/// Declares an error of a `#[wamp::contract]` module: `#[wamp(uri = ".error.name")]`;
/// its fields are the error's payload (positional, then `#[kwarg]` ones).
#[proc_macro_derive(Error, attributes(wamp, kwarg))]
pub fn derive_error(_item: TokenStream) -> TokenStream {
    outside_derive("wamp::Error")
}

/// Declares the result (`NameResult`) or the progress (`NameProgress`) of a procedure
/// in a `#[wamp::contract]` module: positional fields, then `#[kwarg]` ones.
#[proc_macro_derive(Payload, attributes(wamp, kwarg))]
pub fn derive_payload(_item: TokenStream) -> TokenStream {
    outside_derive("wamp::Payload")
}

/// The codecs of one payload of generated code, from its layout struct (the `wire`
/// module of a contract). For `wamp-codegen`'s output only: see
/// `wamp_codegen::wire_derive`.
#[doc(hidden)]
#[proc_macro_derive(Wire, attributes(wire))]
pub fn derive_wire(item: TokenStream) -> TokenStream {
    wamp_codegen::wire_derive::derive_wire(item.into()).into()
}

fn outside(what: &str, item: TokenStream) -> TokenStream {
    let msg = format!("{what} is read by the #[wamp::service] trait (or #[wamp::contract] module) around it; it does nothing on its own");
    let item = proc_macro2::TokenStream::from(item);
    quote!(::core::compile_error!(#msg); #item).into()
}

fn outside_derive(what: &str) -> TokenStream {
    let msg = format!("#[derive({what})] declares part of a contract: put the item inside a #[wamp::contract] module");
    quote!(::core::compile_error!(#msg);).into()
}

/// The runtime's path in the calling crate, and its manifest directory.
fn env() -> Env {
    let base_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_default();
    Env {
        runtime: runtime_path(&base_dir),
        base_dir,
    }
}

/// `::wamp` for `wamp = { package = "wamp-runtime" }` (the README's way) and for an
/// unrenamed `wamp-runtime` (its library is named `wamp`), `::other` for
/// `other = { package = "wamp-runtime" }`, `crate` inside the runtime itself.
fn runtime_path(base_dir: &std::path::Path) -> String {
    match crate_name("wamp-runtime") {
        Ok(FoundCrate::Itself) => "crate".into(),
        Ok(FoundCrate::Name(name)) => {
            // proc-macro-crate names an unrenamed dependency after the package
            // (`wamp_runtime`), but the library is called `wamp`: only a `package = ` key
            // makes the dependency's key its name.
            if name == "wamp_runtime" && !renamed(base_dir) {
                "::wamp".into()
            } else {
                format!("::{name}")
            }
        }
        Err(_) => "::wamp".into(),
    }
}

/// Whether the manifest declares the runtime under a key with `package = "wamp-runtime"`
/// (a rename) rather than as `wamp-runtime` itself.
fn renamed(base_dir: &std::path::Path) -> bool {
    std::fs::read_to_string(base_dir.join("Cargo.toml"))
        .map(|text| wamp_codegen::rust::renames_runtime(&text))
        .unwrap_or(false)
}
