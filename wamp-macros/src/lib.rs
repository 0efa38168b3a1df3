//! Attribute macros for typed WAMP contracts (`#[wamp::service]`, `#[wamp::procedure]`,
//! `#[wamp::topic]`).
//!
//! Nothing is exported yet: the macros are built on `wamp-codegen`, which lands after the
//! runtime, client and router. The crate exists so that the workspace layout is final.
