//! Go time layouts and the date enricher.
//!
//! Input: `layout \0 value` (no NUL: the whole input is both). Runs `go_parse` and, on a
//! result, `go_format` with the same layout and the RFC 3339 formatter; `parse_date` with the
//! layout as `StrTimeFormat`; the `ParseDate` enricher on an event; and `go_format` of an
//! arbitrary instant (seconds and offset taken from the first bytes) with the layout.

#![no_main]

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use engine::clock::FixedClock;
use engine::event::{Acquisition, ExpectMode};
use engine::parser::EnrichCtx;
use engine::time::{format_rfc3339_nano, go_format, go_parse, parse_date};
use libfuzzer_sys::fuzz_target;

fn enrich() -> &'static EnrichCtx {
    static E: OnceLock<EnrichCtx> = OnceLock::new();
    E.get_or_init(|| {
        let now = DateTime::<Utc>::from_timestamp(1_704_207_845, 0).unwrap_or_default();
        EnrichCtx::new(Arc::new(FixedClock(now)))
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (layout, value) = text.split_once('\0').unwrap_or((&text, &text));
    if let Some(t) = go_parse(value, layout) {
        let _ = go_format(&t, layout);
        let _ = format_rfc3339_nano(&t);
    }
    if let Some((t, _)) = parse_date(value, Some(layout), 2024) {
        let _ = format_rfc3339_nano(&t);
    }
    let acq = Acquisition::new("fuzz", "file", "syslog", []);
    for mode in [ExpectMode::Live, ExpectMode::TimeMachine] {
        let mut evt = acq.event(value.to_string(), mode);
        evt.str_time_format = layout.to_string();
        let ctx = enrich();
        let m = ctx.resolve("ParseDate");
        let _ = ctx.run(m, value, &mut evt);
    }
    if data.len() >= 12 {
        let secs = i64::from_le_bytes(data[..8].try_into().unwrap_or_default());
        let off = i32::from_le_bytes(data[8..12].try_into().unwrap_or_default());
        if let (Some(o), Some(t)) = (
            FixedOffset::east_opt(off % 86_400),
            DateTime::<Utc>::from_timestamp(secs, 0),
        ) {
            let t = o.from_utc_datetime(&t.naive_utc());
            let _ = go_format(&t, layout);
            let _ = format_rfc3339_nano(&t);
        }
    }
});
