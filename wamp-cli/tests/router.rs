//! `wamp router` as scripts use it: listeners printed once ready, the client verbs against
//! it, a config file with users, bad configs refused with a line number, clean shutdown on
//! SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WAMP: &str = env!("CARGO_BIN_EXE_wamp");

/// A running `wamp router`, killed when dropped.
struct RouterProcess {
    child: Child,
    urls: Vec<String>,
}

impl Drop for RouterProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &[&str]) -> RouterProcess {
    let mut child = Command::new(WAMP)
        .arg("router")
        .args(args)
        .env_remove("WAMP_REALM")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn wamp router");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut urls = Vec::new();
    let expected = args
        .iter()
        .filter(|a| a.starts_with("--ws") || a.starts_with("--rawsocket"))
        .count()
        .max(1);
    while urls.len() < expected {
        let line = lines.next().expect("a listener line").expect("utf-8");
        let url = line
            .split_whitespace()
            .nth(2)
            .expect("listening on URL")
            .to_owned();
        urls.push(url);
    }
    RouterProcess { child, urls }
}

fn wamp(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(WAMP)
        .args(args)
        .env_remove("WAMP_URL")
        .env_remove("WAMP_REALM")
        .output()
        .expect("run wamp");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Calls until the procedure is registered (the registering process starts asynchronously).
fn call_when_ready(args: &[&str]) -> (i32, String, String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let result = wamp(args);
        if result.0 != 1 || !result.2.contains("no_such_procedure") || Instant::now() > deadline {
            return result;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn client_verbs_against_the_router_on_both_listeners() {
    let router = start(&["--ws", "127.0.0.1:0", "--rawsocket", "127.0.0.1:0"]);
    assert!(
        router.urls[0].starts_with("ws://127.0.0.1:") && router.urls[0].ends_with("/ws"),
        "{:?}",
        router.urls
    );
    assert!(
        router.urls[1].starts_with("tcp://127.0.0.1:"),
        "{:?}",
        router.urls
    );
    let mut callee = Command::new(WAMP)
        .args(["register", "com.test.double", "--url", &router.urls[1], "--serializer", "cbor", "--exec", "python3 -c 'import json,sys; a=json.load(sys.stdin)[\"args\"]; print(json.dumps(a[0]*2))'"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("register");
    let (code, out, err) = call_when_ready(&[
        "call",
        "com.test.double",
        "21",
        "--url",
        &router.urls[0],
        "--serializer",
        "msgpack",
    ]);
    let _ = callee.kill();
    let _ = callee.wait();
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), r#"{"args":[42],"kwargs":{}}"#);
    let (code, _, err) = wamp(&["call", "com.test.nobody", "--url", &router.urls[0]]);
    assert_eq!(code, 1);
    assert!(err.contains("wamp.error.no_such_procedure"), "{err}");
    let (code, out, _) = wamp(&[
        "publish",
        "com.test.topic",
        "1",
        "--acknowledge",
        "--url",
        &router.urls[0],
    ]);
    assert_eq!(code, 0);
    assert!(out.starts_with("{\"publication\":"), "{out}");
}

/// Floats are exact end to end: arguments parsed by `wamp call`, converted by the router
/// between JSON, MessagePack and CBOR, echoed by a CBOR callee whose command only edits
/// the text, and printed, come out digit for digit. NaN is not JSON: refused as input.
#[test]
fn floats_pass_through_the_cli_and_router_exactly() {
    let router = start(&["--ws", "127.0.0.1:0", "--rawsocket", "127.0.0.1:0"]);
    // The invocation line is {"args":[...],"kwargs":{...},"details":{...}}: dropping the
    // details leaves a result object, and no program but ours reads the numbers.
    let mut callee = Command::new(WAMP)
        .args([
            "register",
            "com.test.echo",
            "--url",
            &router.urls[1],
            "--serializer",
            "cbor",
            "--exec",
            "sed -e 's/,\"details\":.*$/}/'",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("register");
    let floats = [
        "1.5e-300",
        "5e-324",
        "2.2250738585072014e-308",
        "-0.0",
        "0.1",
        "1.7976931348623157e308",
        "123456.789",
        "9007199254740993.0",
    ];
    let mut outcomes = Vec::new();
    for serializer in ["json", "msgpack", "cbor"] {
        let mut args = vec!["call", "com.test.echo"];
        args.extend(floats);
        args.extend([
            "--kwargs",
            "{\"x\":1.5e-300}",
            "--url",
            &router.urls[0],
            "--serializer",
            serializer,
        ]);
        outcomes.push((serializer, call_when_ready(&args)));
    }
    let (code, _, err) = wamp(&["call", "com.test.echo", "NaN", "--url", &router.urls[0]]);
    let _ = callee.kill();
    let _ = callee.wait();
    // The same numbers in serde_json's shortest form: the nearest f64 to 9007199254740993
    // is 2^53, and a positive exponent is written with its sign.
    let printed = floats
        .join(",")
        .replace("9007199254740993.0", "9007199254740992.0")
        .replace("e308", "e+308");
    for (serializer, (code, out, err)) in outcomes {
        assert_eq!(code, 0, "{serializer}: {err}");
        assert_eq!(
            out.trim(),
            format!(r#"{{"args":[{printed}],"kwargs":{{"x":1.5e-300}}}}"#),
            "{serializer}"
        );
    }
    assert_eq!(code, 2, "NaN is not JSON: {err}");
    assert!(err.contains("ARG 1 is not JSON"), "{err}");
}

#[test]
fn a_config_file_sets_realms_users_and_listeners() {
    let dir = std::env::temp_dir().join(format!("wamp-router-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("router.toml");
    std::fs::write(
        &path,
        "[[listener]]\nkind = \"rawsocket\"\naddress = \"127.0.0.1:0\"\n\n[[realm]]\nname = \"private\"\n\n[[realm.user]]\nauthid = \"alice\"\nrole = \"user\"\nticket = \"s3cret\"\n\n[[realm.role]]\nname = \"user\"\n[[realm.role.permission]]\nuri = \"t\"\nallow = [\"publish\"]\n",
    )
    .expect("write config");
    let router = start(&["--config", path.to_str().expect("path")]);
    let url = router.urls[0].clone();
    assert!(url.starts_with("tcp://"), "{url}");
    let (code, _, err) = wamp(&[
        "publish",
        "t",
        "--acknowledge",
        "--url",
        &url,
        "--realm",
        "private",
        "--ticket",
        "alice:s3cret",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = wamp(&[
        "publish",
        "t",
        "--url",
        &url,
        "--realm",
        "private",
        "--ticket",
        "alice:wrong",
    ]);
    assert_eq!(code, 3, "{err}");
    let (code, _, err) = wamp(&["publish", "t", "--url", &url, "--realm", "private"]);
    assert_eq!(code, 3, "anonymous is refused: {err}");
    let (code, _, err) = wamp(&["publish", "t", "--url", &url, "--realm", "realm1"]);
    assert_eq!(code, 3, "only the configured realm exists: {err}");

    std::fs::write(&path, "[[realm]]\nname = \"r\"\n\n[[realm.user]]\nauthid = \"a\"\nrole = \"x\"\ntikcet = \"typo\"\n").expect("write");
    let (code, out, err) = wamp(&["router", "--config", path.to_str().expect("path")]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(
        err.contains("router.toml:7:") && err.contains("tikcet"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn sigterm_shuts_the_router_down_cleanly() {
    let mut router = start(&["--ws", "127.0.0.1:0"]);
    let mut subscriber = Command::new(WAMP)
        .args(["subscribe", "com.test.t", "--url", &router.urls[0]])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("subscribe");
    std::thread::sleep(Duration::from_millis(500));
    let pid = router.child.id();
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Some(status) = router.child.try_wait().expect("wait") {
            break status.code();
        }
        assert!(Instant::now() < deadline, "router did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(0));
    let _ = subscriber.kill();
    let _ = subscriber.wait();
}

/// Runs `wamp` until it succeeds (or `limit` passes), returning the last outcome.
fn wamp_until_ok(args: &[&str], limit: Duration) -> (i32, String, String) {
    let deadline = Instant::now() + limit;
    loop {
        let result = wamp(args);
        if result.0 == 0 || Instant::now() > deadline {
            return result;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `subscribe` and `register` keep working across a router restart: the session
/// reconnects, subscribes and registers again, and says so on stderr.
#[test]
fn subscribe_and_register_survive_a_router_restart() {
    // Both listeners on port 0: a default one would be a fixed port.
    let first = start(&["--ws", "127.0.0.1:0", "--rawsocket", "127.0.0.1:0"]);
    let url = first.urls[0].clone();
    let addr = url
        .trim_start_matches("ws://")
        .trim_end_matches("/ws")
        .to_owned();
    let mut subscriber = Command::new(WAMP)
        .args([
            "subscribe",
            "com.test.restart",
            "--url",
            &url,
            "--count",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("subscribe");
    let mut callee = Command::new(WAMP)
        .args([
            "register",
            "com.test.restart.p",
            "--url",
            &url,
            "--exec",
            "echo 7",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("register");
    let call = ["call", "com.test.restart.p", "--url", &url];
    let (code, out, err) = wamp_until_ok(&call, Duration::from_secs(10));
    assert_eq!(
        (code, out.trim()),
        (0, r#"{"args":[7],"kwargs":{}}"#),
        "{err}"
    );

    drop(first); // killed: both connections are cut
    let second = {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut child = Command::new(WAMP)
                .args(["router", "--ws", &addr, "--rawsocket", "127.0.0.1:0"])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn wamp router");
            let stdout = child.stdout.take().expect("stdout");
            if BufReader::new(stdout)
                .lines()
                .next()
                .is_some_and(|l| l.is_ok())
            {
                break RouterProcess {
                    child,
                    urls: vec![url.clone()],
                };
            }
            let _ = child.wait();
            assert!(
                Instant::now() < deadline,
                "could not restart the router on {addr}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let (code, out, err) = wamp_until_ok(&call, Duration::from_secs(15));
    assert_eq!(
        (code, out.trim()),
        (0, r#"{"args":[7],"kwargs":{}}"#),
        "{err}"
    );
    // Publish until the subscriber (which stops after one event) has its event.
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        let _ = wamp(&["publish", "com.test.restart", "\"back\"", "--url", &url]);
        if let Some(status) = subscriber.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the subscriber got no event after the restart"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut printed = String::new();
    let mut stderr = String::new();
    use std::io::Read as _;
    let _ = subscriber
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut printed);
    let _ = subscriber
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr);
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(printed.contains(r#""args":["back"]"#), "{printed}");
    assert!(stderr.contains("wamp: connection lost"), "{stderr}");
    assert!(stderr.contains("wamp: reconnected to"), "{stderr}");
    let _ = callee.kill();
    let _ = callee.wait();
    let mut stderr = String::new();
    let _ = callee
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr);
    assert!(stderr.contains("wamp: connection lost"), "{stderr}");
    assert!(stderr.contains("wamp: reconnected to"), "{stderr}");
    drop(second);
}
