//! Events to and from the records of `hivewall.events` ([`wire::event`]), which carry parsed
//! events from the parse stage to the detect stage of the distributed processor: written from
//! the event's fields and read back into them without an intermediate owned copy.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use wire::event::{EventBody, EventTime};

use super::{Event, EventType, ExpectMode, Line, StrMap};

/// Why a record cannot become an event.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    /// A time field is not a time.
    #[error("event record: `{field}` is not a valid time: {value}")]
    Time {
        /// The field.
        field: &'static str,
        /// Its text, or its parts.
        value: String,
    },
    /// `Unmarshaled` is not a JSON object.
    #[error("event record: `unmarshaled` is not a JSON object")]
    Unmarshaled,
}

fn unix(t: &DateTime<FixedOffset>) -> EventTime<'static> {
    EventTime::Unix {
        secs: t.timestamp(),
        nanos: t.timestamp_subsec_nanos(),
        offset: t.offset().local_minus_utc(),
    }
}

fn read_time(
    field: &'static str,
    t: Option<EventTime<'_>>,
) -> Result<Option<DateTime<FixedOffset>>, RecordError> {
    let Some(t) = t else { return Ok(None) };
    let parsed = match t {
        EventTime::Rfc3339(v) => DateTime::parse_from_rfc3339(v).ok(),
        EventTime::Unix {
            secs,
            nanos,
            offset,
        } => FixedOffset::east_opt(offset)
            .zip(DateTime::from_timestamp(secs, nanos))
            .map(|(off, t)| t.with_timezone(&off)),
    };
    parsed.map(Some).ok_or_else(|| RecordError::Time {
        field,
        value: format!("{t:?}"),
    })
}

fn map(m: &[(&str, &str)]) -> StrMap {
    m.iter().copied().collect()
}

/// The map of `pairs`, in the memory of `spare` (taken).
fn map_into(spare: &mut StrMap, pairs: &[(&str, &str)]) -> StrMap {
    let mut m = std::mem::take(spare);
    m.clear();
    for (k, v) in pairs {
        m.insert(k, v);
    }
    m
}

/// `t` as a `String`, in the memory of `spare` (taken).
fn text(spare: &mut String, t: &str) -> String {
    let mut s = std::mem::take(spare);
    s.clear();
    s.push_str(t);
    s
}

/// The shared parts of the last events read (source, module, labels, stage): a partition's
/// events mostly come from a few sources, and each of these parts was an allocation per
/// event. Keep one per reader ([`Event::from_body_with`]).
#[derive(Debug, Default)]
pub struct BodyCache {
    src: Option<Arc<str>>,
    module: Option<Arc<str>>,
    stage: Option<Arc<str>>,
    labels: Option<Arc<StrMap>>,
}

/// `last` if it holds `text`, else a new one (kept in `last`).
fn shared(last: &mut Option<Arc<str>>, text: &str) -> Arc<str> {
    match last {
        Some(a) if **a == *text => Arc::clone(a),
        _ => Arc::clone(last.insert(Arc::from(text))),
    }
}

impl Event {
    /// Appends the body of this (log) event's record to `out` ([`wire::event::encode_body`]);
    /// each routing key's record then adds its routes ([`wire::event::encode_record`]).
    /// Overflow events stay in their partition and are never written.
    pub fn encode_body(&self, out: &mut Vec<u8>) {
        let unmarshaled = if self.unmarshaled.is_empty() {
            String::new()
        } else {
            serde_json::Value::Object(self.unmarshaled.snapshot()).to_string()
        };
        let body = EventBody {
            raw: &self.line.raw,
            src: &self.line.src,
            module: &self.line.module,
            labels: self.line.labels.iter().collect(),
            line_time: self.line.time.as_ref().map(unix),
            line_process: self.line.process,
            expect_mode: match self.expect_mode {
                ExpectMode::Live => 1,
                ExpectMode::TimeMachine => 2,
            },
            stage: &self.stage,
            whitelisted: self.whitelisted,
            parsed: self.parsed.iter().collect(),
            enriched: self.enriched.iter().collect(),
            meta: self.meta.iter().collect(),
            unmarshaled: unmarshaled.into(),
            time: self.time.as_ref().map(unix),
            str_time: &self.str_time,
            str_time_format: &self.str_time_format,
            marshaled_time: &self.marshaled_time,
            process: self.process,
        };
        wire::event::encode_body(&body, out);
    }

    /// The event a record's body holds (its routes are the caller's).
    pub fn from_body(b: &EventBody<'_>) -> Result<Event, RecordError> {
        Self::from_body_with(b, &mut BodyCache::default())
    }

    /// [`Event::from_body`] sharing the source, module, labels and stage with the events read
    /// before through `cache` when they are the same.
    pub fn from_body_with(b: &EventBody<'_>, cache: &mut BodyCache) -> Result<Event, RecordError> {
        Self::from_body_reusing(b, cache, &mut Event::default())
    }

    /// [`Event::from_body_with`] writing the maps (`Parsed`, `Enriched`, `Meta`) and texts
    /// (the raw line, `StrTime`, `StrTimeFormat`, `MarshaledTime`) into the memory of `spare`,
    /// the last event read once it is done with (taken, left empty): a stream of records from
    /// one partition sets the same keys in the same order, so a map's entries are written in
    /// place ([`StrMap`]'s spare slots) instead of allocated per event.
    pub fn from_body_reusing(
        b: &EventBody<'_>,
        cache: &mut BodyCache,
        spare: &mut Event,
    ) -> Result<Event, RecordError> {
        let labels = match &cache.labels {
            Some(l) if l.len() == b.labels.len() && l.iter().eq(b.labels.iter().copied()) => {
                Arc::clone(l)
            }
            _ => Arc::clone(cache.labels.insert(Arc::new(map(&b.labels)))),
        };
        let unmarshaled = super::Unmarshaled::default();
        if !b.unmarshaled.is_empty() {
            let serde_json::Value::Object(m) =
                serde_json::from_str(&b.unmarshaled).map_err(|_| RecordError::Unmarshaled)?
            else {
                return Err(RecordError::Unmarshaled);
            };
            for (k, v) in m {
                unmarshaled.insert(&k, v);
            }
        }
        Ok(Event {
            kind: EventType::Log,
            expect_mode: if b.expect_mode == 2 {
                ExpectMode::TimeMachine
            } else {
                ExpectMode::Live
            },
            whitelisted: b.whitelisted,
            stage: shared(&mut cache.stage, b.stage),
            line: Line {
                raw: text(&mut spare.line.raw, b.raw),
                src: shared(&mut cache.src, b.src),
                time: read_time("line.time", b.line_time)?,
                labels,
                module: shared(&mut cache.module, b.module),
                process: b.line_process,
            },
            parsed: map_into(&mut spare.parsed, &b.parsed),
            enriched: map_into(&mut spare.enriched, &b.enriched),
            unmarshaled,
            time: read_time("time", b.time)?,
            str_time: text(&mut spare.str_time, b.str_time),
            str_time_format: text(&mut spare.str_time_format, b.str_time_format),
            marshaled_time: text(&mut spare.marshaled_time, b.marshaled_time),
            process: b.process,
            meta: map_into(&mut spare.meta, &b.meta),
            ..Event::default()
        })
    }
}
