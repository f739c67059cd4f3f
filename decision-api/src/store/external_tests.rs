//! Writes from the topics ([`Store::apply_external`] and friends) on a real RocksDB.

use super::filter::DecisionFilter;
use super::record::{AlertRecord, BouncerRecord, DecisionRecord};
use super::{ExternalChange, StreamKind, StreamWriter};
use crate::{Store, StoreError, godur, model};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn change(id: i64, value: &str, until_ms: i64) -> ExternalChange {
    let rec = DecisionRecord {
        id,
        uuid: format!("u{id}"),
        alert_id: id,
        created_ms: godur::now_ms(),
        until_ms,
        scope: "Ip".into(),
        value: value.into(),
        kind: "ban".into(),
        origin: "crowdsec".into(),
        scenario: "s".into(),
        simulated: false,
        seq: 0,
        del_seq: 0,
    };
    let alert = AlertRecord {
        id,
        created_ms: rec.created_ms,
        machine_id: String::new(),
        started_ms: rec.created_ms,
        alert: model::Alert::default(),
        decision_ids: vec![id],
    };
    ExternalChange::Upsert(rec, Box::new(alert))
}

fn ids_for(store: &Store, ip: &str) -> Vec<i64> {
    let f = DecisionFilter::from_query(&[("ip".to_string(), ip.to_string())]).unwrap_or_default();
    store.query_decisions(&f).iter().map(|r| r.id).collect()
}

/// Upserts keep the given id (a second upsert replaces, never duplicates), removals
/// tombstone (the embedded stream reports them), and all of it survives a reopen.
#[test]
fn external_decisions_keep_their_ids() -> TestResult {
    let dir = tempfile::tempdir()?;
    let later = godur::now_ms() + 3_600_000;
    {
        let store = Store::open(dir.path())?;
        store.reset_for_replica("t")?;
        store.apply_external(vec![
            change(42, "192.0.2.1", later),
            change(7, "192.0.2.2", later),
        ])?;
        store.apply_external(vec![change(42, "192.0.2.1", later + 1000)])?;
        assert_eq!(ids_for(&store, "192.0.2.1"), [42]);
        assert_eq!(store.active_count(), 2);
        let seq = store.last_seq();
        // Upsert then removal in one batch, and a removal of an unknown id.
        store.apply_external(vec![
            change(9, "192.0.2.9", later),
            ExternalChange::Remove(9),
            ExternalChange::Remove(7),
            ExternalChange::Remove(12345),
        ])?;
        assert!(ids_for(&store, "192.0.2.2").is_empty());
        assert!(ids_for(&store, "192.0.2.9").is_empty());
        let mut w = StreamWriter::new(
            store.clone(),
            StreamKind::Delta { cursor: seq },
            DecisionFilter::default(),
        );
        let mut body = Vec::new();
        while let Some(c) = w.next_chunk() {
            body.extend(c);
        }
        let v: serde_json::Value = serde_json::from_slice(&body)?;
        let mut deleted: Vec<i64> = v["deleted"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["id"].as_i64())
            .collect();
        deleted.sort_unstable();
        assert_eq!(deleted, [7, 9]);
        assert!(store.get_alert(42).is_ok());
    }
    let store = Store::open(dir.path())?;
    assert_eq!(ids_for(&store, "192.0.2.1"), [42]);
    assert_eq!(store.active_count(), 1);
    Ok(())
}

/// A replica's store is emptied at start; a store holding `run`'s decisions is refused.
#[test]
fn reset_refuses_an_embedded_store() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    let req = crate::admin::AddDecisionRequest {
        value: "192.0.2.5".into(),
        scope: "Ip".into(),
        kind: "ban".into(),
        duration: "1h".into(),
        reason: String::new(),
        origin: String::new(),
    };
    store.add_decision(&req)?;
    assert!(matches!(
        store.reset_for_replica("t"),
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.active_count(), 1);
    assert_eq!(store.replica_of()?, None);

    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    store.reset_for_replica("t")?;
    assert_eq!(store.replica_of()?.as_deref(), Some("t"));
    store.apply_external(vec![change(3, "192.0.2.3", godur::now_ms() + 60_000)])?;
    store.reset_for_replica("t")?;
    assert_eq!(store.active_count(), 0);
    assert!(store.get_alert(3).is_err());
    Ok(())
}

/// Bouncers registered elsewhere authenticate here; a new key replaces the old one.
#[test]
fn external_bouncers_replace_and_remove() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    let rec = |key: &str| BouncerRecord {
        name: "fw".into(),
        key_hash: super::hash_key(key),
        created_ms: 0,
        ip: String::new(),
        kind: String::new(),
        version: String::new(),
        last_pull_ms: None,
        cursor: 0,
    };
    store.put_bouncer_external(rec("first-key-1"))?;
    assert!(store.authenticate_bouncer("first-key-1").is_some());
    store.put_bouncer_external(rec("second-key-2"))?;
    assert!(store.authenticate_bouncer("first-key-1").is_none());
    assert_eq!(store.bouncer("fw").map(|b| b.name), Some("fw".to_string()));
    assert!(store.authenticate_bouncer("second-key-2").is_some());
    store.remove_bouncer_external("fw")?;
    store.remove_bouncer_external("fw")?;
    assert!(store.authenticate_bouncer("second-key-2").is_none());
    assert!(store.list_bouncers().is_empty());
    Ok(())
}
