//! The meta API: procedures the router itself answers (`wamp.session.*`,
//! `wamp.registration.*`, `wamp.subscription.*`) and session testaments.
//!
//! Meta events (`wamp.session.on_join`, `wamp.registration.on_create`, ...) are recorded
//! by the realm, broker and dealer as things happen and published by the realm once the
//! operation is done, to the same realm only.

use std::collections::HashMap;
use std::sync::Arc;

use super::peer::{Peer, Testament};
use super::realm::RealmState;
use crate::protocol::*;

/// The current time as an ISO 8601 UTC string (for `created`).
pub(crate) fn now_iso8601() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_millis()
    )
}

/// What `wamp.session.get` and `wamp.session.on_join` say about a session.
pub(crate) fn session_details(peer: &Peer) -> Dict {
    let mut d = Dict::new();
    d.insert("session".into(), Value::from(peer.id.get()));
    d.insert("authid".into(), Value::from(peer.authid.as_str()));
    d.insert("authrole".into(), Value::from(peer.authrole.as_str()));
    d.insert("authmethod".into(), Value::from(peer.authmethod.as_str()));
    d.insert("authprovider".into(), Value::from("static"));
    let mut transport = Dict::new();
    transport.insert("type".into(), Value::from(peer.transport));
    d.insert("transport".into(), Value::Dict(transport));
    d
}

/// An error answer: URI and message.
pub(crate) type MetaError = (&'static str, String);

fn one(v: Value) -> Payload {
    Payload::from_values(vec![v], Dict::new())
}

fn id_arg(args: &[Value], what: &str) -> Result<Id, MetaError> {
    args.first()
        .and_then(Value::as_u64)
        .and_then(Id::new)
        .ok_or_else(|| {
            (
                "wamp.error.invalid_argument",
                format!("expected {what} (an ID) as the first argument"),
            )
        })
}

fn str_arg<'a>(args: &'a [Value], what: &str) -> Result<&'a str, MetaError> {
    args.first().and_then(Value::as_str).ok_or_else(|| {
        (
            "wamp.error.invalid_argument",
            format!("expected {what} (a string) as the first argument"),
        )
    })
}

fn match_option(args: &[Value]) -> MatchPolicy {
    args.get(1)
        .and_then(Value::as_dict)
        .and_then(|d| d.get("match"))
        .and_then(Value::as_str)
        .and_then(MatchPolicy::parse)
        .unwrap_or(MatchPolicy::Exact)
}

fn ids(list: impl IntoIterator<Item = Id>) -> Value {
    Value::List(list.into_iter().map(|i| Value::from(i.get())).collect())
}

fn role_filter(args: &[Value]) -> Option<Vec<String>> {
    args.first().and_then(Value::as_list).map(|l| {
        l.iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    })
}

/// Whether a procedure is one the router answers itself.
pub(crate) fn is_meta_procedure(procedure: &str) -> bool {
    procedure.starts_with("wamp.session.")
        || procedure.starts_with("wamp.registration.")
        || procedure.starts_with("wamp.subscription.")
}

/// Reads the optional `reason` and `message` of the kill procedures.
fn kill_reason(kwargs: &Dict) -> Result<(Uri, Option<String>), MetaError> {
    let reason = match kwargs.get("reason") {
        None | Some(Value::Null) => Uri::from_static("wamp.close.killed"),
        Some(v) => v.as_str().and_then(|s| Uri::new(s).ok()).ok_or((
            "wamp.error.invalid_uri",
            "reason must be a valid non-empty URI".to_owned(),
        ))?,
    };
    Ok((
        reason,
        kwargs
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned),
    ))
}

fn kill_where(
    state: &RealmState,
    from: &Peer,
    reason: &Uri,
    message: Option<&str>,
    pick: impl Fn(&Peer) -> bool,
) -> Value {
    let mut killed = Vec::new();
    for peer in state
        .sessions
        .values()
        .filter(|p| p.id != from.id && pick(p))
    {
        peer.kill(reason.as_str(), message.unwrap_or_default());
        killed.push(peer.id);
    }
    ids(killed)
}

/// The session a revocation is for: the second positional argument (Crossbar.io's
/// `remove_subscriber(subscription, subscriber, reason)` / `remove_callee(...)` shape).
fn revocation_target(
    sessions: &HashMap<Id, Arc<Peer>>,
    args: &[Value],
) -> Result<Arc<Peer>, MetaError> {
    let id = args
        .get(1)
        .and_then(Value::as_u64)
        .and_then(Id::new)
        .ok_or((
            "wamp.error.invalid_argument",
            "the second argument must be a session ID".to_owned(),
        ))?;
    sessions
        .get(&id)
        .cloned()
        .ok_or(("wamp.error.no_such_session", format!("no session {id}")))
}

/// The optional reason of a revocation: third positional argument or `reason` keyword.
fn revocation_reason(args: &[Value], kwargs: &Dict) -> Option<String> {
    args.get(2)
        .or_else(|| kwargs.get("reason"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Answers a meta procedure call.
pub(crate) fn call(
    state: &mut RealmState,
    from: &Arc<Peer>,
    procedure: &str,
    payload: &Payload,
) -> Result<Payload, MetaError> {
    let args = payload
        .args_values()
        .map_err(|e| ("wamp.error.invalid_argument", e.to_string()))?;
    let kwargs = payload
        .kwargs_values()
        .map_err(|e| ("wamp.error.invalid_argument", e.to_string()))?;
    let sessions: &HashMap<Id, Arc<Peer>> = &state.sessions;
    let filtered = |roles: Option<Vec<String>>| -> Vec<Id> {
        sessions
            .values()
            .filter(|p| roles.as_ref().is_none_or(|r| r.contains(&p.authrole)))
            .map(|p| p.id)
            .collect()
    };
    Ok(match procedure {
        "wamp.session.count" => one(Value::from(filtered(role_filter(&args)).len() as u64)),
        "wamp.session.list" => one(ids(filtered(role_filter(&args)))),
        "wamp.session.get" => {
            let id = id_arg(&args, "session")?;
            let peer = sessions
                .get(&id)
                .ok_or(("wamp.error.no_such_session", format!("no session {id}")))?;
            one(Value::Dict(session_details(peer)))
        }
        "wamp.session.kill" => {
            let id = id_arg(&args, "session")?;
            let (reason, message) = kill_reason(&kwargs)?;
            let peer = sessions.get(&id).filter(|p| p.id != from.id).ok_or((
                "wamp.error.no_such_session",
                format!("no other session {id}"),
            ))?;
            peer.kill(reason.as_str(), message.as_deref().unwrap_or_default());
            Payload::empty()
        }
        "wamp.session.kill_by_authid" => {
            let authid = str_arg(&args, "authid")?.to_owned();
            let (reason, message) = kill_reason(&kwargs)?;
            one(kill_where(state, from, &reason, message.as_deref(), |p| {
                p.authid == authid
            }))
        }
        "wamp.session.kill_by_authrole" => {
            let authrole = str_arg(&args, "authrole")?.to_owned();
            let (reason, message) = kill_reason(&kwargs)?;
            one(kill_where(state, from, &reason, message.as_deref(), |p| {
                p.authrole == authrole
            }))
        }
        "wamp.session.kill_all" => {
            let (reason, message) = kill_reason(&kwargs)?;
            let killed = kill_where(state, from, &reason, message.as_deref(), |_| true);
            one(Value::from(killed.as_list().map_or(0, Vec::len) as u64))
        }
        "wamp.session.add_testament" => {
            let topic = args
                .first()
                .and_then(Value::as_str)
                .and_then(|t| Uri::new(t).ok())
                .ok_or((
                    "wamp.error.invalid_uri",
                    "the first argument must be the topic URI".to_owned(),
                ))?;
            let event_args = args
                .get(1)
                .and_then(Value::as_list)
                .cloned()
                .unwrap_or_default();
            let event_kwargs = args
                .get(2)
                .and_then(Value::as_dict)
                .cloned()
                .unwrap_or_default();
            let options = kwargs
                .get("publish_options")
                .and_then(Value::as_dict)
                .cloned()
                .map(PublishOptions::from)
                .unwrap_or_default();
            options.check().map_err(|e| {
                (
                    "wamp.error.invalid_argument",
                    format!("publish_options.{}: expected {}", e.key, e.expected),
                )
            })?;
            let detached = match kwargs.get("scope").and_then(Value::as_str) {
                None | Some("destroyed") => false,
                Some("detached") => true,
                Some(other) => {
                    return Err((
                        "wamp.error.invalid_argument",
                        format!("scope must be destroyed or detached, not {other:?}"),
                    ))
                }
            };
            from.add_testament(
                Testament {
                    topic,
                    payload: Payload::from_values(event_args, event_kwargs),
                    options,
                },
                detached,
            );
            Payload::empty()
        }
        "wamp.session.flush_testaments" => {
            let detached = match kwargs.get("scope").and_then(Value::as_str) {
                None | Some("destroyed") => false,
                Some("detached") => true,
                Some(other) => {
                    return Err((
                        "wamp.error.invalid_argument",
                        format!("scope must be destroyed or detached, not {other:?}"),
                    ))
                }
            };
            one(Value::from(from.flush_testaments(detached) as u64))
        }
        "wamp.registration.remove_callee" => {
            let id = id_arg(&args, "registration")?;
            let peer = revocation_target(sessions, &args)?;
            state
                .dealer
                .revoke(id, &peer, revocation_reason(&args, &kwargs))
                .map_err(|e| ("wamp.error.no_such_registration", e))?;
            Payload::empty()
        }
        "wamp.registration.list" => one(Value::Dict(state.dealer.meta_list())),
        "wamp.registration.lookup" => one(state
            .dealer
            .meta_lookup(str_arg(&args, "procedure")?, match_option(&args))
            .map_or(Value::Null, |i| Value::from(i.get()))),
        "wamp.registration.match" => one(state
            .dealer
            .meta_match(str_arg(&args, "procedure")?)
            .map_or(Value::Null, |i| Value::from(i.get()))),
        "wamp.registration.get" => {
            let id = id_arg(&args, "registration")?;
            one(Value::Dict(state.dealer.meta_get(id).ok_or((
                "wamp.error.no_such_registration",
                format!("no registration {id}"),
            ))?))
        }
        "wamp.registration.list_callees" | "wamp.registration.count_callees" => {
            let id = id_arg(&args, "registration")?;
            let callees = state.dealer.meta_callees(id).ok_or((
                "wamp.error.no_such_registration",
                format!("no registration {id}"),
            ))?;
            if procedure.ends_with("count_callees") {
                one(Value::from(callees.len() as u64))
            } else {
                one(ids(callees))
            }
        }
        "wamp.subscription.remove_subscriber" => {
            let id = id_arg(&args, "subscription")?;
            let peer = revocation_target(sessions, &args)?;
            state
                .broker
                .revoke(id, &peer, revocation_reason(&args, &kwargs))
                .map_err(|e| ("wamp.error.no_such_subscription", e))?;
            Payload::empty()
        }
        "wamp.subscription.list" => one(Value::Dict(state.broker.meta_list())),
        "wamp.subscription.lookup" => one(state
            .broker
            .meta_lookup(str_arg(&args, "topic")?, match_option(&args))
            .map_or(Value::Null, |i| Value::from(i.get()))),
        "wamp.subscription.match" => {
            let found = state.broker.meta_match(str_arg(&args, "topic")?);
            one(if found.is_empty() {
                Value::Null
            } else {
                ids(found)
            })
        }
        "wamp.subscription.get_events" => {
            let id = id_arg(&args, "subscription")?;
            let events = state.broker.meta_events(id, &kwargs).ok_or((
                "wamp.error.no_such_subscription",
                format!("no subscription {id}"),
            ))?;
            one(Value::List(events))
        }
        "wamp.subscription.get" => {
            let id = id_arg(&args, "subscription")?;
            one(Value::Dict(state.broker.meta_get(id).ok_or((
                "wamp.error.no_such_subscription",
                format!("no subscription {id}"),
            ))?))
        }
        "wamp.subscription.list_subscribers" | "wamp.subscription.count_subscribers" => {
            let id = id_arg(&args, "subscription")?;
            let subs = state.broker.meta_subscribers(id).ok_or((
                "wamp.error.no_such_subscription",
                format!("no subscription {id}"),
            ))?;
            if procedure.ends_with("count_subscribers") {
                one(Value::from(subs.len() as u64))
            } else {
                one(ids(subs))
            }
        }
        other => {
            return Err((
                "wamp.error.no_such_procedure",
                format!("no meta procedure {other}"),
            ))
        }
    })
}
