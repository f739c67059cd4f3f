//! Topic names and record framing on Kafka.
//!
//! `hivewall.lines` carries one JSON [`RawLine`] per record, keyed by its source (so one file's
//! lines stay in order on one partition). hivewall's own producers add the headers
//! [`HEADER_KIND`] and [`HEADER_VERSION`]; third-party shippers (Vector, Fluent Bit) may leave
//! them out: a record without a version is version 1. Decoding is lenient where shippers
//! differ and strict where meaning would be lost: unknown fields are ignored, `message` is read
//! as `raw` and `timestamp` as `time` (Vector's and Fluent Bit's names), but a record without a
//! line, or of a version this build does not know, is an error the consumer counts.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::RawLine;

/// The topic of raw lines.
pub const LINES_TOPIC: &str = "hivewall.lines";
/// The topic of alerts (one JSON [`crate::Alert`] per record, with its decisions).
pub const ALERTS_TOPIC: &str = "hivewall.alerts";
/// The compacted topic of decisions, keyed by `scope:value`.
pub const DECISIONS_TOPIC: &str = "hivewall.decisions";
/// Community signals (`crate::signal::Signal` as JSON, keyed by the signal's value), written by
/// processors that share them and read by `hivewall consensus`.
pub const SIGNALS_TOPIC: &str = "hivewall.signals";
/// The community feed as a compacted topic (`hivewall consensus` writes it): records in the
/// format of [`DECISIONS_TOPIC`] (origin `CAPI`, key `scope:value`, a tombstone when an address
/// leaves the feed).
pub const FEED_TOPIC: &str = "hivewall.feed";

/// Header naming what a record holds (`line`, `alert`, `decision`).
pub const HEADER_KIND: &str = "hivewall-kind";
/// Header holding the record format's version, in decimal.
pub const HEADER_VERSION: &str = "hivewall-version";
/// The version of the line record this build writes and reads.
pub const LINE_VERSION: u32 = 1;

/// Why a record of `hivewall.lines` could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    /// The record has no value (a tombstone, or an empty message).
    #[error("record without a value")]
    Empty,
    /// The value is not a JSON object of the line format.
    #[error("not a line record: {0}")]
    Json(String),
    /// Neither `raw` nor `message` is present.
    #[error("line record without `raw` (or `message`)")]
    NoLine,
    /// The version header is not a number, or one this build does not know.
    #[error("line record version {0:?} not supported (this build reads version {LINE_VERSION})")]
    Version(String),
}

/// The lenient shape of a line record: CrowdSec's names first, shippers' names as fallbacks.
#[derive(Deserialize)]
struct LenientLine {
    #[serde(default)]
    raw: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    src: Option<String>,
    #[serde(default)]
    module: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
}

/// Reads a record of `hivewall.lines`: its value and its [`HEADER_VERSION`] header, if any.
pub fn decode_line(value: Option<&[u8]>, version: Option<&[u8]>) -> Result<RawLine, RecordError> {
    if let Some(v) = version {
        let text = String::from_utf8_lossy(v);
        if text.trim().parse::<u32>() != Ok(LINE_VERSION) {
            return Err(RecordError::Version(text.into_owned()));
        }
    }
    let value = value.filter(|v| !v.is_empty()).ok_or(RecordError::Empty)?;
    // Checked as UTF-8 once, then parsed as text: `from_slice` checks every string alone,
    // which cost more than the whole value's check (BENCHMARKS.md, record_bench).
    let text = std::str::from_utf8(value)
        .map_err(|e| RecordError::Json(format!("not UTF-8 at byte {}", e.valid_up_to())))?;
    let l: LenientLine =
        serde_json::from_str(text).map_err(|e| RecordError::Json(e.to_string()))?;
    let raw = l.raw.or(l.message).ok_or(RecordError::NoLine)?;
    let labels = l
        .labels
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            (k, v)
        })
        .collect();
    Ok(RawLine {
        raw,
        src: l.src.unwrap_or_default(),
        module: l.module.unwrap_or_else(|| "kafka".to_string()),
        labels,
        time: l.time.or(l.timestamp),
    })
}

/// Writes a line record's value (JSON, CrowdSec's field names).
pub fn encode_line(line: &RawLine) -> Vec<u8> {
    // A RawLine is strings and a string map: serializing it cannot fail.
    serde_json::to_vec(line).unwrap_or_default()
}

/// The key of a line record: its source, so that one source's lines keep their order.
pub fn line_key(line: &RawLine) -> &str {
    if line.src.is_empty() {
        &line.module
    } else {
        &line.src
    }
}

/// The version of the decision record this build writes and reads.
pub const DECISION_VERSION: u32 = 1;

/// A record of the compacted `hivewall.decisions` topic, keyed by [`decision_key`]
/// (`scope:value`, the scope lowercased). The record's value is this struct as JSON; a record
/// without a value (a tombstone) means the value has no decision any more (deleted by an
/// operator, or expired). A key's decision is its record that ends last since its last
/// tombstone (the newest of equals), as the Local API serves the longest decision of a value;
/// readers compare `until` with their clock (expired decisions are not always tombstoned at
/// once). ARCHITECTURE.md ("Reading `hivewall.decisions` directly") says how to consume it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct DecisionRecord {
    /// Record format version ([`DECISION_VERSION`]).
    pub v: u32,
    /// A stable identifier, derived from what caused the decision (for a processor's alert:
    /// the scenario, the bucket key and the overflow time), so that an alert emitted again
    /// after a crash writes the same record, not a second decision.
    pub uuid: String,
    /// The decision as the Local API models it (`duration` is the duration asked for; the time
    /// left is `until` minus now).
    pub decision: crate::Decision,
    /// When it ends, RFC 3339 (UTC).
    pub until: String,
    /// When it was made, RFC 3339 (UTC).
    pub created_at: String,
    /// The uuid of the alert it came from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_uuid: Option<String>,
}

/// The key of a decision on `hivewall.decisions`: `scope:value`, the scope lowercased
/// (`ip:192.0.2.1`, `range:10.0.0.0/8`).
pub fn decision_key(scope: &str, value: &str) -> String {
    format!("{}:{value}", scope.to_ascii_lowercase())
}
