//! Generates typed code from the contracts in `schemas/` (see `src/lib.rs`).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    wamp_codegen::compile(&[
        "../schemas/calculator.wamp.toml",
        "../schemas/calculator_json.wamp.json",
        "../schemas/telemetry.wamp.toml",
        "../schemas/jobs.wamp.toml",
        "../schemas/wamp_meta.wamp.toml",
    ])?;
    Ok(())
}
