//! Busy reporters: those taking part in many more small tallies lately than they used to.
//!
//! A coalition pushing innocent addresses makes tallies no honest member joins: each push
//! adds one to every pusher's count of small tallies of its size (those recorded in the
//! tight, wide or broad tier). How many an honest member takes part in depends on how
//! exposed it is, which changes slowly; so each reporter's counts in the generations the
//! sketches remember (*recent*) are compared to its own rate before them (*history*, older
//! generations decayed with a half-life of `HISTORY_HALF_LIFE` generations), scaled by how
//! every reporter's recent counts compare to its history (the *drift*: a wave of scanning
//! raises them all). The newest generations are compared first, then one more at a time (the
//! current one, from a quarter of it gone by; it and the one before; …): a coalition that
//! started pushing hours ago stands out in the newest before it does in all of them. A
//! reporter whose count, in one tier and one of those windows, is beyond what its history
//! predicts by `cluster.busy_z` standard deviations (binomial: of its tallies in the window
//! and the history, the window's share of the time) is *busy*. A coalition's members are
//! busy within hours of starting to push, before each pair of them has shared enough
//! partners; a member that pushes from its first days has no quieter past to be compared
//! to, and one that keeps pushing for days makes its pushes part of its history.

use foldhash::HashMap as FoldHashMap;
use serde::{Deserialize, Serialize};

use super::rotate::{MAX_GENERATIONS, shift};
use super::{TIERS, Tier};
use crate::config::Cluster;

/// Tiers counted (the tight, wide and broad ones).
const KINDS: [Tier; 3] = [Tier::Tight, Tier::Wide, Tier::Broad];

/// Generations over which history halves.
const HISTORY_HALF_LIFE: f64 = 14.0;

/// The shortest window compared with history, in generations: tallies are recorded when
/// they settle, so the first ones of a generation were reported in the one before.
const MIN_WINDOW: f64 = 0.25;

/// Generations of history a reporter needs before it can be busy.
const MIN_HISTORY: f64 = 1.0;

/// Small tallies a reporter's history must predict for it to count in the drift.
const DRIFT_MIN: f64 = 5.0;

/// One reporter's counts.
#[derive(Debug, Clone)]
struct Counts {
    /// Per tier counted, `generations` counts (newest first).
    recent: Box<[u32]>,
    /// Per tier counted, small tallies before the recent generations (decayed).
    history: [f32; KINDS.len()],
    /// Generations of history (decayed alike).
    span: f32,
    /// Generations this reporter has been counted in (its first ones are not history
    /// until they leave the recent window whole).
    age: u16,
}

/// Small tallies per reporter.
#[derive(Debug, Clone, Default)]
pub(super) struct Activity {
    by: FoldHashMap<u32, Counts>,
    generations: usize,
    /// How every reporter's recent counts compare to its history (median; 0: not
    /// measured yet, taken as 1).
    drift: f64,
}

/// A reporter's counts as stored in a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityRecord {
    /// The reporter.
    pub reporter: u32,
    /// Small tallies in the tight, wide and broad tiers, each `generations` counts (newest
    /// first).
    pub recent: Vec<u32>,
    /// Small tallies before those, decayed, per tier.
    pub history: [f32; KINDS.len()],
    /// Generations of history, decayed alike.
    pub span: f32,
    /// Generations counted.
    pub age: u16,
}

fn kind(t: Tier) -> Option<usize> {
    KINDS.iter().position(|&k| k == t)
}

/// How many standard deviations `k` of `n` is above a share `p`, for a binomial count:
/// `2 √n (asin √((k - ½) / n) - asin √p)` (the arcsine makes the spread the same for every
/// `p`, so that a count of 2 where a tenth of one was expected is not 6 deviations beyond it,
/// as a normal approximation would have it; half a count off for continuity).
pub(super) fn deviation(k: f64, n: f64, p: f64) -> f64 {
    let x = ((k - 0.5).max(0.0) / n).clamp(0.0, 1.0);
    2.0 * n.sqrt() * (x.sqrt().asin() - p.clamp(0.0, 1.0).sqrt().asin())
}

impl Activity {
    fn drift(&self) -> f64 {
        if self.drift > 0.0 { self.drift } else { 1.0 }
    }

    /// One more small tally in `tier` for each of `reporters` (at most `max` reporters).
    pub(super) fn small(&mut self, tier: Tier, reporters: &[u32], cfg: &Cluster, max: usize) {
        let Some(k) = kind(tier) else { return };
        let g = cfg.generations;
        if self.generations != g {
            self.by.clear();
            self.generations = g;
        }
        for &r in reporters {
            if !self.by.contains_key(&r) && self.by.len() >= max {
                continue;
            }
            let c = self.by.entry(r).or_insert_with(|| Counts {
                recent: vec![0; KINDS.len() * g].into_boxed_slice(),
                history: [0.0; KINDS.len()],
                span: 0.0,
                age: 0,
            });
            c.recent[k * g] = c.recent[k * g].saturating_add(1);
        }
    }

    /// How many standard deviations `r`'s recent small tallies are beyond what its history
    /// predicts, in the tier and window where they are most (`None`: too little history).
    /// Both counts are chance: of the tallies in either, the window should hold its share of
    /// the time (binomial, half a tally off for continuity), so a history that was low by
    /// chance does not make a reporter busy.
    pub(super) fn excess(&self, r: u32, elapsed: f64) -> Option<f64> {
        let mut best: Option<f64> = None;
        self.windows(r, elapsed, |recent, n, p| {
            let z = deviation(recent, n, p);
            best = Some(best.map_or(z, |b| b.max(z)));
            false
        });
        best
    }

    /// Whether `r` is busy (`cluster.busy_z`; never while it is 0): as soon as one tier and
    /// window is.
    pub(super) fn busy(&self, r: u32, elapsed: f64, cfg: &Cluster) -> bool {
        cfg.busy_z > 0.0
            && self.windows(r, elapsed, |recent, n, p| {
                // Not beyond the share at all: no need for the arcsine.
                recent - 0.5 > n * p && deviation(recent, n, p) >= cfg.busy_z
            })
    }

    /// How many standard deviations `members`' small tallies, taken together, are beyond
    /// what their histories predict: in each tier and window, their deviations summed over
    /// the square root of their number; the most of any tier and window. A coalition's
    /// members each stand out a little within hours of their first pushes, long before
    /// each one alone is busy; honest members' deviations, independent, seldom add up.
    /// Each member's deviation counts at most `cap` (`cluster.busy_z`): one member busy
    /// alone among honest ones is not a busy set (it is a group of its own already).
    /// Members with too little history count as none.
    pub(super) fn joint(
        &self,
        members: impl ExactSizeIterator<Item = u32>,
        elapsed: f64,
        cap: f64,
    ) -> f64 {
        let count = members.len();
        let mut sums = [0.0f64; KINDS.len() * MAX_GENERATIONS];
        let g = self.generations.min(MAX_GENERATIONS);
        let drift = self.drift();
        for c in members.filter_map(|r| self.by.get(&r)) {
            let span = f64::from(c.span);
            if span < MIN_HISTORY {
                continue;
            }
            for k in 0..KINDS.len() {
                let mut recent = 0.0;
                for j in 0..g {
                    recent += f64::from(c.recent[k * self.generations + j]);
                    let n = recent + f64::from(c.history[k]);
                    let window = (j as f64 + elapsed) * drift;
                    if j as f64 + elapsed >= MIN_WINDOW && n > 0.0 {
                        let z = deviation(recent, n, window / (window + span));
                        sums[k * g + j] += z.min(cap);
                    }
                }
            }
        }
        let most = sums[..KINDS.len() * g]
            .iter()
            .copied()
            .fold(f64::MIN, f64::max);
        most / (count.max(1) as f64).sqrt()
    }

    /// Calls `f(recent, recent + history, share)` for each tier and window of `r` (the
    /// newest generations, one more at a time: a coalition that started pushing hours ago
    /// stands out in the last ones before it does in all of them) until it returns true;
    /// returns whether it did.
    fn windows(&self, r: u32, elapsed: f64, mut f: impl FnMut(f64, f64, f64) -> bool) -> bool {
        let g = self.generations;
        let Some(c) = self.by.get(&r) else {
            return false;
        };
        let span = f64::from(c.span);
        if span < MIN_HISTORY {
            return false;
        }
        let drift = self.drift();
        let mut recent = [0.0; KINDS.len()];
        for j in 0..g {
            let window = (j as f64 + elapsed) * drift;
            let p = window / (window + span);
            for (k, sum) in recent.iter_mut().enumerate() {
                *sum += f64::from(c.recent[k * g + j]);
                let n = *sum + f64::from(c.history[k]);
                if j as f64 + elapsed >= MIN_WINDOW && n > 0.0 && f(*sum, n, p) {
                    return true;
                }
            }
        }
        false
    }

    /// `r`'s recent small tallies (every tier counted) and what its history predicts for
    /// the recent generations (`elapsed`: the share of the current one gone by; 0: too
    /// little history).
    pub(super) fn of(&self, r: u32, elapsed: f64) -> (f64, f64) {
        let Some(c) = self.by.get(&r) else {
            return (0.0, 0.0);
        };
        let recent = c.recent.iter().map(|&x| f64::from(x)).sum();
        let span = f64::from(c.span);
        let predicted = if span < MIN_HISTORY {
            0.0
        } else {
            let history: f64 = c.history.iter().map(|&x| f64::from(x)).sum();
            history / span * ((self.generations - 1) as f64 + elapsed) * self.drift()
        };
        (recent, predicted)
    }

    /// Moves every count `steps` generations older: what leaves the recent window joins
    /// the history. Then measures the drift again.
    pub(super) fn rotate(&mut self, steps: usize) {
        let g = self.generations;
        if g == 0 {
            return;
        }
        let decay = 0.5f64.powf(1.0 / HISTORY_HALF_LIFE) as f32;
        for c in self.by.values_mut() {
            // Every step (at most `MAX_GENERATIONS` + 1): once the counts have all moved on,
            // the generations left still lengthen the history, with nothing in them.
            for _ in 0..steps {
                let whole = usize::from(c.age) + 1 >= g;
                c.span *= decay;
                for k in 0..KINDS.len() {
                    c.history[k] *= decay;
                    if whole {
                        c.history[k] += c.recent[k * g + g - 1] as f32;
                    }
                }
                if whole {
                    c.span += 1.0;
                }
                c.age = c.age.saturating_add(1);
                for k in 0..KINDS.len() {
                    shift(
                        &mut c.recent[k * g..(k + 1) * g],
                        1,
                        0,
                        |_| 0,
                        u32::saturating_add,
                    );
                }
            }
        }
        // A reporter with no recent tally and less than half of one in its history (quiet
        // for weeks) is forgotten: its slot goes to others (`limits.max_sketches`).
        self.by.retain(|_, c| {
            c.recent.iter().any(|&x| x != 0) || c.history.iter().sum::<f32>() >= 0.5
        });
        self.remeasure();
    }

    /// The median ratio of recent (whole generations) to predicted, over reporters with
    /// enough of both.
    fn remeasure(&mut self) {
        let saved = std::mem::replace(&mut self.drift, 1.0);
        let mut ratios: Vec<f64> = self
            .by
            .keys()
            .filter_map(|&r| {
                let (recent, expected) = self.of(r, 0.0);
                (expected >= DRIFT_MIN).then(|| recent / expected)
            })
            .collect();
        self.drift = if ratios.len() < 20 {
            if saved > 0.0 { saved } else { 1.0 }
        } else {
            let mid = ratios.len() / 2;
            *ratios.select_nth_unstable_by(mid, f64::total_cmp).1
        };
    }
}

impl Activity {
    /// Every reporter's counts, for a snapshot (sorted by reporter).
    pub(super) fn records(&self) -> Vec<ActivityRecord> {
        let mut list: Vec<ActivityRecord> = self
            .by
            .iter()
            .map(|(&reporter, c)| ActivityRecord {
                reporter,
                recent: c.recent.to_vec(),
                history: c.history,
                span: c.span,
                age: c.age,
            })
            .collect();
        list.sort_unstable_by_key(|a| a.reporter);
        list
    }

    /// From [`Activity::records`] and the drift (counts of another number of generations
    /// keep what fits; at most `max` reporters; the drift measured again if not given).
    pub(super) fn from_records(
        list: &[ActivityRecord],
        drift: f64,
        cfg: &Cluster,
        max: usize,
    ) -> Activity {
        let g = cfg.generations;
        let mut a = Activity {
            generations: g,
            drift: 1.0,
            ..Activity::default()
        };
        for rec in list.iter().take(max) {
            let stored = rec.recent.len() / KINDS.len();
            let mut recent = vec![0; KINDS.len() * g];
            for k in 0..KINDS.len() {
                for i in 0..g.min(stored) {
                    recent[k * g + i] = rec.recent[k * stored + i];
                }
            }
            let finite = |x: f32| if x.is_finite() { x.max(0.0) } else { 0.0 };
            a.by.insert(
                rec.reporter,
                Counts {
                    recent: recent.into_boxed_slice(),
                    history: rec.history.map(finite),
                    span: finite(rec.span),
                    age: rec.age,
                },
            );
        }
        if drift.is_finite() && drift > 0.0 {
            a.drift = drift;
        } else {
            a.remeasure();
        }
        a
    }

    /// The drift, for a snapshot (0: not measured yet).
    pub(super) fn drift_record(&self) -> f64 {
        self.drift
    }
}

const _: () = assert!(TIERS >= KINDS.len());
