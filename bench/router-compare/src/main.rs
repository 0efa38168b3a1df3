//! router-compare: our `wamp router` and Crossbar.io side by side, under one load generator
//! (this process: our client `wamp::Session`, RawSocket + MessagePack). See README.md.
//!
//! One run: starts `wamp router` as a subprocess on free ports, uses the Crossbar.io that is
//! already running (never starts or stops it), runs every phase against both, stops the
//! router subprocess, prints a markdown table on stdout (progress on stderr).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod flood;

use futures_util::{StreamExt, TryStreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

type BoxErr = Box<dyn std::error::Error + Send + Sync>;

const REALM: &str = "realm1";
const INFLIGHT: usize = 64;

// ---------------------------------------------------------------------------------------
// Options

#[derive(Clone, Debug)]
struct Opts {
    wamp_bin: PathBuf,
    /// Measured duration of each throughput phase.
    secs: Duration,
    /// Repetitions of the throughput phases (alternating routers); the table shows medians.
    repeat: usize,
    /// Idle sessions to open in the memory phase.
    sessions: usize,
    /// Subscribers in the fan-out phase.
    subs: usize,
    /// Publications that may be ahead of the slowest subscriber.
    window: u64,
    /// Concurrent RawSocket handshakes per batch in the memory phase.
    connect_batch: usize,
    /// Time allowed for opening the idle sessions (per router).
    session_cap: Duration,
    crossbar_raw: SocketAddr,
    crossbar_pid: Option<u32>,
    only: Option<String>,
    skip_memory: bool,
    /// Idle sessions over WebSocket (`/ws`, wamp.2.msgpack) instead of RawSocket.
    idle_websocket: bool,
    /// The load generator's tokio runtime: multi-thread (default) or current-thread.
    current_thread: bool,
    /// The whole run is killed after this long.
    deadline: Duration,
}

impl Default for Opts {
    fn default() -> Self {
        let rel = PathBuf::from("../../target/release/wamp");
        let wamp_bin = if rel.exists() {
            rel
        } else {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/release/wamp"
            ))
        };
        Opts {
            wamp_bin,
            secs: Duration::from_secs(3),
            repeat: 3,
            sessions: 10_000,
            subs: 100,
            window: 512,
            connect_batch: 100,
            session_cap: Duration::from_secs(120),
            crossbar_raw: SocketAddr::from(([127, 0, 0, 1], 18081)),
            crossbar_pid: None,
            only: None,
            skip_memory: false,
            idle_websocket: false,
            current_thread: false,
            deadline: Duration::from_secs(290),
        }
    }
}

const USAGE: &str = "usage: router-compare [--wamp-bin PATH] [--secs S] [--repeat R] [--sessions N] [--subs N] \
[--window N] [--connect-batch N] [--session-cap-secs S] [--crossbar-raw HOST:PORT] \
[--crossbar-pid PID] [--only ours|crossbar] [--runtime multi|current] [--skip-memory] [--idle-websocket] [--deadline-secs S] [--quick]";

fn parse_args() -> Result<Opts, BoxErr> {
    let mut o = Opts::default();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "-h" | "--help" => {
                eprintln!("{USAGE}");
                std::process::exit(0);
            }
            "--skip-memory" => {
                o.skip_memory = true;
                continue;
            }
            "--idle-websocket" => {
                o.idle_websocket = true;
                continue;
            }
            "--quick" => {
                o.secs = Duration::from_secs(2);
                o.repeat = 1;
                o.sessions = 2000;
                o.session_cap = Duration::from_secs(30);
                continue;
            }
            _ => {}
        }
        let v = it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--wamp-bin" => o.wamp_bin = v.into(),
            "--secs" => o.secs = Duration::from_secs_f64(v.parse()?),
            "--repeat" => o.repeat = v.parse::<usize>()?.max(1),
            "--sessions" => o.sessions = v.parse()?,
            "--subs" => o.subs = v.parse::<usize>()?.max(1),
            "--window" => o.window = v.parse::<u64>()?.max(8),
            "--connect-batch" => o.connect_batch = v.parse::<usize>()?.max(1),
            "--session-cap-secs" => o.session_cap = Duration::from_secs_f64(v.parse()?),
            "--crossbar-raw" => o.crossbar_raw = v.parse()?,
            "--crossbar-pid" => o.crossbar_pid = Some(v.parse()?),
            "--only" if v == "ours" || v == "crossbar" => o.only = Some(v),
            "--runtime" if v == "multi" || v == "current" => o.current_thread = v == "current",
            "--deadline-secs" => o.deadline = Duration::from_secs_f64(v.parse()?),
            _ => return Err(format!("unknown flag {flag} {v}\n{USAGE}").into()),
        }
    }
    Ok(o)
}

// ---------------------------------------------------------------------------------------
// /proc and rusage

fn clk_tck() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// (utime, stime) of a process (all its threads), in clock ticks.
fn proc_ticks(pid: u32) -> Result<(u64, u64), BoxErr> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let rest = &s[s.rfind(')').ok_or("malformed /proc/PID/stat")? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts with field 3 (state): utime is field 14, stime field 15.
    let utime: u64 = f.get(11).ok_or("short stat")?.parse()?;
    let stime: u64 = f.get(12).ok_or("short stat")?.parse()?;
    Ok((utime, stime))
}

fn proc_ppid(pid: u32) -> Option<u32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Context switches (voluntary + involuntary) of all live threads of a process.
fn proc_ctx_switches(pid: u32) -> u64 {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    dir.flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .map(|s| {
            s.lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>()
        })
        .sum()
}

/// Context switches (voluntary + involuntary) of this process.
fn self_ctx_switches() -> u64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    (ru.ru_nvcsw + ru.ru_nivcsw) as u64
}

/// VmRSS of a process in KiB.
fn proc_rss_kib(pid: u32) -> Result<u64, BoxErr> {
    proc_status_kib(pid, "VmRSS:")
}

/// A `kB` field of /proc/PID/status (VmRSS, VmHWM).
fn proc_status_kib(pid: u32, field: &str) -> Result<u64, BoxErr> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = s
        .lines()
        .find(|l| l.starts_with(field))
        .ok_or_else(|| format!("no {field} in /proc/{pid}/status"))?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .ok_or("bad VmRSS")?
        .parse()?)
}

/// User + system CPU time of this process (all threads), in microseconds.
fn self_cpu_us() -> u64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    assert_eq!(rc, 0, "getrusage failed");
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Raises the soft open-files limit to what `want` descriptors need (up to the hard limit).
/// Returns (soft, hard) after the change. The router subprocess inherits it.
fn raise_nofile(want: u64) -> (u64, u64) {
    // SAFETY: plain syscalls on a local struct.
    let mut rl: libc::rlimit = unsafe { std::mem::zeroed() };
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) };
    if (rl.rlim_cur as u64) < want {
        let new = libc::rlimit {
            rlim_cur: (want as libc::rlim_t).min(rl.rlim_max),
            rlim_max: rl.rlim_max,
        };
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &new) } == 0 {
            rl = new;
        }
    }
    (rl.rlim_cur as u64, rl.rlim_max as u64)
}

/// CPU spent by the router process and by this process over a phase.
struct Meter {
    pid: u32,
    ticks: (u64, u64),
    gen_us: u64,
    router_cs: u64,
    gen_cs: u64,
    t0: Instant,
}

struct Spent {
    /// Router user + system CPU.
    router_us: f64,
    /// Of which system (kernel) time.
    router_sys_us: f64,
    gen_us: f64,
    /// Context switches of the router's threads and of this process.
    router_cs: u64,
    gen_cs: u64,
    wall: Duration,
}

impl Meter {
    fn start(pid: u32) -> Result<Meter, BoxErr> {
        Ok(Meter {
            pid,
            ticks: proc_ticks(pid)?,
            gen_us: self_cpu_us(),
            router_cs: proc_ctx_switches(pid),
            gen_cs: self_ctx_switches(),
            t0: Instant::now(),
        })
    }

    fn stop(&self) -> Result<Spent, BoxErr> {
        let wall = self.t0.elapsed();
        let (u, s) = proc_ticks(self.pid)?;
        let (du, ds) = (u - self.ticks.0, s - self.ticks.1);
        let us = |t: u64| t as f64 * 1e6 / clk_tck() as f64;
        Ok(Spent {
            router_us: us(du + ds),
            router_sys_us: us(ds),
            gen_us: (self_cpu_us() - self.gen_us) as f64,
            router_cs: proc_ctx_switches(self.pid).saturating_sub(self.router_cs),
            gen_cs: self_ctx_switches().saturating_sub(self.gen_cs),
            wall,
        })
    }
}

/// Router CPU in % of one core over `d`, with nothing of ours running against it.
async fn background_cpu(pid: u32, d: Duration) -> Result<f64, BoxErr> {
    let m = Meter::start(pid)?;
    tokio::time::sleep(d).await;
    let s = m.stop()?;
    Ok(s.router_us / s.wall.as_secs_f64() / 1e4)
}

/// Waits (at most `cap`) until the router uses less than 5 % of a core over 300 ms.
async fn quiesce(pid: u32, cap: Duration) {
    let t0 = Instant::now();
    while t0.elapsed() < cap {
        match background_cpu(pid, Duration::from_millis(300)).await {
            Ok(pct) if pct < 5.0 => return,
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

/// Established TCP connections to local ports in `ports` (all processes), from /proc/net/tcp.
fn established_to(ports: std::ops::RangeInclusive<u16>) -> usize {
    let Ok(s) = std::fs::read_to_string("/proc/net/tcp") else {
        return 0;
    };
    s.lines()
        .skip(1)
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let port = f
                .get(1)
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            f.get(3) == Some(&"01") && port.is_some_and(|p| ports.contains(&p))
        })
        .count()
}

// ---------------------------------------------------------------------------------------
// Crossbar worker discovery

fn crossbar_state_dir() -> PathBuf {
    if let Ok(d) = std::env::var("XBAR_STATE") {
        return d.into();
    }
    let tmp = std::env::var("TMPDIR").unwrap_or_else(|_| "/tmp".into());
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    PathBuf::from(format!("{tmp}/wamp-crossbar-{uid}"))
}

/// The Crossbar router worker: a process whose command line has "crossbar" and "worker",
/// preferably a child of the controller in crossbar.pid and a router worker.
fn find_crossbar_worker(explicit: Option<u32>) -> Result<(u32, String), BoxErr> {
    let cmdline = |pid: u32| {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " ").trim().to_owned())
            .unwrap_or_default()
    };
    if let Some(pid) = explicit {
        return Ok((pid, cmdline(pid)));
    }
    let controller: Option<u32> = std::fs::read_to_string(crossbar_state_dir().join("crossbar.pid"))
        .ok()
        .and_then(|s| s.trim().parse().ok());
    let mut best: Option<(u32, u32, String)> = None; // (score, pid, cmdline)
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let cl = cmdline(pid);
        let lower = cl.to_lowercase();
        if !(lower.contains("crossbar") && lower.contains("worker")) {
            continue;
        }
        let mut score = 1;
        if controller.is_some() && proc_ppid(pid) == controller {
            score += 2;
        }
        if lower.contains("router") {
            score += 1;
        }
        if best.as_ref().is_none_or(|b| score > b.0) {
            best = Some((score, pid, cl));
        }
    }
    best.map(|(_, pid, cl)| (pid, cl))
        .ok_or_else(|| "no Crossbar worker process found (cmdline with 'crossbar' and 'worker'); pass --crossbar-pid".into())
}

// ---------------------------------------------------------------------------------------
// The `wamp router` subprocess

static ROUTER_PID: AtomicU32 = AtomicU32::new(0);

struct RouterProc {
    child: Child,
    raw_addr: SocketAddr,
    ws_url: String,
}

impl RouterProc {
    /// Starts `wamp router` with the connection limits raised for the idle sessions phase
    /// (all its connections come from 127.0.0.1; the default allows 1000 per address).
    fn start(bin: &std::path::Path) -> Result<RouterProc, BoxErr> {
        let config =
            std::env::temp_dir().join(format!("router-compare-{}.toml", std::process::id()));
        std::fs::write(
            &config,
            "[limits]\nmax_connections = 1000000\nmax_connections_per_address = 1000000\n",
        )?;
        let router = RouterProc::start_with(bin, Some(&config));
        let _ = std::fs::remove_file(&config);
        router
    }

    /// Starts `wamp router` on free ports, with `--config FILE` if given.
    fn start_with(
        bin: &std::path::Path,
        config: Option<&std::path::Path>,
    ) -> Result<RouterProc, BoxErr> {
        let mut command = Command::new(bin);
        command.args(["router", "--ws", "127.0.0.1:0", "--rawsocket", "127.0.0.1:0"]);
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        ROUTER_PID.store(child.id(), Ordering::SeqCst);
        let out = child.stdout.take().ok_or("no router stdout")?;
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        // Reads the "listening on" lines, then keeps draining stdout.
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let mut guard = RouterProc {
            child,
            raw_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            ws_url: String::new(),
        };
        let t0 = Instant::now();
        while guard.raw_addr.port() == 0 || guard.ws_url.is_empty() {
            let left = Duration::from_secs(10).saturating_sub(t0.elapsed());
            let line = rx
                .recv_timeout(left)
                .map_err(|_| "wamp router did not print its listeners within 10 s")?;
            // "listening on tcp://127.0.0.1:PORT (RawSocket)" / "listening on ws://.../ws (WebSocket)"
            let Some(url) = line
                .strip_prefix("listening on ")
                .and_then(|r| r.split_whitespace().next())
            else {
                continue;
            };
            if let Some(addr) = url.strip_prefix("tcp://") {
                guard.raw_addr = addr.parse()?;
            } else if url.starts_with("ws://") {
                guard.ws_url = url.to_owned();
            }
        }
        Ok(guard)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for RouterProc {
    fn drop(&mut self) {
        // SIGTERM: a clean shutdown; SIGKILL if it takes more than 3 s.
        // SAFETY: signalling our own child by its pid.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(3) {
            if let Ok(Some(_)) = self.child.try_wait() {
                ROUTER_PID.store(0, Ordering::SeqCst);
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        ROUTER_PID.store(0, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------------------------------
// Results

/// One repetition of the throughput phases against one router.
#[derive(Default, Debug, Clone)]
struct Tp {
    // calls
    seq_n: u64,
    seq_cps: Option<f64>,
    seq_p50_us: Option<f64>,
    seq_p99_us: Option<f64>,
    seq_router_us: Option<f64>,
    seq_gen_us: Option<f64>,
    inf_n: u64,
    inf_cps: Option<f64>,
    inf_router_us: Option<f64>,
    inf_gen_us: Option<f64>,
    calls_router_us: Option<f64>,
    /// Share of kernel time in the router's CPU over both call phases (%).
    calls_router_sys_pct: Option<f64>,
    /// Context switches per call (router, load generator), sequential and 64 in flight.
    seq_cs: Option<(f64, f64)>,
    inf_cs: Option<(f64, f64)>,
    // events: [1 subscriber, N subscribers]
    ev: [EvResult; 2],
    bg_cpu_pct: Option<f64>,
}

/// Everything about one router: the median of the repetitions, each repetition, memory.
#[derive(Default, Debug)]
struct Results {
    pid: u32,
    tp: Tp,
    runs: Vec<Tp>,
    // memory
    rss_idle_kib: Option<u64>,
    /// Crossbar: its RSS when this run began (it is shared and long-running).
    rss_found_kib: Option<u64>,
    rss_before_kib: Option<u64>,
    /// Peak RSS (VmHWM) before the idle sessions were opened.
    hwm_before_kib: Option<u64>,
    rss_with_kib: Option<u64>,
    /// The sessions fit into memory the process had held before (freed by earlier
    /// sessions, never returned): the per-session figure is not meaningful.
    reused_memory: bool,
    sessions_opened: usize,
    sessions_alive: usize,
    sessions_secs: f64,
    sessions_note: Option<String>,
    per_session_kib: Option<f64>,
    established_by_others: Option<usize>,
    errors: Vec<String>,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

/// Per-metric median over the repetitions (counts are summed).
fn combine(runs: &[Tp]) -> Tp {
    let m = |f: &dyn Fn(&Tp) -> Option<f64>| median(runs.iter().filter_map(f).collect());
    let pair = |f: &dyn Fn(&Tp) -> Option<(f64, f64)>| {
        let a = median(runs.iter().filter_map(|r| f(r).map(|p| p.0)).collect());
        let b = median(runs.iter().filter_map(|r| f(r).map(|p| p.1)).collect());
        a.zip(b)
    };
    let ev = |k: usize| EvResult {
        subs: runs.iter().map(|r| r.ev[k].subs).max().unwrap_or(0),
        published: runs.iter().map(|r| r.ev[k].published).sum(),
        deliveries: runs.iter().map(|r| r.ev[k].deliveries).sum(),
        eps: m(&|r| r.ev[k].eps),
        router_us: m(&|r| r.ev[k].router_us),
        gen_us: m(&|r| r.ev[k].gen_us),
    };
    Tp {
        seq_n: runs.iter().map(|r| r.seq_n).sum(),
        seq_cps: m(&|r| r.seq_cps),
        seq_p50_us: m(&|r| r.seq_p50_us),
        seq_p99_us: m(&|r| r.seq_p99_us),
        seq_router_us: m(&|r| r.seq_router_us),
        seq_gen_us: m(&|r| r.seq_gen_us),
        inf_n: runs.iter().map(|r| r.inf_n).sum(),
        inf_cps: m(&|r| r.inf_cps),
        inf_router_us: m(&|r| r.inf_router_us),
        inf_gen_us: m(&|r| r.inf_gen_us),
        calls_router_us: m(&|r| r.calls_router_us),
        calls_router_sys_pct: m(&|r| r.calls_router_sys_pct),
        seq_cs: pair(&|r| r.seq_cs),
        inf_cs: pair(&|r| r.inf_cs),
        ev: [ev(0), ev(1)],
        bg_cpu_pct: m(&|r| r.bg_cpu_pct),
    }
}

#[derive(Default, Debug, Clone)]
struct EvResult {
    subs: usize,
    published: u64,
    deliveries: u64,
    eps: Option<f64>,
    router_us: Option<f64>,
    gen_us: Option<f64>,
}

fn session_builder(addr: SocketAddr) -> wamp::client::SessionBuilder {
    wamp::Session::builder(format!("tcp://{addr}"))
        .realm(REALM)
        .serializer(wamp::Serializer::MsgPack)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)].as_secs_f64() * 1e6
}

// ---------------------------------------------------------------------------------------
// Phase 1: calls (one callee session, one caller session)

async fn call_phases(
    addr: SocketAddr,
    pid: u32,
    prefix: &str,
    o: &Opts,
    r: &mut Tp,
) -> Result<(), BoxErr> {
    let callee = session_builder(addr).connect().await?;
    let procedure = format!("{prefix}.echo");
    let _registration = callee
        .register(&procedure, |inv: wamp::client::Invocation| async move {
            inv.result(&(1u64,))
        })
        .await?;
    let caller = session_builder(addr).connect().await?;
    let call = || {
        let caller = &caller;
        let procedure = &procedure;
        async move {
            let res = caller.call(procedure).args(&(1u64,)).await?;
            let (v,): (u64,) = res.args()?;
            if v != 1 {
                return Err::<(), BoxErr>(format!("callee returned {v}, expected 1").into());
            }
            Ok(())
        }
    };

    // Sequential: one call at a time.
    for _ in 0..300 {
        call().await?;
    }
    let mut lat = Vec::with_capacity(100_000);
    let m = Meter::start(pid)?;
    while m.t0.elapsed() < o.secs {
        let t = Instant::now();
        call().await?;
        lat.push(t.elapsed());
    }
    let s = m.stop()?;
    let n = lat.len() as u64;
    lat.sort();
    r.seq_n = n;
    r.seq_cps = Some(n as f64 / s.wall.as_secs_f64());
    r.seq_p50_us = Some(percentile(&lat, 0.50));
    r.seq_p99_us = Some(percentile(&lat, 0.99));
    r.seq_router_us = Some(s.router_us / n as f64);
    r.seq_gen_us = Some(s.gen_us / n as f64);
    let (seq_total, seq_sys) = (s.router_us, s.router_sys_us);
    r.seq_cs = Some((s.router_cs as f64 / n as f64, s.gen_cs as f64 / n as f64));
    eprintln!(
        "    sequential: {n} calls, {:.0} calls/s, router {:.1} µs/call ({:.0} % sys), load generator {:.1} µs/call",
        r.seq_cps.unwrap_or(0.0),
        s.router_us / n as f64,
        100.0 * s.router_sys_us / s.router_us.max(1.0),
        s.gen_us / n as f64
    );

    // 64 in flight, from the same caller session.
    let run = |limit: Option<u64>, dur: Option<Duration>| {
        let call = &call;
        async move {
            let t0 = Instant::now();
            futures_util::stream::iter(0u64..)
                .take_while(move |i| {
                    let go = limit.is_none_or(|l| *i < l) && dur.is_none_or(|d| t0.elapsed() < d);
                    futures_util::future::ready(go)
                })
                .map(|_| call())
                .buffer_unordered(INFLIGHT)
                .try_fold(0u64, |n, ()| futures_util::future::ready(Ok(n + 1)))
                .await
        }
    };
    run(Some(3000), None).await?;
    let m = Meter::start(pid)?;
    let n = run(None, Some(o.secs)).await?;
    let s = m.stop()?;
    r.inf_n = n;
    r.inf_cps = Some(n as f64 / s.wall.as_secs_f64());
    r.inf_router_us = Some(s.router_us / n as f64);
    r.inf_gen_us = Some(s.gen_us / n as f64);
    r.inf_cs = Some((s.router_cs as f64 / n as f64, s.gen_cs as f64 / n as f64));
    eprintln!(
        "    64 in flight: {n} calls, {:.0} calls/s, router {:.1} µs/call ({:.0} % sys), load generator {:.1} µs/call",
        r.inf_cps.unwrap_or(0.0),
        s.router_us / n as f64,
        100.0 * s.router_sys_us / s.router_us.max(1.0),
        s.gen_us / n as f64
    );
    let total_router = seq_total + s.router_us;
    r.calls_router_us = Some(total_router / (r.seq_n + n) as f64);
    r.calls_router_sys_pct = Some(100.0 * (seq_sys + s.router_sys_us) / total_router.max(1.0));

    drop(_registration);
    let _ = tokio::time::timeout(Duration::from_secs(3), caller.leave()).await;
    let _ = tokio::time::timeout(Duration::from_secs(3), callee.leave()).await;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Phase 2: events, publisher without acknowledge, `subs` subscriber sessions

/// Delivery counters of the subscribers, and what the publisher waits for.
struct Progress {
    counts: Vec<AtomicU64>,
    /// The count the publisher waits for every subscriber to reach; a subscriber reaching it
    /// exactly wakes the publisher (once per threshold, not once per event).
    wanted: AtomicU64,
    notify: Notify,
    error: Mutex<Option<String>>,
}

impl Progress {
    fn min(&self) -> u64 {
        self.counts
            .iter()
            .map(|c| c.load(Ordering::Acquire))
            .min()
            .unwrap_or(0)
    }

    fn sum(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Acquire)).sum()
    }

    fn failed(&self) -> Option<String> {
        self.error.lock().ok().and_then(|e| e.clone())
    }

    /// Waits until every subscriber has `target` events (or `timeout`).
    async fn wait_all(&self, target: u64, timeout: Duration) -> Result<(), BoxErr> {
        let t0 = Instant::now();
        self.wanted.store(target, Ordering::Release);
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.min() >= target {
                return Ok(());
            }
            if let Some(e) = self.failed() {
                return Err(format!("a subscriber failed: {e}").into());
            }
            if t0.elapsed() > timeout {
                return Err(format!(
                    "timed out waiting for deliveries: slowest subscriber has {} of {target}",
                    self.min()
                )
                .into());
            }
            let _ = tokio::time::timeout(Duration::from_millis(5), notified).await;
        }
    }
}

/// Publishes (no acknowledge) while `go(published)` holds, keeping at most `window`
/// publications ahead of the slowest subscriber.
async fn pump(
    publisher: &wamp::Session,
    topic: &str,
    progress: &Progress,
    window: u64,
    published: &mut u64,
    go: impl Fn(u64) -> bool,
) -> Result<(), BoxErr> {
    let chunk = (window / 4).max(1);
    while go(*published) {
        // Room for one more chunk?
        let need = (*published + chunk).saturating_sub(window);
        progress.wait_all(need, Duration::from_secs(20)).await?;
        for _ in 0..chunk {
            publisher.publish(topic).args(&(*published,)).await?;
            *published += 1;
        }
    }
    Ok(())
}

async fn events_phase(
    addr: SocketAddr,
    pid: u32,
    topic: &str,
    subs: usize,
    o: &Opts,
) -> Result<EvResult, BoxErr> {
    let mut sessions = Vec::with_capacity(subs);
    let mut streams = Vec::with_capacity(subs);
    while sessions.len() < subs {
        let k = (subs - sessions.len()).min(20);
        let batch = futures_util::future::try_join_all((0..k).map(|_| async {
            let s = session_builder(addr).connect().await?;
            // No event may be dropped: the phase counts every one.
            let sub = s.subscribe(topic).buffer(usize::MAX).await?;
            Ok::<_, wamp::client::Error>((s, sub))
        }))
        .await?;
        for (s, sub) in batch {
            sessions.push(s);
            streams.push(sub);
        }
    }
    let progress = Arc::new(Progress {
        counts: (0..subs).map(|_| AtomicU64::new(0)).collect(),
        wanted: AtomicU64::new(u64::MAX),
        notify: Notify::new(),
        error: Mutex::new(None),
    });
    let mut tasks = Vec::new();
    for (k, mut sub) in streams.into_iter().enumerate() {
        let progress = progress.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(ev) = sub.next().await {
                match ev {
                    Ok(_) => {
                        let c = progress.counts[k].fetch_add(1, Ordering::AcqRel) + 1;
                        if c == progress.wanted.load(Ordering::Acquire) {
                            progress.notify.notify_one();
                        }
                    }
                    Err(e) => {
                        if let Ok(mut slot) = progress.error.lock() {
                            slot.get_or_insert(e.to_string());
                        }
                        progress.notify.notify_one();
                        break;
                    }
                }
            }
        }));
    }
    let publisher = session_builder(addr).connect().await?;
    let mut published = 0u64;
    let outcome = async {
        // Warm-up: two windows' worth, all delivered.
        let warm = o.window * 2;
        pump(&publisher, topic, &progress, o.window, &mut published, |p| p < warm).await?;
        progress.wait_all(published, Duration::from_secs(20)).await?;
        let base_published = published;
        let base = progress.sum();
        let m = Meter::start(pid)?;
        let dur = o.secs;
        let t0 = m.t0;
        pump(&publisher, topic, &progress, o.window, &mut published, |_| {
            t0.elapsed() < dur
        })
        .await?;
        progress.wait_all(published, Duration::from_secs(30)).await?;
        let s = m.stop()?;
        let deliveries = progress.sum() - base;
        let expected = (published - base_published) * subs as u64;
        if deliveries != expected {
            return Err::<EvResult, BoxErr>(
                format!("{deliveries} deliveries, expected {expected}").into(),
            );
        }
        Ok(EvResult {
            subs,
            published: published - base_published,
            deliveries,
            eps: Some(deliveries as f64 / s.wall.as_secs_f64()),
            router_us: Some(s.router_us / deliveries as f64),
            gen_us: Some(s.gen_us / deliveries as f64),
        })
    }
    .await;
    for t in &tasks {
        t.abort();
    }
    let _ = tokio::time::timeout(Duration::from_secs(3), publisher.leave()).await;
    let _ = tokio::time::timeout(
        Duration::from_secs(5),
        futures_util::future::join_all(sessions.iter().map(|s| s.leave())),
    )
    .await;
    let ev = outcome?;
    eprintln!(
        "    {subs} subscriber(s): {} publications, {} deliveries, {:.0} deliveries/s, router {:.2} µs/delivery, load generator {:.2} µs/delivery",
        ev.published,
        ev.deliveries,
        ev.eps.unwrap_or(0.0),
        ev.router_us.unwrap_or(0.0),
        ev.gen_us.unwrap_or(0.0)
    );
    Ok(ev)
}

// ---------------------------------------------------------------------------------------
// Phase 3: idle sessions (raw RawSocket handshake + HELLO, MessagePack)

/// HELLO as MessagePack: [1, "realm1", {"roles": {"subscriber": {}}}].
fn hello_frame() -> Vec<u8> {
    let mut m = vec![0x93, 0x01, 0xa0 | REALM.len() as u8];
    m.extend_from_slice(REALM.as_bytes());
    m.extend_from_slice(&[0x81, 0xa5]);
    m.extend_from_slice(b"roles");
    m.extend_from_slice(&[0x81, 0xaa]);
    m.extend_from_slice(b"subscriber");
    m.push(0x80);
    let mut f = vec![0, 0, 0, m.len() as u8];
    f.extend_from_slice(&m);
    f
}

/// One idle session: RawSocket handshake (MessagePack, 16 MiB), HELLO, WELCOME checked.
async fn open_idle_session(addr: SocketAddr, hello: &[u8]) -> Result<TcpStream, BoxErr> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    s.write_all(&[0x7F, 0xF2, 0, 0]).await?;
    let mut reply = [0u8; 4];
    s.read_exact(&mut reply).await?;
    if reply[0] != 0x7F || reply[1] & 0x0F != 2 {
        return Err(format!("RawSocket handshake refused: {reply:02x?}").into());
    }
    s.write_all(hello).await?;
    let mut header = [0u8; 4];
    s.read_exact(&mut header).await?;
    let len = u32::from_be_bytes([0, header[1], header[2], header[3]]) as usize;
    let mut msg = vec![0u8; len];
    s.read_exact(&mut msg).await?;
    // WELCOME = [2, session, details]: fixarray(3), 2.
    if msg.get(1) != Some(&0x02) {
        return Err(format!(
            "expected WELCOME, got message {:02x?}",
            &msg[..msg.len().min(40)]
        )
        .into());
    }
    Ok(s)
}

/// One idle session over WebSocket: upgrade at `/ws` with `wamp.2.msgpack`, HELLO in a
/// masked binary frame, WELCOME checked. `hello` is the RawSocket frame (header skipped).
async fn open_idle_ws_session(addr: SocketAddr, hello: &[u8]) -> Result<TcpStream, BoxErr> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: wamp.2.msgpack\r\n\r\n"
    );
    s.write_all(request.as_bytes()).await?;
    // The server says nothing after its 101 until we speak, so reading past the header is
    // not possible.
    let mut response = Vec::new();
    let mut chunk = [0u8; 512];
    while !response.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut chunk).await?;
        if n == 0 || response.len() > 8192 {
            return Err("WebSocket upgrade: no complete response".into());
        }
        response.extend_from_slice(&chunk[..n]);
    }
    if !response.starts_with(b"HTTP/1.1 101") {
        let line = String::from_utf8_lossy(&response);
        return Err(format!("WebSocket upgrade refused: {}", line.lines().next().unwrap_or("")).into());
    }
    let msg = &hello[4..];
    let mask = [0x37u8, 0xfa, 0x21, 0x3d];
    let mut frame = vec![0x82, 0x80 | msg.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(msg.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    s.write_all(&frame).await?;
    let mut head = [0u8; 2];
    s.read_exact(&mut head).await?;
    let len = match head[1] & 0x7f {
        126 => {
            let mut l = [0u8; 2];
            s.read_exact(&mut l).await?;
            u16::from_be_bytes(l) as usize
        }
        127 => return Err("WELCOME larger than 64 KiB".into()),
        n => n as usize,
    };
    let mut welcome = vec![0u8; len];
    s.read_exact(&mut welcome).await?;
    if welcome.get(1) != Some(&0x02) {
        return Err(format!("expected WELCOME, got {:02x?}", &welcome[..welcome.len().min(40)]).into());
    }
    Ok(s)
}

/// Whether a connection is still open (nothing read, no EOF): MSG_PEEK | MSG_DONTWAIT.
fn still_open(s: &TcpStream) -> bool {
    use std::os::fd::AsRawFd;
    let mut b = [0u8; 1];
    // SAFETY: recv into a 1-byte local buffer on a socket we own.
    let n = unsafe {
        libc::recv(
            s.as_raw_fd(),
            b.as_mut_ptr().cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::WouldBlock
}

async fn idle_sessions_phase(
    addr: SocketAddr,
    pid: u32,
    n: usize,
    cap: Duration,
    o: &Opts,
    r: &mut Results,
) -> Result<(), BoxErr> {
    let hello = hello_frame();
    r.rss_before_kib = Some(proc_rss_kib(pid)?);
    r.hwm_before_kib = proc_status_kib(pid, "VmHWM:").ok();
    let mut socks: Vec<TcpStream> = Vec::with_capacity(n);
    let mut failures = 0usize;
    let mut first_error: Option<String> = None;
    let t0 = Instant::now();
    let mut last_report = Instant::now();
    while socks.len() < n && t0.elapsed() < cap {
        let k = o.connect_batch.min(n - socks.len());
        let batch = futures_util::future::join_all((0..k).map(|_| {
            tokio::time::timeout(Duration::from_secs(10), async {
                if o.idle_websocket {
                    open_idle_ws_session(addr, &hello).await
                } else {
                    open_idle_session(addr, &hello).await
                }
            })
        }))
        .await;
        for res in batch {
            match res {
                Ok(Ok(s)) => socks.push(s),
                Ok(Err(e)) => {
                    failures += 1;
                    first_error.get_or_insert(e.to_string());
                }
                Err(_) => {
                    failures += 1;
                    first_error.get_or_insert("handshake/HELLO took more than 10 s".into());
                }
            }
        }
        if failures > 50 {
            break;
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            last_report = Instant::now();
            eprintln!(
                "    ... {} sessions after {:.0} s",
                socks.len(),
                t0.elapsed().as_secs_f64()
            );
        }
    }
    r.sessions_secs = t0.elapsed().as_secs_f64();
    r.sessions_opened = socks.len();
    let mut notes = Vec::new();
    if socks.len() < n {
        notes.push(if failures > 50 {
            format!(
                "stopped after {failures} failed handshakes (first: {})",
                first_error.as_deref().unwrap_or("?")
            )
        } else {
            format!("stopped at the {:.0} s cap", cap.as_secs_f64())
        });
    } else if failures > 0 {
        notes.push(format!(
            "{failures} handshakes failed and were retried (first: {})",
            first_error.as_deref().unwrap_or("?")
        ));
    }
    // Let the router finish whatever joining costs it (meta events, allocations).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_with = proc_rss_kib(pid)?;
    r.sessions_alive = socks.iter().filter(|s| still_open(s)).count();
    if r.sessions_alive < socks.len() {
        notes.push(format!(
            "{} of them closed or got data while idle",
            socks.len() - r.sessions_alive
        ));
    }
    r.rss_with_kib = Some(rss_with);
    let base = r.rss_idle_kib.or(r.rss_before_kib).unwrap_or(0);
    if !socks.is_empty() {
        r.per_session_kib = Some((rss_with as f64 - base as f64) / socks.len() as f64);
    }
    // A process that already had this much resident before (its peak RSS, VmHWM, is at
    // least the RSS with all the new sessions) may have placed them in memory freed by
    // earlier sessions: allocators keep freed memory, so RSS never went down.
    if let (Some(hwm), Some(before)) = (r.hwm_before_kib, r.rss_before_kib) {
        let grew = rss_with.saturating_sub(before);
        if hwm + 1024 >= rss_with && grew * 4 < (socks.len() as u64) {
            r.reused_memory = true;
            notes.push(format!(
                "RSS grew by only {:.1} MiB: the process already held {:.1} MiB (peak {:.1} MiB) from earlier \
                 sessions that it freed but never returned, and reused it, so this per-session figure is \
                 not meaningful (only a freshly started process gives one)",
                grew as f64 / 1024.0,
                before as f64 / 1024.0,
                hwm as f64 / 1024.0
            ));
        }
    }
    r.sessions_note = (!notes.is_empty()).then(|| notes.join("; "));
    eprintln!(
        "    {} idle sessions in {:.1} s ({} still open): RSS {:.1} MiB (before {:.1} MiB), {:.2} KiB/session",
        socks.len(),
        r.sessions_secs,
        r.sessions_alive,
        rss_with as f64 / 1024.0,
        base as f64 / 1024.0,
        r.per_session_kib.unwrap_or(f64::NAN)
    );
    drop(socks);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Floor: a bare TCP echo process (no WAMP, no router logic)

/// `router-compare echo`: a blocking TCP echo server, one thread per connection; prints its
/// port, exits when stdin closes.
fn echo_main() -> Result<(), BoxErr> {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    println!("ECHO {}", listener.local_addr()?.port());
    std::io::stdout().flush()?;
    std::thread::spawn(|| {
        let mut b = [0u8; 16];
        while let Ok(n) = std::io::stdin().read(&mut b) {
            if n == 0 {
                break;
            }
        }
        std::process::exit(0);
    });
    for stream in listener.incoming() {
        let mut s = stream?;
        s.set_nodelay(true)?;
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 || s.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        });
    }
    Ok(())
}

struct EchoProc(Child);

impl Drop for EchoProc {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[derive(Default, Debug, Clone)]
struct Floor {
    rtts: u64,
    rtt_per_s: Option<f64>,
    p50_us: Option<f64>,
    echo_cpu_us: Option<f64>,
    gen_cpu_us: Option<f64>,
}

/// Sequential 30-byte round trips to the echo process: what two hops between this process
/// and another one cost on this machine, with nothing else to do. A routed call is two
/// such round trips (caller → router → callee and back), so it cannot beat half this rate.
async fn floor_phase(o: &Opts) -> Result<Floor, BoxErr> {
    let mut child = Command::new(std::env::current_exe()?)
        .arg("echo")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let out = child.stdout.take().ok_or("no echo stdout")?;
    let child = EchoProc(child);
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line)?;
    let port: u16 = line
        .trim()
        .strip_prefix("ECHO ")
        .ok_or("echo process did not start")?
        .parse()?;
    let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
    s.set_nodelay(true)?;
    let msg = [0x5au8; 30];
    let mut back = [0u8; 30];
    for _ in 0..500 {
        s.write_all(&msg).await?;
        s.read_exact(&mut back).await?;
    }
    let dur = o.secs.min(Duration::from_secs(2));
    let mut lat = Vec::with_capacity(100_000);
    let m = Meter::start(child.0.id())?;
    while m.t0.elapsed() < dur {
        let t = Instant::now();
        s.write_all(&msg).await?;
        s.read_exact(&mut back).await?;
        lat.push(t.elapsed());
    }
    let sp = m.stop()?;
    lat.sort();
    let n = lat.len() as u64;
    let f = Floor {
        rtts: n,
        rtt_per_s: Some(n as f64 / sp.wall.as_secs_f64()),
        p50_us: Some(percentile(&lat, 0.5)),
        echo_cpu_us: Some(sp.router_us / n as f64),
        gen_cpu_us: Some(sp.gen_us / n as f64),
    };
    eprintln!(
        "    bare TCP echo: {n} round trips, {:.0}/s, p50 {:.0} µs, echo process {:.1} µs CPU/round trip, load generator {:.1} µs",
        f.rtt_per_s.unwrap_or(0.0),
        f.p50_us.unwrap_or(0.0),
        f.echo_cpu_us.unwrap_or(0.0),
        f.gen_cpu_us.unwrap_or(0.0)
    );
    Ok(f)
}

// ---------------------------------------------------------------------------------------
// One router, all phases

async fn throughput_phases(
    name: &str,
    addr: SocketAddr,
    pid: u32,
    o: &Opts,
    rep: usize,
    errors: &mut Vec<String>,
    started: Instant,
) -> Tp {
    let mut tp = Tp::default();
    let prefix = format!("bench.rc{}.{name}{rep}", std::process::id());
    let log = |what: &str| {
        eprintln!(
            "[{:>5.1}s] run {}/{}, {name}: {what}",
            started.elapsed().as_secs_f64(),
            rep + 1,
            o.repeat
        )
    };
    let mut err = |what: String| errors.push(format!("run {}: {what}", rep + 1));
    match background_cpu(pid, Duration::from_millis(500)).await {
        Ok(p) => tp.bg_cpu_pct = Some(p),
        Err(e) => err(format!("background CPU: {e}")),
    }
    log("calls");
    let cap = o.secs * 3 + Duration::from_secs(30);
    match tokio::time::timeout(cap, call_phases(addr, pid, &prefix, o, &mut tp)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => err(format!("calls: {e}")),
        Err(_) => err(format!("calls: phase exceeded {cap:?}")),
    }
    for (slot, subs) in [(0usize, 1usize), (1, o.subs)] {
        log(&format!("events, {subs} subscriber(s)"));
        let topic = format!("{prefix}.ev{subs}");
        tp.ev[slot].subs = subs;
        match tokio::time::timeout(cap, events_phase(addr, pid, &topic, subs, o)).await {
            Ok(Ok(ev)) => tp.ev[slot] = ev,
            Ok(Err(e)) => err(format!("events to {subs} subscriber(s): {e}")),
            Err(_) => err(format!(
                "events to {subs} subscriber(s): phase exceeded {cap:?}"
            )),
        }
        quiesce(pid, Duration::from_secs(3)).await;
    }
    tp
}

#[allow(clippy::too_many_arguments)]
async fn memory_phase(
    name: &str,
    addr: SocketAddr,
    pid: u32,
    n: usize,
    open_cap: Duration,
    o: &Opts,
    r: &mut Results,
    started: Instant,
) {
    eprintln!(
        "[{:>5.1}s] {name}: {n} idle sessions (batches of {}, at most {:.0} s)",
        started.elapsed().as_secs_f64(),
        o.connect_batch,
        open_cap.as_secs_f64()
    );
    let cap = open_cap + Duration::from_secs(30);
    match tokio::time::timeout(cap, idle_sessions_phase(addr, pid, n, open_cap, o, r)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => r.errors.push(format!("idle sessions: {e}")),
        Err(_) => r.errors.push(format!("idle sessions: phase exceeded {cap:?}")),
    }
}

async fn run(o: Opts, sessions: usize, nofile: (u64, u64)) -> Result<(), BoxErr> {
    let started = Instant::now();
    let do_ours = o.only.as_deref() != Some("crossbar");
    let do_xbar = o.only.as_deref() != Some("ours");
    let load0 = loadavg();

    // Crossbar first: is it there, and which process is its router worker?
    let mut xbar_info = None;
    if do_xbar {
        std::net::TcpStream::connect_timeout(&o.crossbar_raw, Duration::from_secs(2)).map_err(
            |e| {
                format!(
                    "Crossbar not reachable at tcp://{}: {e} (start it with shared/interop/crossbar/start.sh)",
                    o.crossbar_raw
                )
            },
        )?;
        let (pid, cmdline) = find_crossbar_worker(o.crossbar_pid)?;
        eprintln!("Crossbar router worker: pid {pid} ({cmdline})");
        xbar_info = Some((pid, cmdline));
    }

    let mut ours = Results::default();
    let mut xbar = Results::default();
    let mut ours_version = String::new();

    let router = if do_ours {
        ours_version = Command::new(&o.wamp_bin)
            .arg("--version")
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
            .unwrap_or_default();
        let router = RouterProc::start(&o.wamp_bin)?;
        eprintln!(
            "[{:>5.1}s] wamp router: pid {}, {} and tcp://{}",
            started.elapsed().as_secs_f64(),
            router.pid(),
            router.ws_url,
            router.raw_addr
        );
        ours.pid = router.pid();
        // Idle: after start, no session ever.
        tokio::time::sleep(Duration::from_millis(500)).await;
        ours.rss_idle_kib = Some(proc_rss_kib(router.pid())?);
        if !o.skip_memory {
            let cap = o.session_cap;
            let addr = if o.idle_websocket {
                router
                    .ws_url
                    .trim_start_matches("ws://")
                    .trim_end_matches("/ws")
                    .parse()?
            } else {
                router.raw_addr
            };
            memory_phase(
                "wamp router",
                addr,
                router.pid(),
                sessions,
                cap,
                &o,
                &mut ours,
                started,
            )
            .await;
            quiesce(router.pid(), Duration::from_secs(10)).await;
        }
        Some(router)
    } else {
        None
    };
    if let Some((pid, _)) = &xbar_info {
        xbar.pid = *pid;
        xbar.rss_found_kib = Some(proc_rss_kib(*pid)?);
        xbar.established_by_others = Some(established_to(18080..=18084));
    }

    // The throughput phases: repetitions, alternating between the routers so that whatever
    // else happens on the machine hits both alike; the table shows medians.
    let mut floors = Vec::new();
    for rep in 0..o.repeat {
        eprintln!(
            "[{:>5.1}s] run {}/{}: floor (bare TCP echo process)",
            started.elapsed().as_secs_f64(),
            rep + 1,
            o.repeat
        );
        match floor_phase(&o).await {
            Ok(f) => floors.push(f),
            Err(e) => eprintln!("    floor: {e}"),
        }
        if let Some(r) = &router {
            let tp =
                throughput_phases("ours", r.raw_addr, r.pid(), &o, rep, &mut ours.errors, started)
                    .await;
            ours.runs.push(tp);
        }
        if let Some((pid, _)) = &xbar_info {
            let tp = throughput_phases(
                "crossbar",
                o.crossbar_raw,
                *pid,
                &o,
                rep,
                &mut xbar.errors,
                started,
            )
            .await;
            xbar.runs.push(tp);
        }
    }
    ours.tp = combine(&ours.runs);
    xbar.tp = combine(&xbar.runs);
    let floor = Floor {
        rtts: floors.iter().map(|f| f.rtts).sum(),
        rtt_per_s: median(floors.iter().filter_map(|f| f.rtt_per_s).collect()),
        p50_us: median(floors.iter().filter_map(|f| f.p50_us).collect()),
        echo_cpu_us: median(floors.iter().filter_map(|f| f.echo_cpu_us).collect()),
        gen_cpu_us: median(floors.iter().filter_map(|f| f.gen_cpu_us).collect()),
    };

    if let Some((pid, _)) = &xbar_info {
        let pid = *pid;
        if !o.skip_memory {
            quiesce(pid, Duration::from_secs(5)).await;
            // Stay within the deadline: leave ~45 s for settling, teardown and the report.
            let left = o
                .deadline
                .saturating_sub(started.elapsed())
                .saturating_sub(Duration::from_secs(45));
            let cap = o.session_cap.min(left).max(Duration::from_secs(5));
            let addr = if o.idle_websocket {
                SocketAddr::from(([127, 0, 0, 1], 18080))
            } else {
                o.crossbar_raw
            };
            memory_phase(
                "Crossbar.io",
                addr,
                pid,
                sessions,
                cap,
                &o,
                &mut xbar,
                started,
            )
            .await;
            // Give Crossbar a moment to tear the sessions down (it is shared).
            quiesce(pid, Duration::from_secs(15)).await;
        }
    }
    if let Some(r) = router {
        eprintln!(
            "[{:>5.1}s] stopping wamp router (pid {})",
            started.elapsed().as_secs_f64(),
            r.pid()
        );
        drop(r);
    }
    let load1 = loadavg();
    print_report(
        &o,
        &ours,
        &xbar,
        &floor,
        xbar_info.as_ref().map(|(p, c)| (*p, c.as_str())),
        &ours_version,
        sessions,
        nofile,
        (&load0, &load1),
        started.elapsed(),
    );
    Ok(())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------------------
// Report

fn f0(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:.0}"),
        _ => "—".into(),
    }
}

fn f1(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:.1}"),
        _ => "—".into(),
    }
}

fn f2(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:.2}"),
        _ => "—".into(),
    }
}

fn mib(k: Option<u64>) -> String {
    k.map(|k| format!("{:.1}", k as f64 / 1024.0))
        .unwrap_or_else(|| "—".into())
}

fn verdict(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "✅ met",
        Some(false) => "❌ missed",
        None => "—",
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if a.is_finite() && b.is_finite() && b > 0.0 => Some(a / b),
        _ => None,
    }
}

#[allow(clippy::too_many_arguments)]
fn print_report(
    o: &Opts,
    ours: &Results,
    xbar: &Results,
    floor: &Floor,
    xbar_info: Option<(u32, &str)>,
    ours_version: &str,
    sessions: usize,
    nofile: (u64, u64),
    load: (&str, &str),
    took: Duration,
) {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_default();
    println!("## `wamp router` vs Crossbar.io — one load generator");
    println!();
    println!(
        "- Machine: **{cores} cores** ({cpu_model}), **shared by the router under test and the load generator** \
         (and by whatever else runs here); load average before/after: {} / {}. Absolute numbers are bounded by \
         the load generator's own CPU (see its rows): on 2 cores, router + load generator together cannot use more \
         than 2 s of CPU per second.",
        load.0, load.1
    );
    println!(
        "- Routers: `wamp router` ({}, pid {}, started by this run on free ports, realm1, anonymous) and \
         Crossbar.io 26.10.1 (already running, router worker pid {}: `{}`; realm1, anonymous role with \
         caller/publisher disclosure on, per its config; {} established connections to its ports 18080–18084 \
         by others when we began).",
        if ours_version.is_empty() { "wamp" } else { ours_version },
        ours.pid,
        xbar_info.map(|(p, _)| p.to_string()).unwrap_or_else(|| "—".into()),
        xbar_info.map(|(_, c)| c).unwrap_or("—"),
        xbar.established_by_others.map(|n| n.to_string()).unwrap_or_else(|| "?".into()),
    );
    println!(
        "- Load generator: this process, tokio {} runtime, our client `wamp::Session` over \
         **RawSocket + MessagePack** for every session, identical for both routers. Calls: one callee session \
         (returns `[1]`), one caller session; sequential = one call at a time, 64 in flight = \
         `buffer_unordered(64)` on the same caller; {:.0} s each after warm-up (300 / 3000 calls). \
         Events: one publisher session publishing `[i]` **without acknowledge**, at most {} publications ahead \
         of the slowest subscriber (flow control by counting deliveries, so no router queue overflows), \
         {:.0} s after 2×{} warm-up; events/s = deliveries counted at the subscribers per second. \
         **{} repetitions** of all throughput phases, alternating ours / Crossbar; the table shows the \
         **median** of each metric (every run's value is listed below the table).",
        if o.current_thread { "current-thread" } else { "multi-thread" },
        o.secs.as_secs_f64(),
        o.window,
        o.secs.as_secs_f64(),
        o.window,
        o.repeat
    );
    println!(
        "- Router CPU = utime+stime of the router process from /proc/PID/stat (clock ticks of 1/{} s) over the \
         phase, divided by its calls/deliveries; load generator CPU = getrusage(RUSAGE_SELF) over the same phase. \
         Floor: sequential 30-byte round trips between the load generator and a bare blocking TCP echo process \
         (no WAMP). Idle sessions: raw {} handshake + MessagePack HELLO per TCP connection (WELCOME checked, then \
         left idle), {} concurrent handshakes per batch, at most {:.0} s per router; RSS = VmRSS from \
         /proc/PID/status 2 s after the last WELCOME. Open-files limit raised to {} (hard {}).",
        clk_tck(),
        if o.idle_websocket { "WebSocket (/ws, wamp.2.msgpack)" } else { "RawSocket" },
        o.connect_batch,
        o.session_cap.as_secs_f64(),
        nofile.0,
        nofile.1
    );
    println!();
    println!("| metric | `wamp router` | Crossbar.io | ours vs Crossbar | target | result |");
    println!("|---|---:|---:|---:|---|---|");
    let times = |x: Option<f64>| match x {
        Some(v) => format!("{v:.1}×"),
        None => "—".into(),
    };
    // Throughput rows: ratio ours / Crossbar, target ≥ 10×.
    let tp = |label: &str, a: Option<f64>, b: Option<f64>| {
        let r = ratio(a, b);
        println!(
            "| {label} | {} | {} | {} | ≥ 10× Crossbar | {} |",
            f0(a),
            f0(b),
            times(r),
            verdict(r.map(|r| r >= 10.0))
        );
    };
    tp("calls/s, sequential (1 caller)", ours.tp.seq_cps, xbar.tp.seq_cps);
    tp("calls/s, 64 in flight", ours.tp.inf_cps, xbar.tp.inf_cps);
    tp("events/s, 1 subscriber", ours.tp.ev[0].eps, xbar.tp.ev[0].eps);
    tp(
        &format!("events/s, {} subscribers (deliveries/s)", o.subs),
        ours.tp.ev[1].eps,
        xbar.tp.ev[1].eps,
    );
    let floor_cps = floor.rtt_per_s.map(|r| r / 2.0);
    println!(
        "| floor: bare TCP echo process, round trips/s ÷ 2 (a call is 2 round trips) | {} | | max. {} vs Crossbar's sequential | (info) | |",
        f0(floor_cps),
        times(ratio(floor_cps, xbar.tp.seq_cps)),
    );
    let less = |a: Option<f64>, b: Option<f64>| match ratio(b, a) {
        Some(r) if r >= 1.0 => format!("{r:.1}× less"),
        Some(r) if r > 0.0 => format!("{:.1}× more", 1.0 / r),
        _ => "—".into(),
    };
    println!(
        "| **router CPU µs/call** (both call phases) | {} | {} | {} | ≤ 10 µs (Crossbar ≈ 140) | {} |",
        f1(ours.tp.calls_router_us),
        f1(xbar.tp.calls_router_us),
        less(ours.tp.calls_router_us, xbar.tp.calls_router_us),
        verdict(ours.tp.calls_router_us.map(|v| v <= 10.0))
    );
    let info = |label: &str, a: String, b: String, rel: String| {
        println!("| {label} | {a} | {b} | {rel} | (info) | |");
    };
    info(
        "router CPU in kernel (sys) during the call phases, %",
        f0(ours.tp.calls_router_sys_pct),
        f0(xbar.tp.calls_router_sys_pct),
        String::new(),
    );
    let cs = |x: Option<(f64, f64)>| match x {
        Some((r, g)) => format!("{r:.2} / {g:.2}"),
        None => "—".into(),
    };
    info(
        "context switches per call, router / load generator: sequential",
        cs(ours.tp.seq_cs),
        cs(xbar.tp.seq_cs),
        String::new(),
    );
    info(
        "context switches per call, router / load generator: 64 in flight",
        cs(ours.tp.inf_cs),
        cs(xbar.tp.inf_cs),
        String::new(),
    );
    info(
        "router CPU µs/call, sequential",
        f1(ours.tp.seq_router_us),
        f1(xbar.tp.seq_router_us),
        less(ours.tp.seq_router_us, xbar.tp.seq_router_us),
    );
    info(
        "router CPU µs/call, 64 in flight",
        f1(ours.tp.inf_router_us),
        f1(xbar.tp.inf_router_us),
        less(ours.tp.inf_router_us, xbar.tp.inf_router_us),
    );
    info(
        "router CPU µs/delivery, 1 subscriber",
        f2(ours.tp.ev[0].router_us),
        f2(xbar.tp.ev[0].router_us),
        less(ours.tp.ev[0].router_us, xbar.tp.ev[0].router_us),
    );
    info(
        &format!("router CPU µs/delivery, {} subscribers", o.subs),
        f2(ours.tp.ev[1].router_us),
        f2(xbar.tp.ev[1].router_us),
        less(ours.tp.ev[1].router_us, xbar.tp.ev[1].router_us),
    );
    info(
        "sequential call latency p50 / p99 µs",
        format!("{} / {}", f0(ours.tp.seq_p50_us), f0(ours.tp.seq_p99_us)),
        format!("{} / {}", f0(xbar.tp.seq_p50_us), f0(xbar.tp.seq_p99_us)),
        format!(
            "bare echo round trip p50 {} µs; echo process {} µs CPU per round trip",
            f0(floor.p50_us),
            f1(floor.echo_cpu_us)
        ),
    );
    info(
        "load generator CPU µs/call, sequential",
        f1(ours.tp.seq_gen_us),
        f1(xbar.tp.seq_gen_us),
        String::new(),
    );
    info(
        "load generator CPU µs/call, 64 in flight",
        f1(ours.tp.inf_gen_us),
        f1(xbar.tp.inf_gen_us),
        String::new(),
    );
    info(
        "load generator CPU µs/delivery, 1 / N subscribers",
        format!("{} / {}", f2(ours.tp.ev[0].gen_us), f2(ours.tp.ev[1].gen_us)),
        format!("{} / {}", f2(xbar.tp.ev[0].gen_us), f2(xbar.tp.ev[1].gen_us)),
        String::new(),
    );
    info(
        "router CPU when not loaded by us (% of a core, 0.5 s before each run)",
        f1(ours.tp.bg_cpu_pct),
        f1(xbar.tp.bg_cpu_pct),
        String::new(),
    );
    println!(
        "| **router RSS idle** (MiB) | {} | {} | | ≤ 10 MiB | {} |",
        mib(ours.rss_idle_kib),
        xbar.rss_found_kib
            .map(|k| format!("{:.1} (as found, not fresh)", k as f64 / 1024.0))
            .unwrap_or_else(|| "—".into()),
        verdict(ours.rss_idle_kib.map(|k| k as f64 / 1024.0 <= 10.0))
    );
    let opened = |r: &Results| {
        if r.rss_with_kib.is_none() {
            "—".to_owned()
        } else {
            format!(
                "{} in {:.1} s{}",
                r.sessions_opened,
                r.sessions_secs,
                if r.sessions_alive < r.sessions_opened {
                    format!(" ({} still open)", r.sessions_alive)
                } else {
                    String::new()
                }
            )
        }
    };
    info(
        &format!("idle sessions opened (of {sessions})"),
        opened(ours),
        opened(xbar),
        String::new(),
    );
    info(
        "router RSS with those idle sessions (MiB)",
        mib(ours.rss_with_kib),
        mib(xbar.rss_with_kib),
        String::new(),
    );
    let per_session = |r: &Results| {
        if r.reused_memory {
            format!("{} (reused freed memory, see notes)", f2(r.per_session_kib))
        } else {
            f2(r.per_session_kib)
        }
    };
    let usable = |r: &Results| r.per_session_kib.filter(|_| !r.reused_memory);
    println!(
        "| **RSS per idle session** (KiB) | {} | {} | {} | ≤ 4 KiB | {} |",
        per_session(ours),
        per_session(xbar),
        less(usable(ours), usable(xbar)),
        verdict(ours.per_session_kib.map(|v| v <= 4.0))
    );
    println!();
    let list = |r: &Results, f: &dyn Fn(&Tp) -> Option<f64>, digits: usize| {
        r.runs
            .iter()
            .map(|t| match f(t) {
                Some(v) if v.is_finite() => format!("{v:.digits$}"),
                _ => "—".into(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("Every run (ours | Crossbar):");
    println!();
    type Getter = fn(&Tp) -> Option<f64>;
    let rows: [(&str, Getter, usize); 7] = [
        ("calls/s sequential", |t| t.seq_cps, 0),
        ("calls/s 64 in flight", |t| t.inf_cps, 0),
        ("events/s 1 subscriber", |t| t.ev[0].eps, 0),
        ("events/s N subscribers", |t| t.ev[1].eps, 0),
        ("router CPU µs/call (both call phases)", |t| t.calls_router_us, 1),
        ("router CPU µs/call sequential", |t| t.seq_router_us, 1),
        ("router CPU µs/call 64 in flight", |t| t.inf_router_us, 1),
    ];
    for (label, f, d) in rows {
        println!("- {label}: {} | {}", list(ours, &f, d), list(xbar, &f, d));
    }
    println!();
    println!(
        "Per idle session = (RSS with sessions − RSS before them) / sessions opened; for `wamp router` \
         \"before\" is the idle RSS right after start, for Crossbar (shared, long-running) the RSS just before \
         opening them ({}).",
        mib(xbar.rss_before_kib) + " MiB"
    );
    let mut notes = Vec::new();
    for (name, r) in [("wamp router", ours), ("Crossbar.io", xbar)] {
        if let Some(n) = &r.sessions_note {
            notes.push(format!("{name}, idle sessions: {n}"));
        }
        for e in &r.errors {
            notes.push(format!("{name}: {e}"));
        }
    }
    if !notes.is_empty() {
        println!();
        println!("Notes / errors:");
        for n in notes {
            println!("- {n}");
        }
    }
    println!();
    println!(
        "Counts: ours {} + {} calls, {} + {} deliveries ({} + {} publications); Crossbar {} + {} calls, \
         {} + {} deliveries ({} + {} publications); {} echo round trips. Run took {:.0} s.",
        ours.tp.seq_n,
        ours.tp.inf_n,
        ours.tp.ev[0].deliveries,
        ours.tp.ev[1].deliveries,
        ours.tp.ev[0].published,
        ours.tp.ev[1].published,
        xbar.tp.seq_n,
        xbar.tp.inf_n,
        xbar.tp.ev[0].deliveries,
        xbar.tp.ev[1].deliveries,
        xbar.tp.ev[0].published,
        xbar.tp.ev[1].published,
        floor.rtts,
        took.as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------

fn main() {
    if std::env::args().nth(1).as_deref() == Some("flood") {
        let args: Vec<String> = std::env::args().skip(2).collect();
        let result = flood::main(&args);
        let pid = ROUTER_PID.load(Ordering::SeqCst);
        if pid != 0 {
            // SAFETY: our own child; it is stopped when its guard drops, this is a backstop.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
        }
        if let Err(e) = result {
            eprintln!("router-compare flood: {e}");
            std::process::exit(1);
        }
        return;
    }
    if std::env::args().nth(1).as_deref() == Some("echo") {
        if let Err(e) = echo_main() {
            eprintln!("router-compare echo: {e}");
            std::process::exit(1);
        }
        return;
    }
    let mut o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("router-compare: {e}");
            std::process::exit(2);
        }
    };
    if o.only.as_deref() != Some("crossbar") && !o.wamp_bin.exists() {
        eprintln!(
            "router-compare: {} not found; build it with `cargo build --release -p wamp-cli` in /work/main \
             or pass --wamp-bin",
            o.wamp_bin.display()
        );
        std::process::exit(2);
    }
    // Every idle session is one socket here and one in the router: raise the soft limit (the
    // router subprocess inherits it), never above the hard limit.
    let want = o.sessions as u64 + 1024;
    let nofile = raise_nofile(want);
    let mut sessions = o.sessions;
    if nofile.0 < want {
        sessions = (nofile.0.saturating_sub(1024)) as usize;
        eprintln!(
            "router-compare: open-files limit {} (hard {}): only {sessions} idle sessions",
            nofile.0, nofile.1
        );
    }
    o.sessions = sessions;

    // Watchdog: the run ends by itself, whatever hangs.
    let deadline = o.deadline;
    std::thread::spawn(move || {
        std::thread::sleep(deadline);
        eprintln!("router-compare: deadline of {deadline:?} reached, giving up");
        let pid = ROUTER_PID.load(Ordering::SeqCst);
        if pid != 0 {
            // SAFETY: our own child.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
        std::process::exit(3);
    });

    let rt = if o.current_thread {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    }
    .enable_all()
    .build()
    .expect("tokio runtime");
    let result = rt.block_on(run(o, sessions, nofile));
    rt.shutdown_timeout(Duration::from_millis(500));
    if let Err(e) = result {
        eprintln!("router-compare: error: {e}");
        std::process::exit(1);
    }
}
