//! Where buckets live between events.
//!
//! The detector never keeps references into the store: it takes a bucket out, updates it and
//! puts it back with its deadline. That protocol suits both a hash map and an on-disk
//! key-value store (RocksDB, behind the processor's `PersistentStore`), and lets the store index deadlines so that advancing time
//! only touches buckets whose deadline has passed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::collections::hash_map::Entry;

use super::state::{Bucket, BucketKey};

/// Storage of live buckets, owned by one caller (one partition of the processor).
pub trait BucketStore {
    /// Removes and returns the bucket under `key`.
    fn take(&mut self, key: &BucketKey) -> Option<Bucket>;
    /// Reads the bucket under `key`.
    fn get(&self, key: &BucketKey) -> Option<&Bucket>;
    /// Stores `bucket` under `key`; it expires once time passes `deadline` (Unix ns).
    fn put(&mut self, key: BucketKey, bucket: Bucket, deadline: i64);
    /// Removes and returns, in deadline order, every bucket whose deadline is before `now`.
    fn drain_expired(&mut self, now: i64) -> Vec<(BucketKey, Bucket, i64)>;
    /// Number of live buckets.
    fn len(&self) -> usize;
    /// Whether no bucket is live.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Visits every live bucket with its deadline.
    fn for_each(&self, f: &mut dyn FnMut(&BucketKey, &Bucket, i64));
}

/// An in-memory [`BucketStore`]: a `foldhash` map (keys are attacker-chosen, and foldhash is
/// seeded per map) plus a deadline index.
///
/// Buckets are boxed: a hash table has up to twice as many slots as entries, and holds both
/// its old and new tables while it grows, so a slot should be a pointer rather than a bucket
/// when an attack from never-repeating addresses makes millions of them.
///
/// The deadline index is a min-heap of `(deadline, key)` that is never searched: a bucket
/// taken out leaves its entry behind, and an entry is live only while the map holds its key
/// with that deadline. Time moves forward, so a bucket put back usually has the latest
/// deadline and its push stops at once; stale entries leave when their deadline passes, or
/// all at once when they outnumber the live ones (the heap is rebuilt from the map), so the
/// heap holds at most about twice as many entries as there are buckets. Drained in
/// `(deadline, key)` order, as a sorted index would be.
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: foldhash::HashMap<BucketKey, (Box<Bucket>, i64)>,
    deadlines: BinaryHeap<Reverse<(i64, BucketKey)>>,
}

/// Stale heap entries tolerated beyond the live ones before a rebuild.
const STALE_SLACK: usize = 64;

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bucket under `key` with its deadline (what a persistent store writes back).
    pub fn entry(&self, key: &BucketKey) -> Option<(&Bucket, i64)> {
        self.map.get(key).map(|(b, d)| (&**b, *d))
    }

    /// Rebuilds the deadline index from the map when stale entries outnumber live ones.
    fn compact(&mut self) {
        if self.deadlines.len() <= 2 * self.map.len() + STALE_SLACK {
            return;
        }
        let live: Vec<_> = self
            .map
            .iter()
            .map(|(k, (_, d))| Reverse((*d, k.clone())))
            .collect();
        self.deadlines = BinaryHeap::from(live);
    }
}

impl BucketStore for MemoryStore {
    fn take(&mut self, key: &BucketKey) -> Option<Bucket> {
        // Its deadline entry goes stale.
        self.map.remove(key).map(|(b, _)| *b)
    }

    fn get(&self, key: &BucketKey) -> Option<&Bucket> {
        self.map.get(key).map(|(b, _)| &**b)
    }

    fn put(&mut self, key: BucketKey, bucket: Bucket, deadline: i64) {
        self.deadlines.push(Reverse((deadline, key.clone())));
        self.map.insert(key, (Box::new(bucket), deadline));
        self.compact();
    }

    fn drain_expired(&mut self, now: i64) -> Vec<(BucketKey, Bucket, i64)> {
        let mut out = Vec::new();
        while let Some(Reverse((deadline, _))) = self.deadlines.peek() {
            if *deadline >= now {
                break;
            }
            let Some(Reverse((deadline, key))) = self.deadlines.pop() else {
                break;
            };
            // Live only if the map still holds the key with this deadline (an entry left by
            // a bucket taken out, or put back with another deadline, is stale).
            if let Entry::Occupied(e) = self.map.entry(key)
                && e.get().1 == deadline
            {
                let (key, (b, _)) = e.remove_entry();
                out.push((key, *b, deadline));
            }
        }
        out
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    fn for_each(&self, f: &mut dyn FnMut(&BucketKey, &Bucket, i64)) {
        for (k, (b, d)) in &self.map {
            f(k, b, *d);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::{BucketStore, MemoryStore, STALE_SLACK};
    use crate::bucket::state::{Bucket, BucketKey};

    #[derive(Debug, Clone)]
    enum Op {
        /// Put key `k` (taken out first if live, as the detector does, unless `blind`).
        Put {
            k: u8,
            deadline: i64,
            blind: bool,
        },
        Take(u8),
        Drain(i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..12, 0i64..40, any::<bool>())
                .prop_map(|(k, deadline, blind)| Op::Put { k, deadline, blind }),
            1 => (0u8..12).prop_map(Op::Take),
            2 => (0i64..45).prop_map(Op::Drain),
        ]
    }

    fn key(k: u8) -> BucketKey {
        BucketKey {
            scenario: u32::from(k % 3),
            group: format!("10.0.0.{}", k / 3).into(),
        }
    }

    /// A hot bucket put back many times before any of its deadlines passes leaves stale
    /// entries that are dropped by rebuilds, not kept until time reaches them.
    #[test]
    fn stale_deadlines_do_not_pile_up() {
        let mut store = MemoryStore::new();
        for n in 0..10_000 {
            let b = store.take(&key(1)).unwrap_or_default();
            store.put(key(1), b, 1_000_000 + n);
            store.put(key(2), Bucket::default(), 2_000_000 - n);
        }
        assert!(
            store.deadlines.len() <= 2 * 2 + STALE_SLACK + 1,
            "{}",
            store.deadlines.len()
        );
        let drained: Vec<_> = store
            .drain_expired(i64::MAX)
            .into_iter()
            .map(|(k, _, d)| (k, d))
            .collect();
        assert_eq!(drained, vec![(key(1), 1_009_999), (key(2), 1_990_001)]);
        assert!(store.is_empty());
    }

    proptest! {
        /// The store against a sorted model: the same buckets live, the same ones drained in
        /// `(deadline, key)` order, and the deadline index never much larger than the map.
        #[test]
        fn drains_what_a_sorted_index_drains(ops in proptest::collection::vec(op(), 0..300)) {
            let mut store = MemoryStore::new();
            let mut model: BTreeMap<BucketKey, (i64, u64)> = BTreeMap::new();
            for (n, op) in ops.into_iter().enumerate() {
                let n = n as u64;
                match op {
                    Op::Put { k, deadline, blind } => {
                        if !blind {
                            let had = store.take(&key(k)).map(|b| b.total_count);
                            prop_assert_eq!(had, model.remove(&key(k)).map(|(_, c)| c));
                        }
                        let b = Bucket { total_count: n, ..Bucket::default() };
                        store.put(key(k), b, deadline);
                        model.insert(key(k), (deadline, n));
                    }
                    Op::Take(k) => {
                        let had = store.take(&key(k)).map(|b| b.total_count);
                        prop_assert_eq!(had, model.remove(&key(k)).map(|(_, c)| c));
                    }
                    Op::Drain(now) => {
                        let got: Vec<_> = store
                            .drain_expired(now)
                            .into_iter()
                            .map(|(k, b, d)| (d, k, b.total_count))
                            .collect();
                        let mut want: Vec<_> = model
                            .iter()
                            .filter(|(_, (d, _))| *d < now)
                            .map(|(k, (d, c))| (*d, k.clone(), *c))
                            .collect();
                        want.sort();
                        model.retain(|_, (d, _)| *d >= now);
                        prop_assert_eq!(got, want);
                    }
                }
                prop_assert_eq!(store.len(), model.len());
                prop_assert!(store.deadlines.len() <= 2 * store.len() + STALE_SLACK + 1);
            }
        }
    }
}
