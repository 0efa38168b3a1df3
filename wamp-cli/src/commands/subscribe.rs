//! `wamp subscribe TOPIC`: print events as JSON lines; the session reconnects (and
//! subscribes again) by itself when the connection is lost.

use futures_util::StreamExt as _;
use wamp::client::{EndReason, Error, Subscription};
use wamp::protocol::MatchPolicy;
use wamp::Session;

use crate::cli::SubscribeArgs;
use crate::connect::Target;
use crate::exit::Failure;
use crate::reconnect::Reporter;
use crate::signals::Shutdown;
use crate::{json, output};

/// Subscribes and prints each event; exits after `--count` events, on a signal, when the
/// router refuses or revokes the subscription, or when the session ends for good.
pub async fn run(target: &Target, args: SubscribeArgs) -> Result<(), Failure> {
    let policy = MatchPolicy::from(args.match_policy);
    super::check_uri(&args.topic, policy.uri_kind(), "topic")?;
    let mut shutdown = Shutdown::install();
    let session = shutdown
        .race(target.connect_reconnecting())
        .await
        .map_err(Failure::quiet)??;
    let mut subscription = match shutdown.race(subscribe(&session, &args)).await {
        Ok(Ok(s)) => s,
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
    let outcome = receive(&mut subscription, args.count, &mut reporter, &mut shutdown).await;
    drop(subscription);
    super::leave(&session).await;
    outcome
}

/// Subscribes on `session` as the options say.
async fn subscribe(session: &Session, args: &SubscribeArgs) -> Result<Subscription, Error> {
    let mut request = session
        .subscribe(&args.topic)
        .match_policy(args.match_policy.into());
    if args.get_retained {
        request = request.get_retained(true);
    }
    let subscription = request.await?;
    tracing::info!(topic = %args.topic, subscription = %subscription.id(), "subscribed");
    Ok(subscription)
}

/// Prints events until `--count` is reached, the subscription ends, or a signal comes;
/// reports reconnections on the way.
async fn receive(
    subscription: &mut Subscription,
    mut remaining: Option<u64>,
    reporter: &mut Reporter,
    shutdown: &mut Shutdown,
) -> Result<(), Failure> {
    let mut dropped = 0;
    loop {
        tokio::select! {
            biased;
            item = subscription.next() => match item {
                Some(Ok(event)) => {
                    match json::event_line(&event) {
                        Ok(line) => output::print_line(&line)?,
                        Err(e) => {
                            eprintln!("wamp: skipping an event: {e}");
                            continue;
                        }
                    }
                    let now = subscription.dropped();
                    if now > dropped {
                        eprintln!("wamp: {} events dropped: stdout is not keeping up", now - dropped);
                        dropped = now;
                    }
                    if let Some(n) = &mut remaining {
                        *n = n.saturating_sub(1);
                        if *n == 0 {
                            return Ok(());
                        }
                    }
                }
                Some(Err(e)) => return Err(ended(subscription.end_reason(), e)),
                None => return Err(Failure::connect("connection lost: the subscription ended")),
            },
            () = reporter.next() => {}
            code = shutdown.wait() => return Err(Failure::quiet(code)),
        }
    }
}

/// Why the subscription ended, as the exit status says it: refused or revoked by the
/// router exits 1, the session being over exits 3.
fn ended(reason: Option<&EndReason>, error: Error) -> Failure {
    match reason {
        Some(EndReason::Revoked(reason)) => Failure::remote(format!(
            "the router revoked the subscription: {}",
            reason.as_deref().unwrap_or("no reason given")
        )),
        Some(EndReason::RestoreFailed(e)) => Failure::remote(format!(
            "the router refused to subscribe again after reconnecting: {e}"
        )),
        _ => Failure::from_operation(error),
    }
}
