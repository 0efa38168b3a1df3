//! Automatic reconnection: the policy users choose, and what the driver needs to act on it.

use std::sync::Arc;
use std::time::Duration;

use super::error::Error;
use crate::protocol::Welcome;
use crate::transport::Transport;

/// When and how often to reconnect after the connection is lost: exponential backoff
/// with jitter.
#[derive(Clone, Debug)]
pub struct ReconnectPolicy {
    /// Delay before the first attempt (default 500 ms).
    pub initial_delay: Duration,
    /// Upper bound for the delay (default 30 s).
    pub max_delay: Duration,
    /// Growth factor per attempt (default 2).
    pub multiplier: f64,
    /// Randomize each delay by up to this fraction either way (default 0.25), so that
    /// many clients do not reconnect in lockstep.
    pub jitter: f64,
    /// Give up after this many attempts in a row (default: never).
    pub max_attempts: Option<u32>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            multiplier: 2.0,
            jitter: 0.25,
            max_attempts: None,
        }
    }
}

impl ReconnectPolicy {
    /// The delay before attempt number `attempt` (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .multiplier
            .max(1.0)
            .powi(attempt.saturating_sub(1).min(64) as i32);
        let base = (self.initial_delay.as_secs_f64() * exp).min(self.max_delay.as_secs_f64());
        let jitter = self.jitter.clamp(0.0, 1.0);
        let factor = 1.0 + jitter * (rand::random::<f64>() * 2.0 - 1.0);
        Duration::from_secs_f64((base * factor).max(0.0))
    }
}

/// Opens a new transport and joins again, for automatic reconnection.
pub(crate) type Connector = Arc<
    dyn Fn() -> futures_util::future::BoxFuture<'static, Result<(Transport, Welcome), Error>>
        + Send
        + Sync,
>;

/// Automatic reconnection: how to reconnect and how long to wait between attempts.
pub(crate) struct Reconnect {
    pub(crate) connect: Connector,
    pub(crate) policy: ReconnectPolicy,
}
