//! Writes of the distributed mode: decisions, tombstones, bouncer registrations and cursors
//! go to the topics (acks from every in-sync replica, idempotence); the store sees them when
//! they come back. Each write waits (bounded) until this replica has read it back, so an
//! operator's `add` then `list` sees the decision.

use std::sync::Arc;

use rdkafka::producer::FutureRecord;

use super::record::{self, BouncerEntry, decision_id};
use super::view::Cursor;
use super::{BusError, Replica};
use crate::godur;
use crate::model;
use crate::store::record::{BouncerRecord, DecisionRecord};
use crate::store::{AlertProfiler, StoreError, decisions::prepare};

impl Replica {
    /// Produces one record (`None`: a tombstone) and waits for its acknowledgement; returns
    /// its partition and offset.
    pub(crate) async fn produce(
        &self,
        topic: &str,
        key: &str,
        value: Option<&[u8]>,
    ) -> Result<(usize, i64), BusError> {
        let mut rec: FutureRecord<'_, str, [u8]> = FutureRecord::to(topic).key(key);
        if let Some(v) = value {
            rec = rec.payload(v);
        }
        let fut = self
            .shared
            .producer
            .send_result(rec)
            .map_err(|(source, _)| BusError::Client {
                context: "queueing a record",
                source,
            })?;
        match fut.await {
            Ok(Ok(d)) => Ok((usize::try_from(d.partition).unwrap_or(usize::MAX), d.offset)),
            Ok(Err((e, _))) => Err(BusError::Delivery(e)),
            Err(_) => Err(BusError::Delivery(rdkafka::error::KafkaError::Canceled)),
        }
    }

    /// Waits (bounded) until this replica has read the decision records at `written`.
    pub(crate) async fn wait_read_back(&self, written: &[(usize, i64)]) {
        let done = self
            .wait_until(self.shared.cfg.catch_up_wait, |r| {
                let st = r.state();
                let pos = st.view.positions();
                written
                    .iter()
                    .all(|(p, o)| pos.get(*p).is_some_and(|n| n > o))
            })
            .await;
        if !done {
            tracing::warn!("written decisions not read back yet; they will show shortly");
        }
    }

    /// Waits (bounded) until this replica has read the bouncer record at `written`.
    async fn wait_bouncer_read_back(&self, written: (usize, i64)) {
        let (p, o) = written;
        let done = self
            .wait_until(self.shared.cfg.catch_up_wait, |r| {
                r.state().bouncer_positions.get(p).is_some_and(|n| *n > o)
            })
            .await;
        if !done {
            tracing::warn!("written bouncer record not read back yet");
        }
    }

    /// Publishes the decisions of `alerts` (those without any go through `profiler` first)
    /// to the decisions topic. Returns, per alert, the id its first decision gets (0 when it
    /// has none): the alert the replicas show for it has that id too.
    pub async fn publish_alerts(
        &self,
        mut alerts: Vec<model::Alert>,
        profiler: Option<&dyn AlertProfiler>,
    ) -> Result<Vec<i64>, BusError> {
        let now = godur::now_ms();
        let mut records = Vec::new();
        let mut ids = Vec::with_capacity(alerts.len());
        for a in &mut alerts {
            a.source.scope = model::normalize_scope(&a.source.scope);
            if a.decisions.is_empty()
                && let Some(p) = profiler
            {
                let w = wire::Alert::from(&*a);
                a.decisions = p.decide(&w).iter().map(model::Decision::from).collect();
            }
            let alert_uuid = if a.uuid.is_empty() {
                crate::store::new_uuid()
            } else {
                a.uuid.clone()
            };
            let mut first = 0;
            for p in prepare(a, now)? {
                let uuid = if p.d.uuid.is_empty() {
                    crate::store::new_uuid()
                } else {
                    p.d.uuid.clone()
                };
                let key = wire::bus::decision_key(&p.d.scope, &p.d.value);
                if first == 0 {
                    first = decision_id(&key, &uuid);
                }
                let value =
                    record::encode_decision(&p.d, &uuid, Some(&alert_uuid), now, p.until_ms);
                records.push((key, value));
            }
            ids.push(first);
        }
        let topic = self.shared.cfg.decisions_topic.clone();
        let mut written = Vec::with_capacity(records.len());
        for (key, value) in &records {
            written.push(self.produce(&topic, key, Some(value)).await?);
        }
        self.wait_read_back(&written).await;
        Ok(ids)
    }

    /// Publishes tombstones for the keys of `decisions`; returns how many.
    pub async fn publish_deletions(
        &self,
        decisions: &[Arc<DecisionRecord>],
    ) -> Result<usize, BusError> {
        let topic = self.shared.cfg.decisions_topic.clone();
        let mut written = Vec::with_capacity(decisions.len());
        for d in decisions {
            let key = wire::bus::decision_key(&d.scope, &d.value);
            written.push(self.produce(&topic, &key, None).await?);
        }
        self.wait_read_back(&written).await;
        Ok(written.len())
    }

    /// Registers a bouncer on the bouncers topic (every replica learns it); generates a key
    /// when `key` is `None`. Returns the key.
    pub async fn register_bouncer(
        &self,
        name: &str,
        key: Option<String>,
    ) -> Result<String, BusError> {
        if name.is_empty() {
            return Err(StoreError::Invalid("bouncer name is empty".to_string()).into());
        }
        let key = key.unwrap_or_else(|| crate::store::random_token(16));
        if key.len() < 8 {
            return Err(
                StoreError::Invalid("API key must be at least 8 characters".to_string()).into(),
            );
        }
        self.sync_bouncers().await?;
        let store = self.store();
        if store.bouncer(name).is_some() {
            return Err(StoreError::Exists(format!("bouncer {name} already exists")).into());
        }
        if store.authenticate_bouncer(&key).is_some() {
            return Err(StoreError::Exists("this API key is already in use".to_string()).into());
        }
        let entry = BouncerEntry {
            v: record::BOUNCER_VERSION,
            bouncer: BouncerRecord {
                name: name.to_string(),
                key_hash: crate::store::hash_key(&key),
                created_ms: godur::now_ms(),
                ip: String::new(),
                kind: String::new(),
                version: String::new(),
                last_pull_ms: None,
                cursor: 0,
            },
            cursor: None,
        };
        let topic = self.shared.cfg.bouncers_topic.clone();
        let at = self
            .produce(&topic, name, Some(&record::encode_bouncer(&entry)))
            .await?;
        self.wait_bouncer_read_back(at).await;
        Ok(key)
    }

    /// Deletes a bouncer (a tombstone on the bouncers topic).
    pub async fn delete_bouncer(&self, name: &str) -> Result<(), BusError> {
        self.sync_bouncers().await?;
        if self.store().bouncer(name).is_none() {
            return Err(StoreError::NotFound(format!("unable to find bouncer '{name}'")).into());
        }
        let topic = self.shared.cfg.bouncers_topic.clone();
        let at = self.produce(&topic, name, None).await?;
        self.wait_bouncer_read_back(at).await;
        Ok(())
    }

    /// Saves a bouncer's cursor (with its registration and last pull) on the bouncers topic;
    /// returns once the brokers acknowledged it.
    pub async fn save_cursor(
        &self,
        bouncer: BouncerRecord,
        cursor: Cursor,
    ) -> Result<(), BusError> {
        let entry = BouncerEntry {
            v: record::BOUNCER_VERSION,
            bouncer: BouncerRecord {
                cursor: 0,
                ..bouncer
            },
            cursor: Some(cursor),
        };
        let topic = self.shared.cfg.bouncers_topic.clone();
        let name = entry.bouncer.name.clone();
        self.produce(&topic, &name, Some(&record::encode_bouncer(&entry)))
            .await
            .map(|_| ())
    }
}
