//! The view alone: deltas between cursors, expiry, compaction gaps, purge.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::view::{Cursor, Delta, View};
use crate::store::filter::DecisionFilter;
use crate::store::record::DecisionRecord;

fn rec(value: &str, id: i64, until_ms: i64) -> Arc<DecisionRecord> {
    Arc::new(DecisionRecord {
        id,
        uuid: format!("u{id}"),
        alert_id: id,
        created_ms: 0,
        until_ms,
        scope: "Ip".into(),
        value: value.into(),
        kind: "ban".into(),
        origin: "crowdsec".into(),
        scenario: "s".into(),
        simulated: false,
        seq: 0,
        del_seq: 0,
    })
}

/// Applies a pull to a bouncer's holdings (value → id), asserting no double add and no
/// deletion of what it lacks.
fn pull(held: &mut BTreeMap<String, i64>, d: &Delta) {
    for r in &d.deleted {
        assert_eq!(
            held.remove(&r.value),
            Some(r.id),
            "deleted {} not held",
            r.value
        );
    }
    for r in &d.new {
        assert!(
            held.insert(r.value.clone(), r.id).is_none(),
            "{} twice",
            r.value
        );
    }
}

fn key(v: &str) -> String {
    format!("ip:{v}")
}

/// Any split of the history into pulls gives the bouncer the same holdings as one startup
/// pull at the end, each change once.
#[test]
fn pulls_add_up_whatever_the_split() {
    let f = DecisionFilter::default();
    let mut v = View::new(2);
    // (partition, value, id or 0 for a tombstone), in the order a replica reads them.
    let script: &[(usize, &str, i64)] = &[
        (0, "1.1.1.1", 1),
        (1, "2.2.2.2", 2),
        (0, "3.3.3.3", 3),
        (1, "2.2.2.2", 0),
        (0, "1.1.1.1", 4),
        (1, "5.5.5.5", 5),
        (0, "3.3.3.3", 0),
        (1, "2.2.2.2", 6),
        (0, "1.1.1.1", 4),
    ];
    let mut offsets = [0i64; 2];
    let mut cursors = vec![Cursor {
        offsets: vec![0, 0],
        at_ms: 100,
    }];
    for (p, value, id) in script {
        let r = (*id != 0).then(|| rec(value, *id, 10_000));
        assert!(v.apply(*p, offsets[*p], &key(value), r, 0).is_some());
        offsets[*p] += 1;
        cursors.push(Cursor {
            offsets: offsets.to_vec(),
            at_ms: 100,
        });
    }
    let end = v.delta(None, 100, &f);
    let want: BTreeMap<String, i64> = end.new.iter().map(|r| (r.value.clone(), r.id)).collect();
    assert_eq!(
        want,
        BTreeMap::from([
            ("1.1.1.1".into(), 4),
            ("2.2.2.2".into(), 6),
            ("5.5.5.5".into(), 5)
        ])
    );
    // Every pair of intermediate cursors: pull at i, then at the end.
    for c in &cursors {
        // What the bouncer held at `c`: the startup state there, computed by a delta from 0.
        let mut held = BTreeMap::new();
        let zero = Cursor {
            offsets: vec![0, 0],
            at_ms: 100,
        };
        let mut part = View::new(2);
        let mut offs = [0i64; 2];
        for (p, value, id) in script {
            if offs[*p] >= c.offsets[*p] {
                continue;
            }
            let r = (*id != 0).then(|| rec(value, *id, 10_000));
            part.apply(*p, offs[*p], &key(value), r, 0);
            offs[*p] += 1;
        }
        pull(&mut held, &part.delta(Some(&zero), 100, &f));
        pull(&mut held, &v.delta(Some(c), 100, &f));
        assert_eq!(held, want, "from {c:?}");
    }
}

/// A decision that ends between two pulls is deleted in the second, once; one that ended
/// before it was ever sent is never mentioned.
#[test]
fn expiry_between_pulls_is_deleted_once() {
    let f = DecisionFilter::default();
    let mut v = View::new(1);
    v.apply(0, 0, "ip:1.1.1.1", Some(rec("1.1.1.1", 1, 1_000)), 0);
    v.apply(0, 1, "ip:2.2.2.2", Some(rec("2.2.2.2", 2, 50)), 0);
    let mut held = BTreeMap::new();
    let d = v.delta(None, 100, &f);
    pull(&mut held, &d);
    assert_eq!(held.len(), 1);
    let d2 = v.delta(Some(&d.cursor), 500, &f);
    assert!(d2.new.is_empty() && d2.deleted.is_empty());
    let d3 = v.delta(Some(&d2.cursor), 1_000, &f);
    pull(&mut held, &d3);
    assert!(held.is_empty());
    let d4 = v.delta(Some(&d3.cursor), 2_000, &f);
    assert!(d4.new.is_empty() && d4.deleted.is_empty());
    // A replica whose clock is behind never moves a cursor's time back.
    let d5 = v.delta(Some(&d3.cursor), 10, &f);
    assert_eq!(d5.cursor.at_ms, 1_000);
}

/// When this view lacks offsets below a cursor (compacted before it read them), a key
/// deleted since is deleted by value, so a bouncer never keeps a stale decision.
#[test]
fn compaction_gap_deletes_by_value() {
    let f = DecisionFilter::default();
    let mut v = View::new(1);
    // Offset 0 (1.1.1.1, id 1) was compacted away: superseded by the tombstone at 3.
    v.apply(0, 1, "ip:2.2.2.2", Some(rec("2.2.2.2", 2, 10_000)), 0);
    v.apply(0, 2, "ip:3.3.3.3", Some(rec("3.3.3.3", 3, 10_000)), 0);
    v.apply(0, 3, "ip:1.1.1.1", None, 0);
    let c = Cursor {
        offsets: vec![1],
        at_ms: 0,
    };
    let d = v.delta(Some(&c), 100, &f);
    let deleted: Vec<(&str, i64)> = d.deleted.iter().map(|r| (r.value.as_str(), r.id)).collect();
    assert_eq!(deleted, [("1.1.1.1", 0)]);
    assert_eq!(d.new.len(), 2);
    // A cursor at 0 held nothing of this partition: nothing to delete.
    let d = v.delta(Some(&Cursor::default()), 100, &f);
    assert_eq!(d.deleted.len(), 0);
    // A key re-decided after the gap is sent as new (bouncers replace by value).
    v.apply(0, 4, "ip:1.1.1.1", Some(rec("1.1.1.1", 7, 10_000)), 0);
    let d = v.delta(Some(&c), 100, &f);
    assert!(d.deleted.is_empty());
    assert_eq!(d.new.len(), 3);
}

/// Superseded versions older than the horizon are dropped; the newest stay, and the answers
/// for cursors after the purge horizon do not change.
#[test]
fn purge_keeps_recent_answers() {
    let f = DecisionFilter::default();
    let mut v = View::new(1);
    v.apply(0, 0, "ip:1.1.1.1", Some(rec("1.1.1.1", 1, 10_000)), 10);
    v.apply(0, 1, "ip:1.1.1.1", Some(rec("1.1.1.1", 2, 10_000)), 20);
    v.apply(0, 2, "ip:2.2.2.2", Some(rec("2.2.2.2", 3, 10_000)), 20);
    v.apply(0, 3, "ip:2.2.2.2", None, 30);
    v.apply(0, 4, "ip:4.4.4.4", Some(rec("4.4.4.4", 4, 10_000)), 200);
    let c = Cursor {
        offsets: vec![4],
        at_ms: 0,
    };
    let before = v.delta(Some(&c), 100, &f);
    assert_eq!(v.purge(100), 3);
    let after = v.delta(Some(&c), 100, &f);
    let ids = |d: &Delta| {
        (
            d.new.iter().map(|r| r.id).collect::<Vec<_>>(),
            d.deleted.len(),
        )
    };
    assert_eq!(ids(&before), ids(&after));
    assert_eq!(v.live_count(100), 2);
}

/// A key's decision is the one that ends last since its last tombstone, as `run` serves the
/// longest decision of a value: a shorter one produced later changes nothing a bouncer is
/// sent, a longer one replaces it, a tombstone ends them all; and the answers add up across
/// cursors as for newest-wins keys.
#[test]
fn the_longest_decision_of_a_key_is_served() {
    let f = DecisionFilter::default();
    let mut v = View::new(1);
    let k = key("1.1.1.1");
    // (id or 0 for a tombstone, until): the state after each, as (id, until) or nothing.
    let script: &[(i64, i64, Option<i64>)] = &[
        (1, 5_000, Some(1)),
        (2, 1_000, Some(1)), // shorter: 1 stays
        (3, 5_000, Some(3)), // as long: the newest
        (4, 9_000, Some(4)), // longer
        (5, 2_000, Some(4)), // shorter again
        (0, 0, None),        // a tombstone ends them all
        (6, 1_500, Some(6)), // after it, only what follows counts
    ];
    let mut cursors = vec![Cursor {
        offsets: vec![0],
        at_ms: 100,
    }];
    for (o, (id, until, want)) in script.iter().enumerate() {
        let r = (*id != 0).then(|| rec("1.1.1.1", *id, *until));
        let applied = v.apply(0, o as i64, &k, r, 0).expect("new offset");
        assert_eq!(applied.after.as_ref().map(|r| r.id), *want, "after id {id}");
        cursors.push(Cursor {
            offsets: vec![o as i64 + 1],
            at_ms: 100,
        });
    }
    let served = |d: &Delta| d.new.iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(served(&v.delta(None, 100, &f)), [6]);
    // From every cursor, a bouncer holding that cursor's state ends up holding 6 alone.
    for (i, c) in cursors.iter().enumerate() {
        let mut held = BTreeMap::new();
        if let Some(Some(id)) = i.checked_sub(1).map(|j| script[j].2) {
            held.insert("1.1.1.1".to_string(), id);
        }
        pull(&mut held, &v.delta(Some(c), 100, &f));
        assert_eq!(held, BTreeMap::from([("1.1.1.1".into(), 6)]), "from {c:?}");
    }
    // Between cursors 1 and 2 (a shorter record) nothing is sent.
    let mut part = View::new(1);
    part.apply(0, 0, &k, Some(rec("1.1.1.1", 1, 5_000)), 0);
    let c1 = part.delta(None, 100, &f).cursor;
    part.apply(0, 1, &k, Some(rec("1.1.1.1", 2, 1_000)), 0);
    let d = part.delta(Some(&c1), 100, &f);
    assert!(d.new.is_empty() && d.deleted.is_empty(), "{d:?}");
    // The shorter one ending changes nothing either; the longer one ending deletes it once.
    let d = part.delta(Some(&d.cursor), 2_000, &f);
    assert!(d.new.is_empty() && d.deleted.is_empty(), "{d:?}");
    let d = part.delta(Some(&d.cursor), 6_000, &f);
    assert_eq!(d.deleted.iter().map(|r| r.id).collect::<Vec<_>>(), [1]);
    // A purge keeps the longest even when a newer, shorter record superseded it long ago.
    assert_eq!(part.purge(3_000), 0);
    assert_eq!(part.live_count(4_000), 1);
}
