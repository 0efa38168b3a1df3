//! Opening a session: HELLO, the authentication exchange, WELCOME or ABORT.

use futures_util::{SinkExt, StreamExt};

use super::error::Error;
use crate::auth::{cra, AuthError, Credentials};
use crate::protocol::*;
use crate::transport::Transport;

/// The roles and features this client announces: only what it really implements.
pub(crate) fn client_roles() -> Dict {
    let mut roles = Dict::new();
    roles.insert(
        Role::Caller.as_str().into(),
        options::role_entry(&[
            "progressive_call_results",
            "call_canceling",
            "call_timeout",
            "caller_identification",
        ]),
    );
    roles.insert(
        Role::Callee.as_str().into(),
        options::role_entry(&[
            "progressive_call_results",
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
    if let Credentials::Cryptosign { key, .. } = credentials {
        let mut extra = Dict::new();
        extra.insert("pubkey".into(), key.public_key_hex().into());
        details = details.with_authextra(extra);
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
            Some(Err(e)) => return Err(e.into()),
            None => {
                return Err(Error::NotConnected(Some(
                    "the router closed the connection during the handshake".into(),
                )))
            }
        };
        match msg {
            Message::Welcome(w) => return Ok(w),
            Message::Abort(a) => {
                return Err(Error::Aborted {
                    reason: a.reason,
                    message: a.details.message(),
                })
            }
            Message::Challenge(c) => {
                let reply = match answer(credentials, &c) {
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
                return Err(Error::Protocol(format!(
                    "expected WELCOME, ABORT or CHALLENGE, got {}",
                    other.message_type()
                )));
            }
        }
    }
}

fn answer(credentials: &Credentials, challenge: &Challenge) -> Result<Authenticate, AuthError> {
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
        Credentials::Anonymous => return Err(unexpected()),
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
    };
    Ok(Authenticate {
        signature,
        extra: AuthExtra::new(),
    })
}
