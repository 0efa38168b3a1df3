//! The command-line surface: clap definitions only, no behaviour.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Shown at the end of `wamp --help`.
const MAIN_AFTER_HELP: &str = "\
Arguments are JSON values: a string is written '\"text\"', a number 5 or -5, and binary data
uses WAMP's JSON convention, a string of \\u0000 followed by base64. Results and events are
printed as one JSON line each, in the same convention.

Environment variables stand for the common options (a flag wins over its variable):
  WAMP_URL, WAMP_REALM, WAMP_SERIALIZER, WAMP_TICKET, WAMP_WAMPCRA, WAMP_CRYPTOSIGN, WAMP_CA.
RUST_LOG sets the log level of the diagnostics on stderr (default: warn).

Exit status:
  0  success
  1  the router or the callee answered with an error (application errors, no_such_procedure,
     canceled, timeout, not_authorized, ...)
  2  bad usage or bad input (an option, an ARG that is not JSON, an invalid URI)
  3  could not connect, join or authenticate, or the connection was lost
On failure stdout stays empty and stderr has one line starting with 'wamp: '.
`subscribe` and `register` reconnect by themselves when the connection is lost (only the first
connection failing exits 3, and a session the router ends on purpose, with GOODBYE or ABORT);
`call` and `publish` do not.";

/// Shown at the end of `wamp call --help` and `wamp publish --help`.
const SEE_MAIN_HELP: &str = "\
See `wamp --help` for the JSON conventions, the environment variables and the exit statuses.";

/// Shown at the end of `wamp register --help`.
const REGISTER_AFTER_HELP: &str = "\
Each invocation runs CMD with `sh -c CMD`, concurrently with other invocations. CMD reads one
JSON line on stdin:
  {\"args\":[...],\"kwargs\":{...},\"details\":{...,\"procedure\":\"URI\"}}
Its result is what it prints on stdout when it exits with status 0:
  - a JSON object with an \"args\" array and/or a \"kwargs\" object (and no other keys) is the
    result's arguments and keyword arguments;
  - any other JSON value is the single positional result;
  - no output (only whitespace) is an empty result.
A non-zero exit status, a signal, or output that is not JSON fails the call with the error URI
com.wamp_cli.exec_failed, arguments [\"what went wrong\"] and keyword arguments
{\"status\":N,\"stderr\":\"...\"} (status is null when CMD was killed by a signal, then
\"signal\" holds the signal number; \"stdout\" is added when the output was invalid).
When the caller cancels the call or it times out, CMD and every process it started (its
process group) are killed.

The procedure stays registered across connection losses: on a lost connection `wamp register`
reconnects with exponential backoff (0.5 s doubling up to 10 s, with jitter), registers again,
and logs one line per attempt on stderr. When the router still has the procedure from the lost
session, registering is retried with the same backoff. A registration the router refuses or
revokes exits 1.
See `wamp --help` for the JSON conventions, the environment variables and the exit statuses.";

/// Shown at the end of `wamp subscribe --help`.
const SUBSCRIBE_AFTER_HELP: &str = "\
Each event is printed as one JSON line:
  {\"args\":[...],\"kwargs\":{...},\"details\":{\"topic\":\"URI\",...}}
details always has the concrete topic, and the publisher's identity when the router discloses it.

On a lost connection `wamp subscribe` reconnects with exponential backoff (0.5 s doubling up to
10 s, with jitter), subscribes again, and logs one line per attempt on stderr. Events published
while disconnected are not received. A subscription the router refuses or revokes exits 1.
Events wait in a buffer of 1024 while stdout is slow; beyond that they are dropped, and stderr
says how many.
See `wamp --help` for the JSON conventions, the environment variables and the exit statuses.";

/// `wamp`: call, publish, subscribe and register on a WAMP router from the shell.
#[derive(Debug, Parser)]
#[command(
    name = "wamp",
    version,
    about = "Call, publish, subscribe and register on a WAMP v2 router from the shell.",
    after_help = MAIN_AFTER_HELP,
    subcommand_required = true,
    arg_required_else_help = true,
    propagate_version = true
)]
pub struct Cli {
    /// Where and how to connect.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes, before or after the subcommand's name.
#[derive(Debug, Args)]
#[command(next_help_heading = "Connection options")]
pub struct ConnectionArgs {
    /// Router URL: ws://, wss://, RawSocket tcp:// or tcps:// (rs:// and rss:// are aliases).
    #[arg(
        long,
        global = true,
        env = "WAMP_URL",
        value_name = "URL",
        default_value = "ws://127.0.0.1:8080/ws"
    )]
    pub url: String,

    /// Realm to join (for `wamp router`: a realm to serve; repeatable).
    #[arg(
        long,
        global = true,
        env = "WAMP_REALM",
        value_name = "REALM",
        default_value = "realm1",
        action = clap::ArgAction::Append
    )]
    pub realm: Vec<String>,

    /// Serializer to use.
    #[arg(
        long,
        global = true,
        env = "WAMP_SERIALIZER",
        value_enum,
        default_value_t = SerializerArg::Json
    )]
    pub serializer: SerializerArg,

    /// Authenticate with WAMP-Ticket.
    #[arg(
        long,
        global = true,
        env = "WAMP_TICKET",
        value_name = "AUTHID:SECRET",
        hide_env_values = true
    )]
    pub ticket: Option<String>,

    /// Authenticate with WAMP-CRA (the secret, or the password of a salted user).
    #[arg(
        long,
        global = true,
        env = "WAMP_WAMPCRA",
        value_name = "AUTHID:SECRET",
        hide_env_values = true
    )]
    pub wampcra: Option<String>,

    /// Authenticate with WAMP-Cryptosign, from the Ed25519 seed (32 bytes, in hex).
    #[arg(
        long,
        global = true,
        env = "WAMP_CRYPTOSIGN",
        value_name = "AUTHID:SEED_HEX",
        hide_env_values = true
    )]
    pub cryptosign: Option<String>,

    /// A PEM file of CA certificates to trust for wss:// and tcps:// (besides the bundled
    /// web roots).
    #[arg(long, global = true, env = "WAMP_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,

    /// Do not verify the router's TLS certificate (testing only).
    #[arg(long, global = true)]
    pub insecure: bool,

    /// Limit for connecting and joining, in milliseconds.
    #[arg(
        long,
        global = true,
        value_name = "MS",
        default_value_t = 10_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub connect_timeout: u64,
}

/// The serializers, as named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SerializerArg {
    /// JSON.
    Json,
    /// MessagePack.
    Msgpack,
    /// CBOR.
    Cbor,
}

/// How a topic or procedure URI is matched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum MatchArg {
    /// The URI as is.
    #[default]
    Exact,
    /// Every URI starting with the given one.
    Prefix,
    /// Every URI whose non-empty components are equal (`com..update`).
    Wildcard,
}

/// How a shared registration picks a callee.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum InvokeArg {
    /// Only one callee may register.
    #[default]
    Single,
    /// Callees take turns.
    Roundrobin,
    /// A callee picked at random.
    Random,
    /// The callee that registered first.
    First,
    /// The callee that registered last.
    Last,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Call a procedure and print its result as one JSON line {"args":[...],"kwargs":{...}}.
    #[command(after_help = SEE_MAIN_HELP)]
    Call(CallArgs),
    /// Publish an event.
    #[command(after_help = SEE_MAIN_HELP)]
    Publish(PublishArgs),
    /// Subscribe to a topic and print each event as one JSON line.
    #[command(after_help = SUBSCRIBE_AFTER_HELP)]
    Subscribe(SubscribeArgs),
    /// Register a procedure answered by running a shell command.
    #[command(after_help = REGISTER_AFTER_HELP)]
    Register(RegisterArgs),
    /// Run a WAMP router (broker and dealer).
    #[command(after_help = ROUTER_AFTER_HELP)]
    Router(RouterArgs),
    /// Generate typed Rust from WAMP contracts (NAME.wamp.toml or NAME.wamp.json), or check them.
    #[command(subcommand)]
    Codegen(CodegenCommand),
}

/// `wamp codegen ...`.
#[derive(Debug, Subcommand)]
pub enum CodegenCommand {
    /// Generate one Rust source with one `pub mod` per contract (imports included).
    #[command(after_help = CODEGEN_AFTER_HELP)]
    Generate(GenerateArgs),
    /// Check contracts: every problem on stderr as FILE:LINE:COL: error: MESSAGE.
    #[command(after_help = CODEGEN_AFTER_HELP)]
    Check(CheckArgs),
    /// Compare two versions of a contract: every change with its level and a rollout hint.
    #[command(after_help = DIFF_AFTER_HELP)]
    Diff(DiffArgs),
    /// Print the JSON Schema of a contract's payloads (types in $defs; x-wamp-procedures,
    /// x-wamp-topics, x-wamp-errors give each payload's args and kwargs).
    #[command(name = "json-schema", after_help = CODEGEN_AFTER_HELP)]
    JsonSchema(ExportArgs),
    /// Print an AsyncAPI 3.0 document of a contract (x-wamp-* extensions for progressive
    /// results, cancel modes, error URIs, args/kwargs).
    #[command(after_help = CODEGEN_AFTER_HELP)]
    Asyncapi(ExportArgs),
}

/// `wamp codegen json-schema` and `wamp codegen asyncapi`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The contract file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Write to this file instead of stdout.
    #[arg(short, long, value_name = "OUT")]
    pub out: Option<PathBuf>,
}

const DIFF_AFTER_HELP: &str = "\
Levels: breaking (a deployed peer breaks), warning (safe on the wire, but some peer may need
attention), info. A procedure's inputs are written by callers and read by the callee, its
outputs the reverse; topics fan out to unknown subscribers, so only optional-field changes are
safe there.

  wamp codegen diff old/calc.wamp.toml calc.wamp.toml
  wamp codegen diff --against origin/main contracts/calc.wamp.toml   # OLD read from git

Exit status: 1 if any change is breaking, 0 otherwise, 2 if either contract is invalid.";

/// How `wamp codegen diff` prints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// One line per change.
    #[default]
    Text,
    /// One JSON document.
    Json,
}

/// `wamp codegen diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// OLD and NEW contract files (only NEW with --against).
    #[arg(required = true, num_args = 1..=2, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Read OLD from this git revision (the same path as NEW, imports included).
    #[arg(long, value_name = "REV")]
    pub against: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
}

const CODEGEN_AFTER_HELP: &str = "\
Exit status: 0 valid (and generated), 2 invalid contracts or bad usage. Diagnostics go to
stderr, one per line: FILE:LINE:COL: error: MESSAGE. The contract format is documented in
schemas/README.md.";

/// `wamp codegen generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Contract files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Write the code to this file instead of stdout.
    #[arg(short, long, value_name = "OUT")]
    pub out: Option<PathBuf>,
    /// The path generated code uses for the runtime crate.
    #[arg(long, default_value = "::wamp", value_name = "PATH")]
    pub runtime_path: String,
}

/// `wamp codegen check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Contract files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

const ROUTER_AFTER_HELP: &str = "\
With no options: realm realm1, anonymous sessions, WebSocket on 127.0.0.1:8080 at /ws and
RawSocket on 127.0.0.1:8081, JSON, MessagePack and CBOR. One line per listener is printed
once it accepts connections. SIGINT and SIGTERM shut the router down cleanly (GOODBYE to
every session). Logs go to stderr; set RUST_LOG (e.g. RUST_LOG=wamp=debug).

--config FILE (TOML) sets everything; --ws, --rawsocket and --realm then add to it:

  [limits]                         # every key optional; the defaults are shown
  max_message_size = 16777216      # bytes
  outbound_queue = 4096            # messages before a session counts as a slow consumer
  slow_consumer_grace_ms = 5000    # how long it may stay above that
  outbound_hard_limit = 262144     # messages queued before it is cut off at once
  outbound_queue_bytes = 8388608   # bytes queued for a session before it is cut off as one
  handshake_timeout_ms = 10000     # TLS + WebSocket upgrade / RawSocket handshake
  hello_timeout_ms = 10000         # each login: HELLO and its whole authentication
  max_connections = 20000          # connections at once (one more: RawSocket error 4 /
  max_connections_per_address = 1000  # HTTP 503); per address counts IPv6 per /64
  max_registrations_per_session = 1000  # one more: ERROR wamp.error.limit_exceeded
  max_subscriptions_per_session = 1000
  max_pending_calls_per_session = 1000  # calls in flight as caller
  max_invocations_per_callee = 10000    # invocations in flight at one callee
  max_testaments_per_session = 64       # wamp.session.add_testament, both scopes
  login_failure_delay_ms = 500     # a failed login's ABORT waits this long, doubled for each
  login_failure_delay_max_ms = 16000  # further failure of the same authid, up to this (0: off)
  login_failures_per_connection = 3   # failed HELLOs before the connection is closed

  [[listener]]
  kind = \"websocket\"               # or \"rawsocket\"
  address = \"0.0.0.0:8443\"
  tls = { certificate = \"server.crt\", key = \"server.key\" }   # optional, PEM files
  # add client_ca = \"ca.crt\" (and client_certificate = \"required\") to ask for client certificates


  [[realm]]
  name = \"realm1\"
  anonymous = \"anonymous\"          # role for anonymous sessions; leave out to refuse them
  event_history = 100              # events kept per subscription for wamp.subscription.get_events


  [[realm.user]]
  authid = \"alice\"
  role = \"user\"
  ticket = \"secret\"                # and/or any of:
  # wampcra = \"secret\"
  # wampcra_salted = { password = \"pw\", salt = \"salt\", iterations = 1000, keylen = 32 }
  # cryptosign = [\"<hex public key>\"]
  # scram = { password = \"pw\", kdf = \"argon2id13\", iterations = 2, memory = 65536 }
  # tls_certificates = [\"<sha-256 of the client certificate, hex>\"]   (authmethod \"tls\")


  # Roles turn authorization on for the realm: each action needs a matching permission
  # (the most specific one decides). Without any [[realm.role]] everything is allowed.
  [[realm.role]]
  name = \"user\"
  [[realm.role.permission]]
  uri = \"com.app.\"
  match = \"prefix\"                 # exact (default), prefix or wildcard
  allow = [\"call\", \"subscribe\"]    # call, register, publish, subscribe
  disclose = [\"caller\"]            # who may disclose itself (default both)

A bad file is refused with the file, line and reason (exit 2).";

/// `wamp router`.
#[derive(Debug, Args)]
pub struct RouterArgs {
    /// WebSocket listener address (path /ws). Default 127.0.0.1:8080 without --config.
    #[arg(long, value_name = "ADDR")]
    pub ws: Option<std::net::SocketAddr>,

    /// RawSocket listener address. Default 127.0.0.1:8081 without --config.
    #[arg(long, value_name = "ADDR")]
    pub rawsocket: Option<std::net::SocketAddr>,

    /// Configuration file (TOML): listeners, TLS, realms, users, limits.
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
}

/// `wamp call`.
#[derive(Debug, Args)]
pub struct CallArgs {
    /// The procedure.
    #[arg(value_name = "URI")]
    pub procedure: String,

    /// Positional arguments, each a JSON value ('"text"', 5, -5, [1,2], {"a":1}, null).
    #[arg(value_name = "ARG", allow_negative_numbers = true)]
    pub args: Vec<String>,

    /// Keyword arguments, a JSON object.
    #[arg(long, value_name = "JSON")]
    pub kwargs: Option<String>,

    /// Ask for progressive results and print each as it arrives, with "progress":true,
    /// before the final result.
    #[arg(long)]
    pub progress: bool,

    /// Give up after this many milliseconds: the call is canceled and fails (exit 1).
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: Option<u64>,

    /// Ask the router to disclose our identity to the callee.
    #[arg(long)]
    pub disclose_me: bool,
}

/// `wamp publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The topic.
    #[arg(value_name = "TOPIC")]
    pub topic: String,

    /// Positional arguments, each a JSON value ('"text"', 5, -5, [1,2], {"a":1}, null).
    #[arg(value_name = "ARG", allow_negative_numbers = true)]
    pub args: Vec<String>,

    /// Keyword arguments, a JSON object.
    #[arg(long, value_name = "JSON")]
    pub kwargs: Option<String>,

    /// Ask the router to acknowledge, and print {"publication":ID}.
    #[arg(long)]
    pub acknowledge: bool,

    /// Whether to leave this session out of the receivers (the router's default: true).
    #[arg(
        long,
        value_name = "BOOL",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub exclude_me: Option<bool>,

    /// Ask the router to retain the event for subscribers that come later.
    #[arg(long)]
    pub retain: bool,

    /// Ask the router to disclose our identity to subscribers.
    #[arg(long)]
    pub disclose_me: bool,
}

/// `wamp subscribe`.
#[derive(Debug, Args)]
pub struct SubscribeArgs {
    /// The topic (or pattern, with --match).
    #[arg(value_name = "TOPIC")]
    pub topic: String,

    /// How the topic is matched.
    #[arg(long = "match", value_enum, default_value_t = MatchArg::Exact)]
    pub match_policy: MatchArg,

    /// Exit (status 0) after this many events.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Ask for the topic's retained event, if any, right away.
    #[arg(long)]
    pub get_retained: bool,
}

/// `wamp register`.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The procedure (or pattern, with --match).
    #[arg(value_name = "URI")]
    pub procedure: String,

    /// The shell command that answers each invocation (run with `sh -c`).
    #[arg(long, value_name = "CMD")]
    pub exec: String,

    /// How the procedure URI is matched.
    #[arg(long = "match", value_enum, default_value_t = MatchArg::Exact)]
    pub match_policy: MatchArg,

    /// How the router picks a callee when several register the same URI.
    #[arg(long, value_enum, default_value_t = InvokeArg::Single)]
    pub invoke: InvokeArg,
}

impl From<MatchArg> for wamp::protocol::MatchPolicy {
    fn from(m: MatchArg) -> Self {
        match m {
            MatchArg::Exact => wamp::protocol::MatchPolicy::Exact,
            MatchArg::Prefix => wamp::protocol::MatchPolicy::Prefix,
            MatchArg::Wildcard => wamp::protocol::MatchPolicy::Wildcard,
        }
    }
}

impl From<InvokeArg> for wamp::protocol::InvokePolicy {
    fn from(i: InvokeArg) -> Self {
        match i {
            InvokeArg::Single => wamp::protocol::InvokePolicy::Single,
            InvokeArg::Roundrobin => wamp::protocol::InvokePolicy::RoundRobin,
            InvokeArg::Random => wamp::protocol::InvokePolicy::Random,
            InvokeArg::First => wamp::protocol::InvokePolicy::First,
            InvokeArg::Last => wamp::protocol::InvokePolicy::Last,
        }
    }
}

impl From<SerializerArg> for wamp::Serializer {
    fn from(s: SerializerArg) -> Self {
        match s {
            SerializerArg::Json => wamp::Serializer::Json,
            SerializerArg::Msgpack => wamp::Serializer::MsgPack,
            SerializerArg::Cbor => wamp::Serializer::Cbor,
        }
    }
}
