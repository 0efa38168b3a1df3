//! `wamp call URI [ARG ...]`: one call, its result printed as JSON lines.

use std::time::Duration;

use futures_util::StreamExt as _;
use wamp::client::Progressive;
use wamp::protocol::UriKind;
use wamp::{Payload, Session};

use crate::cli::CallArgs;
use crate::connect::Target;
use crate::exit::Failure;
use crate::signals::Shutdown;
use crate::{json, output};

/// Calls the procedure and prints the result (and, with `--progress`, each progressive
/// result first). Does not reconnect.
pub async fn run(target: &Target, args: CallArgs) -> Result<(), Failure> {
    super::check_uri(&args.procedure, UriKind::Concrete, "procedure")?;
    let payload = Payload::from_values(
        json::parse_args(&args.args)?,
        json::parse_kwargs(args.kwargs.as_deref())?,
    );
    let mut shutdown = Shutdown::install();
    let session = tokio::select! {
        s = target.connect() => s?,
        code = shutdown.wait() => return Err(Failure::quiet(code)),
    };
    let outcome = tokio::select! {
        r = call(&session, &args, payload) => r,
        // Dropping the call cancels it; leaving below sends the CANCEL.
        code = shutdown.wait() => Err(Failure::quiet(code)),
    };
    super::leave(&session).await;
    outcome
}

async fn call(session: &Session, args: &CallArgs, payload: Payload) -> Result<(), Failure> {
    let mut request = session.call(&args.procedure).payload(payload);
    if let Some(ms) = args.timeout {
        request = request.timeout(Duration::from_millis(ms));
    }
    if args.disclose_me {
        request = request.disclose_me(true);
    }
    if !args.progress {
        let result = request.await.map_err(Failure::from_operation)?;
        return output::print_line(&json::result_line(&result.payload, false)?);
    }
    let mut results = request.progressive();
    while let Some(item) = results.next().await {
        match item.map_err(Failure::from_operation)? {
            Progressive::Progress(result) => {
                output::print_line(&json::result_line(&result.payload, true)?)?;
            }
            Progressive::Final(result) => {
                return output::print_line(&json::result_line(&result.payload, false)?);
            }
        }
    }
    Err(Failure::connect(
        "connection lost: the call ended without a final result",
    ))
}
