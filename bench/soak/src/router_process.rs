//! The router under test, in a child process of its own.
//!
//! A separate process gives the router its own resident memory figure, so a leak on
//! either side shows up on its side. The child is this same executable started with the
//! `router-child` argument: it runs the embedded [`Router`] with a WebSocket, a RawSocket
//! and both TLS listeners, and obeys one-line commands on stdin (`restart PAUSE_MS`,
//! `sessions`, `quit`). A restart stops the router gracefully and starts a new one on the
//! same ports within the same process, so the process's memory spans every restart and a
//! router that leaves something behind when it stops grows run after run.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use wamp::router::{RealmConfig, Router};
use wamp::transport::tls::TlsServerConfig;

/// The realm every soak client joins.
pub const REALM: &str = "soak";

/// The argument that makes the executable a router child.
pub const CHILD_ARG: &str = "router-child";

/// Where the router listens.
#[derive(Clone, Copy, Debug)]
pub struct Listeners {
    /// WebSocket (`ws://ADDR/ws`).
    pub websocket: SocketAddr,
    /// RawSocket (`tcp://ADDR`).
    pub rawsocket: SocketAddr,
    /// WebSocket over TLS.
    pub websocket_tls: SocketAddr,
    /// RawSocket over TLS.
    pub rawsocket_tls: SocketAddr,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Panics in the child so far (its tasks' panics are caught by tokio; this counts them).
static PANICS: AtomicU64 = AtomicU64::new(0);

/// The child's side: serves until stdin says `quit` or closes.
pub async fn serve_child(dir: &Path) -> Result<(), BoxError> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::Relaxed);
        previous(info);
    }));
    let tls = TlsServerConfig::from_pem_files(dir.join("server.pem"), dir.join("server.key"))?;
    let any: SocketAddr = "127.0.0.1:0".parse()?;
    let first = start(&[any; 4], &tls).await?;
    let bound: Vec<SocketAddr> = first.listeners().iter().map(|l| l.addr).collect();
    let addrs = [bound[0], bound[1], bound[2], bound[3]];
    let mut router = first;
    let mut out = tokio::io::stdout();
    let ports = addrs.map(|a| a.port().to_string()).join(" ");
    out.write_all(format!("ready {ports}\n").as_bytes()).await?;
    out.flush().await?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let words: Vec<&str> = line.split_whitespace().collect();
        let reply = match words.as_slice() {
            ["restart", pause_ms] => {
                router.shutdown(Duration::from_secs(3)).await;
                // Sessions the stopped router still counts: each one is a session task
                // that did not end with the router.
                let left = router.session_count();
                drop(router);
                tokio::time::sleep(Duration::from_millis(pause_ms.parse()?)).await;
                router = start_retrying(&addrs, &tls).await?;
                format!("restarted {left}")
            }
            ["sessions"] => format!(
                "sessions {} {}",
                router.session_count(),
                PANICS.load(Ordering::Relaxed)
            ),
            ["quit"] => break,
            _ => format!("error unknown command {line:?}"),
        };
        out.write_all(format!("{reply}\n").as_bytes()).await?;
        out.flush().await?;
    }
    router.shutdown(Duration::from_secs(3)).await;
    Ok(())
}

async fn start(addrs: &[SocketAddr; 4], tls: &TlsServerConfig) -> Result<Router, BoxError> {
    Ok(Router::builder()
        .realm(RealmConfig::new(REALM))
        .websocket(addrs[0])
        .rawsocket(addrs[1])
        .websocket_tls(addrs[2], tls.clone())
        .rawsocket_tls(addrs[3], tls.clone())
        .start()
        .await?)
}

/// Starts on the ports just released, retrying while the OS has not freed them yet.
async fn start_retrying(
    addrs: &[SocketAddr; 4],
    tls: &TlsServerConfig,
) -> Result<Router, BoxError> {
    let mut last = None;
    for _ in 0..100 {
        match start(addrs, tls).await {
            Ok(router) => return Ok(router),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(last.unwrap_or_else(|| "could not restart".into()))
}

/// The parent's handle on the router child.
pub struct RouterProcess {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    pid: u32,
    listeners: Listeners,
}

impl RouterProcess {
    /// Starts `exe router-child DIR` and waits until it listens.
    pub async fn spawn(exe: &Path, dir: &Path) -> std::io::Result<Self> {
        let mut child = Command::new(exe)
            .arg(CHILD_ARG)
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        let pid = child
            .id()
            .ok_or_else(|| other("the router child has no pid"))?;
        let stdin = child.stdin.take().ok_or_else(|| other("no stdin"))?;
        let stdout = child.stdout.take().ok_or_else(|| other("no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let line = read_line(&mut lines).await?;
        let ports: Vec<u16> = line
            .strip_prefix("ready ")
            .ok_or_else(|| other(format!("router child said {line:?}")))?
            .split_whitespace()
            .map(|p| {
                p.parse()
                    .map_err(|_| other(format!("bad port in {line:?}")))
            })
            .collect::<Result<_, _>>()?;
        let [ws, rs, wss, rss] = ports.as_slice() else {
            return Err(other(format!("router child said {line:?}")));
        };
        let at = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
        Ok(RouterProcess {
            child,
            stdin,
            lines,
            pid,
            listeners: Listeners {
                websocket: at(*ws),
                rawsocket: at(*rs),
                websocket_tls: at(*wss),
                rawsocket_tls: at(*rss),
            },
        })
    }

    /// The child's process ID (for its memory).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Where it listens.
    pub fn listeners(&self) -> Listeners {
        self.listeners
    }

    async fn request(&mut self, line: &str, answer: &str) -> std::io::Result<String> {
        self.stdin.write_all(format!("{line}\n").as_bytes()).await?;
        self.stdin.flush().await?;
        let reply = read_line(&mut self.lines).await?;
        reply
            .strip_prefix(answer)
            .map(|rest| rest.trim().to_owned())
            .ok_or_else(|| other(format!("router child answered {line:?} with {reply:?}")))
    }

    /// Stops the router, waits `pause`, starts it again on the same ports. Returns how
    /// many sessions the stopped router still counted (0 unless a session outlived it).
    pub async fn restart(&mut self, pause: Duration) -> std::io::Result<usize> {
        let left = self
            .request(&format!("restart {}", pause.as_millis()), "restarted")
            .await?;
        left.parse()
            .map_err(|_| other(format!("bad count {left:?}")))
    }

    /// Sessions joined now, and panics in the child so far.
    pub async fn sessions(&mut self) -> std::io::Result<(usize, u64)> {
        let reply = self.request("sessions", "sessions").await?;
        let bad = || other(format!("bad counts {reply:?}"));
        let (sessions, panics) = reply.split_once(' ').ok_or_else(bad)?;
        Ok((
            sessions.parse().map_err(|_| bad())?,
            panics.parse().map_err(|_| bad())?,
        ))
    }

    /// Stops the child and returns how it exited.
    pub async fn stop(mut self) -> std::io::Result<ExitStatus> {
        self.stdin.write_all(b"quit\n").await?;
        self.stdin.flush().await?;
        match tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await {
            Ok(status) => status,
            Err(_) => {
                self.child.kill().await?;
                Err(other("the router child did not exit within 10 s of quit"))
            }
        }
    }

    /// Whether the child has exited (crashed) on its own.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The listener URLs: `(url, tls)` per transport.
    pub fn urls(&self) -> [(String, bool); 4] {
        let l = self.listeners;
        [
            (format!("ws://{}/ws", l.websocket), false),
            (format!("tcp://{}", l.rawsocket), false),
            (format!("wss://{}/ws", l.websocket_tls), true),
            (format!("tcps://{}", l.rawsocket_tls), true),
        ]
    }
}

async fn read_line(lines: &mut Lines<BufReader<ChildStdout>>) -> std::io::Result<String> {
    match tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await {
        Ok(Ok(Some(line))) => Ok(line),
        Ok(Ok(None)) => Err(other("the router child exited")),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(other("the router child did not answer within 60 s")),
    }
}

fn other(msg: impl Into<String>) -> std::io::Error {
    std::io::Error::other(msg.into())
}
