//! Stored alerts: listing with CrowdSec's filters, inspection, deletion.

use rocksdb::{IteratorMode, WriteBatch};

use super::filter::{AlertFilter, DecisionFilter};
use super::index::parse_net;
use super::record::AlertRecord;
use super::{CF_ALERTS, Store, StoreError, key_i64};
use crate::godur;
use crate::model;

/// One page of alerts, newest first.
pub type AlertPage = Vec<model::Alert>;

/// CrowdSec's default `limit` for alert queries.
const DEFAULT_LIMIT: usize = 100;

impl Store {
    fn alert_matches(&self, rec: &AlertRecord, f: &AlertFilter, now: i64) -> bool {
        let a = &rec.alert;
        if f.id.is_some_and(|id| id != rec.id)
            || f.scope.as_ref().is_some_and(|s| *s != a.source.scope)
            || f.value.as_ref().is_some_and(|v| *v != a.source.value)
            || f.kind.as_ref().is_some_and(|k| *k != a.kind)
            || (f.simulated == Some(false) && a.simulated)
            || f.since_ms.is_some_and(|t| rec.started_ms < t)
            || f.until_ms.is_some_and(|t| rec.started_ms > t)
            || f.created_before_ms.is_some_and(|t| rec.created_ms > t)
        {
            return false;
        }
        let decisions = self.decisions_by_ids(&rec.decision_ids);
        if let Some(s) = &f.scenario
            && *s != a.scenario
            && !decisions.iter().any(|d| d.scenario == *s)
        {
            return false;
        }
        if let Some(t) = &f.decision_type
            && !decisions.iter().any(|d| d.kind == *t)
        {
            return false;
        }
        if let Some(o) = &f.origin
            && !decisions.iter().any(|d| d.origin == *o)
        {
            return false;
        }
        match f.has_active_decision {
            Some(true) if !decisions.iter().any(|d| d.is_active(now)) => return false,
            Some(false) if !rec.decision_ids.is_empty() => return false,
            _ => {}
        }
        if f.include_capi == Some(false) && f.origin.is_none() {
            let capi = |o: &str| o == "CAPI" || o == "lists";
            if decisions.iter().any(|d| capi(&d.origin)) {
                return false;
            }
            if rec.decision_ids.is_empty()
                && (a.source.scope.starts_with("lists:")
                    || a.source.scope == "crowdsecurity/community-blocklist")
            {
                return false;
            }
        }
        if let Some(q) = f.range {
            let contains = f.contains.unwrap_or(true);
            let hit = decisions.iter().any(|d| {
                parse_net(&d.value).is_some_and(|n| {
                    if contains {
                        n.contains(&q)
                    } else {
                        q.contains(&n)
                    }
                })
            });
            if !hit {
                return false;
            }
        }
        true
    }

    /// Renders a stored alert as CrowdSec's `GET /v1/alerts` does.
    pub(crate) fn render_alert(&self, rec: &AlertRecord, now: i64) -> model::Alert {
        let mut a = rec.alert.clone();
        a.id = rec.id;
        a.machine_id = if rec.machine_id.is_empty() {
            "N/A".to_string()
        } else {
            rec.machine_id.clone()
        };
        a.created_at = godur::rfc3339_ms(rec.created_ms);
        a.decisions = self
            .decisions_by_ids(&rec.decision_ids)
            .iter()
            .map(|d| {
                let mut m = d.to_model(i128::from(now) * 1_000_000);
                m.simulated = Some(a.simulated);
                m
            })
            .collect();
        a
    }

    fn scan_alerts(
        &self,
        f: &AlertFilter,
        mut each: impl FnMut(AlertRecord) -> bool,
    ) -> Result<(), StoreError> {
        let now = godur::now_ms();
        let cf = self.cf(CF_ALERTS)?;
        for item in self.inner.db.iterator_cf(cf, IteratorMode::End) {
            let (k, v) = item.map_err(|e| self.db_err(e))?;
            let rec: AlertRecord =
                serde_json::from_slice(&v).map_err(|source| StoreError::Corrupt {
                    cf: CF_ALERTS,
                    key: format!("{k:?}"),
                    source,
                })?;
            if self.alert_matches(&rec, f, now) && !each(rec) {
                break;
            }
        }
        Ok(())
    }

    /// Alerts matching `f`, newest first (CrowdSec's `QueryAlertWithFilter`; `limit`
    /// defaults to 100, 0 means no limit).
    pub fn list_alerts(&self, f: &AlertFilter) -> Result<AlertPage, StoreError> {
        let limit = match f.limit {
            None => DEFAULT_LIMIT,
            Some(0) => usize::MAX,
            Some(l) => l,
        };
        let now = godur::now_ms();
        let mut out = Vec::new();
        self.scan_alerts(f, |rec| {
            out.push(self.render_alert(&rec, now));
            out.len() < limit
        })?;
        Ok(out)
    }

    /// One alert by id.
    pub fn get_alert(&self, id: i64) -> Result<model::Alert, StoreError> {
        let rec: AlertRecord = self
            .get(CF_ALERTS, &key_i64(id))?
            .ok_or_else(|| StoreError::NotFound(format!("alert with id '{id}' doesn't exist")))?;
        Ok(self.render_alert(&rec, godur::now_ms()))
    }

    /// Deletes the alerts matching `f` and expires their active decisions; returns how many
    /// alerts were deleted.
    pub fn delete_alerts(&self, f: &AlertFilter) -> Result<usize, StoreError> {
        let mut f = f.clone();
        f.limit = None;
        let mut victims = Vec::new();
        self.scan_alerts(&f, |rec| {
            victims.push((rec.id, rec.decision_ids));
            true
        })?;
        self.remove_alerts(victims)
    }

    /// Deletes one alert by id (and expires its decisions).
    pub fn delete_alert(&self, id: i64) -> Result<usize, StoreError> {
        let rec: AlertRecord = self
            .get(CF_ALERTS, &key_i64(id))?
            .ok_or_else(|| StoreError::NotFound(format!("alert with id '{id}' doesn't exist")))?;
        self.remove_alerts(vec![(rec.id, rec.decision_ids)])
    }

    fn remove_alerts(&self, victims: Vec<(i64, Vec<i64>)>) -> Result<usize, StoreError> {
        let n = victims.len();
        let mut ids = Vec::new();
        let cf = self.cf(CF_ALERTS)?;
        let mut batch = WriteBatch::default();
        for (aid, dids) in victims {
            batch.delete_cf(cf, key_i64(aid));
            ids.extend(dids);
        }
        self.expire_ids(&ids, true)?;
        {
            let _w = self.writer();
            self.commit(batch, None)?;
        }
        Ok(n)
    }

    /// Active decisions of alerts, grouped as `cscli decisions list` shows them: the alerts
    /// matching `f` that have active decisions matching `df`.
    pub fn list_decision_alerts(
        &self,
        f: &AlertFilter,
        df: &DecisionFilter,
    ) -> Result<AlertPage, StoreError> {
        let mut f = f.clone();
        f.has_active_decision = Some(true);
        let mut page = self.list_alerts(&f)?;
        let ids: std::collections::HashSet<i64> =
            self.query_decisions(df).iter().map(|d| d.id).collect();
        for a in &mut page {
            a.decisions.retain(|d| ids.contains(&d.id));
        }
        page.retain(|a| !a.decisions.is_empty());
        Ok(page)
    }
}
