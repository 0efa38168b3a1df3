//! Expands the first `#[wamp::contract]` module (or `#[wamp::service]` trait) of a Rust
//! file as the macro would, and says how long it took (median of 5): the macro's own cost,
//! without compiling what it generates. Run it in the dev profile, as proc macros are.
//!
//! `cargo run -p wamp-codegen --example expand -- FILE [--print]`

use std::time::{Duration, Instant};

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let file = args.next().ok_or("usage: expand FILE [--print]")?;
    let print = args.next().as_deref() == Some("--print");
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{file}: {e}"))?;
    let env = wamp_codegen::rust::Env {
        runtime: "::wamp".into(),
        base_dir: std::env::current_dir().map_err(|e| e.to_string())?,
    };
    let mut times: Vec<Duration> = Vec::new();
    let mut tokens = None;
    for _ in 0..5 {
        let start = Instant::now();
        tokens = Some(wamp_codegen::rust::expand_file(&text, &env)?);
        times.push(start.elapsed());
    }
    times.sort();
    let tokens = tokens.ok_or("no expansion")?;
    if print {
        println!("{tokens}");
    }
    eprintln!(
        "{file}: expanded to {} bytes of tokens in {:.1} ms (median of 5)",
        tokens.to_string().len(),
        times[2].as_secs_f64() * 1000.0
    );
    Ok(())
}
