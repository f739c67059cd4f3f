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
use crate::time::{format_rfc3339_nano, parse_date};

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

    /// Runs a method; returns the entries to merge into `evt.Enriched`.
    pub fn run(&self, m: Enricher, value: &str, evt: &mut Event) -> Vec<(&'static str, String)> {
        match m {
            Enricher::ParseDate => self.parse_date(value, evt),
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

    fn parse_date(&self, value: &str, evt: &mut Event) -> Vec<(&'static str, String)> {
        let now = self.clock.now();
        if !value.is_empty() {
            let fmt = (!evt.str_time_format.is_empty()).then_some(evt.str_time_format.as_str());
            if let Some((t, layout)) = parse_date(value, fmt, now.year()) {
                if evt.expect_mode == ExpectMode::TimeMachine {
                    evt.time = Some(t);
                }
                let text = if layout == "unix" {
                    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                } else {
                    format_rfc3339_nano(&t)
                };
                return vec![("MarshaledTime", text)];
            }
        }
        vec![("MarshaledTime", format_rfc3339_nano(&now.fixed_offset()))]
    }
}
