//! The alert model of CrowdSec's Local API (`Alert`, `Source`, `Event`, `Meta` in
//! `localapi_swagger.yaml`): what an overflow produces and what watchers push.
//!
//! Sources and field order are fixed so that output is reproducible.

use serde::{Deserialize, Serialize};

use crate::Decision;

/// One key/value of an event's or alert's meta (LAPI `Meta` item).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaItem {
    /// Meta key.
    pub key: String,
    /// Meta value.
    pub value: String,
}

/// An event of an alert (LAPI `Event`): its time and its meta.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    /// The event's time (Go `MarshalText`).
    pub timestamp: String,
    /// The event's meta, sorted by key.
    pub meta: Vec<MetaItem>,
}

/// Who the alert is about (LAPI `Source`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// `Ip`, `Range` or a custom scope.
    pub scope: String,
    /// The scope's value (the IP, the range, ...).
    pub value: String,
    /// The source IP, when known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ip: String,
    /// The source range, when known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub range: String,
    /// Autonomous system number.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub as_number: String,
    /// Autonomous system name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub as_name: String,
    /// Country code.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cn: String,
    /// Latitude (Go float32).
    #[serde(default, skip_serializing_if = "is_zero_f32")]
    pub latitude: f32,
    /// Longitude (Go float32).
    #[serde(default, skip_serializing_if = "is_zero_f32")]
    pub longitude: f32,
}

fn is_zero_f32(f: &f32) -> bool {
    *f == 0.0
}

/// An alert as the Local API takes it (LAPI `Alert`, the fields a bucket fills).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Scenario name.
    pub scenario: String,
    /// Scenario hash (from the hub, empty for local files).
    pub scenario_hash: String,
    /// Scenario version.
    pub scenario_version: String,
    /// `Ip 1.2.3.4 performed 'x' (6 events over 2.5s) at ...`.
    pub message: String,
    /// Events poured into the bucket.
    pub events_count: i32,
    /// First event time.
    pub start_at: String,
    /// Overflow time.
    pub stop_at: String,
    /// Scenario capacity.
    pub capacity: i32,
    /// Scenario leak speed (Go duration string).
    pub leakspeed: String,
    /// Whether the scenario is in simulation mode.
    pub simulated: bool,
    /// The events of the bucket's queue, with their meta.
    pub events: Vec<AlertEvent>,
    /// Whether decisions should be taken (`labels.remediation: true`).
    #[serde(default)]
    pub remediation: bool,
    /// The source this alert is about.
    pub source: Source,
    /// Alert context.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub meta: Vec<MetaItem>,
    /// `crowdsec`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Decisions taken on this alert (by profiles, or pushed by a watcher with it). The
    /// engine leaves this empty and returns decisions beside the alert.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decisions: Vec<Decision>,
}
