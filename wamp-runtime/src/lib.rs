#![doc = include_str!("../../README.md")]
//!
//! # Crate layout
//!
//! - [`protocol`]: every WAMP v2 message, the dynamic [`Value`], IDs, URIs, options. No IO.
//! - [`serializer`]: JSON, MessagePack and CBOR. No IO.
//! - [`transport`]: WebSocket and RawSocket (client and server halves, optionally over
//!   TLS) and an in-memory pair, all behind one `Stream + Sink` of messages.
//! - [`client`]: a session with the four roles, reconnection.
//! - [`router`]: the embedded router.
//! - [`auth`]: the authentication methods' computations and client credentials.
//!
//! # Feature flags
//!
//! - `test-util` (off): test doubles for code built on the runtime:
//!   `client::Invocation::for_test` makes an invocation without a session or router, and
//!   its `client::ProgressReceiver` collects the progressive results a handler sends.

pub mod auth;
pub mod client;
pub mod meta;
pub mod protocol;
pub mod router;
pub mod serializer;
pub mod transport;
pub mod typed;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
mod private_macros;

/// Includes the code `wamp_codegen::compile` wrote into `OUT_DIR` from `build.rs`: one
/// `pub mod` per contract.
///
/// ```ignore
/// wamp::include_contracts!();
/// // or, for a file written under another name:
/// wamp::include_contracts!("my_contracts.rs");
/// ```
#[macro_export]
macro_rules! include_contracts {
    () => {
        include!(concat!(env!("OUT_DIR"), "/wamp_contracts.rs"));
    };
    ($file:literal) => {
        include!(concat!(env!("OUT_DIR"), "/", $file));
    };
}

pub use client::{IntoUri, Session, SessionBuilder};
pub use protocol::{Binary, Dict, Id, List, Message, Payload, Uri, Value};
pub use serializer::Serializer;
/// Code-first contracts: a contract written in Rust (see `wamp_macros`).
pub use wamp_macros::{contract, procedure, service, topic, Error, Payload, Type};
