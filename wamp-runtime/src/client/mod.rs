//! The client: a [`Session`] with the four roles (caller, callee, publisher, subscriber).
//!
//! ```no_run
//! # async fn demo() -> Result<(), wamp::client::Error> {
//! let session = wamp::Session::builder("ws://127.0.0.1:8080/ws").realm("realm1").connect().await?;
//! let sum: (i64,) = session.call("com.example.add").args(&(2, 3)).await?.args()?;
//! # Ok(()) }
//! ```
//!
//! One background task owns the transport; [`Session`] handles are cheap to clone and
//! usable from any task; concurrent calls are multiplexed on the one connection.
//!
//! Each module uses only modules listed below it (`mod.rs` only re-exports), so no two
//! import each other:
//!
//! ```text
//! builder                            opens a session: starts the driver, makes the handle
//! driver                             the task that reads the connection
//! requests                           call, publish, subscribe, register; their handles
//! subscriptions registrations callee the driver's tables
//! session                            the Session handle
//! command                            what handles and the driver say to each other
//! outbound                           the shared write half and the pending calls
//! reconnect join uri feed types error
//! ```

mod builder;
mod callee;
mod command;
mod driver;
mod error;
mod feed;
mod join;
mod outbound;
mod reconnect;
mod registrations;
mod requests;
mod session;
mod subscriptions;
mod types;
mod uri;

pub use builder::SessionBuilder;
pub use callee::{Args, ArgsKw, IntoPayload, IntoResult, Kwargs};
pub(crate) use error::encode_failure;
pub use error::{Error, StandardError, WampError};
pub use reconnect::ReconnectPolicy;
pub use requests::{
    CallFuture, CallRequest, ProgressiveCall, PublishRequest, RegisterRequest, Registration,
    StreamingCall, SubscribeRequest, Subscription,
};
pub use session::Session;
#[cfg(feature = "test-util")]
pub use types::ProgressReceiver;
pub use types::{
    CallResult, EndReason, Event, HandlerResult, Invocation, Progressive, SessionState,
};
pub use uri::{IntoUri, PendingUri};
