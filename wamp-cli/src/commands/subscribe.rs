//! `wamp subscribe TOPIC`: print events as JSON lines, reconnecting when the connection is
//! lost.

use futures_util::StreamExt as _;
use wamp::client::{Error, Subscription};
use wamp::protocol::MatchPolicy;
use wamp::Session;

use crate::cli::SubscribeArgs;
use crate::connect::Target;
use crate::exit::{one_line, Failure};
use crate::reconnect;
use crate::signals::Shutdown;
use crate::{json, output};

/// How receiving on one session ended.
enum Outcome {
    /// `--count` events were printed.
    Done,
    /// The session or the subscription was lost, for this reason.
    Lost(String),
}

/// Subscribes and prints each event; exits after `--count` events, on a signal, or when
/// the router refuses or revokes the subscription. Reconnects when the connection is lost.
pub async fn run(target: &Target, args: SubscribeArgs) -> Result<(), Failure> {
    let policy = MatchPolicy::from(args.match_policy);
    super::check_uri(&args.topic, policy.uri_kind(), "topic")?;
    let mut shutdown = Shutdown::install();
    let session = shutdown
        .race(target.connect())
        .await
        .map_err(Failure::quiet)??;
    let subscription = match shutdown.race(subscribe(session.clone(), &args)).await {
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
    let mut current = (session, subscription);
    let mut remaining = args.count;
    loop {
        let (session, mut subscription) = current;
        let outcome = receive(&session, &mut subscription, &mut remaining, &mut shutdown).await;
        drop(subscription);
        super::leave(&session).await;
        let reason = match outcome? {
            Outcome::Done => return Ok(()),
            Outcome::Lost(reason) => reason,
        };
        eprintln!(
            "wamp: connection lost ({}); reconnecting to {}",
            one_line(&reason),
            target.url()
        );
        current = shutdown
            .race(reconnect::reconnect(target, |s| subscribe(s, &args)))
            .await
            .map_err(Failure::quiet)??;
    }
}

/// Subscribes on `session` as the options say.
async fn subscribe(session: Session, args: &SubscribeArgs) -> Result<Subscription, Error> {
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

/// Prints events until `--count` is reached, the session is lost, or a signal comes.
async fn receive(
    session: &Session,
    subscription: &mut Subscription,
    remaining: &mut Option<u64>,
    shutdown: &mut Shutdown,
) -> Result<Outcome, Failure> {
    let mut state = session.state();
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
                    if let Some(n) = remaining {
                        *n = n.saturating_sub(1);
                        if *n == 0 {
                            return Ok(Outcome::Done);
                        }
                    }
                }
                Some(Err(Error::Revoked(reason))) => {
                    return Err(Failure::remote(format!(
                        "the router revoked the subscription: {reason}"
                    )));
                }
                Some(Err(Error::NotConnected(Some(reason)))) => return Ok(Outcome::Lost(reason)),
                Some(Err(e)) => return Ok(Outcome::Lost(e.to_string())),
                None => return Ok(Outcome::Lost("the subscription ended".into())),
            },
            reason = reconnect::closed(&mut state) => return Ok(Outcome::Lost(reason)),
            code = shutdown.wait() => return Err(Failure::quiet(code)),
        }
    }
}
