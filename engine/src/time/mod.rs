//! TEMPORARY stand-in until the grok branch merges.
#![allow(missing_docs, dead_code)]
use chrono::{DateTime, FixedOffset};
pub fn parse_date(_s: &str, _f: Option<&str>, _y: i32) -> Option<(DateTime<FixedOffset>, String)> {
    None
}
pub fn format_rfc3339_nano(t: &DateTime<FixedOffset>) -> String {
    t.to_rfc3339()
}
