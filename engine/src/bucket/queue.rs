//! The events a bucket holds (Go `pipeline.Queue`) and their compact serialized form.
//!
//! CrowdSec's queue keeps whole events because `overflow_filter`, `condition` and bayesian
//! expressions may read any field of them (`queue.Queue[0].Parsed.x`). The queue keeps at most
//! `limit + 1` events (Go allows one more than its bound), so a bucket's size is bounded by its
//! scenario's capacity or `cache_size`. For storage, events are written as [`StoredEvent`]:
//! only the non-empty fields, short keys.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::event::{Event, EventType, ExpectMode, Line, StrMap};
use crate::expr::{Object, Value};

use super::overflow::RuntimeAlert;
use super::stamp::Stamp;

/// A bounded FIFO of events.
#[derive(Debug, Clone, Default)]
pub struct Queue {
    /// The events, oldest first.
    pub events: VecDeque<Event>,
    /// The bound (`usize::MAX` for "unbounded", Go's `-1`).
    pub limit: usize,
}

impl Queue {
    /// An empty queue bounded by `limit` (negative means unbounded).
    pub fn new(limit: i64) -> Self {
        Queue {
            events: VecDeque::new(),
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
        }
    }

    /// Go `Queue.Add`: drops the oldest events while the queue holds more than its bound, then
    /// appends.
    pub fn add(&mut self, e: Event) {
        while self.events.len() > self.limit {
            self.events.pop_front();
        }
        self.events.push_back(e);
    }

    /// Number of events held.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether no event is held.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

impl Object for Queue {
    fn type_name(&self) -> &'static str {
        "*types.Queue"
    }

    fn member(&self, name: &str) -> Option<Value<'_>> {
        Some(match name {
            "Queue" => Value::List(
                self.events
                    .iter()
                    .map(|e| Value::Obj(e as &dyn Object))
                    .collect(),
            ),
            "L" => Value::Int(i64::try_from(self.limit).unwrap_or(i64::MAX)),
            _ => return None,
        })
    }

    fn keys(&self) -> Vec<Cow<'_, str>> {
        vec![Cow::Borrowed("Queue"), Cow::Borrowed("L")]
    }

    fn to_value(&self) -> Value<'_> {
        Value::Map(
            ["Queue", "L"]
                .iter()
                .filter_map(|k| self.member(k).map(|v| (k.to_string(), v)))
                .collect(),
        )
    }
}

/// An event as stored in a serialized bucket: every field CrowdSec's expressions can read,
/// empty ones left out.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StoredEvent {
    #[serde(default, skip_serializing_if = "is_false")]
    ovf: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    tm: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    raw: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    src: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    module: String,
    #[serde(default, skip_serializing_if = "StrMap::is_empty")]
    labels: StrMap,
    #[serde(default, skip_serializing_if = "StrMap::is_empty")]
    parsed: StrMap,
    #[serde(default, skip_serializing_if = "StrMap::is_empty")]
    enriched: StrMap,
    #[serde(default, skip_serializing_if = "StrMap::is_empty")]
    meta: StrMap,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    unmarshaled: serde_json::Map<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time: Option<Stamp>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    str_time: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    marshaled_time: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    stage: String,
    #[serde(default, skip_serializing_if = "is_false")]
    whitelisted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    overflow: Option<Box<RuntimeAlert>>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl StoredEvent {
    /// The storable form of `e`.
    pub fn from_event(e: &Event) -> Self {
        StoredEvent {
            ovf: e.kind == EventType::Overflow,
            tm: e.expect_mode == ExpectMode::TimeMachine,
            raw: e.line.raw.clone(),
            src: e.line.src.to_string(),
            module: e.line.module.to_string(),
            labels: (*e.line.labels).clone(),
            parsed: e.parsed.clone(),
            enriched: e.enriched.clone(),
            meta: e.meta.clone(),
            unmarshaled: e.unmarshaled.snapshot(),
            time: e.time.as_ref().map(Stamp::from_time),
            str_time: e.str_time.clone(),
            marshaled_time: e.marshaled_time.clone(),
            stage: e.stage.to_string(),
            whitelisted: e.whitelisted,
            overflow: e.overflow.clone(),
        }
    }

    /// Rebuilds the event.
    pub fn into_event(self) -> Event {
        let unmarshaled = crate::event::Unmarshaled::default();
        for (k, v) in self.unmarshaled {
            unmarshaled.insert(&k, v);
        }
        Event {
            kind: if self.ovf {
                EventType::Overflow
            } else {
                EventType::Log
            },
            expect_mode: if self.tm {
                ExpectMode::TimeMachine
            } else {
                ExpectMode::Live
            },
            whitelisted: self.whitelisted,
            stage: Arc::from(self.stage.as_str()),
            line: Line {
                raw: self.raw,
                src: Arc::from(self.src.as_str()),
                time: None,
                labels: Arc::new(self.labels),
                module: Arc::from(self.module.as_str()),
                process: true,
            },
            parsed: self.parsed,
            enriched: self.enriched,
            unmarshaled,
            time: self.time.map(Stamp::to_time),
            str_time: self.str_time,
            marshaled_time: self.marshaled_time,
            process: true,
            meta: self.meta,
            overflow: self.overflow,
            ..Event::default()
        }
    }
}

#[derive(Serialize, Deserialize)]
struct StoredQueue {
    #[serde(rename = "e")]
    events: Vec<StoredEvent>,
    #[serde(rename = "l")]
    limit: u64,
}

impl Serialize for Queue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        StoredQueue {
            events: self.events.iter().map(StoredEvent::from_event).collect(),
            limit: self.limit as u64,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Queue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let q = StoredQueue::deserialize(d)?;
        Ok(Queue {
            events: q.events.into_iter().map(StoredEvent::into_event).collect(),
            limit: usize::try_from(q.limit).unwrap_or(usize::MAX),
        })
    }
}
