//! The subcommands.

pub mod call;
pub mod codegen;
pub mod codegen_diff;
pub mod publish;
pub mod register;
pub mod router;
pub mod subscribe;

use std::time::Duration;

use clap::ArgMatches;
use wamp::Session;

use crate::cli::{Cli, Command};
use crate::connect::Target;
use crate::exit::Failure;

/// Runs the chosen subcommand.
pub async fn run(cli: Cli, matches: &ArgMatches) -> Result<(), Failure> {
    if let Command::Router(args) = cli.command {
        return router::run(args, &cli.connection.realm, matches).await;
    }
    if let Command::Codegen(command) = cli.command {
        return codegen::run(command);
    }
    let target = Target::new(&cli.connection, matches)?;
    match cli.command {
        Command::Router(_) | Command::Codegen(_) => Ok(()),
        Command::Call(args) => call::run(&target, args).await,
        Command::Publish(args) => publish::run(&target, args).await,
        Command::Subscribe(args) => subscribe::run(&target, args).await,
        Command::Register(args) => register::run(&target, args).await,
    }
}

/// Leaves the session, waiting a little for the router (so that what was queued, a CANCEL
/// or an unacknowledged event, is sent), but not for long.
pub async fn leave(session: &Session) {
    match tokio::time::timeout(Duration::from_secs(2), session.leave()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!(error = %e, "leaving"),
        Err(_) => tracing::debug!("the router did not answer GOODBYE in time"),
    }
}

/// Checks a URI given on the command line before connecting.
pub fn check_uri(uri: &str, kind: wamp::protocol::UriKind, what: &str) -> Result<(), Failure> {
    wamp::Uri::with_kind(uri, kind)
        .map(|_| ())
        .map_err(|e| Failure::usage(format!("invalid {what} {uri:?}: {e}")))
}
