//! Examples live in `examples/examples/`. This library holds the code generated (by
//! `build.rs`) from the contracts in `schemas/`, one module per contract, which the
//! examples and the end-to-end tests use, and contracts written in Rust
//! (`#[wamp::contract]`, in `schemas/rust/`), which expand to the same code:
//! [`code_first::calculator`] and [`code_first_telemetry::telemetry`].

wamp::include_contracts!();

pub mod fixtures;

#[path = "../../schemas/rust/calculator.rs"]
pub mod code_first;

#[path = "../../schemas/rust/telemetry.rs"]
pub mod code_first_telemetry;
