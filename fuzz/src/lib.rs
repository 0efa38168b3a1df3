//! What the fuzz targets share: picking a serializer from a byte, a paused-clock runtime,
//! the round-trip check, and a structured description of WAMP messages (`MessageSpec`)
//! that `arbitrary` fills in and that turns into a real [`Message`] by way of JSON.
//!
//! Messages for the router and client targets are built as JSON and decoded with the
//! runtime's own decoder rather than constructed field by field: what reaches the router
//! is then exactly what a peer could send, and the spec needs no access to the runtime's
//! option types.

use std::time::Duration;

use arbitrary::Arbitrary;
use base64::Engine as _;
use bytes::Bytes;
use serde_json::{json, Map, Value as Json};
use wamp::protocol::Message;
use wamp::Serializer;

/// The serializer a selector byte picks.
pub fn serializer(selector: u8) -> Serializer {
    Serializer::ALL[usize::from(selector) % Serializer::ALL.len()]
}

/// A single-threaded runtime whose clock is paused: timers fire as soon as every task is
/// idle, so call timeouts, handshake deadlines and the targets' own hang checks cost no
/// wall time.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime")
}

/// How long (virtual time) a target waits before calling something a hang.
pub const HANG: Duration = Duration::from_secs(600);

/// A message compared by meaning: its `Debug` form shows payloads as values, with floats
/// printed exactly and NaN equal to NaN (which `PartialEq` would not give).
pub fn meaning(msg: &Message) -> String {
    format!("{msg:?}")
}

/// Encodes `msg` with `to`. An error is an acceptable outcome (a value `to` cannot
/// represent); success must decode back to the same message.
pub fn check_conversion(msg: &Message, to: Serializer) {
    let Ok(bytes) = to.encode(msg) else { return };
    let back = to.decode(Bytes::from(bytes.clone())).unwrap_or_else(|e| {
        panic!("{to} encoded {msg:?} as {bytes:?}, which does not decode: {e}")
    });
    assert_eq!(
        meaning(msg),
        meaning(&back),
        "{to}: the message changed in a round trip through {bytes:?}"
    );
}

/// One ID in a message: one the peer has seen (an index into what it was told), or a
/// literal (mostly small, so that made-up IDs collide with real ones).
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum IdPick {
    Seen(u8),
    Small(u8),
    Raw(u64),
}

impl IdPick {
    /// The ID, taken from `seen` (the IDs this side has learnt) when it says so.
    pub fn resolve(self, seen: &[u64]) -> u64 {
        match self {
            IdPick::Seen(i) if !seen.is_empty() => seen[usize::from(i) % seen.len()],
            IdPick::Seen(i) | IdPick::Small(i) => u64::from(i),
            IdPick::Raw(n) => n,
        }
    }
}

/// A URI from a small vocabulary (so that subscriptions, registrations, calls and
/// publications meet), with meta procedures and broken ones among them.
#[derive(Arbitrary, Debug, Clone)]
pub enum UriPick {
    A,
    AB,
    AX,
    B,
    Prefix,
    Wildcard,
    Empty,
    Space,
    SessionCount,
    SessionList,
    SessionGet,
    SessionKill,
    RegistrationList,
    RegistrationLookup,
    RegistrationMatch,
    RegistrationGet,
    RegistrationCallees,
    SubscriptionList,
    SubscriptionLookup,
    SubscriptionMatch,
    SubscriptionGet,
    SubscriptionSubscribers,
    SubscriptionEvents,
    Canceled,
    Other(String),
}

impl UriPick {
    pub fn as_str(&self) -> &str {
        match self {
            UriPick::A => "com.a",
            UriPick::AB => "com.a.b",
            UriPick::AX => "com.a.x",
            UriPick::B => "com.b",
            UriPick::Prefix => "com",
            UriPick::Wildcard => "com..b",
            UriPick::Empty => "",
            UriPick::Space => "com.a b",
            UriPick::SessionCount => "wamp.session.count",
            UriPick::SessionList => "wamp.session.list",
            UriPick::SessionGet => "wamp.session.get",
            UriPick::SessionKill => "wamp.session.kill",
            UriPick::RegistrationList => "wamp.registration.list",
            UriPick::RegistrationLookup => "wamp.registration.lookup",
            UriPick::RegistrationMatch => "wamp.registration.match",
            UriPick::RegistrationGet => "wamp.registration.get",
            UriPick::RegistrationCallees => "wamp.registration.list_callees",
            UriPick::SubscriptionList => "wamp.subscription.list",
            UriPick::SubscriptionLookup => "wamp.subscription.lookup",
            UriPick::SubscriptionMatch => "wamp.subscription.match",
            UriPick::SubscriptionGet => "wamp.subscription.get",
            UriPick::SubscriptionSubscribers => "wamp.subscription.list_subscribers",
            UriPick::SubscriptionEvents => "wamp.subscription.get_events",
            UriPick::Canceled => "wamp.error.canceled",
            UriPick::Other(s) => s,
        }
    }
}

/// An option or details key: the ones the spec defines for some message, and one that
/// none does.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum KeyPick {
    Acknowledge,
    ExcludeMe,
    Exclude,
    ExcludeAuthid,
    ExcludeAuthrole,
    Eligible,
    EligibleAuthid,
    EligibleAuthrole,
    DiscloseMe,
    Retain,
    GetRetained,
    Match,
    Invoke,
    DiscloseCaller,
    Timeout,
    ReceiveProgress,
    Progress,
    Mode,
    Reason,
    Subscription,
    Registration,
    Roles,
    Authid,
    Authrole,
    Authmethods,
    Message,
    Custom,
}

impl KeyPick {
    fn as_str(self) -> &'static str {
        match self {
            KeyPick::Acknowledge => "acknowledge",
            KeyPick::ExcludeMe => "exclude_me",
            KeyPick::Exclude => "exclude",
            KeyPick::ExcludeAuthid => "exclude_authid",
            KeyPick::ExcludeAuthrole => "exclude_authrole",
            KeyPick::Eligible => "eligible",
            KeyPick::EligibleAuthid => "eligible_authid",
            KeyPick::EligibleAuthrole => "eligible_authrole",
            KeyPick::DiscloseMe => "disclose_me",
            KeyPick::Retain => "retain",
            KeyPick::GetRetained => "get_retained",
            KeyPick::Match => "match",
            KeyPick::Invoke => "invoke",
            KeyPick::DiscloseCaller => "disclose_caller",
            KeyPick::Timeout => "timeout",
            KeyPick::ReceiveProgress => "receive_progress",
            KeyPick::Progress => "progress",
            KeyPick::Mode => "mode",
            KeyPick::Reason => "reason",
            KeyPick::Subscription => "subscription",
            KeyPick::Registration => "registration",
            KeyPick::Roles => "roles",
            KeyPick::Authid => "authid",
            KeyPick::Authrole => "authrole",
            KeyPick::Authmethods => "authmethods",
            KeyPick::Message => "message",
            KeyPick::Custom => "x_custom",
        }
    }
}

/// A value, for options and payloads.
#[derive(Arbitrary, Debug, Clone)]
pub enum ValuePick {
    Null,
    True,
    False,
    Int(i64),
    Small(u8),
    Float(f64),
    Id(IdPick),
    Ids(Vec<IdPick>),
    Word(WordPick),
    Words(Vec<WordPick>),
    Str(String),
    Binary(Vec<u8>),
    Uri(UriPick),
    List(Vec<ScalarPick>),
    Dict(Vec<(KeyPick, ScalarPick)>),
}

/// A value that nests no further.
#[derive(Arbitrary, Debug, Clone)]
pub enum ScalarPick {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Word(WordPick),
    Id(IdPick),
}

/// The words option values are made of.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum WordPick {
    Exact,
    Prefix,
    Wildcard,
    Single,
    Roundrobin,
    Random,
    First,
    Last,
    Kill,
    Killnowait,
    Skip,
    Anonymous,
    User,
    Empty,
}

impl WordPick {
    fn as_str(self) -> &'static str {
        match self {
            WordPick::Exact => "exact",
            WordPick::Prefix => "prefix",
            WordPick::Wildcard => "wildcard",
            WordPick::Single => "single",
            WordPick::Roundrobin => "roundrobin",
            WordPick::Random => "random",
            WordPick::First => "first",
            WordPick::Last => "last",
            WordPick::Kill => "kill",
            WordPick::Killnowait => "killnowait",
            WordPick::Skip => "skip",
            WordPick::Anonymous => "anonymous",
            WordPick::User => "user",
            WordPick::Empty => "",
        }
    }
}

fn float(f: f64) -> Json {
    // JSON has no NaN or infinity: such a value becomes a number JSON has.
    serde_json::Number::from_f64(f).map_or(json!(0.5), Json::Number)
}

fn scalar(v: &ScalarPick, ids: &[u64]) -> Json {
    match v {
        ScalarPick::Null => Json::Null,
        ScalarPick::Bool(b) => json!(b),
        ScalarPick::Int(i) => json!(i),
        ScalarPick::Float(f) => float(*f),
        ScalarPick::Word(w) => json!(w.as_str()),
        ScalarPick::Id(id) => json!(id.resolve(ids)),
    }
}

impl ValuePick {
    fn to_json(&self, ids: &[u64]) -> Json {
        match self {
            ValuePick::Null => Json::Null,
            ValuePick::True => json!(true),
            ValuePick::False => json!(false),
            ValuePick::Int(i) => json!(i),
            ValuePick::Small(i) => json!(i),
            ValuePick::Float(f) => float(*f),
            ValuePick::Id(id) => json!(id.resolve(ids)),
            ValuePick::Ids(v) => Json::Array(v.iter().map(|i| json!(i.resolve(ids))).collect()),
            ValuePick::Word(w) => json!(w.as_str()),
            ValuePick::Words(v) => Json::Array(v.iter().map(|w| json!(w.as_str())).collect()),
            ValuePick::Str(s) => json!(s),
            // WAMP's JSON binary convention.
            ValuePick::Binary(b) => json!(format!(
                "\u{0}{}",
                base64::engine::general_purpose::STANDARD.encode(b)
            )),
            ValuePick::Uri(u) => json!(u.as_str()),
            ValuePick::List(v) => Json::Array(v.iter().map(|s| scalar(s, ids)).collect()),
            ValuePick::Dict(v) => Json::Object(
                v.iter()
                    .map(|(k, s)| (k.as_str().to_owned(), scalar(s, ids)))
                    .collect(),
            ),
        }
    }
}

/// An options or details dictionary.
pub type DictPick = Vec<(KeyPick, ValuePick)>;

fn dict(d: &DictPick, ids: &[u64]) -> Json {
    Json::Object(
        d.iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_json(ids)))
            .collect::<Map<String, Json>>(),
    )
}

/// `Arguments` and `ArgumentsKw`: absent, arguments only, or both.
#[derive(Arbitrary, Debug, Clone)]
pub enum PayloadPick {
    None,
    Args(Vec<ValuePick>),
    Both(Vec<ValuePick>, Vec<(KeyPick, ValuePick)>),
}

impl PayloadPick {
    fn append(&self, elements: &mut Vec<Json>, ids: &[u64]) {
        match self {
            PayloadPick::None => {}
            PayloadPick::Args(a) => {
                elements.push(Json::Array(a.iter().map(|v| v.to_json(ids)).collect()))
            }
            PayloadPick::Both(a, kw) => {
                elements.push(Json::Array(a.iter().map(|v| v.to_json(ids)).collect()));
                elements.push(dict(kw, ids));
            }
        }
    }
}

/// The request type an ERROR answers.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum RequestTypePick {
    Invocation,
    Call,
    Subscribe,
    Register,
    Publish,
    Unsubscribe,
    Unregister,
    Raw(u8),
}

impl RequestTypePick {
    fn code(self) -> u64 {
        match self {
            RequestTypePick::Invocation => 68,
            RequestTypePick::Call => 48,
            RequestTypePick::Subscribe => 32,
            RequestTypePick::Register => 64,
            RequestTypePick::Publish => 16,
            RequestTypePick::Unsubscribe => 34,
            RequestTypePick::Unregister => 66,
            RequestTypePick::Raw(n) => u64::from(n),
        }
    }
}

/// Any WAMP message, its IDs, URIs, options and payload drawn from small vocabularies.
#[derive(Arbitrary, Debug, Clone)]
pub enum MessageSpec {
    Hello(UriPick, DictPick),
    Welcome(IdPick, DictPick),
    Abort(DictPick, UriPick),
    Challenge(WordPick, DictPick),
    Authenticate(String, DictPick),
    Goodbye(DictPick, UriPick),
    Error(RequestTypePick, IdPick, DictPick, UriPick, PayloadPick),
    Publish(IdPick, DictPick, UriPick, PayloadPick),
    Published(IdPick, IdPick),
    Subscribe(IdPick, DictPick, UriPick),
    Subscribed(IdPick, IdPick),
    Unsubscribe(IdPick, IdPick),
    Unsubscribed(IdPick, Option<DictPick>),
    Event(IdPick, IdPick, DictPick, PayloadPick),
    Call(IdPick, DictPick, UriPick, PayloadPick),
    Cancel(IdPick, DictPick),
    Result(IdPick, DictPick, PayloadPick),
    Register(IdPick, DictPick, UriPick),
    Registered(IdPick, IdPick),
    Unregister(IdPick, IdPick),
    Unregistered(IdPick, Option<DictPick>),
    Invocation(IdPick, IdPick, DictPick, PayloadPick),
    Interrupt(IdPick, DictPick),
    Yield(IdPick, DictPick, PayloadPick),
}

impl MessageSpec {
    /// The message as JSON elements; `ids` are the IDs the sender has seen.
    pub fn to_json(&self, ids: &[u64]) -> Json {
        let id = |p: &IdPick| json!(p.resolve(ids));
        let d = |p: &DictPick| dict(p, ids);
        let mut e: Vec<Json> = match self {
            MessageSpec::Hello(realm, details) => vec![json!(1), json!(realm.as_str()), d(details)],
            MessageSpec::Welcome(s, details) => vec![json!(2), id(s), d(details)],
            MessageSpec::Abort(details, reason) => {
                vec![json!(3), d(details), json!(reason.as_str())]
            }
            MessageSpec::Challenge(method, extra) => {
                vec![json!(4), json!(method.as_str()), d(extra)]
            }
            MessageSpec::Authenticate(sig, extra) => vec![json!(5), json!(sig), d(extra)],
            MessageSpec::Goodbye(details, reason) => {
                vec![json!(6), d(details), json!(reason.as_str())]
            }
            MessageSpec::Error(t, r, details, uri, _) => {
                vec![
                    json!(8),
                    json!(t.code()),
                    id(r),
                    d(details),
                    json!(uri.as_str()),
                ]
            }
            MessageSpec::Publish(r, opts, topic, _) => {
                vec![json!(16), id(r), d(opts), json!(topic.as_str())]
            }
            MessageSpec::Published(r, p) => vec![json!(17), id(r), id(p)],
            MessageSpec::Subscribe(r, opts, topic) => {
                vec![json!(32), id(r), d(opts), json!(topic.as_str())]
            }
            MessageSpec::Subscribed(r, s) => vec![json!(33), id(r), id(s)],
            MessageSpec::Unsubscribe(r, s) => vec![json!(34), id(r), id(s)],
            MessageSpec::Unsubscribed(r, None) => vec![json!(35), id(r)],
            MessageSpec::Unsubscribed(r, Some(details)) => vec![json!(35), id(r), d(details)],
            MessageSpec::Event(s, p, details, _) => vec![json!(36), id(s), id(p), d(details)],
            MessageSpec::Call(r, opts, proc, _) => {
                vec![json!(48), id(r), d(opts), json!(proc.as_str())]
            }
            MessageSpec::Cancel(r, opts) => vec![json!(49), id(r), d(opts)],
            MessageSpec::Result(r, details, _) => vec![json!(50), id(r), d(details)],
            MessageSpec::Register(r, opts, proc) => {
                vec![json!(64), id(r), d(opts), json!(proc.as_str())]
            }
            MessageSpec::Registered(r, reg) => vec![json!(65), id(r), id(reg)],
            MessageSpec::Unregister(r, reg) => vec![json!(66), id(r), id(reg)],
            MessageSpec::Unregistered(r, None) => vec![json!(67), id(r)],
            MessageSpec::Unregistered(r, Some(details)) => vec![json!(67), id(r), d(details)],
            MessageSpec::Invocation(r, reg, details, _) => {
                vec![json!(68), id(r), id(reg), d(details)]
            }
            MessageSpec::Interrupt(r, opts) => vec![json!(69), id(r), d(opts)],
            MessageSpec::Yield(r, opts, _) => vec![json!(70), id(r), d(opts)],
        };
        match self {
            MessageSpec::Error(.., p)
            | MessageSpec::Publish(.., p)
            | MessageSpec::Event(.., p)
            | MessageSpec::Call(.., p)
            | MessageSpec::Result(.., p)
            | MessageSpec::Invocation(.., p)
            | MessageSpec::Yield(.., p) => p.append(&mut e, ids),
            _ => {}
        }
        Json::Array(e)
    }

    /// The message, if the runtime's JSON decoder takes it (most specs make valid
    /// messages; the rest are what a peer cannot send either).
    pub fn build(&self, ids: &[u64]) -> Option<Message> {
        let text = serde_json::to_vec(&self.to_json(ids)).ok()?;
        Serializer::Json.decode(Bytes::from(text)).ok()
    }
}

/// Every ID in a message (requests, subscriptions, registrations, publications,
/// sessions), for the receiver's pool of IDs it has seen.
pub fn ids_in(msg: &Message, out: &mut Vec<u64>) {
    let Ok(bytes) = Serializer::Json.encode(msg) else {
        return;
    };
    let Ok(Json::Array(elements)) = serde_json::from_slice::<Json>(&bytes) else {
        return;
    };
    for e in elements.iter().skip(1) {
        if let Some(n) = e.as_u64() {
            if n != 0 && !out.contains(&n) {
                out.push(n);
            }
        }
    }
    // Bounded, so that a long script does not make every pick a linear scan of thousands.
    if out.len() > 64 {
        out.drain(..out.len() - 64);
    }
}
