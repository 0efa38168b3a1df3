//! Client benchmark: our client (`wamp-runtime`) vs `wamp_async` 0.3, through one Crossbar.io
//! router. See README.md.
//!
//! One binary, three modes:
//! - (no mode) orchestrator: starts a `helper`, then one `measure` process per row (and per
//!   repetition), collects their results, prints a markdown table on stdout;
//! - `helper`: our client as the common counterpart: callee of `<prefix>.echo`, and
//!   `<prefix>.pub_burst` which publishes M events from a second session; also a plain
//!   WebSocket echo server for the baseline row;
//! - `measure`: the measured client, alone in its process, so getrusage(RUSAGE_SELF) is
//!   its CPU (all threads: the tokio workers, the client's own tasks).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt, TryStreamExt};

/// The router's WebSocket URL: Crossbar.io's by default, or `CLIENT_COMPARE_WS_URL`
/// (e.g. a `wamp router` for the comparison through our own router).
fn ws_url() -> String {
    std::env::var("CLIENT_COMPARE_WS_URL").unwrap_or_else(|_| "ws://127.0.0.1:18080/ws".into())
}

/// The router's RawSocket URL (`CLIENT_COMPARE_RAW_URL` overrides).
fn raw_url() -> String {
    std::env::var("CLIENT_COMPARE_RAW_URL").unwrap_or_else(|_| "tcp://127.0.0.1:18081".into())
}

/// The port of a `scheme://127.0.0.1:PORT[/path]` URL.
fn url_port(url: &str) -> u16 {
    url.rsplit(':').next().and_then(|p| p.split('/').next()).and_then(|p| p.parse().ok()).unwrap_or(0)
}
const INFLIGHT: usize = 64;

type BoxErr = Box<dyn std::error::Error + Send + Sync>;

// ---------------------------------------------------------------------------------------
// Settings shared by the modes (passed to children on the command line)

#[derive(Clone, Debug)]
struct Params {
    warmup: u64,
    seq: u64,
    inflight_warmup: u64,
    inflight: u64,
    events: u64,
    cap: Duration,
    repeat: usize,
    only: Option<String>,
    wamp_async_raw: bool,
    current_thread: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            warmup: 200,
            seq: 2000,
            inflight_warmup: 500,
            inflight: 50000,
            events: 20000,
            cap: Duration::from_secs(15),
            repeat: 3,
            only: None,
            wamp_async_raw: false,
            current_thread: false,
        }
    }
}

impl Params {
    fn to_args(&self) -> Vec<String> {
        vec![
            "--warmup".into(),
            self.warmup.to_string(),
            "--seq".into(),
            self.seq.to_string(),
            "--inflight-warmup".into(),
            self.inflight_warmup.to_string(),
            "--inflight".into(),
            self.inflight.to_string(),
            "--events".into(),
            self.events.to_string(),
            "--cap-secs".into(),
            self.cap.as_secs().to_string(),
            "--runtime".into(),
            if self.current_thread {
                "current"
            } else {
                "multi"
            }
            .into(),
        ]
    }
}

struct Args {
    mode: String,
    params: Params,
    client: String,
    transport: String,
    ser: String,
    prefix: String,
    echo_port: u16,
}

fn parse_args() -> Result<Args, BoxErr> {
    let mut it = std::env::args().skip(1).peekable();
    let mode = match it.peek() {
        Some(m) if !m.starts_with('-') => it.next().unwrap_or_default(),
        _ => "run".into(),
    };
    let mut a = Args {
        mode,
        params: Params::default(),
        client: String::new(),
        transport: String::new(),
        ser: String::new(),
        prefix: String::new(),
        echo_port: 0,
    };
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            eprintln!(
                "usage: client-compare [--repeat R] [--warmup N] [--seq N] [--inflight-warmup N] \
                 [--inflight N] [--events N] [--cap-secs S] [--only ours|wamp_async|raw-ws] \
                 [--runtime multi|current] [--quick] [--wamp-async-rawsocket]"
            );
            std::process::exit(0);
        }
        if flag == "--quick" {
            a.params.repeat = 1;
            a.params.seq = 500;
            a.params.inflight = 3000;
            a.params.events = 5000;
            continue;
        }
        if flag == "--wamp-async-rawsocket" {
            a.params.wamp_async_raw = true;
            continue;
        }
        let v = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--warmup" => a.params.warmup = v.parse()?,
            "--seq" => a.params.seq = v.parse()?,
            "--inflight-warmup" => a.params.inflight_warmup = v.parse()?,
            "--inflight" => a.params.inflight = v.parse()?,
            "--events" => a.params.events = v.parse()?,
            "--cap-secs" => a.params.cap = Duration::from_secs(v.parse()?),
            "--repeat" => a.params.repeat = v.parse::<usize>()?.max(1),
            "--only" => a.params.only = Some(v),
            "--runtime" => {
                a.params.current_thread = match v.as_str() {
                    "current" => true,
                    "multi" => false,
                    _ => return Err("--runtime takes current or multi".into()),
                }
            }
            "--client" => a.client = v,
            "--transport" => a.transport = v,
            "--ser" => a.ser = v,
            "--prefix" => a.prefix = v,
            "--echo-port" => a.echo_port = v.parse()?,
            _ => return Err(format!("unknown flag {flag}").into()),
        }
    }
    Ok(a)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("client-compare: {e}");
            std::process::exit(2);
        }
    };
    let result = match args.mode.as_str() {
        "run" => orchestrate(&args.params),
        "helper" => runtime(false).block_on(helper(args.prefix)),
        "measure" => measure_main(&args),
        m => Err(format!("unknown mode {m}").into()),
    };
    if let Err(e) = result {
        eprintln!("client-compare {}: error: {e}", args.mode);
        std::process::exit(1);
    }
}

/// The same runtime for every measured client: by default tokio's multi-thread runtime
/// (what `#[tokio::main]` gives: one worker per core, here 2); `--runtime current` for
/// `#[tokio::main(flavor = "current_thread")]`.
fn runtime(current_thread: bool) -> tokio::runtime::Runtime {
    let mut b = if current_thread {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    b.enable_all().build().expect("tokio runtime")
}

/// User + system CPU time of this process (all threads), in microseconds.
fn cpu_us() -> u64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    assert_eq!(rc, 0, "getrusage failed");
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Context switches (voluntary + involuntary) of this process so far.
fn ctx_switches() -> u64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    assert_eq!(rc, 0, "getrusage failed");
    (ru.ru_nvcsw + ru.ru_nivcsw) as u64
}

/// CPU and context switches, for per-call deltas. (System calls are not counted here:
/// /proc/self/io misses socket send/recv; `perf stat -e raw_syscalls:sys_enter` has them.)
#[derive(Clone, Copy)]
struct Usage {
    cpu_us: u64,
    cs: u64,
}

impl Usage {
    fn now() -> Usage {
        Usage {
            cpu_us: cpu_us(),
            cs: ctx_switches(),
        }
    }

    /// (CPU µs, context switches) per operation since `self`.
    fn per(self, n: u64) -> (f64, f64) {
        let now = Usage::now();
        let n = n.max(1) as f64;
        (
            (now.cpu_us - self.cpu_us) as f64 / n,
            (now.cs - self.cs) as f64 / n,
        )
    }
}

// ---------------------------------------------------------------------------------------
// Results

#[derive(Clone, Debug, Default)]
struct Res {
    seq_n: u64,
    seq_p50_us: f64,
    seq_p99_us: f64,
    seq_cps: f64,
    seq_cpu_us: f64,
    seq_cs: f64,
    inf_n: u64,
    inf_cps: f64,
    inf_cpu_us: f64,
    inf_cs: f64,
    ev_n: u64,
    ev_expected: u64,
    ev_eps: f64,
    ev_cpu_us: f64,
    error: Option<String>,
}

impl Res {
    fn to_line(&self) -> String {
        format!(
            "RESULT seq_n={} seq_p50_us={:.1} seq_p99_us={:.1} seq_cps={:.1} seq_cpu_us={:.2} \
             seq_cs={:.3} inf_n={} inf_cps={:.1} inf_cpu_us={:.2} inf_cs={:.3} \
             ev_n={} ev_expected={} ev_eps={:.1} ev_cpu_us={:.2} error={}",
            self.seq_n,
            self.seq_p50_us,
            self.seq_p99_us,
            self.seq_cps,
            self.seq_cpu_us,
            self.seq_cs,
            self.inf_n,
            self.inf_cps,
            self.inf_cpu_us,
            self.inf_cs,
            self.ev_n,
            self.ev_expected,
            self.ev_eps,
            self.ev_cpu_us,
            self.error
                .as_deref()
                .unwrap_or("-")
                .replace(char::is_whitespace, "_"),
        )
    }

    fn from_line(line: &str) -> Option<Res> {
        let rest = line.strip_prefix("RESULT ")?;
        let mut r = Res::default();
        for kv in rest.split_whitespace() {
            let (k, v) = kv.split_once('=')?;
            let f = || v.parse::<f64>().unwrap_or(0.0);
            let u = || v.parse::<u64>().unwrap_or(0);
            match k {
                "seq_n" => r.seq_n = u(),
                "seq_p50_us" => r.seq_p50_us = f(),
                "seq_p99_us" => r.seq_p99_us = f(),
                "seq_cps" => r.seq_cps = f(),
                "seq_cpu_us" => r.seq_cpu_us = f(),
                "seq_cs" => r.seq_cs = f(),
                "inf_cs" => r.inf_cs = f(),
                "inf_n" => r.inf_n = u(),
                "inf_cps" => r.inf_cps = f(),
                "inf_cpu_us" => r.inf_cpu_us = f(),
                "ev_n" => r.ev_n = u(),
                "ev_expected" => r.ev_expected = u(),
                "ev_eps" => r.ev_eps = f(),
                "ev_cpu_us" => r.ev_cpu_us = f(),
                "error" if v != "-" => r.error = Some(v.replace('_', " ")),
                _ => {}
            }
        }
        Some(r)
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)].as_secs_f64() * 1e6
}

// ---------------------------------------------------------------------------------------
// The call phases, generic over the client: `call(i)` must round-trip `i` through the
// echo procedure and return the decoded result.

async fn call_phases<F, Fut>(p: &Params, call: F, res: &mut Res) -> Result<(), BoxErr>
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = Result<u64, BoxErr>>,
{
    let check = |i: u64, got: u64| -> Result<(), BoxErr> {
        if got == i {
            Ok(())
        } else {
            Err(format!("echo returned {got}, expected {i}").into())
        }
    };
    // Sequential.
    for i in 0..p.warmup {
        check(
            i,
            call(i)
                .await
                .map_err(|e| format!("sequential warm-up call {i}: {e}"))?,
        )?;
    }
    let mut lat = Vec::with_capacity(p.seq as usize);
    let usage0 = Usage::now();
    let t0 = Instant::now();
    for i in 0..p.seq {
        if t0.elapsed() > p.cap {
            break;
        }
        let t = Instant::now();
        check(
            i,
            call(i)
                .await
                .map_err(|e| format!("sequential call {i}: {e}"))?,
        )?;
        lat.push(t.elapsed());
    }
    let wall = t0.elapsed();
    let n = lat.len() as u64;
    (res.seq_cpu_us, res.seq_cs) = usage0.per(n);
    lat.sort();
    res.seq_n = n;
    res.seq_p50_us = percentile(&lat, 0.50);
    res.seq_p99_us = percentile(&lat, 0.99);
    res.seq_cps = n as f64 / wall.as_secs_f64();

    // 64 in flight: one task keeps 64 call futures going (buffer_unordered).
    let run = |count: u64| {
        let call = &call;
        let cap = p.cap;
        async move {
            let t0 = Instant::now();
            futures::stream::iter(0..count)
                .take_while(move |_| futures::future::ready(t0.elapsed() < cap))
                .map(|i| async move { check(i, call(i).await?) })
                .buffer_unordered(INFLIGHT)
                .try_fold(0u64, |n, ()| futures::future::ready(Ok::<_, BoxErr>(n + 1)))
                .await
        }
    };
    run(p.inflight_warmup)
        .await
        .map_err(|e| format!("64-in-flight warm-up: {e}"))?;
    let usage0 = Usage::now();
    let t0 = Instant::now();
    let n = run(p.inflight)
        .await
        .map_err(|e| format!("64 in flight: {e}"))?;
    let wall = t0.elapsed();
    (res.inf_cpu_us, res.inf_cs) = usage0.per(n);
    res.inf_n = n;
    res.inf_cps = n as f64 / wall.as_secs_f64();
    Ok(())
}

fn finish_events(res: &mut Res, n: u64, expected: u64, wall: Duration, cpu: u64) {
    res.ev_n = n;
    res.ev_expected = expected;
    res.ev_eps = n as f64 / wall.as_secs_f64();
    res.ev_cpu_us = cpu as f64 / n.max(1) as f64;
    if n < expected && res.error.is_none() {
        res.error = Some(format!("only {n} of {expected} events arrived"));
    }
}

// ---------------------------------------------------------------------------------------
// measure mode

fn measure_main(a: &Args) -> Result<(), BoxErr> {
    let rt = runtime(a.params.current_thread);
    let mut res = Res::default();
    let outcome = rt.block_on(async {
        match a.client.as_str() {
            "ours" => measure_ours(a, &mut res).await,
            "wamp_async" => measure_wamp_async(a, &mut res).await,
            "raw-ws" => measure_raw_ws(a, &mut res).await,
            c => Err(format!("unknown client {c}").into()),
        }
    });
    if let Err(e) = outcome {
        res.error = Some(e.to_string());
    }
    println!("{}", res.to_line());
    std::io::stdout().flush()?;
    // Do not wait for leftover tasks (e.g. a wamp_async event loop).
    rt.shutdown_timeout(Duration::from_millis(200));
    Ok(())
}

fn url_for(transport: &str) -> String {
    if transport == "rawsocket" {
        raw_url()
    } else {
        ws_url()
    }
}

async fn measure_ours(a: &Args, res: &mut Res) -> Result<(), BoxErr> {
    let p = &a.params;
    let ser = wamp::Serializer::from_name(&a.ser).ok_or("unknown serializer")?;
    let session = wamp::Session::builder(url_for(&a.transport))
        .realm("realm1")
        .serializer(ser)
        .connect()
        .await?;
    let echo = format!("{}.echo", a.prefix);
    let call = |i: u64| {
        let s = &session;
        let echo = &echo;
        async move {
            let r = s.call(echo).args(&(i,)).await?;
            let (v,): (u64,) = r.args()?;
            Ok::<u64, BoxErr>(v)
        }
    };
    call_phases(p, call, res).await?;

    // PubSub: we subscribe, the helper publishes `events` events without ack.
    let topic = format!("{}.ev.ours.{}", a.prefix, std::process::id());
    let expected = p.events;
    // Room for the whole burst, as wamp_async's unbounded queue has.
    let mut sub = session
        .subscribe(&topic)
        .buffer(usize::try_from(expected).unwrap_or(usize::MAX))
        .await?;
    let burst = format!("{}.pub_burst", a.prefix);
    let cpu0 = cpu_us();
    let t0 = Instant::now();
    let trigger = {
        let s = session.clone();
        let topic = topic.clone();
        tokio::spawn(async move { s.call(&burst).args(&(topic, expected)).await })
    };
    let mut n = 0u64;
    let mut sum = 0u64;
    let deadline = tokio::time::sleep(p.cap * 2);
    tokio::pin!(deadline);
    while n < expected {
        tokio::select! {
            ev = sub.next() => match ev {
                Some(Ok(ev)) => {
                    let (i,): (u64,) = ev.args()?;
                    sum = sum.wrapping_add(i);
                    n += 1;
                }
                Some(Err(e)) => return Err(e.into()),
                None => return Err("pub→sub: subscription ended".into()),
            },
            _ = &mut deadline => break,
        }
    }
    let wall = t0.elapsed();
    let cpu = cpu_us() - cpu0;
    std::hint::black_box(sum);
    finish_events(res, n, expected, wall, cpu);
    trigger.await??;
    drop(sub);
    let _ = session.leave().await;
    Ok(())
}

async fn measure_wamp_async(a: &Args, res: &mut Res) -> Result<(), BoxErr> {
    use wamp_async::{Client, ClientConfig, ClientRole, SerializerType};
    let p = &a.params;
    let ser = match a.ser.as_str() {
        "json" => SerializerType::Json,
        "msgpack" => SerializerType::MsgPack,
        s => return Err(format!("wamp_async has no {s} serializer").into()),
    };
    let url = url_for(&a.transport);
    let (mut client, (event_loop, _rpc_queue)) = Client::connect(
        url.as_str(),
        Some(
            ClientConfig::default()
                .set_roles(vec![ClientRole::Caller, ClientRole::Subscriber])
                .set_serializers(vec![ser]),
        ),
    )
    .await
    .map_err(|e| format!("wamp_async connect: {e}"))?;
    tokio::spawn(event_loop);
    client
        .join_realm("realm1")
        .await
        .map_err(|e| format!("wamp_async join_realm: {e}"))?;

    let echo = format!("{}.echo", a.prefix);
    let call = |i: u64| {
        let c = &client;
        let echo = &echo;
        async move {
            let (args, _kw) = c
                .call(echo, Some(vec![i.into()]), None)
                .await
                .map_err(|e| format!("wamp_async call: {e}"))?;
            let v = args
                .as_ref()
                .and_then(|a| a.first())
                .and_then(|v| v.as_u64())
                .ok_or("wamp_async: no integer result")?;
            Ok::<u64, BoxErr>(v)
        }
    };
    call_phases(p, call, res).await?;

    let topic = format!("{}.ev.wamp_async.{}", a.prefix, std::process::id());
    let (_sub_id, mut queue) = client
        .subscribe(&topic)
        .await
        .map_err(|e| format!("wamp_async subscribe: {e}"))?;
    let burst = format!("{}.pub_burst", a.prefix);
    let expected = p.events;
    let cpu0 = cpu_us();
    let t0 = Instant::now();
    let trigger = client.call(
        &burst,
        Some(vec![topic.clone().into(), expected.into()]),
        None,
    );
    let receive = async {
        let mut n = 0u64;
        let mut sum = 0u64;
        let deadline = tokio::time::sleep(p.cap * 2);
        tokio::pin!(deadline);
        while n < expected {
            tokio::select! {
                ev = queue.recv() => match ev {
                    Some((_pub, args, _kw)) => {
                        let i = args
                            .as_ref()
                            .and_then(|a| a.first())
                            .and_then(|v| v.as_u64())
                            .ok_or("wamp_async: event without integer")?;
                        sum = sum.wrapping_add(i);
                        n += 1;
                    }
                    None => return Err::<_, BoxErr>("pub→sub: subscription ended".into()),
                },
                _ = &mut deadline => break,
            }
        }
        std::hint::black_box(sum);
        Ok((n, t0.elapsed(), cpu_us() - cpu0))
    };
    let (trig, recv) = tokio::join!(trigger, receive);
    let (n, wall, cpu) = recv?;
    finish_events(res, n, expected, wall, cpu);
    trig.map_err(|e| format!("wamp_async pub_burst call: {e}"))?;
    client.disconnect().await;
    Ok(())
}

/// Baseline: a bare WebSocket client (tokio-tungstenite, TCP_NODELAY) exchanging small
/// binary messages with the helper's echo server: one WS round trip between two processes,
/// no WAMP, no router. Message size ~ a MessagePack CALL of this benchmark.
async fn measure_raw_ws(a: &Args, res: &mut Res) -> Result<(), BoxErr> {
    use tokio_tungstenite::tungstenite::Message;
    let p = &a.params;
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", a.echo_port)).await?;
    stream.set_nodelay(true)?;
    let url = format!("ws://127.0.0.1:{}/", a.echo_port);
    let (ws, _) = tokio_tungstenite::client_async(url, stream).await?;
    let (tx, rx) = ws.split();
    let tx = tokio::sync::Mutex::new(tx);
    let rx = tokio::sync::Mutex::new(rx);
    let msg = |i: u64| {
        // [48, id, {}, "<prefix>.echo", [i]] is ~30 bytes in MessagePack.
        let mut v = vec![0x95u8; 30];
        v[..8].copy_from_slice(&i.to_le_bytes());
        Message::binary(v)
    };
    let decode = |m: Message| -> Result<u64, BoxErr> {
        let d = m.into_data();
        let b: [u8; 8] = d.get(..8).ok_or("short echo")?.try_into()?;
        Ok(u64::from_le_bytes(b))
    };
    // Sequential: send, wait for the echo.
    let call = |i: u64| {
        let (tx, rx) = (&tx, &rx);
        async move {
            tx.lock().await.send(msg(i)).await?;
            let m = rx.lock().await.next().await.ok_or("echo closed")??;
            decode(m)
        }
    };
    {
        // Reuse the generic driver for the sequential part only.
        let mut seq_only = p.clone();
        seq_only.inflight_warmup = 0;
        seq_only.inflight = 0;
        call_phases(&seq_only, call, res).await?;
    }
    // 64 in flight: pipelined, a writer keeps at most 64 unanswered messages out.
    let run = |count: u64| {
        let (tx, rx) = (&tx, &rx);
        async move {
            let window = tokio::sync::Semaphore::new(INFLIGHT);
            let writer = async {
                for i in 0..count {
                    window.acquire().await?.forget();
                    tx.lock().await.send(msg(i)).await?;
                }
                Ok::<(), BoxErr>(())
            };
            let reader = async {
                let mut rx = rx.lock().await;
                for _ in 0..count {
                    let m = rx.next().await.ok_or("echo closed")??;
                    decode(m)?;
                    window.add_permits(1);
                }
                Ok::<(), BoxErr>(())
            };
            tokio::try_join!(writer, reader)?;
            Ok::<u64, BoxErr>(count)
        }
    };
    run(p.inflight_warmup).await?;
    let usage0 = Usage::now();
    let t0 = Instant::now();
    let n = run(p.inflight).await?;
    let wall = t0.elapsed();
    (res.inf_cpu_us, res.inf_cs) = usage0.per(n);
    res.inf_n = n;
    res.inf_cps = n as f64 / wall.as_secs_f64();
    let _ = tx.lock().await.close().await;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// helper mode: the common counterpart (our client), plus the WebSocket echo server.

async fn helper(prefix: String) -> Result<(), BoxErr> {
    if prefix.is_empty() {
        return Err("helper needs --prefix".into());
    }
    // Exit when the orchestrator goes away (our stdin closes).
    std::thread::spawn(|| {
        let mut buf = [0u8; 64];
        while let Ok(n) = std::io::stdin().read(&mut buf) {
            if n == 0 {
                break;
            }
        }
        std::process::exit(0);
    });

    let builder = wamp::Session::builder(raw_url())
        .realm("realm1")
        .serializer(wamp::Serializer::MsgPack);
    let callee = builder.connect().await?;
    let publisher = builder.connect().await?;
    let rt_err = |e: &dyn std::fmt::Display| {
        wamp::client::WampError::with_payload(
            wamp::Uri::from_static("wamp.error.runtime_error"),
            wamp::Payload::from_values(
                vec![wamp::Value::from(e.to_string().as_str())],
                Default::default(),
            ),
        )
    };
    let _echo = callee
        .register(
            format!("{prefix}.echo"),
            move |inv: wamp::client::Invocation| async move {
                let (x,): (u64,) = inv.args().map_err(|e| rt_err(&e))?;
                inv.result(&(x,))
            },
        )
        .await?;
    let _burst = callee
        .register(
            format!("{prefix}.pub_burst"),
            move |inv: wamp::client::Invocation| {
                let publisher = publisher.clone();
                async move {
                    let (topic, m): (String, u64) = inv.args().map_err(|e| rt_err(&e))?;
                    for i in 0..m {
                        publisher
                            .publish(&topic)
                            .args(&(i,))
                            .await
                            .map_err(|e| rt_err(&e))?;
                    }
                    inv.result(&(m,))
                }
            },
        )
        .await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    println!("READY {port}");
    std::io::stdout().flush()?;
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                return;
            };
            while let Some(Ok(m)) = ws.next().await {
                if (m.is_binary() || m.is_text()) && ws.send(m).await.is_err() {
                    break;
                }
            }
        });
    }
}

// ---------------------------------------------------------------------------------------
// Orchestrator

struct Row {
    client: &'static str,
    transport: &'static str,
    ser: &'static str,
}

fn rows(p: &Params) -> Vec<Row> {
    let mut v = vec![Row {
        client: "raw-ws",
        transport: "websocket",
        ser: "(binary echo)",
    }];
    for ser in ["json", "msgpack"] {
        v.push(Row {
            client: "ours",
            transport: "websocket",
            ser,
        });
        v.push(Row {
            client: "wamp_async",
            transport: "websocket",
            ser,
        });
    }
    v.push(Row {
        client: "ours",
        transport: "websocket",
        ser: "cbor",
    });
    for ser in ["json", "msgpack", "cbor"] {
        v.push(Row {
            client: "ours",
            transport: "rawsocket",
            ser,
        });
    }
    if p.wamp_async_raw {
        v.push(Row {
            client: "wamp_async",
            transport: "rawsocket",
            ser: "msgpack",
        });
    }
    if let Some(only) = &p.only {
        v.retain(|r| r.client == only);
    }
    v
}

struct HelperGuard(Child);

impl Drop for HelperGuard {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(2) {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run_child(exe: &std::path::Path, args: &[String], limit: Duration) -> Result<String, BoxErr> {
    let mut child = Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let mut out = child.stdout.take().ok_or("no stdout")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let t0 = Instant::now();
    loop {
        if child.try_wait()?.is_some() {
            break;
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("measure process exceeded {limit:?}, killed").into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(reader.join().unwrap_or_default())
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

fn orchestrate(p: &Params) -> Result<(), BoxErr> {
    for url in [ws_url(), raw_url()] {
        let port = url_port(&url);
        std::net::TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_secs(2),
        )
        .map_err(|e| format!("router not reachable at {url}: {e} (start Crossbar with shared/interop/crossbar/start.sh)"))?;
    }
    let exe = std::env::current_exe()?;
    let prefix = format!("bench.cc{}", std::process::id());

    let mut helper = Command::new(&exe)
        .args(["helper", "--prefix", &prefix])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let helper_out = helper.stdout.take().ok_or("no helper stdout")?;
    let helper = HelperGuard(helper);
    let mut line = String::new();
    BufReader::new(helper_out).read_line(&mut line)?;
    let echo_port: u16 = line
        .trim()
        .strip_prefix("READY ")
        .ok_or_else(|| format!("helper did not start: {line:?}"))?
        .parse()?;

    let rows = rows(p);
    let mut results: Vec<Vec<Res>> = vec![Vec::new(); rows.len()];
    let load0 = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let started = Instant::now();
    // Round-robin over the rows, `repeat` times, so that background load hits all alike.
    for rep in 0..p.repeat {
        for (k, row) in rows.iter().enumerate() {
            eprintln!(
                "[{:>5.1}s] run {}/{}: {} {} {}",
                started.elapsed().as_secs_f64(),
                rep + 1,
                p.repeat,
                row.client,
                row.transport,
                row.ser
            );
            let mut args: Vec<String> = vec![
                "measure".into(),
                "--client".into(),
                row.client.into(),
                "--transport".into(),
                row.transport.into(),
                "--ser".into(),
                row.ser.into(),
                "--prefix".into(),
                prefix.clone(),
                "--echo-port".into(),
                echo_port.to_string(),
            ];
            args.extend(p.to_args());
            let res = match run_child(&exe, &args, p.cap * 6 + Duration::from_secs(20)) {
                Ok(out) => out.lines().find_map(Res::from_line).unwrap_or_else(|| Res {
                    error: Some(format!("no RESULT line (output: {out:?})")),
                    ..Res::default()
                }),
                Err(e) => Res {
                    error: Some(e.to_string()),
                    ..Res::default()
                },
            };
            if let Some(e) = &res.error {
                eprintln!("    error: {e}");
            }
            results[k].push(res);
        }
    }
    drop(helper);
    let load1 = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();

    // Table.
    let fmt0 = |x: f64| {
        if x.is_finite() && x > 0.0 {
            format!("{x:.0}")
        } else {
            "—".into()
        }
    };
    let fmt2 = |x: f64| {
        if x.is_finite() && x > 0.0 {
            format!("{x:.2}")
        } else {
            "—".into()
        }
    };
    let fmt1 = |x: f64| {
        if x.is_finite() && x > 0.0 {
            format!("{x:.1}")
        } else {
            "—".into()
        }
    };
    println!(
        "Router {} / {}, realm1; callee and publisher: our client \
         (RawSocket, MessagePack) in a separate process. Median of {} run(s) per row; tokio {} runtime. \
         Sequential: {} calls after {} warm-up; 64 in flight: {} calls after {} warm-up; \
         pub→sub: {} events (measured process subscribes). CPU = user+sys of the measured \
         process (getrusage) per call / per event. Load average before/after: {} / {}.",
        ws_url(),
        raw_url(),
        p.repeat,
        if p.current_thread { "current-thread" } else { "multi-thread" },
        p.seq,
        p.warmup,
        p.inflight,
        p.inflight_warmup,
        p.events,
        load0.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        load1.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    );
    println!();
    println!(
        "| client | transport | serializer | seq p50 µs | seq p99 µs | seq calls/s | \
         CPU µs/call (seq) | 64-inflight calls/s | CPU µs/call (64) | \
         context switches per call (seq / 64) | events/s | CPU µs/event |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut summary: Vec<(String, f64, f64)> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for (row, rs) in rows.iter().zip(&results) {
        // A failed run keeps the phases it completed (a failed phase stays 0 = no data).
        let med = |f: fn(&Res) -> f64| median(rs.iter().map(f).filter(|x| *x > 0.0).collect());
        let errors: Vec<&String> = rs.iter().filter_map(|r| r.error.as_ref()).collect();
        let is_base = row.client == "raw-ws";
        let mark = if errors.is_empty() {
            String::new()
        } else {
            notes.push(format!(
                "{} {} {}: {} of {} runs failed; first error: {}",
                row.client,
                row.transport,
                row.ser,
                errors.len(),
                rs.len(),
                errors[0]
            ));
            format!(" ⚠{}", notes.len())
        };
        println!(
            "| {}{} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} | {} | {} |",
            if is_base {
                "baseline: raw WS echo"
            } else {
                row.client
            },
            mark,
            row.transport,
            row.ser,
            fmt0(med(|r| r.seq_p50_us)),
            fmt0(med(|r| r.seq_p99_us)),
            fmt0(med(|r| r.seq_cps)),
            fmt1(med(|r| r.seq_cpu_us)),
            fmt0(med(|r| r.inf_cps)),
            fmt1(med(|r| r.inf_cpu_us)),
            fmt2(med(|r| r.seq_cs)),
            fmt2(med(|r| r.inf_cs)),
            if is_base {
                "—".into()
            } else {
                fmt0(med(|r| r.ev_eps))
            },
            if is_base {
                "—".into()
            } else {
                fmt1(med(|r| r.ev_cpu_us))
            },
        );
        if row.transport == "websocket" && !is_base {
            summary.push((
                format!("{}/{}", row.client, row.ser),
                med(|r| r.seq_cpu_us),
                med(|r| r.inf_cpu_us),
            ));
        }
    }
    if !notes.is_empty() {
        println!();
        for (k, n) in notes.iter().enumerate() {
            println!("⚠{}: {n}", k + 1);
        }
    }
    println!();
    for ser in ["json", "msgpack"] {
        let get = |c: &str| summary.iter().find(|(k, ..)| k == &format!("{c}/{ser}"));
        if let (Some(o), Some(w)) = (get("ours"), get("wamp_async")) {
            let (rs, ri) = (o.1 / w.1, o.2 / w.2);
            let verdict = |r: f64| if r <= 0.5 { "meets" } else { "misses" };
            println!(
                "- WebSocket/{ser}: ours / wamp_async CPU per call = {:.2} sequential ({} the ≤ 0.5 target), \
                 {:.2} with 64 in flight ({} the target).",
                rs,
                verdict(rs),
                ri,
                verdict(ri)
            );
        }
    }
    eprintln!("done in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}
