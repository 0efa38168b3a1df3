//! Slows refused logins down, so that guessing credentials costs time.
//!
//! Two budgets, both in [`Limits`](super::Limits):
//!
//! - **Per authid:** the ABORT for a failed authentication is sent only after a delay
//!   that starts at `login_failure_delay` and doubles with each further failure of the
//!   same authid in the same realm, up to `login_failure_delay_max`. A successful login of
//!   that authid, or a quiet spell of twice the maximum delay, forgets its failures.
//! - **Per connection:** a connection gets at most `login_failures_per_connection` failed
//!   HELLOs; after the last ABORT it is closed (WebSocket 1008).
//!
//! Rules that keep it sound:
//!
//! - Only failures are delayed: a correct login (of this authid or any other) is never
//!   slowed, so an attacker cannot lock a user out, only make guessing slow.
//! - The table is bounded: authids that are not configured users share one entry per
//!   realm, so random authids cannot grow it. It holds at most one entry per configured
//!   user plus one per realm.
//! - Waiting happens in the connection's own task, after the lock is released: one
//!   attacker's delays never hold up anyone else's handshake.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// The failure counts of recent logins, per realm and authid.
pub(crate) struct LoginGuard {
    base: Duration,
    max: Duration,
    failures: Mutex<HashMap<(String, String), Failures>>,
}

struct Failures {
    count: u32,
    last: Instant,
}

impl LoginGuard {
    /// A guard with the delay settings of the router's limits.
    pub(crate) fn new(base: Duration, max: Duration) -> Self {
        LoginGuard {
            base,
            max: max.max(base),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Records a failed login and returns how long to wait before answering it. `authid`
    /// is `None` for logins without one or with one the realm does not know.
    pub(crate) fn failed(&self, realm: &str, authid: Option<&str>) -> Duration {
        if self.base.is_zero() {
            return Duration::ZERO;
        }
        let now = Instant::now();
        let key = (realm.to_owned(), authid.unwrap_or_default().to_owned());
        let mut table = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let entry = table.entry(key).or_insert(Failures {
            count: 0,
            last: now,
        });
        if now.duration_since(entry.last) > self.max * 2 {
            entry.count = 0;
        }
        entry.last = now;
        let doublings = entry.count.min(31);
        entry.count = entry.count.saturating_add(1);
        self.base
            .checked_mul(1u32 << doublings)
            .map_or(self.max, |d| d.min(self.max))
    }

    /// Forgets the failures of an authid that just logged in.
    pub(crate) fn succeeded(&self, realm: &str, authid: &str) {
        let mut table = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        table.remove(&(realm.to_owned(), authid.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn delays_double_per_authid_up_to_the_cap_and_are_forgotten() {
        let ms = Duration::from_millis;
        let guard = LoginGuard::new(ms(100), ms(1000));
        let delays: Vec<_> = (0..6).map(|_| guard.failed("r", Some("alice"))).collect();
        assert_eq!(
            delays,
            [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
        );
        // Another authid, another realm: their own counts.
        assert_eq!(guard.failed("r", Some("bob")), ms(100));
        assert_eq!(guard.failed("other", Some("alice")), ms(100));
        // A success forgets; so does a quiet spell of twice the cap.
        guard.succeeded("r", "alice");
        assert_eq!(guard.failed("r", Some("alice")), ms(100));
        assert_eq!(guard.failed("r", Some("bob")), ms(200));
        tokio::time::advance(ms(2001)).await;
        assert_eq!(guard.failed("r", Some("bob")), ms(100));
        // Unknown authids share one entry; no delay configured means none.
        assert_eq!(guard.failed("r", None), ms(100));
        assert_eq!(guard.failed("r", None), ms(200));
        let off = LoginGuard::new(Duration::ZERO, ms(1000));
        assert_eq!(off.failed("r", Some("alice")), Duration::ZERO);
    }
}
