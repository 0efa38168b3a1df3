//! Chaos soak: clients of every role, over every transport and serializer, on the
//! embedded router while the router restarts, connections are cut and a fault proxy
//! delays, stalls and truncates traffic; then checks that nothing hung, nothing was lost
//! and memory stayed flat.
//!
//! Interop tests show that each feature works once; the soak shows that the runtime's
//! recovery (reconnect, restore, timeouts, session cleanup in the router) holds up when
//! failures keep coming, in every order, for minutes. It is a bench binary
//! (`cargo run --release -p wamp-soak -- --duration 600`) printing a table, and a 30 s
//! integration test that asserts the same invariants (never timings).
//!
//! The invariants:
//! - every call and every publication resolves (result or error) within its timeout plus
//!   a grace period: 0 hung;
//! - after every reconnect the router routes the client's procedure and topic to its new
//!   session (read from the router's own tables through the meta API), unless the
//!   connection was lost again before that could be seen: 0 lost; no registration or
//!   subscription ends on its own;
//! - at the end, with the faults off, every client's procedure answers and its topic
//!   delivers, the router holds exactly one registration and one subscription per client
//!   and one session per client (nothing left behind by the sessions that went away), and
//!   none once they have left;
//! - no panic in either process;
//! - the resident memory of the clients' process and of the router's process is flat:
//!   the end of the run is within 25 % plus a slack of the settled start.

pub mod checker;
pub mod client;
mod pki;
pub mod proxy;
mod report;
pub mod router_process;
pub mod rss;
pub mod stats;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;
use wamp::client::{ReconnectPolicy, SessionState};
use wamp::transport::tls::TlsClientConfig;
use wamp::{Id, Serializer, Session, SessionBuilder};

use checker::{procedure, topic, Checker};
use client::{Client, ClientSpec, Route, PROBE};
use proxy::{FaultCounts, FaultProfile, FaultProxy};
pub use report::Report;
use router_process::{RouterProcess, REALM};
use rss::{Sample, Trend};
use stats::Stats;

/// What to run and how hard.
#[derive(Clone, Debug)]
pub struct SoakConfig {
    /// How long the faults go on (the final check comes after).
    pub duration: Duration,
    /// Seeds every random choice (fault decisions, targets, pauses). Timing still varies
    /// from run to run: the seed makes runs alike, not identical.
    pub seed: u64,
    /// Clients (each one callee, subscriber, caller and publisher). With 12, every
    /// transport, serializer and route occurs, and every transport with every route.
    pub clients: usize,
    /// The timeout of each call.
    pub call_timeout: Duration,
    /// How much longer than its timeout a call may take to resolve before it counts as
    /// hung (the machine may be loaded: generous).
    pub hang_grace: Duration,
    /// Mean time between router restarts.
    pub restart_every: Duration,
    /// Mean lifetime of a connection through a proxy before it is cut.
    pub cut_after_mean: Duration,
    /// How long after a reconnect the router must route to the new session.
    pub restore_deadline: Duration,
    /// Allowed growth of resident memory beyond 25 % of the settled start.
    pub memory_slack: u64,
    /// This executable's path, or any executable that runs the router child when given
    /// `router-child DIR` (see [`router_process`]).
    pub router_exe: PathBuf,
}

impl SoakConfig {
    /// Defaults for a run of `duration`: a router restart every sixth of the run (at
    /// least every 30 s), proxied connections cut after 5 s on average.
    pub fn new(duration: Duration, router_exe: PathBuf) -> Self {
        SoakConfig {
            duration,
            seed: 1,
            clients: 12,
            call_timeout: Duration::from_secs(5),
            hang_grace: Duration::from_secs(20),
            restart_every: (duration / 6).clamp(Duration::from_secs(5), Duration::from_secs(30)),
            cut_after_mean: Duration::from_secs(5),
            restore_deadline: Duration::from_secs(30),
            memory_slack: 16 * 1024 * 1024,
            router_exe,
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const TRANSPORTS: [&str; 4] = ["websocket", "rawsocket", "websocket+tls", "rawsocket+tls"];
const SERIALIZERS: [Serializer; 3] = [Serializer::Json, Serializer::MsgPack, Serializer::Cbor];
const ROUTES: [Route; 3] = [Route::Direct, Route::Cut, Route::Faulty];

/// Runs the soak. `Err` only when it could not be set up; violations are in the report.
pub async fn run(config: SoakConfig) -> Result<Report, BoxError> {
    let config = Arc::new(config);
    let stats = Arc::new(Stats::default());
    count_panics(stats.clone());
    let dir =
        std::env::temp_dir().join(format!("wamp-soak-{}-{}", std::process::id(), config.seed));
    let ca = pki::write_server_files(&dir).map_err(|e| e.to_string())?;
    let router = RouterProcess::spawn(&config.router_exe, &dir).await?;
    let router_pid = router.pid();
    let urls = router.urls();
    let listeners = router.listeners();
    let upstreams = [
        listeners.websocket,
        listeners.rawsocket,
        listeners.websocket_tls,
        listeners.rawsocket_tls,
    ];
    let cut_counts = Arc::new(FaultCounts::default());
    let fault_counts = Arc::new(FaultCounts::default());
    let mut seeds = StdRng::seed_from_u64(config.seed);
    let mut cut_proxies = Vec::new();
    let mut fault_proxies = Vec::new();
    for upstream in upstreams {
        cut_proxies.push(
            FaultProxy::start(
                upstream,
                FaultProfile::cutting(config.cut_after_mean),
                seeds.random(),
                cut_counts.clone(),
            )
            .await?,
        );
        fault_proxies.push(
            FaultProxy::start(
                upstream,
                FaultProfile::hostile(config.cut_after_mean * 2),
                seeds.random(),
                fault_counts.clone(),
            )
            .await?,
        );
    }
    let tls = TlsClientConfig::new()
        .without_web_roots()
        .add_ca_certificates([ca]);
    let builder = |url: String, serializer: Serializer| -> SessionBuilder {
        Session::builder(url)
            .realm(REALM)
            .serializer(serializer)
            .tls(tls.clone())
            .connect_timeout(Duration::from_secs(5))
            .keepalive(Duration::from_secs(2), Duration::from_secs(4), true)
            .reconnect(ReconnectPolicy {
                initial_delay: Duration::from_millis(100),
                max_delay: Duration::from_secs(2),
                ..Default::default()
            })
    };

    let checker = Checker::new(
        builder(urls[1].0.clone(), Serializer::MsgPack)
            .connect()
            .await?,
    );
    let (working_tx, working) = watch::channel(true);
    let shared = client::Shared {
        stats: stats.clone(),
        config: config.clone(),
        working,
        checker: checker.clone(),
        clients: config.clients,
    };
    let mut starting = Vec::new();
    for index in 0..config.clients {
        let t = index % 4;
        let route = ROUTES[(index / 4) % 3];
        let serializer = SERIALIZERS[index % 3];
        let url = match route {
            Route::Direct => urls[t].0.clone(),
            Route::Cut => proxied_url(t, cut_proxies[t].addr()),
            Route::Faulty => proxied_url(t, fault_proxies[t].addr()),
        };
        let spec = ClientSpec {
            index,
            transport: TRANSPORTS[t],
            builder: builder(url, serializer),
            serializer,
            route,
        };
        starting.push(tokio::spawn(Client::start(
            spec,
            shared.clone(),
            seeds.random(),
        )));
    }
    let mut clients = Vec::new();
    for (index, started) in starting.into_iter().enumerate() {
        match started.await {
            Ok(Ok(client)) => clients.push(client),
            Ok(Err(e)) => return Err(format!("client {index} could not start: {e}").into()),
            Err(e) => return Err(format!("client {index} could not start: {e}").into()),
        }
    }

    // The chaos: restarts and memory samples while the workload and the proxies run.
    let router = Arc::new(tokio::sync::Mutex::new(router));
    let (chaos_tx, chaos) = watch::channel(true);
    let started = Instant::now();
    let restarts = tokio::spawn(restart_router(
        router.clone(),
        config.clone(),
        stats.clone(),
        chaos.clone(),
        seeds.random(),
    ));
    let samples = Arc::new(Mutex::new(Vec::new()));
    let sampler = tokio::spawn(sample_memory(
        router_pid,
        started,
        samples.clone(),
        chaos.clone(),
    ));
    tokio::time::sleep(config.duration).await;
    chaos_tx.send_replace(false);
    working_tx.send_replace(false);
    let _ = restarts.await;
    let _ = sampler.await;
    for proxy in cut_proxies.iter().chain(&fault_proxies) {
        proxy.calm();
    }

    final_check(&clients, &checker, &stats).await;

    // Everybody leaves: the router must hold nothing for them.
    for client in clients.iter() {
        client.leaving.store(true, Ordering::Relaxed);
    }
    let specs: Vec<ClientSpec> = clients.iter().map(|c| c.spec.clone()).collect();
    let leaving: Vec<_> = clients
        .into_iter()
        .map(|c| tokio::spawn(c.leave()))
        .collect();
    for l in leaving {
        let _ = l.await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), checker.session().leave()).await;
    drop(checker);
    let mut router = match Arc::try_unwrap(router) {
        Ok(router) => router.into_inner(),
        Err(_) => return Err("the router handle is still shared".into()),
    };
    let mut left = (usize::MAX, 0);
    for _ in 0..50 {
        match router.sessions().await {
            Ok(now) => {
                left = now;
                if now.0 == 0 {
                    break;
                }
            }
            Err(e) => {
                stats.problem(format!("router child: {e}"));
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if left.0 != 0 {
        stats.problem(format!(
            "the router still counts {} sessions after every client left",
            left.0
        ));
    }
    if left.1 != 0 {
        stats.problem(format!("the router process panicked {} times", left.1));
    }
    let router_end_rss = rss::rss_bytes(Some(router_pid));
    match router.stop().await {
        Ok(status) if status.success() => {}
        Ok(status) => stats.problem(format!("the router child exited with {status}")),
        Err(e) => stats.problem(format!("the router child did not stop: {e}")),
    }
    let _ = std::fs::remove_dir_all(&dir);
    let panics = Stats::get(&stats.panics);
    if panics != 0 {
        stats.problem(format!("{panics} panics in the soak process"));
    }

    let samples = samples.lock().map(|s| s.clone()).unwrap_or_default();
    let client_rss = Trend::of(&samples, config.duration, |s| s.clients);
    let router_rss = Trend::of(&samples, config.duration, |s| s.router);
    for (side, trend) in [("clients'", client_rss), ("router's", router_rss)] {
        if !trend.is_flat(config.memory_slack) {
            stats.problem(format!(
                "the {side} resident memory grew from {} to {} MiB",
                trend.start / (1 << 20),
                trend.end / (1 << 20)
            ));
        }
    }
    Ok(Report::new(
        &config,
        &stats,
        &specs,
        [&cut_counts, &fault_counts],
        client_rss,
        router_rss,
        router_end_rss,
        samples.len(),
    ))
}

/// A client URL of transport `t` (as in [`TRANSPORTS`]) pointing at a proxy.
fn proxied_url(t: usize, addr: std::net::SocketAddr) -> String {
    match t {
        0 => format!("ws://{addr}/ws"),
        1 => format!("tcp://{addr}"),
        2 => format!("wss://{addr}/ws"),
        _ => format!("tcps://{addr}"),
    }
}

/// Counts panics of any thread (tasks included: tokio catches their panics, the hook
/// still runs), keeping the usual message.
fn count_panics(stats: Arc<Stats>) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        Stats::bump(&stats.panics);
        previous(info);
    }));
}

/// Restarts the router at random intervals around `restart_every` while the chaos lasts.
async fn restart_router(
    router: Arc<tokio::sync::Mutex<RouterProcess>>,
    config: Arc<SoakConfig>,
    stats: Arc<Stats>,
    mut chaos: watch::Receiver<bool>,
    seed: u64,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    loop {
        let wait = config.restart_every.mul_f64(rng.random_range(0.5..1.5));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = chaos.wait_for(|on| !on) => return,
        }
        let pause = Duration::from_millis(rng.random_range(0..1000));
        let mut router = router.lock().await;
        match router.restart(pause).await {
            Ok(0) => Stats::bump(&stats.router_restarts),
            Ok(left) => {
                Stats::bump(&stats.router_restarts);
                stats.problem(format!(
                    "the stopped router still counted {left} sessions after its shutdown"
                ));
            }
            Err(e) => {
                stats.problem(format!("router restart failed: {e}"));
                return;
            }
        }
        if let Some(status) = router.exited() {
            stats.problem(format!("the router child exited: {status}"));
            return;
        }
    }
}

/// Samples both processes' resident memory every second while the chaos lasts.
async fn sample_memory(
    router_pid: u32,
    started: Instant,
    samples: Arc<Mutex<Vec<Sample>>>,
    mut chaos: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = chaos.wait_for(|on| !on) => return,
        }
        let sample = Sample {
            at: started.elapsed(),
            clients: rss::rss_bytes(None).unwrap_or(0),
            router: rss::rss_bytes(Some(router_pid)).unwrap_or(0),
        };
        if let Ok(mut samples) = samples.lock() {
            samples.push(sample);
        }
    }
}

/// With the faults off: every client is back, reachable, and the only holder of its
/// procedure and topic; the realm holds nothing else.
///
/// A client may still lose its connection right after the faults stop (a keepalive that
/// expired during the last stall, a loaded machine); a check spoiled that way, seen by
/// the client's session ID changing under it, is done again, up to three times. A check
/// that fails while the client stays on one session is a violation.
async fn final_check(clients: &[Client], checker: &Checker, stats: &Stats) {
    let deadline = Instant::now() + Duration::from_secs(60);
    for client in clients {
        let index = client.spec.index;
        let mut verdict = Err("it reconnected during each of 3 attempts".to_owned());
        for _ in 0..3 {
            let Some(id) = wait_restored(client, checker, deadline).await else {
                verdict = Err(format!(
                    "not joined and restored 60 s after the faults stopped: {:?}",
                    *client.session.state().borrow()
                ));
                break;
            };
            let result = check_client(client, checker).await;
            let same = *client.session.state().borrow() == SessionState::Joined(id);
            match result {
                Ok(()) => {
                    verdict = Ok(());
                    break;
                }
                Err(e) if same => {
                    verdict = Err(format!("as session {id}: {e}"));
                    break;
                }
                Err(_) => continue,
            }
        }
        if let Err(e) = verdict {
            stats.problem(format!(
                "client {index} ({:?}), final check: {e}",
                client.spec.route
            ));
        }
    }
    // Sessions that went away may take a moment to be noticed; what stays is a leak.
    let n = clients.len();
    let mut last = String::new();
    for _ in 0..20 {
        match checker.totals().await {
            Ok((regs, subs, sessions)) if regs == n && subs == n && sessions == n as u64 + 1 => {
                return
            }
            Ok((regs, subs, sessions)) => {
                last = format!(
                    "the router holds {regs} registrations, {subs} subscriptions and {sessions} sessions (want {n}, {n} and {})",
                    n + 1
                )
            }
            Err(e) => last = format!("cannot read the router's totals: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    stats.problem(last);
}

/// The client's session ID once the router's tables show it restored, or `None` at the
/// deadline.
async fn wait_restored(client: &Client, checker: &Checker, deadline: Instant) -> Option<Id> {
    loop {
        let state = client.session.state().borrow().clone();
        if let SessionState::Joined(id) = state {
            if let Ok(true) = checker.restored(client.spec.index, id).await {
                return Some(id);
            }
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// One attempt: one callee and one subscriber per the router, a call answered, an event
/// delivered.
async fn check_client(client: &Client, checker: &Checker) -> Result<(), String> {
    let index = client.spec.index;
    match checker.holders(index).await {
        Ok((1, 1)) => {}
        Ok((callees, subscribers)) => {
            return Err(format!(
                "the router has {callees} callees of {} and {subscribers} subscribers of {} (want 1 and 1)",
                procedure(index),
                topic(index)
            ))
        }
        Err(e) => return Err(format!("cannot read the router's tables: {e}")),
    }
    let session = checker.session();
    let call = session
        .call(procedure(index))
        .args(&(PROBE, index as u64, 0))
        .timeout(Duration::from_secs(10))
        .await;
    match call.map(|r| r.args::<(u64, u64, u64)>()) {
        Ok(Ok((PROBE, n, 0))) if n == index as u64 => {}
        other => return Err(format!("the call to {} gave {other:?}", procedure(index))),
    }
    client.probe_seen.store(false, Ordering::Relaxed);
    session
        .publish(topic(index))
        .args(&(PROBE, index as u64))
        .acknowledge(true)
        .await
        .map_err(|e| format!("the publication failed: {e}"))?;
    tokio::time::timeout(Duration::from_secs(10), async {
        while !client.probe_seen.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .map_err(|_| format!("the event on {} did not arrive", topic(index)))
}
