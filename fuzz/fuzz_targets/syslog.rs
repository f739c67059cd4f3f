//! Syslog envelopes: arbitrary datagrams through the RFC 3164 / RFC 5424 parsers of the
//! `ingest` crate's syslog datasource and the line rebuilt from them.
//!
//! The parser module is compiled in from its source file (it only needs chrono), which keeps
//! tokio and axum out of the sanitized build.

#![no_main]

#[allow(dead_code, unreachable_pub)]
#[path = "../../ingest/src/syslog/parse.rs"]
mod parse;

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = DateTime::<Utc>::from_timestamp(1_704_207_845, 0).unwrap_or_default();
    let _ = parse::to_line(data, false, now);
    let _ = parse::to_line(data, true, now);
    if let Ok(p) = parse::parse_3164(data, 2024) {
        let _ = parse::build_line(&p, now);
    }
    if let Ok(p) = parse::parse_5424(data, now) {
        let _ = parse::build_line(&p, now);
    }
});
