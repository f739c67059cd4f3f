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
