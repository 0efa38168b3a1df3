//! From the common options to a session: URL, realm, serializer, credentials, TLS.

use std::time::Duration;

use clap::parser::ValueSource;
use clap::ArgMatches;
use wamp::auth::cryptosign::SigningKey;
use wamp::auth::Credentials;
use wamp::client::Error;
use wamp::transport::tls::TlsClientConfig;
use wamp::transport::TransportUrl;
use wamp::{Session, SessionBuilder};

use crate::cli::ConnectionArgs;
use crate::exit::Failure;

/// A router to connect to, with everything needed to join; reusable for reconnecting.
#[derive(Debug)]
pub struct Target {
    builder: SessionBuilder,
    url: String,
    realm: String,
}

impl Target {
    /// Checks the options and prepares the session builder. `matches` tells which options
    /// came from the command line and which from environment variables.
    pub fn new(args: &ConnectionArgs, matches: &ArgMatches) -> Result<Self, Failure> {
        TransportUrl::parse(&args.url).map_err(|e| Failure::usage(e.to_string()))?;
        // Several --realm: the last one counts (only `wamp router` serves several).
        let realm = args
            .realm
            .last()
            .cloned()
            .unwrap_or_else(|| "realm1".into());
        wamp::Uri::new(&realm)
            .map_err(|e| Failure::usage(format!("invalid realm {realm:?}: {e}")))?;
        let mut tls = TlsClientConfig::new();
        if let Some(ca) = &args.ca {
            tls = tls
                .add_ca_pem_file(ca)
                .map_err(|e| Failure::usage(format!("--ca {}: {e}", ca.display())))?;
        }
        if args.insecure {
            tls = tls.dangerous_accept_invalid_certs(true);
        }
        let builder = Session::builder(args.url.clone())
            .realm(realm.clone())
            .serializer(args.serializer.into())
            .credentials(credentials(args, matches)?)
            .tls(tls)
            .agent(concat!("wamp-cli/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_millis(args.connect_timeout));
        Ok(Target {
            builder,
            url: args.url.clone(),
            realm,
        })
    }

    /// The router's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Connects and joins; the error is the runtime's.
    pub async fn open(&self) -> Result<Session, Error> {
        let session = self.builder.connect().await?;
        tracing::info!(url = %self.url, realm = %self.realm, session = %session.id(), "joined");
        Ok(session)
    }

    /// Connects and joins; a failure exits 3 (2 for a malformed URL or realm).
    pub async fn connect(&self) -> Result<Session, Failure> {
        self.open()
            .await
            .map_err(|e| Failure::from_connect(&e, &self.url, &self.realm))
    }

    /// Connects and joins a session that reconnects by itself when the connection is lost
    /// (see [`crate::reconnect`]); a failure of this first connection exits 3 (2 for a
    /// malformed URL or realm).
    pub async fn connect_reconnecting(&self) -> Result<Session, Failure> {
        let session = self
            .builder
            .clone()
            .reconnect(crate::reconnect::policy())
            .connect()
            .await
            .map_err(|e| Failure::from_connect(&e, &self.url, &self.realm))?;
        tracing::info!(url = %self.url, realm = %self.realm, session = %session.id(), "joined");
        Ok(session)
    }
}

/// The one authentication method chosen. When several are given, those on the command line
/// win over environment variables; two on the same footing are an error.
fn credentials(args: &ConnectionArgs, matches: &ArgMatches) -> Result<Credentials, Failure> {
    let given: Vec<(&'static str, &str)> = [
        ("ticket", args.ticket.as_deref()),
        ("wampcra", args.wampcra.as_deref()),
        ("cryptosign", args.cryptosign.as_deref()),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.map(|v| (name, v)))
    .collect();
    let (method, value) = match given.as_slice() {
        [] => return Ok(Credentials::Anonymous),
        [one] => *one,
        several => {
            let flags: Vec<_> = several
                .iter()
                .filter(|(name, _)| from_command_line(matches, name))
                .collect();
            match flags.as_slice() {
                [one] => **one,
                _ => {
                    let names: Vec<String> = several
                        .iter()
                        .map(|(name, _)| describe_source(matches, name))
                        .collect();
                    return Err(Failure::usage(format!(
                        "more than one authentication method given ({}): use one",
                        names.join(", ")
                    )));
                }
            }
        }
    };
    let (authid, secret) = value
        .split_once(':')
        .filter(|(authid, secret)| !authid.is_empty() && !secret.is_empty())
        .ok_or_else(|| {
            Failure::usage(format!(
                "--{method} expects AUTHID:{}",
                if method == "cryptosign" {
                    "SEED_HEX"
                } else {
                    "SECRET"
                }
            ))
        })?;
    Ok(match method {
        "ticket" => Credentials::ticket(authid, secret),
        "wampcra" => Credentials::wampcra(authid, secret),
        _ => {
            let key = SigningKey::from_hex(secret)
                .map_err(|e| Failure::usage(format!("--cryptosign: {e}")))?;
            Credentials::cryptosign(authid, key)
        }
    })
}

/// Whether an option was given as a flag (global options may be recorded on the
/// subcommand's matches too).
fn from_command_line(matches: &ArgMatches, id: &str) -> bool {
    let mut current = Some(matches);
    while let Some(m) = current {
        if m.value_source(id) == Some(ValueSource::CommandLine) {
            return true;
        }
        current = m.subcommand().map(|(_, sub)| sub);
    }
    false
}

fn describe_source(matches: &ArgMatches, id: &str) -> String {
    if from_command_line(matches, id) {
        format!("--{id}")
    } else {
        format!("WAMP_{}", id.to_uppercase())
    }
}
