//! A parsed event on its way from the parse stage to the detect stage (`hivewall.events`).
//!
//! Three formats, told apart by the value's first byte: version 1 is the JSON of
//! [`EventRecord`] (a JSON object: first byte `{` or white space), versions 2 and 3 the binary
//! layout below (first byte 2 or [`EVENT_VERSION`], 3). This build writes version 3 and reads
//! all three, so records written by an older parse stage stay readable; all are read into the
//! borrowed [`EventRecordRef`] ([`decode_event`]).
//!
//! A record is its first byte (the version), then the part that differs between the copies
//! of one event (one copy per routing key: its origin and its routes), then the event's body,
//! which is encoded once and copied into each ([`encode_body`], [`encode_record`]):
//!
//! ```text
//! record  = version, origin, count, (scenario, group)*count, body
//! origin  = 0x00 | 0x01, zigzag(partition), zigzag(offset), index
//! body    = len, text, fields                  (version 3)
//!         | fields                             (version 2, strings inline)
//! fields  = flags, expect_mode, raw, src, module, map(labels), time(line)?, stage,
//!           map(parsed), map(enriched), map(meta), unmarshaled, time(event)?,
//!           str_time, str_time_format, marshaled_time
//! flags   = bit 0 Line.Process, 1 Whitelisted, 2 Process, 3 line time present,
//!           4 event time present
//! map     = count, (key, value)*count
//! string  = len, UTF-8 bytes                   (routes; body strings of version 2)
//!         | len                                (body strings of version 3: the next `len`
//!                                               bytes of `text`)
//! time    = zigzag(unix seconds), nanoseconds, zigzag(UTC offset in seconds)
//! ```
//!
//! In version 3 the body's strings are one UTF-8 `text` (every string of the fields, in
//! their order), checked once, instead of a check per string (on a parsed auth line's
//! ~50 short strings, those checks cost more than the rest of the decoding); the text must
//! be used up exactly, and every string must start and end on a character boundary.
//! Numbers (counts, lengths, the parts of times and origins) are unsigned LEB128 varints,
//! signed ones zigzag-mapped first. `unmarshaled` is the JSON text of `evt.Unmarshaled`, empty
//! when it is. Nothing may follow the body.

mod binary;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use binary::{
    EventBody, EventRecordRef, EventTime, RecordError, decode_event, encode_body, encode_record,
};

/// The version of the event record this build writes (the binary layout with one text per
/// body; it reads version 2, and version 1, [`EventRecord`]'s JSON, too).
pub const EVENT_VERSION: u32 = 3;

/// The version of the JSON [`EventRecord`] (its `v`).
pub const EVENT_JSON_VERSION: u32 = 1;

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
    /// Record format version ([`EVENT_JSON_VERSION`]).
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
