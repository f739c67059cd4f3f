//! The whole state as one serializable value, to survive a restart.

use serde::{Deserialize, Serialize};

use super::*;
use crate::cluster::Tier;
use crate::trust::Reporter;

/// The version of [`Snapshot`] this build writes and reads.
pub const SNAPSHOT_VERSION: u32 = 1;

/// Everything [`Consensus`] knows, but the rule and the allowlist (taken from the
/// configuration at restore, so a changed setting applies to the restored state).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// [`SNAPSHOT_VERSION`].
    pub version: u32,
    /// The latest time seen.
    pub now: i64,
    /// When trust last decayed.
    pub last_decay: i64,
    /// Reporters, by index.
    pub reporters: Vec<Reporter>,
    /// Scenario names, by id (id 0: the shared slot).
    pub scenarios: Vec<String>,
    /// Tallies.
    pub tallies: Vec<(Target, Tally)>,
    /// Feed entries and tombstones.
    pub feed: Vec<FeedEntry>,
    /// The feed's last change number.
    pub seq: u64,
    /// Tombstones forgotten up to this change.
    pub purged_through: u64,
    /// Counters.
    pub stats: Stats,
    /// When the co-reporting generations last rotated.
    #[serde(default)]
    pub clusters_rotated: i64,
    /// The sketches' size (`cluster.sketch_bits`) when written.
    #[serde(default)]
    pub sketch_bits: usize,
    /// Co-reporting sketches of the wide tier: reporter, set bits, frequent partners and
    /// their counts.
    #[serde(default)]
    pub clusters: Vec<crate::cluster::SketchRecord>,
    /// Co-reporting sketches of the tight tier (absent from snapshots written before it).
    #[serde(default)]
    pub clusters_tight: Vec<crate::cluster::SketchRecord>,
    /// Co-reporting sketches of the broad tier (absent from snapshots written before it).
    #[serde(default)]
    pub clusters_broad: Vec<crate::cluster::SketchRecord>,
    /// Co-reporting sketches of the crowd tier (absent from snapshots written before it).
    #[serde(default)]
    pub clusters_crowd: Vec<crate::cluster::SketchRecord>,
    /// Crowd participations per reporter bit: bit, this generation, the previous one
    /// (absent from snapshots written before it).
    #[serde(default)]
    pub exposure: Vec<crate::cluster::ExposureRecord>,
    /// Participations in attacks a seed saw too, per reporter bit (absent from snapshots
    /// written before it).
    #[serde(default)]
    pub exposure_seen: Vec<crate::cluster::ExposureRecord>,
    /// Small tallies per reporter, recent and before (absent from snapshots written before
    /// it: nobody is busy until a generation of history has been counted again).
    #[serde(default)]
    pub activity: Vec<crate::cluster::ActivityRecord>,
    /// How every reporter's recent small tallies compared to its history at the last
    /// rotation (absent or 0: measured again from `activity`).
    #[serde(default)]
    pub activity_drift: f64,
}

/// Why a snapshot cannot be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// Written by a build with another format.
    #[error("consensus snapshot version {0} not supported (this build reads {SNAPSHOT_VERSION})")]
    Version(u32),
    /// An index points outside its table.
    #[error("consensus snapshot is inconsistent: {0}")]
    Inconsistent(&'static str),
}

impl Consensus {
    /// The state, for a snapshot file.
    pub fn snapshot(&self) -> Snapshot {
        let sorted = |tier| {
            let mut list = self.clusters.records(tier);
            list.sort_unstable_by_key(|c: &crate::cluster::SketchRecord| c.0);
            list
        };
        Snapshot {
            version: SNAPSHOT_VERSION,
            now: self.now,
            last_decay: self.reporters.last_decay(),
            reporters: self.reporters.records().to_vec(),
            scenarios: self.scenarios.names.iter().map(|n| n.to_string()).collect(),
            tallies: self.tallies.iter().map(|(t, v)| (*t, v.clone())).collect(),
            feed: self.feed.entries().cloned().collect(),
            seq: self.feed.seq,
            purged_through: self.feed.purged_through,
            stats: self.stats.clone(),
            clusters_rotated: self.clusters.rotated(),
            sketch_bits: self.rules.cluster.sketch_bits,
            clusters: sorted(Tier::Wide),
            clusters_tight: sorted(Tier::Tight),
            clusters_broad: sorted(Tier::Broad),
            clusters_crowd: sorted(Tier::Crowd),
            exposure: self.clusters.exposure_records(),
            exposure_seen: self.clusters.seen_records(),
            activity: self.clusters.activity_records(),
            activity_drift: self.clusters.activity_drift(),
        }
    }

    /// The consensus of a snapshot under `rules` (weights, limits and seeds as configured
    /// now); the time is the later of the snapshot's and `now`.
    pub fn restore(
        rules: Rules,
        allow: Allowlist,
        s: Snapshot,
        now: i64,
    ) -> Result<Consensus, SnapshotError> {
        if s.version != SNAPSHOT_VERSION {
            return Err(SnapshotError::Version(s.version));
        }
        let n_rep = s.reporters.len();
        let n_sc = s.scenarios.len().max(1);
        if s.tallies
            .iter()
            .flat_map(|(_, t)| {
                t.reports
                    .iter()
                    .map(|r| r.reporter)
                    .chain(t.first.iter().copied())
            })
            .any(|r| r as usize >= n_rep)
        {
            return Err(SnapshotError::Inconsistent("report of an unknown reporter"));
        }
        let bad_scenario = s
            .tallies
            .iter()
            .flat_map(|(_, t)| &t.reports)
            .map(|r| r.scenario);
        if bad_scenario
            .chain(s.feed.iter().map(|e| e.scenario))
            .any(|i| i as usize >= n_sc)
        {
            return Err(SnapshotError::Inconsistent("unknown scenario id"));
        }
        let partner = |r: &u32| *r as usize >= n_rep;
        if s.clusters
            .iter()
            .chain(&s.clusters_tight)
            .chain(&s.clusters_broad)
            .chain(&s.clusters_crowd)
            .any(|(r, _, top)| partner(r) || top.iter().any(|(p, _)| partner(p)))
        {
            return Err(SnapshotError::Inconsistent("sketch of an unknown reporter"));
        }
        if s.activity.iter().any(|a| partner(&a.reporter)) {
            return Err(SnapshotError::Inconsistent(
                "activity of an unknown reporter",
            ));
        }
        let mut sketches = [
            s.clusters,
            s.clusters_tight,
            s.clusters_broad,
            s.clusters_crowd,
        ];
        let (mut exposure, mut seen) = (s.exposure, s.exposure_seen);
        if s.sketch_bits != rules.cluster.sketch_bits {
            // Bits of another size mean other partners: keep only the frequent partners.
            sketches.iter_mut().flatten().for_each(|c| c.1.clear());
            exposure.clear();
            seen.clear();
        }
        let mut clusters = Clusters::from_records(
            s.clusters_rotated,
            sketches,
            (&exposure, &seen),
            &rules.cluster,
            rules.limits.max_sketches,
        );
        clusters.restore_activity(
            (&s.activity, s.activity_drift),
            &rules.cluster,
            rules.limits.max_sketches,
        );
        // The clusters' clock at the snapshot's time (how much of the generation has gone by).
        clusters.rotate(s.now, &rules.cluster);
        let mut scenarios = Scenarios::default();
        scenarios.names.push("other".into());
        scenarios.weights.push(rules.default_scenario_weight);
        // Ids must stay as stored: intern every stored name, past the limit if it shrank.
        for name in s.scenarios.iter().skip(1) {
            let i = scenarios.names.len() as u16;
            scenarios.names.push(name.as_str().into());
            scenarios.weights.push(
                rules
                    .scenario_weights
                    .get(name.as_str())
                    .copied()
                    .unwrap_or(rules.default_scenario_weight),
            );
            scenarios.ids.insert(name.as_str().into(), i);
        }
        let mut reporters = Reporters::from_records(s.reporters, s.last_decay, &rules);
        for (id, credit) in &rules.seeds {
            reporters.seed(id, *credit, s.now, &rules);
        }
        let mut deadlines = BinaryHeap::new();
        let mut held = BinaryHeap::new();
        let mut tallies = FoldHashMap::default();
        for (t, tally) in s.tallies {
            deadlines.push(Reverse((tally.newest() + tally.wait(&rules), t)));
            if tally.held_since != 0 && !tally.listed {
                held.push(Reverse((tally.held_since + rules.hold, t)));
            }
            tallies.insert(t, tally);
        }
        let mut c = Consensus {
            feed: Feed::from_entries(s.feed, s.seq, s.purged_through),
            rules,
            allow,
            reporters,
            clusters,
            scenarios,
            tallies,
            deadlines,
            held,
            now: s.now,
            stats: s.stats,
            scratch: Vec::new(),
        };
        c.advance(now);
        Ok(c)
    }
}
