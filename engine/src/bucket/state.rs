//! The state of one bucket: plain data, no task, no timer, no lock.
//!
//! CrowdSec runs a goroutine per bucket with a ticker; here a bucket is a struct that the
//! detector takes out of its store, updates with an event and puts back with its deadline.
//! Timers become deadlines compared with event time, so a bucket can live in any key-value
//! store and a replay gives the same result on any machine. Field names are one letter in the
//! serialized form because millions of these may be stored.

use std::mem::size_of;

use serde::{Deserialize, Serialize};

use super::limiter::Limiter;
use super::queue::Queue;
use super::scenario::Scenario;
use super::stamp::Stamp;

/// Identifies a bucket: its scenario (index in the loaded set) and its partition (the
/// `groupby` value, attacker-controlled).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BucketKey {
    /// Index of the scenario in its [`super::ScenarioSet`].
    #[serde(rename = "s")]
    pub scenario: u32,
    /// The `groupby` value (empty without `groupby`).
    #[serde(rename = "g")]
    pub group: String,
}

/// One live bucket (Go `Leaky`, minus the channels).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Bucket {
    /// Time of the first poured event.
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    pub first_ts: Option<Stamp>,
    /// Time of the last poured event.
    #[serde(rename = "l", default, skip_serializing_if = "Option::is_none")]
    pub last_ts: Option<Stamp>,
    /// Events poured.
    #[serde(rename = "c")]
    pub total_count: u64,
    /// The token bucket (unused when the capacity is -1).
    #[serde(rename = "t", default)]
    pub limiter: Limiter,
    /// The retained events.
    #[serde(rename = "q")]
    pub queue: Queue,
    /// `distinct` values already poured.
    #[serde(
        rename = "u",
        default,
        skip_serializing_if = "foldhash::HashSet::is_empty"
    )]
    pub seen: foldhash::HashSet<String>,
    /// Bayesian guillotines already triggered, one per condition.
    #[serde(rename = "b", default, skip_serializing_if = "Vec::is_empty")]
    pub guillotines: Vec<bool>,
}

impl Bucket {
    /// A fresh, empty bucket of `scenario`.
    pub fn new(scenario: &Scenario) -> Self {
        Bucket {
            queue: Queue::new(scenario.queue_size),
            guillotines: vec![false; scenario.bayesian.len()],
            ..Bucket::default()
        }
    }

    /// An estimate of the memory the bucket holds: its own size, the queue's events (their
    /// inline size plus their strings) and the `distinct` cache.
    pub fn memory_bytes(&self) -> usize {
        let mut n = size_of::<Self>();
        n += self.queue.events.capacity() * size_of::<crate::event::Event>();
        for e in &self.queue.events {
            n += e.line.raw.capacity() + e.str_time.capacity() + e.marshaled_time.capacity();
            for m in [&e.parsed, &e.meta, &e.enriched] {
                n += m
                    .iter()
                    .map(|(k, v)| 2 * 24 + heap(k) + heap(v))
                    .sum::<usize>();
            }
        }
        n += self
            .seen
            .iter()
            .map(|s| size_of::<String>() + s.capacity() + 8)
            .sum::<usize>();
        n + self.guillotines.capacity()
    }
}

/// Heap bytes of a `CompactString` of this content (inline up to 24 bytes).
fn heap(s: &str) -> usize {
    if s.len() > 24 { s.len() } else { 0 }
}
