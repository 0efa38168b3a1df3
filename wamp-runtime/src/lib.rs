#![doc = include_str!("../../README.md")]
//!
//! # Crate layout
//!
//! - [`protocol`]: every WAMP v2 message, the dynamic [`Value`], IDs, URIs, options. No IO.
//! - [`serializer`]: JSON, MessagePack and CBOR. No IO.
//! - [`transport`]: WebSocket and RawSocket (client and server halves, optionally over
//!   TLS) and an in-memory pair, all behind one `Stream + Sink` of messages.

pub mod auth;
pub mod client;
pub mod protocol;
pub mod router;
pub mod serializer;
pub mod transport;

pub use client::{IntoUri, Session, SessionBuilder};
pub use protocol::{Binary, Dict, Id, List, Message, Payload, Uri, Value};
pub use serializer::Serializer;
