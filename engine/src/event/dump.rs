//! Events as JSON, with the Go field names CrowdSec's dumps use (`Parsed`, `Meta`, `StrTime`...).

use chrono::{DateTime, FixedOffset, SecondsFormat};
use serde_json::{Map, Value as Json, json};

use super::{Event, EventType, ExpectMode};

/// Go's zero `time.Time` (`0001-01-01T00:00:00Z`).
pub fn go_zero_time() -> DateTime<FixedOffset> {
    DateTime::from_timestamp(-62_135_596_800, 0)
        .unwrap_or_default()
        .fixed_offset()
}

/// The time, or Go's zero time when unset.
pub fn time_or_zero(t: Option<DateTime<FixedOffset>>) -> DateTime<FixedOffset> {
    t.unwrap_or_else(go_zero_time)
}

/// Formats like Go's `time.Time.MarshalText` (RFC 3339 with trimmed nanoseconds, `Z` for UTC).
pub fn go_time_string(t: &DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The whole event as JSON, every field present (absent fields would read as nil, not as Go's
/// zero values).
pub fn event_to_json(e: &Event) -> Json {
    let labels: Map<String, Json> = e
        .line
        .labels
        .sorted()
        .into_iter()
        .map(|(k, v)| (k.to_string(), Json::from(v)))
        .collect();
    let strmap = |m: &super::StrMap| -> Json {
        m.sorted()
            .into_iter()
            .map(|(k, v)| (k.to_string(), Json::from(v)))
            .collect()
    };
    json!({
        "Type": match e.kind { EventType::Log => 0, EventType::Overflow => 1 },
        "ExpectMode": match e.expect_mode { ExpectMode::Live => 1, ExpectMode::TimeMachine => 2 },
        "Whitelisted": e.whitelisted,
        "WhitelistReason": e.whitelist_reason,
        "Stage": &*e.stage,
        "Line": {
            "Raw": e.line.raw,
            "Src": &*e.line.src,
            "Time": go_time_string(&time_or_zero(e.line.time)),
            "Labels": labels,
            "Process": e.line.process,
            "Module": &*e.line.module,
        },
        "Parsed": strmap(&e.parsed),
        "Enriched": strmap(&e.enriched),
        "Unmarshaled": Json::Object(e.unmarshaled.snapshot()),
        "Time": go_time_string(&time_or_zero(e.time)),
        "StrTime": e.str_time,
        "StrTimeFormat": e.str_time_format,
        "MarshaledTime": e.marshaled_time,
        "Process": e.process,
        "Meta": strmap(&e.meta),
    })
}
