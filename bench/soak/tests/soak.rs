//! The chaos soak, 30 seconds of it, as part of the test suite: the same code as the
//! `wamp-soak` bench binary, asserting its invariants (nothing hung, nothing lost,
//! nothing left behind, no panic, memory flat), never its timings. The router runs in a
//! child process: this package's own `wamp-soak` binary.

use std::path::PathBuf;
use std::time::Duration;

use wamp_soak::{run, SoakConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_seconds_of_chaos_break_no_invariant() {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_wamp-soak"));
    let mut config = SoakConfig::new(Duration::from_secs(30), exe);
    config.seed = 30;
    let report = run(config).await.expect("the soak runs");
    println!("{report}");
    assert!(report.passed(), "violations: {:#?}", report.violations);
    // The soak did soak: the faults happened and the clients came back from them.
    assert!(report.router_restarts >= 2, "{report}");
    assert!(report.reconnects > 0, "{report}");
    assert!(report.restores_verified > 0, "{report}");
    assert!(report.calls_ok > 0 && report.events > 0, "{report}");
}
