//! Reconnection for the long-running commands (`subscribe`, `register`): the runtime's own
//! (`SessionBuilder::reconnect`), with the CLI's backoff and one line on stderr for each
//! step, read from the session's state.

use std::time::Duration;

use tokio::sync::watch;
use wamp::client::{ReconnectPolicy, SessionState};
use wamp::Session;

use crate::exit::one_line;

/// Exponential backoff: 0.5 s doubling up to 10 s, each delay randomized by up to a
/// quarter either way (jitter, so that many clients do not come back in lockstep); never
/// gives up.
pub fn policy() -> ReconnectPolicy {
    ReconnectPolicy {
        initial_delay: Duration::from_millis(500),
        max_delay: Duration::from_secs(10),
        multiplier: 2.0,
        jitter: 0.25,
        max_attempts: None,
    }
}

/// Reports a session's reconnections on stderr as its state changes:
/// `wamp: connection lost (WHY); reconnecting to URL`, one line per failed attempt, and
/// `wamp: reconnected to URL`.
#[derive(Debug)]
pub struct Reporter {
    state: watch::Receiver<SessionState>,
    url: String,
    lost: bool,
    /// The state channel is closed: the session is over (its handles say why).
    done: bool,
}

impl Reporter {
    /// Starts watching `session` (its current state is taken as seen).
    pub fn new(session: &Session, url: &str) -> Self {
        let mut state = session.state();
        state.borrow_and_update();
        Reporter {
            state,
            url: url.to_owned(),
            lost: false,
            done: false,
        }
    }

    /// Waits for the next change of state and reports it. Cancel-safe; once the session is
    /// over it never resolves.
    pub async fn next(&mut self) {
        if self.done || self.state.changed().await.is_err() {
            self.done = true;
            return std::future::pending().await;
        }
        let state = self.state.borrow_and_update().clone();
        if let Some(line) = self.line(&state) {
            eprintln!("wamp: {line}");
        }
    }

    /// What to say about reaching `state`.
    fn line(&mut self, state: &SessionState) -> Option<String> {
        match state {
            SessionState::Joined(_) if self.lost => {
                self.lost = false;
                Some(format!("reconnected to {}", self.url))
            }
            SessionState::Disconnected(reason) if !self.lost => {
                self.lost = true;
                Some(format!(
                    "connection lost ({}); reconnecting to {}",
                    one_line(reason),
                    self.url
                ))
            }
            SessionState::Reconnecting(_) if !self.lost => {
                self.lost = true;
                Some(format!("connection lost; reconnecting to {}", self.url))
            }
            // The runtime says which attempt failed and why.
            SessionState::Disconnected(reason) => Some(one_line(reason)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wamp::protocol::Id;

    #[test]
    fn backoff_doubles_to_ten_seconds_with_jitter() {
        let p = policy();
        let bounds = [500u64, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000];
        for (attempt, base) in (1..).zip(bounds) {
            for _ in 0..20 {
                let d = p.delay(attempt);
                assert!(
                    d <= Duration::from_millis(base * 5 / 4),
                    "{d:?} > 1.25 × {base}"
                );
                assert!(
                    d >= Duration::from_millis(base * 3 / 4),
                    "{d:?} < 0.75 × {base}"
                );
            }
        }
        assert_eq!(p.max_attempts, None, "never gives up");
    }

    #[test]
    fn one_line_per_step() {
        let (_tx, rx) = watch::channel(SessionState::Joined(Id::MIN));
        let mut r = Reporter {
            state: rx,
            url: "ws://h/ws".into(),
            lost: false,
            done: false,
        };
        let joined = SessionState::Joined(Id::MAX);
        assert_eq!(r.line(&joined), None);
        assert_eq!(
            r.line(&SessionState::Disconnected("connection lost: reset".into()))
                .as_deref(),
            Some("connection lost (connection lost: reset); reconnecting to ws://h/ws")
        );
        assert_eq!(r.line(&SessionState::Reconnecting(1)), None);
        assert_eq!(
            r.line(&SessionState::Disconnected(
                "reconnection attempt 1 failed: refused".into()
            ))
            .as_deref(),
            Some("reconnection attempt 1 failed: refused")
        );
        assert_eq!(r.line(&joined).as_deref(), Some("reconnected to ws://h/ws"));
        // A loss seen only as an attempt under way (the watch keeps the latest state).
        assert_eq!(
            r.line(&SessionState::Reconnecting(1)).as_deref(),
            Some("connection lost; reconnecting to ws://h/ws")
        );
    }
}
