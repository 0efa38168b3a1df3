//! Shared helpers for the end-to-end and interop tests.
//!
//! The interop tests need a running Crossbar.io router and Autobahn|Python; `scripts/test`
//! (the README's test command) installs and starts both and exports where they are. The
//! helpers here read that and fail with a message that says how to get it, rather than
//! skipping silently.

use std::path::PathBuf;

/// Endpoints of the Crossbar.io router started by `shared/interop/crossbar/start.sh`.
#[derive(Clone, Debug)]
pub struct Crossbar {
    /// `ws://` anonymous.
    pub ws: String,
    /// `tcp://` RawSocket anonymous.
    pub rawsocket: String,
    /// `ws://` with ticket, WAMP-CRA and Cryptosign users.
    pub ws_auth: String,
    /// `wss://` anonymous.
    pub wss: String,
    /// `tcps://` RawSocket over TLS anonymous.
    pub rawsocket_tls: String,
    /// The CA that signed the router's certificate.
    pub ca_cert: PathBuf,
    /// The realm.
    pub realm: String,
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: these tests need the Crossbar.io interop router. \
             Run them with `scripts/test`, which starts it and exports its endpoints."
        )
    })
}

/// The running Crossbar.io router's endpoints (from the `XBAR_*` variables).
pub fn crossbar() -> Crossbar {
    Crossbar {
        ws: env("XBAR_WS_ANONYMOUS_URL"),
        rawsocket: env("XBAR_RAWSOCKET_ANONYMOUS_URL"),
        ws_auth: env("XBAR_WS_AUTHENTICATED_URL"),
        wss: env("XBAR_WSS_ANONYMOUS_URL"),
        rawsocket_tls: env("XBAR_RAWSOCKET_TLS_ANONYMOUS_URL"),
        ca_cert: PathBuf::from(env("XBAR_CA_CERT")),
        realm: env("XBAR_REALM"),
    }
}

/// The Python interpreter of the venv that has Autobahn|Python (the Crossbar.io venv).
pub fn autobahn_python() -> PathBuf {
    let venv = std::env::var("XBAR_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env("HOME")).join(".cache/wamp-interop/xbar"));
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} not found: Autobahn|Python is installed by `scripts/test` (via shared/interop/crossbar/start.sh)",
        python.display()
    );
    python
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// The shared folder (`WAMP_SHARED`, or `../shared` beside the checkout).
pub fn shared_dir() -> PathBuf {
    std::env::var("WAMP_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace_root().join("../shared"))
}

/// Every Crossbar.io endpoint with anonymous access, and the serializers to try on it.
pub fn anonymous_endpoints() -> Vec<String> {
    let xb = crossbar();
    vec![xb.ws, xb.rawsocket, xb.wss, xb.rawsocket_tls]
}
