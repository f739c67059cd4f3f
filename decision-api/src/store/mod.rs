//! The decision store: RocksDB (column families `decisions`, `alerts`, `bouncers`,
//! `machines`, `meta`) as the source of truth, an in-memory [`index::Index`] rebuilt at open
//! for every read on the hot path.
//!
//! Every change (decision added, deleted or expired) gets a change sequence number; bouncer
//! stream cursors are such numbers, persisted with the bouncer. Writers are serialised by one
//! mutex held across id allocation, the RocksDB write (WAL on) and the index update, so a
//! sequence number is visible in the index only after every smaller one is.

mod alerts;
mod auth;
pub(crate) mod decisions;
mod external;
#[cfg(test)]
mod external_tests;
pub mod filter;
pub mod index;
pub mod record;
mod stream;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use rocksdb::{ColumnFamilyDescriptor, DB, IteratorMode, Options, WriteBatch, WriteOptions};
use serde::{Serialize, de::DeserializeOwned};

pub use alerts::AlertPage;
pub(crate) use auth::hash_key;
pub use auth::{BouncerInfo, LoginError, MachineInfo};
pub use external::ExternalChange;
pub use stream::{StreamKind, StreamWriter};

use self::index::Index;
use self::record::{BouncerRecord, DecisionRecord, MachineRecord};
use crate::godur;

const CF_DECISIONS: &str = "decisions";
const CF_ALERTS: &str = "alerts";
const CF_BOUNCERS: &str = "bouncers";
const CF_MACHINES: &str = "machines";
const CF_META: &str = "meta";
const META_COUNTERS: &[u8] = b"counters";
const META_JWT: &[u8] = b"jwt_secret";
const META_ADMIN: &[u8] = b"admin_key";

/// How long tombstones (deleted/expired decisions) are kept: 7 days, like CrowdSec's flush.
pub const DEFAULT_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// RocksDB failed.
    #[error("rocksdb at {path}: {source}")]
    Db {
        /// The database directory.
        path: PathBuf,
        /// The cause.
        source: rocksdb::Error,
    },
    /// A stored value did not decode.
    #[error("corrupt record in column family {cf}, key {key}: {source}")]
    Corrupt {
        /// Column family.
        cf: &'static str,
        /// Key (lossy text).
        key: String,
        /// The cause.
        source: serde_json::Error,
    },
    /// The request was invalid (HTTP 400).
    #[error("{0}")]
    Invalid(String),
    /// Nothing matched (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// Already exists (HTTP 403, as CrowdSec's `UserExists`).
    #[error("{0}")]
    Exists(String),
    /// A file next to the store (admin key) failed.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl From<filter::FilterError> for StoreError {
    fn from(e: filter::FilterError) -> Self {
        StoreError::Invalid(e.0)
    }
}

/// Id and sequence allocators, persisted in `meta` with every write.
#[derive(Debug, Clone, Copy, Default, Serialize, serde::Deserialize)]
pub(crate) struct Counters {
    next_id: i64,
    next_alert_id: i64,
    next_seq: u64,
}

/// Turns an alert into decisions: the profiles, applied to watcher alerts that come without
/// decisions (CrowdSec's LAPI evaluates `profiles.yaml` then).
pub trait AlertProfiler: Send + Sync + 'static {
    /// The decisions to take for `alert` (empty: none).
    fn decide(&self, alert: &wire::Alert) -> Vec<wire::Decision>;
}

pub(crate) struct Inner {
    path: PathBuf,
    db: DB,
    index: RwLock<Index>,
    /// Held by every writer of decisions/alerts across allocation, write and index update.
    writer: Mutex<Counters>,
    /// Highest sequence number applied to the index.
    last_seq: std::sync::atomic::AtomicU64,
    bouncers: RwLock<auth::Bouncers>,
    machines: RwLock<foldhash::HashMap<String, MachineRecord>>,
    jwt_secret: Vec<u8>,
    retention_ms: i64,
}

/// A handle on the store (cheap to clone).
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .finish()
    }
}

pub(crate) fn key_i64(id: i64) -> [u8; 8] {
    id.to_be_bytes()
}

fn random_bytes<const N: usize>() -> [u8; N] {
    use rand::RngCore;
    let mut b = [0u8; N];
    rand::rng().fill_bytes(&mut b);
    b
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A random version-4 UUID.
pub(crate) fn new_uuid() -> String {
    uuid_text(random_bytes::<16>(), 4)
}

/// The text of a UUID of `version` (4 random, 5 name-based) over the bytes `b`.
pub(crate) fn uuid_text(mut b: [u8; 16], version: u8) -> String {
    b[6] = (b[6] & 0x0f) | (version << 4);
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A random token of `n` bytes, hex.
pub(crate) fn random_token(n: usize) -> String {
    let b = random_bytes::<64>();
    hex(&b[..n.min(64)])
}

impl Store {
    /// Opens (creating if needed) the store in `dir` and rebuilds the in-memory index.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Self::open_with_retention(dir, DEFAULT_RETENTION_MS)
    }

    /// [`Store::open`] with a tombstone retention period in milliseconds.
    pub fn open_with_retention(dir: &Path, retention_ms: i64) -> Result<Store, StoreError> {
        let path = dir.to_path_buf();
        let db_err = |source| StoreError::Db {
            path: path.clone(),
            source,
        };
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let cfs = [CF_DECISIONS, CF_ALERTS, CF_BOUNCERS, CF_MACHINES, CF_META]
            .into_iter()
            .map(|n| ColumnFamilyDescriptor::new(n, Options::default()));
        let db = DB::open_cf_descriptors(&opts, dir, cfs).map_err(db_err)?;

        let mut counters: Counters = match get_json(&db, &path, CF_META, META_COUNTERS)? {
            Some(c) => c,
            None => Counters {
                next_id: 1,
                next_alert_id: 1,
                next_seq: 1,
            },
        };
        let mut index = Index::default();
        let mut max_seq = 0u64;
        for item in scan::<DecisionRecord>(&db, &path, CF_DECISIONS)? {
            counters.next_id = counters.next_id.max(item.id + 1);
            max_seq = max_seq.max(item.seq).max(item.del_seq);
            index.insert(Arc::new(item));
        }
        counters.next_seq = counters.next_seq.max(max_seq + 1);
        if let Some(cf) = db.cf_handle(CF_ALERTS)
            && let Some(Ok((k, _))) = db.iterator_cf(cf, IteratorMode::End).next()
            && let Ok(b) = <[u8; 8]>::try_from(&k[..])
        {
            counters.next_alert_id = counters.next_alert_id.max(i64::from_be_bytes(b) + 1);
        }
        let mut bouncers = auth::Bouncers::default();
        for b in scan::<BouncerRecord>(&db, &path, CF_BOUNCERS)? {
            bouncers.insert(b);
        }
        let mut machines = foldhash::HashMap::default();
        for m in scan::<MachineRecord>(&db, &path, CF_MACHINES)? {
            machines.insert(m.machine_id.clone(), m);
        }
        let jwt_secret = match get_raw(&db, &path, CF_META, META_JWT)? {
            Some(s) if s.len() >= 32 => s,
            _ => {
                let s = random_bytes::<64>().to_vec();
                put_raw(&db, &path, CF_META, META_JWT, &s)?;
                s
            }
        };
        metrics::gauge!("hivewall_active_decisions").set(index.live.len() as f64);
        let inner = Inner {
            path,
            db,
            index: RwLock::new(index),
            writer: Mutex::new(counters),
            last_seq: std::sync::atomic::AtomicU64::new(counters.next_seq - 1),
            bouncers: RwLock::new(bouncers),
            machines: RwLock::new(machines),
            jwt_secret,
            retention_ms,
        };
        Ok(Store {
            inner: Arc::new(inner),
        })
    }

    pub(crate) fn index(&self) -> RwLockReadGuard<'_, Index> {
        self.inner
            .index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn index_mut(&self) -> RwLockWriteGuard<'_, Index> {
        self.inner
            .index
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn writer(&self) -> MutexGuard<'_, Counters> {
        self.inner
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn last_seq(&self) -> u64 {
        self.inner
            .last_seq
            .load(std::sync::atomic::Ordering::Acquire)
    }

    pub(crate) fn set_last_seq(&self, seq: u64) {
        self.inner
            .last_seq
            .store(seq, std::sync::atomic::Ordering::Release);
    }

    fn db_err(&self, source: rocksdb::Error) -> StoreError {
        StoreError::Db {
            path: self.inner.path.clone(),
            source,
        }
    }

    pub(crate) fn cf(&self, name: &'static str) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.inner
            .db
            .cf_handle(name)
            .ok_or_else(|| StoreError::Invalid(format!("missing column family {name}")))
    }

    /// Adds the counters to `batch` and writes it (WAL on).
    pub(crate) fn commit(
        &self,
        mut batch: WriteBatch,
        counters: Option<&Counters>,
    ) -> Result<(), StoreError> {
        if let Some(c) = counters {
            let v = serde_json::to_vec(c).map_err(|e| StoreError::Invalid(e.to_string()))?;
            batch.put_cf(self.cf(CF_META)?, META_COUNTERS, v);
        }
        let mut wo = WriteOptions::default();
        wo.disable_wal(false);
        self.inner
            .db
            .write_opt(batch, &wo)
            .map_err(|e| self.db_err(e))
    }

    pub(crate) fn get<T: DeserializeOwned>(
        &self,
        cf: &'static str,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        get_json(&self.inner.db, &self.inner.path, cf, key)
    }

    /// The secret that signs watcher JWTs (generated once, kept in `meta`).
    pub fn jwt_secret(&self) -> &[u8] {
        &self.inner.jwt_secret
    }

    /// The administration key: read from `meta` (generated once), and written to `key_file`
    /// (mode 0600) when that file is missing.
    pub fn admin_key(&self, key_file: &Path) -> Result<String, StoreError> {
        let db = &self.inner.db;
        let key = match get_raw(db, &self.inner.path, CF_META, META_ADMIN)? {
            Some(k) => String::from_utf8_lossy(&k).into_owned(),
            None => {
                let k = random_token(32);
                put_raw(db, &self.inner.path, CF_META, META_ADMIN, k.as_bytes())?;
                k
            }
        };
        if !key_file.exists() {
            write_private(key_file, &key).map_err(|source| StoreError::Io {
                file: key_file.to_path_buf(),
                source,
            })?;
        }
        Ok(key)
    }

    /// Whether `key` is the administration key (false while none was ever generated).
    pub fn check_admin_key(&self, key: &str) -> bool {
        match get_raw(&self.inner.db, &self.inner.path, CF_META, META_ADMIN) {
            Ok(Some(k)) => !key.is_empty() && constant_eq(k.as_slice(), key.as_bytes()),
            _ => false,
        }
    }

    /// Tombstones decisions whose `until` passed and purges tombstones older than the
    /// retention. Returns how many decisions expired. [`crate::run`] calls it every second.
    pub fn sweep(&self) -> Result<usize, StoreError> {
        self.sweep_at(godur::now_ms())
    }
}

pub(crate) fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn write_private(file: &Path, key: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(parent) = file.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)?;
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(file)?;
    f.write_all(key.as_bytes())?;
    f.write_all(b"\n")
}

fn get_raw(
    db: &DB,
    path: &Path,
    cf: &'static str,
    key: &[u8],
) -> Result<Option<Vec<u8>>, StoreError> {
    let h = db
        .cf_handle(cf)
        .ok_or_else(|| StoreError::Invalid(format!("missing column family {cf}")))?;
    db.get_cf(h, key).map_err(|source| StoreError::Db {
        path: path.to_path_buf(),
        source,
    })
}

fn put_raw(db: &DB, path: &Path, cf: &'static str, key: &[u8], v: &[u8]) -> Result<(), StoreError> {
    let h = db
        .cf_handle(cf)
        .ok_or_else(|| StoreError::Invalid(format!("missing column family {cf}")))?;
    db.put_cf(h, key, v).map_err(|source| StoreError::Db {
        path: path.to_path_buf(),
        source,
    })
}

fn get_json<T: DeserializeOwned>(
    db: &DB,
    path: &Path,
    cf: &'static str,
    key: &[u8],
) -> Result<Option<T>, StoreError> {
    match get_raw(db, path, cf, key)? {
        None => Ok(None),
        Some(v) => serde_json::from_slice(&v)
            .map(Some)
            .map_err(|source| StoreError::Corrupt {
                cf,
                key: String::from_utf8_lossy(key).into_owned(),
                source,
            }),
    }
}

fn scan<T: DeserializeOwned>(db: &DB, path: &Path, cf: &'static str) -> Result<Vec<T>, StoreError> {
    let h = db
        .cf_handle(cf)
        .ok_or_else(|| StoreError::Invalid(format!("missing column family {cf}")))?;
    let mut out = Vec::new();
    for item in db.iterator_cf(h, IteratorMode::Start) {
        let (k, v) = item.map_err(|source| StoreError::Db {
            path: path.to_path_buf(),
            source,
        })?;
        let rec = serde_json::from_slice(&v).map_err(|source| StoreError::Corrupt {
            cf,
            key: String::from_utf8_lossy(&k).into_owned(),
            source,
        })?;
        out.push(rec);
    }
    Ok(out)
}
