//! What the soak counts, shared by every task.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use wamp::client::Error;

/// Counters; violations are counted and described in `problems`.
#[derive(Debug, Default)]
pub struct Stats {
    /// Calls answered with the expected result.
    pub calls_ok: AtomicU64,
    /// Calls that failed with an error (expected under faults: the connection was lost,
    /// the call timed out).
    pub calls_errored: AtomicU64,
    /// Calls that did not resolve within their timeout plus the grace: a violation.
    pub calls_hung: AtomicU64,
    /// Publications sent (acknowledged ones: acknowledged).
    pub publishes_ok: AtomicU64,
    /// Publications that failed.
    pub publishes_errored: AtomicU64,
    /// Publications whose future never resolved: a violation.
    pub publishes_hung: AtomicU64,
    /// Events received by subscribers.
    pub events: AtomicU64,
    /// Invocations served by callees.
    pub invocations: AtomicU64,
    /// Clients back in the realm after losing their connection.
    pub reconnects: AtomicU64,
    /// Reconnects after which the router's tables showed the client's registration and
    /// subscription under its new session.
    pub restores_verified: AtomicU64,
    /// Reconnects superseded by the next loss before they could be checked.
    pub restores_superseded: AtomicU64,
    /// Reconnects after which the client stayed joined but its registration or
    /// subscription never came back: a violation.
    pub restores_lost: AtomicU64,
    /// Router restarts.
    pub router_restarts: AtomicU64,
    /// Panics anywhere in the soak process: a violation.
    pub panics: AtomicU64,
    /// Why calls and publications failed, by kind.
    errors: Mutex<BTreeMap<String, u64>>,
    /// Every violation, described.
    problems: Mutex<Vec<String>>,
}

impl Stats {
    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Counts a failed call or publication by the kind of its error.
    pub fn error(&self, what: &str, e: &Error) {
        let kind = match e {
            Error::NotConnected(_) => "not connected".to_owned(),
            Error::Timeout(_) => "timeout (client side)".to_owned(),
            Error::Wamp(w) => w.uri.to_string(),
            Error::Transport(_) => "transport".to_owned(),
            other => format!("other: {other}"),
        };
        if let Ok(mut errors) = self.errors.lock() {
            *errors.entry(format!("{what}: {kind}")).or_default() += 1;
        }
    }

    /// Records a violation.
    pub fn problem(&self, what: impl Into<String>) {
        let what = what.into();
        eprintln!("soak violation: {what}");
        if let Ok(mut problems) = self.problems.lock() {
            problems.push(what);
        }
    }

    /// Failures by kind.
    pub fn errors(&self) -> BTreeMap<String, u64> {
        self.errors.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// Every violation so far.
    pub fn problems(&self) -> Vec<String> {
        self.problems.lock().map(|p| p.clone()).unwrap_or_default()
    }
}
