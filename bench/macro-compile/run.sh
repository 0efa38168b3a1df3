#!/usr/bin/env bash
# What a #[wamp::contract] with N procedures (default 50) adds to `cargo build` (debug).
# Three variants of src/lib.rs, each built 3 times after touching it (dependencies are
# built once first, so only this crate is compiled):
#   empty  - `pub use wamp;`
#   file   - the same contract's code generated from contract.wamp.toml and include!d
#   macro  - the #[wamp::contract] module (contract.rs)
# macro - file is what the expansion itself costs; file - empty is what compiling the
# generated code costs, whichever way it was produced.
set -euo pipefail
cd "$(dirname "$0")"
N=${1:-50}
python3 gen.py "$N"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
# Full compiles of this crate: incremental reuse would hide the cost of the generated code.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
cargo run -q --manifest-path ../../Cargo.toml -p wamp-cli -- codegen generate contract.wamp.toml -o src/generated.rs
variant() {
  case $1 in
    empty) echo 'pub use wamp;' ;;
    file) printf '%s\n' '#![allow(missing_docs)]' 'include!("generated.rs");' ;;
    macro) printf '%s\n' '#![allow(missing_docs)]' 'include!("../contract.rs");' ;;
  esac > src/lib.rs
}
# The expansion alone, in the dev profile proc macros run in.
cargo run -q --manifest-path ../../Cargo.toml -p wamp-codegen --example expand -- contract.rs
variant empty
cargo build -q 2>/dev/null || cargo build
for v in empty file macro; do
  variant "$v"
  for i in 1 2 3; do
    touch src/lib.rs
    s=$(date +%s.%N)
    cargo build -q
    e=$(date +%s.%N)
    printf '%s %s %.2f\n' "$v" "$i" "$(echo "$e - $s" | bc)"
  done
done
variant empty
