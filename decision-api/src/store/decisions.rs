//! Writing and reading decisions: alert pushes, queries, deletions, expiry and history.

use std::sync::Arc;
use std::time::Duration;

use rocksdb::WriteBatch;

use super::filter::DecisionFilter;
use super::record::{AlertRecord, DecisionRecord};
use super::{
    AlertProfiler, CF_ALERTS, CF_DECISIONS, CF_MACHINES, Store, StoreError, key_i64, new_uuid,
};
use crate::godur;
use crate::model;

fn to_json<T: serde::Serialize>(v: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(v).map_err(|e| StoreError::Invalid(e.to_string()))
}

/// A decision to be written, before ids are allocated.
pub(crate) struct Pending {
    /// End time, unix ms.
    pub until_ms: i64,
    /// The decision, its defaults filled in from the alert.
    pub d: model::Decision,
}

/// The decisions of `alert` with their end times and defaults (scope, value, type, origin,
/// scenario from the alert).
pub(crate) fn prepare(alert: &model::Alert, now: i64) -> Result<Vec<Pending>, StoreError> {
    let mut out = Vec::with_capacity(alert.decisions.len());
    for d in &alert.decisions {
        let until_ms = if !d.duration.is_empty() {
            let dur = godur::parse_ms(&d.duration).ok_or_else(|| {
                StoreError::Invalid(format!(
                    "decision duration '{}' : time: invalid duration",
                    d.duration
                ))
            })?;
            now.saturating_add(dur)
        } else if let Some(u) = godur::parse_rfc3339_ms(&d.until) {
            u
        } else {
            return Err(StoreError::Invalid("decision without duration".to_string()));
        };
        let mut d = d.clone();
        d.scope = model::normalize_scope(if d.scope.is_empty() {
            &alert.source.scope
        } else {
            &d.scope
        });
        if d.value.is_empty() {
            d.value.clone_from(&alert.source.value);
        }
        if d.kind.is_empty() {
            d.kind = "ban".to_string();
        }
        if d.origin.is_empty() {
            d.origin = "crowdsec".to_string();
        }
        if d.scenario.is_empty() {
            d.scenario.clone_from(&alert.scenario);
        }
        if d.simulated.is_none() {
            d.simulated = Some(alert.simulated);
        }
        out.push(Pending { until_ms, d });
    }
    Ok(out)
}

impl Store {
    /// Stores alerts from the local detector (their decisions as given), durably, before
    /// they become visible to bouncers. Returns the alert ids.
    pub fn push_alerts(
        &self,
        machine_id: &str,
        alerts: Vec<wire::Alert>,
    ) -> Result<Vec<i64>, StoreError> {
        let alerts = alerts.iter().map(model::Alert::from).collect();
        self.push_model_alerts(machine_id, alerts, None)
    }

    /// Stores LAPI alerts (from a watcher or an operator). Alerts without decisions go through
    /// `profiler` first when one is given. Returns the alert ids.
    pub fn push_model_alerts(
        &self,
        machine_id: &str,
        mut alerts: Vec<model::Alert>,
        profiler: Option<&dyn AlertProfiler>,
    ) -> Result<Vec<i64>, StoreError> {
        let now = godur::now_ms();
        let mut prepared = Vec::with_capacity(alerts.len());
        for a in &mut alerts {
            a.source.scope = model::normalize_scope(&a.source.scope);
            if a.decisions.is_empty()
                && let Some(p) = profiler
            {
                let w = wire::Alert::from(&*a);
                a.decisions = p.decide(&w).iter().map(model::Decision::from).collect();
            }
            prepared.push(prepare(a, now)?);
        }

        let mut counters = self.writer();
        let mut c = *counters;
        let mut batch = WriteBatch::default();
        let cf_d = self.cf(CF_DECISIONS)?;
        let cf_a = self.cf(CF_ALERTS)?;
        let mut recs = Vec::new();
        let mut ids = Vec::with_capacity(alerts.len());
        for (mut alert, pending) in alerts.into_iter().zip(prepared) {
            let alert_id = c.next_alert_id;
            c.next_alert_id += 1;
            let mut decision_ids = Vec::with_capacity(pending.len());
            for p in pending {
                let rec = DecisionRecord {
                    id: c.next_id,
                    uuid: if p.d.uuid.is_empty() {
                        new_uuid()
                    } else {
                        p.d.uuid
                    },
                    alert_id,
                    created_ms: now,
                    until_ms: p.until_ms,
                    scope: p.d.scope,
                    value: p.d.value,
                    kind: p.d.kind,
                    origin: p.d.origin,
                    scenario: p.d.scenario,
                    simulated: p.d.simulated.unwrap_or(false),
                    seq: c.next_seq,
                    del_seq: 0,
                };
                c.next_id += 1;
                c.next_seq += 1;
                batch.put_cf(cf_d, key_i64(rec.id), to_json(&rec)?);
                decision_ids.push(rec.id);
                recs.push(rec);
            }
            alert.decisions.clear();
            if alert.uuid.is_empty() {
                alert.uuid = new_uuid();
            }
            let started_ms = godur::parse_rfc3339_ms(&alert.start_at).unwrap_or(now);
            let rec = AlertRecord {
                id: alert_id,
                created_ms: now,
                machine_id: machine_id.to_string(),
                started_ms,
                alert,
                decision_ids,
            };
            batch.put_cf(cf_a, key_i64(alert_id), to_json(&rec)?);
            ids.push(alert_id);
        }
        if let Some(m) = self.touch_machine_push(machine_id, now) {
            batch.put_cf(self.cf(CF_MACHINES)?, m.machine_id.as_bytes(), to_json(&m)?);
        }
        self.commit(batch, Some(&c))?;
        *counters = c;
        let mut index = self.index_mut();
        for r in recs {
            index.insert(Arc::new(r));
        }
        metrics::gauge!("hivewall_active_decisions").set(index.live.len() as f64);
        drop(index);
        self.set_last_seq(c.next_seq - 1);
        drop(counters);
        Ok(ids)
    }

    /// Active decisions matching `f` (CrowdSec's `QueryDecisionWithFilter`), by id.
    pub fn query_decisions(&self, f: &DecisionFilter) -> Vec<Arc<DecisionRecord>> {
        let now = godur::now_ms();
        let index = self.index();
        let mut out: Vec<Arc<DecisionRecord>> = Vec::new();
        let mut keep = |r: &Arc<DecisionRecord>| {
            if r.is_active(now) && f.matches(r) && f.matches_range(r) {
                out.push(r.clone());
            }
        };
        if let Some(id) = f.id {
            if let Some(r) = index.recs.get(&id) {
                keep(r);
            }
        } else if let Some(q) = f.range {
            for id in index.ip_lookup(q, f.contains.unwrap_or(true)) {
                if let Some(r) = index.recs.get(&id) {
                    keep(r);
                }
            }
        } else if let Some(v) = &f.value {
            for id in index.by_value.get(v).map(Vec::as_slice).unwrap_or_default() {
                if let Some(r) = index.recs.get(id) {
                    keep(r);
                }
            }
        } else {
            for r in index.live.values() {
                keep(r);
            }
        }
        drop(index);
        out.sort_by_key(|r| r.id);
        out.dedup_by_key(|r| r.id);
        if let Some(l) = f.limit
            && l > 0
        {
            out.truncate(l);
        }
        out
    }

    /// Retained decisions by id (live or tombstones), for rendering alerts.
    pub(crate) fn decisions_by_ids(&self, ids: &[i64]) -> Vec<Arc<DecisionRecord>> {
        let index = self.index();
        ids.iter()
            .filter_map(|id| index.recs.get(id).cloned())
            .collect()
    }

    /// Deletes (expires now) the active decisions matching `f`; returns them.
    pub fn delete_decisions(
        &self,
        f: &DecisionFilter,
    ) -> Result<Vec<Arc<DecisionRecord>>, StoreError> {
        let ids: Vec<i64> = self.query_decisions(f).iter().map(|r| r.id).collect();
        self.expire_ids(&ids, true)
    }

    /// Deletes one decision by id; returns how many were deleted (0 when already inactive).
    pub fn delete_decision(&self, id: i64) -> Result<usize, StoreError> {
        if !self.index().recs.contains_key(&id) {
            return Err(StoreError::NotFound(format!(
                "decision with id '{id}' doesn't exist"
            )));
        }
        Ok(self.expire_ids(&[id], true)?.len())
    }

    /// Tombstones the live decisions among `ids`. `set_until` makes their end time now
    /// (an operator deletion); otherwise they keep it (natural expiry).
    pub(crate) fn expire_ids(
        &self,
        ids: &[i64],
        set_until: bool,
    ) -> Result<Vec<Arc<DecisionRecord>>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let now = godur::now_ms();
        let mut counters = self.writer();
        let mut c = *counters;
        let cf_d = self.cf(CF_DECISIONS)?;
        let mut batch = WriteBatch::default();
        let mut tombs = Vec::new();
        {
            let index = self.index();
            for id in ids {
                let Some(r) = index.live.get(id) else {
                    continue;
                };
                let mut t = DecisionRecord::clone(r);
                t.del_seq = c.next_seq;
                c.next_seq += 1;
                if set_until && t.until_ms > now {
                    t.until_ms = now;
                }
                batch.put_cf(cf_d, key_i64(t.id), to_json(&t)?);
                tombs.push(Arc::new(t));
            }
        }
        if tombs.is_empty() {
            return Ok(tombs);
        }
        self.commit(batch, Some(&c))?;
        *counters = c;
        let mut index = self.index_mut();
        for t in &tombs {
            index.tombstone(t.clone());
        }
        metrics::gauge!("hivewall_active_decisions").set(index.live.len() as f64);
        drop(index);
        self.set_last_seq(c.next_seq - 1);
        Ok(tombs)
    }

    pub(crate) fn sweep_at(&self, now: i64) -> Result<usize, StoreError> {
        let (expired, purge): (Vec<i64>, Vec<i64>) = {
            let index = self.index();
            let expired = index
                .expiry
                .iter()
                .take_while(|(u, _)| *u <= now)
                .take(10_000)
                .map(|(_, id)| *id)
                .collect();
            let horizon = now - self.inner.retention_ms;
            let purge = index
                .del_seq
                .values()
                .take(10_000)
                .filter(|id| index.recs.get(id).is_some_and(|r| r.until_ms < horizon))
                .copied()
                .collect();
            (expired, purge)
        };
        let n = self.expire_ids(&expired, false)?.len();
        if !purge.is_empty() {
            let _counters = self.writer();
            let cf_d = self.cf(CF_DECISIONS)?;
            let mut batch = WriteBatch::default();
            for id in &purge {
                batch.delete_cf(cf_d, key_i64(*id));
            }
            self.commit(batch, None)?;
            let mut index = self.index_mut();
            for id in purge {
                index.purge(id);
            }
        }
        Ok(n)
    }

    /// How many decisions (active or not, still retained) were ever taken on `value`
    /// (CrowdSec's `GetDecisionsCount`, for profiles).
    pub fn decisions_count(&self, value: &str) -> u64 {
        self.index()
            .by_value
            .get(value)
            .map_or(0, |v| v.len() as u64)
    }

    /// How many decisions were taken on `value` during the last `since` (CrowdSec's
    /// `GetDecisionsSinceCount`).
    pub fn decisions_count_since(&self, value: &str, since: Duration) -> u64 {
        let from = godur::now_ms() - i64::try_from(since.as_millis()).unwrap_or(i64::MAX / 2);
        let index = self.index();
        let Some(ids) = index.by_value.get(value) else {
            return 0;
        };
        ids.iter()
            .filter(|id| index.recs.get(id).is_some_and(|r| r.created_ms > from))
            .count() as u64
    }

    /// The active decisions on `value`: how many, and the time left of the longest in
    /// milliseconds (CrowdSec's `GetActiveDecisionsCount` and `GetActiveDecisionsTimeLeft`).
    pub fn active_on(&self, value: &str) -> (u64, i64) {
        let now = godur::now_ms();
        let index = self.index();
        let Some(ids) = index.by_value.get(value) else {
            return (0, 0);
        };
        ids.iter()
            .filter_map(|id| index.recs.get(id))
            .filter(|r| r.is_active(now))
            .fold((0, 0), |(n, left), r| (n + 1, left.max(r.until_ms - now)))
    }

    /// Number of active decisions.
    pub fn active_count(&self) -> usize {
        let now = godur::now_ms();
        let index = self.index();
        index.live.len() - index.expiry.iter().take_while(|(u, _)| *u <= now).count()
    }
}
