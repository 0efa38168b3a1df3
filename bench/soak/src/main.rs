//! `wamp-soak`: the chaos soak as a program. Prints the report's tables; exits 1 when an
//! invariant was violated, 2 when the soak could not be set up.
//!
//! ```text
//! cargo run --release -p wamp-soak -- --duration 600 --seed 1
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use wamp_soak::{run, SoakConfig};

#[derive(Parser)]
#[command(about = "Chaos soak of the WAMP runtime and its embedded router")]
struct Args {
    /// How long the faults go on, in seconds.
    #[arg(long, default_value_t = 600)]
    duration: u64,
    /// Seed for every random choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of clients (12 covers every transport x serializer x route mix).
    #[arg(long, default_value_t = 12)]
    clients: usize,
    /// Mean seconds between router restarts (default: a sixth of the run, 5 to 30 s).
    #[arg(long)]
    restart_every: Option<u64>,
    #[command(subcommand)]
    child: Option<Child>,
}

#[derive(Subcommand)]
enum Child {
    /// Internal: run the router under test (started by the soak itself).
    #[command(name = "router-child", hide = true)]
    RouterChild {
        /// Where the TLS certificate and key are.
        dir: PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(Child::RouterChild { dir }) = args.child {
        return match wamp_soak::router_process::serve_child(&dir).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("router child: {e}");
                ExitCode::from(2)
            }
        };
    }
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("cannot find this executable to start the router child: {e}");
            return ExitCode::from(2);
        }
    };
    let mut config = SoakConfig::new(Duration::from_secs(args.duration), exe);
    config.seed = args.seed;
    config.clients = args.clients;
    if let Some(every) = args.restart_every {
        config.restart_every = Duration::from_secs(every);
    }
    match run(config).await {
        Ok(report) => {
            println!("{report}");
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("soak could not run: {e}");
            ExitCode::from(2)
        }
    }
}
