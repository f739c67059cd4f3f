//! A parsed event on its way from the parse stage to the detect stage (`hivewall.events`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The version of the event record this build writes and reads.
pub const EVENT_VERSION: u32 = 1;

/// A scenario's bucket an event goes to: the detect stage pours the event into these only,
/// without evaluating the scenarios' filters and `groupby` again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// The scenario's stable id (its name, and the hash of its file when several versions
    /// could be loaded).
    pub scenario: String,
    /// The scenario's `groupby` value (empty without `groupby`).
    pub group: String,
}

/// One event of CrowdSec's `pipeline.Event` after the parsers (a log event, never an
/// overflow), with Go's field names where CrowdSec has them, plus its routes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EventRecord {
    /// Record format version ([`EVENT_VERSION`]).
    pub v: u32,
    /// The buckets of this partition that take the event.
    #[serde(default)]
    pub routes: Vec<Route>,
    /// Where the line came from on `hivewall.lines` (partition, offset) and which of the
    /// line's records this is (a line goes out once per routing key): a parse stage that
    /// restarts writes the events of its uncommitted lines again, and the detect stage drops
    /// those it already applied by this position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<(i32, i64, u32)>,
    /// The line as read.
    pub line: crate::RawLine,
    /// `Line.Process`.
    #[serde(default)]
    pub line_process: bool,
    /// `ExpectMode`: 1 live, 2 time machine (replay).
    pub expect_mode: u8,
    /// The parser stage reached.
    #[serde(default)]
    pub stage: String,
    /// `Whitelisted` (whitelisted events are not sent; kept for completeness).
    #[serde(default)]
    pub whitelisted: bool,
    /// `Parsed`.
    #[serde(default)]
    pub parsed: BTreeMap<String, String>,
    /// `Enriched`.
    #[serde(default)]
    pub enriched: BTreeMap<String, String>,
    /// `Meta`.
    #[serde(default)]
    pub meta: BTreeMap<String, String>,
    /// `Unmarshaled` (JSON object).
    #[serde(default)]
    pub unmarshaled: serde_json::Map<String, serde_json::Value>,
    /// `Time`, RFC 3339 with nanoseconds (absent: Go's zero time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// `StrTime`.
    #[serde(default)]
    pub str_time: String,
    /// `StrTimeFormat`.
    #[serde(default)]
    pub str_time_format: String,
    /// `MarshaledTime`.
    #[serde(default)]
    pub marshaled_time: String,
    /// `Process`.
    #[serde(default)]
    pub process: bool,
}
