//! Printing result lines on stdout.

use std::io::{ErrorKind, Write};

use crate::exit::{Failure, BROKEN_PIPE};

/// Prints one line on stdout and flushes it, so that a reader sees each line as it comes.
/// A reader that went away ends the program quietly (status 141, like SIGPIPE).
pub fn print_line(line: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(line.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(|e| match e.kind() {
            ErrorKind::BrokenPipe => Failure::quiet(BROKEN_PIPE),
            _ => Failure::remote(format!("cannot write to stdout: {e}")),
        })
}
