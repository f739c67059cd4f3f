//! A community feed as CrowdSec's Central API (CAPI) serves it, the `/v2` paths CrowdSec
//! 1.4.6's `apic` client uses: the watcher login, the signals it pushes and the decisions
//! stream it pulls as its community blocklist. Plain serde types shared by the feed's server
//! (`hivewall consensus`) and its subscribers (`hivewall run`, `hivewall api`).
//!
//! Go's encoder writes an empty list as `null`: every list here reads `null` as empty.

use serde::{Deserialize, Deserializer, Serialize};

use crate::signal::Signal;

/// The origin of the decisions of a community feed, as CrowdSec stores them.
pub const CAPI_ORIGIN: &str = "CAPI";

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `POST /v2/watchers/login` (and `POST /v2/watchers`, without `scenarios`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    /// The watcher's login (`login` of `online_api_credentials.yaml`).
    pub machine_id: String,
    /// Its password.
    pub password: String,
    /// The scenarios it runs.
    #[serde(default, deserialize_with = "null_as_default")]
    pub scenarios: Vec<String>,
}

/// The answer to a login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResponse {
    /// HTTP status, repeated.
    #[serde(default)]
    pub code: u16,
    /// When the token expires (RFC 3339).
    #[serde(default, deserialize_with = "null_as_default")]
    pub expire: String,
    /// The bearer token of later calls.
    #[serde(default, deserialize_with = "null_as_default")]
    pub token: String,
}

/// One decision of `GET /v2/decisions/stream`: CrowdSec's `models.Decision` with origin
/// [`CAPI_ORIGIN`]. A deleted decision carries the same fields (its `duration` is
/// meaningless).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedDecision {
    /// Time left (Go duration text, `23h59m58s`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub duration: String,
    /// `CAPI`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub origin: String,
    /// The scenario as the feed names it.
    #[serde(default, deserialize_with = "null_as_default")]
    pub scenario: String,
    /// `Ip` or `Range`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub scope: String,
    /// `ban`.
    #[serde(rename = "type", default, deserialize_with = "null_as_default")]
    pub kind: String,
    /// The address or range.
    #[serde(default, deserialize_with = "null_as_default")]
    pub value: String,
}

/// The answer of `GET /v2/decisions/stream`: with `startup=true` every listed decision in
/// `new`; otherwise what changed since the watcher's previous pull.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedStream {
    /// Decisions listed, or listed again with a new end.
    #[serde(default, deserialize_with = "null_as_default")]
    pub new: Vec<FeedDecision>,
    /// Decisions that left the feed.
    #[serde(default, deserialize_with = "null_as_default")]
    pub deleted: Vec<FeedDecision>,
}

/// The source of a pushed signal (CAPI's `AddSignalsRequestItemSource`, the fields hivewall
/// fills).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapiSource {
    /// `Ip` or `Range`.
    pub scope: String,
    /// The address or range.
    pub value: String,
    /// The address, for scope `Ip`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ip: String,
    /// The range, for scope `Range`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub range: String,
}

/// One item of `POST /v2/signals` (CAPI's `AddSignalsRequestItem`) with only what a
/// [`Signal`] holds: the fields CAPI requires but a signal does not share (`message`,
/// `scenario_hash`, `scenario_version`) are empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapiSignal {
    /// The scenario that fired.
    pub scenario: String,
    /// Empty: not shared.
    #[serde(default)]
    pub scenario_hash: String,
    /// Empty: not shared.
    #[serde(default)]
    pub scenario_version: String,
    /// Empty: not shared.
    #[serde(default)]
    pub message: String,
    /// The attacking source.
    pub source: CapiSource,
    /// The alert's first event (RFC 3339).
    pub start_at: String,
    /// The alert's last event (RFC 3339).
    pub stop_at: String,
}

impl From<&Signal> for CapiSignal {
    fn from(s: &Signal) -> CapiSignal {
        let (ip, range) = match s.scope.as_str() {
            "Ip" => (s.value.clone(), String::new()),
            "Range" => (String::new(), s.value.clone()),
            _ => (String::new(), String::new()),
        };
        CapiSignal {
            scenario: s.scenario.clone(),
            scenario_hash: String::new(),
            scenario_version: String::new(),
            message: String::new(),
            source: CapiSource {
                scope: s.scope.clone(),
                value: s.value.clone(),
                ip,
                range,
            },
            start_at: s.first_seen.clone(),
            stop_at: s.last_seen.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_nulls_read_as_empty_lists() {
        let s: FeedStream = serde_json::from_str(r#"{"new":null,"deleted":null}"#).unwrap();
        assert_eq!(s, FeedStream::default());
        let s: FeedStream = serde_json::from_str(
            r#"{"new":[{"duration":"1h","origin":"CAPI","scenario":"s","scope":"Ip","type":"ban","value":"192.0.2.1","id":7}]}"#,
        )
        .unwrap();
        assert_eq!(s.new[0].value, "192.0.2.1");
        assert_eq!(s.new[0].kind, "ban");
        assert!(s.deleted.is_empty());
    }

    #[test]
    fn a_signal_becomes_a_capi_item_without_anything_else() {
        let sig = Signal {
            v: crate::signal::SIGNAL_VERSION,
            reporter: "r".into(),
            scenario: "crowdsecurity/ssh-bf".into(),
            scope: "Ip".into(),
            value: "192.0.2.7".into(),
            first_seen: "2024-01-01T00:00:00Z".into(),
            last_seen: "2024-01-01T00:00:02Z".into(),
            events: 6,
        };
        let json = serde_json::to_string(&CapiSignal::from(&sig)).unwrap();
        assert_eq!(
            json,
            r#"{"scenario":"crowdsecurity/ssh-bf","scenario_hash":"","scenario_version":"","message":"","source":{"scope":"Ip","value":"192.0.2.7","ip":"192.0.2.7"},"start_at":"2024-01-01T00:00:00Z","stop_at":"2024-01-01T00:00:02Z"}"#
        );
    }
}
