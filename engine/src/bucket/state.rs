//! The state of one bucket: plain data, no task, no timer, no lock.
//!
//! CrowdSec runs a goroutine per bucket with a ticker; here a bucket is a struct that the
//! detector takes out of its store, updates with an event and puts back with its deadline.
//! Timers become deadlines compared with event time, so a bucket can live in any key-value
//! store and a replay gives the same result on any machine. Field names are one letter in the
//! serialized form because millions of these may be stored.

use std::mem::size_of;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use super::limiter::Limiter;
use super::queue::Queue;
use super::scenario::Scenario;
use super::stamp::Stamp;

/// Identifies a bucket: its scenario (index in the loaded set) and its partition (the
/// `groupby` value, attacker-controlled). The group is inline up to 24 bytes (any IPv4
/// address, most IPv6 ones), so keys cost no allocation in the store and its deadline index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BucketKey {
    /// Index of the scenario in its [`super::ScenarioSet`].
    #[serde(rename = "s")]
    pub scenario: u32,
    /// The `groupby` value (empty without `groupby`).
    #[serde(rename = "g")]
    pub group: CompactString,
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
    /// `distinct` values already poured (allocated by the first one).
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<Box<foldhash::HashSet<Box<str>>>>,
    /// Bayesian guillotines already triggered, one per condition.
    #[serde(rename = "b", default, skip_serializing_if = "<[bool]>::is_empty")]
    pub guillotines: Box<[bool]>,
}

impl Bucket {
    /// A fresh, empty bucket of `scenario`.
    pub fn new(scenario: &Scenario) -> Self {
        Bucket {
            queue: Queue::new(scenario.queue_size),
            guillotines: vec![false; scenario.bayesian.len()].into_boxed_slice(),
            ..Bucket::default()
        }
    }

    /// Records a `distinct` value: whether it was new.
    pub fn see(&mut self, value: &str) -> bool {
        let seen = self.seen.get_or_insert_with(Default::default);
        if seen.contains(value) {
            return false;
        }
        seen.insert(value.into())
    }

    /// An estimate of the memory the bucket holds: its own size, the queue's events (inline
    /// size, spare slots and heap) and the `distinct` cache (hash table slots and strings).
    pub fn memory_bytes(&self) -> usize {
        let mut n = size_of::<Self>() + self.queue.memory_bytes();
        if let Some(seen) = &self.seen {
            n += size_of::<foldhash::HashSet<Box<str>>>()
                + seen.capacity() * (size_of::<Box<str>>() + 1)
                + seen.iter().map(|s| s.len()).sum::<usize>();
        }
        n + self.guillotines.len()
    }
}
