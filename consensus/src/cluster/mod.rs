//! Co-reporting clusters: which established reporters keep turning up together on targets few
//! others report, so that a coalition counts as one reporter, not K.
//!
//! When a tally has had no report for `cluster.settle` (an hour), and again when it ends if more
//! came since, its established supporters (if at least K; when it ends, a crowd's first ones,
//! in a tier of their own) are recorded as each other's *partners*:
//! each supporter records at most `cluster.partners` of the others (its neighbours on a ring
//! ordered by a hash of the target), so a big tally adds as little as a small listing. Each reporter keeps
//! a [`Sketch`]:
//! - a bitset of its partners (`cluster.sketch_bits`, hashed reporter indices), each with its
//!   age: the newest generation of `cluster.generation` it was recorded in; a rotation drops
//!   those that reach `cluster.generations`;
//! - its most frequent partners (Misra–Gries, [`TOP`] slots), counts halved every
//!   `cluster.generations / 2` rotations.
//!
//! Two reporters are **linked** when each is among the other's frequent partners at least
//! `cluster.min_pair` times (a small group that always pushes together), or when their
//! partner sets share at least `cluster.min_common` bits and `cluster.min_ratio` times what
//! independent partners would share (a coalition whose members are drawn at random per push:
//! each pair rarely meets twice, but they all draw their partners from the same pool).
//! Honest reporters' partners on rare attackers are whoever else that attacker hit, so their
//! partner sets overlap no more than chance. Chance counts how likely each partner is: a
//! heavily exposed member (a hosting provider beside home servers) is everyone's partner,
//! and two reporters sharing it is expected. A partner's likelihood is its share of the
//! *exposure* to crowds (tallies of `cluster.crowd_support`), capped at `cluster.popularity_cap`
//! times its share of the bits the tier's sketches hold (a member exposed a hundred times
//! as much cannot be a partner more than once per sketch); before enough exposure is
//! known, its share of the bits held. A coalition pushing together makes its members
//! popular in each other's sketches, not more exposed, so its own pushes do not raise its
//! chance. Linked also: partner sets sharing `cluster.min_z` standard deviations of chance
//! beyond chance (for big sketches, where the ratio is diluted by honest partners). Or, by
//! their *rare* partners alone (no more than twice as likely as the mean one), each shared
//! one weighted by how rare it is: `cluster.rare_z` standard deviations beyond chance. A
//! heavily exposed colluder's honest partners are mostly popular ones, which any two heavy
//! reporters share, and its pushes are few beside them; the light colluders it shares with
//! its coalition are what stands out. Chance of sharing a rare partner is counted only
//! while the smaller sketch holds at most a few of the tier's rare bits (a member everyone
//! meets holds so many that its overlaps follow no simple chance). The rule needs K
//! supporters from different groups (supporters linked directly or through others, with
//! `cluster.transitive`; else no two of them linked), and whose rare partners in the tight
//! tier are not, taken together, beyond chance (`cluster.set_z`; [`Clusters::independent`]).
//! Supporters that are *busy* (taking part in many more small tallies lately than their own
//! history predicts, `cluster.busy_z`: a coalition that has started pushing) count as one
//! group too. See `docs/consensus.md`.
//!
//! Sketches come in four [`Tier`]s: tallies with at most `cluster.tight_support` established
//! supporters (K and K + 1 by default) are recorded in the *tight* tier, bigger ones up to
//! `cluster.max_support` in the *wide* tier, and bigger ones still, short of a crowd, in the
//! *broad* tier (up to `cluster.broad_support`). A coalition pushing with as few members as
//! it can fills its sketches with other colluders, while honest reporters share few such
//! small tallies: kept apart from the bigger tallies honest members are also partners on,
//! the coalition's overlap stands out (so the tight tier links at `cluster.tight_min_common`
//! shared bits); one pushing with many members is drowned among honest scanners' victims
//! unless those of its size are kept apart too. Crowds have a tier of their own
//! ([`Tier::Crowd`], `cluster.crowd_tier`), where chance counts exposure to attacks a seed
//! reported too: a coalition pushing crowds makes itself look exposed to crowds, never to
//! what the seeds see. Linked in any tier is linked.

use crate::config::Cluster;

mod activity;
mod exposure;
mod rotate;
mod sketch;
mod support;

use activity::Activity;
pub use activity::ActivityRecord;
use exposure::Exposure;
pub use exposure::ExposureRecord;
pub use rotate::MAX_GENERATIONS;
pub use sketch::{Sketch, TOP};
use sketch::{Sketches, restore_tier};
pub use support::Links;

/// Which sketches: of small tallies (at most `cluster.tight_support` supporters), of the
/// bigger ones (at most `cluster.max_support`), of those short of a crowd, or of crowds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Tallies of more than `cluster.tight_support` and at most `cluster.max_support`.
    Wide = 0,
    /// Tallies of at most `cluster.tight_support` supporters.
    Tight = 1,
    /// Tallies of more than `cluster.max_support` and at most `cluster.broad_support`.
    Broad = 2,
    /// Crowds: tallies of at least `cluster.crowd_support` (with `cluster.crowd_tier`; the
    /// first established reporters to take their slots are recorded, not the most trusted
    /// that hold them at the end, and chance counts exposure to attacks a seed saw too).
    Crowd = 3,
}

/// How many tiers.
const TIERS: usize = 4;

impl Tier {
    /// Every tier.
    pub const ALL: [Tier; TIERS] = [Tier::Wide, Tier::Tight, Tier::Broad, Tier::Crowd];

    /// The tier a tally of `support` (at least K) established supporters is recorded in
    /// (`None`: too big to be recorded).
    pub fn of(support: usize, cfg: &Cluster) -> Option<Tier> {
        if support <= cfg.tight_support {
            Some(Tier::Tight)
        } else if support <= cfg.max_support {
            Some(Tier::Wide)
        } else if support <= cfg.broad_support {
            Some(Tier::Broad)
        } else {
            None
        }
    }

    /// Its name, as in `docs/consensus.md`.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Wide => "wide",
            Tier::Tight => "tight",
            Tier::Broad => "broad",
            Tier::Crowd => "crowd",
        }
    }

    /// The exposure chance counts in this tier: to attacks a seed saw too in the crowd tier
    /// (with `cluster.crowd_exposure_vouched`), else to crowds.
    fn exposure<'a>(self, cfg: &Cluster, crowds: &'a Exposure, seen: &'a Exposure) -> &'a Exposure {
        if self == Tier::Crowd && cfg.crowd_exposure_vouched {
            seen
        } else {
            crowds
        }
    }

    /// Shared bits that link in this tier.
    pub(crate) fn min_common(self, cfg: &Cluster) -> f64 {
        match self {
            Tier::Wide => cfg.min_common,
            Tier::Broad => cfg.broad_min_common,
            Tier::Crowd => cfg.crowd_min_common,
            Tier::Tight => cfg.tight_min_common,
        }
    }
}

/// How two reporters' sketches of one tier compare.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pair {
    /// The tier compared.
    pub tier: Tier,
    /// How often each is the other's frequent partner (the smaller count).
    pub co_reports: f32,
    /// Bits set in each one's partner set.
    pub partners: (u32, u32),
    /// Bits set in both.
    pub shared: u32,
    /// Bits both would have set by chance, had each drawn its partners independently of the
    /// other as often as the tier's sketches hold them.
    pub expected: f64,
    /// Shared *rare* partner bits (no more than twice as likely as the mean partner), each
    /// weighted by how rare a partner it is (1: as likely as the mean, at most 4).
    pub rare_weighted: f64,
    /// What `rare_weighted` would be by chance.
    pub rare_expected: f64,
    /// Its variance by chance (0: not counted, the smaller sketch holding too many of the
    /// rare partners for chance to be counted as it is).
    pub rare_var: f64,
}

impl Pair {
    /// Linked: frequent partners of each other, or partner sets that overlap beyond chance.
    pub fn linked(&self, cfg: &Cluster) -> bool {
        let shared = f64::from(self.shared);
        self.co_reports >= cfg.min_pair
            || (shared >= self.tier.min_common(cfg)
                && (shared >= cfg.min_ratio * self.expected
                    || (cfg.min_z > 0.0
                        && shared - self.expected >= cfg.min_z * self.expected.sqrt())
                    || (cfg.rare_z > 0.0
                        && self.rare_deviation().is_some_and(|z| z >= cfg.rare_z))))
    }

    /// How far beyond chance the rare partners are shared, in standard deviations (`None`:
    /// not counted for this pair).
    pub fn rare_deviation(&self) -> Option<f64> {
        (self.rare_var > 0.0)
            .then(|| (self.rare_weighted - self.rare_expected) / self.rare_var.sqrt())
    }
}

/// A sketch as stored in a snapshot: reporter, set bits, frequent partners and counts.
pub type SketchRecord = (u32, Vec<u32>, Vec<(u32, f32)>);

/// Every reporter's [`Sketch`] in each [`Tier`], bounded by `limits.max_sketches` a tier.
#[derive(Debug, Clone, Default)]
pub struct Clusters {
    /// By [`Tier`] (`Tier::Wide as usize`, …).
    tiers: [Sketches; TIERS],
    /// When the generations last rotated (Unix seconds).
    rotated: i64,
    /// Partners recorded, reused.
    ring: Vec<(u64, u32)>,
    /// Bits new to a sketch, reused.
    gained: Vec<usize>,
    /// Held bits and their capped likelihood before scaling, reused.
    capped: Vec<(usize, f64)>,
    /// Crowd participations per reporter bit.
    exposure: Exposure,
    /// Participations in attacks a seed saw too, per reporter bit (chance in the crowd tier).
    seen: Exposure,
    /// Records and crowds since the likelihoods were last scaled.
    changes: u32,
    /// Small tallies per reporter (busy reporters).
    activity: Activity,
    /// The latest time seen by [`Clusters::rotate`].
    now: i64,
}

/// Records and crowds between two scalings of the likelihoods.
const RENORMALIZE_EVERY: u32 = 64;

pub(super) fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Clusters {
    /// Empty, generations starting at `now`.
    pub fn new(now: i64) -> Clusters {
        Clusters {
            rotated: now,
            now,
            ..Clusters::default()
        }
    }

    /// Sketches (of one reporter in one tier).
    pub fn len(&self) -> usize {
        self.tiers.iter().map(|t| t.by.len()).sum()
    }

    /// Whether no reporter has a sketch.
    pub fn is_empty(&self) -> bool {
        self.tiers.iter().all(|t| t.by.is_empty())
    }

    /// Records `supporters` (established reporters of one settled or ended tally; `salt`
    /// identifies the target) as partners, in the tier of their number. Reporters without a sketch in that
    /// tier get one while fewer than `max` exist there.
    pub fn record(&mut self, supporters: &[u32], salt: u64, cfg: &Cluster, max: usize) {
        if let Some(tier) = Tier::of(supporters.len(), cfg) {
            self.record_in(tier, supporters, salt, cfg, max);
        }
    }

    /// Records `supporters` as partners in `tier`.
    pub fn record_in(
        &mut self,
        tier: Tier,
        supporters: &[u32],
        salt: u64,
        cfg: &Cluster,
        max: usize,
    ) {
        let n = supporters.len();
        if n < 2 {
            return;
        }
        let exposure = tier.exposure(cfg, &self.exposure, &self.seen);
        let tier = &mut self.tiers[tier as usize];
        tier.sized(cfg.sketch_bits);
        self.ring.clear();
        self.ring
            .extend(supporters.iter().map(|&r| (mix(salt ^ u64::from(r)), r)));
        self.ring.sort_unstable();
        let reach = (cfg.partners / 2).max(1);
        let all = n - 1 <= cfg.partners;
        let words = cfg.sketch_bits / 64;
        let mut gained = std::mem::take(&mut self.gained);
        gained.clear();
        for i in 0..n {
            let me = self.ring[i].1;
            if !tier.by.contains_key(&me) && tier.by.len() >= max {
                continue;
            }
            let sketch = tier
                .by
                .entry(me)
                .or_insert_with(|| Sketch::new(words, cfg.generations));
            let before = gained.len();
            for d in 1..n {
                // All others for a small target; else `partners / 2` on each side of the ring.
                if !all && d > reach && d < n - reach {
                    continue;
                }
                let p = self.ring[(i + d) % n].1;
                let b = bit(p, cfg.sketch_bits);
                if sketch.add(p, b) {
                    gained.push(b);
                }
            }
            if gained.len() > before {
                tier.summaries.get_mut().remove(&me);
            }
        }
        for &b in &gained {
            if tier.gained(b) {
                tier.fill(b, exposure, cfg);
            }
        }
        self.gained = gained;
        self.changed(cfg);
    }

    fn changed(&mut self, cfg: &Cluster) {
        self.changes += 1;
        if self.changes >= RENORMALIZE_EVERY {
            self.renormalize(cfg);
        }
    }

    /// Scales each tier's likelihoods to sum to 1 over the bits it holds. Capping a partner's
    /// share of exposure at its popularity (a member in every sketch cannot be in more) leaves
    /// some of the likelihood unplaced; it goes to the others in proportion.
    fn renormalize(&mut self, cfg: &Cluster) {
        self.changes = 0;
        for (t, tier) in Tier::ALL.into_iter().zip(&mut self.tiers) {
            let exposure = t.exposure(cfg, &self.exposure, &self.seen);
            let known = exposure.known();
            tier.summaries.get_mut().clear();
            tier.norm = 0.0;
            (tier.rare, tier.rare_held) = (0.0, 0);
            if tier.pop.len() != cfg.sketch_bits {
                continue;
            }
            // Each held bit's share counted once: summed into `norm`, then scaled by it (its
            // share of the bits held while exposure is not known).
            let capped = &mut self.capped;
            capped.clear();
            capped.extend((0..tier.pop.len()).filter(|&b| tier.pop[b] > 0).map(|b| {
                let c = if known {
                    tier.capped(b, exposure, cfg)
                } else {
                    tier.popular(b)
                };
                (b, c)
            }));
            if known {
                tier.norm = capped.iter().map(|c| c.1).sum();
            }
            let (mut rare, mut rare_held) = (0.0, 0);
            for &(b, c) in capped.iter() {
                let s = if tier.norm > 0.0 { tier.scaled(c) } else { c };
                let s = tier.set(b, s, cfg);
                if tier.is_rare(s) {
                    (rare, rare_held) = (rare + s, rare_held + 1);
                }
            }
            (tier.rare, tier.rare_held) = (rare, rare_held);
        }
    }

    /// Counts `reporters` (established supporters of an ended crowd's tally, that
    /// reported it before it was listed) as exposed to a crowd.
    pub fn exposed(&mut self, reporters: &[u32], cfg: &Cluster) {
        for &r in reporters {
            self.exposure.add(bit(r, cfg.sketch_bits), cfg);
        }
        self.changed(cfg);
    }

    /// Counts `reporters` (established supporters of an ended tally a seed reported too,
    /// that reported it before it was listed) as exposed to a real attack.
    pub fn seen(&mut self, reporters: &[u32], cfg: &Cluster) {
        for &r in reporters {
            self.seen.add(bit(r, cfg.sketch_bits), cfg);
        }
        self.changed(cfg);
    }

    /// Counts `reporters` (established supporters of a tally short of a crowd, when first
    /// recorded as partners) as taking part in one more small tally (at most `max`
    /// reporters counted).
    pub fn small(&mut self, reporters: &[u32], cfg: &Cluster, max: usize) {
        if let Some(tier) = Tier::of(reporters.len(), cfg) {
            self.activity.small(tier, reporters, cfg, max);
        }
    }

    /// The share of the current generation gone by.
    fn elapsed(&self, cfg: &Cluster) -> f64 {
        ((self.now - self.rotated) as f64 / cfg.generation as f64).clamp(0.0, 1.0)
    }

    /// `r`'s recent small tallies, what its history predicts, and how many standard
    /// deviations beyond it they are in the tier and window where they are most (`None`:
    /// too little history).
    pub fn activity_of(&self, r: u32, cfg: &Cluster) -> (f64, f64, Option<f64>) {
        let e = self.elapsed(cfg);
        let (s, p) = self.activity.of(r, e);
        (s, p, self.activity.excess(r, e))
    }

    /// How far beyond their histories `members`' small tallies are together (see
    /// [`activity`]).
    fn busy_together(&self, members: impl ExactSizeIterator<Item = u32>, cfg: &Cluster) -> f64 {
        // One member counts at most as far as makes it busy alone.
        let cap = if cfg.busy_z > 0.0 {
            cfg.busy_z
        } else {
            f64::INFINITY
        };
        self.activity.joint(members, self.elapsed(cfg), cap)
    }

    /// Whether `r` is busy (see [`activity`]).
    fn busy(&self, r: u32, cfg: &Cluster) -> bool {
        self.activity.busy(r, self.elapsed(cfg), cfg)
    }

    /// Whether `a` and `b` are linked in any tier (see the module doc).
    pub fn linked(&self, a: u32, b: u32, cfg: &Cluster) -> bool {
        Tier::ALL
            .iter()
            .any(|&t| self.pair(a, b, t, cfg).is_some_and(|p| p.linked(cfg)))
    }

    /// What links `a` and `b` in `tier` or not (`None`: one of them has no sketch there).
    pub fn pair(&self, a: u32, b: u32, tier: Tier, cfg: &Cluster) -> Option<Pair> {
        let sketches = &self.tiers[tier as usize];
        let words = cfg.sketch_bits / 64;
        let (sa, sb) = (sketches.seen(a, words)?, sketches.seen(b, words)?);
        Some(sketches.compare(tier, (a, &sa), (b, &sb), words, cfg))
    }

    /// The sketches of `tier`, for a snapshot: reporter, set bits (bit `b` of the
    /// generation a partner was last recorded in, `g`, as `g * cluster.sketch_bits + b`),
    /// frequent partners.
    pub fn records(&self, tier: Tier) -> Vec<SketchRecord> {
        self.tiers[tier as usize]
            .by
            .iter()
            .map(|(r, s)| {
                let bits = s.all.len() * 64;
                let list = s
                    .all
                    .iter()
                    .enumerate()
                    .flat_map(|(w, &x)| {
                        (0..64)
                            .filter(move |b| x >> b & 1 == 1)
                            .map(move |b| (s.age_of(w, 1 << b) * bits + w * 64 + b) as u32)
                    })
                    .collect();
                (*r, list, s.top.clone())
            })
            .collect()
    }

    /// Crowd participations counted at `r`'s bit (every generation).
    pub fn exposure_of(&self, r: u32, cfg: &Cluster) -> u64 {
        self.exposure.at(bit(r, cfg.sketch_bits))
    }

    /// Participations in attacks a seed saw, counted at `r`'s bit (every generation).
    pub fn seen_of(&self, r: u32, cfg: &Cluster) -> u64 {
        self.seen.at(bit(r, cfg.sketch_bits))
    }

    /// Crowd participations, for a snapshot.
    pub fn exposure_records(&self) -> Vec<ExposureRecord> {
        self.exposure.records()
    }

    /// Participations in attacks a seed saw, for a snapshot.
    pub fn seen_records(&self) -> Vec<ExposureRecord> {
        self.seen.records()
    }

    /// Small tallies per reporter, for a snapshot.
    pub fn activity_records(&self) -> Vec<ActivityRecord> {
        self.activity.records()
    }

    /// How every reporter's recent small tallies compare to its history (the median taken
    /// at the last rotation; 0: not measured yet), for a snapshot.
    pub fn activity_drift(&self) -> f64 {
        self.activity.drift_record()
    }

    /// Restores small tallies per reporter from [`Clusters::activity_records`] and
    /// [`Clusters::activity_drift`] (0: measured again from the records).
    pub fn restore_activity(
        &mut self,
        (list, drift): (&[ActivityRecord], f64),
        cfg: &Cluster,
        max: usize,
    ) {
        self.activity = Activity::from_records(list, drift, cfg, max);
    }

    /// When the generations last rotated (Unix seconds), for a snapshot.
    pub fn rotated(&self) -> i64 {
        self.rotated
    }

    /// Rebuilds from [`Clusters::records`] of each tier and [`Clusters::exposure_records`]
    /// (bits beyond the configured size are dropped, and sketches beyond `max` a tier).
    pub fn from_records(
        rotated: i64,
        tiers: [Vec<SketchRecord>; TIERS],
        (exposure, seen): (&[ExposureRecord], &[ExposureRecord]),
        cfg: &Cluster,
        max: usize,
    ) -> Clusters {
        let words = cfg.sketch_bits / 64;
        let mut c = Clusters::new(rotated);
        c.exposure = Exposure::from_records(exposure, cfg);
        c.seen = Exposure::from_records(seen, cfg);
        for (tier, list) in tiers.into_iter().enumerate() {
            c.tiers[tier].by = restore_tier(list, (words, cfg.generations), max);
            c.tiers[tier].recount(cfg.sketch_bits);
        }
        c.renormalize(cfg);
        c
    }
}

/// The bit of reporter `r` in a sketch of `bits` (a power of two) bits.
fn bit(r: u32, bits: usize) -> usize {
    (mix(u64::from(r)) as usize) & (bits - 1)
}

#[cfg(test)]
mod activity_tests;
#[cfg(test)]
mod rare_tests;
#[cfg(test)]
mod rotate_tests;
#[cfg(test)]
mod tests;
