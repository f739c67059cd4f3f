//! Scenarios: CrowdSec's leaky buckets, as pure synchronous code over event time.
//!
//! CrowdSec gives each bucket a goroutine, a channel and wall-clock timers. Here a bucket is a
//! small serializable struct ([`Bucket`]) kept in a [`BucketStore`] owned by one caller, and
//! time is the events' time: [`Detector::process`] first advances time to the event's (expiring
//! buckets and firing counters whose deadline has passed), then pours the event. With no
//! threads and no clock, a replay is deterministic, buckets can be partitioned by key across
//! workers, and their state can be persisted.
//!
//! Loading ([`ScenarioSet::load`]) decodes the YAML strictly ([`config`]), validates it as
//! CrowdSec's `ValidateFactory` does and compiles every expression once ([`scenario`]).

mod alert;
pub mod config;
pub mod context;
mod detector;
mod leaky;
pub mod limiter;
mod load;
pub mod overflow;
pub mod packed;
pub mod prepared;
pub mod queue;
mod route;
pub mod scenario;
pub mod shard;
pub mod stamp;
pub mod state;
pub mod store;

#[cfg(test)]
mod context_tests;
#[cfg(test)]
mod prepared_tests;
#[cfg(test)]
mod route_tests;
#[cfg(test)]
mod scope_tests;
#[cfg(test)]
mod testdata_tests;
#[cfg(test)]
mod tests;

pub use alert::overflow_event;
pub use config::{BucketKind, ScenarioConfig};
pub use context::{AlertContext, ContextConfig};
pub use detector::{
    Detector, DetectorState, MAX_REPROCESS_DEPTH, Outcome, PourError, Signal, SignalKind,
};
pub use leaky::LeakyView;
pub use load::{LoadError, ScenarioFile, ScenarioLoadOptions, ScenarioSet, read_scenario_file};
pub use overflow::{Alert, AlertEvent, MetaItem, RuntimeAlert, Source};
pub use route::Routes;
pub use scenario::Scenario;
pub use stamp::Stamp;
pub use state::{Bucket, BucketKey};
pub use store::{BucketStore, MemoryStore};

/// The overflow of an event that is not an overflow (Go's zero `RuntimeAlert`), so that
/// `evt.Overflow.Alert` reads as nil on log events.
pub static EMPTY_RUNTIME_ALERT: RuntimeAlert = RuntimeAlert {
    mapkey: String::new(),
    reprocess: false,
    sources: std::collections::BTreeMap::new(),
    api_alerts: Vec::new(),
    labels: std::collections::BTreeMap::new(),
};

/// Memory held by the live buckets of `store`: total bytes and bucket count (for benchmarks).
///
/// Per bucket: [`Bucket::memory_bytes`], plus its key and deadline as a [`MemoryStore`] holds
/// them twice (map entry, deadline index) and the map's pointer to the bucket; the slack of
/// the store's hash table and deadline heap (up to as many stale entries again) and the
/// allocator's overhead are not counted.
pub fn memory_usage<S: BucketStore>(store: &S) -> (usize, usize) {
    let mut total = 0;
    let mut n = 0;
    store.for_each(&mut |k, b, _| {
        let group_heap = if k.group.is_heap_allocated() {
            k.group.capacity()
        } else {
            0
        };
        let key = std::mem::size_of::<BucketKey>() + std::mem::size_of::<i64>() + group_heap;
        total += b.memory_bytes() + 2 * key + std::mem::size_of::<Box<Bucket>>();
        n += 1;
    });
    (total, n)
}

/// Serialized size (JSON) of a bucket: what it would take in a key-value store.
pub fn serialized_size(b: &Bucket) -> usize {
    serde_json::to_vec(b).map_or(0, |v| v.len())
}
