//! `wamp register URI --exec CMD`: answer invocations with a shell command; the session
//! reconnects (and registers again) by itself when the connection is lost.

use std::sync::Arc;

use wamp::client::{EndReason, Error, Registration, StandardError};
use wamp::protocol::MatchPolicy;
use wamp::Session;

use crate::cli::RegisterArgs;
use crate::connect::Target;
use crate::exec;
use crate::exit::{one_line, Failure};
use crate::reconnect::{self, Reporter};
use crate::signals::Shutdown;

/// Registers the procedure and serves it until a signal comes, the router refuses or
/// revokes the registration, or the session ends for good.
pub async fn run(target: &Target, args: RegisterArgs) -> Result<(), Failure> {
    let policy = MatchPolicy::from(args.match_policy);
    super::check_uri(&args.procedure, policy.uri_kind(), "procedure")?;
    let command: Arc<str> = args.exec.as_str().into();
    let mut shutdown = Shutdown::install();
    let session = shutdown
        .race(target.connect_reconnecting())
        .await
        .map_err(Failure::quiet)??;
    let registration = match shutdown
        .race(register(&session, &args, command.clone()))
        .await
    {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            super::leave(&session).await;
            return Err(Failure::from_operation(e));
        }
        Err(code) => {
            super::leave(&session).await;
            return Err(Failure::quiet(code));
        }
    };
    let mut reporter = Reporter::new(&session, target.url());
    let outcome = serve(
        &session,
        registration,
        &args,
        &command,
        &mut reporter,
        &mut shutdown,
    )
    .await;
    // Leaving stops the invocations still running, which kills their commands.
    super::leave(&session).await;
    outcome
}

/// Serves until the registration ends or a signal comes. A registration the router does
/// not take back after a reconnect because it still knows our previous session's
/// (`procedure_already_exists`) is registered again, with backoff.
async fn serve(
    session: &Session,
    mut registration: Registration,
    args: &RegisterArgs,
    command: &Arc<str>,
    reporter: &mut Reporter,
    shutdown: &mut Shutdown,
) -> Result<(), Failure> {
    loop {
        let reason = tokio::select! {
            reason = registration.ended() => reason,
            () = reporter.next() => continue,
            code = shutdown.wait() => return Err(Failure::quiet(code)),
        };
        match reason {
            EndReason::RestoreFailed(e) if e.is_kind(StandardError::ProcedureAlreadyExists) => {
                eprintln!(
                    "wamp: registering again failed: {}; retrying",
                    one_line(&e.to_string())
                );
                registration = register_again(session, args, command, reporter, shutdown).await?;
                eprintln!("wamp: registered {} again", args.procedure);
            }
            EndReason::Revoked(reason) => {
                return Err(Failure::remote(format!(
                    "the router revoked the registration: {}",
                    reason.as_deref().unwrap_or("no reason given")
                )))
            }
            EndReason::RestoreFailed(e) => {
                return Err(Failure::remote(format!(
                    "the router refused to register again after reconnecting: {e}"
                )))
            }
            other => return Err(Failure::from_operation(Error::from(other))),
        }
    }
}

/// Registers again with backoff while the router still has the procedure (or the
/// connection is down); any other refusal is final.
async fn register_again(
    session: &Session,
    args: &RegisterArgs,
    command: &Arc<str>,
    reporter: &mut Reporter,
    shutdown: &mut Shutdown,
) -> Result<Registration, Failure> {
    let policy = reconnect::policy();
    let mut attempt: u32 = 0;
    loop {
        attempt = attempt.saturating_add(1);
        let delay = tokio::time::sleep(policy.delay(attempt));
        tokio::pin!(delay);
        loop {
            tokio::select! {
                () = &mut delay => break,
                () = reporter.next() => {}
                code = shutdown.wait() => return Err(Failure::quiet(code)),
            }
        }
        let result = tokio::select! {
            r = register(session, args, command.clone()) => r,
            code = shutdown.wait() => return Err(Failure::quiet(code)),
        };
        match result {
            Ok(registration) => return Ok(registration),
            Err(e)
                if e.is(StandardError::ProcedureAlreadyExists)
                    || matches!(e, Error::NotConnected(_)) =>
            {
                eprintln!(
                    "wamp: registering again failed: {}; retrying",
                    one_line(&e.to_string())
                );
            }
            Err(e) => return Err(Failure::from_operation(e)),
        }
    }
}

/// Registers the procedure on `session`, each invocation answered by running `command`.
async fn register(
    session: &Session,
    args: &RegisterArgs,
    command: Arc<str>,
) -> Result<Registration, Error> {
    let registration = session
        .register(&args.procedure, move |invocation| {
            let command = command.clone();
            async move { exec::answer(&command, invocation).await }
        })
        .match_policy(args.match_policy.into())
        .invoke(args.invoke.into())
        .await?;
    tracing::info!(procedure = %args.procedure, registration = %registration.id(), "registered");
    Ok(registration)
}
