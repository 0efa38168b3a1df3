//! Authentication: the computations both sides of WAMP-CRA and WAMP-Cryptosign need,
//! and the credentials a client presents.
//!
//! Secrets are wrapped so that `Debug` never prints them.

pub mod cra;
pub mod cryptosign;
pub mod scram;

use std::fmt;

/// A secret string whose `Debug` output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself. Keep it out of logs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

/// How a client authenticates.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum Credentials {
    /// No authentication (`anonymous`).
    #[default]
    Anonymous,
    /// WAMP-Ticket: the secret is sent as is (use TLS).
    Ticket {
        /// Who.
        authid: String,
        /// The ticket.
        ticket: Secret,
    },
    /// WAMP-CRA: an HMAC-SHA256 of the router's challenge; with salted users the key is
    /// derived from the secret with PBKDF2 using the salt the router sends.
    WampCra {
        /// Who.
        authid: String,
        /// The secret (or password, for salted users).
        secret: Secret,
    },
    /// WAMP-SCRAM: a proof derived from the password with Argon2id or PBKDF2; the
    /// password never travels and the router's verifier is checked.
    Scram {
        /// Who.
        authid: String,
        /// The password.
        password: Secret,
    },
    /// TLS client certificate: the certificate set in the TLS settings
    /// ([`crate::transport::tls::TlsClientConfig::with_client_cert`]) proves who we are;
    /// `authid` optionally names the identity to take.
    Tls {
        /// Who (optional: the router may derive it from the certificate).
        authid: Option<String>,
    },
    /// WAMP-Cryptosign: an Ed25519 signature of the router's challenge.
    Cryptosign {
        /// Who.
        authid: String,
        /// The private key.
        key: cryptosign::SigningKey,
    },
}

impl Credentials {
    /// WAMP-Ticket credentials.
    pub fn ticket(authid: impl Into<String>, ticket: impl Into<Secret>) -> Self {
        Credentials::Ticket {
            authid: authid.into(),
            ticket: ticket.into(),
        }
    }

    /// WAMP-CRA credentials (plain or salted: the router's challenge says which).
    pub fn wampcra(authid: impl Into<String>, secret: impl Into<Secret>) -> Self {
        Credentials::WampCra {
            authid: authid.into(),
            secret: secret.into(),
        }
    }

    /// WAMP-SCRAM credentials.
    pub fn scram(authid: impl Into<String>, password: impl Into<Secret>) -> Self {
        Credentials::Scram {
            authid: authid.into(),
            password: password.into(),
        }
    }

    /// WAMP-Cryptosign credentials from a 32-byte Ed25519 seed.
    pub fn cryptosign(authid: impl Into<String>, key: cryptosign::SigningKey) -> Self {
        Credentials::Cryptosign {
            authid: authid.into(),
            key,
        }
    }

    /// The `authmethods` entry for HELLO.
    pub fn method(&self) -> &'static str {
        match self {
            Credentials::Anonymous => "anonymous",
            Credentials::Ticket { .. } => "ticket",
            Credentials::WampCra { .. } => "wampcra",
            Credentials::Scram { .. } => scram::METHOD,
            Credentials::Tls { .. } => "tls",
            Credentials::Cryptosign { .. } => "cryptosign",
        }
    }

    /// The `authid` for HELLO, if any.
    pub fn authid(&self) -> Option<&str> {
        match self {
            Credentials::Anonymous => None,
            Credentials::Tls { authid } => authid.as_deref(),
            Credentials::Ticket { authid, .. }
            | Credentials::WampCra { authid, .. }
            | Credentials::Scram { authid, .. }
            | Credentials::Cryptosign { authid, .. } => Some(authid),
        }
    }
}

/// Why authentication could not proceed on the client side.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The router challenged with a method we did not offer.
    #[error("the router asked for {got:?} authentication, but we offered {offered:?}")]
    UnexpectedMethod {
        /// What the router asked for.
        got: String,
        /// What we offered.
        offered: &'static str,
    },
    /// The challenge lacks something the method needs, or it is malformed.
    #[error("malformed {method} challenge: {reason}")]
    BadChallenge {
        /// The method.
        method: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The router's WAMP-SCRAM verifier did not match: it does not know our password.
    #[error("the router's WAMP-SCRAM verifier is wrong: it could not prove it knows the password")]
    BadVerifier,
    /// A key could not be read.
    #[error("invalid key: {0}")]
    BadKey(String),
}
