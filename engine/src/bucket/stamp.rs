//! Event timestamps as buckets keep them: compact, serializable, offset-preserving.
//!
//! CrowdSec prints bucket times with the offset the log had (`start_at`, the message), so the
//! offset is kept next to the instant. Two integers serialize smaller than an RFC 3339 string
//! and compare without parsing.

use chrono::{DateTime, FixedOffset, Offset, TimeZone, Timelike};
use serde::{Deserialize, Serialize};

use crate::event::Event;
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

    /// The stamp of `e.time` when `e.marshaled_time` is that time printed (dateparse-enrich
    /// writes both), which is what parsing the text would give: the text holds the instant to
    /// the nanosecond and the offset to the minute, so an offset in whole minutes, no leap
    /// second and an instant that fits in nanoseconds make the two one-to-one. Printing costs
    /// a fraction of parsing (and of parsing and printing back, as alerts check their stamps).
    pub(crate) fn printed_in(e: &Event) -> Option<Stamp> {
        let t = e.time.as_ref()?;
        if t.offset().local_minus_utc() % 60 != 0
            || t.nanosecond() >= 1_000_000_000
            || t.timestamp_nanos_opt().is_none()
        {
            return None;
        }
        let mut out = [0u8; crate::time::RFC3339_MAX];
        let n = crate::time::write_rfc3339_nano(t, &mut out)?;
        (out[..n] == *e.marshaled_time.as_bytes()).then(|| Stamp::from_time(t))
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

/// An event's timestamp as its alert prints it (Go `EventsFromQueue`: `MarshaledTime`, else
/// `Time` marshaled), kept as a [`Stamp`] when that prints back to the same text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertStamp {
    pub(super) stamp: Stamp,
    /// The text, when the stamp does not print back to it (an odd parser format, no time).
    pub(super) text: Option<Box<str>>,
}

impl AlertStamp {
    /// The timestamp of `e`.
    pub fn of(e: &Event) -> Self {
        if !e.marshaled_time.is_empty() {
            if let Some(s) = Stamp::printed_in(e) {
                return AlertStamp {
                    stamp: s,
                    text: None,
                };
            }
            if let Some(s) = Stamp::parse(&e.marshaled_time)
                && s.marshal() == e.marshaled_time
            {
                return AlertStamp {
                    stamp: s,
                    text: None,
                };
            }
            return AlertStamp {
                stamp: Stamp::default(),
                text: Some(e.marshaled_time.as_str().into()),
            };
        }
        match &e.time {
            Some(t) => AlertStamp {
                stamp: Stamp::from_time(t),
                text: None,
            },
            None => AlertStamp {
                stamp: Stamp::default(),
                text: Some("".into()),
            },
        }
    }

    /// The text alerts print.
    pub fn text(&self) -> String {
        match &self.text {
            Some(t) => t.to_string(),
            None => self.stamp.marshal(),
        }
    }
}

fn utc() -> FixedOffset {
    chrono::Utc.fix()
}

#[cfg(test)]
mod marshal_tests {
    use super::*;

    use proptest::prelude::{Just, Strategy};

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

        /// An event whose `MarshaledTime` is its time printed gets, from the time, the stamp
        /// that parsing the text gives (the text alone: no time), whatever the offset (whole
        /// minutes or not), the fraction or the year; and a text that is not the time
        /// printed is read from the text.
        #[test]
        fn stamp_from_the_time_is_the_stamp_from_its_text(
            secs in -62_000_000_000i64..260_000_000_000,
            nanos in proptest::prop_oneof![0u32..1_000_000_000, Just(0u32), Just(1_500_000_000u32)],
            off_secs in proptest::prop_oneof![(-14 * 60i32..14 * 60).prop_map(|m| m * 60), -50_000i32..50_000],
            other in proptest::option::of(-1_000_000i64..1_000_000),
        ) {
            let off = chrono::FixedOffset::east_opt(off_secs).unwrap();
            // A leap second (a fraction past one second) is only valid at a minute's end.
            let secs = if nanos >= 1_000_000_000 { secs - secs.rem_euclid(60) + 59 } else { secs };
            let Some(utc) = chrono::DateTime::from_timestamp(secs, nanos) else {
                return Ok(());
            };
            let t = utc.with_timezone(&off);
            let printed = match other {
                None => crate::time::format_rfc3339_nano(&t),
                Some(d) => crate::time::format_rfc3339_nano(&(t + chrono::Duration::seconds(d))),
            };
            let with_time = Event {
                time: Some(t),
                marshaled_time: printed.clone(),
                ..Event::default()
            };
            let text_only = Event {
                marshaled_time: printed,
                ..Event::default()
            };
            proptest::prop_assert_eq!(AlertStamp::of(&with_time), AlertStamp::of(&text_only));
            proptest::prop_assert_eq!(
                crate::bucket::Detector::<crate::bucket::MemoryStore>::event_time(&with_time),
                crate::bucket::Detector::<crate::bucket::MemoryStore>::event_time(&text_only)
            );
            // Where the text is the time printed, the alert timestamp is that time (what the
            // detector's pour takes as known).
            if let Some(t) = Stamp::printed_in(&with_time) {
                proptest::prop_assert_eq!(
                    AlertStamp::of(&text_only),
                    AlertStamp { stamp: t, text: None }
                );
            }
        }
    }
}
