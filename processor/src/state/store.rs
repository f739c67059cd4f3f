//! An in-memory bucket store that remembers which buckets changed since the last commit, and
//! which are in the database.

use engine::bucket::{Bucket, BucketKey, BucketStore, MemoryStore};

/// The engine's [`MemoryStore`] plus the keys written, taken or expired since the last
/// [`StateDb::commit`](super::StateDb::commit): memory serves every read, RocksDB only sees
/// what changed, once per batch.
///
/// Most buckets come and go between two commits (a source seen a few times, then leaked out):
/// those were never written, so their removal writes nothing either. `stored` holds the keys
/// the database has (loaded, or put by a write and not deleted since).
#[derive(Debug, Default)]
pub struct PersistentStore {
    mem: MemoryStore,
    dirty: foldhash::HashSet<BucketKey>,
    stored: foldhash::HashSet<BucketKey>,
}

impl PersistentStore {
    /// Puts back a bucket read from the database (not dirty, stored).
    pub(super) fn restore(&mut self, key: BucketKey, bucket: Bucket, deadline: i64) {
        self.stored.insert(key.clone());
        self.mem.put(key, bucket, deadline);
    }

    /// The keys changed since the last call that the database must learn of: each changed
    /// bucket still held (to put), and each removed one it has (to delete). A bucket created
    /// and removed since the last call is left out. The caller writes them all: from here on
    /// they count as stored, or not, as written.
    pub(super) fn take_dirty(&mut self) -> Vec<BucketKey> {
        let mut out = Vec::with_capacity(self.dirty.len());
        for key in self.dirty.drain() {
            if self.mem.get(&key).is_some() {
                if !self.stored.contains(&key) {
                    self.stored.insert(key.clone());
                }
                out.push(key);
            } else if self.stored.remove(&key) {
                out.push(key);
            }
        }
        out
    }

    /// How many buckets the database holds, as far as this store's writes go.
    pub fn stored_len(&self) -> usize {
        self.stored.len()
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
