//! Interop with Autobahn|Python as the *other peer*: our client and an Autobahn|Python
//! session (`tests/python/peer.py`) talk to each other through the real Crossbar.io router,
//! every feature in both directions.
//!
//! Each test is one pairing of (transport, serializer) on our side with (transport,
//! serializer) on Autobahn's, and runs all the cases below concurrently:
//!
//! | case | Rust → Python | Python → Rust |
//! |---|---|---|
//! | RPC with each payload of `tests/python/payloads.json`: `rich` (nesting, unicode, large ints, floats), `binary` (bytes must arrive as bytes), `kwonly`, `empty` | `rust-calls:LABEL` | `python-calls:LABEL` |
//! | progressive results (and none when not asked for) | `rust-calls:progress`, `rust-calls:no-progress` | `python-calls:progress`, `python-calls:no-progress` |
//! | application errors (URI, args, kwargs exactly) | `rust-calls:error` | `python-calls:error` |
//! | cancellation | `rust-cancels:drop` (killnowait), `rust-cancels:drop-kill`, `rust-cancels:timeout-kill`, `rust-cancels:router-timeout` | `python-cancels:future`, `python-cancels:kill`, `python-cancels:killnowait`, `python-cancels:router-timeout` |
//! | pub/sub with each payload | `rust-publishes` | `python-publishes` |
//!
//! The Python side reports what it received as JSON lines on stdout, bytes as
//! `{"$bytes": HEX}`; both sides send the same payloads. Cancellation is checked on the
//! callee's side: Python reports its asyncio task cancelled, our handler future's drop is
//! seen by a guard. Python cancels only after our slow handler has sent a progressive result
//! (so the handler is running, not an invocation still in flight). A failed case is
//! reported by name with the first difference found, and fails the test.

use std::collections::BTreeMap;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::watch;
use wamp::client::{
    CallResult, Error, Invocation, Progressive, Registration, StandardError, WampError,
};
use wamp::protocol::{CancelMode, Payload, Uri};
use wamp::{Dict, List, Serializer, Session, Value};
use wamp_tests::{autobahn_python, crossbar, workspace_root};

/// The limit for any single wait.
const STEP: Duration = Duration::from_secs(15);

/// Where a peer connects: WebSocket or RawSocket, anonymous.
#[derive(Clone, Copy, Debug)]
enum Transport {
    WebSocket,
    RawSocket,
}

#[derive(Clone, Copy, Debug)]
struct Side {
    transport: Transport,
    serializer: Serializer,
}

impl Side {
    fn url(self) -> String {
        let xb = crossbar();
        match self.transport {
            Transport::WebSocket => xb.ws,
            Transport::RawSocket => xb.rawsocket,
        }
    }

    fn label(self) -> String {
        let t = match self.transport {
            Transport::WebSocket => "ws",
            Transport::RawSocket => "rawsocket",
        };
        format!("{t}/{}", self.serializer.name())
    }
}

const fn side(transport: Transport, serializer: Serializer) -> Side {
    Side {
        transport,
        serializer,
    }
}

// ---------------------------------------------------------------------------------------
// Observations: what each side saw, in order, waitable.

/// Keyed observations in arrival order; tasks can wait for a key to show up.
#[derive(Clone)]
struct Log(Arc<watch::Sender<Vec<(String, Value)>>>);

/// The key pushed when the Python peer's stdout closes.
const EOF: &str = "<eof>";

impl Log {
    fn new() -> Self {
        Log(Arc::new(watch::channel(Vec::new()).0))
    }

    fn push(&self, key: impl Into<String>, value: Value) {
        let key = key.into();
        self.0.send_modify(|log| log.push((key, value)));
    }

    /// The first observation under `key`, waiting up to `within` for it.
    async fn wait(&self, key: &str, within: Duration) -> Result<Value, String> {
        let mut rx = self.0.subscribe();
        let found = tokio::time::timeout(
            within,
            rx.wait_for(|log| log.iter().any(|(k, _)| k == key || k == EOF)),
        )
        .await;
        let log = match found {
            Ok(Ok(log)) => log,
            Ok(Err(_)) => return Err(format!("no `{key}`: the log was dropped")),
            Err(_) => {
                return Err(format!(
                    "no `{key}` within {within:?} (seen: {:?})",
                    self.keys()
                ))
            }
        };
        match log.iter().find(|(k, _)| k == key) {
            Some((_, v)) => Ok(v.clone()),
            None => Err(format!(
                "the Python peer exited before reporting `{key}` (seen: {:?})",
                log.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>()
            )),
        }
    }

    fn keys(&self) -> Vec<String> {
        self.0.borrow().iter().map(|(k, _)| k.clone()).collect()
    }
}

/// Pushes `key` to a log when dropped while armed: shows that a handler future was dropped.
struct DropGuard {
    log: Log,
    key: String,
    armed: bool,
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if self.armed {
            self.log.push(std::mem::take(&mut self.key), Value::Null);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Values: the typed JSON the Python peer prints, comparisons with a path to the difference.

/// Typed JSON to a value: `{"$bytes": HEX}` and `{"$bytes_range": N}` are bytes.
fn from_typed(j: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match j {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Integer(i)
            } else if let Some(u) = n.as_u64() {
                Value::UInteger(u)
            } else {
                Value::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        J::String(s) => Value::String(s.clone()),
        J::Array(a) => Value::List(a.iter().map(from_typed).collect()),
        J::Object(o) => {
            if o.len() == 1 {
                if let Some(hex) = o.get("$bytes").and_then(|v| v.as_str()) {
                    return Value::Binary(unhex(hex));
                }
                if let Some(n) = o.get("$bytes_range").and_then(|v| v.as_u64()) {
                    return Value::Binary((0..n).map(|i| (i % 256) as u8).collect());
                }
            }
            Value::Dict(o.iter().map(|(k, v)| (k.clone(), from_typed(v))).collect())
        }
    }
}

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex from peer.py"))
        .collect()
}

/// A short rendering of a value for messages.
fn show(v: &Value) -> String {
    let s = match v {
        Value::Binary(b) => format!("bytes(len {}) {:02x?}", b.len(), &b[..b.len().min(8)]),
        Value::String(s) => format!("string {s:?}"),
        other => format!("{} {other:?}", other.type_name()),
    };
    if s.chars().count() > 160 {
        format!("{}...", s.chars().take(160).collect::<String>())
    } else {
        s
    }
}

/// The first difference between `got` and `want`, with its path.
fn diff(path: &str, got: &Value, want: &Value) -> Option<String> {
    match (got, want) {
        (Value::List(g), Value::List(w)) => {
            if g.len() != w.len() {
                return Some(format!("{path}: {} items, expected {}", g.len(), w.len()));
            }
            g.iter()
                .zip(w)
                .enumerate()
                .find_map(|(i, (g, w))| diff(&format!("{path}[{i}]"), g, w))
        }
        (Value::Dict(g), Value::Dict(w)) => {
            let gk: Vec<_> = g.keys().collect();
            let wk: Vec<_> = w.keys().collect();
            if gk != wk {
                return Some(format!("{path}: keys {gk:?}, expected {wk:?}"));
            }
            w.iter()
                .find_map(|(k, wv)| diff(&format!("{path}.{k}"), &g[k], wv))
        }
        // Bit-exact for floats (and 2.0 must stay a float, not become the integer 2).
        (Value::Float(g), Value::Float(w)) if g.to_bits() == w.to_bits() => None,
        (g, w) if !matches!(g, Value::Float(_)) && g == w => None,
        (g, w) => Some(format!("{path}: got {}, expected {}", show(g), show(w))),
    }
}

fn check(what: &str, got: &Value, want: &Value) -> Result<(), String> {
    match diff(what, got, want) {
        None => Ok(()),
        Some(d) => Err(d),
    }
}

fn field<'a>(v: &'a Value, name: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    v.as_dict().and_then(|d| d.get(name)).unwrap_or(&NULL)
}

fn list(items: Vec<Value>) -> Value {
    Value::List(items)
}

fn dict<const N: usize>(items: [(&str, Value); N]) -> Value {
    Value::Dict(items.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// A Python case line must not carry an `error`.
fn no_error(line: &Value) -> Result<(), String> {
    match field(line, "error") {
        Value::Null => Ok(()),
        e => Err(format!(
            "the Python side failed: {}",
            e.as_str().unwrap_or("?")
        )),
    }
}

/// The payloads both sides send (`tests/python/payloads.json`): name → (args, kwargs).
#[derive(Clone)]
struct Fixtures(BTreeMap<String, (List, Dict)>);

impl Fixtures {
    fn load() -> Self {
        let path = workspace_root().join("tests/python/payloads.json");
        let text = std::fs::read_to_string(&path).expect("tests/python/payloads.json");
        let json: serde_json::Value = serde_json::from_str(&text).expect("payloads.json is JSON");
        let mut out = BTreeMap::new();
        for (name, p) in json.as_object().expect("an object of payloads") {
            let (Value::List(args), Value::Dict(kwargs)) =
                (from_typed(&p["args"]), from_typed(&p["kwargs"]))
            else {
                panic!("payload {name}: args must be a list, kwargs an object");
            };
            out.insert(name.clone(), (args, kwargs));
        }
        Fixtures(out)
    }

    fn labels(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    fn get(&self, name: &str) -> (&List, &Dict) {
        let (a, k) = &self.0[name];
        (a, k)
    }

    fn args(&self, name: &str) -> Value {
        Value::List(self.0[name].0.clone())
    }

    fn kwargs(&self, name: &str) -> Value {
        Value::Dict(self.0[name].1.clone())
    }
}

// ---------------------------------------------------------------------------------------
// The Python peer process.

struct PythonPeer {
    child: Child,
    stdin: Option<ChildStdin>,
    log: Log,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl PythonPeer {
    /// Starts `peer.py peer URL SER PREFIX` and waits until it has registered and subscribed.
    async fn start(side: Side, prefix: &str) -> Result<PythonPeer, String> {
        let script = workspace_root().join("tests/python/peer.py");
        let mut child = Command::new(autobahn_python())
            .arg(&script)
            .args(["peer", &side.url(), side.serializer.name(), prefix])
            .env("XBAR_REALM", crossbar().realm)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", script.display()))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr_pipe = child.stderr.take().expect("piped stderr");
        let log = Log::new();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        {
            let log = log.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stdout).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    match serde_json::from_str::<serde_json::Value>(&line) {
                        Ok(j) => {
                            let key = j["key"].as_str().unwrap_or("<no key>").to_owned();
                            log.push(key, from_typed(&j));
                        }
                        Err(_) => log.push("<not json>", Value::String(line)),
                    }
                }
                log.push(EOF, Value::Null);
            });
        }
        {
            let stderr = stderr.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = stderr_pipe.read(&mut buf).await {
                    stderr
                        .lock()
                        .expect("stderr lock")
                        .extend_from_slice(&buf[..n]);
                }
            });
        }
        let peer = PythonPeer {
            child,
            stdin,
            log,
            stderr,
        };
        match peer.log.wait("ready", STEP).await {
            Ok(_) => Ok(peer),
            Err(e) => Err(format!("{e}; stderr: {}", stderr_text(&peer.stderr).await)),
        }
    }

    /// Closes its stdin (it then leaves) and checks that it exits with status 0.
    async fn finish(mut self) -> Result<(), String> {
        drop(self.stdin.take());
        match tokio::time::timeout(STEP, self.child.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => Err(format!(
                "peer.py exited with {status}; stderr: {}",
                stderr_text(&self.stderr).await
            )),
            Ok(Err(e)) => Err(format!("waiting for peer.py: {e}")),
            Err(_) => Err(format!(
                "peer.py did not exit within {STEP:?} after stdin was closed"
            )),
        }
    }
}

/// The last part of what the Python peer wrote to stderr.
async fn stderr_text(stderr: &Mutex<Vec<u8>>) -> String {
    // Give the stderr reader a moment to collect what a dying process wrote.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let s = String::from_utf8_lossy(&stderr.lock().expect("stderr lock")).into_owned();
    let s = s.trim();
    if s.is_empty() {
        "(empty)".into()
    } else {
        s.chars()
            .rev()
            .take(3000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// Our side: the procedures and subscriptions the Python caller and publisher use.

fn invalid(e: impl std::fmt::Display) -> WampError {
    WampError::with_payload(
        Uri::from_static("wamp.error.invalid_argument"),
        Payload::from_values(vec![e.to_string().into()], Dict::new()),
    )
}

/// The error our `rs.fail` answers with; Python must see exactly this.
fn rust_error() -> WampError {
    let kwargs = [
        ("code", 42.into()),
        ("nested", dict([("k", list(vec![1.into(), 2.5.into()]))])),
        ("blob", Value::Binary(vec![0, 1, 254, 255])),
    ];
    WampError::with_payload(
        Uri::from_static("com.example.rs_err"),
        Payload::from_values(
            vec!["b".into(), 2.into(), "ünï 🚀".into()],
            kwargs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        ),
    )
}

struct RustSide {
    _registrations: Vec<Registration>,
    subscriptions: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for RustSide {
    fn drop(&mut self) {
        for task in &self.subscriptions {
            task.abort();
        }
    }
}

async fn serve_rust_side(
    session: &Session,
    p: &str,
    log: &Log,
    fx: &Fixtures,
) -> Result<RustSide, Error> {
    let mut regs = Vec::new();
    for label in fx.labels() {
        let log = log.clone();
        let label = label.to_owned();
        regs.push(
            session
                .register(format!("{p}.rs.echo.{label}"), move |inv: Invocation| {
                    let log = log.clone();
                    let label = label.clone();
                    async move {
                        let args: List = inv.args().map_err(invalid)?;
                        let kwargs: Dict = inv.kwargs().map_err(invalid)?;
                        log.push(
                            format!("echo:{label}"),
                            dict([
                                ("args", Value::List(args.clone())),
                                ("kwargs", Value::Dict(kwargs.clone())),
                            ]),
                        );
                        inv.result_with_kwargs(&args, &kwargs)
                    }
                })
                .await?,
        );
    }
    {
        let log = log.clone();
        regs.push(
            session
                .register(format!("{p}.rs.progress"), move |inv: Invocation| {
                    let log = log.clone();
                    async move {
                        let (n,): (u32,) = inv.args().map_err(invalid)?;
                        log.push(format!("progress:{n}"), inv.wants_progress().into());
                        for i in 0..n {
                            let step = inv
                                .result_with_kwargs(&(i, "step ü"), &BTreeMap::from([("i", i)]))?;
                            inv.progress(step);
                        }
                        inv.result_with_kwargs(&("done", n), &BTreeMap::from([("total", n)]))
                    }
                })
                .await?,
        );
    }
    {
        let log = log.clone();
        regs.push(
            session
                .register(format!("{p}.rs.slow"), move |inv: Invocation| {
                    let tag = inv.args::<(String,)>().map(|t| t.0).unwrap_or_default();
                    log.push(format!("slow_started:{tag}"), Value::Null);
                    let guard = DropGuard {
                        log: log.clone(),
                        key: format!("slow_dropped:{tag}"),
                        armed: true,
                    };
                    async move {
                        let mut guard = guard;
                        // Tell a caller that asked for progress that we are running (the
                        // Python caller cancels only then).
                        inv.progress(Payload::from_values(vec!["started".into()], Dict::new()));
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        guard.armed = false;
                        inv.result(&("finished",))
                    }
                })
                .await?,
        );
    }
    regs.push(
        session
            .register(format!("{p}.rs.fail"), |_inv: Invocation| async move {
                Err(rust_error())
            })
            .await?,
    );
    let mut subscriptions = Vec::new();
    for label in fx.labels() {
        let mut sub = session.subscribe(format!("{p}.rs.topic.{label}")).await?;
        let log = log.clone();
        let label = label.to_owned();
        subscriptions.push(tokio::spawn(async move {
            while let Some(item) = sub.next().await {
                let seen = match item {
                    Ok(event) => match (event.args::<List>(), event.kwargs::<Dict>()) {
                        (Ok(a), Ok(k)) => {
                            dict([("args", Value::List(a)), ("kwargs", Value::Dict(k))])
                        }
                        (a, k) => dict([(
                            "error",
                            format!("undecodable event: {:?} {:?}", a.err(), k.err()).into(),
                        )]),
                    },
                    Err(e) => dict([("error", format!("subscription failed: {e}").into())]),
                };
                log.push(format!("event:{label}"), seen);
            }
        }));
    }
    Ok(RustSide {
        _registrations: regs,
        subscriptions,
    })
}

// ---------------------------------------------------------------------------------------
// The cases.

type Case<'a> = Pin<Box<dyn Future<Output = (String, Result<(), String>)> + Send + 'a>>;

fn case<'a>(name: &str, fut: impl Future<Output = Result<(), String>> + Send + 'a) -> Case<'a> {
    let name = name.to_owned();
    Box::pin(async move { (name, fut.await) })
}

async fn within<T>(what: &str, fut: impl IntoFuture<Output = T>) -> Result<T, String> {
    tokio::time::timeout(STEP, fut)
        .await
        .map_err(|_| format!("{what}: no answer within {STEP:?}"))
}

fn result_parts(res: &CallResult) -> Result<(Value, Value), String> {
    let args: List = res.args().map_err(|e| format!("result args: {e}"))?;
    let kwargs: Dict = res.kwargs().map_err(|e| format!("result kwargs: {e}"))?;
    Ok((Value::List(args), Value::Dict(kwargs)))
}

/// Rust calls Python's echo with a fixture: Python must receive it exactly, and the echo
/// must come back exactly.
async fn rust_calls_echo(
    s: &Session,
    py: &Log,
    p: &str,
    fx: &Fixtures,
    label: &str,
) -> Result<(), String> {
    let (args, kwargs) = fx.get(label);
    let res = within(
        "call",
        s.call(format!("{p}.py.echo.{label}"))
            .args(args)
            .kwargs(kwargs),
    )
    .await?
    .map_err(|e| format!("call failed: {e}"))?;
    let seen = py.wait(&format!("echo:{label}"), STEP).await?;
    check(
        "python received args",
        field(&seen, "args"),
        &fx.args(label),
    )?;
    check(
        "python received kwargs",
        field(&seen, "kwargs"),
        &fx.kwargs(label),
    )?;
    let (got_args, got_kwargs) = result_parts(&res)?;
    check("echoed args", &got_args, &fx.args(label))?;
    check("echoed kwargs", &got_kwargs, &fx.kwargs(label))
}

fn progress_item(i: u32) -> (Value, Value) {
    (
        list(vec![i.into(), "step ü".into()]),
        dict([("i", i.into())]),
    )
}

/// Rust asks Python's callee for progressive results.
async fn rust_calls_progress(s: &Session, py: &Log, p: &str) -> Result<(), String> {
    let stream = s.call(format!("{p}.py.progress")).args(&(3,)).progressive();
    let items: Vec<_> = within("progressive call", stream.collect()).await?;
    let wanted = py.wait("progress:3", STEP).await?;
    check(
        "python saw details.progress set",
        field(&wanted, "wanted"),
        &true.into(),
    )?;
    if items.len() != 4 {
        return Err(format!(
            "4 results expected (3 progressive + final), got {}: {items:?}",
            items.len()
        ));
    }
    for (i, item) in items.iter().enumerate() {
        let item = item.as_ref().map_err(|e| format!("result {i}: {e}"))?;
        let last = i == 3;
        if item.is_final() != last {
            return Err(format!("result {i}: is_final() = {}", item.is_final()));
        }
        let (Progressive::Progress(r) | Progressive::Final(r)) = item;
        if r.is_progress() == last {
            return Err(format!(
                "result {i}: details.progress = {}",
                r.is_progress()
            ));
        }
        let (args, kwargs) = result_parts(r)?;
        let (want_args, want_kwargs) = if last {
            (
                list(vec!["done".into(), 3.into()]),
                dict([("total", 3.into())]),
            )
        } else {
            progress_item(i as u32)
        };
        check(&format!("result {i} args"), &args, &want_args)?;
        check(&format!("result {i} kwargs"), &kwargs, &want_kwargs)?;
    }
    Ok(())
}

/// A plain call: Python's callee must not be offered a progress callback.
async fn rust_calls_no_progress(s: &Session, py: &Log, p: &str) -> Result<(), String> {
    let res = within("call", s.call(format!("{p}.py.progress")).args(&(2,)))
        .await?
        .map_err(|e| format!("call failed: {e}"))?;
    let wanted = py.wait("progress:2", STEP).await?;
    check(
        "python saw details.progress set",
        field(&wanted, "wanted"),
        &false.into(),
    )?;
    let (args, kwargs) = result_parts(&res)?;
    check("args", &args, &list(vec!["done".into(), 2.into()]))?;
    check("kwargs", &kwargs, &dict([("total", 2.into())]))
}

/// Python raises `ApplicationError("com.example.err", "a", 1, code=17)`.
async fn rust_calls_error(s: &Session, p: &str) -> Result<(), String> {
    let err = match within("call", s.call(format!("{p}.py.fail"))).await? {
        Ok(r) => return Err(format!("the call succeeded: {r:?}")),
        Err(e) => e,
    };
    let w = err
        .wamp()
        .ok_or_else(|| format!("not a WAMP error: {err}"))?;
    if w.uri.as_str() != "com.example.err" {
        return Err(format!("error URI {}, expected com.example.err", w.uri));
    }
    let args = w.payload.args_values().map_err(|e| e.to_string())?;
    let kwargs = w.payload.kwargs_values().map_err(|e| e.to_string())?;
    check(
        "error args",
        &Value::List(args),
        &list(vec!["a".into(), 1.into()]),
    )?;
    check(
        "error kwargs",
        &Value::Dict(kwargs),
        &dict([("code", 17.into())]),
    )
}

/// Rust drops a pending call (CANCEL killnowait): Python's task must be cancelled.
async fn rust_cancels_by_drop(s: &Session, py: &Log, p: &str) -> Result<(), String> {
    let call = s.call(format!("{p}.py.slow")).args(&("drop",));
    let task = tokio::spawn(async move { call.await });
    py.wait("slow_started:drop", STEP).await?;
    task.abort();
    match task.await {
        Err(e) if e.is_cancelled() => {}
        other => return Err(format!("the call ended before it was dropped: {other:?}")),
    }
    py.wait("slow_cancelled:drop", STEP).await.map(drop)
}

/// Rust drops a pending call with CANCEL mode kill: Python's task must be cancelled.
async fn rust_cancels_by_drop_kill(s: &Session, py: &Log, p: &str) -> Result<(), String> {
    let call = s
        .call(format!("{p}.py.slow"))
        .args(&("dropkill",))
        .cancel_mode(CancelMode::Kill);
    let task = tokio::spawn(async move { call.await });
    py.wait("slow_started:dropkill", STEP).await?;
    task.abort();
    match task.await {
        Err(e) if e.is_cancelled() => {}
        other => return Err(format!("the call ended before it was dropped: {other:?}")),
    }
    py.wait("slow_cancelled:dropkill", STEP).await.map(drop)
}

/// Our client-side timeout with CANCEL mode kill: `Error::Timeout` here, Python's task
/// cancelled there.
async fn rust_cancels_by_timeout(s: &Session, py: &Log, p: &str) -> Result<(), String> {
    let call = s
        .call(format!("{p}.py.slow"))
        .args(&("kill",))
        .timeout(Duration::from_millis(1500))
        .cancel_mode(CancelMode::Kill);
    match within("call", call).await? {
        Err(Error::Timeout(_)) => {}
        other => return Err(format!("expected Error::Timeout, got {other:?}")),
    }
    py.wait("slow_started:kill", STEP).await?;
    py.wait("slow_cancelled:kill", STEP).await.map(drop)
}

/// The dealer's timeout: the dealer cancels, we get `wamp.error.canceled`, Python's task is
/// cancelled. Crossbar reads `CALL.Options.timeout` in seconds (the spec says milliseconds)
/// and rounds the deadline *down* to a whole second, so 1 could fire at once, before the
/// callee even started; 2 fires after 1 to 2 s.
async fn rust_call_router_timeout(s: &Session, py: &Log, p: &str) -> Result<(), String> {
    let call = s
        .call(format!("{p}.py.slow"))
        .args(&("router",))
        .option("timeout", 2u32);
    match within("call", call).await? {
        Err(e) if e.is(StandardError::Canceled) => {}
        other => return Err(format!("expected wamp.error.canceled, got {other:?}")),
    }
    py.wait("slow_cancelled:router", STEP).await.map(drop)
}

/// Rust publishes the fixtures; Python's subscriber must see them exactly.
async fn rust_publishes(s: &Session, py: &Log, p: &str, fx: &Fixtures) -> Result<(), String> {
    for label in fx.labels() {
        let (args, kwargs) = fx.get(label);
        within(
            "publish",
            s.publish(format!("{p}.py.topic.{label}"))
                .args(args)
                .kwargs(kwargs)
                .acknowledge(true),
        )
        .await?
        .map_err(|e| format!("publish {label}: {e}"))?;
    }
    for label in fx.labels() {
        let seen = py.wait(&format!("event:{label}"), STEP).await?;
        check(
            &format!("{label} event args"),
            field(&seen, "args"),
            &fx.args(label),
        )?;
        check(
            &format!("{label} event kwargs"),
            field(&seen, "kwargs"),
            &fx.kwargs(label),
        )?;
    }
    Ok(())
}

/// Python called our echo: we must have received the fixture, Python the echo.
async fn python_calls_echo(py: &Log, rs: &Log, fx: &Fixtures, label: &str) -> Result<(), String> {
    let line = py.wait(&format!("rpc:{label}"), STEP).await?;
    no_error(&line)?;
    let seen = rs.wait(&format!("echo:{label}"), STEP).await?;
    check("rust received args", field(&seen, "args"), &fx.args(label))?;
    check(
        "rust received kwargs",
        field(&seen, "kwargs"),
        &fx.kwargs(label),
    )?;
    check("python got args", field(&line, "args"), &fx.args(label))?;
    check(
        "python got kwargs",
        field(&line, "kwargs"),
        &fx.kwargs(label),
    )
}

async fn python_calls_progress(py: &Log, rs: &Log) -> Result<(), String> {
    let line = py.wait("rpc:progress", STEP).await?;
    no_error(&line)?;
    let wanted = rs.wait("progress:3", STEP).await?;
    check("rust handler wants_progress()", &wanted, &true.into())?;
    let want_progress = list(
        (0..3)
            .map(|i| {
                let (args, kwargs) = progress_item(i);
                dict([("args", args), ("kwargs", kwargs)])
            })
            .collect(),
    );
    check(
        "python on_progress calls",
        field(&line, "progress"),
        &want_progress,
    )?;
    check(
        "final args",
        field(&line, "args"),
        &list(vec!["done".into(), 3.into()]),
    )?;
    check(
        "final kwargs",
        field(&line, "kwargs"),
        &dict([("total", 3.into())]),
    )
}

/// A plain call from Python: our handler must not be asked for progress, and Python gets
/// only the final result.
async fn python_calls_no_progress(py: &Log, rs: &Log) -> Result<(), String> {
    let line = py.wait("rpc:no-progress", STEP).await?;
    no_error(&line)?;
    let wanted = rs.wait("progress:2", STEP).await?;
    check("rust handler wants_progress()", &wanted, &false.into())?;
    check(
        "args",
        field(&line, "args"),
        &list(vec!["done".into(), 2.into()]),
    )?;
    check(
        "kwargs",
        field(&line, "kwargs"),
        &dict([("total", 2.into())]),
    )
}

async fn python_calls_error(py: &Log) -> Result<(), String> {
    let line = py.wait("rpc:fail", STEP).await?;
    no_error(&line)?;
    let want = rust_error();
    let args = Value::List(want.payload.args_values().expect("our error's args"));
    let kwargs = Value::Dict(want.payload.kwargs_values().expect("our error's kwargs"));
    check(
        "python's error URI",
        field(&line, "uri"),
        &want.uri.as_str().into(),
    )?;
    check("python's error args", field(&line, "args"), &args)?;
    check("python's error kwargs", field(&line, "kwargs"), &kwargs)
}

/// Python cancels a call to our slow callee: our handler future must be dropped, and
/// (unless Autobahn cancelled its own future) Python gets `wamp.error.canceled`.
async fn python_cancels(py: &Log, rs: &Log, key: &str, tag: &str) -> Result<(), String> {
    let line = py.wait(key, STEP).await?;
    no_error(&line)?;
    if tag == "future" {
        check(
            "python outcome",
            field(&line, "outcome"),
            &"CancelledError".into(),
        )?;
    } else {
        check(
            "python's error URI",
            field(&line, "uri"),
            &"wamp.error.canceled".into(),
        )?;
    }
    rs.wait(&format!("slow_started:{tag}"), STEP).await?;
    rs.wait(&format!("slow_dropped:{tag}"), STEP)
        .await
        .map_err(|e| format!("our handler future was not dropped: {e}"))
        .map(drop)
}

async fn python_publishes(py: &Log, rs: &Log, fx: &Fixtures) -> Result<(), String> {
    let line = py.wait("publish", STEP).await?;
    no_error(&line)?;
    for label in fx.labels() {
        let seen = rs.wait(&format!("event:{label}"), STEP).await?;
        if let Some(e) = field(&seen, "error").as_str() {
            return Err(e.to_owned());
        }
        check(
            &format!("{label} event args"),
            field(&seen, "args"),
            &fx.args(label),
        )?;
        check(
            &format!("{label} event kwargs"),
            field(&seen, "kwargs"),
            &fx.kwargs(label),
        )?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// One pairing.

async fn run(rust: Side, python: Side) {
    let started = Instant::now();
    let name = format!("rust {} <-> python {}", rust.label(), python.label());
    let prefix = format!(
        "test.abpeer.p{}.rust_{}.python_{}",
        std::process::id(),
        rust.label().replace('/', "_"),
        python.label().replace('/', "_"),
    );
    let fx = Fixtures::load();
    let session = Session::builder(rust.url())
        .realm(crossbar().realm)
        .serializer(rust.serializer)
        .connect()
        .await
        .unwrap_or_else(|e| panic!("{name}: our client cannot join: {e}"));
    let rs = Log::new();
    let _rust_side = serve_rust_side(&session, &prefix, &rs, &fx)
        .await
        .unwrap_or_else(|e| panic!("{name}: registering/subscribing our side: {e}"));
    let peer = PythonPeer::start(python, &prefix)
        .await
        .unwrap_or_else(|e| panic!("{name}: the Autobahn|Python peer did not get ready: {e}"));
    let py = peer.log.clone();
    let (s, p, fx) = (&session, prefix.as_str(), &fx);
    let (py, rs) = (&py, &rs);
    let mut cases: Vec<Case<'_>> = Vec::new();
    for label in fx.labels() {
        cases.push(case(
            &format!("rust-calls:{label}"),
            rust_calls_echo(s, py, p, fx, label),
        ));
        cases.push(case(
            &format!("python-calls:{label}"),
            python_calls_echo(py, rs, fx, label),
        ));
    }
    cases.extend([
        case("rust-calls:progress", rust_calls_progress(s, py, p)),
        case("rust-calls:no-progress", rust_calls_no_progress(s, py, p)),
        case("rust-calls:error", rust_calls_error(s, p)),
        case("rust-cancels:drop", rust_cancels_by_drop(s, py, p)),
        case(
            "rust-cancels:drop-kill",
            rust_cancels_by_drop_kill(s, py, p),
        ),
        case(
            "rust-cancels:timeout-kill",
            rust_cancels_by_timeout(s, py, p),
        ),
        case(
            "rust-cancels:router-timeout",
            rust_call_router_timeout(s, py, p),
        ),
        case("rust-publishes", rust_publishes(s, py, p, fx)),
        case("python-calls:progress", python_calls_progress(py, rs)),
        case("python-calls:no-progress", python_calls_no_progress(py, rs)),
        case("python-calls:error", python_calls_error(py)),
        case(
            "python-cancels:future",
            python_cancels(py, rs, "cancel:future", "future"),
        ),
        case(
            "python-cancels:kill",
            python_cancels(py, rs, "cancel:kill", "kill"),
        ),
        case(
            "python-cancels:killnowait",
            python_cancels(py, rs, "cancel:killnowait", "killnowait"),
        ),
        case(
            "python-cancels:router-timeout",
            python_cancels(py, rs, "cancel:timeout", "timeout"),
        ),
        case("python-publishes", python_publishes(py, rs, fx)),
    ]);
    let mut outcomes = join_all(cases).await;
    let python_stderr = peer.stderr.clone();
    outcomes.push(("python peer exits cleanly".into(), peer.finish().await));
    let _ = session.leave().await;

    let failed: Vec<_> = outcomes.iter().filter(|(_, r)| r.is_err()).collect();
    println!(
        "{name}: {}/{} cases passed in {:.1?}",
        outcomes.len() - failed.len(),
        outcomes.len(),
        started.elapsed()
    );
    for (case, result) in &outcomes {
        match result {
            Ok(()) => println!("  ok    {case}"),
            Err(e) => println!("  FAIL  {case}: {e}"),
        }
    }
    if !failed.is_empty() {
        panic!(
            "{name}: {} case(s) failed:\n{}\nthe Python peer's stderr: {}",
            failed.len(),
            failed
                .iter()
                .map(|(c, r)| format!("  {c}: {}", r.as_ref().err().map_or("", String::as_str)))
                .collect::<Vec<_>>()
                .join("\n"),
            stderr_text(&python_stderr).await
        );
    }
}

use Serializer::{Cbor, Json, MsgPack};
use Transport::{RawSocket, WebSocket};

#[tokio::test]
async fn websocket_json() {
    run(side(WebSocket, Json), side(WebSocket, Json)).await;
}

#[tokio::test]
async fn websocket_msgpack() {
    run(side(WebSocket, MsgPack), side(WebSocket, MsgPack)).await;
}

#[tokio::test]
async fn websocket_cbor() {
    run(side(WebSocket, Cbor), side(WebSocket, Cbor)).await;
}

#[tokio::test]
async fn rawsocket_json() {
    run(side(RawSocket, Json), side(RawSocket, Json)).await;
}

#[tokio::test]
async fn rawsocket_msgpack() {
    run(side(RawSocket, MsgPack), side(RawSocket, MsgPack)).await;
}

#[tokio::test]
async fn rawsocket_cbor() {
    run(side(RawSocket, Cbor), side(RawSocket, Cbor)).await;
}

/// Rust with MessagePack over WebSocket, Python with JSON over RawSocket: binary travels
/// as `bin` on one side and as `"\u0000" + base64` on the other.
#[tokio::test]
async fn rust_websocket_msgpack_python_rawsocket_json() {
    run(side(WebSocket, MsgPack), side(RawSocket, Json)).await;
}

/// Rust with JSON over RawSocket, Python with MessagePack over WebSocket.
#[tokio::test]
async fn rust_rawsocket_json_python_websocket_msgpack() {
    run(side(RawSocket, Json), side(WebSocket, MsgPack)).await;
}

/// Rust with CBOR over RawSocket, Python with JSON over WebSocket.
#[tokio::test]
async fn rust_rawsocket_cbor_python_websocket_json() {
    run(side(RawSocket, Cbor), side(WebSocket, Json)).await;
}
