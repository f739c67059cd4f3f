//! Generations: partners and exposure are remembered for `cluster.generations` generations of
//! `cluster.generation` each. A sketch keeps each partner's age (the newest generation it was
//! recorded in), exposure a count per generation; at each rotation everything grows one
//! generation older and what reaches the last is dropped (or, with `cluster.keep`, that share
//! of it stays in the oldest kept).

use super::sketch::{Sketch, Sketches};
use super::{Clusters, mix};
use crate::config::Cluster;

/// Most generations a sketch keeps.
pub const MAX_GENERATIONS: usize = 8;

/// Moves each of `slots` (newest first) `steps` generations older: the newest ones become
/// `zero`, those moved past the end are dropped, but the one moved just past it, thinned by
/// `thin`, is merged into the oldest slot kept by `merge`.
pub(super) fn shift<T: Copy>(
    slots: &mut [T],
    steps: usize,
    zero: T,
    thin: impl Fn(T) -> T,
    merge: impl Fn(T, T) -> T,
) {
    let n = slots.len();
    let thinned = (1..=n).contains(&steps).then(|| thin(slots[n - steps]));
    for g in (0..n).rev() {
        slots[g] = if g >= steps { slots[g - steps] } else { zero };
    }
    if let (Some(t), Some(last)) = (thinned, slots.last_mut()) {
        *last = merge(*last, t);
    }
}

impl Clusters {
    /// Starts a new generation every `cluster.generation`: the oldest is dropped,
    /// frequent-partner counts halve every `cluster.generations / 2` generations, empty
    /// sketches are removed.
    pub fn rotate(&mut self, now: i64, cfg: &Cluster) {
        self.now = self.now.max(now);
        if now - self.rotated < cfg.generation {
            return;
        }
        let words = cfg.sketch_bits / 64;
        let passed = (now - self.rotated) / cfg.generation;
        self.rotated += passed * cfg.generation;
        let steps = passed.min(MAX_GENERATIONS as i64 + 1) as usize;
        self.exposure.rotate(steps, cfg);
        self.seen.rotate(steps, cfg);
        self.activity.rotate(steps);
        // Which of the oldest generation's partners are kept (`cluster.keep`): the same bits
        // in every sketch, so that partners two reporters share are kept or lost together.
        let epoch = (self.rotated / cfg.generation) as u64;
        let keep = |w: usize| -> u64 {
            if cfg.keep <= 0.0 {
                return 0;
            }
            let mut m = 0u64;
            for b in 0..64 {
                let h = mix(epoch ^ ((w * 64 + b) as u64).wrapping_mul(0x9E37_79B9));
                if ((h >> 11) as f64) < cfg.keep * (1u64 << 53) as f64 {
                    m |= 1 << b;
                }
            }
            m
        };
        let masks: Vec<u64> = (0..words).map(keep).collect();
        let halve = 0.5f32.powf(passed.min(64) as f32 * 2.0 / cfg.generations as f32);
        let n = cfg.generations;
        for tier in &mut self.tiers {
            tier.sized(cfg.sketch_bits);
            let Sketches {
                by, pop, sum, held, ..
            } = tier;
            for s in by.values_mut() {
                for (w, &mask) in masks.iter().enumerate() {
                    let mut gone = s.age_word(w, steps, n, mask);
                    while gone != 0 {
                        let b = w * 64 + gone.trailing_zeros() as usize;
                        if pop[b] > 0 {
                            pop[b] -= 1;
                            *sum -= 1.0;
                            *held -= u32::from(pop[b] == 0);
                        }
                        gone &= gone - 1;
                    }
                }
                for p in &mut s.top {
                    p.1 *= halve;
                }
                s.top.retain(|p| p.1 >= 0.5);
            }
            by.retain(|_, s| !s.is_empty());
        }
        self.renormalize(cfg);
    }
}

impl Sketch {
    /// Ages the partners of word `w` by `steps` generations, of `n` kept: those reaching `n`
    /// are dropped, but those in `mask` (`cluster.keep`) stay in the oldest kept. Returns
    /// the partners dropped.
    fn age_word(&mut self, w: usize, steps: usize, n: usize, mask: u64) -> u64 {
        let words = self.all.len();
        let planes = self.age.len() / words;
        let before = self.all[w];
        for _ in 0..steps {
            let present = self.all[w];
            if present == 0 {
                break;
            }
            // Every present partner one generation older (a ripple add on the planes).
            let mut carry = present;
            for p in 0..planes {
                let x = &mut self.age[p * words + w];
                let t = *x & carry;
                *x ^= carry;
                carry = t;
            }
            // Those now `n` old (or carried past the planes, `n` being a power of two).
            let mut reached = present;
            for p in 0..planes {
                let x = self.age[p * words + w];
                reached &= if n >> p & 1 == 1 { x } else { !x };
            }
            reached |= carry;
            self.set_age(w, reached & mask, n - 1);
            let dropped = reached & !mask;
            self.all[w] &= !dropped;
            self.set_age(w, dropped, 0);
        }
        before & !self.all[w]
    }
}
