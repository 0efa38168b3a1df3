//! Answering an invocation by running a shell command (`wamp register --exec`).

use std::process::{ExitStatus, Stdio};

use tokio::io::AsyncWriteExt as _;
use wamp::client::{Invocation, WampError};
use wamp::{Dict, Payload, Uri, Value};

use crate::json;

/// The error URI of a failed command: a non-zero exit, a signal, output that is not JSON,
/// or a command that could not be started.
pub const EXEC_FAILED: &str = "com.wamp_cli.exec_failed";

/// The most of the command's stderr (and stdout, for invalid output) put in the error.
const MAX_CAPTURE: usize = 64 * 1024;

/// Runs `command` for one invocation and turns what it prints into the result.
///
/// Dropping the returned future (the call was canceled, the session closed) kills the
/// command and every process in its process group.
pub async fn answer(command: &str, invocation: Invocation) -> Result<Payload, WampError> {
    let input = json::invocation_input(&invocation).map_err(|e| {
        WampError::with_payload(
            Uri::from_static("wamp.error.invalid_argument"),
            Payload::from_values(
                vec![Value::String(format!("unreadable arguments: {e}"))],
                Dict::new(),
            ),
        )
    })?;
    run(command, &input).await
}

/// Runs `sh -c command` with `input` on stdin.
async fn run(command: &str, input: &[u8]) -> Result<Payload, WampError> {
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = cmd.spawn().map_err(|e| {
        failure(
            format!("cannot start sh: {e}"),
            Value::Null,
            String::new(),
            None,
        )
    })?;
    let mut group = GroupKiller::new(child.id());
    let stdin = child.stdin.take();
    let feed = async move {
        if let Some(mut stdin) = stdin {
            // A command that does not read its input may close it early: that is fine.
            let _ = stdin.write_all(input).await;
        }
    };
    let ((), output) = tokio::join!(feed, child.wait_with_output());
    // The command has exited and been waited for: its group may no longer be ours to kill.
    group.disarm();
    let output = output.map_err(|e| {
        failure(
            format!("cannot run the command: {e}"),
            Value::Null,
            String::new(),
            None,
        )
    })?;
    let stderr = capture(&output.stderr);
    if !output.status.success() {
        let (what, status) = describe_status(output.status);
        let mut error = failure(what, status, stderr, None);
        if let Some(signal) = signal_of(output.status) {
            add_kwarg(&mut error, "signal", Value::Integer(signal.into()));
        }
        return Err(error);
    }
    json::parse_exec_output(&output.stdout).map_err(|reason| {
        failure(
            format!("the command printed an invalid result: {reason}"),
            Value::Integer(0),
            stderr,
            Some(capture(&output.stdout)),
        )
    })
}

/// The application error for a failed command.
fn failure(message: String, status: Value, stderr: String, stdout: Option<String>) -> WampError {
    let mut kwargs = Dict::new();
    kwargs.insert("status".into(), status);
    kwargs.insert("stderr".into(), Value::String(stderr));
    if let Some(stdout) = stdout {
        kwargs.insert("stdout".into(), Value::String(stdout));
    }
    WampError::with_payload(
        Uri::from_static(EXEC_FAILED),
        Payload::from_values(vec![Value::String(message)], kwargs),
    )
}

fn add_kwarg(error: &mut WampError, key: &str, value: Value) {
    if let Ok((args, mut kwargs)) = json::payload_values(&error.payload) {
        kwargs.insert(key.into(), value);
        error.payload = Payload::from_values(args, kwargs);
    }
}

/// Text of captured output, lossily decoded and cut to [`MAX_CAPTURE`] bytes.
fn capture(bytes: &[u8]) -> String {
    let mut text = String::from_utf8_lossy(bytes).into_owned();
    if text.len() > MAX_CAPTURE {
        let mut cut = MAX_CAPTURE;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("...");
    }
    text
}

fn describe_status(status: ExitStatus) -> (String, Value) {
    match (status.code(), signal_of(status)) {
        (Some(code), _) => (
            format!("the command exited with status {code}"),
            Value::Integer(code.into()),
        ),
        (None, Some(signal)) => (
            format!("the command was killed by signal {signal}"),
            Value::Null,
        ),
        (None, None) => ("the command failed".into(), Value::Null),
    }
}

#[cfg(unix)]
fn signal_of(status: ExitStatus) -> Option<i32> {
    std::os::unix::process::ExitStatusExt::signal(&status)
}

#[cfg(not(unix))]
fn signal_of(_status: ExitStatus) -> Option<i32> {
    None
}

/// Kills the command's whole process group when dropped while armed, so that canceling a
/// call also stops what `sh` started (`kill_on_drop` alone reaches only `sh`).
struct GroupKiller {
    #[cfg(unix)]
    group: Option<rustix::process::Pid>,
}

impl GroupKiller {
    #[cfg(unix)]
    fn new(pid: Option<u32>) -> Self {
        let group = pid
            .and_then(|p| i32::try_from(p).ok())
            .and_then(rustix::process::Pid::from_raw);
        GroupKiller { group }
    }

    #[cfg(not(unix))]
    fn new(_pid: Option<u32>) -> Self {
        GroupKiller {}
    }

    fn disarm(&mut self) {
        #[cfg(unix)]
        {
            self.group = None;
        }
    }
}

impl Drop for GroupKiller {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(group) = self.group.take() {
            tracing::debug!("killing the command's process group");
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kwargs(e: &WampError) -> Dict {
        e.payload.kwargs_values().expect("kwargs")
    }

    #[tokio::test]
    async fn result_from_stdout() {
        let p = run("cat >/dev/null; echo '{\"args\":[1]}'", b"{}\n")
            .await
            .expect("result");
        assert_eq!(p.args_values().expect("args"), vec![Value::Integer(1)]);
    }

    #[tokio::test]
    async fn input_on_stdin() {
        let p = run("cat", b"[1,2]").await.expect("result");
        assert_eq!(
            p.args_values().expect("args"),
            vec![Value::List(vec![Value::Integer(1), Value::Integer(2)])]
        );
    }

    #[tokio::test]
    async fn nonzero_exit() {
        let e = run("echo oops >&2; exit 3", b"").await.expect_err("error");
        assert_eq!(e.uri.as_str(), EXEC_FAILED);
        let k = kwargs(&e);
        assert_eq!(k.get("status"), Some(&Value::Integer(3)));
        assert_eq!(k.get("stderr"), Some(&Value::String("oops\n".into())));
    }

    #[tokio::test]
    async fn killed_by_signal() {
        let e = run("kill -9 $$", b"").await.expect_err("error");
        let k = kwargs(&e);
        assert_eq!(k.get("status"), Some(&Value::Null));
        assert_eq!(k.get("signal"), Some(&Value::Integer(9)));
    }

    #[tokio::test]
    async fn invalid_output() {
        let e = run("echo nope", b"").await.expect_err("error");
        let k = kwargs(&e);
        assert_eq!(k.get("status"), Some(&Value::Integer(0)));
        assert_eq!(k.get("stdout"), Some(&Value::String("nope\n".into())));
    }

    #[tokio::test]
    async fn dropping_kills_the_group() {
        let dir = std::env::temp_dir().join(format!("wamp-cli-exec-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let marker = dir.join("marker");
        let _ = std::fs::remove_file(&marker);
        let cmd = format!("(sleep 1; touch '{}')", marker.display());
        let outcome =
            tokio::time::timeout(std::time::Duration::from_millis(200), run(&cmd, b"")).await;
        assert!(outcome.is_err(), "the command should still run");
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        assert!(!marker.exists(), "the command was not killed");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
