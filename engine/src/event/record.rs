//! Events to and from [`wire::EventRecord`], the records of `hivewall.events` that carry parsed
//! events from the parse stage to the detect stage of the distributed processor.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, SecondsFormat};

use super::{Event, EventType, ExpectMode, Line, StrMap};

/// Why a record cannot become an event.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    /// The record's version is not one this build reads.
    #[error("event record version {0} not supported (this build reads {v})", v = wire::EVENT_VERSION)]
    Version(u32),
    /// A time field is not RFC 3339.
    #[error("event record: `{field}` is not an RFC 3339 time: {value:?}")]
    Time {
        /// The field.
        field: &'static str,
        /// Its text.
        value: String,
    },
}

fn rfc3339(t: &DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn parse_time(
    field: &'static str,
    s: Option<&str>,
) -> Result<Option<DateTime<FixedOffset>>, RecordError> {
    s.map(|v| {
        DateTime::parse_from_rfc3339(v).map_err(|_| RecordError::Time {
            field,
            value: v.to_string(),
        })
    })
    .transpose()
}

fn to_map(m: &StrMap) -> std::collections::BTreeMap<String, String> {
    m.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl Event {
    /// The record of this (log) event with its routes. Overflow events stay in their
    /// partition and are never written.
    pub fn to_record(&self, routes: Vec<wire::Route>) -> wire::EventRecord {
        wire::EventRecord {
            v: wire::EVENT_VERSION,
            routes,
            origin: None,
            line: wire::RawLine {
                raw: self.line.raw.clone(),
                src: self.line.src.to_string(),
                module: self.line.module.to_string(),
                labels: to_map(&self.line.labels),
                time: self.line.time.as_ref().map(rfc3339),
            },
            line_process: self.line.process,
            expect_mode: match self.expect_mode {
                ExpectMode::Live => 1,
                ExpectMode::TimeMachine => 2,
            },
            stage: self.stage.to_string(),
            whitelisted: self.whitelisted,
            parsed: to_map(&self.parsed),
            enriched: to_map(&self.enriched),
            meta: to_map(&self.meta),
            unmarshaled: self.unmarshaled.snapshot(),
            time: self.time.as_ref().map(rfc3339),
            str_time: self.str_time.clone(),
            str_time_format: self.str_time_format.clone(),
            marshaled_time: self.marshaled_time.clone(),
            process: self.process,
        }
    }

    /// The event a record holds (its routes are the caller's).
    pub fn from_record(r: &wire::EventRecord) -> Result<Event, RecordError> {
        if r.v != wire::EVENT_VERSION {
            return Err(RecordError::Version(r.v));
        }
        let unmarshaled = super::Unmarshaled::default();
        for (k, v) in &r.unmarshaled {
            unmarshaled.insert(k, v.clone());
        }
        Ok(Event {
            kind: EventType::Log,
            expect_mode: if r.expect_mode == 2 {
                ExpectMode::TimeMachine
            } else {
                ExpectMode::Live
            },
            whitelisted: r.whitelisted,
            stage: Arc::from(r.stage.as_str()),
            line: Line {
                raw: r.line.raw.clone(),
                src: Arc::from(r.line.src.as_str()),
                time: parse_time("line.time", r.line.time.as_deref())?,
                labels: Arc::new(r.line.labels.iter().collect()),
                module: Arc::from(r.line.module.as_str()),
                process: r.line_process,
            },
            parsed: r.parsed.iter().collect(),
            enriched: r.enriched.iter().collect(),
            unmarshaled,
            time: parse_time("time", r.time.as_deref())?,
            str_time: r.str_time.clone(),
            str_time_format: r.str_time_format.clone(),
            marshaled_time: r.marshaled_time.clone(),
            process: r.process,
            meta: r.meta.iter().collect(),
            ..Event::default()
        })
    }
}
