//! Compile tests of the macros (trybuild): `ui/pass` must compile, `ui/fail` must fail
//! with exactly the errors in the `.stderr` files beside them.
//!
//! After changing a message, regenerate the expected output and review the diff:
//!
//! ```sh
//! TRYBUILD=overwrite cargo test -p wamp-macros --test ui
//! git diff wamp-macros/tests/ui
//! ```
//!
//! The test crates depend on the runtime as `wamp_runtime` (see Cargo.toml), so every
//! pass test also checks that the macros find it under that name.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
