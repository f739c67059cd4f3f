//! The stored form of a queue: each event as a [`StoredEvent`] (only its non-empty fields,
//! short keys), and the queue's bound.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{AlertStamp, CompactEvent, Queue, Queued, RuntimeAlert};
use crate::bucket::stamp::Stamp;
use crate::event::{Event, EventType, ExpectMode, Line, StrMap};

/// An event as stored in a serialized bucket: every field CrowdSec's expressions can read,
/// empty ones left out. A compact event (`c`) has its timestamp in `time` or, as text, in
/// `marshaled_time`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StoredEvent {
    #[serde(default, skip_serializing_if = "is_false")]
    c: bool,
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
    /// The storable form of a queued event.
    pub fn from_queued(q: &Queued) -> Self {
        match q {
            Queued::Full(e) => Self::from_event(e),
            Queued::Compact(c) => {
                let rare = c.rare.as_deref();
                let text = rare.and_then(|r| r.text.as_deref());
                StoredEvent {
                    c: true,
                    ovf: rare.is_some_and(|r| r.overflow_kind),
                    enriched: rare.map(|r| r.enriched.to_strmap()).unwrap_or_default(),
                    meta: c.meta.to_strmap(),
                    time: text.is_none().then_some(c.stamp),
                    marshaled_time: text.unwrap_or_default().to_string(),
                    overflow: rare.and_then(|r| r.overflow.clone()),
                    ..StoredEvent::default()
                }
            }
        }
    }

    /// Rebuilds the queued event.
    pub fn into_queued(self) -> Queued {
        if !self.c {
            return Queued::Full(Box::new(self.into_event()));
        }
        let ts = match self.time {
            Some(stamp) => AlertStamp { stamp, text: None },
            None => AlertStamp {
                stamp: Stamp::default(),
                text: Some(self.marshaled_time.as_str().into()),
            },
        };
        let e = Event {
            kind: if self.ovf {
                EventType::Overflow
            } else {
                EventType::Log
            },
            enriched: self.enriched,
            meta: self.meta,
            overflow: self.overflow,
            ..Event::default()
        };
        Queued::Compact(CompactEvent::new(&e, &ts))
    }

    /// The storable form of `e`.
    pub fn from_event(e: &Event) -> Self {
        StoredEvent {
            c: false,
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
            events: self.events.iter().map(StoredEvent::from_queued).collect(),
            limit: self.limit as u64,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Queue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let q = StoredQueue::deserialize(d)?;
        Ok(Queue {
            events: q.events.into_iter().map(StoredEvent::into_queued).collect(),
            limit: usize::try_from(q.limit).unwrap_or(usize::MAX),
        })
    }
}
