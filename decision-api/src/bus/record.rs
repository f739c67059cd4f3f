//! Records of the decisions topic to and from what the store keeps, and the records of the
//! bouncers topic.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::view::Cursor;
use crate::godur;
use crate::model;
use crate::store::record::{AlertRecord, BouncerRecord, DecisionRecord};

/// Why a record of the decisions or bouncers topic was skipped.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    /// The record has no key.
    #[error("record without a key")]
    NoKey,
    /// A version this build does not read.
    #[error("record version {0} not supported (this build reads version {1})")]
    Version(u32, u32),
    /// Not JSON of the expected shape.
    #[error("not a valid record: {0}")]
    Json(String),
    /// `until` is not an RFC 3339 time.
    #[error("`until` {0:?} is not an RFC 3339 time")]
    Until(String),
}

/// The id of the decision a record carries: the same on every replica, from its key and
/// uuid. A positive number below 2^53, so JavaScript bouncers read it exactly.
pub fn decision_id(key: &str, uuid: &str) -> i64 {
    let mut h = Sha256::new();
    h.update(key.as_bytes());
    h.update([0]);
    h.update(uuid.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    i64::try_from(u64::from_be_bytes(b) >> 11)
        .unwrap_or(1)
        .max(1)
}

#[derive(Deserialize)]
struct VersionProbe {
    #[serde(default)]
    v: Option<u32>,
}

fn check_version(value: &[u8], want: u32) -> Result<(), RecordError> {
    let probe: VersionProbe =
        serde_json::from_slice(value).map_err(|e| RecordError::Json(e.to_string()))?;
    match probe.v {
        Some(v) if v == want => Ok(()),
        Some(v) => Err(RecordError::Version(v, want)),
        None => Err(RecordError::Json("no `v` field".to_string())),
    }
}

/// Reads the value of a decisions record keyed `key` into the store's decision and the alert
/// that carries it (both with id [`decision_id`]).
pub fn decode_decision(
    key: &str,
    value: &[u8],
) -> Result<(DecisionRecord, AlertRecord), RecordError> {
    check_version(value, wire::bus::DECISION_VERSION)?;
    let r: wire::bus::DecisionRecord =
        serde_json::from_slice(value).map_err(|e| RecordError::Json(e.to_string()))?;
    let until_ms =
        godur::parse_rfc3339_ms(&r.until).ok_or_else(|| RecordError::Until(r.until.clone()))?;
    let created_ms = godur::parse_rfc3339_ms(&r.created_at).unwrap_or_else(godur::now_ms);
    let id = decision_id(key, &r.uuid);
    let d = r.decision;
    let scope = model::normalize_scope(&d.scope);
    let rec = DecisionRecord {
        id,
        uuid: r.uuid.clone(),
        alert_id: id,
        created_ms,
        until_ms,
        scope: scope.clone(),
        value: d.value.clone(),
        kind: d.kind.clone(),
        origin: d.origin.clone(),
        scenario: d.scenario.clone(),
        simulated: d.simulated,
        seq: 0,
        del_seq: 0,
    };
    let created = godur::rfc3339_ms(created_ms);
    let alert = model::Alert {
        uuid: r.alert_uuid.unwrap_or(r.uuid),
        scenario: d.scenario.clone(),
        message: d.scenario.clone(),
        events_count: 1,
        start_at: created.clone(),
        stop_at: created,
        leakspeed: "0".to_string(),
        simulated: d.simulated,
        remediation: true,
        source: model::Source {
            ip: if scope == "Ip" {
                d.value.clone()
            } else {
                String::new()
            },
            range: if scope == "Range" {
                d.value.clone()
            } else {
                String::new()
            },
            scope,
            value: d.value,
            ..model::Source::default()
        },
        ..model::Alert::default()
    };
    let alert = AlertRecord {
        id,
        created_ms,
        machine_id: String::new(),
        started_ms: created_ms,
        alert,
        decision_ids: vec![id],
    };
    Ok((rec, alert))
}

/// The value of a decisions record for decision `d` (scope already normalised) of the alert
/// `alert_uuid`, made at `created_ms` and ending at `until_ms`.
pub fn encode_decision(
    d: &model::Decision,
    uuid: &str,
    alert_uuid: Option<&str>,
    created_ms: i64,
    until_ms: i64,
) -> Vec<u8> {
    let rec = wire::bus::DecisionRecord {
        v: wire::bus::DECISION_VERSION,
        uuid: uuid.to_string(),
        decision: wire::Decision::from(d),
        until: godur::rfc3339_ms(until_ms),
        created_at: godur::rfc3339_ms(created_ms),
        alert_uuid: alert_uuid.map(str::to_string),
    };
    // Strings and numbers only: serializing cannot fail.
    serde_json::to_vec(&rec).unwrap_or_default()
}

/// The version of the bouncers record this build writes and reads.
pub const BOUNCER_VERSION: u32 = 1;

/// A record of the bouncers topic (keyed by name): the registration and the stream cursor.
/// A tombstone deletes the bouncer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BouncerEntry {
    /// Format version ([`BOUNCER_VERSION`]).
    pub v: u32,
    /// The registration (name, key hash, last pull...); its `cursor` field is unused.
    pub bouncer: BouncerRecord,
    /// Where its stream stands, once it pulled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<Cursor>,
}

/// Reads a bouncers record's value.
pub fn decode_bouncer(value: &[u8]) -> Result<BouncerEntry, RecordError> {
    check_version(value, BOUNCER_VERSION)?;
    serde_json::from_slice(value).map_err(|e| RecordError::Json(e.to_string()))
}

/// Writes a bouncers record's value.
pub fn encode_bouncer(entry: &BouncerEntry) -> Vec<u8> {
    serde_json::to_vec(entry).unwrap_or_default()
}
