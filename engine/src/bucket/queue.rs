//! The events a bucket holds (Go `pipeline.Queue`) and their compact serialized form.
//!
//! CrowdSec's queue keeps whole events because `overflow_filter`, `condition` and bayesian
//! expressions may read any field of them (`queue.Queue[0].Parsed.x`). Most scenarios never do:
//! their queue is only read when the bucket overflows, for the alert's events (each event's
//! Meta and timestamp) and sources (Meta `source_ip`/`SourceRange`, a few enrichments, an
//! overflow's sources). A whole event with its raw line, parsed fields and JSON tree costs
//! kilobytes, and an attack from never-repeating addresses opens one bucket per line, so a
//! scenario keeps whole events ([`Queued::Full`]) only when one of its expressions can see the
//! queue (decided when it is compiled, [`super::Scenario::keep_events`]); otherwise it keeps
//! [`Queued::Compact`] events.
//!
//! The queue keeps at most `limit + 1` events (Go allows one more than its bound), so a
//! bucket's size is bounded by its scenario's capacity or `cache_size`. For storage, events are
//! written as [`StoredEvent`]: only the non-empty fields, short keys.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::mem::size_of;
use std::sync::LazyLock;

use crate::event::{Event, EventType};
use crate::expr::{Object, Value};

use super::overflow::RuntimeAlert;
use super::packed::PackedMap;
pub use super::stamp::AlertStamp;
use super::stamp::Stamp;

mod stored;
pub use stored::StoredEvent;

/// The enrichments a source reads from a queued event (Go `SourceFromEvent`).
pub const SOURCE_ENRICHMENTS: &[&str] = &[
    "ASNumber",
    "ASNNumber",
    "IsoCode",
    "ASNOrg",
    "Latitude",
    "Longitude",
];

/// What a bucket keeps of an event whose scenario never reads its queue: what alerts need.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompactEvent {
    /// The timestamp (see [`AlertStamp`]; its text, if any, lives in `rare`).
    stamp: Stamp,
    /// The event's Meta.
    meta: PackedMap,
    /// What most events do not have, boxed so that they do not pay for it.
    rare: Option<Box<Rare>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Rare {
    overflow_kind: bool,
    enriched: PackedMap,
    overflow: Option<Box<RuntimeAlert>>,
    text: Option<Box<str>>,
}

impl CompactEvent {
    /// What alerts need of `e`, with its timestamp `ts` ([`AlertStamp::of`]).
    pub fn new(e: &Event, ts: &AlertStamp) -> Self {
        let enriched = PackedMap::from_entries(
            SOURCE_ENRICHMENTS
                .iter()
                .filter_map(|k| e.enriched.get(k).map(|v| (*k, v))),
        );
        let overflow_kind = e.kind == EventType::Overflow;
        let rare = (overflow_kind || !enriched.is_empty() || ts.text.is_some()).then(|| {
            Box::new(Rare {
                overflow_kind,
                enriched,
                overflow: e.overflow.clone(),
                text: ts.text.clone(),
            })
        });
        CompactEvent {
            stamp: ts.stamp,
            meta: PackedMap::from_strmap(&e.meta),
            rare,
        }
    }

    fn timestamp(&self) -> AlertStamp {
        AlertStamp {
            stamp: self.stamp,
            text: self.rare.as_ref().and_then(|r| r.text.clone()),
        }
    }

    fn enriched(&self) -> &PackedMap {
        static EMPTY: LazyLock<PackedMap> = LazyLock::new(PackedMap::default);
        self.rare.as_ref().map_or(&EMPTY, |r| &r.enriched)
    }

    fn heap_bytes(&self) -> usize {
        self.meta.heap_bytes()
            + self.rare.as_ref().map_or(0, |r| {
                size_of::<Rare>()
                    + r.enriched.heap_bytes()
                    + r.text.as_ref().map_or(0, |t| t.len())
                    + r.overflow.as_ref().map_or(0, |o| runtime_alert_bytes(o))
            })
    }
}

/// An estimate of the memory of an overflow carried by a queued event (its serialized size).
fn runtime_alert_bytes(a: &RuntimeAlert) -> usize {
    size_of::<RuntimeAlert>() + serde_json::to_vec(a).map_or(0, |v| v.len())
}

/// What buckets keep of one event, made for the first bucket it is poured into and cloned for
/// the others (an auth line feeds three or four buckets; packing its `Meta` each time cost
/// more than the rest of the pour).
#[derive(Debug, Default)]
pub struct EventForms {
    stamp: Option<AlertStamp>,
    compact: Option<CompactEvent>,
}

impl EventForms {
    /// Nothing made yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Nothing made yet, for an event whose `MarshaledTime` is `t` printed
    /// ([`Stamp::printed_in`]): its alert timestamp is `t`, known without printing it again.
    pub(super) fn printed(t: Stamp) -> Self {
        EventForms {
            stamp: Some(AlertStamp {
                stamp: t,
                text: None,
            }),
            compact: None,
        }
    }

    /// The compact form of `e` (the event these forms are of), kept or made.
    pub(super) fn into_compact(self, e: &Event) -> CompactEvent {
        let EventForms { stamp, compact } = self;
        compact.unwrap_or_else(|| CompactEvent::new(e, &stamp.unwrap_or_else(|| AlertStamp::of(e))))
    }

    /// [`Queued::new`] of `e` (the event these forms are of).
    pub fn queued(&mut self, e: &Event, full: bool) -> Queued {
        if full {
            return Queued::Full(Box::new(e.clone()));
        }
        let EventForms { stamp, compact } = self;
        let c = compact.get_or_insert_with(|| {
            let ts = stamp.get_or_insert_with(|| AlertStamp::of(e));
            CompactEvent::new(e, ts)
        });
        Queued::Compact(c.clone())
    }
}

/// An event as a bucket keeps it.
#[derive(Debug, Clone)]
pub enum Queued {
    /// The whole event, for scenarios whose expressions read the queue.
    Full(Box<Event>),
    /// What alerts need, for the other scenarios.
    Compact(CompactEvent),
}

impl Queued {
    /// What a bucket of a scenario keeps of `e`: all of it if `full`, else the compact form
    /// (with `ts`, the event's [`AlertStamp`]).
    pub fn new(e: &Event, full: bool, ts: &AlertStamp) -> Self {
        if full {
            Queued::Full(Box::new(e.clone()))
        } else {
            Queued::Compact(CompactEvent::new(e, ts))
        }
    }

    /// Whether it is an overflow (Go `types.OVFLW`).
    pub fn is_overflow(&self) -> bool {
        match self {
            Queued::Full(e) => e.kind == EventType::Overflow,
            Queued::Compact(c) => c.rare.as_ref().is_some_and(|r| r.overflow_kind),
        }
    }

    /// A Meta value.
    pub fn meta(&self, key: &str) -> Option<&str> {
        match self {
            Queued::Full(e) => e.meta.get(key),
            Queued::Compact(c) => c.meta.get(key),
        }
    }

    /// Whether Meta is empty.
    pub fn meta_is_empty(&self) -> bool {
        match self {
            Queued::Full(e) => e.meta.is_empty(),
            Queued::Compact(c) => c.meta.is_empty(),
        }
    }

    /// Meta, sorted by key.
    pub fn meta_sorted(&self) -> Vec<(&str, &str)> {
        match self {
            Queued::Full(e) => e.meta.sorted(),
            Queued::Compact(c) => c.meta.iter().collect(),
        }
    }

    /// An Enriched value (only [`SOURCE_ENRICHMENTS`] are kept by compact events).
    pub fn enriched(&self, key: &str) -> Option<&str> {
        match self {
            Queued::Full(e) => e.enriched.get(key),
            Queued::Compact(c) => c.enriched().get(key),
        }
    }

    /// The overflow it carries, for overflow events.
    pub fn overflow(&self) -> Option<&RuntimeAlert> {
        match self {
            Queued::Full(e) => e.overflow.as_deref(),
            Queued::Compact(c) => c.rare.as_ref().and_then(|r| r.overflow.as_deref()),
        }
    }

    /// The timestamp its alert event prints (Go `EventsFromQueue`).
    pub fn timestamp(&self) -> String {
        match self {
            Queued::Full(e) => AlertStamp::of(e).text(),
            Queued::Compact(c) => c.timestamp().text(),
        }
    }

    /// The event as expressions see it.
    pub fn as_object(&self) -> &dyn Object {
        match self {
            Queued::Full(e) => &**e,
            Queued::Compact(c) => c,
        }
    }

    /// An estimate of the memory it holds: inline size and heap.
    pub fn memory_bytes(&self) -> usize {
        size_of::<Self>()
            + match self {
                Queued::Full(e) => size_of::<Event>() + event_heap_bytes(e),
                Queued::Compact(c) => c.heap_bytes(),
            }
    }
}

/// An estimate of the heap memory of a whole event (strings, maps, JSON tree, overflow; the
/// line's labels are shared by all lines of a source and not counted).
fn event_heap_bytes(e: &Event) -> usize {
    let mut n = e.line.raw.capacity()
        + e.str_time.capacity()
        + e.str_time_format.capacity()
        + e.marshaled_time.capacity()
        + e.whitelist_reason.capacity();
    for m in [&e.parsed, &e.meta, &e.enriched] {
        n += m
            .iter()
            .map(|(k, v)| 2 * 24 + spilled(k) + spilled(v))
            .sum::<usize>();
    }
    if !e.unmarshaled.is_empty() {
        n += serde_json::to_vec(&e.unmarshaled.snapshot()).map_or(0, |v| 2 * v.len());
    }
    n + e.overflow.as_ref().map_or(0, |o| runtime_alert_bytes(o))
}

/// Heap bytes of a `CompactString` of this content (inline up to 24 bytes).
fn spilled(s: &str) -> usize {
    if s.len() > 24 { s.len() } else { 0 }
}

/// The fields a compact event answers itself; the others read as a fresh event's.
static EMPTY_EVENT: LazyLock<Event> = LazyLock::new(Event::default);

/// Compact events are never seen by expressions (scenarios whose expressions can read the queue
/// keep whole events); this view answers what is kept and zero values for the rest.
impl Object for CompactEvent {
    fn type_name(&self) -> &'static str {
        "*types.Event"
    }

    fn member(&self, name: &str) -> Option<Value<'_>> {
        Some(match name {
            "Meta" => Value::Obj(&self.meta),
            "Enriched" => Value::Obj(self.enriched()),
            "Time" => Value::Time(self.stamp.to_time()),
            "MarshaledTime" => Value::string(self.timestamp().text()),
            "Type" => Value::Int(i64::from(
                self.rare.as_ref().is_some_and(|r| r.overflow_kind),
            )),
            "Overflow" => match self.rare.as_ref().and_then(|r| r.overflow.as_deref()) {
                Some(o) => Value::Obj(o),
                None => Value::Obj(&super::EMPTY_RUNTIME_ALERT),
            },
            _ => return EMPTY_EVENT.member(name),
        })
    }

    fn keys(&self) -> Vec<Cow<'_, str>> {
        EMPTY_EVENT.keys()
    }

    fn call_method(&self, name: &str, args: &[Value<'_>]) -> Option<Result<Value<'_>, String>> {
        Some(match (name, args) {
            ("GetMeta", [Value::Str(k)]) => Ok(Value::str(self.meta.get(k).unwrap_or(""))),
            ("GetMeta", _) => Err("GetMeta takes one string".into()),
            ("GetType", []) => Ok(Value::str(
                if self.rare.as_ref().is_some_and(|r| r.overflow_kind) {
                    "overflow"
                } else {
                    "log"
                },
            )),
            ("ParseIPSources", []) => Ok(crate::event::ip_sources(self.meta.get("source_ip"))),
            _ => return None,
        })
    }

    fn to_value(&self) -> Value<'_> {
        Value::Map(
            self.keys()
                .into_iter()
                .filter_map(|k| self.member(&k).map(|v| (k.into_owned(), v)))
                .collect(),
        )
    }
}

/// A bounded FIFO of events.
#[derive(Debug, Clone, Default)]
pub struct Queue {
    /// The events, oldest first.
    pub events: VecDeque<Queued>,
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
    pub fn add(&mut self, e: Queued) {
        while self.events.len() > self.limit {
            self.events.pop_front();
        }
        let len = self.events.len();
        if len == self.events.capacity() {
            // Grow by doubling up to the most the queue can hold (`limit + 1`), from one: most
            // buckets hold a handful of events, many a single one.
            let most = self.limit.saturating_add(1);
            let target = len.saturating_mul(2).clamp(1, most.max(len + 1));
            self.events.reserve_exact(target - len);
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

    /// An estimate of the memory the events hold (the queue's buffer included).
    pub fn memory_bytes(&self) -> usize {
        (self.events.capacity() - self.events.len()) * size_of::<Queued>()
            + self.events.iter().map(Queued::memory_bytes).sum::<usize>()
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
                    .map(|e| Value::Obj(e.as_object()))
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
