//! A community signal: the minimal record of one alert that a reporter shares with the
//! consensus (`hivewall.signals`, or `POST /v2/signals` of a CAPI-style endpoint).
//!
//! A signal says "reporter R saw source S trigger scenario N, from first to last seen, E
//! events". Nothing else from the logs leaves the reporter: no log line, no event meta, no
//! alert message or context, no user name, no host name, no decision. `reporter` is a
//! pseudonym the instance draws at random once (not its host name or address), so the
//! consensus can weigh a reporter's history without learning who it is. Only sources of scope
//! `Ip` or `Range` are shared; simulated alerts are not.

use serde::{Deserialize, Serialize};

use crate::Alert;

/// The version of the signal record this build writes and reads.
pub const SIGNAL_VERSION: u32 = 1;

/// Longest reporter id, scenario name or value a signal may carry (longer ones are refused by
/// [`Signal::check`]: they are attacker-controlled and end up as map keys).
pub const SIGNAL_FIELD_MAX: usize = 128;

/// One shared observation of an attacking source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signal {
    /// Record format version ([`SIGNAL_VERSION`]).
    pub v: u32,
    /// The reporter's pseudonymous id (random, stable per instance).
    pub reporter: String,
    /// The scenario that fired (`crowdsecurity/ssh-bf`).
    pub scenario: String,
    /// `Ip` or `Range`.
    pub scope: String,
    /// The IP address, or the range in CIDR notation.
    pub value: String,
    /// The first event of the alert, RFC 3339.
    pub first_seen: String,
    /// The last event of the alert, RFC 3339.
    pub last_seen: String,
    /// How many events the alert counted (at least 1).
    pub events: u32,
}

/// Why a signal record is refused before any consensus logic sees it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignalError {
    /// The record is not JSON of the signal format.
    #[error("not a signal record: {0}")]
    Json(String),
    /// A version this build does not read.
    #[error("signal version {0} not supported (this build reads version {SIGNAL_VERSION})")]
    Version(u32),
    /// A required field is empty.
    #[error("signal field `{0}` is empty")]
    Empty(&'static str),
    /// A field is longer than [`SIGNAL_FIELD_MAX`].
    #[error("signal field `{0}` is longer than {SIGNAL_FIELD_MAX} bytes")]
    TooLong(&'static str),
    /// The scope is neither `Ip` nor `Range`.
    #[error("signal scope {0:?} is not shared (only Ip and Range)")]
    Scope(String),
}

impl Signal {
    /// The signal of an alert, or `None` for an alert that is not shared (simulated, or whose
    /// source is not an IP or a range). Times and the event count are the alert's.
    pub fn from_alert(alert: &Alert, reporter: &str) -> Option<Signal> {
        if alert.simulated {
            return None;
        }
        let scope = normalize_scope(&alert.source.scope)?;
        let value = match scope {
            "Ip" if !alert.source.ip.is_empty() => alert.source.ip.clone(),
            "Range" if !alert.source.range.is_empty() => alert.source.range.clone(),
            _ => alert.source.value.clone(),
        };
        Some(Signal {
            v: SIGNAL_VERSION,
            reporter: reporter.to_string(),
            scenario: alert.scenario.clone(),
            scope: scope.to_string(),
            value,
            first_seen: alert.start_at.clone(),
            last_seen: alert.stop_at.clone(),
            events: u32::try_from(alert.events_count).unwrap_or(0).max(1),
        })
    }

    /// Checks the version, the lengths and the scope (the consensus parses the value and the
    /// times itself).
    pub fn check(&self) -> Result<(), SignalError> {
        if self.v != SIGNAL_VERSION {
            return Err(SignalError::Version(self.v));
        }
        for (name, field) in [
            ("reporter", &self.reporter),
            ("scenario", &self.scenario),
            ("value", &self.value),
            ("first_seen", &self.first_seen),
            ("last_seen", &self.last_seen),
        ] {
            if field.is_empty() {
                return Err(SignalError::Empty(name));
            }
            if field.len() > SIGNAL_FIELD_MAX {
                return Err(SignalError::TooLong(name));
            }
        }
        if normalize_scope(&self.scope).is_none() {
            return Err(SignalError::Scope(self.scope.clone()));
        }
        Ok(())
    }

    /// Reads a signal record (JSON) and [checks](Signal::check) it.
    pub fn decode(bytes: &[u8]) -> Result<Signal, SignalError> {
        let s: Signal =
            serde_json::from_slice(bytes).map_err(|e| SignalError::Json(e.to_string()))?;
        s.check()?;
        Ok(s)
    }

    /// Writes a signal record (JSON).
    pub fn encode(&self) -> Vec<u8> {
        // Strings and integers only: serializing cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// `Ip` or `Range` whatever the case CrowdSec's clients used (`ip`, `IP`, `range`).
pub fn normalize_scope(scope: &str) -> Option<&'static str> {
    if scope.eq_ignore_ascii_case("ip") {
        Some("Ip")
    } else if scope.eq_ignore_ascii_case("range") {
        Some("Range")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(scope: &str, value: &str) -> Alert {
        Alert {
            scenario: "crowdsecurity/ssh-bf".into(),
            message: "Ip 192.0.2.7 performed 'crowdsecurity/ssh-bf' (6 events over 2s)".into(),
            events_count: 6,
            start_at: "2024-01-01T00:00:00Z".into(),
            stop_at: "2024-01-01T00:00:02Z".into(),
            source: crate::Source {
                scope: scope.into(),
                value: value.into(),
                ip: if scope == "Ip" {
                    value.into()
                } else {
                    String::new()
                },
                as_name: "SOME-AS".into(),
                cn: "FR".into(),
                ..crate::Source::default()
            },
            meta: vec![crate::MetaItem {
                key: "user".into(),
                value: "root".into(),
            }],
            ..Alert::default()
        }
    }

    #[test]
    fn from_alert_keeps_only_the_minimal_fields() {
        let s = Signal::from_alert(&alert("Ip", "192.0.2.7"), "r1").unwrap();
        let json = String::from_utf8(s.encode()).unwrap();
        assert_eq!(
            json,
            r#"{"v":1,"reporter":"r1","scenario":"crowdsecurity/ssh-bf","scope":"Ip","value":"192.0.2.7","first_seen":"2024-01-01T00:00:00Z","last_seen":"2024-01-01T00:00:02Z","events":6}"#
        );
        assert_eq!(Signal::decode(json.as_bytes()).unwrap(), s);
    }

    #[test]
    fn unshared_alerts_give_no_signal() {
        assert!(Signal::from_alert(&alert("username", "root"), "r1").is_none());
        let mut a = alert("Ip", "192.0.2.7");
        a.simulated = true;
        assert!(Signal::from_alert(&a, "r1").is_none());
        let r = Signal::from_alert(&alert("range", "192.0.2.0/24"), "r1").unwrap();
        assert_eq!(
            (r.scope.as_str(), r.value.as_str()),
            ("Range", "192.0.2.0/24")
        );
    }

    #[test]
    fn decode_refuses_bad_records() {
        let good = Signal::from_alert(&alert("Ip", "192.0.2.7"), "r1").unwrap();
        let mut v2 = good.clone();
        v2.v = 2;
        assert_eq!(Signal::decode(&v2.encode()), Err(SignalError::Version(2)));
        let mut long = good.clone();
        long.scenario = "x".repeat(SIGNAL_FIELD_MAX + 1);
        assert_eq!(
            Signal::decode(&long.encode()),
            Err(SignalError::TooLong("scenario"))
        );
        let mut empty = good.clone();
        empty.reporter.clear();
        assert_eq!(
            Signal::decode(&empty.encode()),
            Err(SignalError::Empty("reporter"))
        );
        let mut scope = good;
        scope.scope = "Country".into();
        assert!(matches!(
            Signal::decode(&scope.encode()),
            Err(SignalError::Scope(_))
        ));
        assert!(matches!(Signal::decode(b"{}"), Err(SignalError::Json(_))));
    }
}
