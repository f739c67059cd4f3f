//! Enrichment methods (`method:` in statics): CrowdSec's enricher plugins.
//!
//! `ParseDate` and `UnmarshalJSON` are built in. The GeoIP enrichers (`GeoIpCity`, `GeoIpASN`,
//! `IpToRange`) run over the databases of [`crate::geoip`] when they are in the data directory;
//! without them, and for reverse DNS (which needs the network), the method is reported as
//! unsupported when a parser using it is loaded, and its statics then do nothing (the same
//! outcome as CrowdSec without the databases).

use std::sync::Arc;

use chrono::Datelike;

use crate::clock::Clock;
use crate::event::{Event, ExpectMode};
use crate::geoip::GeoIp;
use crate::time::{format_rfc3339_nano, parse_date, push_rfc3339_nano};

/// A resolved enrichment method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enricher {
    /// Parse `evt.StrTime`-like text into `Enriched.MarshaledTime` (and the event time in replay).
    ParseDate,
    /// Parse `Line.Raw` as JSON into `evt.Unmarshaled`.
    UnmarshalJson,
    /// CrowdSec's `GeoIpCity`: country, EU flag and coordinates of an address.
    GeoIpCity,
    /// CrowdSec's `GeoIpASN`: autonomous system number and organisation.
    GeoIpAsn,
    /// CrowdSec's `IpToRange`: the network of the ASN database holding an address.
    IpToRange,
    /// A method hivewall cannot run (reverse DNS, a GeoIP method whose database is absent, an
    /// unknown name); named for the load-time warning.
    Unsupported(&'static str),
}

/// What enrichers need from outside: a clock for "now" fall-backs and the current year, and
/// the GeoIP databases.
#[derive(Clone)]
pub struct EnrichCtx {
    clock: Arc<dyn Clock>,
    geoip: Arc<GeoIp>,
}

impl std::fmt::Debug for EnrichCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnrichCtx")
    }
}

const UNSUPPORTED: &[&str] = &["GeoIpCity", "GeoIpASN", "IpToRange", "reverse_dns"];

impl EnrichCtx {
    /// A context reading "now" from `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        EnrichCtx {
            clock,
            geoip: Arc::new(GeoIp::empty()),
        }
    }

    /// The same context with GeoIP databases (the GeoIP methods resolve when theirs is open).
    pub fn with_geoip(mut self, geoip: Arc<GeoIp>) -> Self {
        self.geoip = geoip;
        self
    }

    /// The injected "now".
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Resolves a method name; unknown names are unsupported too (CrowdSec only warns).
    pub fn resolve(&self, name: &str) -> Enricher {
        match name {
            "ParseDate" => Enricher::ParseDate,
            "UnmarshalJSON" => Enricher::UnmarshalJson,
            "GeoIpCity" if self.geoip.has_city() => Enricher::GeoIpCity,
            "GeoIpASN" if self.geoip.has_asn() => Enricher::GeoIpAsn,
            "IpToRange" if self.geoip.has_asn() => Enricher::IpToRange,
            other => Enricher::Unsupported(
                UNSUPPORTED
                    .iter()
                    .find(|u| **u == other)
                    .copied()
                    .unwrap_or("unknown method"),
            ),
        }
    }

    /// Runs a method; returns the entries to merge into `evt.Enriched` (`ParseDate` writes its
    /// one entry, `MarshaledTime`, itself: no allocation for a line's date).
    pub fn run(&self, m: Enricher, value: &str, evt: &mut Event) -> Vec<(&'static str, String)> {
        match m {
            Enricher::ParseDate => {
                self.parse_date(value, evt);
                Vec::new()
            }
            Enricher::UnmarshalJson => {
                if let Ok(serde_json::Value::Object(map)) =
                    serde_json::from_str::<serde_json::Value>(&evt.line.raw)
                {
                    for (k, v) in map {
                        evt.unmarshaled.insert(&k, super::writers::go_numbers(v));
                    }
                }
                Vec::new()
            }
            Enricher::GeoIpCity => self.geoip.enrich_city(value),
            Enricher::GeoIpAsn => self.geoip.enrich_asn(value),
            Enricher::IpToRange => self.geoip.enrich_range(value),
            Enricher::Unsupported(_) => Vec::new(),
        }
    }

    /// Sets `evt.Enriched.MarshaledTime` (and the event's time in time-machine mode).
    fn parse_date(&self, value: &str, evt: &mut Event) {
        let now = self.clock.now();
        if !value.is_empty() {
            let year = now.year();
            // Lines of a busy log share their timestamp with the line before: the last
            // parse's result is kept (it depends on the text, the layout and the year only).
            let done = LAST_DATE.with_borrow_mut(|last| {
                let m = last.get_or_insert_with(DateMemo::default);
                let fmt = evt.str_time_format.as_str();
                // A fresh memo's empty text never equals a value (checked non-empty above).
                let hit = m.value == value && m.fmt == fmt && m.year == year;
                if !hit {
                    let Some((t, layout)) =
                        parse_date(value, (!fmt.is_empty()).then_some(fmt), year)
                    else {
                        return false;
                    };
                    // The memo's buffers are reused: a miss (most lines of a log whose
                    // timestamps tick every second) allocates nothing.
                    m.text.clear();
                    if layout == "unix" {
                        m.text
                            .push_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
                    } else {
                        push_rfc3339_nano(&t, &mut m.text);
                    }
                    m.value.clear();
                    m.value.push_str(value);
                    m.fmt.clear();
                    m.fmt.push_str(fmt);
                    m.year = year;
                    m.time = t;
                }
                if evt.expect_mode == ExpectMode::TimeMachine {
                    evt.time = Some(m.time);
                }
                evt.enriched.insert("MarshaledTime", &m.text);
                true
            });
            if done {
                return;
            }
        }
        // No date: "now" (rare, so its text is not kept).
        evt.enriched
            .insert("MarshaledTime", &format_rfc3339_nano(&now.fixed_offset()));
    }
}

/// The last date [`EnrichCtx::parse_date`] parsed on this thread.
#[derive(Default)]
struct DateMemo {
    value: String,
    fmt: String,
    year: i32,
    time: chrono::DateTime<chrono::FixedOffset>,
    text: String,
}

thread_local! {
    static LAST_DATE: std::cell::RefCell<Option<DateMemo>> = const { std::cell::RefCell::new(None) };
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;

    use super::{EnrichCtx, Enricher};
    use crate::clock::FixedClock;
    use crate::event::{Event, ExpectMode};
    use crate::time::{format_rfc3339_nano, parse_date};

    /// The kept last date never answers for another text, layout or year: a sequence with
    /// repeats gives what parsing each value afresh gives.
    #[test]
    fn repeated_dates_parse_as_fresh_ones() {
        let at = |y| {
            EnrichCtx::new(Arc::new(FixedClock(
                chrono::Utc.with_ymd_and_hms(y, 6, 1, 0, 0, 0).unwrap(),
            )))
        };
        let steps = [
            ("Dec  2 04:12:20", "", 2024),
            ("Dec  2 04:12:20", "", 2024),
            ("Dec  2 04:12:20", "", 2025),
            ("Dec  2 04:12:21", "", 2025),
            ("02/12/2025 04:12:21", "", 2025),
            ("02/12/2025 04:12:21", "02/01/2006 15:04:05", 2025),
            ("02/12/2025 04:12:21", "", 2025),
            ("Dec  2 04:12:21", "", 2025),
            ("1700000000", "", 2025),
            ("1700000000", "", 2025),
            ("Dec  2 04:12:21", "", 2025),
        ];
        for (value, fmt, year) in steps {
            let mut evt = Event {
                expect_mode: ExpectMode::TimeMachine,
                str_time_format: fmt.to_string(),
                ..Event::default()
            };
            let got = at(year).run(Enricher::ParseDate, value, &mut evt);
            assert!(got.is_empty(), "ParseDate writes its entry itself");
            let (t, _) = parse_date(value, (!fmt.is_empty()).then_some(fmt), year).unwrap();
            assert_eq!(
                evt.enriched.get("MarshaledTime"),
                Some(format_rfc3339_nano(&t).as_str()),
                "{value} {fmt} {year}"
            );
            assert_eq!(evt.time, Some(t));
        }
        // A text no layout reads, after a parsed one: "now", not the kept date.
        let mut evt = Event::default();
        at(2025).run(Enricher::ParseDate, "Dec  2 04:12:99", &mut evt);
        assert_eq!(
            evt.enriched.get("MarshaledTime"),
            Some("2025-06-01T00:00:00Z")
        );
    }
}
