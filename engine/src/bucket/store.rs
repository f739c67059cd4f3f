//! Where buckets live between events.
//!
//! The detector never keeps references into the store: it takes a bucket out, updates it and
//! puts it back with its deadline. That protocol suits both a hash map and an on-disk
//! key-value store (RocksDB later), and lets the store index deadlines so that advancing time
//! only touches buckets whose deadline has passed.

use std::collections::BTreeSet;

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
/// seeded per map) plus an ordered deadline index.
///
/// Buckets are boxed: a hash table has up to twice as many slots as entries, and holds both
/// its old and new tables while it grows, so a slot should be a pointer rather than a bucket
/// when an attack from never-repeating addresses makes millions of them.
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: foldhash::HashMap<BucketKey, (Box<Bucket>, i64)>,
    deadlines: BTreeSet<(i64, BucketKey)>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bucket under `key` with its deadline (what a persistent store writes back).
    pub fn entry(&self, key: &BucketKey) -> Option<(&Bucket, i64)> {
        self.map.get(key).map(|(b, d)| (&**b, *d))
    }
}

impl BucketStore for MemoryStore {
    fn take(&mut self, key: &BucketKey) -> Option<Bucket> {
        let (b, deadline) = self.map.remove(key)?;
        self.deadlines.remove(&(deadline, key.clone()));
        Some(*b)
    }

    fn get(&self, key: &BucketKey) -> Option<&Bucket> {
        self.map.get(key).map(|(b, _)| &**b)
    }

    fn put(&mut self, key: BucketKey, bucket: Bucket, deadline: i64) {
        if let Some((_, old)) = self.map.remove(&key) {
            self.deadlines.remove(&(old, key.clone()));
        }
        self.deadlines.insert((deadline, key.clone()));
        self.map.insert(key, (Box::new(bucket), deadline));
    }

    fn drain_expired(&mut self, now: i64) -> Vec<(BucketKey, Bucket, i64)> {
        let mut out = Vec::new();
        while let Some(first) = self.deadlines.first() {
            if first.0 >= now {
                break;
            }
            let Some((deadline, key)) = self.deadlines.pop_first() else {
                break;
            };
            if let Some((b, _)) = self.map.remove(&key) {
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
