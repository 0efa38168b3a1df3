//! Typed views of the Options, Details and Extra dictionaries.
//!
//! Each is a thin wrapper around a [`Dict`]: the keys the spec defines get typed getters
//! and `with_*` builders, every other key (router extensions such as Crossbar's `x_cb_*`,
//! future spec additions) is kept as is and travels on untouched. Decoding checks the
//! types of the known keys, so the getters never have to report an error: a value of the
//! wrong type is refused when the message arrives, with the message, dictionary and key
//! named. `null` is treated as an absent key, as several peers send it that way.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::id::Id;
use super::uri::{Uri, UriKind};
use super::value::{Dict, Value};

/// A type that can be stored under a known key of an options dictionary.
pub trait OptionValue: Sized {
    /// What the value must look like, for error messages.
    const EXPECTED: &'static str;
    /// Reads the value; `None` if it has the wrong type or is out of range.
    fn from_value(v: &Value) -> Option<Self>;
    /// Turns the value into a dictionary entry.
    fn into_value(self) -> Value;
}

impl OptionValue for bool {
    const EXPECTED: &'static str = "a boolean";
    fn from_value(v: &Value) -> Option<Self> {
        v.as_bool()
    }
    fn into_value(self) -> Value {
        Value::Bool(self)
    }
}

impl OptionValue for u64 {
    const EXPECTED: &'static str = "a non-negative integer";
    fn from_value(v: &Value) -> Option<Self> {
        v.as_u64()
    }
    fn into_value(self) -> Value {
        Value::from(self)
    }
}

impl OptionValue for Id {
    const EXPECTED: &'static str = "an ID (integer in 1..=2^53)";
    fn from_value(v: &Value) -> Option<Self> {
        v.as_u64().and_then(Id::new)
    }
    fn into_value(self) -> Value {
        Value::from(self.get())
    }
}

impl OptionValue for String {
    const EXPECTED: &'static str = "a string";
    fn from_value(v: &Value) -> Option<Self> {
        v.as_str().map(str::to_owned)
    }
    fn into_value(self) -> Value {
        Value::String(self)
    }
}

impl OptionValue for Uri {
    const EXPECTED: &'static str = "a URI";
    fn from_value(v: &Value) -> Option<Self> {
        v.as_str()
            .and_then(|s| Uri::with_kind(s, UriKind::Wildcard).ok())
    }
    fn into_value(self) -> Value {
        Value::String(self.as_str().to_owned())
    }
}

impl OptionValue for Dict {
    const EXPECTED: &'static str = "a dictionary";
    fn from_value(v: &Value) -> Option<Self> {
        v.as_dict().cloned()
    }
    fn into_value(self) -> Value {
        Value::Dict(self)
    }
}

impl OptionValue for Vec<Id> {
    const EXPECTED: &'static str = "a list of IDs";
    fn from_value(v: &Value) -> Option<Self> {
        v.as_list()?.iter().map(Id::from_value).collect()
    }
    fn into_value(self) -> Value {
        Value::List(self.into_iter().map(Id::into_value).collect())
    }
}

impl OptionValue for Vec<String> {
    const EXPECTED: &'static str = "a list of strings";
    fn from_value(v: &Value) -> Option<Self> {
        v.as_list()?.iter().map(String::from_value).collect()
    }
    fn into_value(self) -> Value {
        Value::List(self.into_iter().map(Value::String).collect())
    }
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $( $(#[$vm:meta])* $variant:ident = $s:literal ),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vm])* $variant, )*
        }

        impl $name {
            /// The string the spec uses for this value.
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $s, )* }
            }

            /// Parses the spec's string.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $( $s => Some($name::$variant), )* _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl OptionValue for $name {
            const EXPECTED: &'static str = concat!("one of", $(" \"", $s, "\""),*);
            fn from_value(v: &Value) -> Option<Self> {
                v.as_str().and_then($name::parse)
            }
            fn into_value(self) -> Value {
                Value::String(self.as_str().to_owned())
            }
        }
    };
}

string_enum! {
    /// How a subscription or registration URI is matched.
    MatchPolicy {
        /// The URI as is (the default).
        Exact = "exact",
        /// Every URI that starts with the given prefix.
        Prefix = "prefix",
        /// Every URI whose non-empty components are equal.
        Wildcard = "wildcard",
    }
}

string_enum! {
    /// How a shared registration picks its callee.
    InvokePolicy {
        /// Only one callee may register (the default).
        Single = "single",
        /// Callees take turns.
        RoundRobin = "roundrobin",
        /// A callee picked at random.
        Random = "random",
        /// The callee that registered first.
        First = "first",
        /// The callee that registered last.
        Last = "last",
    }
}

string_enum! {
    /// How a call is cancelled.
    CancelMode {
        /// The caller gets its error at once; the callee is not told.
        Skip = "skip",
        /// The callee is interrupted and the caller waits for its answer.
        Kill = "kill",
        /// The callee is interrupted and the caller gets its error at once.
        KillNoWait = "killnowait",
    }
}

impl MatchPolicy {
    /// The kind of URI this policy accepts.
    pub fn uri_kind(self) -> UriKind {
        match self {
            MatchPolicy::Exact => UriKind::Concrete,
            MatchPolicy::Prefix => UriKind::Prefix,
            MatchPolicy::Wildcard => UriKind::Wildcard,
        }
    }
}

/// A WAMP role, as announced in HELLO and WELCOME.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Calls procedures.
    Caller,
    /// Provides procedures.
    Callee,
    /// Publishes events.
    Publisher,
    /// Receives events.
    Subscriber,
    /// Routes calls (router side).
    Dealer,
    /// Routes events (router side).
    Broker,
}

impl Role {
    /// The role's key in the `roles` dictionary.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Caller => "caller",
            Role::Callee => "callee",
            Role::Publisher => "publisher",
            Role::Subscriber => "subscriber",
            Role::Dealer => "dealer",
            Role::Broker => "broker",
        }
    }
}

/// Why a dictionary was refused: a known key held a value of the wrong type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionTypeError {
    /// The key.
    pub key: &'static str,
    /// What the value should have been.
    pub expected: &'static str,
    /// What it was.
    pub found: &'static str,
}

macro_rules! dict_type {
    (
        $(#[$m:meta])*
        $name:ident {
            $( $(#[$fm:meta])* $getter:ident, $setter:ident : $ty:ty = $key:literal; )*
        }
    ) => {
        $(#[$m])*
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Dict);

        impl $name {
            /// An empty dictionary.
            pub fn new() -> Self {
                Self::default()
            }

            $(
                $(#[$fm])*
                pub fn $getter(&self) -> Option<$ty> {
                    self.0.get($key).and_then(<$ty as OptionValue>::from_value)
                }

                #[doc = concat!("Sets `", $key, "`.")]
                pub fn $setter(mut self, value: $ty) -> Self {
                    self.0.insert($key.to_owned(), OptionValue::into_value(value));
                    self
                }
            )*

            /// Checks that every known key holds a value of its type.
            pub fn check(&self) -> Result<(), OptionTypeError> {
                $(
                    if let Some(v) = self.0.get($key) {
                        if !v.is_null() && <$ty as OptionValue>::from_value(v).is_none() {
                            return Err(OptionTypeError {
                                key: $key,
                                expected: <$ty as OptionValue>::EXPECTED,
                                found: v.type_name(),
                            });
                        }
                    }
                )*
                Ok(())
            }

            /// Any key, known or not.
            pub fn get(&self, key: &str) -> Option<&Value> {
                self.0.get(key)
            }

            /// Sets any key (known keys are not type-checked here).
            pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) -> &mut Self {
                self.0.insert(key.into(), value.into());
                self
            }

            /// Whether no key is set.
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }

            /// The underlying dictionary.
            pub fn as_dict(&self) -> &Dict {
                &self.0
            }

            /// The underlying dictionary, by value.
            pub fn into_dict(self) -> Dict {
                self.0
            }
        }

        impl From<Dict> for $name {
            fn from(d: Dict) -> Self {
                $name(d)
            }
        }
    };
}

dict_type! {
    /// HELLO.Details: what the client is and what it supports.
    HelloDetails {
        /// The roles and their features (`{"caller": {"features": {...}}, ...}`).
        roles, with_roles: Dict = "roles";
        /// Authentication methods the client offers, in order of preference.
        authmethods, with_authmethods: Vec<String> = "authmethods";
        /// The identity to authenticate as.
        authid, with_authid: String = "authid";
        /// The role the client asks for.
        authrole, with_authrole: String = "authrole";
        /// Method-specific data (e.g. the Cryptosign public key).
        authextra, with_authextra: Dict = "authextra";
        /// A free-form name and version of the client.
        agent, with_agent: String = "agent";
    }
}

dict_type! {
    /// WELCOME.Details: the session the router opened.
    WelcomeDetails {
        /// The router's roles and their features.
        roles, with_roles: Dict = "roles";
        /// The authenticated identity.
        authid, with_authid: String = "authid";
        /// The role granted.
        authrole, with_authrole: String = "authrole";
        /// The method that authenticated the session.
        authmethod, with_authmethod: String = "authmethod";
        /// Who authenticated the session.
        authprovider, with_authprovider: String = "authprovider";
        /// Method-specific data (e.g. the SCRAM server signature).
        authextra, with_authextra: Dict = "authextra";
        /// A free-form name and version of the router.
        agent, with_agent: String = "agent";
    }
}

dict_type! {
    /// ABORT.Details and GOODBYE.Details.
    CloseDetails {
        /// A human-readable explanation.
        message, with_message: String = "message";
    }
}

dict_type! {
    /// CHALLENGE.Extra and AUTHENTICATE.Extra.
    AuthExtra {
        /// The challenge to sign (WAMP-CRA, Cryptosign).
        challenge, with_challenge: String = "challenge";
        /// Salt for the key derivation (salted WAMP-CRA, SCRAM).
        salt, with_salt: String = "salt";
        /// Iterations of the key derivation.
        iterations, with_iterations: u64 = "iterations";
        /// Length of the derived key.
        keylen, with_keylen: u64 = "keylen";
        /// Channel binding type (Cryptosign, SCRAM).
        channel_binding, with_channel_binding: String = "channel_binding";
        /// Client or server nonce (SCRAM).
        nonce, with_nonce: String = "nonce";
        /// Key derivation function (SCRAM: `argon2id13` or `pbkdf2`).
        kdf, with_kdf: String = "kdf";
        /// Memory cost of the key derivation (SCRAM with Argon2id).
        memory, with_memory: u64 = "memory";
        /// Channel binding data (SCRAM).
        cbind_data, with_cbind_data: String = "cbind_data";
    }
}

dict_type! {
    /// ERROR.Details.
    ErrorDetails {
        /// The callee that raised the error, where disclosed.
        callee, with_callee: Id = "callee";
    }
}

dict_type! {
    /// PUBLISH.Options.
    PublishOptions {
        /// Ask the broker for a PUBLISHED acknowledgement.
        acknowledge, with_acknowledge: bool = "acknowledge";
        /// Whether the publisher receives its own event (default `true`: excluded).
        exclude_me, with_exclude_me: bool = "exclude_me";
        /// Sessions that must not receive the event.
        exclude, with_exclude: Vec<Id> = "exclude";
        /// Authids that must not receive the event.
        exclude_authid, with_exclude_authid: Vec<String> = "exclude_authid";
        /// Authroles that must not receive the event.
        exclude_authrole, with_exclude_authrole: Vec<String> = "exclude_authrole";
        /// The only sessions that may receive the event.
        eligible, with_eligible: Vec<Id> = "eligible";
        /// The only authids that may receive the event.
        eligible_authid, with_eligible_authid: Vec<String> = "eligible_authid";
        /// The only authroles that may receive the event.
        eligible_authrole, with_eligible_authrole: Vec<String> = "eligible_authrole";
        /// Ask the broker to disclose the publisher's identity.
        disclose_me, with_disclose_me: bool = "disclose_me";
        /// Ask the broker to retain the event for late subscribers.
        retain, with_retain: bool = "retain";
    }
}

dict_type! {
    /// SUBSCRIBE.Options.
    SubscribeOptions {
        /// How the topic is matched.
        match_policy, with_match: MatchPolicy = "match";
        /// Ask for the retained event, if any.
        get_retained, with_get_retained: bool = "get_retained";
    }
}

dict_type! {
    /// EVENT.Details.
    EventDetails {
        /// The publisher's session, where disclosed.
        publisher, with_publisher: Id = "publisher";
        /// The publisher's authid, where disclosed.
        publisher_authid, with_publisher_authid: String = "publisher_authid";
        /// The publisher's authrole, where disclosed.
        publisher_authrole, with_publisher_authrole: String = "publisher_authrole";
        /// The concrete topic, for pattern subscriptions.
        topic, with_topic: Uri = "topic";
        /// Whether this is a retained event.
        retained, with_retained: bool = "retained";
        /// The trust level the router assigned.
        trustlevel, with_trustlevel: u64 = "trustlevel";
    }
}

dict_type! {
    /// CALL.Options.
    CallOptions {
        /// Call timeout in milliseconds (per spec; 0 means none).
        timeout, with_timeout: u64 = "timeout";
        /// Ask for progressive results.
        receive_progress, with_receive_progress: bool = "receive_progress";
        /// Ask the dealer to disclose the caller's identity.
        disclose_me, with_disclose_me: bool = "disclose_me";
        /// This CALL is a progressive invocation chunk, more follow.
        progress, with_progress: bool = "progress";
    }
}

dict_type! {
    /// CANCEL.Options.
    CancelOptions {
        /// How to cancel.
        mode, with_mode: CancelMode = "mode";
    }
}

dict_type! {
    /// RESULT.Details.
    ResultDetails {
        /// This is a progressive result, more follow.
        progress, with_progress: bool = "progress";
    }
}

dict_type! {
    /// REGISTER.Options.
    RegisterOptions {
        /// How the procedure URI is matched.
        match_policy, with_match: MatchPolicy = "match";
        /// How a shared registration picks its callee.
        invoke, with_invoke: InvokePolicy = "invoke";
        /// Ask the dealer to disclose callers' identities.
        disclose_caller, with_disclose_caller: bool = "disclose_caller";
        /// Let the callee enforce the call timeout instead of the dealer.
        forward_timeout, with_forward_timeout: bool = "forward_timeout";
    }
}

dict_type! {
    /// INVOCATION.Details.
    InvocationDetails {
        /// The caller's session, where disclosed.
        caller, with_caller: Id = "caller";
        /// The caller's authid, where disclosed.
        caller_authid, with_caller_authid: String = "caller_authid";
        /// The caller's authrole, where disclosed.
        caller_authrole, with_caller_authrole: String = "caller_authrole";
        /// The concrete procedure, for pattern registrations.
        procedure, with_procedure: Uri = "procedure";
        /// The caller asked for progressive results.
        receive_progress, with_receive_progress: bool = "receive_progress";
        /// Call timeout in milliseconds, when forwarded to the callee.
        timeout, with_timeout: u64 = "timeout";
        /// The trust level the router assigned.
        trustlevel, with_trustlevel: u64 = "trustlevel";
        /// This INVOCATION is a progressive invocation chunk, more follow.
        progress, with_progress: bool = "progress";
    }
}

dict_type! {
    /// INTERRUPT.Options.
    InterruptOptions {
        /// The cancel mode the caller asked for.
        mode, with_mode: CancelMode = "mode";
        /// Why the call was interrupted (e.g. `wamp.error.canceled`, `wamp.error.timeout`).
        reason, with_reason: String = "reason";
    }
}

dict_type! {
    /// YIELD.Options.
    YieldOptions {
        /// This is a progressive result, more follow.
        progress, with_progress: bool = "progress";
    }
}

dict_type! {
    /// UNSUBSCRIBED.Details, sent when the broker revokes a subscription.
    UnsubscribedDetails {
        /// The revoked subscription.
        subscription, with_subscription: Id = "subscription";
        /// Why it was revoked.
        reason, with_reason: String = "reason";
    }
}

dict_type! {
    /// UNREGISTERED.Details, sent when the dealer revokes a registration.
    UnregisteredDetails {
        /// The revoked registration.
        registration, with_registration: Id = "registration";
        /// Why it was revoked.
        reason, with_reason: String = "reason";
    }
}

/// Reads the feature flags of one role in a `roles` dictionary.
pub fn role_has_feature(roles: &Dict, role: Role, feature: &str) -> bool {
    roles
        .get(role.as_str())
        .and_then(Value::as_dict)
        .and_then(|r| r.get("features"))
        .and_then(Value::as_dict)
        .and_then(|f| f.get(feature))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// Builds a `roles` dictionary entry: `{"features": {f: true, ...}}`.
pub fn role_entry(features: &[&str]) -> Value {
    let features: Dict = features
        .iter()
        .map(|f| ((*f).to_owned(), Value::Bool(true)))
        .collect();
    let mut entry = Dict::new();
    entry.insert("features".to_owned(), Value::Dict(features));
    Value::Dict(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_kept_and_known_keys_typed() {
        let mut opts = CallOptions::new()
            .with_timeout(1500)
            .with_receive_progress(true);
        opts.insert("x_custom", "kept");
        assert_eq!(opts.timeout(), Some(1500));
        assert_eq!(opts.receive_progress(), Some(true));
        assert_eq!(opts.get("x_custom"), Some(&Value::from("kept")));
        assert!(opts.check().is_ok());
    }

    #[test]
    fn wrong_types_are_reported() {
        let mut opts = SubscribeOptions::new();
        opts.insert("match", "regex");
        let err = opts.check().unwrap_err();
        assert_eq!(err.key, "match");
        assert_eq!(err.found, "string");

        let mut opts = PublishOptions::new();
        opts.insert("exclude", Value::List(vec![Value::from(0u64)]));
        assert_eq!(opts.check().unwrap_err().key, "exclude");

        let mut opts = CallOptions::new();
        opts.insert("timeout", Value::Null);
        assert!(opts.check().is_ok(), "null counts as absent");
        assert_eq!(opts.timeout(), None);
    }

    #[test]
    fn roles() {
        let mut roles = Dict::new();
        roles.insert("dealer".into(), role_entry(&["progressive_call_results"]));
        assert!(role_has_feature(
            &roles,
            Role::Dealer,
            "progressive_call_results"
        ));
        assert!(!role_has_feature(&roles, Role::Dealer, "call_timeout"));
        assert!(!role_has_feature(
            &roles,
            Role::Broker,
            "progressive_call_results"
        ));
    }
}
