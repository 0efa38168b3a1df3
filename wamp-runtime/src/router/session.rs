//! One client connection on the router side: the opening handshake with authentication,
//! then one task that feeds incoming messages to the realm and drains the session's
//! bounded outbound queue into the transport.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::watch;

use super::auth::{User, UserAuth};
use super::peer::{Kick, Outbox, OutboxReceiver, Outgoing, Peer};
use super::realm::Realm;
use super::RouterShared;
use crate::auth::{cra, cryptosign, scram};
use crate::protocol::*;
use crate::transport::{CloseReason, Transport, TransportError};

/// The roles and features the router announces: what it implements.
pub(crate) fn router_roles() -> Dict {
    let mut roles = Dict::new();
    roles.insert(
        Role::Broker.as_str().into(),
        options::role_entry(&[
            "pattern_based_subscription",
            "publisher_exclusion",
            "subscriber_blackwhite_listing",
            "publisher_identification",
            "event_retention",
            "session_meta_api",
            "subscription_meta_api",
            "subscription_revocation",
            "event_history",
        ]),
    );
    roles.insert(
        Role::Dealer.as_str().into(),
        options::role_entry(&[
            "progressive_call_results",
            "progressive_call_invocations",
            "call_canceling",
            "call_timeout",
            "caller_identification",
            "pattern_based_registration",
            "shared_registration",
            "session_meta_api",
            "registration_meta_api",
            "registration_revocation",
            "testament_meta_api",
        ]),
    );
    roles
}

fn abort(reason: &'static str, message: impl Into<String>) -> Message {
    Abort {
        details: CloseDetails::new().with_message(message.into()),
        reason: Uri::from_static(reason),
    }
    .into()
}

/// The transport kind as the meta API reports it.
fn transport_name(t: &Transport) -> &'static str {
    use crate::transport::TransportKind as K;
    match t.info().kind {
        K::WebSocket => "websocket",
        K::SecureWebSocket => "websocket+tls",
        K::RawSocket => "rawsocket",
        K::SecureRawSocket => "rawsocket+tls",
        _ => "memory",
    }
}

/// Reads the next message of a login attempt, by the attempt's deadline
/// ([`Limits::hello_timeout`](super::Limits) after it started).
async fn next(t: &mut Transport, deadline: Deadline) -> Result<Message, TransportError> {
    match tokio::time::timeout_at(deadline.at, t.next()).await {
        Err(_) => Err(TransportError::Timeout(deadline.timeout)),
        Ok(None) => Err(TransportError::Closed),
        Ok(Some(Err(e))) => Err(e),
        Ok(Some(Ok(m))) => Ok(m),
    }
}

/// When a login attempt must be done, and the limit that set it (for the error).
#[derive(Clone, Copy)]
struct Deadline {
    at: tokio::time::Instant,
    timeout: Duration,
}

impl Deadline {
    fn after(timeout: Duration) -> Self {
        Deadline {
            at: tokio::time::Instant::now() + timeout,
            timeout,
        }
    }
}

/// How long the last words of a refused connection (ABORT, the close) may take: the
/// client may have stopped reading.
const LAST_WORDS_TIMEOUT: Duration = Duration::from_secs(5);

/// Ends a connection that never became a session: ABORT (if any), then the close with
/// its reason (a WebSocket status code).
async fn refuse(t: &mut Transport, abort: Option<Message>, reason: CloseReason) {
    if let Some(abort) = abort {
        let _ = tokio::time::timeout(LAST_WORDS_TIMEOUT, t.send(abort)).await;
    }
    t.set_close_reason(reason);
    let _ = tokio::time::timeout(LAST_WORDS_TIMEOUT, t.close()).await;
}

/// Ends a connection whose handshake failed in the transport: a message that does not
/// decode is answered with ABORT; every failure closes with its own reason.
async fn refuse_broken(t: &mut Transport, e: TransportError) {
    tracing::debug!(error = %e, "handshake failed");
    let abort = matches!(e, TransportError::Decode(_))
        .then(|| abort("wamp.error.protocol_violation", e.to_string()));
    refuse(t, abort, e.close_reason()).await;
}

/// Why authentication did not produce an identity.
enum AuthError {
    /// Wrong or missing credentials: ABORT `wamp.error.authentication_failed`.
    Refused(String),
    /// A message other than AUTHENTICATE: ABORT `wamp.error.protocol_violation`.
    Protocol(String),
    /// The transport failed (timed out, closed, undecodable or oversized message).
    Transport(TransportError),
}

impl From<String> for AuthError {
    fn from(why: String) -> Self {
        AuthError::Refused(why)
    }
}

impl From<&str> for AuthError {
    fn from(why: &str) -> Self {
        AuthError::Refused(why.to_owned())
    }
}

/// The close reason for a session the router ends: GOODBYEs are normal, a protocol
/// violation is a protocol error, any other ABORT (a slow consumer) a policy violation.
fn kick_close_reason(kick: &Kick) -> CloseReason {
    if kick.goodbye {
        CloseReason::Normal
    } else if kick.reason == "wamp.error.protocol_violation" {
        CloseReason::ProtocolError
    } else {
        CloseReason::PolicyViolation
    }
}

/// Who a session turned out to be.
struct Identity {
    authid: String,
    authrole: String,
    authmethod: String,
    authextra: Option<Dict>,
}

/// Serves one connection until it ends.
pub(crate) async fn serve(
    mut t: Transport,
    shared: Arc<RouterShared>,
    mut shutdown: watch::Receiver<bool>,
) {
    // Boxed: the authentication state machines are large and must not stay in every
    // established session's future.
    let Some((hello, realm, identity)) = Box::pin(handshake(&mut t, &shared)).await else {
        return;
    };
    let session_id = Id::random();
    let mut details = WelcomeDetails::new()
        .with_roles(router_roles())
        .with_authid(identity.authid.clone())
        .with_authrole(identity.authrole.clone())
        .with_authmethod(identity.authmethod.clone())
        .with_authprovider("static".into())
        .with_agent(concat!("wamp-rs router/", env!("CARGO_PKG_VERSION")).into());
    if let Some(extra) = identity.authextra {
        details = details.with_authextra(extra);
    }
    if t.send(
        Welcome {
            session: session_id,
            details,
        }
        .into(),
    )
    .await
    .is_err()
    {
        return;
    }
    let (tx, rx) = Outbox::new(&shared.limits);
    let peer = Arc::new(Peer::new(
        session_id,
        identity.authid,
        identity.authrole,
        identity.authmethod,
        transport_name(&t),
        t.frame_serializer(),
        hello.details.roles().unwrap_or_default(),
        tx,
    ));
    drop(hello); // its details (roles, authextra) are not needed any more
    realm.join(peer.clone());
    tracing::debug!(session = %session_id, realm = %realm.name, "session joined");
    let mut io = SessionIo {
        rx,
        batch: VecDeque::new(),
        unflushed: false,
        stall: None,
        grace: shared.limits.slow_consumer_grace,
        counters: shared.counters.clone(),
    };
    let (end, close): (Option<Message>, CloseReason) = {
        let mut kicked = std::pin::pin!(peer.kick.notified());
        let mut shutdown = std::pin::pin!(shutdown.changed());
        loop {
            let event = std::future::poll_fn(|cx| {
                if kicked.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Event::Kicked);
                }
                if shutdown.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Event::Shutdown);
                }
                io.poll_event(&mut t, cx)
            })
            .await;
            match event {
                Event::Kicked => {
                    let kick = peer.kicked().unwrap_or(Kick {
                        reason: "wamp.close.killed".into(),
                        message: String::new(),
                        goodbye: true,
                    });
                    let reason =
                        Uri::new(&kick.reason).unwrap_or(Uri::from_static("wamp.close.killed"));
                    let close = kick_close_reason(&kick);
                    let mut details = CloseDetails::new();
                    if !kick.message.is_empty() {
                        details = details.with_message(kick.message);
                    }
                    let last = if kick.goodbye {
                        Goodbye { details, reason }.into()
                    } else {
                        Abort { details, reason }.into()
                    };
                    break (Some(last), close);
                }
                Event::Shutdown => {
                    let goodbye = Goodbye {
                        details: CloseDetails::new()
                            .with_message("the router is shutting down".into()),
                        reason: Uri::from_static("wamp.close.system_shutdown"),
                    };
                    break (Some(goodbye.into()), CloseReason::GoingAway);
                }
                Event::Stalled => {
                    tracing::debug!(session = %session_id, "slow consumer: a write stalled");
                    realm.leave(session_id);
                    return;
                }
                Event::WriteFailed(e) => {
                    tracing::debug!(session = %session_id, error = %e, "connection lost while writing");
                    break (None, CloseReason::Normal);
                }
                Event::Incoming(incoming) => match incoming {
                    Some(Ok(Message::Goodbye(_))) => {
                        let goodbye = Goodbye {
                            details: CloseDetails::new(),
                            reason: Uri::from_static("wamp.close.goodbye_and_out"),
                        };
                        break (Some(goodbye.into()), CloseReason::Normal);
                    }
                    Some(Ok(Message::Hello(_))) => {
                        let abort = abort(
                            "wamp.error.protocol_violation",
                            "HELLO in an established session",
                        );
                        break (Some(abort), CloseReason::ProtocolError);
                    }
                    Some(Ok(Message::Abort(_))) => break (None, CloseReason::Normal),
                    Some(Ok(msg)) => realm.handle(&peer, msg),
                    Some(Err(e @ TransportError::Decode(_))) => {
                        let abort = abort("wamp.error.protocol_violation", e.to_string());
                        break (Some(abort), e.close_reason());
                    }
                    Some(Err(e)) => {
                        // Too large, a broken WebSocket, a lost connection: close with
                        // the reason the error calls for.
                        tracing::debug!(session = %session_id, error = %e, "closing");
                        break (None, e.close_reason());
                    }
                    None => break (None, CloseReason::Normal),
                },
            }
        }
    };
    realm.leave(session_id);
    if let Some(last) = end {
        // Bypass the (possibly full) queue: this is the last thing the session hears.
        peer.send_last(last);
    }
    // Dropping the last handle closes the queue: what is in it goes out, then the socket
    // is closed with `close` (bounded in time: the client may have stopped reading).
    drop(peer);
    t.set_close_reason(close);
    let drain = std::future::poll_fn(|cx| io.poll_drain(&mut t, cx));
    let _ = tokio::time::timeout(Duration::from_secs(5), drain).await;
    tracing::debug!(session = %session_id, "session ended");
}

/// HELLOs until one is welcome: the realm and who the session is. `None` when the
/// connection was refused and closed (protocol violation, transport failure, too many
/// failed logins).
///
/// A failed login is answered with ABORT after the login guard's delay for its authid;
/// the connection may then send another HELLO, up to
/// [`Limits::login_failures_per_connection`](super::Limits) failures in all.
async fn handshake(
    t: &mut Transport,
    shared: &RouterShared,
) -> Option<(Hello, Arc<Realm>, Identity)> {
    let budget = shared.limits.login_failures_per_connection.max(1);
    let mut failures = 0u32;
    loop {
        // One deadline for the HELLO and the whole authentication it starts: a client
        // cannot stretch a login by answering each step just in time.
        let deadline = Deadline::after(shared.limits.hello_timeout);
        let hello = match next(t, deadline).await {
            Ok(Message::Hello(h)) => h,
            Ok(other) => {
                let why = format!("expected HELLO, got {}", other.message_type());
                let abort = abort("wamp.error.protocol_violation", why);
                refuse(t, Some(abort), CloseReason::ProtocolError).await;
                return None;
            }
            Err(e) => {
                refuse_broken(t, e).await;
                return None;
            }
        };
        let (reason, message) = match shared.realms.get(hello.realm.as_str()) {
            None => (
                "wamp.error.no_such_realm",
                format!("no realm {}", hello.realm),
            ),
            Some(realm) => match authenticate(t, shared, deadline, realm, &hello).await {
                Ok(identity) => {
                    shared.logins.succeeded(&realm.name, &identity.authid);
                    return Some((hello, realm.clone(), identity));
                }
                Err(AuthError::Refused(message)) => {
                    // Known users count on their own; unknown authids share one count.
                    let authid = hello.details.authid().filter(|a| {
                        shared
                            .configs
                            .get(realm.name.as_str())
                            .is_some_and(|c| c.users.contains_key(a))
                    });
                    let delay = shared.logins.failed(&realm.name, authid.as_deref());
                    tracing::debug!(?authid, ?delay, "authentication failed");
                    tokio::time::sleep(delay).await;
                    ("wamp.error.authentication_failed", message)
                }
                Err(AuthError::Protocol(message)) => {
                    let abort = abort("wamp.error.protocol_violation", message);
                    refuse(t, Some(abort), CloseReason::ProtocolError).await;
                    return None;
                }
                Err(AuthError::Transport(e)) => {
                    refuse_broken(t, e).await;
                    return None;
                }
            },
        };
        failures += 1;
        if failures >= budget {
            let message = format!("{message} (too many failed logins on this connection)");
            refuse(
                t,
                Some(abort(reason, message)),
                CloseReason::PolicyViolation,
            )
            .await;
            return None;
        }
        // The peer may try again on this connection (within the handshake timeout).
        if tokio::time::timeout(LAST_WORDS_TIMEOUT, t.send(abort(reason, message)))
            .await
            .map_or(true, |sent| sent.is_err())
        {
            return None;
        }
    }
}

/// What woke the session task up.
enum Event {
    Kicked,
    Shutdown,
    Incoming(Option<Result<Message, TransportError>>),
    /// The transport failed while writing.
    WriteFailed(TransportError),
    /// A burst could not be written within the slow-consumer grace period.
    Stalled,
}

/// The writing half of a session's task: the burst being written from the outbound queue.
///
/// Reading and writing share one task (an idle session is one task, not two), but neither
/// waits for the other: [`SessionIo::poll_event`] pushes the queued messages as far as the
/// socket takes them and then looks for incoming ones. Everything in flight lives here, not
/// in a future, so nothing is lost when the task wakes up for another reason.
struct SessionIo {
    rx: OutboxReceiver,
    /// Taken from the queue, not yet handed to the transport.
    batch: VecDeque<Outgoing>,
    /// Handed to the transport, not yet flushed.
    unflushed: bool,
    /// Started when a burst cannot be written at once: the client stopped reading.
    stall: Option<Pin<Box<tokio::time::Sleep>>>,
    grace: Duration,
    /// Where messages dropped for want of a form in this session's serializer are counted.
    counters: Arc<super::convert::Counters>,
}

impl SessionIo {
    /// Writes what is queued, then returns the next incoming message, if any.
    fn poll_event(&mut self, t: &mut Transport, cx: &mut Context<'_>) -> Poll<Event> {
        match self.poll_write(t, cx) {
            Poll::Ready(Err(e)) => return Poll::Ready(Event::WriteFailed(e)),
            Poll::Ready(Ok(())) => self.stall = None,
            Poll::Pending => {
                let grace = self.grace;
                let stall = self
                    .stall
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(grace)));
                if stall.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Event::Stalled);
                }
            }
        }
        t.poll_next_unpin(cx).map(Event::Incoming)
    }

    /// Moves the queued messages into the transport and flushes them. `Ready(Ok)` when
    /// everything taken is written and nothing else is queued right now.
    fn poll_write(
        &mut self,
        t: &mut Transport,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), TransportError>> {
        loop {
            while !self.batch.is_empty() {
                ready!(t.poll_ready_unpin(cx))?;
                if let Some(out) = self.batch.pop_front() {
                    let sent = match out {
                        Outgoing::Message(msg) => t.start_send_unpin(msg),
                        Outgoing::Shared(shared) => match t.frame_serializer() {
                            Some(serializer) => match shared.frame(serializer) {
                                Some(frame) => t.start_send_frame(frame.clone()),
                                None => {
                                    self.counters.dropped(&format_args!(
                                        "an event with no {serializer} form"
                                    ));
                                    Ok(())
                                }
                            },
                            None => t.start_send_unpin(shared.message().clone()),
                        },
                    };
                    match sent {
                        Ok(()) => {}
                        // A message too large for this peer is dropped; the connection is fine.
                        Err(TransportError::MessageTooLarge { size, max }) => {
                            tracing::warn!(
                                size,
                                max,
                                "dropping a message larger than the peer accepts"
                            );
                        }
                        // A message with no form in this session's serializer (the router
                        // converts payloads when routing: this is the safety net): dropped,
                        // never a reason to end the session of a peer that did nothing wrong.
                        Err(TransportError::Encode(e)) => self.counters.dropped(&e),
                        Err(e) => return Poll::Ready(Err(e)),
                    }
                    self.unflushed = true;
                }
            }
            if self.unflushed {
                ready!(t.poll_flush_unpin(cx))?;
                self.unflushed = false;
            }
            match self.rx.poll_batch(cx) {
                Poll::Ready(Some(batch)) => self.batch = batch,
                // The queue is closed only when the session is over (see `poll_drain`).
                Poll::Ready(None) | Poll::Pending => return Poll::Ready(Ok(())),
            }
        }
    }

    /// Writes everything still queued once the session is over, then closes the transport.
    fn poll_drain(&mut self, t: &mut Transport, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if ready!(self.poll_write(t, cx)).is_err() {
                return Poll::Ready(());
            }
            match self.rx.poll_batch(cx) {
                Poll::Ready(Some(batch)) => self.batch = batch,
                Poll::Ready(None) => {
                    let _ = ready!(t.poll_close_unpin(cx));
                    return Poll::Ready(());
                }
                // The queue is not closed yet: somebody still holds the session for a moment.
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// Picks the first method the client offers that the realm accepts for it and runs it.
async fn authenticate(
    t: &mut Transport,
    shared: &RouterShared,
    deadline: Deadline,
    realm: &Realm,
    hello: &Hello,
) -> Result<Identity, AuthError> {
    let config = shared
        .configs
        .get(realm.name.as_str())
        .ok_or("realm without configuration")?;
    let methods = hello
        .details
        .authmethods()
        .unwrap_or_else(|| vec!["anonymous".into()]);
    let authid = hello.details.authid();
    let user: Option<&User> = authid.as_ref().and_then(|a| config.users.get(a));
    for method in &methods {
        if method == "anonymous" {
            if let Some(role) = &config.anonymous_role {
                // An unauthenticated session never gets the authid it claims (it could
                // be a real user's, which exclusion, eligibility and disclosure trust):
                // it gets a fresh one, as Crossbar.io does.
                let authid = format!("anonymous-{}", Id::random());
                return Ok(Identity {
                    authid,
                    authrole: role.clone(),
                    authmethod: "anonymous".into(),
                    authextra: None,
                });
            }
            continue;
        }
        if method == "tls" {
            // No challenge: the TLS handshake already proved the certificate.
            let Some(fingerprint) = t.info().peer_certificate_sha256.clone() else {
                continue;
            };
            let holder = config.users.iter().find(|(id, u)| {
                authid.as_ref().is_none_or(|a| a == *id)
                    && u.auth.iter().any(|a| matches!(a, UserAuth::TlsCertificate(f) if f.iter().any(|f| f.eq_ignore_ascii_case(&fingerprint))))
            });
            if let Some((id, u)) = holder {
                return Ok(Identity {
                    authid: id.clone(),
                    authrole: u.role.clone(),
                    authmethod: "tls".into(),
                    authextra: None,
                });
            }
            continue;
        }
        let (Some(user), Some(authid)) = (user, authid.as_ref()) else {
            continue;
        };
        let Some(auth) = user.auth.iter().find(|a| a.method() == method) else {
            continue;
        };
        let authextra = run_challenge(t, deadline, auth, authid, &user.role, hello).await?;
        return Ok(Identity {
            authid: authid.clone(),
            authrole: user.role.clone(),
            authmethod: method.clone(),
            authextra,
        });
    }
    Err(AuthError::Refused(format!(
        "no acceptable authentication method among {methods:?} for this authid"
    )))
}

async fn challenge_and_read(
    t: &mut Transport,
    deadline: Deadline,
    method: &str,
    extra: AuthExtra,
) -> Result<Authenticate, AuthError> {
    t.send(
        Challenge {
            auth_method: method.into(),
            extra,
        }
        .into(),
    )
    .await
    .map_err(AuthError::Transport)?;
    match next(t, deadline).await {
        Ok(Message::Authenticate(a)) => Ok(a),
        Ok(other) => Err(AuthError::Protocol(format!(
            "expected AUTHENTICATE, got {}",
            other.message_type()
        ))),
        Err(e) => Err(AuthError::Transport(e)),
    }
}

/// Runs one challenge/response; `Ok` carries WELCOME's authextra.
async fn run_challenge(
    t: &mut Transport,
    deadline: Deadline,
    auth: &UserAuth,
    authid: &str,
    role: &str,
    hello: &Hello,
) -> Result<Option<Dict>, AuthError> {
    let failed = || AuthError::Refused("authentication failed".to_owned());
    match auth {
        UserAuth::Ticket(ticket) => {
            let a = challenge_and_read(t, deadline, "ticket", AuthExtra::new()).await?;
            use subtle::ConstantTimeEq;
            let ok: bool = a
                .signature
                .as_bytes()
                .ct_eq(ticket.expose().as_bytes())
                .into();
            ok.then_some(None).ok_or_else(failed)
        }
        UserAuth::WampCra(_) | UserAuth::WampCraSalted { .. } => {
            let challenge = serde_json::json!({
                "authid": authid,
                "authrole": role,
                "authmethod": "wampcra",
                "authprovider": "static",
                "nonce": base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 16]>()),
                "timestamp": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
                "session": Id::random().get(),
            })
            .to_string();
            let mut extra = AuthExtra::new().with_challenge(challenge.clone());
            let key = match auth {
                UserAuth::WampCraSalted {
                    password,
                    salt,
                    iterations,
                    keylen,
                } => {
                    extra = extra
                        .with_salt(salt.clone())
                        .with_iterations(u64::from(*iterations))
                        .with_keylen(u64::from(*keylen));
                    cra::derive_key(password.expose(), salt, *iterations, *keylen as usize)
                        .into_bytes()
                }
                UserAuth::WampCra(secret) => secret.expose().as_bytes().to_vec(),
                _ => return Err(failed()),
            };
            let a = challenge_and_read(t, deadline, "wampcra", extra).await?;
            cra::verify(&key, &challenge, &a.signature)
                .then_some(None)
                .ok_or_else(failed)
        }
        UserAuth::Cryptosign(keys) => {
            let pubkey = hello
                .details
                .authextra()
                .and_then(|e| e.get("pubkey").and_then(|v| v.as_str().map(str::to_owned)));
            let Some(pubkey) = pubkey.filter(|p| keys.iter().any(|k| k.eq_ignore_ascii_case(p)))
            else {
                return Err("unknown Cryptosign public key".into());
            };
            let challenge = hex::encode(rand::random::<[u8; 32]>());
            let a = challenge_and_read(
                t,
                deadline,
                "cryptosign",
                AuthExtra::new().with_challenge(challenge.clone()),
            )
            .await?;
            cryptosign::verify(&pubkey, &challenge, &a.signature)
                .then_some(None)
                .ok_or_else(failed)
        }
        UserAuth::TlsCertificate(_) => {
            Err("TLS certificates are checked without a challenge".into())
        }
        UserAuth::Scram {
            kdf,
            salt,
            stored_key,
            server_key,
        } => {
            let client_nonce = hello
                .details
                .authextra()
                .and_then(|e| e.get("nonce").and_then(|v| v.as_str().map(str::to_owned)))
                .ok_or("WAMP-SCRAM needs authextra.nonce")?;
            let nonce = format!("{client_nonce}{}", scram::nonce());
            let mut extra = AuthExtra::new()
                .with_nonce(nonce.clone())
                .with_salt(salt.clone())
                .with_kdf(kdf.name().into())
                .with_iterations(u64::from(kdf.iterations()));
            if let scram::Kdf::Argon2id13 { memory, .. } = kdf {
                extra = extra.with_memory(u64::from(*memory));
            }
            let a = challenge_and_read(t, deadline, scram::METHOD, extra).await?;
            if a.extra.nonce().as_deref() != Some(nonce.as_str()) {
                return Err("the nonce does not match the challenge".into());
            }
            let authid = scram::normalize(authid).map_err(|e| e.to_string())?;
            let message =
                scram::auth_message(&authid, &client_nonce, &nonce, salt, kdf.iterations(), None);
            if !scram::verify_client_proof(stored_key, &message, &a.signature) {
                return Err(failed());
            }
            let mut authextra = Dict::new();
            authextra.insert(
                "verifier".into(),
                scram::server_signature(server_key, &message).into(),
            );
            Ok(Some(authextra))
        }
    }
}
