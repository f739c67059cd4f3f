//! Which of a target's supporters count: K of them no two of which are linked, or (with
//! `cluster.transitive`) K groups of supporters linked directly or through others.

use super::{Clusters, Sketch, TIERS, Tier};
use crate::config::Cluster;

impl Clusters {
    /// Whether `supporters` (reporter, weight) hold `k` reporters, no two of them linked,
    /// whose weights add up to `threshold` (taken greedily, heaviest first: it stops as soon
    /// as they are found, and never finds them where there are none). With `cluster.set_z`,
    /// such a set whose rare partners are beyond chance taken together
    /// (summed pair deviations, see `set_deviation`) is passed over: its last member is
    /// skipped.
    pub fn independent(
        &self,
        supporters: &mut [(u32, f64)],
        k: usize,
        threshold: f64,
        cfg: &Cluster,
    ) -> bool {
        supporters.sort_unstable_by(|a, b| b.1.total_cmp(&a.1));
        let words = cfg.sketch_bits / 64;
        if cfg.transitive {
            return self.groups(supporters, k, threshold, cfg);
        }
        // Each supporter's sketches are looked up once, not once per other supporter.
        let mut chosen: Vec<(u32, [Option<&Sketch>; TIERS])> = Vec::with_capacity(k);
        let mut weight = 0.0;
        for &(r, w) in supporters.iter() {
            let mine = Tier::ALL.map(|t| self.tiers[t as usize].by.get(&r));
            let linked = |(c, theirs): &(u32, [Option<&Sketch>; TIERS])| {
                Tier::ALL
                    .iter()
                    .any(|&t| match (mine[t as usize], theirs[t as usize]) {
                        (Some(a), Some(b)) => {
                            self.tiers[t as usize].linked(t, (r, a), (*c, b), words, cfg)
                        }
                        _ => false,
                    })
            };
            if !chosen.iter().any(linked) {
                chosen.push((r, mine));
                weight += w;
                if chosen.len() >= k && weight >= threshold {
                    if cfg.set_z <= 0.0 || self.set_deviation(&chosen, words, cfg) < cfg.set_z {
                        return true;
                    }
                    // No two linked, but together beyond chance: look for another.
                    chosen.pop();
                    weight -= w;
                }
            }
        }
        false
    }

    /// With `cluster.transitive`: whether `supporters` (heaviest first) fall in at least `k`
    /// groups of supporters linked to each other directly or through others, whose
    /// heaviest members weigh `threshold` together.
    fn groups(&self, supporters: &[(u32, f64)], k: usize, threshold: f64, cfg: &Cluster) -> bool {
        let words = cfg.sketch_bits / 64;
        let sketches: Vec<[Option<&Sketch>; TIERS]> = supporters
            .iter()
            .map(|&(r, _)| Tier::ALL.map(|t| self.tiers[t as usize].by.get(&r)))
            .collect();
        // Each supporter's group, by its heaviest member (the lowest index).
        let mut head: Vec<usize> = (0..supporters.len()).collect();
        fn find(head: &mut [usize], mut i: usize) -> usize {
            while head[i] != i {
                head[i] = head[head[i]];
                i = head[i];
            }
            i
        }
        for i in 1..supporters.len() {
            for j in 0..i {
                let (hi, hj) = (find(&mut head, i), find(&mut head, j));
                if hi == hj {
                    continue;
                }
                let linked = Tier::ALL.iter().any(|&t| {
                    match (sketches[i][t as usize], sketches[j][t as usize]) {
                        (Some(a), Some(b)) => self.tiers[t as usize].linked(
                            t,
                            (supporters[i].0, a),
                            (supporters[j].0, b),
                            words,
                            cfg,
                        ),
                        _ => false,
                    }
                });
                if linked {
                    head[hi.max(hj)] = hi.min(hj);
                }
            }
        }
        let (mut n, mut weight) = (0, 0.0);
        for (i, &(_, w)) in supporters.iter().enumerate() {
            if find(&mut head, i) == i {
                n += 1;
                weight += w;
            }
        }
        n >= k && weight >= threshold
    }

    /// How far beyond chance `chosen` share rare partners as a set, in the tight tier (where a
    /// coalition pushing with as few members as it can is recorded): the sum of their pairs'
    /// deviations (in standard deviations) over the square root of their number. Looking in
    /// every tier held up as many pushes in the simulation, for twice the recall lost.
    fn set_deviation(
        &self,
        chosen: &[(u32, [Option<&Sketch>; TIERS])],
        words: usize,
        cfg: &Cluster,
    ) -> f64 {
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
