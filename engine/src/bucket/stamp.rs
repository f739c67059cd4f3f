//! Event timestamps as buckets keep them: compact, serializable, offset-preserving.
//!
//! CrowdSec prints bucket times with the offset the log had (`start_at`, the message), so the
//! offset is kept next to the instant. Two integers serialize smaller than an RFC 3339 string
//! and compare without parsing.

use chrono::{DateTime, FixedOffset, Offset, TimeZone};
use serde::{Deserialize, Serialize};

use crate::time::go_format;

/// An instant (Unix nanoseconds) with the UTC offset it was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Stamp {
    /// Unix nanoseconds.
    #[serde(rename = "n")]
    pub nanos: i64,
    /// Offset east of UTC, in seconds.
    #[serde(rename = "o", default, skip_serializing_if = "is_zero")]
    pub offset: i32,
}

fn is_zero(o: &i32) -> bool {
    *o == 0
}

impl Stamp {
    /// From a chrono time.
    pub fn from_time(t: &DateTime<FixedOffset>) -> Self {
        Stamp {
            nanos: t
                .timestamp_nanos_opt()
                .unwrap_or_else(|| t.timestamp().saturating_mul(1_000_000_000)),
            offset: t.offset().local_minus_utc(),
        }
    }

    /// Parses Go's `MarshalText` form (RFC 3339, optional fraction).
    pub fn parse(s: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .map(|t| Self::from_time(&t))
    }

    /// Back to a chrono time.
    pub fn to_time(self) -> DateTime<FixedOffset> {
        let off = FixedOffset::east_opt(self.offset).unwrap_or_else(utc);
        off.timestamp_nanos(self.nanos)
    }

    /// The same offset, `d` nanoseconds later.
    pub fn plus(self, d: i64) -> Self {
        Stamp {
            nanos: self.nanos.saturating_add(d),
            offset: self.offset,
        }
    }

    /// Go `MarshalText` (RFC 3339 with trimmed nanoseconds, `Z` for offset 0).
    pub fn marshal(self) -> String {
        // The specialised formatter: this runs for every queued event.
        crate::time::format_rfc3339_nano(&self.to_time())
    }

    /// Go `Time.String()` (`2006-01-02 15:04:05.999999999 -0700 MST`).
    pub fn go_string(self) -> String {
        go_format(&self.to_time(), "2006-01-02 15:04:05.999999999 -0700 MST")
    }
}

fn utc() -> FixedOffset {
    chrono::Utc.fix()
}

#[cfg(test)]
mod marshal_tests {
    use super::*;

    proptest::proptest! {
        /// The fast RFC 3339 formatter prints exactly what the Go layout engine prints.
        #[test]
        fn marshal_matches_the_go_layout(
            secs in -62_000_000_000i64..250_000_000_000,
            nanos in 0u32..1_000_000_000,
            off_min in -14 * 60i32..14 * 60,
        ) {
            let off = chrono::FixedOffset::east_opt(off_min * 60).unwrap();
            let t = chrono::DateTime::from_timestamp(secs, nanos).unwrap().with_timezone(&off);
            let s = Stamp::from_time(&t);
            proptest::prop_assert_eq!(
                s.marshal(),
                go_format(&s.to_time(), "2006-01-02T15:04:05.999999999Z07:00")
            );
        }
    }
}
