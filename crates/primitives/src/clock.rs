//! Where protocol code gets the time: handed in by the runtime, never read by the code itself, so
//! a test can hold time still or move it.
use std::{
    fmt::Debug,
    time::{Instant, SystemTime, UNIX_EPOCH},
};

/// The time as block producers see it.
pub trait Clock: Send + Sync + Debug {
    /// Seconds since the Unix epoch: block timestamps.
    fn unix_seconds(&self) -> u64;
    /// A monotonic instant: deadlines within one process.
    fn now(&self) -> Instant;
}

/// The machine's clocks: what the runtime hands in.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn unix_seconds(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
    }

    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that reads a fixed Unix time (deterministic block timestamps in tests); its monotonic
/// instant still runs, so deadlines pass as they would.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock {
    unix: u64,
}

impl FixedClock {
    pub fn new(unix_seconds: u64) -> Self {
        Self { unix: unix_seconds }
    }
}

impl Clock for FixedClock {
    fn unix_seconds(&self) -> u64 {
        self.unix
    }

    fn now(&self) -> Instant {
        Instant::now()
    }
}
