//! `router-compare flood`: the router's RSS while a publisher floods large events to
//! subscribers that stopped reading and to healthy ones, and after the flood.
//!
//! The router under test is `wamp router` with `[limits] outbound_queue_bytes` set (8 MiB
//! unless `--queue-mib`). One publisher (our client, RawSocket + MessagePack) publishes
//! events of `--event-kib` KiB without acknowledge, as fast as the healthy subscribers take
//! them (at most `--window` ahead of the slowest: a healthy subscriber is never a slow
//! consumer). Stalled subscribers are raw RawSocket connections that join, subscribe and
//! never read again; each one lives `--stall-secs`, then is replaced by a new one, so the
//! router keeps meeting fresh stalled subscribers for the whole flood. Rounds with 1, 4 and
//! 16 stalled subscribers at once (`--rounds`), one after another in the same router process.
//!
//! Printed: a markdown table of the event rate, RSS before, peak during, and after each round
//! (at the times of `--rss-at`, and how long it took to fall to its last level), next to the
//! bound the limits imply.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

use crate::{
    hello_frame, open_idle_session, proc_rss_kib, session_builder, BoxErr, Progress, RouterProc,
};

struct FloodOpts {
    wamp_bin: std::path::PathBuf,
    secs: Duration,
    healthy: usize,
    event_kib: usize,
    queue_mib: usize,
    window: u64,
    stall: Duration,
    rounds: Vec<usize>,
    /// When to read RSS after a round (everyone gone), ascending; the last is the settle time.
    rss_at: Vec<Duration>,
}

const FLOOD_USAGE: &str = "usage: router-compare flood [--wamp-bin PATH] [--secs S] [--healthy K] \
[--event-kib N] [--queue-mib N] [--window N] [--stall-secs S] [--rounds 1,4,16] [--rss-at 1,10 | --settle-secs S]";

fn parse(args: &[String]) -> Result<FloodOpts, BoxErr> {
    let mut o = FloodOpts {
        wamp_bin: crate::Opts::default().wamp_bin,
        secs: Duration::from_secs(10),
        healthy: 4,
        event_kib: 64,
        queue_mib: 8,
        window: 32,
        stall: Duration::from_secs(3),
        rounds: vec![1, 4, 16],
        rss_at: vec![Duration::from_secs(1), Duration::from_secs(10)],
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            eprintln!("{FLOOD_USAGE}");
            std::process::exit(0);
        }
        let v = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{FLOOD_USAGE}"))?;
        match flag.as_str() {
            "--wamp-bin" => o.wamp_bin = v.into(),
            "--secs" => o.secs = Duration::from_secs_f64(v.parse()?),
            "--healthy" => o.healthy = v.parse::<usize>()?.max(1),
            "--event-kib" => o.event_kib = v.parse::<usize>()?.max(1),
            "--queue-mib" => o.queue_mib = v.parse::<usize>()?.max(1),
            "--window" => o.window = v.parse::<u64>()?.max(1),
            "--stall-secs" => o.stall = Duration::from_secs_f64(v.parse()?),
            "--settle-secs" => {
                o.rss_at = vec![
                    Duration::from_secs(1),
                    Duration::try_from_secs_f64(v.parse()?)?,
                ]
            }
            "--rss-at" => {
                o.rss_at = v
                    .split(',')
                    .map(|t| -> Result<Duration, BoxErr> {
                        Ok(Duration::try_from_secs_f64(t.trim().parse()?)?)
                    })
                    .collect::<Result<_, _>>()?
            }
            "--rounds" => {
                o.rounds = v
                    .split(',')
                    .map(|n| n.trim().parse::<usize>())
                    .collect::<Result<_, _>>()?
            }
            _ => return Err(format!("unknown flag {flag}\n{FLOOD_USAGE}").into()),
        }
    }
    o.rss_at.sort();
    o.rss_at.dedup();
    if o.rss_at.is_empty() {
        return Err(format!("--rss-at needs at least one time\n{FLOOD_USAGE}").into());
    }
    Ok(o)
}

/// SUBSCRIBE as MessagePack in a RawSocket frame: [32, 1, {}, topic].
fn subscribe_frame(topic: &str) -> Vec<u8> {
    let mut m = vec![0x94, 32, 1, 0x80, 0xd9, topic.len() as u8];
    m.extend_from_slice(topic.as_bytes());
    let len = m.len() as u32;
    let mut f = len.to_be_bytes().to_vec();
    f[0] = 0;
    f.extend_from_slice(&m);
    f
}

/// A subscriber that joins, subscribes, reads SUBSCRIBED and then nothing more.
async fn stalled_subscriber(addr: SocketAddr, topic: &str) -> Result<TcpStream, BoxErr> {
    let mut s = open_idle_session(addr, &hello_frame()).await?;
    s.write_all(&subscribe_frame(topic)).await?;
    let mut header = [0u8; 4];
    s.read_exact(&mut header).await?;
    let len = u32::from_be_bytes([0, header[1], header[2], header[3]]) as usize;
    let mut msg = vec![0u8; len];
    s.read_exact(&mut msg).await?;
    // SUBSCRIBED = [33, request, subscription].
    if msg.get(1) != Some(&33) {
        return Err(format!(
            "expected SUBSCRIBED, got {:02x?}",
            &msg[..msg.len().min(20)]
        )
        .into());
    }
    Ok(s)
}

/// Reads what the router sent a stalled subscriber until it closes; whether it ended the
/// session as a slow consumer.
async fn was_cut(mut s: TcpStream) -> bool {
    let needle = b"wamp.error.slow_consumer";
    let mut tail: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    let read_all = async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    tail.extend_from_slice(&buf[..n]);
                    if tail.windows(needle.len()).any(|w| w == needle) {
                        return true;
                    }
                    let keep = tail.len().saturating_sub(needle.len());
                    tail.drain(..keep);
                }
            }
        }
        false
    };
    tokio::time::timeout(Duration::from_secs(20), read_all)
        .await
        .unwrap_or(false)
}

struct Round {
    stalled: usize,
    published: u64,
    delivered_min: u64,
    stalled_opened: usize,
    stalled_cut: usize,
    /// Events published per second of flood (each one delivered to every healthy subscriber).
    events_per_sec: f64,
    before_kib: u64,
    peak_kib: u64,
    /// RSS at each time of `--rss-at` after the round.
    after_kib: Vec<u64>,
    /// From the end of the round until RSS stayed within 1 MiB of its last reading.
    settled_after: Duration,
    bound_kib: u64,
}

async fn round(
    addr: SocketAddr,
    pid: u32,
    n_stalled: usize,
    index: usize,
    o: &FloodOpts,
) -> Result<Round, BoxErr> {
    let topic = format!("bench.flood{}.r{index}", std::process::id());
    let before_kib = proc_rss_kib(pid)?;

    let mut sessions = Vec::new();
    let progress = Arc::new(Progress {
        counts: (0..o.healthy).map(|_| AtomicU64::new(0)).collect(),
        wanted: AtomicU64::new(u64::MAX),
        notify: Notify::new(),
        error: Mutex::new(None),
    });
    let mut readers = Vec::new();
    for k in 0..o.healthy {
        let s = session_builder(addr).connect().await?;
        let mut sub = s.subscribe(topic.as_str()).buffer(usize::MAX).await?;
        let progress = progress.clone();
        readers.push(tokio::spawn(async move {
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
        sessions.push(s);
    }

    // RSS sampled every 10 ms from now until the round is over.
    let peak = Arc::new(AtomicU64::new(before_kib));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        tokio::spawn(async move {
            while sampling.load(Ordering::Acquire) {
                if let Ok(kib) = proc_rss_kib(pid) {
                    peak.fetch_max(kib, Ordering::AcqRel);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };

    // Stalled subscribers: `n_stalled` at any time, each replaced after `stall`.
    let flooding = Arc::new(AtomicBool::new(true));
    let opened = Arc::new(AtomicUsize::new(0));
    let cut = Arc::new(AtomicUsize::new(0));
    let mut stallers = Vec::new();
    for _ in 0..n_stalled {
        let (flooding, opened, cut, topic) =
            (flooding.clone(), opened.clone(), cut.clone(), topic.clone());
        let stall = o.stall;
        stallers.push(tokio::spawn(async move {
            let mut checks = Vec::new();
            while flooding.load(Ordering::Acquire) {
                let s = match stalled_subscriber(addr, &topic).await {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("    stalled subscriber: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                opened.fetch_add(1, Ordering::AcqRel);
                let t0 = Instant::now();
                while flooding.load(Ordering::Acquire) && t0.elapsed() < stall {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                let cut = cut.clone();
                checks.push(tokio::spawn(async move {
                    if was_cut(s).await {
                        cut.fetch_add(1, Ordering::AcqRel);
                    }
                }));
            }
            for c in checks {
                let _ = c.await;
            }
        }));
    }
    // Let the first stalled subscribers subscribe before the flood.
    while opened.load(Ordering::Acquire) < n_stalled {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let publisher = session_builder(addr).connect().await?;
    let payload = "x".repeat(o.event_kib * 1024);
    let mut published = 0u64;
    let t0 = Instant::now();
    let chunk = (o.window / 4).max(1);
    while t0.elapsed() < o.secs {
        let need = (published + chunk).saturating_sub(o.window);
        progress.wait_all(need, Duration::from_secs(30)).await?;
        for _ in 0..chunk {
            publisher
                .publish(topic.as_str())
                .args(&(payload.as_str(),))
                .await?;
            published += 1;
        }
    }
    progress
        .wait_all(published, Duration::from_secs(30))
        .await?;
    let events_per_sec = published as f64 / t0.elapsed().as_secs_f64();
    flooding.store(false, Ordering::Release);
    for s in stallers {
        let _ = s.await;
    }
    let delivered_min = progress.min();

    // After: everyone leaves; RSS every 100 ms until the last time of `--rss-at`.
    for r in &readers {
        r.abort();
    }
    let _ = publisher.leave().await;
    for s in &sessions {
        let _ = s.leave().await;
    }
    drop(sessions);
    let ended = Instant::now();
    let mut trace: Vec<(Duration, u64)> = Vec::new();
    let mut after_kib = Vec::new();
    for &at in &o.rss_at {
        loop {
            let now = ended.elapsed();
            let next = trace
                .last()
                .map_or(Duration::ZERO, |&(t, _)| t + Duration::from_millis(100));
            if next >= at {
                tokio::time::sleep(at.saturating_sub(now)).await;
                break;
            }
            tokio::time::sleep(next.saturating_sub(now)).await;
            trace.push((ended.elapsed(), proc_rss_kib(pid)?));
        }
        let kib = proc_rss_kib(pid)?;
        trace.push((ended.elapsed(), kib));
        after_kib.push(kib);
    }
    sampling.store(false, Ordering::Release);
    let _ = sampler.await;
    let last_kib = *after_kib.last().ok_or("no RSS reading after the round")?;
    // The first sample after which RSS never again rose above the last reading + 1 MiB.
    let settled_after = trace
        .iter()
        .rev()
        .take_while(|&&(_, kib)| kib <= last_kib + 1024)
        .last()
        .map_or(Duration::ZERO, |&(t, _)| t);

    // What the limits allow, over the start: per stalled subscriber its queue and the one
    // batch its writer took from it (see `Outbox`), twice (the one being replaced may still
    // hold its queue while its successor fills one), plus the healthy subscribers' windows.
    let event_kib = o.event_kib as u64 + 1;
    let queue_kib = o.queue_mib as u64 * 1024;
    let bound_kib = before_kib
        + 2 * n_stalled as u64 * (2 * queue_kib + event_kib)
        + o.healthy as u64 * o.window * event_kib;
    Ok(Round {
        stalled: n_stalled,
        published,
        delivered_min,
        stalled_opened: opened.load(Ordering::Acquire),
        stalled_cut: cut.load(Ordering::Acquire),
        events_per_sec,
        before_kib,
        peak_kib: peak.load(Ordering::Acquire),
        after_kib,
        settled_after,
        bound_kib,
    })
}

async fn run(o: FloodOpts) -> Result<(), BoxErr> {
    let config =
        std::env::temp_dir().join(format!("router-compare-flood-{}.toml", std::process::id()));
    std::fs::write(
        &config,
        format!(
            "[limits]\noutbound_queue_bytes = {}\n",
            o.queue_mib * 1024 * 1024
        ),
    )?;
    let router = RouterProc::start_with(&o.wamp_bin, Some(&config));
    let _ = std::fs::remove_file(&config);
    let router = router?;
    let pid = router.pid();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_kib = proc_rss_kib(pid)?;
    eprintln!(
        "wamp router pid {pid}, idle RSS {:.1} MiB",
        idle_kib as f64 / 1024.0
    );
    let mut rounds = Vec::new();
    for (i, &n) in o.rounds.iter().enumerate() {
        eprintln!(
            "round {}: {n} stalled subscriber(s) at a time, {} healthy, {:?}",
            i + 1,
            o.healthy,
            o.secs
        );
        let r = round(router.raw_addr, pid, n, i, &o).await?;
        let after: Vec<String> = o
            .rss_at
            .iter()
            .zip(&r.after_kib)
            .map(|(t, &k)| format!("{:.1} ({:?})", k as f64 / 1024.0, t))
            .collect();
        eprintln!(
            "    {} events published ({:.0}/s), {} to each healthy subscriber; {} stalled subscribers, {} cut off; RSS {:.1} → peak {:.1} → {} MiB, within 1 MiB of the last after {:.1} s",
            r.published,
            r.events_per_sec,
            r.delivered_min,
            r.stalled_opened,
            r.stalled_cut,
            r.before_kib as f64 / 1024.0,
            r.peak_kib as f64 / 1024.0,
            after.join(" → "),
            r.settled_after.as_secs_f64()
        );
        rounds.push(r);
    }
    let mib = |k: u64| format!("{:.1}", k as f64 / 1024.0);
    println!(
        "`router-compare flood`: `wamp router` ({}), `outbound_queue_bytes` = {} MiB, events of {} KiB published without acknowledge for {:?} per round, {} healthy subscribers (publisher at most {} events ahead of the slowest), stalled subscribers replaced every {:?}; idle RSS {} MiB.\n",
        o.wamp_bin.display(),
        o.queue_mib,
        o.event_kib,
        o.secs,
        o.healthy,
        o.window,
        o.stall,
        mib(idle_kib)
    );
    let after_heads: String = o
        .rss_at
        .iter()
        .map(|t| format!(" RSS {} s after (MiB) |", t.as_secs_f64()))
        .collect();
    println!("| stalled at a time | events published | events/s | delivered to each healthy subscriber | stalled subscribers (cut off as slow consumers) | RSS before (MiB) | peak RSS (MiB) | bound from the limits (MiB) |{after_heads} s until within 1 MiB of the last |");
    println!(
        "|---:|---:|---:|---:|---:|---:|---:|---:|{}---:|",
        "---:|".repeat(o.rss_at.len())
    );
    for r in &rounds {
        let after: String = r
            .after_kib
            .iter()
            .map(|&k| format!(" {} |", mib(k)))
            .collect();
        println!(
            "| {} | {} | {:.0} | {} | {} ({}) | {} | {} | {} |{after} {:.1} |",
            r.stalled,
            r.published,
            r.events_per_sec,
            r.delivered_min,
            r.stalled_opened,
            r.stalled_cut,
            mib(r.before_kib),
            mib(r.peak_kib),
            mib(r.bound_kib),
            r.settled_after.as_secs_f64()
        );
    }
    Ok(())
}

/// Entry point of `router-compare flood ARGS`.
pub(crate) fn main(args: &[String]) -> Result<(), BoxErr> {
    let o = parse(args)?;
    if !o.wamp_bin.exists() {
        return Err(format!("{} not found (--wamp-bin)", o.wamp_bin.display()).into());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(o))
}
