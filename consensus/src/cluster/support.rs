//! Which of a target's supporters count: K of them no two of which are linked, or (with
//! `cluster.transitive`) K of them from different groups of supporters linked directly or
//! through others.

use super::{Clusters, Sketch, TIERS, Tier};
use crate::config::Cluster;

/// A supporter's sketches in each tier.
type Sketched<'a> = (u32, [Option<&'a Sketch>; TIERS]);

/// Whether K chosen supporters count as K.
enum Together {
    /// They do.
    Yes,
    /// Their rare partners are beyond chance as a set.
    Partners,
    /// Their small tallies are beyond their histories together.
    Busy,
}

/// What links supporters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Their sketches (shared partners, the set test), and being busy.
    All,
    /// Being busy only: for a target held since the rule first held (`hold`), whose own
    /// supporters have been recorded as each other's partners since, so that its sketches
    /// would count it against itself; they were looked at when the rule first held.
    Busy,
}

impl Clusters {
    /// Whether `supporters` (reporter, weight) hold `k` reporters, no two of them linked
    /// (with `cluster.transitive`: no two in one group of supporters linked directly or
    /// through others), whose weights add up to `threshold` (taken greedily, heaviest
    /// first: it stops as soon as they are found, and never finds them where there are
    /// none). With `cluster.set_z`, such a set whose rare partners are beyond chance taken
    /// together (summed pair deviations, see `set_deviation`) is passed over: its last
    /// member is skipped. With `cluster.busy_set_z`, one whose small tallies are beyond
    /// their histories taken together is not enough either: the next supporter joins it
    /// (one busy alone among them leaves it).
    pub fn independent(
        &self,
        supporters: &mut [(u32, f64)],
        k: usize,
        threshold: f64,
        cfg: &Cluster,
    ) -> bool {
        self.independent_by(supporters, k, threshold, cfg, Links::All)
    }

    /// [`Clusters::independent`], counting only the `links` given.
    pub fn independent_by(
        &self,
        supporters: &mut [(u32, f64)],
        k: usize,
        threshold: f64,
        cfg: &Cluster,
        links: Links,
    ) -> bool {
        let sketches = links == Links::All;
        supporters.sort_unstable_by(|a, b| b.1.total_cmp(&a.1));
        let words = cfg.sketch_bits / 64;
        // Each supporter's sketches are looked up once, not once per other supporter.
        let sketched: Vec<Sketched> = supporters
            .iter()
            .map(|&(r, _)| (r, Tier::ALL.map(|t| self.tiers[t as usize].by.get(&r))))
            .collect();
        // Busy supporters are one group, whatever their sketches say.
        let busy: Vec<bool> = supporters.iter().map(|&(r, _)| self.busy(r, cfg)).collect();
        let group = if cfg.transitive {
            match self.groups(&sketched, &busy, k, cfg, sketches) {
                Some(g) => g,
                None => return false,
            }
        } else {
            Vec::new()
        };
        let mut chosen: Vec<usize> = Vec::with_capacity(k);
        let mut weight = 0.0;
        for (i, &(_, w)) in supporters.iter().enumerate() {
            let taken = if cfg.transitive {
                chosen.iter().any(|&c| group[c] == group[i])
            } else {
                chosen.iter().any(|&c| {
                    (busy[i] && busy[c])
                        || (sketches
                            && self.sketches_linked(&sketched[i], &sketched[c], words, cfg))
                })
            };
            if taken {
                continue;
            }
            chosen.push(i);
            weight += w;
            if chosen.len() >= k && weight >= threshold {
                match self.together(&chosen, &sketched, words, cfg, sketches) {
                    Together::Yes => return true,
                    Together::Partners => {
                        // No two linked, but together beyond chance: look for another.
                        chosen.pop();
                        weight -= w;
                    }
                    Together::Busy => {
                        // Busy together. One of them busy alone (a group of its own) leaves
                        // the set; else the next supporter joins it: honest supporters can
                        // outweigh a coalition's members in it, while more of a coalition's
                        // members only add to their deviation (retrying with another in
                        // the last one's place let a coalition pushing with K + 2 members
                        // pick its least busy three).
                        if let Some(at) = chosen.iter().position(|&c| busy[c]) {
                            weight -= supporters[chosen[at]].1;
                            chosen.remove(at);
                        }
                    }
                }
            }
        }
        false
    }

    /// Whether `chosen` (no two linked) count as K: neither their rare partners
    /// (`cluster.set_z`, with `sketches`) nor their small tallies (`cluster.busy_set_z`) are
    /// beyond chance taken together.
    fn together(
        &self,
        chosen: &[usize],
        sketched: &[Sketched],
        words: usize,
        cfg: &Cluster,
        sketches: bool,
    ) -> Together {
        if cfg.busy_set_z > 0.0 {
            let members = chosen.iter().map(|&c| sketched[c].0);
            if self.busy_together(members, cfg) >= cfg.busy_set_z {
                return Together::Busy;
            }
        }
        if cfg.set_z <= 0.0 || !sketches {
            return Together::Yes;
        }
        let set: Vec<Sketched> = chosen.iter().map(|&c| sketched[c]).collect();
        if self.set_deviation(&set, words, cfg) < cfg.set_z {
            Together::Yes
        } else {
            Together::Partners
        }
    }

    /// Whether two supporters are linked in any tier both have a sketch in.
    fn sketches_linked(&self, a: &Sketched, b: &Sketched, words: usize, cfg: &Cluster) -> bool {
        Tier::ALL
            .iter()
            .any(|&t| match (a.1[t as usize], b.1[t as usize]) {
                (Some(sa), Some(sb)) => {
                    self.tiers[t as usize].linked(t, (a.0, sa), (b.0, sb), words, cfg)
                }
                _ => false,
            })
    }

    /// With `cluster.transitive`: each supporter's group (supporters linked to each other
    /// directly or through others; busy ones: one group; `sketches` false: busy ones only),
    /// as the index of its first member; `None` as soon as fewer than `k` groups are left.
    fn groups(
        &self,
        sketched: &[Sketched],
        busy: &[bool],
        k: usize,
        cfg: &Cluster,
        sketches: bool,
    ) -> Option<Vec<usize>> {
        let words = cfg.sketch_bits / 64;
        let n = sketched.len();
        if n < k {
            return None;
        }
        let mut head: Vec<usize> = (0..n).collect();
        fn find(head: &mut [usize], mut i: usize) -> usize {
            while head[i] != i {
                head[i] = head[head[i]];
                i = head[i];
            }
            i
        }
        let mut left = n;
        let mut first_busy = None;
        for i in (0..n).filter(|&i| busy[i]) {
            match first_busy {
                None => first_busy = Some(i),
                Some(f) => {
                    head[i] = f;
                    left -= 1;
                }
            }
        }
        if left < k {
            return None;
        }
        for i in (1..n).filter(|_| sketches) {
            for j in 0..i {
                let (hi, hj) = (find(&mut head, i), find(&mut head, j));
                if hi != hj && self.sketches_linked(&sketched[i], &sketched[j], words, cfg) {
                    head[hi.max(hj)] = hi.min(hj);
                    left -= 1;
                    if left < k {
                        return None;
                    }
                }
            }
        }
        Some((0..n).map(|i| find(&mut head, i)).collect())
    }

    /// How far beyond chance `chosen` share rare partners as a set, in the tight tier (where a
    /// coalition pushing with as few members as it can is recorded): the sum of their pairs'
    /// deviations (in standard deviations) over the square root of their number. Looking in
    /// every tier held up as many pushes in the simulation, for twice the recall lost.
    fn set_deviation(&self, chosen: &[Sketched], words: usize, cfg: &Cluster) -> f64 {
        let t = Tier::Tight;
        let sketches = &self.tiers[t as usize];
        let seen: Vec<_> = chosen
            .iter()
            .map(|(r, s)| (*r, s[t as usize].map(|s| sketches.summarize(*r, s, words))))
            .collect();
        let (mut sum, mut n) = (0.0, 0u32);
        for (i, (a, sa)) in seen.iter().enumerate() {
            for (b, sb) in &seen[i + 1..] {
                if let (Some(sa), Some(sb)) = (sa, sb) {
                    let p = sketches.compare(t, (*a, sa), (*b, sb), words, cfg);
                    if let Some(z) = p.rare_deviation() {
                        sum += z;
                        n += 1;
                    }
                }
            }
        }
        if n > 0 {
            sum / f64::from(n).sqrt()
        } else {
            f64::MIN
        }
    }
}
