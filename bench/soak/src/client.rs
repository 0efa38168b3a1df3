//! One soak client: callee, subscriber, caller and publisher at once, reconnecting on its
//! own, and watching that what it registered and subscribed comes back every time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;
use wamp::client::{Error, Registration, SessionState, Subscription};
use wamp::protocol::Id;
use wamp::{Serializer, Session, SessionBuilder};

use crate::checker::{procedure, topic, Checker};
use crate::stats::Stats;
use crate::SoakConfig;

/// How a client reaches the router.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Straight to the router: only router restarts hit it.
    Direct,
    /// Through a proxy that cuts connections at random moments.
    Cut,
    /// Through the fault proxy: delays, stalls, truncated frames and cuts.
    Faulty,
}

/// Who a client is and how it connects.
#[derive(Clone, Debug)]
pub struct ClientSpec {
    /// Its number: its procedure is `soak.proc.N`, its topic `soak.topic.N`.
    pub index: usize,
    /// Transport name for the report (`ws`, `rawsocket`, `wss`, `rawsocket+tls`).
    pub transport: &'static str,
    /// How it connects (to the router or to a proxy).
    pub builder: SessionBuilder,
    /// Its serializer.
    pub serializer: Serializer,
    /// Its route.
    pub route: Route,
}

/// The first positional argument of a probe event sent by the final check.
pub const PROBE: u64 = u64::MAX;

/// A client once it has joined, registered and subscribed.
pub struct Client {
    /// Its description.
    pub spec: ClientSpec,
    /// The session.
    pub session: Session,
    /// Set once the final check's probe event has arrived.
    pub probe_seen: Arc<AtomicBool>,
    /// Set before the client leaves on purpose, so that the end of its registration and
    /// subscription is not counted as a loss.
    pub leaving: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// What every client task shares.
#[derive(Clone)]
pub struct Shared {
    /// The counters.
    pub stats: Arc<Stats>,
    /// The timeouts.
    pub config: Arc<SoakConfig>,
    /// True while the workload runs (calls and publications); false for the final check.
    pub working: watch::Receiver<bool>,
    /// Reads the router's tables.
    pub checker: Checker,
    /// How many clients there are (call and publish targets).
    pub clients: usize,
}

/// Retries `attempt` until it succeeds or `limit` passes.
async fn retry<T, F, Fut>(limit: Duration, mut attempt: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::IntoFuture<Output = Result<T, Error>>,
{
    let deadline = Instant::now() + limit;
    loop {
        let result = match tokio::time::timeout(Duration::from_secs(15), attempt()).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout(Duration::from_secs(15))),
        };
        match result {
            Ok(value) => return Ok(value),
            Err(e) if Instant::now() > deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

impl Client {
    /// Connects, registers, subscribes (retrying through the faults), and starts the
    /// client's tasks.
    pub async fn start(spec: ClientSpec, shared: Shared, seed: u64) -> Result<Client, Error> {
        let limit = Duration::from_secs(60);
        let builder = spec.builder.clone();
        let session = retry(limit, || builder.connect()).await?;
        let index = spec.index;
        let stats = shared.stats.clone();
        let registration = retry(limit, || {
            let stats = stats.clone();
            session.register(procedure(index), move |inv| {
                let stats = stats.clone();
                async move {
                    Stats::bump(&stats.invocations);
                    // The caller says how long to take (a slow callee), else a few ms.
                    let pause = match inv.args::<(u64, u64, u64)>() {
                        Ok((_, _, ms)) if ms > 0 => ms,
                        _ => rand::random_range(0..20),
                    };
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                    Ok(inv.payload)
                }
            })
        })
        .await?;
        let subscription = retry(limit, || session.subscribe(topic(index))).await?;
        let probe_seen = Arc::new(AtomicBool::new(false));
        let leaving = Arc::new(AtomicBool::new(false));
        let mut rng = StdRng::seed_from_u64(seed);
        let tasks = vec![
            tokio::spawn(consume_events(
                subscription,
                index,
                shared.stats.clone(),
                probe_seen.clone(),
                leaving.clone(),
            )),
            tokio::spawn(watch_registration(
                registration,
                index,
                shared.stats.clone(),
                leaving.clone(),
            )),
            tokio::spawn(watch_reconnects(session.clone(), index, shared.clone())),
            tokio::spawn(call_loop(
                session.clone(),
                index,
                shared.clone(),
                StdRng::seed_from_u64(rng.random()),
            )),
            tokio::spawn(call_loop(
                session.clone(),
                index,
                shared.clone(),
                StdRng::seed_from_u64(rng.random()),
            )),
            tokio::spawn(publish_loop(
                session.clone(),
                index,
                shared.clone(),
                StdRng::seed_from_u64(rng.random()),
            )),
        ];
        Ok(Client {
            spec,
            session,
            probe_seen,
            leaving,
            tasks,
        })
    }

    /// Leaves the realm and stops the client's tasks.
    pub async fn leave(self) {
        self.leaving.store(true, Ordering::Relaxed);
        let _ = tokio::time::timeout(Duration::from_secs(10), self.session.leave()).await;
        for task in self.tasks {
            task.abort();
        }
    }
}

/// Counts events; a subscription that ends while the client is not leaving was lost.
async fn consume_events(
    mut subscription: Subscription,
    index: usize,
    stats: Arc<Stats>,
    probe_seen: Arc<AtomicBool>,
    leaving: Arc<AtomicBool>,
) {
    let ended = loop {
        match subscription.next().await {
            Some(Ok(event)) => {
                Stats::bump(&stats.events);
                match event.args::<(u64, u64)>() {
                    Ok((PROBE, n)) if n == index as u64 => {
                        probe_seen.store(true, Ordering::Relaxed)
                    }
                    Ok(_) => {}
                    Err(e) => {
                        stats.problem(format!("client {index}: an event arrived garbled: {e}"))
                    }
                }
            }
            Some(Err(e)) => break e.to_string(),
            None => break "the stream ended".to_owned(),
        }
    };
    if !leaving.load(Ordering::Relaxed) {
        stats.problem(format!("client {index}: its subscription ended: {ended}"));
    }
}

/// A registration that ends while the client is not leaving was lost.
async fn watch_registration(
    registration: Registration,
    index: usize,
    stats: Arc<Stats>,
    leaving: Arc<AtomicBool>,
) {
    let ended = registration.ended().await;
    if !leaving.load(Ordering::Relaxed) {
        stats.problem(format!("client {index}: its registration ended: {ended:?}"));
    }
}

/// Counts reconnects and checks, for each, that the router routes to the new session.
async fn watch_reconnects(session: Session, index: usize, shared: Shared) {
    let mut state = session.state();
    // By session ID, not by the states in between: a watch shows only the latest state,
    // and a quick reconnect can go from one Joined to the next between two looks.
    let mut last = session.id();
    loop {
        if state.changed().await.is_err() {
            return;
        }
        let now = state.borrow_and_update().clone();
        match now {
            SessionState::Joined(id) if id != last => {
                last = id;
                Stats::bump(&shared.stats.reconnects);
                tokio::spawn(verify_restore(session.clone(), index, id, shared.clone()));
            }
            SessionState::Closed(reason) => {
                if !reason.contains("left") {
                    shared
                        .stats
                        .problem(format!("client {index}: session closed: {reason}"));
                }
                return;
            }
            _ => {}
        }
    }
}

/// Polls the router's tables until they show session `id` as the callee of client
/// `index`'s procedure and a subscriber of its topic. Lost if the session stays joined
/// under `id` past the deadline without that.
async fn verify_restore(session: Session, index: usize, id: Id, shared: Shared) {
    let deadline = Instant::now() + shared.config.restore_deadline;
    let still_joined = || *session.state().borrow() == SessionState::Joined(id);
    loop {
        if !still_joined() {
            Stats::bump(&shared.stats.restores_superseded);
            return;
        }
        if let Ok(true) = shared.checker.restored(index, id).await {
            Stats::bump(&shared.stats.restores_verified);
            return;
        }
        if Instant::now() > deadline {
            if still_joined() {
                Stats::bump(&shared.stats.restores_lost);
                shared.stats.problem(format!(
                    "client {index}: joined as session {id} for {:?} but the router does not route its procedure and topic to it",
                    shared.config.restore_deadline
                ));
            } else {
                Stats::bump(&shared.stats.restores_superseded);
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Waits until the session is joined again (or `limit` passes), so that a disconnected
/// client does not spin on calls that fail at once.
async fn until_joined(session: &Session, limit: Duration) {
    let mut state = session.state();
    let _ = tokio::time::timeout(limit, async {
        while !matches!(*state.borrow_and_update(), SessionState::Joined(_)) {
            if state.changed().await.is_err() {
                return;
            }
        }
    })
    .await;
}

async fn call_loop(session: Session, index: usize, shared: Shared, mut rng: StdRng) {
    let timeout = shared.config.call_timeout;
    let limit = timeout + shared.config.hang_grace;
    let stats = &shared.stats;
    let mut seq: u64 = 0;
    while *shared.working.borrow() {
        if !session.is_connected() {
            until_joined(&session, Duration::from_secs(1)).await;
            continue;
        }
        seq += 1;
        let target = rng.random_range(0..shared.clients);
        // One call in twenty asks for a slow callee, often slower than the timeout: the
        // call must still resolve in time, and the router must cancel the invocation.
        let slow = if rng.random_bool(0.05) {
            rng.random_range(timeout.as_millis() as u64 / 2..timeout.as_millis() as u64 * 2)
        } else {
            0
        };
        let call = session
            .call(procedure(target))
            .args(&(index as u64, seq, slow))
            .timeout(timeout);
        let started = Instant::now();
        match tokio::time::timeout(limit, call).await {
            Err(_) => {
                Stats::bump(&stats.calls_hung);
                stats.problem(format!(
                    "client {index}: call {seq} to soak.proc.{target} unresolved after {:?}",
                    started.elapsed()
                ));
            }
            Ok(Ok(result)) => match result.args::<(u64, u64, u64)>() {
                Ok((i, s, _)) if i == index as u64 && s == seq => Stats::bump(&stats.calls_ok),
                other => {
                    Stats::bump(&stats.calls_errored);
                    stats.problem(format!(
                        "client {index}: call {seq} to soak.proc.{target} returned {other:?}"
                    ));
                }
            },
            Ok(Err(e)) => {
                Stats::bump(&stats.calls_errored);
                stats.error("call", &e);
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(5..50))).await;
    }
}

async fn publish_loop(session: Session, index: usize, shared: Shared, mut rng: StdRng) {
    let limit = shared.config.call_timeout + shared.config.hang_grace;
    let stats = &shared.stats;
    let mut seq: u64 = 0;
    while *shared.working.borrow() {
        if !session.is_connected() {
            until_joined(&session, Duration::from_secs(1)).await;
            continue;
        }
        seq += 1;
        let target = rng.random_range(0..shared.clients);
        let publish = session
            .publish(topic(target))
            .args(&(index as u64, seq))
            .acknowledge(rng.random_bool(0.5));
        match tokio::time::timeout(limit, publish).await {
            Err(_) => {
                Stats::bump(&stats.publishes_hung);
                stats.problem(format!(
                    "client {index}: publication {seq} to soak.topic.{target} unresolved after {limit:?}"
                ));
            }
            Ok(Ok(_)) => Stats::bump(&stats.publishes_ok),
            Ok(Err(e)) => {
                Stats::bump(&stats.publishes_errored);
                stats.error("publish", &e);
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(5..50))).await;
    }
}
