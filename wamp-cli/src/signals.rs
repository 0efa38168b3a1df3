//! Stopping cleanly on SIGINT and SIGTERM: the session leaves, running `--exec` commands are
//! killed, and the exit status is the shell's 128 + signal number.

/// Exit status after SIGINT.
const SIGINT_STATUS: u8 = 130;
/// Exit status after SIGTERM.
#[cfg(unix)]
const SIGTERM_STATUS: u8 = 143;

/// Listens for the signals that ask the program to stop. Create it once, at the start of a
/// command, so that no signal falls between two waits.
#[derive(Debug)]
pub struct Shutdown {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Shutdown {
    /// Installs the handlers (a handler that cannot be installed is left out).
    pub fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Shutdown {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        {
            Shutdown {}
        }
    }

    /// Resolves when a stop signal arrives, with the exit status to use. Cancel-safe.
    pub async fn wait(&mut self) -> u8 {
        #[cfg(unix)]
        {
            async fn next(signal: &mut Option<tokio::signal::unix::Signal>) {
                match signal {
                    Some(s) => {
                        if s.recv().await.is_none() {
                            std::future::pending::<()>().await;
                        }
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                () = next(&mut self.interrupt) => SIGINT_STATUS,
                () = next(&mut self.terminate) => SIGTERM_STATUS,
            }
        }
        #[cfg(not(unix))]
        {
            match tokio::signal::ctrl_c().await {
                Ok(()) => SIGINT_STATUS,
                Err(_) => std::future::pending().await,
            }
        }
    }
}

impl Shutdown {
    /// Runs `future` unless a stop signal comes first (then: the exit status).
    pub async fn race<F: std::future::Future>(&mut self, future: F) -> Result<F::Output, u8> {
        tokio::select! {
            output = future => Ok(output),
            code = self.wait() => Err(code),
        }
    }
}
