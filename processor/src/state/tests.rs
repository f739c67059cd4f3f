//! What a commit writes: the database ends up holding exactly the store's buckets, and a
//! bucket that came and went between two commits costs no write.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use engine::bucket::{Bucket, BucketKey, BucketStore, ScenarioSet};
use engine::clock::FixedClock;
use engine::pipeline::{Pipeline, Setup};
use proptest::prelude::*;

use super::{Family, PersistentStore, StateDb, prepare};

/// The scenarios of `scenarios/`, loaded once for every case.
fn scenarios() -> Arc<ScenarioSet> {
    static SET: std::sync::LazyLock<Arc<ScenarioSet>> = std::sync::LazyLock::new(load);
    Arc::clone(&SET)
}

fn load() -> Arc<ScenarioSet> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let setup = Setup::installed(&repo.join("scenarios"), repo.join("scenarios/data")).unwrap();
    let clock = Arc::new(FixedClock(
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap(),
    ));
    let pipeline = Pipeline::load(&setup, clock).unwrap();
    Arc::clone(pipeline.detector().scenarios())
}

fn key(g: u8) -> BucketKey {
    BucketKey {
        scenario: 0,
        group: format!("192.0.2.{g}").into(),
    }
}

fn keys_of(store: &PersistentStore) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    store.for_each(&mut |k, _, _| {
        out.insert(k.group.to_string());
    });
    out
}

/// Commits `store` to `db`; returns (puts, deletes) of buckets.
fn commit(db: &StateDb, store: &mut PersistentStore, scenarios: &ScenarioSet) -> (usize, usize) {
    let ops = prepare(store, scenarios, &[], None, None, None);
    let buckets = ops.iter().filter(|o| o.family == Family::Buckets);
    let deletes = buckets.clone().filter(|o| o.value.is_none()).count();
    let puts = buckets.count() - deletes;
    db.apply(&ops).unwrap();
    (puts, deletes)
}

#[test]
fn a_bucket_gone_before_any_commit_writes_nothing_and_a_stored_one_is_deleted() {
    let scenarios = scenarios();
    let sc = scenarios.get(0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = StateDb::open(dir.path()).unwrap();
    let mut store = PersistentStore::default();
    store.put(key(1), Bucket::new(sc), 100);
    store.put(key(2), Bucket::new(sc), 200);
    assert_eq!(commit(&db, &mut store, &scenarios), (2, 0));
    // 1 taken (as an overflow takes it), 3 created and leaked out before the next commit.
    store.take(&key(1)).unwrap();
    store.put(key(3), Bucket::new(sc), 50);
    assert_eq!(store.drain_expired(60).len(), 1);
    assert_eq!(commit(&db, &mut store, &scenarios), (0, 1));
    assert_eq!(store.stored_len(), 1);
    // A restarted store knows what the database holds.
    let (mut back, dropped) = db.load_store(&scenarios).unwrap();
    assert_eq!(dropped, 0);
    assert_eq!(keys_of(&back), BTreeSet::from(["192.0.2.2".to_string()]));
    back.take(&key(2)).unwrap();
    assert_eq!(commit(&db, &mut back, &scenarios), (0, 1));
    assert_eq!(db.load_store(&scenarios).unwrap().0.len(), 0);
}

#[derive(Debug, Clone)]
enum Step {
    Put(u8, i64),
    Take(u8),
    Expire(i64),
    Commit,
    Restart,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u8..6, 0i64..100).prop_map(|(k, d)| Step::Put(k, d)),
        2 => (0u8..6).prop_map(Step::Take),
        1 => (0i64..100).prop_map(Step::Expire),
        2 => Just(Step::Commit),
        1 => Just(Step::Restart),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// After every commit the database holds exactly the store's buckets, and no delete is
    /// written for a key the database does not have.
    #[test]
    fn commits_keep_the_database_equal_to_the_store(steps in prop::collection::vec(step(), 1..40)) {
        let scenarios = scenarios();
        let sc = scenarios.get(0).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(dir.path()).unwrap();
        let mut store = PersistentStore::default();
        let mut in_db: BTreeSet<String> = BTreeSet::new();
        for s in steps {
            match s {
                Step::Put(k, d) => {
                    let b = store.take(&key(k)).unwrap_or_else(|| Bucket::new(sc));
                    store.put(key(k), b, d);
                }
                Step::Take(k) => {
                    store.take(&key(k));
                }
                Step::Expire(now) => {
                    store.drain_expired(now);
                }
                Step::Commit => {
                    let ops = prepare(&mut store, &scenarios, &[], None, None, None);
                    for op in ops.iter().filter(|o| o.family == Family::Buckets) {
                        let g = String::from_utf8(op.key[op.key.iter().position(|&b| b == 0).unwrap() + 1..].to_vec()).unwrap();
                        if op.value.is_none() {
                            prop_assert!(in_db.remove(&g), "delete of {g}, not in the database");
                        } else {
                            in_db.insert(g);
                        }
                    }
                    db.apply(&ops).unwrap();
                    let loaded = db.load_store(&scenarios).unwrap().0;
                    prop_assert_eq!(keys_of(&loaded), keys_of(&store));
                    prop_assert_eq!(&keys_of(&loaded), &in_db);
                    prop_assert_eq!(store.stored_len(), in_db.len());
                }
                Step::Restart => {
                    // What was not committed is lost, as in a crash.
                    store = db.load_store(&scenarios).unwrap().0;
                }
            }
        }
    }
}
