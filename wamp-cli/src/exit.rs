//! Why the program stops: an exit status and one line for stderr.

use std::fmt;
use std::process::ExitCode;

use wamp::client::Error;
use wamp::transport::TransportError;

/// The router or the callee answered with an error.
pub const REMOTE: u8 = 1;
/// Bad usage or bad input.
pub const USAGE: u8 = 2;
/// Could not connect, join or authenticate (or the connection was lost).
pub const CONNECT: u8 = 3;
/// Writing to stdout failed because the reader went away (128 + SIGPIPE, as a shell shows it).
pub const BROKEN_PIPE: u8 = 141;

/// A failure: the exit status and, unless the exit is a quiet one, what to tell the user.
#[derive(Debug)]
pub struct Failure {
    code: u8,
    message: Option<String>,
}

impl Failure {
    fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: Some(message.into()),
        }
    }

    /// Bad usage or bad input (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(USAGE, message)
    }

    /// The router or the callee answered with an error (exit 1).
    pub fn remote(message: impl Into<String>) -> Self {
        Self::new(REMOTE, message)
    }

    /// No session could be had (exit 3).
    pub fn connect(message: impl Into<String>) -> Self {
        Self::new(CONNECT, message)
    }

    /// An exit without a message (a signal, a closed stdout).
    pub fn quiet(code: u8) -> Self {
        Failure {
            code,
            message: None,
        }
    }

    /// The exit status.
    pub fn code(&self) -> u8 {
        self.code
    }

    /// Prints the message (if any) as one line on stderr and gives the exit status.
    pub fn report(&self) -> ExitCode {
        if let Some(message) = &self.message {
            eprintln!("wamp: {}", one_line(message));
        }
        ExitCode::from(self.code())
    }

    /// A failure to open a session to `url`.
    pub fn from_connect(error: &Error, url: &str, realm: &str) -> Self {
        match error {
            Error::Transport(TransportError::InvalidUrl { .. }) => Self::usage(error.to_string()),
            Error::InvalidUri(e) => Self::usage(format!("invalid realm {realm:?}: {e}")),
            _ => Self::connect(format!(
                "could not connect to {url} (realm {realm}): {error}"
            )),
        }
    }

    /// A failure of an operation on an open session.
    pub fn from_operation(error: Error) -> Self {
        match error {
            Error::Wamp(e) => Self::remote(e.to_string()),
            Error::Timeout(after) => Self::remote(format!(
                "the call timed out after {} ms and was canceled",
                after.as_millis()
            )),
            Error::InvalidUri(e) => Self::usage(e.to_string()),
            Error::Encode(e) => Self::usage(format!("cannot encode the arguments: {e}")),
            Error::Revoked(reason) => Self::remote(format!("revoked by the router: {reason}")),
            Error::Payload(e) => Self::remote(format!("the peer sent an unreadable payload: {e}")),
            e @ (Error::NotConnected(_)
            | Error::Transport(_)
            | Error::Protocol(_)
            | Error::Aborted { .. }
            | Error::Auth(_)) => Self::connect(format!("connection lost: {e}")),
            other => Self::remote(other.to_string()),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => f.write_str(&one_line(m)),
            None => write!(f, "exit status {}", self.code),
        }
    }
}

/// Folds a message onto one line.
pub fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// A clap error as one line: its message, tips and usage joined (help and version output
/// are not errors and are printed as clap prints them).
pub fn clap_error(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let parts: Vec<String> = rendered
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
        .map(|l| {
            let l = l.strip_prefix("error: ").unwrap_or(l);
            match l.strip_prefix("Usage: ") {
                Some(usage) => format!("usage: {usage}"),
                None => l.to_owned(),
            }
        })
        .collect();
    let mut line = String::new();
    for part in parts {
        if !line.is_empty() {
            line.push_str(if line.ends_with(':') { " " } else { "; " });
        }
        line.push_str(&part);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_folds() {
        assert_eq!(one_line("a\n\n  b\n"), "a; b");
    }

    #[test]
    fn timeout_is_remote() {
        let f = Failure::from_operation(Error::Timeout(std::time::Duration::from_millis(1500)));
        assert_eq!(f.code(), REMOTE);
        assert!(f.to_string().contains("1500 ms"));
    }

    #[test]
    fn lost_connection_is_connect() {
        let f = Failure::from_operation(Error::NotConnected(Some("gone".into())));
        assert_eq!(f.code(), CONNECT);
    }
}
