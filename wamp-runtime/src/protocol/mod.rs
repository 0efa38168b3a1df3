//! The WAMP protocol model: messages, values, IDs, URIs and options. No IO.

pub mod error;
pub mod id;
pub mod message;
pub mod options;
pub mod payload;
pub mod uri;
pub mod value;

pub use error::{ConvertError, DecodeError, EncodeError, PayloadError};
pub use id::{Id, IdSequence};
pub use message::*;
pub use options::{
    AuthExtra, CallOptions, CancelMode, CancelOptions, CloseDetails, ErrorDetails, EventDetails,
    HelloDetails, InterruptOptions, InvocationDetails, InvokePolicy, MatchPolicy, OptionValue,
    PublishOptions, RegisterOptions, ResultDetails, Role, SubscribeOptions, UnregisteredDetails,
    UnsubscribedDetails, WelcomeDetails, YieldOptions,
};
pub use payload::Payload;
pub use uri::{Uri, UriError, UriKind, UriRules};
pub use value::{Binary, Dict, List, Value};
