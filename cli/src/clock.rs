//! The wall clock, injected into the engine (which never reads it itself).

use chrono::{DateTime, Utc};

/// Reads the system time.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock;

impl engine::clock::Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
