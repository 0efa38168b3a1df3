//! End-to-end tests of the `wamp` program against the Crossbar.io interop router.
//!
//! Run them with `scripts/test` (which starts the router and exports its endpoints), or by
//! hand after `set -a; . $XBAR_STATE/endpoints.env; set +a`.

use std::io::{BufRead as _, BufReader};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How long any single `wamp` run may take before the test fails.
const RUN_LIMIT: Duration = Duration::from_secs(20);

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: these tests need the Crossbar.io interop router. Run them \
             with `scripts/test`, which starts it and exports its endpoints (or source \
             $XBAR_STATE/endpoints.env)."
        )
    })
}

fn ws() -> String {
    env("XBAR_WS_ANONYMOUS_URL")
}

fn cryptosign_seed() -> String {
    let shared = std::env::var("WAMP_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let path = shared.join("interop/crossbar/cryptosign-dave.seed.hex");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e} (set WAMP_SHARED)", path.display()))
        .trim()
        .to_owned()
}

/// A URI unique to this test run and call site.
fn unique(name: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "com.wampcli.test.{name}.p{}.n{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A scratch directory unique to this test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wamp-cli-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// The `wamp` program with no `WAMP_*` variables from the environment.
fn wamp() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wamp"));
    for var in [
        "WAMP_URL",
        "WAMP_REALM",
        "WAMP_SERIALIZER",
        "WAMP_TICKET",
        "WAMP_WAMPCRA",
        "WAMP_CRYPTOSIGN",
        "WAMP_CA",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::null());
    cmd
}

/// Runs `wamp` to completion (killing it after [`RUN_LIMIT`]).
fn run(cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn wamp");
    let stdout = reader(child.stdout.take());
    let stderr = reader(child.stderr.take());
    let deadline = Instant::now() + RUN_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("wamp {cmd:?} did not finish within {RUN_LIMIT:?}");
        }
        thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: stdout.join().expect("stdout"),
        stderr: stderr.join().expect("stderr"),
    }
}

fn reader<R: std::io::Read + Send + 'static>(pipe: Option<R>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    })
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts success and parses each stdout line as JSON.
fn ok_lines(out: &Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "status {:?}, stdout {:?}, stderr {:?}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

/// Asserts success with exactly one JSON line on stdout.
fn ok_json(out: &Output) -> Value {
    let lines = ok_lines(out);
    assert_eq!(lines.len(), 1, "stdout: {:?}", text(&out.stdout));
    lines.into_iter().next().expect("one line")
}

/// Asserts a failure with `code`, nothing on stdout and one `wamp: ` line on stderr, which
/// it returns.
fn failed(out: &Output, code: i32) -> String {
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout {:?}, stderr {stderr:?}",
        text(&out.stdout)
    );
    assert!(out.stdout.is_empty(), "stdout: {:?}", text(&out.stdout));
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "stderr: {stderr:?}");
    assert!(lines[0].starts_with("wamp: "), "stderr: {stderr:?}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr:?}");
    lines[0].to_owned()
}

/// A `wamp` process running in the background, killed when dropped.
struct Background {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Background {
    fn start(cmd: &mut Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn wamp");
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let pipe = child.stderr.take().expect("stderr");
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let mut s = sink.lock().expect("lock");
                s.push_str(&line);
                s.push('\n');
            }
        });
        Background {
            child,
            lines,
            stderr,
        }
    }

    /// The next stdout line, as JSON, if one comes within `wait`.
    fn next_json(&self, wait: Duration) -> Option<Value> {
        self.lines
            .recv_timeout(wait)
            .ok()
            .map(|l| serde_json::from_str(&l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
    }

    fn stderr(&self) -> String {
        self.stderr.lock().expect("lock").clone()
    }

    /// Waits for the process to exit by itself.
    fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "wamp did not exit within {limit:?}; stderr: {}",
                self.stderr()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether it is still running.
    fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `wamp register` and waits until the router has the registration.
fn register(url: &str, uri: &str, exec: &str, extra: &[&str]) -> Background {
    let bg = Background::start(
        wamp()
            .args(["register", uri, "--exec", exec, "--url", url])
            .args(extra),
    );
    let pattern = extra
        .windows(2)
        .find(|w| w[0] == "--match")
        .map(|w| w[1].to_owned());
    wait_for_lookup("wamp.registration.lookup", uri, pattern.as_deref(), &bg);
    bg
}

/// Starts `wamp subscribe` and waits until the router has the subscription.
fn subscribe(url: &str, topic: &str, extra: &[&str]) -> Background {
    let bg = Background::start(wamp().args(["subscribe", topic, "--url", url]).args(extra));
    let pattern = extra
        .windows(2)
        .find(|w| w[0] == "--match")
        .map(|w| w[1].to_owned());
    wait_for_lookup("wamp.subscription.lookup", topic, pattern.as_deref(), &bg);
    bg
}

/// Polls the router's meta API (through `wamp call`) until `uri` is registered or subscribed.
fn wait_for_lookup(procedure: &str, uri: &str, policy: Option<&str>, bg: &Background) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut cmd = wamp();
    cmd.args(["call", procedure, &format!("\"{uri}\"")]);
    if let Some(p) = policy {
        cmd.arg(json!({ "match": p }).to_string());
    }
    cmd.args(["--url", &ws()]);
    loop {
        let out = run(&mut cmd);
        let found = ok_json(&out)["args"][0].is_u64();
        if found {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{uri} never showed up in {procedure}; wamp stderr: {}",
            bg.stderr()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// Echoes the call's arguments and keyword arguments back.
const ECHO: &str = "python3 -c 'import json,sys; d=json.load(sys.stdin); \
                    print(json.dumps({\"args\": d[\"args\"], \"kwargs\": d[\"kwargs\"]}))'";

#[test]
fn call_and_register_roundtrip_every_kind_of_argument() {
    let uri = unique("echo");
    let _callee = register(&ws(), &uri, ECHO, &[]);
    for serializer in ["json", "msgpack", "cbor"] {
        let out = run(wamp().args([
            "call",
            &uri,
            "1",
            "-5",
            "2.5",
            "\"text\"",
            "\"\\u0000AAEC/w==\"",
            "{\"a\":[true,null]}",
            "--kwargs",
            "{\"k\":\"v\",\"n\":-1}",
            "--serializer",
            serializer,
            "--url",
            &ws(),
        ]));
        assert_eq!(
            text(&out.stdout).trim(),
            r#"{"args":[1,-5,2.5,"text","\u0000AAEC/w==",{"a":[true,null]}],"kwargs":{"k":"v","n":-1}}"#,
            "serializer {serializer}, stderr {}",
            text(&out.stderr)
        );
        assert!(out.status.success());
    }
    // `--` ends the options; options may also follow the arguments.
    let out = run(wamp().args(["call", &uri, "--url", &ws(), "--", "-7", "\"--x\""]));
    assert_eq!(ok_json(&out), json!({"args": [-7, "--x"], "kwargs": {}}));
    let out = run(wamp().args(["call", &uri, "3", "--kwargs", "{}", "4", "--url", &ws()]));
    assert_eq!(ok_json(&out), json!({"args": [3, 4], "kwargs": {}}));
}

#[test]
fn exec_reads_args_kwargs_and_details() {
    let prefix = unique("input");
    let _callee = register(&ws(), &format!("{prefix}."), "cat", &["--match", "prefix"]);
    let concrete = format!("{prefix}.deep.proc");
    let out = run(wamp().args([
        "call",
        &concrete,
        "[1]",
        "--kwargs",
        "{\"x\":\"\\u0000AQ==\"}",
        "--url",
        &ws(),
    ]));
    let result = ok_json(&out);
    // `cat` prints the input, which has a "details" key: it is one positional result.
    let input = &result["args"][0];
    assert_eq!(input["args"], json!([[1]]));
    assert_eq!(input["kwargs"], json!({"x": "\u{0}AQ=="}));
    assert_eq!(input["details"]["procedure"], json!(concrete));
    assert!(input["details"]["caller"].is_u64(), "input {input}");
    assert_eq!(result["kwargs"], json!({}));
}

#[test]
fn exec_output_forms_and_failures() {
    let uri = unique("forms");
    let script = r#"input=$(cat); case "$input" in
        *'"empty"'*) ;;
        *'"kw"'*) echo '{"kwargs":{"a":1}}' ;;
        *'"both"'*) printf '{"args":[1,"two"],\n"kwargs":{"b":[]}}' ;;
        *'"str"'*) echo '"hi"' ;;
        *'"obj"'*) echo '{"args":[1],"other":2}' ;;
        *'"bad"'*) echo 'not json'; echo 'warned' >&2 ;;
        *'"fail"'*) echo 'it "broke"' >&2; exit 3 ;;
    esac"#;
    let _callee = register(&ws(), &uri, script, &[]);
    let call =
        |mode: &str| run(wamp().args(["call", &uri, &format!("\"{mode}\""), "--url", &ws()]));
    assert_eq!(ok_json(&call("empty")), json!({"args": [], "kwargs": {}}));
    assert_eq!(
        ok_json(&call("kw")),
        json!({"args": [], "kwargs": {"a": 1}})
    );
    assert_eq!(
        ok_json(&call("both")),
        json!({"args": [1, "two"], "kwargs": {"b": []}})
    );
    assert_eq!(ok_json(&call("str")), json!({"args": ["hi"], "kwargs": {}}));
    assert_eq!(
        ok_json(&call("obj")),
        json!({"args": [{"args": [1], "other": 2}], "kwargs": {}})
    );

    let line = failed(&call("fail"), 1);
    assert!(
        line.starts_with("wamp: com.wamp_cli.exec_failed "),
        "{line}"
    );
    assert!(line.contains(r#""status":3"#), "{line}");
    assert!(line.contains(r#""stderr":"it \"broke\"\n""#), "{line}");

    let line = failed(&call("bad"), 1);
    assert!(
        line.starts_with("wamp: com.wamp_cli.exec_failed "),
        "{line}"
    );
    assert!(line.contains(r#""status":0"#), "{line}");
    assert!(line.contains(r#""stderr":"warned\n""#), "{line}");
    assert!(line.contains(r#""stdout":"not json\n""#), "{line}");
}

#[test]
fn concurrent_invocations_run_in_parallel() {
    let uri = unique("parallel");
    let _callee = register(&ws(), &uri, "sleep 1; echo 1", &[]);
    let started = Instant::now();
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let uri = uri.clone();
            thread::spawn(move || run(wamp().args(["call", &uri, "--url", &ws()])))
        })
        .collect();
    for c in calls {
        assert_eq!(
            ok_json(&c.join().expect("call")),
            json!({"args": [1], "kwargs": {}})
        );
    }
    assert!(
        started.elapsed() < Duration::from_millis(2800),
        "calls were serialized: {:?}",
        started.elapsed()
    );
}

#[test]
fn timeout_cancels_and_kills_the_command() {
    let dir = scratch("timeout");
    let marker = dir.join("finished");
    let uri = unique("slow");
    // A subshell: killing only `sh` would leave it running.
    let exec = format!("(sleep 2; touch '{}'); echo 1", marker.display());
    let _callee = register(&ws(), &uri, &exec, &[]);
    let started = Instant::now();
    let out = run(wamp().args(["call", &uri, "--timeout", "700", "--url", &ws()]));
    let took = started.elapsed();
    let line = failed(&out, 1);
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(line.contains("timed out"), "{line}");
    // Had the command not been killed, it would have touched the marker by now.
    thread::sleep(Duration::from_millis(2500).saturating_sub(started.elapsed()));
    thread::sleep(Duration::from_millis(500));
    assert!(!marker.exists(), "the command ran to its end");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn progress_flag_prints_the_final_result() {
    let uri = unique("progress");
    let _callee = register(&ws(), &uri, ECHO, &[]);
    let out = run(wamp().args(["call", &uri, "5", "--progress", "--url", &ws()]));
    assert_eq!(ok_json(&out), json!({"args": [5], "kwargs": {}}));
}

#[test]
fn no_such_procedure_exits_1() {
    let uri = unique("missing");
    let line = failed(&run(wamp().args(["call", &uri, "--url", &ws()])), 1);
    assert!(
        line.starts_with("wamp: wamp.error.no_such_procedure"),
        "{line}"
    );
}

#[test]
fn bad_input_exits_2() {
    // No router is needed to reject these: nothing listens on port 1.
    let url = "ws://127.0.0.1:1/ws";
    let line = failed(
        &run(wamp().args(["call", "com.x", "1", "text", "--url", url])),
        2,
    );
    assert!(line.contains("ARG 2 is not JSON"), "{line}");
    let line = failed(
        &run(wamp().args(["publish", "com.x", "--kwargs", "[1]", "--url", url])),
        2,
    );
    assert!(line.contains("--kwargs"), "{line}");
    failed(&run(wamp().args(["call", "com x", "--url", url])), 2);
    failed(
        &run(wamp().args(["call", "com.x", "--url", "http://h/"])),
        2,
    );
    failed(
        &run(wamp().args(["call", "com.x", "--url", url, "--ticket", "nocolon"])),
        2,
    );
    failed(
        &run(wamp().args(["call", "com.x", "--url", url, "--cryptosign", "dave:abcd"])),
        2,
    );
    failed(
        &run(wamp().args(["call", "com.x", "--url", url, "--ca", "/nonexistent/ca.pem"])),
        2,
    );
}

#[test]
fn usage_errors_exit_2() {
    let line = failed(&run(wamp().args(["call", "com.x", "--bogus"])), 2);
    assert!(line.contains("--bogus"), "{line}");
    failed(&run(wamp().args(["frobnicate"])), 2);
    failed(&run(wamp().args(["call"])), 2);
    failed(&run(wamp().args(["register", "com.x"])), 2);
    failed(&run(wamp().args(["call", "com.x", "-x"])), 2);
    failed(
        &run(wamp().args(["subscribe", "com.x", "--match", "fuzzy"])),
        2,
    );
    failed(
        &run(wamp().args(["publish", "com.x", "--exclude-me", "maybe"])),
        2,
    );
    failed(&run(wamp().args(["subscribe", "com.x", "--count", "0"])), 2);
    // `wamp` alone prints the help on stderr.
    let out = run(&mut wamp());
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    // Help and version are not errors.
    let out = run(wamp().arg("--help"));
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("Exit status"));
    assert!(run(wamp().args(["register", "--help"])).status.success());
    assert!(run(wamp().arg("--version")).status.success());
}

#[test]
fn unreachable_router_exits_3() {
    let line = failed(
        &run(wamp().args(["call", "com.x", "--url", "ws://127.0.0.1:1/ws"])),
        3,
    );
    assert!(line.contains("could not connect"), "{line}");
    failed(
        &run(wamp().args(["publish", "com.x", "--url", "tcp://127.0.0.1:1"])),
        3,
    );
    failed(
        &run(wamp().args(["subscribe", "com.x", "--url", "ws://127.0.0.1:1/ws"])),
        3,
    );
    failed(
        &run(wamp().args([
            "register",
            "com.x",
            "--exec",
            "true",
            "--url",
            "ws://127.0.0.1:1/ws",
        ])),
        3,
    );
}

#[test]
fn authentication() {
    let url = env("XBAR_WS_AUTHENTICATED_URL");
    let topic = unique("auth");
    let seed = cryptosign_seed();
    for cred in [
        ["--ticket", "alice:secret123"],
        ["--wampcra", "bob:prq7+YkJ1/KlW1X0YczMHw=="],
        ["--wampcra", "carol:hunter2"],
        ["--cryptosign", format!("dave:{seed}").as_str()],
    ] {
        let out = run(wamp()
            .args(["publish", &topic, "--acknowledge", "--url", &url])
            .args(cred));
        assert!(ok_json(&out)["publication"].is_u64(), "{cred:?}");
    }
    let line = failed(
        &run(wamp().args(["publish", &topic, "--url", &url, "--ticket", "alice:wrong"])),
        3,
    );
    assert!(line.contains("not_authorized"), "{line}");
    failed(
        &run(wamp().args(["publish", &topic, "--url", &url, "--wampcra", "bob:wrong"])),
        3,
    );
    // Anonymous is not allowed there.
    failed(&run(wamp().args(["publish", &topic, "--url", &url])), 3);
}

#[test]
fn environment_variables_stand_for_options() {
    let auth = env("XBAR_WS_AUTHENTICATED_URL");
    let topic = unique("env");
    let out = run(wamp()
        .args(["publish", &topic, "--acknowledge"])
        .env("WAMP_URL", &auth)
        .env("WAMP_TICKET", "alice:secret123")
        .env("WAMP_REALM", env("XBAR_REALM"))
        .env("WAMP_SERIALIZER", "cbor"));
    assert!(ok_json(&out)["publication"].is_u64());
    // A flag wins over its variable.
    let out = run(wamp()
        .args(["publish", &topic, "--acknowledge", "--url", &ws()])
        .env("WAMP_URL", "ws://127.0.0.1:1/ws"));
    assert!(ok_json(&out)["publication"].is_u64());
    let out = run(wamp()
        .args([
            "publish",
            &topic,
            "--acknowledge",
            "--ticket",
            "alice:secret123",
        ])
        .env("WAMP_URL", &auth)
        .env("WAMP_TICKET", "alice:wrong"));
    assert!(ok_json(&out)["publication"].is_u64());
    // ... and over another method's variable.
    let out = run(wamp()
        .args([
            "publish",
            &topic,
            "--acknowledge",
            "--wampcra",
            "bob:prq7+YkJ1/KlW1X0YczMHw==",
        ])
        .env("WAMP_URL", &auth)
        .env("WAMP_TICKET", "alice:wrong"));
    assert!(ok_json(&out)["publication"].is_u64());
    // The variables are used.
    failed(
        &run(wamp()
            .args(["publish", &topic])
            .env("WAMP_URL", &auth)
            .env("WAMP_TICKET", "alice:wrong")),
        3,
    );
    failed(
        &run(wamp()
            .args(["publish", &topic, "--url", &ws()])
            .env("WAMP_REALM", "no.such.realm")),
        3,
    );
    failed(
        &run(wamp()
            .args(["publish", &topic, "--url", &ws()])
            .env("WAMP_SERIALIZER", "xml")),
        2,
    );
    // Two methods on the same footing are an error.
    failed(
        &run(wamp()
            .args(["publish", &topic, "--url", &auth])
            .env("WAMP_TICKET", "alice:secret123")
            .env("WAMP_WAMPCRA", "bob:x")),
        2,
    );
    // WAMP_CA.
    let out = run(wamp()
        .args(["publish", &topic, "--acknowledge"])
        .env("WAMP_URL", env("XBAR_WSS_ANONYMOUS_URL"))
        .env("WAMP_CA", env("XBAR_CA_CERT")));
    assert!(ok_json(&out)["publication"].is_u64());
}

#[test]
fn options_before_or_after_the_subcommand() {
    let topic = unique("order");
    let url = ws();
    let url = url.as_str();
    for args in [
        vec![
            "--url",
            url,
            "--serializer",
            "msgpack",
            "publish",
            &topic,
            "--acknowledge",
        ],
        vec![
            "publish",
            "--url",
            url,
            &topic,
            "--acknowledge",
            "--serializer",
            "msgpack",
        ],
        vec!["publish", &topic, "1", "--acknowledge", "--url", url, "2"],
    ] {
        let out = run(wamp().args(&args));
        assert!(ok_json(&out)["publication"].is_u64(), "{args:?}");
    }
}

#[test]
fn rawsocket_and_tls_urls() {
    let ca = env("XBAR_CA_CERT");
    let topic = unique("urls");
    let rawsocket = env("XBAR_RAWSOCKET_ANONYMOUS_URL");
    let rawsocket_tls = env("XBAR_RAWSOCKET_TLS_ANONYMOUS_URL");
    let wss = env("XBAR_WSS_ANONYMOUS_URL");
    let rs = rawsocket.replacen("tcp://", "rs://", 1);
    let rss = rawsocket_tls.replacen("tcps://", "rss://", 1);
    for url in [&rawsocket, &rs, &wss, &rawsocket_tls, &rss] {
        for serializer in ["json", "msgpack"] {
            let out = run(wamp().args([
                "publish",
                &topic,
                "--acknowledge",
                "--url",
                url,
                "--ca",
                &ca,
                "--serializer",
                serializer,
            ]));
            assert!(ok_json(&out)["publication"].is_u64(), "{url} {serializer}");
        }
    }
    // TLS is verified unless --insecure.
    let line = failed(
        &run(wamp().args(["publish", &topic, "--acknowledge", "--url", &wss])),
        3,
    );
    assert!(line.contains("TLS"), "{line}");
    let out = run(wamp().args([
        "publish",
        &topic,
        "--acknowledge",
        "--url",
        &wss,
        "--insecure",
    ]));
    assert!(ok_json(&out)["publication"].is_u64());
    // A call over RawSocket TLS to a callee on plain WebSocket.
    let uri = unique("tls.echo");
    let _callee = register(&ws(), &uri, ECHO, &[]);
    let out = run(wamp().args([
        "call",
        &uri,
        "\"\\u0000AAEC\"",
        "--url",
        &rawsocket_tls,
        "--ca",
        &ca,
    ]));
    assert_eq!(ok_json(&out), json!({"args": ["\u{0}AAEC"], "kwargs": {}}));
}

#[test]
fn publish_acknowledge_prints_the_publication() {
    let topic = unique("ack");
    let out = run(wamp().args(["publish", &topic, "--acknowledge", "--url", &ws()]));
    let v = ok_json(&out);
    assert!(v["publication"].is_u64(), "{v}");
    assert_eq!(v.as_object().map(|o| o.len()), Some(1));
    // Without --acknowledge nothing is printed.
    let out = run(wamp().args(["publish", &topic, "--url", &ws()]));
    assert!(ok_lines(&out).is_empty());
}

/// Publishes with `--acknowledge` every 200 ms until `sub` prints a line.
fn publish_until_received(sub: &Background, publish: &[&str]) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let out = run(wamp().args(publish).arg("--acknowledge"));
        ok_json(&out);
        if let Some(v) = sub.next_json(Duration::from_millis(200)) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "no event arrived; subscriber stderr: {}",
            sub.stderr()
        );
    }
}

#[test]
fn subscribe_prints_events_and_stops_after_count() {
    let topic = unique("events");
    let mut sub = subscribe(&ws(), &topic, &["--count", "2", "--serializer", "cbor"]);
    let out = run(wamp().args([
        "publish",
        &topic,
        "1",
        "\"\\u0000AAEC\"",
        "--kwargs",
        "{\"k\":-2}",
        "--acknowledge",
        "--url",
        &ws(),
    ]));
    ok_json(&out);
    let first = sub.next_json(Duration::from_secs(10)).expect("first event");
    assert_eq!(first["args"], json!([1, "\u{0}AAEC"]));
    assert_eq!(first["kwargs"], json!({"k": -2}));
    assert_eq!(first["details"]["topic"], json!(topic));
    assert!(first["details"]["publisher"].is_u64(), "{first}");
    let out = run(wamp().args(["publish", &topic, "--url", &ws(), "--serializer", "msgpack"]));
    assert!(ok_lines(&out).is_empty());
    let second = sub
        .next_json(Duration::from_secs(10))
        .expect("second event");
    assert_eq!(second["args"], json!([]));
    assert_eq!(second["kwargs"], json!({}));
    let status = sub.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status:?}; stderr {}", sub.stderr());
}

#[test]
fn prefix_subscription_shows_the_concrete_topic() {
    let prefix = unique("prefix");
    let sub = subscribe(
        &ws(),
        &format!("{prefix}."),
        &["--match", "prefix", "--count", "1"],
    );
    let concrete = format!("{prefix}.a.b");
    let out = run(wamp().args([
        "publish",
        &concrete,
        "\"x\"",
        "--acknowledge",
        "--url",
        &ws(),
    ]));
    ok_json(&out);
    let event = sub.next_json(Duration::from_secs(10)).expect("event");
    assert_eq!(event["details"]["topic"], json!(concrete));
    assert_eq!(event["args"], json!(["x"]));
}

#[test]
fn wildcard_subscription_and_exclude_me() {
    let base = unique("wild");
    let sub = subscribe(
        &ws(),
        &format!("{base}..end"),
        &["--match", "wildcard", "--count", "1"],
    );
    let concrete = format!("{base}.mid.end");
    let event = publish_until_received(
        &sub,
        &[
            "publish",
            &concrete,
            "--exclude-me",
            "false",
            "--url",
            &ws(),
        ],
    );
    assert_eq!(event["details"]["topic"], json!(concrete));
}

#[test]
fn retained_event_for_late_subscriber() {
    let topic = unique("retained");
    let out = run(wamp().args([
        "publish",
        &topic,
        "42",
        "--retain",
        "--acknowledge",
        "--url",
        &ws(),
    ]));
    ok_json(&out);
    let out = run(wamp().args([
        "subscribe",
        &topic,
        "--get-retained",
        "--count",
        "1",
        "--url",
        &ws(),
    ]));
    let event = ok_json(&out);
    assert_eq!(event["args"], json!([42]));
    assert_eq!(event["details"]["topic"], json!(topic));
}

/// A TCP proxy to the router whose connections can be cut, to make `wamp` lose its session.
struct Proxy {
    port: u16,
    connections: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let connections: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let conns = connections.clone();
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
                    continue;
                };
                {
                    let mut all = conns.lock().expect("lock");
                    if let (Ok(c3), Ok(s3)) = (client.try_clone(), server.try_clone()) {
                        all.push(c3);
                        all.push(s3);
                    }
                }
                pipe(client, s2);
                pipe(server, c2);
            }
        });
        Proxy { port, connections }
    }

    /// Closes every connection made so far.
    fn cut(&self) {
        for c in self.connections.lock().expect("lock").drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}

/// `host:port` of a URL like `ws://127.0.0.1:18080/ws`.
fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    rest.split('/').next().unwrap_or(rest).to_owned()
}

#[test]
fn subscribe_reconnects_after_losing_the_connection() {
    let proxy = Proxy::start(host_port(&ws()));
    let url = format!("ws://127.0.0.1:{}/ws", proxy.port);
    let topic = unique("resub");
    let mut sub = subscribe(&url, &topic, &["--count", "2"]);
    let publish = ["publish", &topic, "\"x\"", "--url", &ws()];
    publish_until_received(&sub, &publish);
    proxy.cut();
    let second = publish_until_received(&sub, &publish);
    assert_eq!(second["args"], json!(["x"]));
    let status = sub.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    let stderr = sub.stderr();
    assert!(stderr.contains("wamp: connection lost"), "{stderr}");
    assert!(stderr.contains("wamp: reconnected"), "{stderr}");
}

#[test]
fn register_reconnects_after_losing_the_connection() {
    let proxy = Proxy::start(host_port(&env("XBAR_RAWSOCKET_ANONYMOUS_URL")));
    let url = format!("tcp://127.0.0.1:{}", proxy.port);
    let uri = unique("rereg");
    let mut callee = register(&url, &uri, "echo 7", &[]);
    let out = run(wamp().args(["call", &uri, "--url", &ws()]));
    assert_eq!(ok_json(&out), json!({"args": [7], "kwargs": {}}));
    proxy.cut();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let out = run(wamp().args(["call", &uri, "--url", &ws()]));
        if out.status.success() {
            assert_eq!(ok_json(&out), json!({"args": [7], "kwargs": {}}));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never registered again; callee stderr: {}",
            callee.stderr()
        );
        thread::sleep(Duration::from_millis(200));
    }
    assert!(callee.running());
    let stderr = callee.stderr();
    assert!(stderr.contains("wamp: connection lost"), "{stderr}");
    assert!(stderr.contains("wamp: reconnected"), "{stderr}");
}

#[test]
fn sigterm_stops_register_and_kills_running_commands() {
    let dir = scratch("sigterm");
    let marker = dir.join("finished");
    let uri = unique("term");
    let exec = format!("(sleep 2; touch '{}')", marker.display());
    let mut callee = register(&ws(), &uri, &exec, &[]);
    let caller = Background::start(wamp().args(["call", &uri, "--url", &ws()]));
    // Let the invocation start.
    thread::sleep(Duration::from_millis(700));
    let kill = Command::new("kill")
        .args(["-TERM", &callee.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let status = callee.wait_exit(Duration::from_secs(5));
    assert_eq!(status.code(), Some(143), "stderr {}", callee.stderr());
    drop(caller);
    thread::sleep(Duration::from_millis(2000));
    assert!(!marker.exists(), "the command ran to its end");
    let _ = std::fs::remove_dir_all(&dir);
}
