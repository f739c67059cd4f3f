//! Writes that come from outside the store: the distributed mode materializes the Kafka
//! topics `hivewall.decisions` and `hivewall.bouncers` into it. Decision ids are given by the
//! caller (derived from the record, the same on every replica), not allocated here; change
//! sequence numbers stay local (the distributed streams do not use them).

use std::sync::Arc;

use rocksdb::{IteratorMode, WriteBatch};

use super::index::Index;
use super::record::{AlertRecord, BouncerRecord, DecisionRecord};
use super::{CF_ALERTS, CF_BOUNCERS, CF_DECISIONS, CF_META, Counters, Store, StoreError, key_i64};
use crate::godur;

/// The `meta` key marking a store as a replica of the Kafka topics.
const META_REPLICA: &[u8] = b"replica_of";

/// One change from the decisions topic.
#[derive(Debug, Clone)]
pub enum ExternalChange {
    /// Inserts decision `0.id` (replacing any record with that id) and its alert. Its `seq`
    /// and `del_seq` are set by the store.
    Upsert(DecisionRecord, Box<AlertRecord>),
    /// Inserts decision `0.id` or replaces it, writing no alert: its `alert_id` names one
    /// written before or by an [`ExternalChange::Alert`] of the same call.
    UpsertDecision(DecisionRecord),
    /// Writes (or replaces) an alert record.
    Alert(Box<AlertRecord>),
    /// Tombstones decision `id` when it is live (its end time becomes now if later).
    Remove(i64),
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(v).map_err(|e| StoreError::Invalid(e.to_string()))
}

/// Numbers `rec` with the next change sequence number and adds its write to `batch`.
fn upsert(
    mut rec: DecisionRecord,
    c: &mut Counters,
    batch: &mut WriteBatch,
    cf_d: &rocksdb::ColumnFamily,
) -> Result<Arc<DecisionRecord>, StoreError> {
    rec.seq = c.next_seq;
    rec.del_seq = 0;
    c.next_seq += 1;
    batch.put_cf(cf_d, key_i64(rec.id), to_json(&rec)?);
    Ok(Arc::new(rec))
}

enum IndexOp {
    Replace(Arc<DecisionRecord>),
    Tomb(Arc<DecisionRecord>),
}

impl Store {
    /// Prepares the store to be a replica of the topics named by `source` (any stable text,
    /// e.g. the decisions topic): refuses a store that holds decisions of the embedded mode
    /// (`hivewall run`), then forgets every decision, alert and bouncer, which the replica
    /// rebuilds from the topics.
    pub fn reset_for_replica(&self, source: &str) -> Result<(), StoreError> {
        let marker = super::get_raw(&self.inner.db, &self.inner.path, CF_META, META_REPLICA)?;
        if marker.is_none() && !self.index().recs.is_empty() {
            return Err(StoreError::Invalid(format!(
                "the store at {} holds decisions of the embedded mode (hivewall run): \
                 give the distributed API a state directory of its own",
                self.inner.path.display()
            )));
        }
        let _w = self.writer();
        let mut batch = WriteBatch::default();
        for cf_name in [CF_DECISIONS, CF_ALERTS, CF_BOUNCERS] {
            let cf = self.cf(cf_name)?;
            for item in self.inner.db.iterator_cf(cf, IteratorMode::Start) {
                let (k, _) = item.map_err(|e| self.db_err(e))?;
                batch.delete_cf(cf, k);
            }
        }
        batch.put_cf(self.cf(CF_META)?, META_REPLICA, source.as_bytes());
        self.commit(batch, None)?;
        *self.index_mut() = Index::default();
        self.inner
            .bouncers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
        metrics::gauge!("hivewall_active_decisions").set(0.0);
        Ok(())
    }

    /// What the store is a replica of (the `source` given to [`Store::reset_for_replica`]),
    /// or `None` for the store of the embedded mode.
    pub fn replica_of(&self) -> Result<Option<String>, StoreError> {
        let v = super::get_raw(&self.inner.db, &self.inner.path, CF_META, META_REPLICA)?;
        Ok(v.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Reserves ids for records written with [`Store::apply_external`] beside the store's own
    /// decisions (a subscribed feed in the embedded mode): `decisions` consecutive decision ids
    /// and `alerts` consecutive alert ids, the first of each returned. They are persisted with
    /// the next write; unused ones are skipped.
    pub fn reserve_ids(&self, decisions: usize, alerts: usize) -> (i64, i64) {
        let mut c = self.writer();
        let first = (c.next_id, c.next_alert_id);
        c.next_id += i64::try_from(decisions).unwrap_or(i64::MAX / 2);
        c.next_alert_id += i64::try_from(alerts).unwrap_or(i64::MAX / 2);
        first
    }

    /// Applies changes in order, in one RocksDB write.
    pub fn apply_external(&self, changes: Vec<ExternalChange>) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let now = godur::now_ms();
        let mut counters = self.writer();
        let mut c = *counters;
        let cf_d = self.cf(CF_DECISIONS)?;
        let cf_a = self.cf(CF_ALERTS)?;
        let mut batch = WriteBatch::default();
        let mut ops = Vec::with_capacity(changes.len());
        {
            // Records written earlier in this batch, by id (a later change may remove them).
            let mut pending: foldhash::HashMap<i64, Option<Arc<DecisionRecord>>> =
                foldhash::HashMap::default();
            let index = self.index();
            for ch in changes {
                match ch {
                    ExternalChange::Upsert(rec, alert) => {
                        batch.put_cf(cf_a, key_i64(alert.id), to_json(&alert)?);
                        let rec = upsert(rec, &mut c, &mut batch, cf_d)?;
                        pending.insert(rec.id, Some(rec.clone()));
                        ops.push(IndexOp::Replace(rec));
                    }
                    ExternalChange::UpsertDecision(rec) => {
                        let rec = upsert(rec, &mut c, &mut batch, cf_d)?;
                        pending.insert(rec.id, Some(rec.clone()));
                        ops.push(IndexOp::Replace(rec));
                    }
                    ExternalChange::Alert(alert) => {
                        batch.put_cf(cf_a, key_i64(alert.id), to_json(&alert)?);
                    }
                    ExternalChange::Remove(id) => {
                        let live = match pending.get(&id) {
                            Some(p) => p.clone(),
                            None => index.live.get(&id).cloned(),
                        };
                        let Some(live) = live else { continue };
                        let mut t = DecisionRecord::clone(&live);
                        t.del_seq = c.next_seq;
                        c.next_seq += 1;
                        t.until_ms = t.until_ms.min(now);
                        batch.put_cf(cf_d, key_i64(id), to_json(&t)?);
                        pending.insert(id, None);
                        ops.push(IndexOp::Tomb(Arc::new(t)));
                    }
                }
            }
        }
        self.commit(batch, Some(&c))?;
        *counters = c;
        let mut index = self.index_mut();
        for op in ops {
            match op {
                IndexOp::Replace(r) => {
                    index.purge(r.id);
                    index.insert(r);
                }
                IndexOp::Tomb(t) => index.tombstone(t),
            }
        }
        metrics::gauge!("hivewall_active_decisions").set(index.live.len() as f64);
        drop(index);
        self.set_last_seq(c.next_seq - 1);
        Ok(())
    }

    /// Inserts or replaces a bouncer as registered elsewhere (key hash, cursor and all).
    pub fn put_bouncer_external(&self, rec: BouncerRecord) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_BOUNCERS)?, rec.name.as_bytes(), to_json(&rec)?);
        self.commit(batch, None)?;
        self.inner
            .bouncers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .replace(rec);
        Ok(())
    }

    /// Forgets a bouncer deleted elsewhere (nothing when unknown).
    pub fn remove_bouncer_external(&self, name: &str) -> Result<(), StoreError> {
        let removed = self
            .inner
            .bouncers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(name);
        if removed.is_some() {
            let mut batch = WriteBatch::default();
            batch.delete_cf(self.cf(CF_BOUNCERS)?, name.as_bytes());
            self.commit(batch, None)?;
        }
        Ok(())
    }

    /// The bouncer named `name`, if registered.
    pub fn bouncer(&self, name: &str) -> Option<BouncerRecord> {
        self.inner
            .bouncers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// The live decision with id `id`, if any.
    pub fn live_decision(&self, id: i64) -> Option<Arc<DecisionRecord>> {
        self.index().live.get(&id).cloned()
    }
}
