//! The consensus rule itself: pure and synchronous, time passed in by the caller (`now`, Unix
//! seconds; it never goes back: an earlier `now` is taken as the latest seen).
//!
//! A target enters the feed when at least K distinct *established* reporters reported it
//! within the window and their weights (trust × scenario weight) add up to T, counting
//! reporters linked by co-reporting ([`crate::cluster`]) as one. Reports pending
//! when it enters are confirmed (their reporters earn trust); reports that leave the window
//! without a listing are charged (their reporters lose trust). See `docs/consensus.md`.

mod feed;
mod list;
mod snapshot;
mod tally;

#[cfg(test)]
mod attack_tests;
#[cfg(test)]
mod busy_tests;
#[cfg(test)]
mod cluster_tests;
#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::collections::hash_map::Entry;

use foldhash::HashMap as FoldHashMap;
use serde::{Deserialize, Serialize};
use wire::signal::{Signal, SignalError};

pub use feed::{Delta, Feed, FeedEntry};
pub use snapshot::{SNAPSHOT_VERSION, Snapshot, SnapshotError};
pub use tally::{Report, Support, Tally};

use crate::allowlist::Allowlist;
use crate::cluster::Clusters;
use crate::config::Rules;
use crate::duration::parse_rfc3339;
use crate::target::{Target, TargetError};
use crate::trust::Reporters;
use tally::Placed;

/// How far in the future a signal's last event may be (clock skew between reporters).
pub const MAX_SKEW_SECS: i64 = 300;
/// How often trust decays (seconds of `now`).
const DECAY_EVERY: i64 = 3600;

/// One report, parsed: what [`Consensus::observe`] takes.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// Reporter id.
    pub reporter: &'a str,
    /// Scenario name.
    pub scenario: &'a str,
    /// What was seen.
    pub target: Target,
    /// Last event (Unix seconds): a report older than the window is stale.
    pub last_seen: i64,
}

/// What became of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Tallied.
    Counted,
    /// Tallied, and its target entered the feed.
    Listed,
    /// An allowlisted address: never listed, and the reporter is charged.
    Allowlisted,
    /// Not publicly routable: never listed.
    Reserved,
    /// Its last event is older than the window.
    Stale,
    /// Refused by a memory bound or a sanity rule.
    Refused(Refusal),
}

/// Why a report was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `limits.max_reporters` reached.
    TooManyReporters,
    /// `limits.max_targets` reached (three quarters of it for reporters not established).
    TooManyTargets,
    /// The reporter has `limits.max_pending_per_reporter` unresolved reports.
    ReporterBudget,
    /// The target's report slots hold reporters at least as trusted.
    TargetFull,
    /// A range wider than `min_range_prefix_v4`/`v6`.
    RangeTooWide,
}

/// Why a signal is not even tallied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// Malformed signal record.
    #[error(transparent)]
    Signal(#[from] SignalError),
    /// The scope and value are not an address or a range.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// A time that is not RFC 3339.
    #[error("signal `{0}` is not an RFC 3339 time")]
    Time(&'static str),
    /// The last event is further in the future than [`MAX_SKEW_SECS`].
    #[error("signal's last event is in the future")]
    Future,
}

/// Counters of what the rule did (exported as metrics by the server).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Reports observed.
    pub reports: u64,
    /// Entries that entered the feed.
    pub listed: u64,
    /// Entries that left it.
    pub expired: u64,
    /// Reports of allowlisted addresses.
    pub allowlisted: u64,
    /// Reports of reserved space.
    pub reserved: u64,
    /// Stale reports.
    pub stale: u64,
    /// Refused reports (any [`Refusal`]).
    pub refused: u64,
    /// Times the rule held but the feed was full.
    pub feed_full: u64,
    /// Targets held when the rule first held for them (`hold`).
    #[serde(default)]
    pub held: u64,
    /// Reports confirmed.
    pub confirmed: u64,
    /// Reports charged (unconfirmed when they left the window).
    pub unconfirmed: u64,
}

/// Scenario names, interned; id 0 is the slot every name beyond the limit shares.
#[derive(Debug, Clone, Default)]
struct Scenarios {
    ids: FoldHashMap<Box<str>, u16>,
    names: Vec<Box<str>>,
    weights: Vec<f32>,
}

impl Scenarios {
    fn new(rules: &Rules, names: &[String]) -> Scenarios {
        let mut s = Scenarios::default();
        s.names.push("other".into());
        s.weights.push(rules.default_scenario_weight);
        for n in names.iter().skip(1) {
            s.intern(n, rules);
        }
        s
    }

    fn intern(&mut self, name: &str, rules: &Rules) -> u16 {
        if let Some(&i) = self.ids.get(name) {
            return i;
        }
        if self.names.len() >= rules.limits.max_scenarios {
            return 0;
        }
        let i = self.names.len() as u16;
        self.names.push(name.into());
        self.weights.push(
            rules
                .scenario_weights
                .get(name)
                .copied()
                .unwrap_or(rules.default_scenario_weight),
        );
        self.ids.insert(name.into(), i);
        i
    }
}

/// One entry of a pull, rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedItem {
    /// The address or range.
    pub target: Target,
    /// `<feed_scenario>:<the scenario most of its weight reported>`.
    pub scenario: String,
    /// When it leaves (Unix seconds).
    pub until: i64,
}

/// A puller's changes since its cursor.
#[derive(Debug, Clone, PartialEq)]
pub struct Pull {
    /// The cursor for the next pull.
    pub cursor: u64,
    /// A full resend (first pull, or a cursor older than the tombstones kept).
    pub startup: bool,
    /// Listed or extended since the cursor.
    pub new: Vec<FeedItem>,
    /// Left since the cursor.
    pub deleted: Vec<FeedItem>,
}

/// The consensus: reporters, tallies, the feed.
#[derive(Debug, Clone)]
pub struct Consensus {
    rules: Rules,
    allow: Allowlist,
    reporters: Reporters,
    clusters: Clusters,
    scenarios: Scenarios,
    tallies: FoldHashMap<Target, Tally>,
    deadlines: BinaryHeap<Reverse<(i64, Target)>>,
    /// When held targets are due to be looked at again (`hold`).
    held: BinaryHeap<Reverse<(i64, Target)>>,
    feed: Feed,
    now: i64,
    stats: Stats,
    /// Reporters to confirm, reused between reports.
    scratch: Vec<u32>,
}

mod observe;
