//! Reconnection for the long-running commands (`subscribe`, `register`): the runtime has
//! none yet, so a lost session is replaced by a new one, with exponential backoff.

use std::future::Future;
use std::time::Duration;

use rand::Rng as _;
use tokio::sync::watch;
use wamp::client::{Error, SessionState, StandardError};
use wamp::Session;

use crate::connect::Target;
use crate::exit::Failure;

/// The first delay.
const INITIAL: Duration = Duration::from_millis(500);
/// The longest delay.
const MAX: Duration = Duration::from_secs(10);

/// Exponential backoff: 0.5 s doubling up to 10 s, each delay drawn uniformly from its
/// upper half (jitter, so that many clients do not come back in lockstep).
#[derive(Debug)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: INITIAL }
    }
}

impl Backoff {
    /// The delay before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(MAX);
        let millis = u64::try_from(base.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(millis / 2..=millis))
    }
}

/// Resolves when the session is over, with the reason.
pub async fn closed(state: &mut watch::Receiver<SessionState>) -> String {
    loop {
        {
            let current = state.borrow_and_update();
            match &*current {
                SessionState::Closed(reason) | SessionState::Disconnected(reason) => {
                    return reason.clone()
                }
                _ => {}
            }
        }
        if state.changed().await.is_err() {
            return "the session ended".into();
        }
    }
}

/// Whether setting up again (subscribing, registering) after a reconnection may succeed
/// on a later attempt. The router may not yet have dropped the old session's registration.
fn worth_retrying(error: &Error) -> bool {
    match error {
        Error::Wamp(_) => error.is(StandardError::ProcedureAlreadyExists),
        Error::NotConnected(_) | Error::Transport(_) | Error::Protocol(_) | Error::Timeout(_) => {
            true
        }
        _ => false,
    }
}

/// Connects again until it works and `setup` (subscribing, registering) succeeds on the new
/// session. Logs one line on stderr per attempt. Gives up only on errors that retrying
/// cannot fix (the router refusing the subscription or registration itself).
pub async fn reconnect<T, F, Fut>(target: &Target, mut setup: F) -> Result<(Session, T), Failure>
where
    F: FnMut(Session) -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let mut backoff = Backoff::default();
    let mut attempt: u64 = 0;
    let mut delay = backoff.next_delay();
    loop {
        tokio::time::sleep(delay).await;
        attempt += 1;
        delay = backoff.next_delay();
        let problem = match target.open().await {
            Ok(session) => match setup(session.clone()).await {
                Ok(value) => {
                    eprintln!("wamp: reconnected to {} (attempt {attempt})", target.url());
                    return Ok((session, value));
                }
                Err(e) if worth_retrying(&e) => {
                    let _ = tokio::time::timeout(Duration::from_secs(2), session.leave()).await;
                    e.to_string()
                }
                Err(e) => return Err(Failure::from_operation(e)),
            },
            Err(e) => target.describe(&e),
        };
        eprintln!(
            "wamp: reconnect attempt {attempt} failed: {}; next attempt in {:.1} s",
            crate::exit::one_line(&problem),
            delay.as_secs_f64()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_ten_seconds_with_jitter() {
        let mut b = Backoff::default();
        let delays: Vec<Duration> = (0..8).map(|_| b.next_delay()).collect();
        let bounds = [500u64, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000];
        for (d, max) in delays.iter().zip(bounds) {
            assert!(*d <= Duration::from_millis(max), "{d:?} > {max}");
            assert!(*d >= Duration::from_millis(max / 2), "{d:?} < {max}/2");
        }
    }
}
