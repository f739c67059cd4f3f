//! An in-memory bucket store that remembers which buckets changed since the last commit.

use engine::bucket::{Bucket, BucketKey, BucketStore, MemoryStore};

/// The engine's [`MemoryStore`] plus the keys written, taken or expired since the last
/// [`StateDb::commit`](super::StateDb::commit): memory serves every read, RocksDB only sees
/// what changed, once per batch.
#[derive(Debug, Default)]
pub struct PersistentStore {
    mem: MemoryStore,
    dirty: foldhash::HashSet<BucketKey>,
}

impl PersistentStore {
    /// Puts back a bucket read from the database (not dirty).
    pub(super) fn restore(&mut self, key: BucketKey, bucket: Bucket, deadline: i64) {
        self.mem.put(key, bucket, deadline);
    }

    /// The keys changed since the last call.
    pub(super) fn take_dirty(&mut self) -> Vec<BucketKey> {
        self.dirty.drain().collect()
    }

    /// The bucket under `key` with its deadline.
    pub fn entry(&self, key: &BucketKey) -> Option<(&Bucket, i64)> {
        self.mem.entry(key)
    }

    /// Notes that `key` changed (a bucket poured into is taken and put back: one lookup, no
    /// clone, the second time).
    fn mark(&mut self, key: &BucketKey) {
        if !self.dirty.contains(key) {
            self.dirty.insert(key.clone());
        }
    }

    /// How many buckets changed since the last commit.
    pub fn dirty_len(&self) -> usize {
        self.dirty.len()
    }
}

impl BucketStore for PersistentStore {
    fn take(&mut self, key: &BucketKey) -> Option<Bucket> {
        let b = self.mem.take(key)?;
        self.mark(key);
        Some(b)
    }

    fn get(&self, key: &BucketKey) -> Option<&Bucket> {
        self.mem.get(key)
    }

    fn put(&mut self, key: BucketKey, bucket: Bucket, deadline: i64) {
        self.mark(&key);
        self.mem.put(key, bucket, deadline);
    }

    fn drain_expired(&mut self, now: i64) -> Vec<(BucketKey, Bucket, i64)> {
        let out = self.mem.drain_expired(now);
        for (k, _, _) in &out {
            self.mark(k);
        }
        out
    }

    fn len(&self) -> usize {
        self.mem.len()
    }

    fn for_each(&self, f: &mut dyn FnMut(&BucketKey, &Bucket, i64)) {
        self.mem.for_each(f);
    }
}
