//! Which of a target's supporters count: K of them no two of which are linked, or (with
//! `cluster.transitive`) K groups of supporters linked directly or through others.

use super::sketch::Seen;
use super::{Clusters, Sketch, TIERS, Tier};
use crate::config::Cluster;

/// A supporter being weighed: its sketch in each tier, and each one summarized once it is
/// needed (a supporter is compared with several others).
struct Member<'a> {
    r: u32,
    sketches: [Option<&'a Sketch>; TIERS],
    seen: [Option<Seen<'a>>; TIERS],
}

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
        // Each supporter's sketches are looked up, and summarized, once, not once per other
        // supporter.
        let mut chosen: Vec<Member> = Vec::with_capacity(k);
        let mut weight = 0.0;
        for &(r, w) in supporters.iter() {
            let mut me = Member {
                r,
                sketches: Tier::ALL.map(|t| self.tiers[t as usize].by.get(&r)),
                seen: [const { None }; TIERS],
            };
            let linked = chosen
                .iter_mut()
                .any(|c| self.linked_members(&mut me, c, words, cfg));
            if !linked {
                chosen.push(me);
                weight += w;
                if chosen.len() >= k && weight >= threshold {
                    if cfg.set_z <= 0.0 || self.set_deviation(&mut chosen, words, cfg) < cfg.set_z {
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

    /// Whether `a` and `b` are linked in any tier.
    fn linked_members<'a>(
        &'a self,
        a: &mut Member<'a>,
        b: &mut Member<'a>,
        words: usize,
        cfg: &Cluster,
    ) -> bool {
        Tier::ALL.iter().any(|&t| {
            let i = t as usize;
            match (a.sketches[i], b.sketches[i]) {
                (Some(sa), Some(sb)) => self.tiers[i].linked_seen(
                    t,
                    (a.r, sa, &mut a.seen[i]),
                    (b.r, sb, &mut b.seen[i]),
                    words,
                    cfg,
                ),
                _ => false,
            }
        })
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
    fn set_deviation<'a>(&'a self, chosen: &mut [Member<'a>], words: usize, cfg: &Cluster) -> f64 {
        let t = Tier::Tight as usize;
        let sketches = &self.tiers[t];
        for m in chosen.iter_mut() {
            if let (Some(s), None) = (m.sketches[t], &m.seen[t]) {
                m.seen[t] = Some(sketches.summarize(m.r, s, words));
            }
        }
        let (mut sum, mut n) = (0.0, 0u32);
        for (i, a) in chosen.iter().enumerate() {
            for b in &chosen[i + 1..] {
                if let (Some(sa), Some(sb)) = (&a.seen[t], &b.seen[t]) {
                    let p = sketches.compare(Tier::Tight, (a.r, sa), (b.r, sb), words, cfg);
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
