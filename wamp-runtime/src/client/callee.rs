//! The callee side: running a handler for each INVOCATION (the [`Invocations`] the driver
//! keeps, each a task of its own that hands its YIELD or ERROR back as a command), and
//! what a handler may return.
//!
//! A handler returns anything that is [`IntoResult`]: a ready payload, nothing, typed
//! arguments ([`Args`], [`Kwargs`], [`ArgsKw`], encoded in the session's serializer when the
//! handler is done), or a [`HandlerResult`](super::HandlerResult), `Result<Payload,
//! WampError>`.
//!
//! Why `Result` only with `Payload` and `WampError`, not any `Result<T: IntoPayload, E:
//! Into<WampError>>`: a handler's `Ok(...)` or `Err(...)` names only one of the two types,
//! and Rust infers the other from the one `Result` type the trait accepts. With a choice,
//! the most common handlers, `async move { Ok(inv.payload) }` and those that only ever
//! `return Err(...)`, would stop compiling for want of a type annotation. `?` still
//! converts errors (a `PayloadError` from [`Invocation::args`](super::Invocation::args)
//! becomes `wamp.error.invalid_argument`), and typed results that may fail are encoded
//! with [`Invocation::result`](super::Invocation::result) (or
//! [`IntoPayload::into_payload`]) before `Ok`.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use serde::Serialize;
use tokio::sync::mpsc;

use super::command::{Command, Commands};
use super::error::{encode_failure, WampError};
use super::types::{Handler, Invocation, ProgressSink};
use crate::protocol::{
    Dict, ErrorDetails, ErrorMessage, Id, Message, MessageType, Payload, Uri, Yield, YieldOptions,
};
use crate::serializer::Serializer;

/// The invocations whose handlers are running, by INVOCATION request ID.
#[derive(Default)]
pub(crate) struct Invocations {
    running: HashMap<Id, Running>,
}

/// A running invocation: its task, and where further input chunks go (progressive call
/// invocations).
struct Running {
    task: tokio::task::AbortHandle,
    chunks: Option<mpsc::UnboundedSender<Payload>>,
}

/// What a new invocation is made of.
pub(crate) struct Start {
    pub(crate) m: crate::protocol::Invocation,
    /// The procedure registered (for pattern registrations the concrete one is in the
    /// details).
    pub(crate) procedure: Uri,
    pub(crate) handler: Handler,
    pub(crate) serializer: Serializer,
    pub(crate) progress: Arc<dyn ProgressSink>,
    /// Where the handler's YIELD or ERROR goes.
    pub(crate) done: Commands,
}

impl Invocations {
    /// A further input chunk of a progressive call invocation already running: handed to
    /// its handler (`true`), or not one (`false`).
    pub(crate) fn chunk(&mut self, m: &mut crate::protocol::Invocation) -> bool {
        let Some(running) = self.running.get_mut(&m.request) else {
            return false;
        };
        let more = m.details.progress().unwrap_or(false);
        if let Some(chunks) = &running.chunks {
            let _ = chunks.send(std::mem::take(&mut m.payload));
        }
        if !more {
            running.chunks = None; // the final chunk: the handler's input ends
        }
        true
    }

    /// Runs the handler for a new invocation in a task of its own. A panic in the handler
    /// becomes `wamp.error.runtime_error` for the caller.
    pub(crate) fn start(&mut self, start: Start) {
        let Start {
            m,
            procedure,
            handler,
            serializer,
            progress,
            done,
        } = start;
        let procedure = m.details.procedure().unwrap_or(procedure);
        let request = m.request;
        let (chunks_tx, chunks_rx) = if m.details.progress().unwrap_or(false) {
            let (tx, rx) = mpsc::unbounded_channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let invocation = Invocation::new(
            request,
            m.registration,
            procedure,
            m.payload,
            m.details,
            serializer,
            progress,
            chunks_rx,
        );
        let task = tokio::spawn(async move {
            let outcome = AssertUnwindSafe(handler(invocation)).catch_unwind().await;
            let msg = match outcome {
                Ok(Ok(payload)) => Yield {
                    request,
                    options: YieldOptions::new(),
                    payload,
                }
                .into(),
                Ok(Err(e)) => ErrorMessage {
                    request_type: MessageType::Invocation,
                    request,
                    details: ErrorDetails::new(),
                    error: e.uri,
                    payload: e.payload,
                }
                .into(),
                Err(panic) => {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "unknown panic".into());
                    error_reply(
                        request,
                        "wamp.error.runtime_error",
                        &format!("the callee panicked: {what}"),
                    )
                }
            };
            let _ = done.send(Command::InvocationDone { request, msg });
        });
        self.running.insert(
            request,
            Running {
                task: task.abort_handle(),
                chunks: chunks_tx,
            },
        );
    }

    /// Whether the handler for `request` is still running (its progress is still wanted).
    pub(crate) fn is_running(&self, request: Id) -> bool {
        self.running.contains_key(&request)
    }

    /// The handler for `request` is done: `true` if its answer is still wanted.
    pub(crate) fn finish(&mut self, request: Id) -> bool {
        self.running.remove(&request).is_some()
    }

    /// INTERRUPT: stops the handler; `true` if it was running (then the caller is owed
    /// an ERROR).
    pub(crate) fn interrupt(&mut self, request: Id) -> bool {
        match self.running.remove(&request) {
            Some(running) => {
                running.task.abort();
                true
            }
            None => false,
        }
    }

    /// Stops every handler (the connection is gone).
    pub(crate) fn stop_all(&mut self) {
        for (_, running) in self.running.drain() {
            running.task.abort();
        }
    }
}

/// An ERROR answering an INVOCATION, with a message as its one argument.
pub(crate) fn error_reply(request: Id, uri: &'static str, message: &str) -> Message {
    ErrorMessage {
        request_type: MessageType::Invocation,
        request,
        details: ErrorDetails::new(),
        error: Uri::from_static(uri),
        payload: Payload::from_values(vec![message.into()], Dict::new()),
    }
    .into()
}

/// A value a callee answers with: it becomes the arguments of the YIELD.
pub trait IntoPayload {
    /// Encodes the value with `serializer` (the session's). An encoding failure is the
    /// callee's fault and reaches the caller as `wamp.error.runtime_error`.
    fn into_payload(self, serializer: Serializer) -> Result<Payload, WampError>;
}

/// What a handler returns: any [`IntoPayload`], or `Result<Payload, WampError>` (the error
/// goes to the caller as an ERROR). See the module documentation for why only that
/// `Result`.
pub trait IntoResult {
    /// The payload of the YIELD, or the ERROR.
    fn into_result(self, serializer: Serializer) -> Result<Payload, WampError>;
}

impl<T: IntoPayload> IntoResult for T {
    fn into_result(self, serializer: Serializer) -> Result<Payload, WampError> {
        self.into_payload(serializer)
    }
}

impl IntoResult for Result<Payload, WampError> {
    fn into_result(self, _serializer: Serializer) -> Result<Payload, WampError> {
        self
    }
}

impl IntoPayload for Payload {
    /// The payload as it is.
    fn into_payload(self, _serializer: Serializer) -> Result<Payload, WampError> {
        Ok(self)
    }
}

impl IntoPayload for () {
    /// An empty result (no arguments at all).
    fn into_payload(self, _serializer: Serializer) -> Result<Payload, WampError> {
        Ok(Payload::empty())
    }
}

/// Typed positional results: a tuple, array or `Vec` of anything serializable.
///
/// ```no_run
/// # async fn demo(session: wamp::Session) -> Result<(), wamp::client::Error> {
/// use wamp::client::Args;
/// let _reg = session
///     .register("com.example.version", |_inv| async move { Args(("1.2.0", 42)) })
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Args<A>(pub A);

/// Typed keyword results only: a struct or map.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Kwargs<K>(pub K);

/// Typed positional and keyword results.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArgsKw<A, K>(pub A, pub K);

impl<A: Serialize> IntoPayload for Args<A> {
    fn into_payload(self, serializer: Serializer) -> Result<Payload, WampError> {
        Payload::encode_args(serializer, &self.0).map_err(|e| encode_failure(&e))
    }
}

impl<K: Serialize> IntoPayload for Kwargs<K> {
    fn into_payload(self, serializer: Serializer) -> Result<Payload, WampError> {
        Payload::empty()
            .with_encoded_kwargs(serializer, &self.0)
            .map_err(|e| encode_failure(&e))
    }
}

impl<A: Serialize, K: Serialize> IntoPayload for ArgsKw<A, K> {
    fn into_payload(self, serializer: Serializer) -> Result<Payload, WampError> {
        Payload::encode_args(serializer, &self.0)
            .and_then(|p| p.with_encoded_kwargs(serializer, &self.1))
            .map_err(|e| encode_failure(&e))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::client::StandardError;

    type Kw = BTreeMap<String, i64>;

    /// Converts what `make` returns with every serializer and compares the payload.
    fn check<R: IntoResult>(make: impl Fn() -> R, args: Option<Vec<i64>>, kwargs: Option<Kw>) {
        for ser in Serializer::ALL {
            let payload = make().into_result(ser).expect("a payload");
            assert_eq!(
                payload.has_args(),
                args.is_some() || kwargs.is_some(),
                "{ser}"
            );
            assert_eq!(payload.has_kwargs(), kwargs.is_some(), "{ser}");
            if let Some(args) = &args {
                assert_eq!(&payload.args::<Vec<i64>>().expect("args"), args, "{ser}");
            }
            if let Some(kwargs) = &kwargs {
                assert_eq!(&payload.kwargs::<Kw>().expect("kwargs"), kwargs, "{ser}");
            }
        }
    }

    fn kw(pairs: &[(&str, i64)]) -> Kw {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    #[test]
    fn every_form_of_result_becomes_the_right_payload() {
        check(|| (), None, None);
        check(|| Ok::<_, WampError>(Payload::empty()), None, None);
        check(
            || Payload::from_values(vec![1.into(), 2.into()], Default::default()),
            Some(vec![1, 2]),
            None,
        );
        check(|| Args((1, 2, 3)), Some(vec![1, 2, 3]), None);
        check(
            || Kwargs(kw(&[("a", 1)])),
            Some(vec![]),
            Some(kw(&[("a", 1)])),
        );
        check(
            || ArgsKw((7,), kw(&[("b", 2)])),
            Some(vec![7]),
            Some(kw(&[("b", 2)])),
        );
    }

    #[test]
    fn errors_and_encoding_failures_reach_the_caller() {
        let err: Result<Payload, WampError> = Err(StandardError::Canceled.into());
        assert_eq!(
            err.into_result(Serializer::Json).map_err(|e| e.kind()),
            Err(Some(StandardError::Canceled))
        );
        // Not a list: the callee's mistake, a runtime error for the caller.
        let e = Args(5)
            .into_result(Serializer::Json)
            .expect_err("not a list");
        assert!(e.is_kind(StandardError::RuntimeError), "{e}");
        assert!(
            e.message().is_some_and(|m| m.contains("could not encode")),
            "{e}"
        );
        let e = Kwargs((1, 2))
            .into_result(Serializer::Cbor)
            .expect_err("not a dict");
        assert!(e.is_kind(StandardError::RuntimeError), "{e}");
    }
}
