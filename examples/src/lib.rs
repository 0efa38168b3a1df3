//! Examples live in `examples/examples/`. This library holds the code generated (by
//! `build.rs`) from the contracts in `schemas/`, one module per contract, which the
//! examples and the end-to-end tests use, and in [`code_first`] the calculator contract
//! written in Rust (`#[wamp::contract]`), which expands to the same code.

wamp::include_contracts!();

#[path = "../../schemas/rust/calculator.rs"]
pub mod code_first;
