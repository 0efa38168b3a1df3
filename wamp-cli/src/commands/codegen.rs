//! `wamp codegen`: contracts to Rust, and contract checks. No network, no session.

use std::io::Write as _;

use crate::cli::{CheckArgs, CodegenCommand, ExportArgs, GenerateArgs};
use crate::exit::{Failure, USAGE};

/// Runs a codegen subcommand.
pub fn run(command: CodegenCommand) -> Result<(), Failure> {
    match command {
        CodegenCommand::Generate(args) => generate(args),
        CodegenCommand::Check(args) => check(args),
        CodegenCommand::Diff(args) => super::codegen_diff::run(args),
        CodegenCommand::JsonSchema(args) => export(args, wamp_codegen::export::json_schema),
        CodegenCommand::Asyncapi(args) => export(args, wamp_codegen::export::asyncapi),
    }
}

/// Prints the diagnostics; fails (exit 2) if any is an error.
fn report(loaded: &wamp_codegen::Loaded) -> Result<(), Failure> {
    eprint!("{}", loaded.report());
    if loaded.has_errors() {
        Err(Failure::quiet(USAGE))
    } else {
        Ok(())
    }
}

fn check(args: CheckArgs) -> Result<(), Failure> {
    report(&wamp_codegen::load(&args.files))
}

fn export(
    args: ExportArgs,
    make: fn(&wamp_codegen::model::Bundle) -> serde_json::Value,
) -> Result<(), Failure> {
    let loaded = wamp_codegen::load(&[&args.file]);
    report(&loaded)?;
    write(args.out.as_deref(), format!("{:#}\n", make(&loaded.bundle)))
}

fn generate(args: GenerateArgs) -> Result<(), Failure> {
    let loaded = wamp_codegen::load(&args.files);
    report(&loaded)?;
    let code = wamp_codegen::configure()
        .runtime_path(&args.runtime_path)
        .render(&loaded)
        .map_err(|e| Failure::usage(e.to_string()))?;
    write(args.out.as_deref(), code)
}

fn write(out: Option<&std::path::Path>, code: String) -> Result<(), Failure> {
    match out {
        Some(path) => std::fs::write(path, code)
            .map_err(|e| Failure::usage(format!("cannot write {}: {e}", path.display()))),
        None => std::io::stdout()
            .write_all(code.as_bytes())
            .map_err(|e| Failure::usage(format!("cannot write the code: {e}"))),
    }
}
