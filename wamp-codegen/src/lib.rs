//! Code generation for typed WAMP contracts.
//!
//! This crate will hold the one intermediate model of a contract, its two front ends
//! (TOML/JSON schema files and `#[wamp::service]` traits) and the one renderer. It is
//! empty until code generation lands; see the README's status table.
