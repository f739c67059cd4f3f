//! A raw log line as acquisition produces it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One line read by an acquisition source, before any parsing. This is the record written to
/// `hivewall.lines`; field names follow CrowdSec's `types.Line` so shippers can map to it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLine {
    /// The line, without its trailing newline. Invalid UTF-8 is replaced (lossy) at the source.
    #[serde(rename = "raw")]
    pub raw: String,
    /// Where it came from: a file path, `udp://...`, `stdin`.
    #[serde(rename = "src", default)]
    pub src: String,
    /// The acquisition module (`file`, `syslog`, `journalctl`, ...).
    #[serde(rename = "module", default)]
    pub module: String,
    /// Labels of the acquisition, `type` chief among them (`syslog`, `nginx`, ...).
    #[serde(rename = "labels", default)]
    pub labels: BTreeMap<String, String>,
    /// When the source read it, RFC 3339; the parsed timestamp takes over later.
    #[serde(rename = "time", default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

/// Where a source stands after a line: an opaque position the source wrote, under a key that
/// names the source (a file's identity, a journal). A processor stores the newest checkpoint of
/// each key in the same write as the state the line produced, and hands them back to the
/// sources at start-up so that no line is read twice or skipped across a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The source's identity, stable across restarts (e.g. `file:/var/log/auth.log`).
    pub key: String,
    /// The position after this line, in the source's own format (e.g. `inode:offset`).
    pub position: String,
}

/// A line on its way from a source to a processor inside one process (the embedded mode's
/// channel); on Kafka, the topic's offsets play the checkpoint's role.
#[derive(Debug, Clone, PartialEq)]
pub struct SourcedLine {
    /// The line.
    pub line: RawLine,
    /// Where its source stands once this line is handled, if it can resume.
    pub checkpoint: Option<Checkpoint>,
}
