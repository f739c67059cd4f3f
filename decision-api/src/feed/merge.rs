//! Merging a pull into the decisions: the plan (which CAPI decisions to add, update or
//! remove, from what the store holds) and its application to the embedded store or, in the
//! distributed mode, to the decisions topic.
//!
//! A feed decision is identified by its scope and value, as CrowdSec's blocklist update
//! replaces CAPI decisions by value: one CAPI decision per target, whatever the scenario.
//! Local decisions on the same target are never touched.

use std::collections::HashMap;
use std::sync::Arc;

use wire::feed::{CAPI_ORIGIN, FeedDecision, FeedStream};

use crate::bus::Replica;
use crate::bus::record::encode_decision;
use crate::godur;
use crate::model;
use crate::store::record::{AlertRecord, DecisionRecord};
use crate::store::{ExternalChange, Store, StoreError};
use crate::{DecisionFilter, bus::BusError};

/// A decision whose end moved by less than this is left as it is (the feed sends remaining
/// durations, which drift by the time the answer took).
const SAME_END_MS: i64 = 60_000;

/// The source scope of the alert each pull's additions are filed under (CrowdSec's name for
/// its community blocklist alerts; the store's `include_capi` filter knows it).
pub(crate) const COMMUNITY_SCOPE: &str = "crowdsecurity/community-blocklist";

/// What one pull changes.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// Live CAPI decisions to remove.
    pub remove: Vec<Arc<DecisionRecord>>,
    /// Decisions to write: new ones (`existing` is `None`) or new ends and scenarios.
    pub upsert: Vec<Entry>,
    /// Listed decisions already held with the same end.
    pub unchanged: usize,
    /// Feed decisions that could not be read (no value, bad duration, already ended).
    pub skipped: usize,
}

/// A feed decision to write.
#[derive(Debug)]
pub(crate) struct Entry {
    /// The live CAPI decision on the same target, kept under its id.
    pub existing: Option<Arc<DecisionRecord>>,
    pub scope: String,
    pub value: String,
    pub kind: String,
    pub scenario: String,
    pub until_ms: i64,
}

/// How many decisions a pull added, updated and removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// Newly listed.
    pub added: usize,
    /// Listed again with another end or scenario.
    pub updated: usize,
    /// Removed (deleted by the feed, or no longer listed at a startup pull).
    pub removed: usize,
    /// Listed, already held.
    pub unchanged: usize,
    /// Unreadable entries ignored.
    pub skipped: usize,
}

type Key = (String, String);

fn key_of(scope: &str, value: &str) -> Key {
    (model::normalize_scope(scope), value.to_string())
}

/// The live CAPI decisions of `store`.
pub(crate) fn current(store: &Store) -> Vec<Arc<DecisionRecord>> {
    let f = DecisionFilter {
        origins: vec![CAPI_ORIGIN.to_string()],
        include_simulated: true,
        ..DecisionFilter::default()
    };
    store.query_decisions(&f)
}

/// The plan of one pull against the `current` CAPI decisions at `now_ms`. After a `startup`
/// pull, the feed lists everything it holds: current decisions it does not list are removed.
pub(crate) fn plan(
    current: Vec<Arc<DecisionRecord>>,
    pull: &FeedStream,
    startup: bool,
    now_ms: i64,
) -> Plan {
    let mut p = Plan::default();
    let mut held: HashMap<Key, Arc<DecisionRecord>> = HashMap::with_capacity(current.len());
    for d in current {
        // Two CAPI decisions on one target (never written so): keep the later end.
        let k = key_of(&d.scope, &d.value);
        if held.get(&k).is_some_and(|o| o.until_ms >= d.until_ms) {
            p.remove.push(d);
        } else if let Some(o) = held.insert(k, d) {
            p.remove.push(o);
        }
    }
    for d in &pull.deleted {
        if let Some(o) = held.remove(&key_of(&d.scope, &d.value)) {
            p.remove.push(o);
        }
    }
    // The last listing of a target wins.
    let mut listed: HashMap<Key, (&FeedDecision, i64)> = HashMap::with_capacity(pull.new.len());
    for d in &pull.new {
        let until = godur::parse_ms(&d.duration).map(|ms| now_ms.saturating_add(ms));
        match until {
            Some(u) if u > now_ms && !d.value.is_empty() && !d.scope.is_empty() => {
                listed.insert(key_of(&d.scope, &d.value), (d, u));
            }
            _ => p.skipped += 1,
        }
    }
    let mut listed: Vec<(Key, (&FeedDecision, i64))> = listed.into_iter().collect();
    listed.sort_by(|a, b| a.0.cmp(&b.0));
    for (k, (d, until_ms)) in listed {
        let kind = if d.kind.is_empty() {
            "ban"
        } else {
            d.kind.as_str()
        };
        let existing = held.remove(&k);
        if let Some(o) = &existing
            && (o.until_ms - until_ms).abs() < SAME_END_MS
            && o.scenario == d.scenario
            && o.kind == kind
        {
            p.unchanged += 1;
            continue;
        }
        p.upsert.push(Entry {
            existing,
            scope: k.0,
            value: k.1,
            kind: kind.to_string(),
            scenario: d.scenario.clone(),
            until_ms,
        });
    }
    if startup {
        p.remove.extend(held.into_values());
    }
    p.remove.sort_by_key(|d| d.id);
    p
}

impl Plan {
    fn applied(&self) -> Applied {
        let added = self.upsert.iter().filter(|e| e.existing.is_none()).count();
        Applied {
            added,
            updated: self.upsert.len() - added,
            removed: self.remove.len(),
            unchanged: self.unchanged,
            skipped: self.skipped,
        }
    }
}

/// Writes `p` into the embedded store: one RocksDB write; the additions are filed under one
/// new alert (as CrowdSec files each community pull), updates keep their id and alert.
pub(crate) fn apply_embedded(store: &Store, p: Plan, now_ms: i64) -> Result<Applied, StoreError> {
    let applied = p.applied();
    if p.upsert.is_empty() && p.remove.is_empty() {
        return Ok(applied);
    }
    let (mut next_id, alert_id) = if applied.added > 0 {
        store.reserve_ids(applied.added, 1)
    } else {
        (0, 0)
    };
    let mut changes: Vec<ExternalChange> = p
        .remove
        .iter()
        .map(|d| ExternalChange::Remove(d.id))
        .collect();
    let mut added_ids = Vec::with_capacity(applied.added);
    for e in p.upsert {
        let rec = match e.existing {
            Some(o) => DecisionRecord {
                until_ms: e.until_ms,
                kind: e.kind,
                scenario: e.scenario,
                ..DecisionRecord::clone(&o)
            },
            None => {
                let id = next_id;
                next_id += 1;
                added_ids.push(id);
                DecisionRecord {
                    id,
                    uuid: crate::store::new_uuid(),
                    alert_id,
                    created_ms: now_ms,
                    until_ms: e.until_ms,
                    scope: e.scope,
                    value: e.value,
                    kind: e.kind,
                    origin: CAPI_ORIGIN.to_string(),
                    scenario: e.scenario,
                    simulated: false,
                    seq: 0,
                    del_seq: 0,
                }
            }
        };
        changes.push(ExternalChange::UpsertDecision(rec));
    }
    if !added_ids.is_empty() {
        changes.push(ExternalChange::Alert(Box::new(pull_alert(
            alert_id, added_ids, applied, now_ms,
        ))));
    }
    store.apply_external(changes)?;
    Ok(applied)
}

/// The alert a pull's additions are filed under.
fn pull_alert(id: i64, decision_ids: Vec<i64>, a: Applied, now_ms: i64) -> AlertRecord {
    let at = godur::rfc3339_ms(now_ms);
    let summary = format!("update : +{}/-{} IPs", a.added, a.removed);
    AlertRecord {
        id,
        created_ms: now_ms,
        machine_id: String::new(),
        started_ms: now_ms,
        alert: model::Alert {
            uuid: crate::store::new_uuid(),
            scenario: summary.clone(),
            message: summary,
            start_at: at.clone(),
            stop_at: at,
            leakspeed: "0".to_string(),
            remediation: true,
            source: model::Source {
                scope: COMMUNITY_SCOPE.to_string(),
                ..model::Source::default()
            },
            ..model::Alert::default()
        },
        decision_ids,
    }
}

/// The key of a feed decision on the decisions topic: apart from the local decision on the
/// same target (`ip:…`), so neither replaces the other.
pub(crate) fn topic_key(scope: &str, value: &str) -> String {
    format!("capi/{}", wire::bus::decision_key(scope, value))
}

/// A UUID derived from the topic key: every replica writes the same record for a target, so
/// its decision id is the same everywhere and across pulls.
fn topic_uuid(key: &str) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(format!("hivewall-feed\0{key}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    crate::store::uuid_text(b, 5)
}

/// Writes `p` to the decisions topic of the distributed mode (tombstones for removals); the
/// replicas' stores see it when they read it back.
pub(crate) async fn apply_replica(
    replica: &Replica,
    p: Plan,
    now_ms: i64,
) -> Result<Applied, BusError> {
    let applied = p.applied();
    let topic = replica.config().decisions_topic.clone();
    let mut written = Vec::with_capacity(p.remove.len() + p.upsert.len());
    for d in &p.remove {
        let key = topic_key(&d.scope, &d.value);
        written.push(replica.produce(&topic, &key, None).await?);
    }
    for e in p.upsert {
        let key = topic_key(&e.scope, &e.value);
        let uuid = topic_uuid(&key);
        let d = model::Decision {
            origin: CAPI_ORIGIN.to_string(),
            scenario: e.scenario,
            scope: e.scope,
            simulated: Some(false),
            kind: e.kind,
            value: e.value,
            ..model::Decision::default()
        };
        let value = encode_decision(&d, &uuid, None, now_ms, e.until_ms);
        written.push(replica.produce(&topic, &key, Some(&value)).await?);
    }
    replica.wait_read_back(&written).await;
    Ok(applied)
}
