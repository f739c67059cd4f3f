//! Bucket state and source checkpoints in RocksDB.
//!
//! Column families: `buckets` (scenario name, NUL, groupby value → deadline and the bucket as
//! JSON), `checkpoints` (source key → position) and `meta` (the watermark). Buckets are stored
//! under their scenario's name, not its position in the loaded set, so adding or removing a
//! scenario between two starts leaves the other buckets where they were; buckets of scenarios
//! no longer loaded are dropped at start-up.

mod ops;
mod store;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use engine::bucket::{Bucket, BucketKey, ScenarioSet};
use rocksdb::{ColumnFamilyDescriptor, DB, Options, WriteBatch};

pub use ops::{Family, Op};
pub use store::PersistentStore;

const CF_BUCKETS: &str = "buckets";
const CF_CHECKPOINTS: &str = "checkpoints";
const CF_META: &str = "meta";
const WATERMARK: &[u8] = b"watermark";
const DETECTOR: &[u8] = b"detector";
const HISTORY: &[u8] = b"history";

/// The detector's state as stored: blackholes name their scenario (like buckets), so a changed
/// scenario set keeps the others.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredDetector {
    time: Option<engine::bucket::Stamp>,
    blackholes: Vec<(String, String, i64)>,
}

/// Errors of the state database.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The database could not be opened (another process holds it, bad permissions...).
    #[error("cannot open state database {path}: {source}")]
    Open {
        /// Its directory.
        path: PathBuf,
        /// RocksDB's reason.
        source: rocksdb::Error,
    },
    /// A read or write failed.
    #[error("state database {path}: {what}: {source}")]
    Io {
        /// Its directory.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// RocksDB's reason.
        source: rocksdb::Error,
    },
}

/// The processor's state database.
pub struct StateDb {
    db: DB,
    path: PathBuf,
}

impl std::fmt::Debug for StateDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateDb").field("path", &self.path).finish()
    }
}

/// Where event time stood at the last commit, and when (wall clock), both Unix nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watermark {
    /// The newest bucket time.
    pub event_nanos: i64,
    /// The wall clock when it was reached.
    pub wall_nanos: i64,
}

impl StateDb {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: &Path) -> Result<StateDb, StateError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
        let cfs = [CF_BUCKETS, CF_CHECKPOINTS, CF_META]
            .into_iter()
            .map(|n| ColumnFamilyDescriptor::new(n, Options::default()));
        let db = DB::open_cf_descriptors(&opts, dir, cfs).map_err(|source| StateError::Open {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(StateDb {
            db,
            path: dir.to_path_buf(),
        })
    }

    fn io(&self, what: &'static str) -> impl FnOnce(rocksdb::Error) -> StateError + '_ {
        move |source| StateError::Io {
            path: self.path.clone(),
            what,
            source,
        }
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        // The families are created at open; a missing one is a bug, not an input.
        self.db
            .cf_handle(name)
            .unwrap_or_else(|| panic!("column family {name} created at open"))
    }

    /// Every source's committed position.
    pub fn checkpoints(&self) -> Result<HashMap<String, String>, StateError> {
        let mut out = HashMap::new();
        for item in self
            .db
            .iterator_cf(self.cf(CF_CHECKPOINTS), rocksdb::IteratorMode::Start)
        {
            let (k, v) = item.map_err(self.io("reading checkpoints"))?;
            out.insert(
                String::from_utf8_lossy(&k).into_owned(),
                String::from_utf8_lossy(&v).into_owned(),
            );
        }
        Ok(out)
    }

    /// The watermark of the last commit, if any.
    pub fn watermark(&self) -> Result<Option<Watermark>, StateError> {
        let v = self
            .db
            .get_cf(self.cf(CF_META), WATERMARK)
            .map_err(self.io("reading the watermark"))?;
        Ok(v.and_then(|v| {
            let b: [u8; 16] = v.as_slice().try_into().ok()?;
            let (e, w) = b.split_at(8);
            Some(Watermark {
                event_nanos: i64::from_be_bytes(e.try_into().ok()?),
                wall_nanos: i64::from_be_bytes(w.try_into().ok()?),
            })
        }))
    }

    /// The detector's stored state (time, blackholes) for the scenarios in `scenarios`.
    pub fn detector_state(
        &self,
        scenarios: &ScenarioSet,
    ) -> Result<Option<engine::bucket::DetectorState>, StateError> {
        let v = self
            .db
            .get_cf(self.cf(CF_META), DETECTOR)
            .map_err(self.io("reading the detector state"))?;
        let Some(stored) = v.and_then(|v| serde_json::from_slice::<StoredDetector>(&v).ok()) else {
            return Ok(None);
        };
        let index: HashMap<&str, usize> = scenarios
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name(), i))
            .collect();
        let blackholes = stored
            .blackholes
            .into_iter()
            .filter_map(|(name, group, until)| {
                let i = *index.get(name.as_str())?;
                Some((
                    BucketKey {
                        scenario: u32::try_from(i).ok()?,
                        group: group.into(),
                    },
                    until,
                ))
            })
            .collect();
        Ok(Some(engine::bucket::DetectorState {
            time: stored.time,
            blackholes,
        }))
    }

    /// The pipeline's own decision history as stored (see `Pipeline::history_snapshot`).
    pub fn history(&self) -> Result<Option<Vec<engine::profile::HistoryEntry>>, StateError> {
        let v = self
            .db
            .get_cf(self.cf(CF_META), HISTORY)
            .map_err(self.io("reading the decision history"))?;
        Ok(v.and_then(|v| serde_json::from_slice(&v).ok()))
    }

    /// The stored buckets of the scenarios in `scenarios`, in a store that tracks changes.
    /// Returns the store and how many stored buckets were dropped (scenario gone, unreadable).
    pub fn load_store(
        &self,
        scenarios: &ScenarioSet,
    ) -> Result<(PersistentStore, usize), StateError> {
        let mut store = PersistentStore::default();
        let mut dropped = 0;
        for item in self
            .db
            .iterator_cf(self.cf(CF_BUCKETS), rocksdb::IteratorMode::Start)
        {
            let (k, v) = item.map_err(self.io("reading buckets"))?;
            match decode(scenarios, &k, &v) {
                Some((key, bucket, deadline)) => store.restore(key, bucket, deadline),
                None => dropped += 1,
            }
        }
        Ok((store, dropped))
    }

    /// Writes, in one batch, the buckets that changed since the last commit, the newest
    /// checkpoint of each source and the watermark.
    pub fn commit(
        &self,
        store: &mut PersistentStore,
        scenarios: &ScenarioSet,
        checkpoints: &[(String, String)],
        watermark: Option<Watermark>,
        detector: Option<&engine::bucket::DetectorState>,
        history: Option<&[engine::profile::HistoryEntry]>,
    ) -> Result<(), StateError> {
        let ops = prepare(store, scenarios, checkpoints, watermark, detector, history);
        self.apply(&ops)
    }

    /// Writes `ops` in one batch.
    pub fn apply(&self, ops: &[Op]) -> Result<(), StateError> {
        if ops.is_empty() {
            return Ok(());
        }
        let mut batch = WriteBatch::default();
        for op in ops {
            let cf = self.cf(op.family.cf_name());
            match &op.value {
                Some(v) => batch.put_cf(cf, &op.key, v),
                None => batch.delete_cf(cf, &op.key),
            }
        }
        self.db.write(batch).map_err(self.io("committing a batch"))
    }

    /// The stored value of one key.
    pub fn get(&self, family: Family, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.db
            .get_cf(self.cf(family.cf_name()), key)
            .map_err(self.io("reading a key"))
    }
}

/// The writes that store what changed since the last commit: the changed buckets (taken from
/// the store's dirty set), the checkpoints, the watermark, the detector state and the decision
/// history. No I/O: [`StateDb::apply`] writes them.
pub fn prepare(
    store: &mut PersistentStore,
    scenarios: &ScenarioSet,
    checkpoints: &[(String, String)],
    watermark: Option<Watermark>,
    detector: Option<&engine::bucket::DetectorState>,
    history: Option<&[engine::profile::HistoryEntry]>,
) -> Vec<Op> {
    let mut ops = Vec::with_capacity(store.dirty_len() + checkpoints.len() + 3);
    for key in store.take_dirty() {
        let Some(name) = scenarios.get(key.scenario as usize).map(|s| s.name()) else {
            continue;
        };
        let k = encode_key(name, &key);
        match store.entry(&key) {
            Some((b, deadline)) => {
                let mut v = deadline.to_be_bytes().to_vec();
                // A bucket is plain data; serializing it cannot fail.
                if serde_json::to_writer(&mut v, b).is_ok() {
                    ops.push(Op::put(Family::Buckets, k, v));
                }
            }
            None => ops.push(Op {
                family: Family::Buckets,
                key: k,
                value: None,
            }),
        }
    }
    // In key order: RocksDB's memtable inserts a sorted batch walking forward from the last
    // insert, where random order searched the skip list from its head for every bucket (13% of
    // the detect stage's time).
    ops.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    for (k, v) in checkpoints {
        ops.push(Op::put(Family::Checkpoints, k.as_bytes(), v.as_bytes()));
    }
    if let Some(w) = watermark {
        let mut v = w.event_nanos.to_be_bytes().to_vec();
        v.extend_from_slice(&w.wall_nanos.to_be_bytes());
        ops.push(Op::put(Family::Meta, WATERMARK, v));
    }
    if let Some(d) = detector {
        let stored = StoredDetector {
            time: d.time,
            blackholes: d
                .blackholes
                .iter()
                .filter_map(|(k, until)| {
                    let name = scenarios.get(k.scenario as usize)?.name().to_string();
                    Some((name, k.group.to_string(), *until))
                })
                .collect(),
        };
        if let Ok(v) = serde_json::to_vec(&stored) {
            ops.push(Op::put(Family::Meta, DETECTOR, v));
        }
    }
    if let Some(h) = history
        && let Ok(v) = serde_json::to_vec(h)
    {
        ops.push(Op::put(Family::Meta, HISTORY, v));
    }
    ops
}

fn encode_key(scenario: &str, key: &BucketKey) -> Vec<u8> {
    let mut k = Vec::with_capacity(scenario.len() + 1 + key.group.len());
    k.extend_from_slice(scenario.as_bytes());
    k.push(0);
    k.extend_from_slice(key.group.as_bytes());
    k
}

fn decode(scenarios: &ScenarioSet, k: &[u8], v: &[u8]) -> Option<(BucketKey, Bucket, i64)> {
    let nul = k.iter().position(|&b| b == 0)?;
    let name = std::str::from_utf8(&k[..nul]).ok()?;
    let group = std::str::from_utf8(&k[nul + 1..]).ok()?;
    let idx = scenarios.position(name)?;
    let (d, body) = v.split_at_checked(8)?;
    let deadline = i64::from_be_bytes(d.try_into().ok()?);
    let bucket: Bucket = serde_json::from_slice(body).ok()?;
    Some((
        BucketKey {
            scenario: u32::try_from(idx).ok()?,
            group: group.into(),
        },
        bucket,
        deadline,
    ))
}
