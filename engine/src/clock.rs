//! Time comes from outside: the engine never reads the wall clock.
//!
//! Replays use the time of the data; live services pass a clock that reads the system time; tests
//! pass a fixed one. The only places a clock is consulted are CrowdSec's own fall-backs ("no
//! timestamp could be parsed, use now") and the current year for year-less syslog timestamps.

use chrono::{DateTime, Utc};

/// A source of "now".
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// A clock stopped at one instant, for replays and tests.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}
