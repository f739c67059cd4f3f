//! The Local API's JSON models as watchers send them and as we answer (`Alert`, `Decision`,
//! `Source`, `Event`, watcher auth bodies), deserialized leniently: every field is optional,
//! `null` reads as the default, unknown fields are ignored. Go clients send `null` for nil
//! slices and pointers, so strictness here would reject real agents.

use serde::{Deserialize, Deserializer, Serialize};

/// Reads `null` (or a missing field, with `#[serde(default)]`) as `T::default()`.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}

fn is_zero_f32(v: &f32) -> bool {
    *v == 0.0
}

/// One key/value of an event's or alert's meta.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaItem {
    /// Meta key.
    #[serde(default, deserialize_with = "nullable")]
    pub key: String,
    /// Meta value.
    #[serde(default, deserialize_with = "nullable")]
    pub value: String,
}

/// An event of an alert.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The event's time, as the watcher wrote it.
    #[serde(default, deserialize_with = "nullable")]
    pub timestamp: String,
    /// The event's meta.
    #[serde(default, deserialize_with = "nullable")]
    pub meta: Vec<MetaItem>,
}

/// Who an alert is about.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// `Ip`, `Range`, or another scope.
    #[serde(default, deserialize_with = "nullable")]
    pub scope: String,
    /// The scope's value.
    #[serde(default, deserialize_with = "nullable")]
    pub value: String,
    /// Source IP.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub ip: String,
    /// Source range.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub range: String,
    /// AS number.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub as_number: String,
    /// AS name.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub as_name: String,
    /// Country code.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub cn: String,
    /// Latitude.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero_f32"
    )]
    pub latitude: f32,
    /// Longitude.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero_f32"
    )]
    pub longitude: f32,
}

/// A decision as watchers send it inside alerts and as we answer it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Remaining duration (Go duration text).
    #[serde(default, deserialize_with = "nullable")]
    pub duration: String,
    /// Decision id (answers only).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero_i64"
    )]
    pub id: i64,
    /// Origin (`crowdsec`, `cscli`, ...).
    #[serde(default, deserialize_with = "nullable")]
    pub origin: String,
    /// Scenario.
    #[serde(default, deserialize_with = "nullable")]
    pub scenario: String,
    /// Scope.
    #[serde(default, deserialize_with = "nullable")]
    pub scope: String,
    /// Simulation mode.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub simulated: Option<bool>,
    /// `ban`, `captcha`, ...
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    pub kind: String,
    /// Absolute end time (RFC 3339), when the watcher gives one.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub until: String,
    /// Decision UUID.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub uuid: String,
    /// The value (IP, range, ...).
    #[serde(default, deserialize_with = "nullable")]
    pub value: String,
}

/// An alert (`POST /v1/alerts` item, `GET /v1/alerts` item).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Alert id (answers only).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero_i64"
    )]
    pub id: i64,
    /// The machine that pushed it.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub machine_id: String,
    /// Creation time (RFC 3339).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub created_at: String,
    /// Alert UUID.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub uuid: String,
    /// Scenario name.
    #[serde(default, deserialize_with = "nullable")]
    pub scenario: String,
    /// Scenario hash.
    #[serde(default, deserialize_with = "nullable")]
    pub scenario_hash: String,
    /// Scenario version.
    #[serde(default, deserialize_with = "nullable")]
    pub scenario_version: String,
    /// Human message.
    #[serde(default, deserialize_with = "nullable")]
    pub message: String,
    /// Number of events.
    #[serde(default, deserialize_with = "nullable")]
    pub events_count: i64,
    /// First event time.
    #[serde(default, deserialize_with = "nullable")]
    pub start_at: String,
    /// Overflow time.
    #[serde(default, deserialize_with = "nullable")]
    pub stop_at: String,
    /// Bucket capacity.
    #[serde(default, deserialize_with = "nullable")]
    pub capacity: i64,
    /// Leak speed (Go duration text).
    #[serde(default, deserialize_with = "nullable")]
    pub leakspeed: String,
    /// Simulation mode.
    #[serde(default, deserialize_with = "nullable")]
    pub simulated: bool,
    /// Whether remediation was asked for.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub remediation: bool,
    /// Kind (`crowdsec`, `manual`, ...).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub kind: String,
    /// Who it is about.
    #[serde(default, deserialize_with = "nullable")]
    pub source: Source,
    /// Events.
    #[serde(default, deserialize_with = "nullable")]
    pub events: Vec<Event>,
    /// Alert meta (context).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub meta: Vec<MetaItem>,
    /// Labels.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub labels: Vec<String>,
    /// Decisions.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub decisions: Vec<Decision>,
}

/// `POST /v1/watchers` body.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WatcherRegistration {
    /// Machine id.
    #[serde(default, deserialize_with = "nullable")]
    pub machine_id: String,
    /// Password.
    #[serde(default, deserialize_with = "nullable")]
    pub password: String,
}

/// `POST /v1/watchers/login` body.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WatcherLogin {
    /// Machine id.
    #[serde(default, deserialize_with = "nullable")]
    pub machine_id: String,
    /// Password.
    #[serde(default, deserialize_with = "nullable")]
    pub password: String,
    /// Installed scenarios.
    #[serde(default, deserialize_with = "nullable")]
    pub scenarios: Vec<String>,
}

/// `POST /v1/watchers/login` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginResponse {
    /// Always 200.
    pub code: u16,
    /// Token expiry (RFC 3339).
    pub expire: String,
    /// The JWT.
    pub token: String,
}

impl From<&wire::MetaItem> for MetaItem {
    fn from(m: &wire::MetaItem) -> Self {
        MetaItem {
            key: m.key.clone(),
            value: m.value.clone(),
        }
    }
}

impl From<&MetaItem> for wire::MetaItem {
    fn from(m: &MetaItem) -> Self {
        wire::MetaItem {
            key: m.key.clone(),
            value: m.value.clone(),
        }
    }
}

impl From<&wire::Decision> for Decision {
    fn from(d: &wire::Decision) -> Self {
        Decision {
            duration: d.duration.clone(),
            origin: d.origin.clone(),
            scenario: d.scenario.clone(),
            scope: d.scope.clone(),
            simulated: Some(d.simulated),
            kind: d.kind.clone(),
            value: d.value.clone(),
            ..Decision::default()
        }
    }
}

impl From<&Decision> for wire::Decision {
    fn from(d: &Decision) -> Self {
        wire::Decision {
            duration: d.duration.clone(),
            origin: d.origin.clone(),
            scenario: d.scenario.clone(),
            scope: d.scope.clone(),
            kind: d.kind.clone(),
            value: d.value.clone(),
            simulated: d.simulated.unwrap_or(false),
        }
    }
}

impl From<&wire::Alert> for Alert {
    fn from(a: &wire::Alert) -> Self {
        let s = &a.source;
        Alert {
            scenario: a.scenario.clone(),
            scenario_hash: a.scenario_hash.clone(),
            scenario_version: a.scenario_version.clone(),
            message: a.message.clone(),
            events_count: i64::from(a.events_count),
            start_at: a.start_at.clone(),
            stop_at: a.stop_at.clone(),
            capacity: i64::from(a.capacity),
            leakspeed: a.leakspeed.clone(),
            simulated: a.simulated,
            remediation: a.remediation,
            kind: a.kind.clone(),
            source: Source {
                scope: s.scope.clone(),
                value: s.value.clone(),
                ip: s.ip.clone(),
                range: s.range.clone(),
                as_number: s.as_number.clone(),
                as_name: s.as_name.clone(),
                cn: s.cn.clone(),
                latitude: s.latitude,
                longitude: s.longitude,
            },
            events: a
                .events
                .iter()
                .map(|e| Event {
                    timestamp: e.timestamp.clone(),
                    meta: e.meta.iter().map(MetaItem::from).collect(),
                })
                .collect(),
            meta: a.meta.iter().map(MetaItem::from).collect(),
            decisions: a.decisions.iter().map(Decision::from).collect(),
            ..Alert::default()
        }
    }
}

impl From<&Alert> for wire::Alert {
    fn from(a: &Alert) -> Self {
        let s = &a.source;
        wire::Alert {
            scenario: a.scenario.clone(),
            scenario_hash: a.scenario_hash.clone(),
            scenario_version: a.scenario_version.clone(),
            message: a.message.clone(),
            events_count: i32::try_from(a.events_count).unwrap_or(i32::MAX),
            start_at: a.start_at.clone(),
            stop_at: a.stop_at.clone(),
            capacity: i32::try_from(a.capacity).unwrap_or(i32::MAX),
            leakspeed: a.leakspeed.clone(),
            simulated: a.simulated,
            events: a
                .events
                .iter()
                .map(|e| wire::AlertEvent {
                    timestamp: e.timestamp.clone(),
                    meta: e.meta.iter().map(wire::MetaItem::from).collect(),
                })
                .collect(),
            remediation: a.remediation,
            source: wire::Source {
                scope: s.scope.clone(),
                value: s.value.clone(),
                ip: s.ip.clone(),
                range: s.range.clone(),
                as_number: s.as_number.clone(),
                as_name: s.as_name.clone(),
                cn: s.cn.clone(),
                latitude: s.latitude,
                longitude: s.longitude,
            },
            meta: a.meta.iter().map(wire::MetaItem::from).collect(),
            kind: a.kind.clone(),
            decisions: a.decisions.iter().map(wire::Decision::from).collect(),
        }
    }
}

/// CrowdSec's scope normalisation: `ip` → `Ip`, `range` → `Range`, `country` → `Country`,
/// `as` → `AS`; other scopes are kept as given.
pub fn normalize_scope(scope: &str) -> String {
    match scope.to_ascii_lowercase().as_str() {
        "ip" => "Ip".to_string(),
        "range" => "Range".to_string(),
        "country" => "Country".to_string(),
        "as" => "AS".to_string(),
        _ => scope.to_string(),
    }
}
