//! The decisions topic as a replica has read it: every key's versions by offset, so that the
//! state at any position (a vector of per-partition offsets) and time can be computed, and
//! with it the change between two bouncer cursors.
//!
//! The state at cursor `(O, T)` is, for every key, the record that ends last among its records
//! at offsets below `O[partition]` since its last tombstone there (the newest of those that end
//! together), when that `until` is after `T`: as `run` serves the longest decision of a value, a
//! shorter decision produced later does not shorten a ban. It depends only on
//! the topic and the cursor, never on the replica, so two replicas that have both read past
//! `O` serve the same state, and deltas between cursors add up: what a bouncer is sent is
//! `state(O2, T2) − state(O1, T1)` as new and `state(O1, T1) − state(O2, T2)` as deleted.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model;
use crate::store::filter::DecisionFilter;
use crate::store::record::DecisionRecord;

/// A bouncer's position: the next offset not yet served, per partition of the decisions
/// topic, and the time of the pull that served it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Next offset per partition (index = partition; a missing entry is 0).
    pub offsets: Vec<i64>,
    /// When it was served, unix ms (decisions ending by then were not sent as new).
    pub at_ms: i64,
}

impl Cursor {
    fn offset(&self, p: usize) -> i64 {
        self.offsets.get(p).copied().unwrap_or(0)
    }
}

/// One record of a key.
struct Version {
    offset: i64,
    /// `None`: a tombstone.
    rec: Option<Arc<DecisionRecord>>,
    /// When this replica read it, unix ms (for the purge of old versions).
    seen_ms: i64,
}

struct KeyHist {
    partition: usize,
    /// Oldest first.
    versions: Vec<Version>,
}

impl KeyHist {
    /// The newest version below `offset`.
    fn at(&self, offset: i64) -> Option<&Version> {
        let n = self.versions.partition_point(|v| v.offset < offset);
        n.checked_sub(1).map(|i| &self.versions[i])
    }

    /// The key's decision at position `offset` (its versions below it): among the records
    /// since the last tombstone, the one that ends last, the newest of equals. Since it ends
    /// last, it is in force at a time exactly when any of them is.
    fn state(&self, offset: i64) -> Option<&Arc<DecisionRecord>> {
        let n = self.versions.partition_point(|v| v.offset < offset);
        let mut best: Option<&Arc<DecisionRecord>> = None;
        for v in self.versions[..n].iter().rev() {
            let Some(r) = &v.rec else { break };
            if best.is_none_or(|b| r.until_ms > b.until_ms) {
                best = Some(r);
            }
        }
        best
    }

    /// The key's decision after everything read.
    fn current(&self) -> Option<&Arc<DecisionRecord>> {
        self.state(i64::MAX)
    }
}

fn live(r: Option<&Arc<DecisionRecord>>, at_ms: i64) -> Option<&Arc<DecisionRecord>> {
    r.filter(|r| r.until_ms > at_ms)
}

/// What reading one record changed: the key's decision before and after it (the same when a
/// record ends before the decision in force, which stays).
#[derive(Debug)]
pub struct Applied {
    /// The key's decision before the record.
    pub before: Option<Arc<DecisionRecord>>,
    /// The key's decision after it.
    pub after: Option<Arc<DecisionRecord>>,
}

/// What a pull sends.
#[derive(Debug, Default)]
pub struct Delta {
    /// Decisions to add.
    pub new: Vec<Arc<DecisionRecord>>,
    /// Decisions to remove.
    pub deleted: Vec<Arc<DecisionRecord>>,
    /// The cursor to save once they are sent.
    pub cursor: Cursor,
}

/// The decisions topic as read so far.
#[derive(Default)]
pub struct View {
    keys: foldhash::HashMap<Arc<str>, KeyHist>,
    /// Per partition: offset → key of every retained version.
    by_offset: Vec<BTreeMap<i64, Arc<str>>>,
    /// `(until, key)` of every key that has a decision (see [`KeyHist::state`]).
    expiry: BTreeSet<(i64, Arc<str>)>,
    /// Per partition, the next offset to read.
    positions: Vec<i64>,
    /// Per partition, the smallest offset below `positions` this view lacks (compacted away
    /// before it was read): keys may have had versions there.
    first_missing: Vec<Option<i64>>,
    /// Per partition, one past the newest offset whose predecessors were purged: cursors
    /// below it may predate versions this view no longer has.
    purged_upto: Vec<i64>,
}

impl View {
    /// A view of a topic with `partitions` partitions, nothing read.
    pub fn new(partitions: usize) -> Self {
        View {
            by_offset: vec![BTreeMap::new(); partitions],
            positions: vec![0; partitions],
            first_missing: vec![None; partitions],
            purged_upto: vec![0; partitions],
            ..View::default()
        }
    }

    /// The next offset to read, per partition.
    pub fn positions(&self) -> &[i64] {
        &self.positions
    }

    /// Whether everything below `c` has been read.
    pub fn covers(&self, c: &Cursor) -> bool {
        c.offsets
            .iter()
            .enumerate()
            .all(|(p, o)| *o <= self.positions.get(p).copied().unwrap_or(0))
    }

    /// Records that offsets of `partition` below `to` hold nothing more to read (the end of
    /// the partition was reached at `to`).
    pub fn advance(&mut self, partition: usize, to: i64) {
        if let Some(pos) = self.positions.get_mut(partition)
            && to > *pos
        {
            let fm = &mut self.first_missing[partition];
            *fm = Some(fm.map_or(*pos, |m| m.min(*pos)));
            *pos = to;
        }
    }

    /// Moves past an unreadable record at `offset` of `partition`: its key keeps its
    /// previous version.
    pub fn skip(&mut self, partition: usize, offset: i64) {
        if let Some(pos) = self.positions.get(partition).copied()
            && offset >= pos
        {
            if offset > pos {
                let fm = &mut self.first_missing[partition];
                *fm = Some(fm.map_or(pos, |m| m.min(pos)));
            }
            self.positions[partition] = offset + 1;
        }
    }

    /// Adds the record at `offset` of `partition` for `key` (`rec` `None`: a tombstone).
    /// Returns the key's decision before and after it, or `None` when the record was already
    /// read (an offset below the position) or the partition is unknown.
    pub fn apply(
        &mut self,
        partition: usize,
        offset: i64,
        key: &str,
        rec: Option<Arc<DecisionRecord>>,
        now_ms: i64,
    ) -> Option<Applied> {
        let pos = *self.positions.get(partition)?;
        if offset < pos {
            return None;
        }
        if offset > pos {
            let fm = &mut self.first_missing[partition];
            *fm = Some(fm.map_or(pos, |m| m.min(pos)));
        }
        self.positions[partition] = offset + 1;
        let key: Arc<str> = match self.keys.get_key_value(key) {
            Some((k, _)) => k.clone(),
            None => Arc::from(key),
        };
        let hist = self.keys.entry(key.clone()).or_insert_with(|| KeyHist {
            partition,
            versions: Vec::new(),
        });
        let before = hist.current().cloned();
        if let Some(p) = &before {
            self.expiry.remove(&(p.until_ms, key.clone()));
        }
        hist.versions.push(Version {
            offset,
            rec,
            seen_ms: now_ms,
        });
        let after = hist.current().cloned();
        if let Some(r) = &after {
            self.expiry.insert((r.until_ms, key.clone()));
        }
        self.by_offset[partition].insert(offset, key);
        Some(Applied { before, after })
    }

    /// What a bouncer at `from` (`None`: a startup pull) is sent now: the changes up to this
    /// view's positions, at `max(now, from.at_ms)`, as `filter` selects them.
    pub fn delta(&self, from: Option<&Cursor>, now_ms: i64, filter: &DecisionFilter) -> Delta {
        let at_ms = from.map_or(now_ms, |c| c.at_ms.max(now_ms));
        let cursor = Cursor {
            offsets: self.positions.clone(),
            at_ms,
        };
        let wanted = |r: &DecisionRecord| filter.matches(r) && filter.matches_range(r);
        let mut out = Delta {
            cursor,
            ..Delta::default()
        };
        let Some(from) = from else {
            for hist in self.keys.values() {
                if let Some(r) = live(hist.current(), at_ms)
                    && wanted(r)
                {
                    out.new.push(r.clone());
                }
            }
            out.new.sort_by_key(|r| r.id);
            return out;
        };
        let mut touched: BTreeSet<&Arc<str>> = BTreeSet::new();
        for (p, map) in self.by_offset.iter().enumerate() {
            let lo = from.offset(p);
            if lo < self.positions[p] {
                touched.extend(map.range(lo..).map(|(_, k)| k));
            }
        }
        for key in touched {
            let Some(hist) = self.keys.get(key) else {
                continue;
            };
            let lo = from.offset(hist.partition);
            let before = hist.at(lo);
            let old = live(hist.state(lo), from.at_ms);
            let new = live(hist.current(), at_ms);
            let same = |a: &DecisionRecord, b: &DecisionRecord| a.id == b.id;
            if let Some(n) = new
                && old.is_none_or(|o| !same(o, n) || o.until_ms != n.until_ms)
                && wanted(n)
            {
                out.new.push(n.clone());
            }
            match old {
                Some(o) if new.is_none_or(|n| !same(o, n)) && wanted(o) => {
                    out.deleted.push(ended(o, at_ms));
                }
                None if new.is_none()
                    && before.is_none()
                    && self.incomplete_below(hist.partition, lo) =>
                {
                    // Its version below the cursor may have been compacted away or purged: the
                    // bouncer may hold a decision this view never saw, and nothing else will
                    // remove it.
                    let r = unknown_predecessor(key, hist.versions.last(), at_ms);
                    if wanted(&r) {
                        out.deleted.push(Arc::new(r));
                    }
                }
                _ => {}
            }
        }
        // Keys untouched since the cursor whose decision ended between the two pulls.
        let lower = (from.at_ms.saturating_add(1), empty_key());
        let upper = (at_ms.saturating_add(1), empty_key());
        for (_, key) in self
            .expiry
            .range((Bound::Included(lower), Bound::Excluded(upper)))
        {
            let Some(hist) = self.keys.get(key) else {
                continue;
            };
            if let Some(v) = hist.versions.last()
                && v.offset < from.offset(hist.partition)
                && let Some(r) = hist.current()
                && r.until_ms > from.at_ms
                && r.until_ms <= at_ms
                && wanted(r)
            {
                out.deleted.push(ended(r, at_ms));
            }
        }
        out.new.sort_by_key(|r| r.id);
        out.deleted.sort_by_key(|r| r.id);
        out
    }

    /// Whether versions below offset `lo` of `partition` may be missing from this view.
    fn incomplete_below(&self, partition: usize, lo: i64) -> bool {
        self.first_missing[partition].is_some_and(|m| m < lo) || lo < self.purged_upto[partition]
    }

    /// Forgets versions superseded before `horizon_ms` (and keys whose newest version is a
    /// tombstone read before it); their offsets count as missing. A record that may still be
    /// its key's decision (no tombstone after it, ending after the horizon) is kept, with the
    /// versions after it.
    pub fn purge(&mut self, horizon_ms: i64) -> usize {
        let mut dropped = 0;
        let mut gone = Vec::new();
        for (key, hist) in &mut self.keys {
            let superseded = hist
                .versions
                .windows(2)
                .rposition(|w| w[1].seen_ms < horizon_ms)
                .map_or(0, |i| i + 1);
            let keep_from = superseded.min(first_needed(&hist.versions, horizon_ms));
            let p = hist.partition;
            if keep_from > 0 {
                let successor = hist.versions[keep_from].offset;
                self.purged_upto[p] = self.purged_upto[p].max(successor + 1);
            }
            for v in hist.versions.drain(..keep_from) {
                self.by_offset[p].remove(&v.offset);
                dropped += 1;
            }
            if let [only] = hist.versions.as_slice()
                && only.rec.is_none()
                && only.seen_ms < horizon_ms
            {
                gone.push((key.clone(), p, only.offset));
            }
        }
        for (key, p, offset) in gone {
            self.keys.remove(&key);
            self.by_offset[p].remove(&offset);
            self.purged_upto[p] = self.purged_upto[p].max(offset + 1);
            dropped += 1;
        }
        dropped
    }

    /// Number of keys whose newest version is a decision in force at `now_ms`.
    pub fn live_count(&self, now_ms: i64) -> usize {
        self.keys
            .values()
            .filter(|h| live(h.current(), now_ms).is_some())
            .count()
    }
}

/// The first version that may still be its key's decision at a position after all of them:
/// a record ending after `horizon_ms` with no tombstone after it and no later record ending as
/// late (`versions.len()` when none).
fn first_needed(versions: &[Version], horizon_ms: i64) -> usize {
    // Walking back: the latest end of the records after the current one, `None` once a
    // tombstone is passed (nothing before it can be a decision again).
    let mut later_end = Some(i64::MIN);
    let mut first = versions.len();
    for (i, v) in versions.iter().enumerate().rev() {
        let Some(end) = later_end else { break };
        match &v.rec {
            None => later_end = None,
            Some(r) => {
                if r.until_ms > horizon_ms && r.until_ms > end {
                    first = i;
                }
                later_end = Some(end.max(r.until_ms));
            }
        }
    }
    first
}

/// `r` as a deletion shows it: ended at `at_ms` at the latest.
fn ended(r: &Arc<DecisionRecord>, at_ms: i64) -> Arc<DecisionRecord> {
    if r.until_ms <= at_ms {
        return r.clone();
    }
    Arc::new(DecisionRecord {
        until_ms: at_ms,
        ..DecisionRecord::clone(r)
    })
}

fn empty_key() -> Arc<str> {
    Arc::from("")
}

/// A stand-in for a decision this view never saw on `key` (`scope:value`), to be deleted.
fn unknown_predecessor(key: &str, last: Option<&Version>, at_ms: i64) -> DecisionRecord {
    let next = last.and_then(|v| v.rec.as_ref());
    let (scope, value) = key.split_once(':').unwrap_or(("ip", key));
    DecisionRecord {
        id: 0,
        uuid: String::new(),
        alert_id: 0,
        created_ms: at_ms,
        until_ms: at_ms,
        scope: model::normalize_scope(scope),
        value: value.to_string(),
        kind: next.map_or_else(|| "ban".to_string(), |n| n.kind.clone()),
        origin: next.map(|n| n.origin.clone()).unwrap_or_default(),
        scenario: next.map(|n| n.scenario.clone()).unwrap_or_default(),
        simulated: false,
        seq: 0,
        del_seq: 0,
    }
}
