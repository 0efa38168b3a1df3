//! Examples live in `examples/examples/`. This library holds the code generated (by
//! `build.rs`) from the contracts in `schemas/`, one module per contract, which the
//! examples and the end-to-end tests use.

wamp::include_contracts!();
