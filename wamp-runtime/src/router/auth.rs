//! Who may join a realm and how they prove it: anonymous access and static users for
//! ticket, WAMP-CRA (plain and salted), WAMP-Cryptosign and WAMP-SCRAM.

use std::collections::HashMap;
use std::fmt;

use crate::auth::scram::{self, Kdf};
use crate::auth::Secret;

/// How one user may authenticate. A user may have several.
#[derive(Clone)]
#[non_exhaustive]
pub enum UserAuth {
    /// WAMP-Ticket with this ticket.
    Ticket(Secret),
    /// WAMP-CRA with this secret as the HMAC key.
    WampCra(Secret),
    /// Salted WAMP-CRA: the key is derived from the password with PBKDF2.
    WampCraSalted {
        /// The password.
        password: Secret,
        /// The salt sent in the challenge.
        salt: String,
        /// PBKDF2 iterations.
        iterations: u32,
        /// Derived key length.
        keylen: u32,
    },
    /// WAMP-Cryptosign with any of these Ed25519 public keys (hex).
    Cryptosign(Vec<String>),
    /// TLS client certificate authentication: the connection's client certificate
    /// (verified against the listener's client CAs) has one of these SHA-256
    /// fingerprints (hex).
    TlsCertificate(Vec<String>),
    /// WAMP-SCRAM: only the derived keys are stored, never the password.
    Scram {
        /// KDF and its costs.
        kdf: Kdf,
        /// Base64 salt.
        salt: String,
        /// `SHA256(HMAC(SaltedPassword, "Client Key"))`.
        stored_key: [u8; 32],
        /// `HMAC(SaltedPassword, "Server Key")`.
        server_key: [u8; 32],
    },
}

impl fmt::Debug for UserAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UserAuth::Ticket(_) => "Ticket(<redacted>)",
            UserAuth::WampCra(_) => "WampCra(<redacted>)",
            UserAuth::WampCraSalted { .. } => "WampCraSalted(<redacted>)",
            UserAuth::Cryptosign(_) => "Cryptosign(..)",
            UserAuth::TlsCertificate(_) => "TlsCertificate(..)",
            UserAuth::Scram { .. } => "Scram(<redacted>)",
        })
    }
}

impl UserAuth {
    /// The `authmethod` this answers to.
    pub fn method(&self) -> &'static str {
        match self {
            UserAuth::Ticket(_) => "ticket",
            UserAuth::WampCra(_) | UserAuth::WampCraSalted { .. } => "wampcra",
            UserAuth::Cryptosign(_) => "cryptosign",
            UserAuth::TlsCertificate(_) => "tls",
            UserAuth::Scram { .. } => scram::METHOD,
        }
    }

    /// WAMP-SCRAM keys derived from a password with a fresh random salt.
    pub fn scram_from_password(
        password: &str,
        kdf: Kdf,
    ) -> Result<UserAuth, crate::auth::AuthError> {
        let salt = scram::nonce();
        let salted = scram::salted_password(password, &salt, kdf)?;
        let (stored_key, server_key) = scram::stored_and_server_key(&salted);
        Ok(UserAuth::Scram {
            kdf,
            salt,
            stored_key,
            server_key,
        })
    }
}

/// A user of a realm.
#[derive(Clone, Debug)]
pub struct User {
    /// The role granted on success.
    pub role: String,
    /// The ways this user may authenticate.
    pub auth: Vec<UserAuth>,
}

/// A realm: its name and who may join it.
#[derive(Clone, Debug, Default)]
pub struct RealmConfig {
    /// The realm name.
    pub name: String,
    /// Role for anonymous sessions; `None` refuses anonymous access.
    pub anonymous_role: Option<String>,
    /// Users by authid.
    pub users: HashMap<String, User>,
    /// Permissions by role. `None`: every session may do everything (development);
    /// `Some`: only what its role's permissions allow.
    pub roles: Option<HashMap<String, Vec<super::authz::Permission>>>,
    /// Events kept per subscription for `wamp.subscription.get_events` (0, the default:
    /// no event history).
    pub event_history: usize,
}

impl RealmConfig {
    /// A realm that lets anyone in anonymously, as role `anonymous`.
    pub fn new(name: impl Into<String>) -> Self {
        RealmConfig {
            name: name.into(),
            anonymous_role: Some("anonymous".into()),
            users: HashMap::new(),
            roles: None,
            event_history: 0,
        }
    }

    /// Refuses anonymous sessions.
    pub fn without_anonymous(mut self) -> Self {
        self.anonymous_role = None;
        self
    }

    /// Grants a role permissions (and turns authorization on for the realm: roles without
    /// permissions may then do nothing).
    pub fn role(
        mut self,
        role: impl Into<String>,
        permissions: Vec<super::authz::Permission>,
    ) -> Self {
        self.roles
            .get_or_insert_with(HashMap::new)
            .insert(role.into(), permissions);
        self
    }

    /// Keeps the last `events` events of every subscription for
    /// `wamp.subscription.get_events`.
    pub fn event_history(mut self, events: usize) -> Self {
        self.event_history = events;
        self
    }

    /// Adds a user.
    pub fn user(
        mut self,
        authid: impl Into<String>,
        role: impl Into<String>,
        auth: Vec<UserAuth>,
    ) -> Self {
        self.users.insert(
            authid.into(),
            User {
                role: role.into(),
                auth,
            },
        );
        self
    }
}
