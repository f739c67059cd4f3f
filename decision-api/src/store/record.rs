//! What the store persists: one JSON value per RocksDB key.

use serde::{Deserialize, Serialize};

use crate::godur;
use crate::model;

/// A stored decision. `del_seq != 0` marks a tombstone (deleted by an operator, or swept
/// after expiry); tombstones are kept for the retention period so streams can report them
/// and profiles can count history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// Decision id (monotonic).
    pub id: i64,
    /// Decision UUID.
    #[serde(default)]
    pub uuid: String,
    /// The alert it belongs to (0 when none).
    #[serde(default)]
    pub alert_id: i64,
    /// Creation time, unix ms.
    pub created_ms: i64,
    /// End time, unix ms (set to the deletion time on delete).
    pub until_ms: i64,
    /// Scope (normalised: `Ip`, `Range`, ...).
    pub scope: String,
    /// Value.
    pub value: String,
    /// Type (`ban`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// Origin.
    pub origin: String,
    /// Scenario.
    pub scenario: String,
    /// Simulation mode.
    #[serde(default)]
    pub simulated: bool,
    /// Change sequence number of its creation.
    pub seq: u64,
    /// Change sequence number of its deletion/expiry (0 while active).
    #[serde(default)]
    pub del_seq: u64,
}

impl DecisionRecord {
    /// Active at `now` (not deleted, not expired).
    pub fn is_active(&self, now_ms: i64) -> bool {
        self.del_seq == 0 && self.until_ms > now_ms
    }

    /// The LAPI model of this decision with its remaining duration at `now_ns` (unix ns).
    pub fn to_model(&self, now_ns: i128) -> model::Decision {
        model::Decision {
            duration: godur::format_remaining(self.until_ms, now_ns),
            id: self.id,
            origin: self.origin.clone(),
            scenario: self.scenario.clone(),
            scope: self.scope.clone(),
            simulated: Some(self.simulated),
            kind: self.kind.clone(),
            until: godur::rfc3339_ms(self.until_ms),
            uuid: self.uuid.clone(),
            value: self.value.clone(),
        }
    }

    /// Appends the bouncer JSON of this decision (CrowdSec's `FormatDecisions` fields) to `out`,
    /// with its remaining duration at `now_ns` (unix ns).
    pub fn write_bouncer_json(&self, now_ns: i128, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"duration\":\"");
        wire::write_go_duration(i128::from(self.until_ms) * 1_000_000 - now_ns, out);
        out.extend_from_slice(b"\",\"id\":");
        push_i64(self.id, out);
        for (k, v) in [
            (&b",\"origin\":"[..], &self.origin),
            (b",\"scenario\":", &self.scenario),
            (b",\"scope\":", &self.scope),
            (b",\"type\":", &self.kind),
            (b",\"uuid\":", &self.uuid),
            (b",\"value\":", &self.value),
        ] {
            out.extend_from_slice(k);
            write_json_str(v, out);
        }
        out.push(b'}');
    }
}

/// The decimal text of `v`.
fn push_i64(v: i64, out: &mut Vec<u8>) {
    if v < 0 {
        out.push(b'-');
    }
    let mut u = v.unsigned_abs();
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// A JSON string: written as is when nothing in it needs escaping (the common case for
/// addresses, scenario names and uuids), through `serde_json` otherwise.
fn write_json_str(s: &str, out: &mut Vec<u8>) {
    if s.bytes()
        .all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b < 0x7f)
    {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing a &str into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// A stored alert: the alert as received (without its decisions) plus bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    /// Alert id.
    pub id: i64,
    /// Creation time, unix ms.
    pub created_ms: i64,
    /// The machine that pushed it.
    pub machine_id: String,
    /// Start time parsed from `start_at`, unix ms (creation time when unparsable).
    pub started_ms: i64,
    /// The alert body (decisions removed; they live in the decisions column family).
    pub alert: model::Alert,
    /// Ids of its decisions.
    pub decision_ids: Vec<i64>,
}

/// A registered bouncer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BouncerRecord {
    /// Name.
    pub name: String,
    /// Hex SHA-256 of the API key.
    pub key_hash: String,
    /// Creation time, unix ms.
    pub created_ms: i64,
    /// Last seen IP.
    #[serde(default)]
    pub ip: String,
    /// Type from the User-Agent (`crowdsec-firewall-bouncer`).
    #[serde(default)]
    pub kind: String,
    /// Version from the User-Agent.
    #[serde(default)]
    pub version: String,
    /// Last pull, unix ms.
    #[serde(default)]
    pub last_pull_ms: Option<i64>,
    /// Stream cursor: the last change sequence number delivered.
    #[serde(default)]
    pub cursor: u64,
}

/// A registered machine (watcher).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineRecord {
    /// Machine id.
    pub machine_id: String,
    /// Hex SHA-256 of salt and password.
    pub password_hash: String,
    /// Hex salt.
    pub salt: String,
    /// Creation time, unix ms.
    pub created_ms: i64,
    /// Last update, unix ms.
    #[serde(default)]
    pub updated_ms: i64,
    /// Whether an operator validated it.
    #[serde(default)]
    pub validated: bool,
    /// Last known IP.
    #[serde(default)]
    pub ip: String,
    /// Version from the User-Agent.
    #[serde(default)]
    pub version: String,
    /// Installed scenarios (comma list).
    #[serde(default)]
    pub scenarios: String,
    /// Last heartbeat, unix ms.
    #[serde(default)]
    pub last_heartbeat_ms: Option<i64>,
    /// Last alert push, unix ms.
    #[serde(default)]
    pub last_push_ms: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::DecisionRecord;

    fn record(id: i64, value: &str, scenario: &str) -> DecisionRecord {
        DecisionRecord {
            id,
            uuid: "4b0a-uuid".into(),
            alert_id: 1,
            created_ms: 0,
            until_ms: 7_200_000,
            scope: "Ip".into(),
            value: value.into(),
            kind: "ban".into(),
            origin: "cscli".into(),
            scenario: scenario.into(),
            simulated: false,
            seq: 1,
            del_seq: 0,
        }
    }

    /// The hand-written bouncer JSON reads back as the same fields serde writes, for plain
    /// values and for ones that need escaping.
    #[test]
    fn bouncer_json_matches_serde() -> Result<(), serde_json::Error> {
        for (id, value, scenario) in [
            (7, "192.0.2.1", "crowdsecurity/ssh-bf"),
            (-3, "a\"b\\c\nd\u{1}", "tab\there é ü \u{7f}"),
            (i64::MAX, "", "x"),
        ] {
            let r = record(id, value, scenario);
            let now_ns = 1_500_000_000;
            let mut out = Vec::new();
            r.write_bouncer_json(now_ns, &mut out);
            let got: serde_json::Value = serde_json::from_slice(&out)?;
            let m = r.to_model(now_ns);
            let want = serde_json::json!({
                "duration": m.duration, "id": m.id, "origin": m.origin,
                "scenario": m.scenario, "scope": m.scope, "type": m.kind,
                "uuid": m.uuid, "value": m.value,
            });
            assert_eq!(got, want);
        }
        Ok(())
    }
}
