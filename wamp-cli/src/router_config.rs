//! `wamp router --config FILE`: the TOML file format and its translation into a router
//! builder. Errors name the file, the line and the reason.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use wamp::auth::scram::Kdf;
use wamp::protocol::MatchPolicy;
use wamp::router::{Action, Limits, Permission, RealmConfig, RouterBuilder, UserAuth};
use wamp::transport::tls::TlsServerConfig;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    limits: Option<LimitsConfig>,
    #[serde(default, rename = "listener")]
    listeners: Vec<ListenerConfig>,
    #[serde(default, rename = "realm")]
    realms: Vec<RealmFile>,
}

/// `[limits]`: every key is optional; what is left out keeps its default
/// (`wamp::router::Limits::default()`, listed in the README).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsConfig {
    /// Bytes, the largest message in either direction.
    max_message_size: Option<usize>,
    /// Messages queued for a session before it counts as a slow consumer.
    outbound_queue: Option<usize>,
    /// Milliseconds a session may stay above `outbound_queue`.
    slow_consumer_grace_ms: Option<u64>,
    /// Messages queued for a session before it is cut off at once.
    outbound_hard_limit: Option<usize>,
    /// Bytes queued for a session before it is cut off as a slow consumer.
    outbound_queue_bytes: Option<usize>,
    /// Milliseconds for the transport handshake (TLS, WebSocket upgrade, RawSocket).
    handshake_timeout_ms: Option<u64>,
    /// Milliseconds for each login attempt (HELLO and its authentication).
    hello_timeout_ms: Option<u64>,
    /// Connections held at once, in total.
    max_connections: Option<usize>,
    /// Connections held at once from one address (IPv6: one /64).
    max_connections_per_address: Option<usize>,
    /// Registrations one session may hold.
    max_registrations_per_session: Option<usize>,
    /// Subscriptions one session may hold.
    max_subscriptions_per_session: Option<usize>,
    /// Calls one session may have in flight as caller.
    max_pending_calls_per_session: Option<usize>,
    /// Invocations one callee may have in flight.
    max_invocations_per_callee: Option<usize>,
    /// Testaments one session may have waiting.
    max_testaments_per_session: Option<usize>,
    /// Milliseconds before the first ABORT of a failed login (doubling per failure).
    login_failure_delay_ms: Option<u64>,
    /// Milliseconds, the most a failed login's ABORT waits.
    login_failure_delay_max_ms: Option<u64>,
    /// Failed HELLOs one connection may make before it is closed.
    login_failures_per_connection: Option<u32>,
}

impl LimitsConfig {
    /// The router's limits: the defaults, overridden by what the file sets. Limits that
    /// would refuse everything (a zero count or deadline) are errors naming the key.
    fn limits(&self) -> Result<Limits, String> {
        fn at_least_one<T: PartialEq + Default + Copy>(
            key: &str,
            value: Option<T>,
        ) -> Result<Option<T>, String> {
            match value {
                Some(v) if v == T::default() => Err(format!("[limits] {key} must be at least 1")),
                other => Ok(other),
            }
        }
        let ms = std::time::Duration::from_millis;
        let mut limits = Limits::default();
        if let Some(m) = at_least_one("max_message_size", self.max_message_size)? {
            limits.max_message_size = m;
        }
        if let Some(q) = self.outbound_queue {
            limits.outbound_queue = q.max(1);
        }
        if let Some(g) = self.slow_consumer_grace_ms {
            limits.slow_consumer_grace = ms(g);
        }
        if let Some(h) = at_least_one("outbound_hard_limit", self.outbound_hard_limit)? {
            limits.outbound_hard_limit = h;
        }
        if let Some(b) = self.outbound_queue_bytes {
            limits.outbound_queue_bytes = b;
        }
        if let Some(t) = at_least_one("handshake_timeout_ms", self.handshake_timeout_ms)? {
            limits.handshake_timeout = ms(t);
        }
        if let Some(t) = at_least_one("hello_timeout_ms", self.hello_timeout_ms)? {
            limits.hello_timeout = ms(t);
        }
        if let Some(n) = at_least_one("max_connections", self.max_connections)? {
            limits.max_connections = n;
        }
        let key = "max_connections_per_address";
        if let Some(n) = at_least_one(key, self.max_connections_per_address)? {
            limits.max_connections_per_address = n;
        }
        let key = "max_registrations_per_session";
        if let Some(n) = at_least_one(key, self.max_registrations_per_session)? {
            limits.max_registrations_per_session = n;
        }
        let key = "max_subscriptions_per_session";
        if let Some(n) = at_least_one(key, self.max_subscriptions_per_session)? {
            limits.max_subscriptions_per_session = n;
        }
        let key = "max_pending_calls_per_session";
        if let Some(n) = at_least_one(key, self.max_pending_calls_per_session)? {
            limits.max_pending_calls_per_session = n;
        }
        let key = "max_invocations_per_callee";
        if let Some(n) = at_least_one(key, self.max_invocations_per_callee)? {
            limits.max_invocations_per_callee = n;
        }
        let key = "max_testaments_per_session";
        if let Some(n) = at_least_one(key, self.max_testaments_per_session)? {
            limits.max_testaments_per_session = n;
        }
        if let Some(d) = self.login_failure_delay_ms {
            limits.login_failure_delay = ms(d);
        }
        if let Some(d) = self.login_failure_delay_max_ms {
            limits.login_failure_delay_max = ms(d);
        }
        if let Some(n) = self.login_failures_per_connection {
            limits.login_failures_per_connection = n.max(1);
        }
        Ok(limits)
    }
}

/// A listener.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerConfig {
    kind: ListenerKind,
    address: SocketAddr,
    tls: Option<TlsFiles>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum ListenerKind {
    Websocket,
    Rawsocket,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFiles {
    certificate: PathBuf,
    key: PathBuf,
    /// CA certificates (PEM) that client certificates must chain to.
    client_ca: Option<PathBuf>,
    /// `optional` (default when client_ca is set) or `required`.
    client_certificate: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RealmFile {
    name: String,
    anonymous: Option<String>,
    /// Events kept per subscription for `wamp.subscription.get_events`.
    #[serde(default)]
    event_history: usize,
    #[serde(default, rename = "user")]
    users: Vec<UserFile>,
    #[serde(default, rename = "role")]
    roles: Vec<RoleFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleFile {
    name: String,
    #[serde(default, rename = "permission")]
    permissions: Vec<PermissionFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PermissionFile {
    uri: String,
    #[serde(rename = "match", default = "exact")]
    policy: String,
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default = "both")]
    disclose: Vec<String>,
}

fn exact() -> String {
    "exact".into()
}

fn both() -> Vec<String> {
    vec!["caller".into(), "publisher".into()]
}

fn permission(p: &PermissionFile) -> Result<Permission, String> {
    let policy = MatchPolicy::parse(&p.policy).ok_or_else(|| {
        format!(
            "permission {:?}: match must be exact, prefix or wildcard, not {:?}",
            p.uri, p.policy
        )
    })?;
    let allow = p
        .allow
        .iter()
        .map(|a| {
            Action::parse(a).ok_or_else(|| {
                format!(
                    "permission {:?}: unknown action {a:?} (call, register, publish, subscribe)",
                    p.uri
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    for d in &p.disclose {
        if d != "caller" && d != "publisher" {
            return Err(format!(
                "permission {:?}: disclose takes \"caller\" and/or \"publisher\", not {d:?}",
                p.uri
            ));
        }
    }
    Ok(Permission {
        uri: p.uri.clone(),
        policy,
        allow,
        disclose_caller: p.disclose.iter().any(|d| d == "caller"),
        disclose_publisher: p.disclose.iter().any(|d| d == "publisher"),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserFile {
    authid: String,
    role: String,
    ticket: Option<String>,
    wampcra: Option<String>,
    wampcra_salted: Option<SaltedCra>,
    cryptosign: Option<Vec<String>>,
    scram: Option<ScramFile>,
    /// SHA-256 fingerprints (hex) of client certificates that authenticate this user.
    tls_certificates: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SaltedCra {
    password: String,
    salt: String,
    iterations: u32,
    keylen: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScramFile {
    password: String,
    kdf: String,
    iterations: u32,
    memory: Option<u32>,
}

impl Config {
    /// Reads and checks a file.
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let config: Config = toml::from_str(&text).map_err(|e| located(path, &text, &e))?;
        for realm in &config.realms {
            wamp::Uri::new(&realm.name)
                .map_err(|e| format!("{}: realm {:?}: {e}", path.display(), realm.name))?;
            for user in &realm.users {
                let none = user.ticket.is_none()
                    && user.wampcra.is_none()
                    && user.wampcra_salted.is_none()
                    && user.cryptosign.is_none()
                    && user.scram.is_none()
                    && user.tls_certificates.is_none();
                if none {
                    return Err(format!(
                        "{}: realm {:?}, user {:?}: no authentication method (ticket, wampcra, wampcra_salted, cryptosign, scram or tls_certificates)",
                        path.display(),
                        realm.name,
                        user.authid
                    ));
                }
            }
        }
        Ok(config)
    }

    /// Adds what the file configures to a router builder.
    pub fn apply(&self, path: &Path, mut builder: RouterBuilder) -> Result<RouterBuilder, String> {
        if let Some(l) = &self.limits {
            let limits = l.limits().map_err(|e| format!("{}: {e}", path.display()))?;
            builder = builder.limits(limits);
        }
        for l in &self.listeners {
            let tls = l
                .tls
                .as_ref()
                .map(|t| tls_config(path, t))
                .transpose()
                .map_err(|e| format!("{}: listener {}: {e}", path.display(), l.address))?;
            builder = match (l.kind, tls) {
                (ListenerKind::Websocket, None) => builder.websocket(l.address),
                (ListenerKind::Websocket, Some(tls)) => builder.websocket_tls(l.address, tls),
                (ListenerKind::Rawsocket, None) => builder.rawsocket(l.address),
                (ListenerKind::Rawsocket, Some(tls)) => builder.rawsocket_tls(l.address, tls),
            };
        }
        for realm in &self.realms {
            let mut config = RealmConfig::new(&realm.name);
            config.anonymous_role = realm.anonymous.clone();
            config.event_history = realm.event_history;
            let mut users = HashMap::new();
            for user in &realm.users {
                let auth = user_auth(user).map_err(|e| {
                    format!(
                        "{}: realm {:?}, user {:?}: {e}",
                        path.display(),
                        realm.name,
                        user.authid
                    )
                })?;
                users.insert(
                    user.authid.clone(),
                    wamp::router::User {
                        role: user.role.clone(),
                        auth,
                    },
                );
            }
            config.users = users;
            for role in &realm.roles {
                let perms = role
                    .permissions
                    .iter()
                    .map(permission)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| {
                        format!(
                            "{}: realm {:?}, role {:?}: {e}",
                            path.display(),
                            realm.name,
                            role.name
                        )
                    })?;
                config = config.role(&role.name, perms);
            }
            builder = builder.realm(config);
        }
        Ok(builder)
    }

    /// Whether the file configures any listener.
    pub fn has_listeners(&self) -> bool {
        !self.listeners.is_empty()
    }

    /// Whether the file configures any realm.
    pub fn has_realms(&self) -> bool {
        !self.realms.is_empty()
    }
}

fn tls_config(path: &Path, t: &TlsFiles) -> Result<TlsServerConfig, String> {
    let mut tls =
        TlsServerConfig::from_pem_files(resolve(path, &t.certificate), resolve(path, &t.key))
            .map_err(|e| e.to_string())?;
    if let Some(ca) = &t.client_ca {
        let roots = wamp::transport::tls::certificates_from_pem_file(resolve(path, ca))
            .map_err(|e| e.to_string())?;
        let optional = match t.client_certificate.as_deref() {
            None | Some("optional") => true,
            Some("required") => false,
            Some(other) => {
                return Err(format!(
                    "client_certificate must be optional or required, not {other:?}"
                ))
            }
        };
        tls = tls.with_client_ca(roots).client_cert_optional(optional);
    }
    Ok(tls)
}

fn user_auth(user: &UserFile) -> Result<Vec<UserAuth>, String> {
    let mut auth = Vec::new();
    if let Some(t) = &user.ticket {
        auth.push(UserAuth::Ticket(t.as_str().into()));
    }
    if let Some(s) = &user.wampcra {
        auth.push(UserAuth::WampCra(s.as_str().into()));
    }
    if let Some(s) = &user.wampcra_salted {
        auth.push(UserAuth::WampCraSalted {
            password: s.password.as_str().into(),
            salt: s.salt.clone(),
            iterations: s.iterations,
            keylen: s.keylen,
        });
    }
    if let Some(keys) = &user.cryptosign {
        for k in keys {
            if hex::decode(k).map(|b| b.len()) != Ok(32) {
                return Err(format!("cryptosign key {k:?} is not 32 bytes of hex"));
            }
        }
        auth.push(UserAuth::Cryptosign(keys.clone()));
    }
    if let Some(fingerprints) = &user.tls_certificates {
        for f in fingerprints {
            if hex::decode(f).map(|b| b.len()) != Ok(32) {
                return Err(format!(
                    "tls certificate fingerprint {f:?} is not a SHA-256 in hex"
                ));
            }
        }
        auth.push(UserAuth::TlsCertificate(fingerprints.clone()));
    }
    if let Some(s) = &user.scram {
        let kdf = match s.kdf.as_str() {
            "argon2id13" => Kdf::Argon2id13 {
                iterations: s.iterations,
                memory: s.memory.ok_or("scram with argon2id13 needs memory (KiB)")?,
            },
            "pbkdf2" => Kdf::Pbkdf2 {
                iterations: s.iterations,
            },
            other => {
                return Err(format!(
                    "unknown scram kdf {other:?} (argon2id13 or pbkdf2)"
                ))
            }
        };
        auth.push(UserAuth::scram_from_password(&s.password, kdf).map_err(|e| e.to_string())?);
    }
    Ok(auth)
}

/// Relative certificate paths are relative to the config file.
fn resolve(config: &Path, file: &Path) -> PathBuf {
    if file.is_absolute() {
        file.to_path_buf()
    } else {
        config.parent().unwrap_or(Path::new(".")).join(file)
    }
}

/// `file:line:column: reason` from a TOML error.
fn located(path: &Path, text: &str, e: &toml::de::Error) -> String {
    let reason = e.message();
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("{}:{line}:{column}: {reason}", path.display())
        }
        None => format!("{}: {reason}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn parse(text: &str) -> Result<Config, String> {
        let dir = std::env::temp_dir().join(format!(
            "wamp-cli-config-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::write(&dir, text).map_err(|e| e.to_string())?;
        let result = Config::load(&dir);
        let _ = std::fs::remove_file(&dir);
        result
    }

    #[test]
    fn errors_name_line_and_reason() {
        let err = parse("[[listener]]\nkind = \"websocket\"\naddress = \"nonsense\"\n")
            .expect_err("bad address");
        assert!(err.contains(":3:"), "{err}");
        let err = parse("[[realm]]\nname = \"r\"\nbogus = 1\n").expect_err("unknown key");
        assert!(err.contains(":3:") && err.contains("bogus"), "{err}");
        let err = parse("[[realm]]\nname = \"r\"\n[[realm.user]]\nauthid = \"a\"\nrole = \"x\"\n")
            .expect_err("no auth");
        assert!(err.contains("no authentication method"), "{err}");
        let ok = parse("[[realm]]\nname = \"r\"\nanonymous = \"guest\"\n[[realm.user]]\nauthid = \"a\"\nrole = \"x\"\nticket = \"t\"\n").expect("valid");
        assert!(ok.has_realms() && !ok.has_listeners());
    }

    #[test]
    fn limits_set_the_login_failure_policy() {
        let config = parse(
            "[limits]\noutbound_queue_bytes = 1048576\nlogin_failure_delay_ms = 1500\nlogin_failure_delay_max_ms = 60000\nlogin_failures_per_connection = 0\n",
        )
        .expect("valid");
        let builder = config
            .apply(Path::new("router.toml"), RouterBuilder::default())
            .expect("apply");
        let text = format!("{builder:?}");
        assert!(text.contains("outbound_queue_bytes: 1048576"), "{text}");
        assert!(text.contains("login_failure_delay: 1.5s"), "{text}");
        assert!(text.contains("login_failure_delay_max: 60s"), "{text}");
        // At least one failed HELLO per connection.
        assert!(text.contains("login_failures_per_connection: 1"), "{text}");
        let err = parse("[limits]\nlogin_failure_delay = 3\n").expect_err("unknown key");
        assert!(err.contains("login_failure_delay"), "{err}");
    }

    #[test]
    fn every_limit_has_a_key() {
        let config = parse(
            "[limits]
max_message_size = 65536
outbound_queue = 100
slow_consumer_grace_ms = 2500
outbound_hard_limit = 1000
outbound_queue_bytes = 2097152
handshake_timeout_ms = 3000
hello_timeout_ms = 4000
max_connections = 500
max_connections_per_address = 20
max_registrations_per_session = 30
max_subscriptions_per_session = 40
max_pending_calls_per_session = 50
max_invocations_per_callee = 60
max_testaments_per_session = 70
",
        )
        .expect("valid");
        let limits = config
            .limits
            .as_ref()
            .expect("[limits]")
            .limits()
            .expect("limits");
        assert_eq!(limits.max_message_size, 65536);
        assert_eq!(limits.outbound_queue, 100);
        assert_eq!(limits.slow_consumer_grace, Duration::from_millis(2500));
        assert_eq!(limits.outbound_hard_limit, 1000);
        assert_eq!(limits.outbound_queue_bytes, 2 * 1024 * 1024);
        assert_eq!(limits.handshake_timeout, Duration::from_secs(3));
        assert_eq!(limits.hello_timeout, Duration::from_secs(4));
        assert_eq!(limits.max_connections, 500);
        assert_eq!(limits.max_connections_per_address, 20);
        assert_eq!(limits.max_registrations_per_session, 30);
        assert_eq!(limits.max_subscriptions_per_session, 40);
        assert_eq!(limits.max_pending_calls_per_session, 50);
        assert_eq!(limits.max_invocations_per_callee, 60);
        assert_eq!(limits.max_testaments_per_session, 70);
        // Left out: the default.
        assert_eq!(
            limits.login_failures_per_connection,
            Limits::default().login_failures_per_connection
        );
    }

    #[test]
    fn limits_that_refuse_everything_are_errors() {
        for key in [
            "max_connections",
            "max_connections_per_address",
            "hello_timeout_ms",
            "handshake_timeout_ms",
            "max_pending_calls_per_session",
        ] {
            let config = parse(&format!("[limits]\n{key} = 0\n")).expect("parses");
            let err = config
                .apply(Path::new("router.toml"), RouterBuilder::default())
                .expect_err("zero is refused");
            assert!(
                err.contains("router.toml") && err.contains(key) && err.contains("at least 1"),
                "{err}"
            );
        }
    }
}
