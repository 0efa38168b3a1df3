//! Resident memory of a process, sampled over the run.

use std::time::Duration;

/// Resident set size of process `pid` (this process if `None`), in bytes, from
/// `/proc/PID/status` (Linux); `None` where that is not available.
pub fn rss_bytes(pid: Option<u32>) -> Option<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_owned(),
    };
    let status = std::fs::read_to_string(path).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// One sample: when, the soak process (clients and proxies), the router process.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Time since the chaos started.
    pub at: Duration,
    /// The clients' process.
    pub clients: u64,
    /// The router's process.
    pub router: u64,
}

/// Start, end and peak of one side, and whether it stayed flat.
#[derive(Clone, Copy, Debug, Default)]
pub struct Trend {
    /// Highest sample in the settled start window.
    pub start: u64,
    /// Highest sample in the end window.
    pub end: u64,
    /// Highest sample of the run.
    pub max: u64,
}

impl Trend {
    /// The start window is 15-35 % of the run (the first part is warm-up: pools, buffers
    /// and the allocator's arenas grow to their working size); the end window is the last
    /// 20 %. Peaks, not means: a leak raises the floor and the peaks with it.
    pub fn of(samples: &[Sample], run: Duration, side: impl Fn(&Sample) -> u64) -> Trend {
        let window = |from: f64, to: f64| {
            samples
                .iter()
                .filter(|s| s.at >= run.mul_f64(from) && s.at <= run.mul_f64(to))
                .map(&side)
                .max()
                .unwrap_or(0)
        };
        Trend {
            start: window(0.15, 0.35),
            end: window(0.8, 1.01),
            max: samples.iter().map(&side).max().unwrap_or(0),
        }
    }

    /// Flat: the end window is at most 25 % plus `slack` above the start window.
    pub fn is_flat(&self, slack: u64) -> bool {
        self.end <= self.start + self.start / 4 + slack
    }
}
