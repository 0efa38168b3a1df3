//! The soak's result: counts, memory, and every violated invariant.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::client::ClientSpec;
use crate::proxy::FaultCounts;
use crate::rss::Trend;
use crate::stats::Stats;
use crate::SoakConfig;

/// What the proxies did.
#[derive(Clone, Copy, Debug, Default)]
pub struct FaultSummary {
    /// Connections through the proxy.
    pub connections: u64,
    /// Connections refused while the router was down.
    pub refused: u64,
    /// Chunks delayed.
    pub delays: u64,
    /// Stalls.
    pub stalls: u64,
    /// Truncated chunks (each cut its connection).
    pub truncations: u64,
    /// Connections cut at a random moment.
    pub cuts: u64,
    /// Connections turned into black holes.
    pub blackholes: u64,
}

impl From<&FaultCounts> for FaultSummary {
    fn from(c: &FaultCounts) -> Self {
        let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        FaultSummary {
            connections: get(&c.connections),
            refused: get(&c.refused),
            delays: get(&c.delays),
            stalls: get(&c.stalls),
            truncations: get(&c.truncations),
            cuts: get(&c.cuts),
            blackholes: get(&c.blackholes),
        }
    }
}

/// The soak's result. [`Report::passed`] says whether every invariant held.
#[derive(Clone, Debug)]
pub struct Report {
    /// How long the faults went on.
    pub duration: Duration,
    /// The seed.
    pub seed: u64,
    /// `index: transport/serializer/route` of every client.
    pub clients: Vec<String>,
    /// Calls with the right result.
    pub calls_ok: u64,
    /// Calls that failed (lost connection, timeout, router gone).
    pub calls_errored: u64,
    /// Calls unresolved past timeout plus grace.
    pub calls_hung: u64,
    /// Publications sent or acknowledged.
    pub publishes_ok: u64,
    /// Publications that failed.
    pub publishes_errored: u64,
    /// Publications unresolved past the limit.
    pub publishes_hung: u64,
    /// Events delivered.
    pub events: u64,
    /// Invocations served.
    pub invocations: u64,
    /// Reconnects of the clients.
    pub reconnects: u64,
    /// Reconnects after which the router routed to the new session.
    pub restores_verified: u64,
    /// Reconnects lost again before they could be checked.
    pub restores_superseded: u64,
    /// Reconnects after which the router never routed to the new session.
    pub restores_lost: u64,
    /// Router restarts.
    pub router_restarts: u64,
    /// The cutting proxy, then the fault proxy.
    pub proxies: [FaultSummary; 2],
    /// Why calls and publications failed.
    pub errors: BTreeMap<String, u64>,
    /// The clients' process memory.
    pub client_rss: Trend,
    /// The router's process memory.
    pub router_rss: Trend,
    /// The router's memory after every client left.
    pub router_rss_idle: Option<u64>,
    /// Memory samples taken.
    pub samples: usize,
    /// Every violated invariant.
    pub violations: Vec<String>,
}

impl Report {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        config: &SoakConfig,
        stats: &Stats,
        specs: &[ClientSpec],
        proxies: [&FaultCounts; 2],
        client_rss: Trend,
        router_rss: Trend,
        router_rss_idle: Option<u64>,
        samples: usize,
    ) -> Self {
        let get = Stats::get;
        Report {
            duration: config.duration,
            seed: config.seed,
            clients: specs
                .iter()
                .map(|s| {
                    format!(
                        "{}: {}/{:?}/{:?}",
                        s.index, s.transport, s.serializer, s.route
                    )
                })
                .collect(),
            calls_ok: get(&stats.calls_ok),
            calls_errored: get(&stats.calls_errored),
            calls_hung: get(&stats.calls_hung),
            publishes_ok: get(&stats.publishes_ok),
            publishes_errored: get(&stats.publishes_errored),
            publishes_hung: get(&stats.publishes_hung),
            events: get(&stats.events),
            invocations: get(&stats.invocations),
            reconnects: get(&stats.reconnects),
            restores_verified: get(&stats.restores_verified),
            restores_superseded: get(&stats.restores_superseded),
            restores_lost: get(&stats.restores_lost),
            router_restarts: get(&stats.router_restarts),
            proxies: [proxies[0].into(), proxies[1].into()],
            errors: stats.errors(),
            client_rss,
            router_rss,
            router_rss_idle,
            samples,
            violations: stats.problems(),
        }
    }

    /// Whether every invariant held.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Chaos soak: {} s, seed {}, {} clients",
            self.duration.as_secs(),
            self.seed,
            self.clients.len()
        )?;
        writeln!(f, "clients: {}", self.clients.join(", "))?;
        writeln!(f)?;
        writeln!(f, "| | ok | errored | hung |")?;
        writeln!(f, "|---|---:|---:|---:|")?;
        writeln!(
            f,
            "| calls | {} | {} | {} |",
            self.calls_ok, self.calls_errored, self.calls_hung
        )?;
        writeln!(
            f,
            "| publications | {} | {} | {} |",
            self.publishes_ok, self.publishes_errored, self.publishes_hung
        )?;
        writeln!(f)?;
        writeln!(f, "| | count |")?;
        writeln!(f, "|---|---:|")?;
        writeln!(f, "| events delivered | {} |", self.events)?;
        writeln!(f, "| invocations served | {} |", self.invocations)?;
        writeln!(f, "| router restarts | {} |", self.router_restarts)?;
        writeln!(f, "| client reconnects | {} |", self.reconnects)?;
        writeln!(
            f,
            "| restores verified in the router's tables | {} |",
            self.restores_verified
        )?;
        writeln!(
            f,
            "| restores superseded (lost again before checked) | {} |",
            self.restores_superseded
        )?;
        writeln!(f, "| restores lost | {} |", self.restores_lost)?;
        writeln!(f)?;
        writeln!(
            f,
            "| proxy | connections | refused | delays | stalls | truncations | black holes | cuts |"
        )?;
        writeln!(f, "|---|---:|---:|---:|---:|---:|---:|---:|")?;
        for (name, p) in ["cutting", "fault"].iter().zip(self.proxies) {
            writeln!(
                f,
                "| {name} | {} | {} | {} | {} | {} | {} | {} |",
                p.connections, p.refused, p.delays, p.stalls, p.truncations, p.blackholes, p.cuts
            )?;
        }
        writeln!(f)?;
        writeln!(f, "| RSS (MiB) | start (15-35 %) | end (last 20 %) | max |")?;
        writeln!(f, "|---|---:|---:|---:|")?;
        for (name, t) in [
            ("clients + proxies", self.client_rss),
            ("router", self.router_rss),
        ] {
            writeln!(
                f,
                "| {name} | {} | {} | {} |",
                mib(t.start),
                mib(t.end),
                mib(t.max)
            )?;
        }
        if let Some(idle) = self.router_rss_idle {
            writeln!(f, "\nrouter RSS once every client left: {} MiB", mib(idle))?;
        }
        writeln!(f, "({} samples, one per second)", self.samples)?;
        writeln!(f)?;
        writeln!(f, "failures by kind (expected under faults):")?;
        for (kind, n) in &self.errors {
            writeln!(f, "  {n:>8}  {kind}")?;
        }
        writeln!(f)?;
        if self.violations.is_empty() {
            writeln!(f, "invariants: all held")?;
        } else {
            writeln!(f, "VIOLATIONS ({}):", self.violations.len())?;
            for v in &self.violations {
                writeln!(f, "  - {v}")?;
            }
        }
        Ok(())
    }
}
