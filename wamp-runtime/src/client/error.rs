//! The client's one error type.

use std::fmt;
use std::time::Duration;

use crate::auth::AuthError;
use serde::Serialize;

use crate::protocol::{DecodeError, EncodeError, ErrorDetails, Payload, PayloadError, Uri, Value};
use crate::serializer::Serializer;
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

    /// Whether this is the standard error `kind`.
    pub fn is_kind(&self, kind: StandardError) -> bool {
        self.uri.as_str() == kind.uri()
    }

    /// Sets the positional arguments (a tuple, array or `Vec`).
    ///
    /// They are encoded as MessagePack, whatever session the error will travel on: an
    /// error is made before anyone knows which serializer will send it, and MessagePack
    /// carries everything the other formats can (binary, the full integer ranges). A
    /// session with another serializer converts them when it writes the message.
    pub fn with_args<A: Serialize + ?Sized>(mut self, args: &A) -> Result<Self, EncodeError> {
        self.payload = self.payload.with_encoded_args(NEUTRAL, args)?;
        Ok(self)
    }

    /// Sets the keyword arguments (a struct or map), encoded as [`WampError::with_args`]
    /// says.
    pub fn with_kwargs<K: Serialize + ?Sized>(mut self, kwargs: &K) -> Result<Self, EncodeError> {
        self.payload = self.payload.with_encoded_kwargs(NEUTRAL, kwargs)?;
        Ok(self)
    }

    /// The first positional argument, if it is a string: by convention, a message for
    /// humans (the standard errors from routers carry one).
    pub fn message(&self) -> Option<String> {
        let args: Vec<Value> = self.payload.args().ok()?;
        match args.into_iter().next()? {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

/// A result the callee could not encode: `wamp.error.runtime_error` for the caller.
pub(crate) fn encode_failure(e: &EncodeError) -> WampError {
    WampError::with_payload(
        Uri::from_static(StandardError::RuntimeError.uri()),
        Payload::from_values(
            vec![Value::String(format!(
                "the callee could not encode its result: {e}"
            ))],
            Default::default(),
        ),
    )
}

/// The serializer of payloads made before the session that sends them is known.
const NEUTRAL: Serializer = Serializer::MsgPack;

impl From<StandardError> for WampError {
    /// The standard error's URI, without arguments.
    fn from(kind: StandardError) -> Self {
        WampError::new(Uri::from_static(kind.uri()))
    }
}

impl From<PayloadError> for WampError {
    /// `wamp.error.invalid_argument`, with what did not match as its one argument: what a
    /// callee answers when the call's arguments are not what it takes, so that `?` on
    /// [`Invocation::args`](super::Invocation::args) does the right thing.
    fn from(e: PayloadError) -> Self {
        WampError::with_payload(
            Uri::from_static(StandardError::InvalidArgument.uri()),
            Payload::from_values(vec![Value::String(e.to_string())], Default::default()),
        )
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

    /// The standard error this is, if it is one: the peer's standard ERROR URIs, and the
    /// client's own equivalents of them. An [`Error::Timeout`] (our deadline passed) is
    /// [`StandardError::Timeout`], as `wamp.error.timeout` from the router would be, and a
    /// URI refused before sending ([`Error::InvalidUri`]) is [`StandardError::InvalidUri`].
    pub fn kind(&self) -> Option<StandardError> {
        match self {
            Error::Wamp(w) => w.kind(),
            Error::Timeout(_) => Some(StandardError::Timeout),
            Error::InvalidUri(_) => Some(StandardError::InvalidUri),
            _ => None,
        }
    }

    /// Whether this is the standard error `kind` (see [`Error::kind`]).
    pub fn is(&self, kind: StandardError) -> bool {
        self.kind() == Some(kind)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::protocol::{ErrorMessage, Id, Message, MessageType};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Detail {
        code: u64,
        #[serde(with = "serde_bytes_compat")]
        blob: Vec<u8>,
    }

    /// `Vec<u8>` as binary (serde's bytes), without the serde_bytes crate.
    mod serde_bytes_compat {
        pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(v)
        }
        pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
            let b: crate::protocol::Binary = serde::Deserialize::deserialize(d)?;
            Ok(b.0)
        }
    }

    #[test]
    fn a_payload_error_is_invalid_argument_with_the_reason() {
        let e = PayloadError {
            part: "arguments",
            reason: "invalid type: string \"x\", expected i64".into(),
        };
        let w = WampError::from(e.clone());
        assert_eq!(w.uri.as_str(), "wamp.error.invalid_argument");
        assert_eq!(w.kind(), Some(StandardError::InvalidArgument));
        assert_eq!(w.message(), Some(e.to_string()));
    }

    #[test]
    fn a_standard_error_converts_to_its_uri() {
        let w = WampError::from(StandardError::NoSuchProcedure);
        assert!(w.is("wamp.error.no_such_procedure"));
        assert!(w.is_kind(StandardError::NoSuchProcedure));
        assert!(!w.is_kind(StandardError::Canceled));
        assert!(w.payload.is_empty());
        assert_eq!(w.message(), None);
    }

    #[test]
    fn message_is_the_first_argument_only_when_it_is_a_string() {
        let uri = || Uri::from_static("com.example.error");
        let with = |args: Vec<Value>| {
            WampError::with_payload(uri(), Payload::from_values(args, Default::default()))
        };
        assert_eq!(
            with(vec!["boom".into(), 1.into()]).message().as_deref(),
            Some("boom")
        );
        assert_eq!(with(vec![1.into(), "boom".into()]).message(), None);
        assert_eq!(with(vec![]).message(), None);
        let typed = WampError::new(uri())
            .with_args(&("typed",))
            .expect("encode");
        assert_eq!(typed.message().as_deref(), Some("typed"));
    }

    /// Typed error arguments go out on every serializer and read back the same.
    #[test]
    fn typed_arguments_travel_on_any_serializer() {
        let detail = Detail {
            code: u64::MAX,
            blob: vec![0, 1, 2, 255],
        };
        let err = WampError::new(Uri::from_static("com.example.error"))
            .with_args(&("bad input", -5i64))
            .and_then(|e| e.with_kwargs(&detail))
            .expect("encode");
        for ser in Serializer::ALL {
            let msg: Message = ErrorMessage {
                request_type: MessageType::Call,
                request: Id::MIN,
                details: ErrorDetails::new(),
                error: err.uri.clone(),
                payload: err.payload.clone(),
            }
            .into();
            let bytes = ser.encode(&msg).expect("encode message");
            let Ok(Message::Error(back)) = ser.decode(bytes.into()) else {
                panic!("{ser}: not an ERROR");
            };
            assert_eq!(
                back.payload.args::<(String, i64)>().expect("args"),
                ("bad input".to_owned(), -5),
                "{ser}"
            );
            assert_eq!(
                back.payload.kwargs::<Detail>().expect("kwargs"),
                detail,
                "{ser}"
            );
        }
        assert_eq!(
            WampError::new(Uri::from_static("a.b")).with_args(&5),
            Err(EncodeError::ArgsNotAList)
        );
        assert_eq!(
            WampError::new(Uri::from_static("a.b")).with_kwargs(&(1, 2)),
            Err(EncodeError::KwargsNotADict)
        );
    }

    #[test]
    fn a_client_side_timeout_reads_as_wamp_error_timeout() {
        let timeout = Error::Timeout(Duration::from_millis(10));
        assert!(timeout.is(StandardError::Timeout));
        assert_eq!(timeout.kind(), Some(StandardError::Timeout));
        let remote = Error::Wamp(StandardError::Timeout.into());
        assert!(remote.is(StandardError::Timeout));
        assert_eq!(remote.kind(), Some(StandardError::Timeout));
        let invalid = Error::InvalidUri(crate::protocol::UriError::Empty);
        assert_eq!(invalid.kind(), Some(StandardError::InvalidUri));
        let lost = Error::NotConnected(None);
        assert_eq!(lost.kind(), None);
        assert!(!lost.is(StandardError::Timeout));
        let app = Error::Wamp(WampError::new(Uri::from_static("com.example.oops")));
        assert_eq!(app.kind(), None);
    }
}
