//! Opening a session: HELLO, the authentication exchange, WELCOME or ABORT.

use futures_util::{SinkExt, StreamExt};

use super::error::Error;
use crate::auth::{cra, scram, AuthError, Credentials};
use crate::protocol::*;
use crate::transport::{CloseReason, Transport, TransportError};

/// The roles and features this client announces: only what it really implements.
pub(crate) fn client_roles() -> Dict {
    let mut roles = Dict::new();
    roles.insert(
        Role::Caller.as_str().into(),
        options::role_entry(&[
            "progressive_call_results",
            "progressive_call_invocations",
            "call_canceling",
            "call_timeout",
            "caller_identification",
        ]),
    );
    roles.insert(
        Role::Callee.as_str().into(),
        options::role_entry(&[
            "progressive_call_results",
            "progressive_call_invocations",
            "call_canceling",
            "caller_identification",
            "pattern_based_registration",
            "shared_registration",
            "registration_revocation",
        ]),
    );
    roles.insert(
        Role::Publisher.as_str().into(),
        options::role_entry(&[
            "publisher_exclusion",
            "publisher_identification",
            "subscriber_blackwhite_listing",
        ]),
    );
    roles.insert(
        Role::Subscriber.as_str().into(),
        options::role_entry(&[
            "pattern_based_subscription",
            "publisher_identification",
            "subscription_revocation",
        ]),
    );
    roles
}

/// Sends HELLO and answers challenges until WELCOME (or ABORT).
pub(crate) async fn join(
    transport: &mut Transport,
    realm: &Uri,
    credentials: &Credentials,
    agent: &str,
    authrole: Option<&str>,
) -> Result<Welcome, Error> {
    let mut details = HelloDetails::new()
        .with_roles(client_roles())
        .with_agent(agent.to_owned())
        .with_authmethods(vec![credentials.method().to_owned()]);
    if let Some(authid) = credentials.authid() {
        details = details.with_authid(authid.to_owned());
    }
    if let Some(role) = authrole {
        details = details.with_authrole(role.to_owned());
    }
    let mut scram_state = None;
    match credentials {
        Credentials::Cryptosign { key, .. } => {
            let mut extra = Dict::new();
            extra.insert("pubkey".into(), key.public_key_hex().into());
            details = details.with_authextra(extra);
        }
        Credentials::Scram { .. } => {
            let client_nonce = scram::nonce();
            let mut extra = Dict::new();
            extra.insert("nonce".into(), client_nonce.clone().into());
            extra.insert("channel_binding".into(), Value::Null);
            details = details.with_authextra(extra);
            scram_state = Some(ScramState {
                client_nonce,
                salted: None,
                auth_message: String::new(),
            });
        }
        _ => {}
    }
    transport
        .send(
            Hello {
                realm: realm.clone(),
                details,
            }
            .into(),
        )
        .await?;
    loop {
        let msg = match transport.next().await {
            Some(Ok(m)) => m,
            Some(Err(e @ TransportError::Decode(_))) => {
                close_with(transport, e.close_reason()).await;
                return Err(e.into());
            }
            Some(Err(e)) => return Err(e.into()),
            None => {
                return Err(Error::NotConnected(Some(
                    "the router closed the connection during the handshake".into(),
                )))
            }
        };
        match msg {
            Message::Welcome(w) => {
                if let Some(state) = &scram_state {
                    let verifier = w.details.authextra().and_then(|e| {
                        e.get("verifier")
                            .and_then(|v| v.as_str().map(str::to_owned))
                    });
                    let ok = match (&state.salted, verifier) {
                        (Some(salted), Some(v)) => {
                            scram::verify_server_signature(salted, &state.auth_message, &v)
                        }
                        _ => false,
                    };
                    if !ok {
                        let bye = Goodbye {
                            details: CloseDetails::new(),
                            reason: Uri::from_static("wamp.error.authentication_failed"),
                        };
                        let _ = transport.send(bye.into()).await;
                        return Err(AuthError::BadVerifier.into());
                    }
                }
                return Ok(w);
            }
            Message::Abort(a) => {
                return Err(Error::Aborted {
                    reason: a.reason,
                    message: a.details.message(),
                })
            }
            Message::Challenge(c) => {
                let reply = match answer(credentials, &c, scram_state.as_mut()) {
                    Ok(reply) => reply,
                    Err(e) => {
                        let abort = Abort {
                            details: CloseDetails::new().with_message(e.to_string()),
                            reason: Uri::from_static("wamp.error.authentication_failed"),
                        };
                        let _ = transport.send(abort.into()).await;
                        return Err(e.into());
                    }
                };
                transport.send(reply.into()).await?;
            }
            other => {
                close_with(transport, CloseReason::ProtocolError).await;
                return Err(Error::Protocol(format!(
                    "expected WELCOME, ABORT or CHALLENGE, got {}",
                    other.message_type()
                )));
            }
        }
    }
}

/// Closes a connection whose router broke the protocol during the handshake, saying so in
/// the WebSocket close frame (bounded in time: the router may not read any more).
async fn close_with(transport: &mut Transport, reason: CloseReason) {
    transport.set_close_reason(reason);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), transport.close()).await;
}

/// What the client must remember between HELLO and WELCOME for WAMP-SCRAM.
struct ScramState {
    client_nonce: String,
    salted: Option<[u8; 32]>,
    auth_message: String,
}

fn answer(
    credentials: &Credentials,
    challenge: &Challenge,
    scram_state: Option<&mut ScramState>,
) -> Result<Authenticate, AuthError> {
    let unexpected = || AuthError::UnexpectedMethod {
        got: challenge.auth_method.clone(),
        offered: credentials.method(),
    };
    if challenge.auth_method != credentials.method() {
        return Err(unexpected());
    }
    let bad = |method, reason: &str| AuthError::BadChallenge {
        method,
        reason: reason.to_owned(),
    };
    let signature = match credentials {
        Credentials::Anonymous | Credentials::Tls { .. } => return Err(unexpected()),
        Credentials::Ticket { ticket, .. } => ticket.expose().to_owned(),
        Credentials::WampCra { secret, .. } => {
            let text = challenge
                .extra
                .challenge()
                .ok_or_else(|| bad("wampcra", "no challenge"))?;
            match challenge.extra.salt() {
                Some(salt) => {
                    let iterations = challenge.extra.iterations().unwrap_or(1000);
                    let keylen = challenge.extra.keylen().unwrap_or(32);
                    let iterations = u32::try_from(iterations)
                        .map_err(|_| bad("wampcra", "iterations out of range"))?;
                    if keylen == 0 || keylen > 1024 {
                        return Err(bad("wampcra", "keylen out of range"));
                    }
                    let key = cra::derive_key(secret.expose(), &salt, iterations, keylen as usize);
                    cra::sign(key.as_bytes(), &text)
                }
                None => cra::sign(secret.expose().as_bytes(), &text),
            }
        }
        Credentials::Cryptosign { key, .. } => {
            let text = challenge
                .extra
                .challenge()
                .ok_or_else(|| bad("cryptosign", "no challenge"))?;
            key.sign_challenge(&text)?
        }
        Credentials::Scram { authid, password } => {
            let state = scram_state.ok_or_else(|| bad(scram::METHOD, "no SCRAM state"))?;
            return answer_scram(authid, password.expose(), &challenge.extra, state);
        }
    };
    Ok(Authenticate {
        signature,
        extra: AuthExtra::new(),
    })
}

fn answer_scram(
    authid: &str,
    password: &str,
    extra: &AuthExtra,
    state: &mut ScramState,
) -> Result<Authenticate, AuthError> {
    let bad = |reason: &str| AuthError::BadChallenge {
        method: scram::METHOD,
        reason: reason.to_owned(),
    };
    let nonce = extra.nonce().ok_or_else(|| bad("no nonce"))?;
    if !nonce.starts_with(&state.client_nonce) || nonce.len() <= state.client_nonce.len() {
        return Err(bad("the router's nonce does not extend ours"));
    }
    let salt = extra.salt().ok_or_else(|| bad("no salt"))?;
    let iterations = extra.iterations().ok_or_else(|| bad("no iterations"))?;
    let iterations = u32::try_from(iterations).map_err(|_| bad("iterations out of range"))?;
    let kdf = match extra.kdf().as_deref() {
        Some("argon2id13") => {
            let memory = extra
                .memory()
                .ok_or_else(|| bad("argon2id13 needs memory"))?;
            let memory = u32::try_from(memory).map_err(|_| bad("memory out of range"))?;
            // Refuse costs so low that a rogue router could crack the hash cheaply.
            if memory < 1024 || iterations < 1 {
                return Err(bad("argon2id13 cost parameters are too low"));
            }
            scram::Kdf::Argon2id13 { iterations, memory }
        }
        Some("pbkdf2") => {
            if iterations < 1000 {
                return Err(bad("pbkdf2 iteration count is too low (< 1000)"));
            }
            scram::Kdf::Pbkdf2 { iterations }
        }
        other => return Err(bad(&format!("unsupported kdf {other:?}"))),
    };
    let salted = scram::salted_password(password, &salt, kdf)?;
    let authid = scram::normalize(authid)?;
    state.auth_message = scram::auth_message(
        &authid,
        &state.client_nonce,
        &nonce,
        &salt,
        iterations,
        None,
    );
    let proof = scram::client_proof(&salted, &state.auth_message);
    state.salted = Some(salted);
    let mut extra = AuthExtra::new().with_nonce(nonce);
    extra.insert("channel_binding", Value::Null);
    Ok(Authenticate {
        signature: proof,
        extra,
    })
}
