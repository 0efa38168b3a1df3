//! The client's one error type.

use std::fmt;
use std::time::Duration;

use crate::auth::AuthError;
use crate::protocol::{DecodeError, EncodeError, ErrorDetails, Payload, PayloadError, Uri};
use crate::transport::TransportError;

/// An `ERROR` from the router or from a callee: a URI plus arguments.
///
/// Standard `wamp.error.*` URIs are recognisable through [`WampError::kind`]; application
/// URIs and their payloads are kept exactly as they arrived.
#[derive(Clone, PartialEq)]
pub struct WampError {
    /// The error URI.
    pub uri: Uri,
    /// Error arguments.
    pub payload: Payload,
    /// ERROR.Details.
    pub details: ErrorDetails,
}

impl WampError {
    /// An error with a URI and no arguments.
    pub fn new(uri: Uri) -> Self {
        WampError {
            uri,
            payload: Payload::empty(),
            details: ErrorDetails::new(),
        }
    }

    /// An error with a URI and arguments.
    pub fn with_payload(uri: Uri, payload: Payload) -> Self {
        WampError {
            uri,
            payload,
            details: ErrorDetails::new(),
        }
    }

    /// The standard error this is, if it is one.
    pub fn kind(&self) -> Option<StandardError> {
        StandardError::from_uri(self.uri.as_str())
    }

    /// Whether the URI is `uri`.
    pub fn is(&self, uri: &str) -> bool {
        self.uri.as_str() == uri
    }
}

impl fmt::Debug for WampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WampError")
            .field("uri", &self.uri)
            .field("payload", &self.payload)
            .finish()
    }
}

impl fmt::Display for WampError {
    /// The URI, then the arguments and keyword arguments as JSON, on one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.uri)?;
        let json = |v: &dyn erased::ToJson| v.to_json();
        if let Ok(args) = self.payload.args_values() {
            if !args.is_empty() || self.payload.has_kwargs() {
                write!(f, " {}", json(&args))?;
            }
        }
        if let Ok(kwargs) = self.payload.kwargs_values() {
            if !kwargs.is_empty() {
                write!(f, " {}", json(&kwargs))?;
            }
        }
        Ok(())
    }
}

mod erased {
    pub(super) trait ToJson {
        fn to_json(&self) -> String;
    }
    impl<T: serde::Serialize> ToJson for T {
        fn to_json(&self) -> String {
            serde_json::to_string(self).unwrap_or_else(|_| "<unprintable>".into())
        }
    }
}

impl std::error::Error for WampError {}

macro_rules! standard_errors {
    ($( $(#[$m:meta])* $variant:ident = $uri:literal, )*) => {
        /// The error URIs the spec defines.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum StandardError {
            $( $(#[$m])* $variant, )*
        }

        impl StandardError {
            /// The URI.
            pub fn uri(self) -> &'static str {
                match self { $( StandardError::$variant => $uri, )* }
            }

            /// Recognises a standard URI.
            pub fn from_uri(uri: &str) -> Option<Self> {
                match uri { $( $uri => Some(StandardError::$variant), )* _ => None }
            }
        }
    };
}

standard_errors! {
    /// The URI is malformed.
    InvalidUri = "wamp.error.invalid_uri",
    /// No procedure is registered under the URI.
    NoSuchProcedure = "wamp.error.no_such_procedure",
    /// The procedure is already registered.
    ProcedureAlreadyExists = "wamp.error.procedure_already_exists",
    /// No such registration.
    NoSuchRegistration = "wamp.error.no_such_registration",
    /// No such subscription.
    NoSuchSubscription = "wamp.error.no_such_subscription",
    /// The arguments are not what the procedure takes.
    InvalidArgument = "wamp.error.invalid_argument",
    /// The call was canceled.
    Canceled = "wamp.error.canceled",
    /// The call timed out.
    Timeout = "wamp.error.timeout",
    /// The action is not allowed.
    NotAuthorized = "wamp.error.not_authorized",
    /// Authorization could not be decided.
    AuthorizationFailed = "wamp.error.authorization_failed",
    /// Authentication failed.
    AuthenticationFailed = "wamp.error.authentication_failed",
    /// The realm does not exist.
    NoSuchRealm = "wamp.error.no_such_realm",
    /// The role does not exist.
    NoSuchRole = "wamp.error.no_such_role",
    /// The session does not exist.
    NoSuchSession = "wamp.error.no_such_session",
    /// The option is not allowed.
    OptionNotAllowed = "wamp.error.option_not_allowed",
    /// Disclosing the identity is not allowed.
    OptionDisallowedDiscloseMe = "wamp.error.option_disallowed.disclose_me",
    /// The peer violated the protocol.
    ProtocolViolation = "wamp.error.protocol_violation",
    /// The callee is unavailable (it left while the call ran).
    Unavailable = "wamp.error.unavailable",
    /// No callee is available.
    NoAvailableCallee = "wamp.error.no_available_callee",
    /// The feature is not supported by the peer.
    FeatureNotSupported = "wamp.error.feature_not_supported",
    /// The payload is too large.
    PayloadSizeExceeded = "wamp.error.payload_size_exceeded",
    /// The callee failed with an unexpected error (e.g. it panicked).
    RuntimeError = "wamp.error.runtime_error",
}

/// Everything that can go wrong in a client session.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The transport could not be opened or failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The router refused the session (ABORT).
    #[error("the router aborted the session: {reason}{}", message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default())]
    Aborted {
        /// The ABORT reason URI.
        reason: Uri,
        /// Its `message`, if any.
        message: Option<String>,
    },
    /// Authentication could not be carried out on our side.
    #[error("authentication failed: {0}")]
    Auth(#[from] AuthError),
    /// The router or the callee answered with an ERROR.
    #[error("{0}")]
    Wamp(#[from] WampError),
    /// The operation did not complete in time (the client's own deadline).
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The session is not connected (it left, or the connection was lost).
    #[error("the session is not connected{}", .0.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    NotConnected(Option<String>),
    /// The router revoked the subscription or registration.
    #[error("revoked by the router: {0}")]
    Revoked(String),
    /// A payload could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A payload did not match the expected type.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// The peer broke the protocol.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// A URI given by the caller is invalid.
    #[error(transparent)]
    InvalidUri(#[from] crate::protocol::UriError),
    /// A value for a topic's `{capture}` is not one URI component.
    #[error("the value {value:?} of the capture `{name}` is not one URI component (it must not be empty or contain `.`, `#` or whitespace)")]
    InvalidCapture {
        /// The capture's name.
        name: String,
        /// The value given.
        value: String,
    },
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::Protocol(e.to_string())
    }
}

impl Error {
    /// The WAMP error, if the peer answered with one.
    pub fn wamp(&self) -> Option<&WampError> {
        match self {
            Error::Wamp(w) => Some(w),
            _ => None,
        }
    }

    /// Whether this is the standard error `kind`.
    pub fn is(&self, kind: StandardError) -> bool {
        self.wamp().and_then(WampError::kind) == Some(kind)
    }
}
