//! Reads the router's tables through its meta API, to see with the router's own eyes
//! whether a client's registration and subscription are back after a reconnect.
//!
//! A client believing it is restored is not enough: the point is that the router routes
//! to it again. The checker is one more session, connected directly (no fault proxy) and
//! reconnecting like the others when the router restarts.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use wamp::client::Error;
use wamp::protocol::Id;
use wamp::Session;

/// The procedure client `index` registers.
pub fn procedure(index: usize) -> String {
    format!("soak.proc.{index}")
}

/// The topic client `index` subscribes to.
pub fn topic(index: usize) -> String {
    format!("soak.topic.{index}")
}

/// A session that asks the router about its tables.
#[derive(Clone)]
pub struct Checker {
    session: Session,
}

const META_TIMEOUT: Duration = Duration::from_secs(5);

impl Checker {
    /// Wraps a joined session.
    pub fn new(session: Session) -> Self {
        Checker { session }
    }

    /// The session itself.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Calls a meta procedure with one argument; its first result.
    async fn meta<T: DeserializeOwned>(
        &self,
        procedure: &str,
        arg: impl Serialize,
    ) -> Result<T, Error> {
        let result = self
            .session
            .call(procedure)
            .args(&(arg,))
            .timeout(META_TIMEOUT)
            .await?;
        Ok(result.args::<(T,)>()?.0)
    }

    /// Whether session `session` is, per the router, the callee of client `index`'s
    /// procedure and a subscriber of its topic.
    pub async fn restored(&self, index: usize, session: Id) -> Result<bool, Error> {
        let id = session.get();
        let Some(reg) = self
            .meta::<Option<u64>>("wamp.registration.lookup", procedure(index))
            .await?
        else {
            return Ok(false);
        };
        let callees = self
            .meta::<Vec<u64>>("wamp.registration.list_callees", reg)
            .await?;
        if !callees.contains(&id) {
            return Ok(false);
        }
        let Some(sub) = self
            .meta::<Option<u64>>("wamp.subscription.lookup", topic(index))
            .await?
        else {
            return Ok(false);
        };
        let subscribers = self
            .meta::<Vec<u64>>("wamp.subscription.list_subscribers", sub)
            .await?;
        Ok(subscribers.contains(&id))
    }

    /// How many sessions serve client `index`'s procedure and are subscribed to its
    /// topic (exactly one each when nothing is lost or left behind).
    pub async fn holders(&self, index: usize) -> Result<(u64, u64), Error> {
        let callees = match self
            .meta::<Option<u64>>("wamp.registration.lookup", procedure(index))
            .await?
        {
            Some(reg) => {
                self.meta::<u64>("wamp.registration.count_callees", reg)
                    .await?
            }
            None => 0,
        };
        let subscribers = match self
            .meta::<Option<u64>>("wamp.subscription.lookup", topic(index))
            .await?
        {
            Some(sub) => {
                self.meta::<u64>("wamp.subscription.count_subscribers", sub)
                    .await?
            }
            None => 0,
        };
        Ok((callees, subscribers))
    }

    /// Registrations and subscriptions (exact match) in the realm, and joined sessions.
    pub async fn totals(&self) -> Result<(usize, usize, u64), Error> {
        let count = |list: wamp::client::CallResult| -> Result<usize, Error> {
            let (tables,): (std::collections::HashMap<String, Vec<u64>>,) = list.args()?;
            Ok(tables.values().map(Vec::len).sum())
        };
        let regs = count(
            self.session
                .call("wamp.registration.list")
                .timeout(META_TIMEOUT)
                .await?,
        )?;
        let subs = count(
            self.session
                .call("wamp.subscription.list")
                .timeout(META_TIMEOUT)
                .await?,
        )?;
        let (sessions,): (u64,) = self
            .session
            .call("wamp.session.count")
            .timeout(META_TIMEOUT)
            .await?
            .args()?;
        Ok((regs, subs, sessions))
    }
}
