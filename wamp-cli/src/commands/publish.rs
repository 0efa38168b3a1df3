//! `wamp publish TOPIC [ARG ...]`: one event.

use wamp::protocol::UriKind;
use wamp::Payload;

use crate::cli::PublishArgs;
use crate::connect::Target;
use crate::exit::Failure;
use crate::signals::Shutdown;
use crate::{json, output};

/// Publishes the event; with `--acknowledge`, waits for the router and prints
/// `{"publication":ID}`. Does not reconnect.
pub async fn run(target: &Target, args: PublishArgs) -> Result<(), Failure> {
    super::check_uri(&args.topic, UriKind::Concrete, "topic")?;
    let payload = Payload::from_values(
        json::parse_args(&args.args)?,
        json::parse_kwargs(args.kwargs.as_deref())?,
    );
    let mut shutdown = Shutdown::install();
    let session = tokio::select! {
        s = target.connect() => s?,
        code = shutdown.wait() => return Err(Failure::quiet(code)),
    };
    let mut request = session.publish(&args.topic).payload(payload);
    if args.acknowledge {
        request = request.acknowledge(true);
    }
    if let Some(exclude) = args.exclude_me {
        request = request.exclude_me(exclude);
    }
    if args.retain {
        request = request.retain(true);
    }
    if args.disclose_me {
        request = request.disclose_me(true);
    }
    let outcome = tokio::select! {
        r = request => r.map_err(Failure::from_operation),
        code = shutdown.wait() => Err(Failure::quiet(code)),
    };
    // Leaving also makes sure an unacknowledged event has been sent.
    super::leave(&session).await;
    match outcome? {
        Some(id) => output::print_line(&json::publication_line(id)),
        None => Ok(()),
    }
}
