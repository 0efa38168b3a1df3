//! Every WAMP v2 message, basic and advanced profile, and its mapping to the element list
//! that goes on the wire.

use std::fmt;

use super::error::{DecodeError, EncodeError};
use super::id::Id;
use super::options::*;
use super::payload::Payload;
use super::uri::{Uri, UriKind};
use crate::serializer::{ElementReader, MessageWriter};

macro_rules! message_types {
    ($( $(#[$m:meta])* $variant:ident = $code:literal, $name:literal; )*) => {
        /// The type code that starts every message.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum MessageType {
            $( $(#[$m])* $variant = $code, )*
        }

        impl MessageType {
            /// The message type for a code, if the spec defines one.
            pub fn from_code(code: u64) -> Option<MessageType> {
                match code {
                    $( $code => Some(MessageType::$variant), )*
                    _ => None,
                }
            }

            /// The spec's name (`"CALL"`).
            pub fn name(self) -> &'static str {
                match self {
                    $( MessageType::$variant => $name, )*
                }
            }
        }
    };
}

message_types! {
    /// Client opens a session.
    Hello = 1, "HELLO";
    /// Router accepts a session.
    Welcome = 2, "WELCOME";
    /// Either side refuses or ends a session that is being opened.
    Abort = 3, "ABORT";
    /// Router asks for authentication.
    Challenge = 4, "CHALLENGE";
    /// Client answers a challenge.
    Authenticate = 5, "AUTHENTICATE";
    /// Either side closes a session.
    Goodbye = 6, "GOODBYE";
    /// An error reply to a request.
    Error = 8, "ERROR";
    /// Publish an event.
    Publish = 16, "PUBLISH";
    /// Acknowledge a publication.
    Published = 17, "PUBLISHED";
    /// Subscribe to a topic.
    Subscribe = 32, "SUBSCRIBE";
    /// Acknowledge a subscription.
    Subscribed = 33, "SUBSCRIBED";
    /// Remove a subscription.
    Unsubscribe = 34, "UNSUBSCRIBE";
    /// Acknowledge (or announce the revocation of) a subscription's removal.
    Unsubscribed = 35, "UNSUBSCRIBED";
    /// Deliver an event.
    Event = 36, "EVENT";
    /// Call a procedure.
    Call = 48, "CALL";
    /// Cancel a call.
    Cancel = 49, "CANCEL";
    /// The result of a call.
    Result = 50, "RESULT";
    /// Register a procedure.
    Register = 64, "REGISTER";
    /// Acknowledge a registration.
    Registered = 65, "REGISTERED";
    /// Remove a registration.
    Unregister = 66, "UNREGISTER";
    /// Acknowledge (or announce the revocation of) a registration's removal.
    Unregistered = 67, "UNREGISTERED";
    /// Ask a callee to run a procedure.
    Invocation = 68, "INVOCATION";
    /// Ask a callee to stop an invocation.
    Interrupt = 69, "INTERRUPT";
    /// A callee's result.
    Yield = 70, "YIELD";
}

impl MessageType {
    /// The numeric code.
    pub fn code(self) -> u64 {
        self as u64
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `[HELLO, Realm|uri, Details|dict]`
#[derive(Clone, Debug, PartialEq)]
pub struct Hello {
    /// The realm to join.
    pub realm: Uri,
    /// Roles, features and authentication.
    pub details: HelloDetails,
}

/// `[WELCOME, Session|id, Details|dict]`
#[derive(Clone, Debug, PartialEq)]
pub struct Welcome {
    /// The new session's ID.
    pub session: Id,
    /// Router roles and the authenticated identity.
    pub details: WelcomeDetails,
}

/// `[ABORT, Details|dict, Reason|uri]`
#[derive(Clone, Debug, PartialEq)]
pub struct Abort {
    /// Usually a `message`.
    pub details: CloseDetails,
    /// Why, e.g. `wamp.error.no_such_realm`.
    pub reason: Uri,
}

/// `[CHALLENGE, AuthMethod|string, Extra|dict]`
#[derive(Clone, Debug, PartialEq)]
pub struct Challenge {
    /// The method the router picked.
    pub auth_method: String,
    /// Method-specific data.
    pub extra: AuthExtra,
}

/// `[AUTHENTICATE, Signature|string, Extra|dict]`
#[derive(Clone, PartialEq)]
pub struct Authenticate {
    /// The signature or secret. Never printed by `Debug`.
    pub signature: String,
    /// Method-specific data.
    pub extra: AuthExtra,
}

impl fmt::Debug for Authenticate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticate")
            .field("signature", &"<redacted>")
            .field("extra", &self.extra)
            .finish()
    }
}

/// `[GOODBYE, Details|dict, Reason|uri]`
#[derive(Clone, Debug, PartialEq)]
pub struct Goodbye {
    /// Usually a `message`.
    pub details: CloseDetails,
    /// Why, e.g. `wamp.close.close_realm`.
    pub reason: Uri,
}

/// `[ERROR, REQUEST.Type|int, REQUEST.Request|id, Details|dict, Error|uri, Arguments|list, ArgumentsKw|dict]`
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorMessage {
    /// The type of the request that failed.
    pub request_type: MessageType,
    /// The ID of the request that failed.
    pub request: Id,
    /// Details.
    pub details: ErrorDetails,
    /// The error URI.
    pub error: Uri,
    /// Error arguments.
    pub payload: Payload,
}

/// `[PUBLISH, Request|id, Options|dict, Topic|uri, Arguments|list, ArgumentsKw|dict]`
#[derive(Clone, Debug, PartialEq)]
pub struct Publish {
    /// Request ID.
    pub request: Id,
    /// Options.
    pub options: PublishOptions,
    /// The topic.
    pub topic: Uri,
    /// Event arguments.
    pub payload: Payload,
}

/// `[PUBLISHED, PUBLISH.Request|id, Publication|id]`
#[derive(Clone, Debug, PartialEq)]
pub struct Published {
    /// The PUBLISH request ID.
    pub request: Id,
    /// The publication ID.
    pub publication: Id,
}

/// `[SUBSCRIBE, Request|id, Options|dict, Topic|uri]`
#[derive(Clone, Debug, PartialEq)]
pub struct Subscribe {
    /// Request ID.
    pub request: Id,
    /// Options.
    pub options: SubscribeOptions,
    /// The topic or topic pattern.
    pub topic: Uri,
}

/// `[SUBSCRIBED, SUBSCRIBE.Request|id, Subscription|id]`
#[derive(Clone, Debug, PartialEq)]
pub struct Subscribed {
    /// The SUBSCRIBE request ID.
    pub request: Id,
    /// The subscription ID.
    pub subscription: Id,
}

/// `[UNSUBSCRIBE, Request|id, SUBSCRIBED.Subscription|id]`
#[derive(Clone, Debug, PartialEq)]
pub struct Unsubscribe {
    /// Request ID.
    pub request: Id,
    /// The subscription to remove.
    pub subscription: Id,
}

/// `[UNSUBSCRIBED, UNSUBSCRIBE.Request|id]`, or `[UNSUBSCRIBED, 0, Details|dict]` when the
/// broker revokes a subscription.
#[derive(Clone, Debug, PartialEq)]
pub struct Unsubscribed {
    /// The UNSUBSCRIBE request ID; `0` for a revocation.
    pub request: u64,
    /// Present for a revocation.
    pub details: Option<UnsubscribedDetails>,
}

/// `[EVENT, SUBSCRIBED.Subscription|id, PUBLISHED.Publication|id, Details|dict, Arguments|list, ArgumentsKw|dict]`
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The subscription this event is delivered for.
    pub subscription: Id,
    /// The publication ID.
    pub publication: Id,
    /// Details.
    pub details: EventDetails,
    /// Event arguments.
    pub payload: Payload,
}

/// `[CALL, Request|id, Options|dict, Procedure|uri, Arguments|list, ArgumentsKw|dict]`
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// Request ID.
    pub request: Id,
    /// Options.
    pub options: CallOptions,
    /// The procedure.
    pub procedure: Uri,
    /// Call arguments.
    pub payload: Payload,
}

/// `[CANCEL, CALL.Request|id, Options|dict]`
#[derive(Clone, Debug, PartialEq)]
pub struct Cancel {
    /// The CALL to cancel.
    pub request: Id,
    /// Options.
    pub options: CancelOptions,
}

/// `[RESULT, CALL.Request|id, Details|dict, Arguments|list, ArgumentsKw|dict]`
#[derive(Clone, Debug, PartialEq)]
pub struct ResultMessage {
    /// The CALL request ID.
    pub request: Id,
    /// Details.
    pub details: ResultDetails,
    /// Result arguments.
    pub payload: Payload,
}

/// `[REGISTER, Request|id, Options|dict, Procedure|uri]`
#[derive(Clone, Debug, PartialEq)]
pub struct Register {
    /// Request ID.
    pub request: Id,
    /// Options.
    pub options: RegisterOptions,
    /// The procedure or procedure pattern.
    pub procedure: Uri,
}

/// `[REGISTERED, REGISTER.Request|id, Registration|id]`
#[derive(Clone, Debug, PartialEq)]
pub struct Registered {
    /// The REGISTER request ID.
    pub request: Id,
    /// The registration ID.
    pub registration: Id,
}

/// `[UNREGISTER, Request|id, REGISTERED.Registration|id]`
#[derive(Clone, Debug, PartialEq)]
pub struct Unregister {
    /// Request ID.
    pub request: Id,
    /// The registration to remove.
    pub registration: Id,
}

/// `[UNREGISTERED, UNREGISTER.Request|id]`, or `[UNREGISTERED, 0, Details|dict]` when the
/// dealer revokes a registration.
#[derive(Clone, Debug, PartialEq)]
pub struct Unregistered {
    /// The UNREGISTER request ID; `0` for a revocation.
    pub request: u64,
    /// Present for a revocation.
    pub details: Option<UnregisteredDetails>,
}

/// `[INVOCATION, Request|id, REGISTERED.Registration|id, Details|dict, Arguments|list, ArgumentsKw|dict]`
#[derive(Clone, Debug, PartialEq)]
pub struct Invocation {
    /// Request ID (router to callee scope).
    pub request: Id,
    /// The registration invoked.
    pub registration: Id,
    /// Details.
    pub details: InvocationDetails,
    /// Call arguments.
    pub payload: Payload,
}

/// `[INTERRUPT, INVOCATION.Request|id, Options|dict]`
#[derive(Clone, Debug, PartialEq)]
pub struct Interrupt {
    /// The INVOCATION to stop.
    pub request: Id,
    /// Options.
    pub options: InterruptOptions,
}

/// `[YIELD, INVOCATION.Request|id, Options|dict, Arguments|list, ArgumentsKw|dict]`
#[derive(Clone, Debug, PartialEq)]
pub struct Yield {
    /// The INVOCATION request ID.
    pub request: Id,
    /// Options.
    pub options: YieldOptions,
    /// Result arguments.
    pub payload: Payload,
}

/// Any WAMP message.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
#[allow(missing_docs)] // each variant is documented on its struct
pub enum Message {
    Hello(Hello),
    Welcome(Welcome),
    Abort(Abort),
    Challenge(Challenge),
    Authenticate(Authenticate),
    Goodbye(Goodbye),
    Error(ErrorMessage),
    Publish(Publish),
    Published(Published),
    Subscribe(Subscribe),
    Subscribed(Subscribed),
    Unsubscribe(Unsubscribe),
    Unsubscribed(Unsubscribed),
    Event(Event),
    Call(Call),
    Cancel(Cancel),
    Result(ResultMessage),
    Register(Register),
    Registered(Registered),
    Unregister(Unregister),
    Unregistered(Unregistered),
    Invocation(Invocation),
    Interrupt(Interrupt),
    Yield(Yield),
}

macro_rules! from_structs {
    ($($s:ident => $v:ident),* $(,)?) => {$(
        impl From<$s> for Message {
            fn from(m: $s) -> Message {
                Message::$v(m)
            }
        }
    )*};
}

from_structs! {
    Hello => Hello, Welcome => Welcome, Abort => Abort, Challenge => Challenge,
    Authenticate => Authenticate, Goodbye => Goodbye, ErrorMessage => Error,
    Publish => Publish, Published => Published, Subscribe => Subscribe,
    Subscribed => Subscribed, Unsubscribe => Unsubscribe, Unsubscribed => Unsubscribed,
    Event => Event, Call => Call, Cancel => Cancel, ResultMessage => Result,
    Register => Register, Registered => Registered, Unregister => Unregister,
    Unregistered => Unregistered, Invocation => Invocation, Interrupt => Interrupt,
    Yield => Yield,
}

impl Message {
    /// The message's type.
    pub fn message_type(&self) -> MessageType {
        match self {
            Message::Hello(_) => MessageType::Hello,
            Message::Welcome(_) => MessageType::Welcome,
            Message::Abort(_) => MessageType::Abort,
            Message::Challenge(_) => MessageType::Challenge,
            Message::Authenticate(_) => MessageType::Authenticate,
            Message::Goodbye(_) => MessageType::Goodbye,
            Message::Error(_) => MessageType::Error,
            Message::Publish(_) => MessageType::Publish,
            Message::Published(_) => MessageType::Published,
            Message::Subscribe(_) => MessageType::Subscribe,
            Message::Subscribed(_) => MessageType::Subscribed,
            Message::Unsubscribe(_) => MessageType::Unsubscribe,
            Message::Unsubscribed(_) => MessageType::Unsubscribed,
            Message::Event(_) => MessageType::Event,
            Message::Call(_) => MessageType::Call,
            Message::Cancel(_) => MessageType::Cancel,
            Message::Result(_) => MessageType::Result,
            Message::Register(_) => MessageType::Register,
            Message::Registered(_) => MessageType::Registered,
            Message::Unregister(_) => MessageType::Unregister,
            Message::Unregistered(_) => MessageType::Unregistered,
            Message::Invocation(_) => MessageType::Invocation,
            Message::Interrupt(_) => MessageType::Interrupt,
            Message::Yield(_) => MessageType::Yield,
        }
    }

    /// The number of elements this message has on the wire, type code included.
    pub(crate) fn arity(&self) -> usize {
        match self {
            Message::Hello(_)
            | Message::Welcome(_)
            | Message::Abort(_)
            | Message::Challenge(_)
            | Message::Authenticate(_)
            | Message::Goodbye(_)
            | Message::Published(_)
            | Message::Subscribed(_)
            | Message::Unsubscribe(_)
            | Message::Cancel(_)
            | Message::Registered(_)
            | Message::Unregister(_)
            | Message::Interrupt(_) => 3,
            Message::Unsubscribed(m) => 2 + usize::from(m.details.is_some()),
            Message::Unregistered(m) => 2 + usize::from(m.details.is_some()),
            Message::Subscribe(_) | Message::Register(_) => 4,
            Message::Error(m) => 5 + m.payload.arity(),
            Message::Publish(m) => 4 + m.payload.arity(),
            Message::Event(m) => 4 + m.payload.arity(),
            Message::Call(m) => 4 + m.payload.arity(),
            Message::Result(m) => 3 + m.payload.arity(),
            Message::Invocation(m) => 4 + m.payload.arity(),
            Message::Yield(m) => 3 + m.payload.arity(),
        }
    }

    /// About how many bytes the message holds: its payload's size plus a fixed allowance
    /// for the rest (IDs, URI, options). What the router's outbound queues count.
    pub(crate) fn approx_size(&self) -> usize {
        const REST: usize = 128;
        REST + match self {
            Message::Error(m) => m.payload.approx_size(),
            Message::Publish(m) => m.payload.approx_size(),
            Message::Event(m) => m.payload.approx_size(),
            Message::Call(m) => m.payload.approx_size(),
            Message::Result(m) => m.payload.approx_size(),
            Message::Invocation(m) => m.payload.approx_size(),
            Message::Yield(m) => m.payload.approx_size(),
            _ => 0,
        }
    }

    /// Writes the elements after the type code.
    pub(crate) fn write_elements(&self, w: &mut MessageWriter) -> Result<(), EncodeError> {
        match self {
            Message::Hello(m) => {
                w.element(&m.realm, "realm")?;
                w.element(&m.details, "details")
            }
            Message::Welcome(m) => {
                w.element(&m.session, "session")?;
                w.element(&m.details, "details")
            }
            Message::Abort(m) => {
                w.element(&m.details, "details")?;
                w.element(&m.reason, "reason")
            }
            Message::Challenge(m) => {
                w.element(&m.auth_method, "authmethod")?;
                w.element(&m.extra, "extra")
            }
            Message::Authenticate(m) => {
                w.element(&m.signature, "signature")?;
                w.element(&m.extra, "extra")
            }
            Message::Goodbye(m) => {
                w.element(&m.details, "details")?;
                w.element(&m.reason, "reason")
            }
            Message::Error(m) => {
                w.element(&m.request_type.code(), "request type")?;
                w.element(&m.request, "request")?;
                w.element(&m.details, "details")?;
                w.element(&m.error, "error")?;
                m.payload.write_to(w)
            }
            Message::Publish(m) => {
                w.element(&m.request, "request")?;
                w.element(&m.options, "options")?;
                w.element(&m.topic, "topic")?;
                m.payload.write_to(w)
            }
            Message::Published(m) => {
                w.element(&m.request, "request")?;
                w.element(&m.publication, "publication")
            }
            Message::Subscribe(m) => {
                w.element(&m.request, "request")?;
                w.element(&m.options, "options")?;
                w.element(&m.topic, "topic")
            }
            Message::Subscribed(m) => {
                w.element(&m.request, "request")?;
                w.element(&m.subscription, "subscription")
            }
            Message::Unsubscribe(m) => {
                w.element(&m.request, "request")?;
                w.element(&m.subscription, "subscription")
            }
            Message::Unsubscribed(m) => {
                w.element(&m.request, "request")?;
                match &m.details {
                    Some(d) => w.element(d, "details"),
                    None => Ok(()),
                }
            }
            Message::Event(m) => {
                w.element(&m.subscription, "subscription")?;
                w.element(&m.publication, "publication")?;
                w.element(&m.details, "details")?;
                m.payload.write_to(w)
            }
            Message::Call(m) => {
                w.element(&m.request, "request")?;
                w.element(&m.options, "options")?;
                w.element(&m.procedure, "procedure")?;
                m.payload.write_to(w)
            }
            Message::Cancel(m) => {
                w.element(&m.request, "request")?;
                w.element(&m.options, "options")
            }
            Message::Result(m) => {
                w.element(&m.request, "request")?;
                w.element(&m.details, "details")?;
                m.payload.write_to(w)
            }
            Message::Register(m) => {
                w.element(&m.request, "request")?;
                w.element(&m.options, "options")?;
                w.element(&m.procedure, "procedure")
            }
            Message::Registered(m) => {
                w.element(&m.request, "request")?;
                w.element(&m.registration, "registration")
            }
            Message::Unregister(m) => {
                w.element(&m.request, "request")?;
                w.element(&m.registration, "registration")
            }
            Message::Unregistered(m) => {
                w.element(&m.request, "request")?;
                match &m.details {
                    Some(d) => w.element(d, "details"),
                    None => Ok(()),
                }
            }
            Message::Invocation(m) => {
                w.element(&m.request, "request")?;
                w.element(&m.registration, "registration")?;
                w.element(&m.details, "details")?;
                m.payload.write_to(w)
            }
            Message::Interrupt(m) => {
                w.element(&m.request, "request")?;
                w.element(&m.options, "options")
            }
            Message::Yield(m) => {
                w.element(&m.request, "request")?;
                w.element(&m.options, "options")?;
                m.payload.write_to(w)
            }
        }
    }

    /// Reads a message from its elements, checking arity, IDs, URIs and the types of the
    /// known option keys.
    pub(crate) fn read(r: &ElementReader<'_>) -> Result<Message, DecodeError> {
        use MessageType as T;
        let t = r.message_type();
        let len = r.len();
        let arity = |ok: bool, expected: &'static str| {
            if ok {
                Ok(())
            } else {
                Err(DecodeError::Arity {
                    message: t,
                    got: len,
                    expected,
                })
            }
        };
        let fixed = |n: usize, expected| arity(len == n, expected);
        let with_payload = |n: usize, expected| arity((n..=n + 2).contains(&len), expected);

        Ok(match t {
            T::Hello => {
                fixed(3, "3")?;
                Message::Hello(Hello {
                    realm: r.uri(1, "Realm", UriKind::Concrete)?,
                    details: r.dict(2, "Details", HelloDetails::check)?,
                })
            }
            T::Welcome => {
                fixed(3, "3")?;
                Message::Welcome(Welcome {
                    session: r.id(1, "Session")?,
                    details: r.dict(2, "Details", WelcomeDetails::check)?,
                })
            }
            T::Abort => {
                fixed(3, "3")?;
                Message::Abort(Abort {
                    details: r.dict(1, "Details", CloseDetails::check)?,
                    reason: r.uri(2, "Reason", UriKind::Concrete)?,
                })
            }
            T::Challenge => {
                fixed(3, "3")?;
                Message::Challenge(Challenge {
                    auth_method: r.string(1, "AuthMethod")?,
                    extra: r.dict(2, "Extra", AuthExtra::check)?,
                })
            }
            T::Authenticate => {
                fixed(3, "3")?;
                Message::Authenticate(Authenticate {
                    signature: r.string(1, "Signature")?,
                    extra: r.dict(2, "Extra", AuthExtra::check)?,
                })
            }
            T::Goodbye => {
                fixed(3, "3")?;
                Message::Goodbye(Goodbye {
                    details: r.dict(1, "Details", CloseDetails::check)?,
                    reason: r.uri(2, "Reason", UriKind::Concrete)?,
                })
            }
            T::Error => {
                with_payload(5, "5 to 7")?;
                let code: u64 = r.value(1, "REQUEST.Type")?;
                let request_type = MessageType::from_code(code).ok_or_else(|| {
                    r.field_error("REQUEST.Type", format!("unknown message type {code}"))
                })?;
                Message::Error(ErrorMessage {
                    request_type,
                    request: r.id(2, "REQUEST.Request")?,
                    details: r.dict(3, "Details", ErrorDetails::check)?,
                    error: r.uri(4, "Error", UriKind::Concrete)?,
                    payload: r.payload(5)?,
                })
            }
            T::Publish => {
                with_payload(4, "4 to 6")?;
                Message::Publish(Publish {
                    request: r.id(1, "Request")?,
                    options: r.dict(2, "Options", PublishOptions::check)?,
                    topic: r.uri(3, "Topic", UriKind::Concrete)?,
                    payload: r.payload(4)?,
                })
            }
            T::Published => {
                fixed(3, "3")?;
                Message::Published(Published {
                    request: r.id(1, "PUBLISH.Request")?,
                    publication: r.id(2, "Publication")?,
                })
            }
            T::Subscribe => {
                fixed(4, "4")?;
                let options: SubscribeOptions = r.dict(2, "Options", SubscribeOptions::check)?;
                let kind = options
                    .match_policy()
                    .unwrap_or(MatchPolicy::Exact)
                    .uri_kind();
                Message::Subscribe(Subscribe {
                    request: r.id(1, "Request")?,
                    topic: r.uri(3, "Topic", kind)?,
                    options,
                })
            }
            T::Subscribed => {
                fixed(3, "3")?;
                Message::Subscribed(Subscribed {
                    request: r.id(1, "SUBSCRIBE.Request")?,
                    subscription: r.id(2, "Subscription")?,
                })
            }
            T::Unsubscribe => {
                fixed(3, "3")?;
                Message::Unsubscribe(Unsubscribe {
                    request: r.id(1, "Request")?,
                    subscription: r.id(2, "SUBSCRIBED.Subscription")?,
                })
            }
            T::Unsubscribed => {
                arity(len == 2 || len == 3, "2 or 3")?;
                let (request, details) = r.revocable(UnsubscribedDetails::check)?;
                Message::Unsubscribed(Unsubscribed { request, details })
            }
            T::Event => {
                with_payload(4, "4 to 6")?;
                Message::Event(Event {
                    subscription: r.id(1, "SUBSCRIBED.Subscription")?,
                    publication: r.id(2, "PUBLISHED.Publication")?,
                    details: r.dict(3, "Details", EventDetails::check)?,
                    payload: r.payload(4)?,
                })
            }
            T::Call => {
                with_payload(4, "4 to 6")?;
                Message::Call(Call {
                    request: r.id(1, "Request")?,
                    options: r.dict(2, "Options", CallOptions::check)?,
                    procedure: r.uri(3, "Procedure", UriKind::Concrete)?,
                    payload: r.payload(4)?,
                })
            }
            T::Cancel => {
                fixed(3, "3")?;
                Message::Cancel(Cancel {
                    request: r.id(1, "CALL.Request")?,
                    options: r.dict(2, "Options", CancelOptions::check)?,
                })
            }
            T::Result => {
                with_payload(3, "3 to 5")?;
                Message::Result(ResultMessage {
                    request: r.id(1, "CALL.Request")?,
                    details: r.dict(2, "Details", ResultDetails::check)?,
                    payload: r.payload(3)?,
                })
            }
            T::Register => {
                fixed(4, "4")?;
                let options: RegisterOptions = r.dict(2, "Options", RegisterOptions::check)?;
                let kind = options
                    .match_policy()
                    .unwrap_or(MatchPolicy::Exact)
                    .uri_kind();
                Message::Register(Register {
                    request: r.id(1, "Request")?,
                    procedure: r.uri(3, "Procedure", kind)?,
                    options,
                })
            }
            T::Registered => {
                fixed(3, "3")?;
                Message::Registered(Registered {
                    request: r.id(1, "REGISTER.Request")?,
                    registration: r.id(2, "Registration")?,
                })
            }
            T::Unregister => {
                fixed(3, "3")?;
                Message::Unregister(Unregister {
                    request: r.id(1, "Request")?,
                    registration: r.id(2, "REGISTERED.Registration")?,
                })
            }
            T::Unregistered => {
                arity(len == 2 || len == 3, "2 or 3")?;
                let (request, details) = r.revocable(UnregisteredDetails::check)?;
                Message::Unregistered(Unregistered { request, details })
            }
            T::Invocation => {
                with_payload(4, "4 to 6")?;
                Message::Invocation(Invocation {
                    request: r.id(1, "Request")?,
                    registration: r.id(2, "REGISTERED.Registration")?,
                    details: r.dict(3, "Details", InvocationDetails::check)?,
                    payload: r.payload(4)?,
                })
            }
            T::Interrupt => {
                fixed(3, "3")?;
                Message::Interrupt(Interrupt {
                    request: r.id(1, "INVOCATION.Request")?,
                    options: r.dict(2, "Options", InterruptOptions::check)?,
                })
            }
            T::Yield => {
                with_payload(3, "3 to 5")?;
                Message::Yield(Yield {
                    request: r.id(1, "INVOCATION.Request")?,
                    options: r.dict(2, "Options", YieldOptions::check)?,
                    payload: r.payload(3)?,
                })
            }
        })
    }
}
