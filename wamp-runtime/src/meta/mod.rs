//! The WAMP meta API, typed: sessions (`wamp.session.*`), registrations
//! (`wamp.registration.*`) and subscriptions (`wamp.subscription.*`), their procedures
//! and meta events.
//!
//! This is the code `wamp-codegen` generates from `schemas/wamp_meta.wamp.toml`,
//! committed (`generated.rs`; a test in wamp-codegen checks that it is up to date), so
//! that the runtime needs no code generation to build.
//!
//! ```no_run
//! # async fn demo(session: wamp::Session) -> Result<(), Box<dyn std::error::Error>> {
//! let meta = wamp::meta::WampMetaClient::new(session);
//! let count = meta.session_count(None).await?; // None: sessions of every authrole
//! let ids = meta.session_list(None).await?;
//! println!("{count} sessions: {ids:?}");
//! # Ok(()) }
//! ```

mod generated {
    include!("generated.rs");
}

pub use generated::wamp_meta::*;
