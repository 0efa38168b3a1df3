//! `wamp router`: runs the embedded router until SIGINT or SIGTERM.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::ArgMatches;
use wamp::router::{RealmConfig, Router};

use crate::cli::RouterArgs;
use crate::exit::Failure;
use crate::router_config::Config;
use crate::signals::Shutdown;

const DEFAULT_WS: &str = "127.0.0.1:8080";
const DEFAULT_RAWSOCKET: &str = "127.0.0.1:8081";

/// Whether `--realm` was given (on the command line or through `WAMP_REALM`).
fn realm_given(matches: &ArgMatches) -> bool {
    let source = matches
        .subcommand_matches("router")
        .and_then(|m| m.value_source("realm"))
        .or_else(|| matches.value_source("realm"));
    matches!(
        source,
        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
    )
}

fn default_addr(addr: &str) -> Result<SocketAddr, Failure> {
    addr.parse()
        .map_err(|e| Failure::usage(format!("bad default address {addr}: {e}")))
}

/// Runs the router.
pub async fn run(args: RouterArgs, realms: &[String], matches: &ArgMatches) -> Result<(), Failure> {
    let mut shutdown = Shutdown::install();
    let config = match &args.config {
        Some(path) => Some((path.clone(), Config::load(path).map_err(Failure::usage)?)),
        None => None,
    };
    let mut builder = Router::builder();
    let (config_listeners, config_realms) = match &config {
        Some((path, c)) => {
            builder = c.apply(path, builder).map_err(Failure::usage)?;
            (c.has_listeners(), c.has_realms())
        }
        None => (false, false),
    };
    if !config_realms || realm_given(matches) {
        for name in realms {
            wamp::Uri::new(name)
                .map_err(|e| Failure::usage(format!("invalid realm {name:?}: {e}")))?;
            builder = builder.realm(RealmConfig::new(name));
        }
    }
    let ws = match (args.ws, config_listeners) {
        (Some(addr), _) => Some(addr),
        (None, false) => Some(default_addr(DEFAULT_WS)?),
        (None, true) => None,
    };
    let rawsocket = match (args.rawsocket, config_listeners) {
        (Some(addr), _) => Some(addr),
        (None, false) => Some(default_addr(DEFAULT_RAWSOCKET)?),
        (None, true) => None,
    };
    if let Some(addr) = ws {
        builder = builder.websocket(addr);
    }
    if let Some(addr) = rawsocket {
        builder = builder.rawsocket(addr);
    }
    let router = builder.start().await.map_err(|e| match e {
        wamp::router::RouterError::Bind { .. } => Failure::connect(e.to_string()),
        other => Failure::usage(other.to_string()),
    })?;
    let mut stdout = std::io::stdout().lock();
    for l in router.listeners() {
        let kind = match l.kind {
            wamp::router::ListenerKind::WebSocket => "WebSocket",
            wamp::router::ListenerKind::RawSocket => "RawSocket",
        };
        let _ = writeln!(
            stdout,
            "listening on {} ({kind}{})",
            l.url(),
            if l.tls { ", TLS" } else { "" }
        );
    }
    let _ = stdout.flush();
    drop(stdout);
    let _signal = shutdown.wait().await;
    eprintln!("wamp: shutting down");
    router.shutdown(Duration::from_secs(5)).await;
    Ok(())
}
