//! `wamp register URI --exec CMD`: answer invocations with a shell command, reconnecting
//! when the connection is lost.

use std::sync::Arc;

use wamp::client::{Error, Registration};
use wamp::protocol::MatchPolicy;
use wamp::Session;

use crate::cli::RegisterArgs;
use crate::connect::Target;
use crate::exit::{one_line, Failure};
use crate::signals::Shutdown;
use crate::{exec, reconnect};

/// Registers the procedure and serves it until a signal comes or the router refuses the
/// registration. Reconnects (and registers again) when the connection is lost.
pub async fn run(target: &Target, args: RegisterArgs) -> Result<(), Failure> {
    let policy = MatchPolicy::from(args.match_policy);
    super::check_uri(&args.procedure, policy.uri_kind(), "procedure")?;
    let command: Arc<str> = args.exec.as_str().into();
    let mut shutdown = Shutdown::install();
    let session = shutdown
        .race(target.connect())
        .await
        .map_err(Failure::quiet)??;
    let registration = match shutdown
        .race(register(session.clone(), &args, command.clone()))
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
    let mut current = (session, registration);
    loop {
        let (session, registration) = current;
        let mut state = session.state();
        let lost = shutdown.race(reconnect::closed(&mut state)).await;
        // Unregistering (on a live session) and leaving stop the invocations still running,
        // which kills their commands.
        drop(registration);
        super::leave(&session).await;
        let reason = lost.map_err(Failure::quiet)?;
        eprintln!(
            "wamp: connection lost ({}); reconnecting to {}",
            one_line(&reason),
            target.url()
        );
        current = shutdown
            .race(reconnect::reconnect(target, |s| {
                register(s, &args, command.clone())
            }))
            .await
            .map_err(Failure::quiet)??;
    }
}

/// Registers the procedure on `session`, each invocation answered by running `command`.
async fn register(
    session: Session,
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
