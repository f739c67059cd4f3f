//! The feed: listed targets with their end, numbered changes, and the deltas a puller gets
//! from its cursor (CAPI's startup + new/deleted).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use foldhash::HashMap as FoldHashMap;
use serde::{Deserialize, Serialize};

use crate::target::Target;

/// One target of the feed (or a tombstone once it left).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedEntry {
    /// The target.
    pub target: Target,
    /// The scenario most of its weight came from (interned id).
    pub scenario: u16,
    /// When it entered (Unix seconds).
    pub listed_at: i64,
    /// When it leaves unless the rule holds again.
    pub until: i64,
    /// Change number when it entered.
    pub added_seq: u64,
    /// Change number of its last change (entered, extended, left).
    pub changed_seq: u64,
    /// Still listed (false: a tombstone).
    pub active: bool,
}

/// The feed's entries, tombstones and change numbering.
#[derive(Debug, Clone, Default)]
pub struct Feed {
    pub(crate) entries: FoldHashMap<Target, FeedEntry>,
    expiry: BinaryHeap<Reverse<(i64, Target)>>,
    pub(crate) seq: u64,
    /// Tombstones up to this change were forgotten: older cursors get a full resend.
    pub(crate) purged_through: u64,
    active: usize,
}

/// What a puller is sent: everything changed since its cursor.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delta<'a> {
    /// The cursor to send next time.
    pub cursor: u64,
    /// Whether this is a full resend (no cursor, or one older than the tombstones kept).
    pub startup: bool,
    /// Entries listed or extended since the cursor.
    pub new: Vec<&'a FeedEntry>,
    /// Entries that left since the cursor.
    pub deleted: Vec<&'a FeedEntry>,
}

impl Feed {
    /// Rebuilds the feed from stored entries.
    pub fn from_entries(entries: Vec<FeedEntry>, seq: u64, purged_through: u64) -> Feed {
        let mut f = Feed {
            seq,
            purged_through,
            ..Feed::default()
        };
        for e in entries {
            if e.active {
                f.active += 1;
                f.expiry.push(Reverse((e.until, e.target)));
            }
            f.entries.insert(e.target, e);
        }
        f
    }

    /// Listed entries.
    pub fn active_len(&self) -> usize {
        self.active
    }

    /// The entry of `t` if it is listed.
    pub fn get_active(&self, t: &Target) -> Option<&FeedEntry> {
        self.entries.get(t).filter(|e| e.active)
    }

    /// Lists `t` until `until`; false when the feed already holds `max` entries.
    pub fn add(&mut self, t: Target, scenario: u16, now: i64, until: i64, max: usize) -> bool {
        if self.active >= max {
            return false;
        }
        self.seq += 1;
        self.active += 1;
        self.entries.insert(
            t,
            FeedEntry {
                target: t,
                scenario,
                listed_at: now,
                until,
                added_seq: self.seq,
                changed_seq: self.seq,
                active: true,
            },
        );
        self.expiry.push(Reverse((until, t)));
        true
    }

    /// Extends a listed entry to `until` when that moves its end by at least `step` (pullers
    /// are sent the new end; smaller moves would only churn).
    pub fn extend(&mut self, t: &Target, scenario: u16, until: i64, step: i64) {
        if let Some(e) = self.entries.get_mut(t).filter(|e| e.active)
            && until >= e.until + step
        {
            self.seq += 1;
            e.until = until;
            e.scenario = scenario;
            e.changed_seq = self.seq;
            self.expiry.push(Reverse((until, *t)));
        }
    }

    /// Ends the entries whose time has come; forgets tombstones older than `retention`.
    /// Returns how many left.
    pub fn expire(&mut self, now: i64, retention: i64) -> usize {
        let mut left = 0;
        while let Some(&Reverse((at, t))) = self.expiry.peek() {
            if at > now {
                break;
            }
            self.expiry.pop();
            let Some(e) = self.entries.get_mut(&t) else {
                continue;
            };
            if e.active && e.until <= now {
                self.seq += 1;
                e.active = false;
                e.changed_seq = self.seq;
                self.active -= 1;
                left += 1;
                // Remembered as a tombstone: the heap sees it again after the retention.
                self.expiry.push(Reverse((e.until + retention, t)));
            } else if !e.active && e.until + retention <= now {
                self.purged_through = self.purged_through.max(e.changed_seq);
                self.entries.remove(&t);
            }
        }
        left
    }

    /// What changed since `cursor` (`None`: a puller's first pull, everything listed).
    pub fn delta(&self, cursor: Option<u64>) -> Delta<'_> {
        let mut d = Delta {
            cursor: self.seq,
            ..Delta::default()
        };
        match cursor {
            Some(c) if c >= self.purged_through && c <= self.seq => {
                for e in self.entries.values().filter(|e| e.changed_seq > c) {
                    if e.active {
                        d.new.push(e);
                    } else if e.added_seq <= c {
                        d.deleted.push(e);
                    }
                }
            }
            _ => {
                d.startup = true;
                d.new.extend(self.entries.values().filter(|e| e.active));
            }
        }
        d.new.sort_unstable_by_key(|e| (e.added_seq, e.target));
        d.deleted.sort_unstable_by_key(|e| (e.added_seq, e.target));
        d
    }

    /// Every entry and tombstone, for a snapshot.
    pub fn entries(&self) -> impl Iterator<Item = &FeedEntry> {
        self.entries.values()
    }
}
