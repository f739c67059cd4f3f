//! One reporter's partners ([`Sketch`]), a tier's sketches and how popular each partner is
//! among them ([`Sketches`]), and how two sketches compare.

use std::cell::RefCell;

use foldhash::HashMap as FoldHashMap;

use super::exposure::Exposure;
use super::{Pair, SketchRecord, Tier};
use crate::config::Cluster;

/// Frequent-partner slots per reporter.
pub const TOP: usize = 16;

/// One reporter's partners.
#[derive(Debug, Clone, PartialEq)]
pub struct Sketch {
    /// Every generation's partners: what comparisons read.
    pub(super) all: Box<[u64]>,
    /// For each partner in `all`, the newest generation it was recorded in (0: the current
    /// one), bit-sliced: one plane of `all.len()` words a bit of the age, the lowest first
    /// (a generation a bitset would take `generations` planes; ages take its logarithm).
    pub(super) age: Box<[u64]>,
    /// Frequent partners and their (Misra–Gries, under-estimated) counts.
    pub(super) top: Vec<(u32, f32)>,
}

/// Planes of a [`Sketch`]'s ages for `generations` generations (ages `0..generations`).
pub(super) fn planes(generations: usize) -> usize {
    (usize::BITS - generations.saturating_sub(1).leading_zeros()) as usize
}

impl Sketch {
    pub(super) fn new(words: usize, generations: usize) -> Sketch {
        Sketch {
            all: vec![0; words].into_boxed_slice(),
            age: vec![0; planes(generations) * words].into_boxed_slice(),
            top: Vec::new(),
        }
    }

    /// Word `w` of the partners of every generation.
    #[inline]
    pub(super) fn word(&self, w: usize) -> u64 {
        self.all[w]
    }

    /// The age of the partner at bit `m` of word `w` (0 if absent).
    pub(super) fn age_of(&self, w: usize, m: u64) -> usize {
        let words = self.all.len();
        (0..self.age.len() / words)
            .filter(|p| self.age[p * words + w] & m != 0)
            .map(|p| 1 << p)
            .sum()
    }

    /// Sets the age of the partners at the bits `m` of word `w`.
    pub(super) fn set_age(&mut self, w: usize, m: u64, age: usize) {
        let words = self.all.len();
        for p in 0..self.age.len() / words {
            let x = &mut self.age[p * words + w];
            *x = if age >> p & 1 == 1 { *x | m } else { *x & !m };
        }
    }

    /// Adds `partner` (at `bit`) to the newest generation; whether the bit is new to all of
    /// them.
    pub(super) fn add(&mut self, partner: u32, bit: usize) -> bool {
        let (w, m) = (bit / 64, 1u64 << (bit % 64));
        let new = self.all[w] & m == 0;
        self.all[w] |= m;
        self.set_age(w, m, 0);
        if let Some(s) = self.top.iter_mut().find(|s| s.0 == partner) {
            s.1 += 1.0;
        } else if self.top.len() < TOP {
            self.top.push((partner, 1.0));
        } else {
            for s in &mut self.top {
                s.1 -= 1.0;
            }
            self.top.retain(|s| s.1 > 0.0);
        }
        new
    }

    pub(super) fn count(&self, partner: u32) -> f32 {
        self.top
            .iter()
            .find(|s| s.0 == partner)
            .map_or(0.0, |s| s.1)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.top.is_empty() && self.all.iter().all(|w| *w == 0)
    }
}

/// The sketches of one [`Tier`], and how popular each partner bit is among them.
#[derive(Debug, Clone, Default)]
pub(super) struct Sketches {
    pub(super) by: FoldHashMap<u32, Sketch>,
    /// Per bit: sketches that have it set (in any generation).
    pub(super) pop: Vec<u32>,
    /// Sum of `pop`.
    pub(super) sum: f64,
    /// Bits with `pop` above zero.
    pub(super) held: u32,
    /// Sum of every held bit's likelihood before it is scaled to sum to 1 (0: not counted
    /// from exposure; see [`Clusters::renormalize`]).
    pub(super) norm: f64,
    /// Sum of the likelihoods of the rare bits held (see [`Sketches::is_rare`]), as of the
    /// last scaling.
    pub(super) rare: f64,
    /// The rare bits held, as of the last scaling.
    pub(super) rare_held: u32,
    /// Per bit, as of the last scaling (or when it was first held since): its likelihood
    /// as a partner and, if it is a rare one, its [`Sketches::weight`] (0: not rare, or the
    /// rare-partner test off). Comparisons read it rather than count each bit again.
    pub(super) table: Vec<[f32; 2]>,
    /// Sketches summarized since the table last changed (see [`Sketches::summarize`]):
    /// emptied whenever the table is, an entry dropped when its sketch gains a bit.
    pub(super) summaries: RefCell<FoldHashMap<u32, Summary>>,
}

impl Sketches {
    /// `pop` sized for `bits` (recounted from the sketches if it was not).
    pub(super) fn sized(&mut self, bits: usize) {
        if self.pop.len() != bits {
            self.recount(bits);
        }
    }

    pub(super) fn recount(&mut self, bits: usize) {
        self.summaries.get_mut().clear();
        self.pop = vec![0; bits];
        self.table = vec![[0.0; 2]; bits];
        let words = bits / 64;
        for s in self.by.values() {
            for w in 0..words.min(s.all.len()) {
                let mut x = s.word(w);
                while x != 0 {
                    self.pop[w * 64 + x.trailing_zeros() as usize] += 1;
                    x &= x - 1;
                }
            }
        }
        self.sum = self.pop.iter().map(|&p| f64::from(p)).sum();
        self.held = self.pop.iter().filter(|&&p| p > 0).count() as u32;
    }

    /// One more sketch holds `bit`; whether no other did.
    pub(super) fn gained(&mut self, bit: usize) -> bool {
        let new = self.pop[bit] == 0;
        self.held += u32::from(new);
        self.pop[bit] += 1;
        self.sum += 1.0;
        new
    }

    /// Counts `bit`'s likelihood and rare weight into the table (its likelihood returned).
    pub(super) fn fill(&mut self, bit: usize, exposure: &Exposure, cfg: &Cluster) -> f64 {
        self.set(bit, self.likelihood(bit, exposure, cfg), cfg)
    }

    /// Writes `bit`'s likelihood `s` and its rare weight into the table (`s` returned).
    pub(super) fn set(&mut self, bit: usize, s: f64, cfg: &Cluster) -> f64 {
        let weight = if cfg.rare_z > 0.0 && self.is_rare(s) {
            self.weight(s)
        } else {
            0.0
        };
        if let Some(t) = self.table.get_mut(bit) {
            *t = [s as f32, weight as f32];
        }
        s
    }
}

/// One reporter's sketch in a tier, with what chance needs of it.
pub(super) struct Seen<'a> {
    pub(super) sketch: &'a Sketch,
    pub(super) summary: Summary,
}

impl std::ops::Deref for Seen<'_> {
    type Target = Summary;

    fn deref(&self) -> &Summary {
        &self.summary
    }
}

/// What chance needs of a sketch.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Summary {
    /// Bits set (in any generation).
    pub(super) bits: u32,
    /// Sum over those bits of how likely each is another's partner (see the module doc).
    pub(super) share: f64,
    /// Of those bits, the rare ones ([`Sketches::is_rare`]).
    pub(super) rare: u32,
    /// Sums over the rare bits, `s` their likelihood and `w` their [`Sketches::weight`]:
    /// `w s`, `w s²`, `w s³`, `w² s`, `w² s²` (what chance of sharing them needs).
    pub(super) moments: [f64; 5],
}

/// Most a rare partner weighs, in times an evenly likely one.
const MAX_WEIGHT: f64 = 4.0;

/// A partner is rare below this many times the mean likelihood.
const RARE_BELOW: f64 = 2.0;

/// Most of the tier's rare bits the smaller of two sketches may hold for their rare
/// partners to be compared (beyond, chance is no longer counted closely enough).
const MAX_FILL: f64 = 0.15;

impl Sketches {
    /// Bit `b`'s share of the bits held.
    pub(super) fn popular(&self, b: usize) -> f64 {
        f64::from(self.pop.get(b).copied().unwrap_or(0)) / self.sum.max(1.0)
    }

    /// Bit `b`'s likelihood before it is scaled: its share of the exposure (each bit held
    /// counted once more, so that a partner never seen in a crowd is not impossible), at most
    /// `popularity_cap` times its share of the bits held.
    pub(super) fn capped(&self, b: usize, exposure: &Exposure, cfg: &Cluster) -> f64 {
        let all = (exposure.total() + u64::from(self.held)) as f64;
        ((1 + exposure.at(b)) as f64 / all).min(cfg.popularity_cap * self.popular(b))
    }

    /// Bit `b`'s likelihood as a partner (summing to 1 over the bits held).
    pub(super) fn likelihood(&self, b: usize, exposure: &Exposure, cfg: &Cluster) -> f64 {
        if exposure.known() && self.norm > 0.0 {
            self.scaled(self.capped(b, exposure, cfg))
        } else {
            self.popular(b)
        }
    }

    /// A bit's likelihood from its [`Sketches::capped`] share, once `norm` is counted.
    pub(super) fn scaled(&self, capped: f64) -> f64 {
        capped / self.norm
    }

    /// What sharing a partner of likelihood `s` weighs: 1 for a partner as likely as the
    /// mean one, more for a rarer one (at most [`MAX_WEIGHT`]), less for a popular one.
    fn weight(&self, s: f64) -> f64 {
        (1.0 / (s * f64::from(self.held.max(1)))).min(MAX_WEIGHT)
    }

    /// Whether a partner of likelihood `s` is rare: at most [`RARE_BELOW`] times as likely
    /// as the mean. How many popular partners (a heavily exposed member) a sketch holds is
    /// bounded by how many there are, not by their likelihood: the rare ones are those
    /// whose number in a sketch grows with their likelihood, so chance is counted for them
    /// alone.
    pub(super) fn is_rare(&self, s: f64) -> bool {
        s * f64::from(self.held.max(1)) < RARE_BELOW
    }

    /// `r`'s sketch, its set bits counted and their likelihood as partners summed.
    pub(super) fn seen(&self, r: u32, words: usize) -> Option<Seen<'_>> {
        Some(self.summarize(r, self.by.get(&r)?, words))
    }

    /// `sketch` (`r`'s) with its set bits counted and their likelihood as partners summed:
    /// as summarized before if neither the table nor the sketch changed since.
    pub(super) fn summarize<'a>(&self, r: u32, sketch: &'a Sketch, words: usize) -> Seen<'a> {
        if let Some(&summary) = self.summaries.borrow().get(&r) {
            return Seen { sketch, summary };
        }
        let summary = self.summary(sketch, words);
        self.summaries.borrow_mut().insert(r, summary);
        Seen { sketch, summary }
    }

    /// `sketch`'s set bits counted and their likelihood as partners summed (nothing kept).
    pub(super) fn summary(&self, sketch: &Sketch, words: usize) -> Summary {
        let (mut bits, mut share, mut rare) = (0u32, 0.0f64, 0u32);
        let mut moments = [0.0f64; 5];
        for w in 0..words {
            let mut x = sketch.word(w);
            bits += x.count_ones();
            while x != 0 {
                let [s, weight] = self.table[w * 64 + x.trailing_zeros() as usize];
                let s = f64::from(s);
                share += s;
                // The rare partners' sums, only for the rare-partner test.
                if weight > 0.0 {
                    let weight = f64::from(weight);
                    rare += 1;
                    let ws = weight * s;
                    moments[0] += ws;
                    moments[1] += ws * s;
                    moments[2] += ws * s * s;
                    moments[3] += ws * weight;
                    moments[4] += ws * weight * s;
                }
                x &= x - 1;
            }
        }
        Summary {
            bits,
            share,
            rare,
            moments,
        }
    }

    /// Whether `a` and `b` are linked in this tier, as [`Sketches::compare`] then
    /// [`Pair::linked`] tell, but summing the sketches' likelihoods only for pairs that
    /// share enough bits to be linked by them (few do).
    pub(super) fn linked(
        &self,
        tier: Tier,
        a: (u32, &Sketch),
        b: (u32, &Sketch),
        words: usize,
        cfg: &Cluster,
    ) -> bool {
        if a.1.count(b.0).min(b.1.count(a.0)) >= cfg.min_pair {
            return true;
        }
        let shared: u32 = (0..words)
            .map(|w| (a.1.word(w) & b.1.word(w)).count_ones())
            .sum();
        if f64::from(shared) < tier.min_common(cfg) {
            return false;
        }
        let (sa, sb) = (
            self.summarize(a.0, a.1, words),
            self.summarize(b.0, b.1, words),
        );
        self.compare(tier, (a.0, &sa), (b.0, &sb), words, cfg)
            .linked(cfg)
    }

    /// How the sketches of `a` and `b` (in this tier, `tier`) compare.
    pub(super) fn compare(
        &self,
        tier: Tier,
        a: (u32, &Seen),
        b: (u32, &Seen),
        words: usize,
        cfg: &Cluster,
    ) -> Pair {
        let (sa, sb) = (a.1.sketch, b.1.sketch);
        // The rare partners are compared only while the smaller sketch holds a small share
        // of the tier's rare bits (see `rare_chance`).
        let (big, small) = if a.1.rare >= b.1.rare {
            (a.1, b.1)
        } else {
            (b.1, a.1)
        };
        let (rare_expected, rare_var) = self.rare_chance(big, small, cfg);
        let (mut both, mut weighted) = (0u32, 0.0f64);
        for w in 0..words {
            let mut x = sa.word(w) & sb.word(w);
            both += x.count_ones();
            while rare_var > 0.0 && x != 0 {
                weighted += f64::from(self.table[w * 64 + x.trailing_zeros() as usize][1]);
                x &= x - 1;
            }
        }
        // Bits shared by chance if each drew its partners independently of the other: each
        // of a's bits is among b's `nb` with that partner's likelihood, and the other way
        // round. Partners that everybody has (a heavily exposed reporter, hash collisions)
        // are expected to be shared; a coalition's own partners are not.
        let (na, nb) = (f64::from(a.1.bits), f64::from(b.1.bits));
        let expected = (nb * a.1.share + na * b.1.share) / 2.0;
        Pair {
            tier,
            co_reports: sa.count(b.0).min(sb.count(a.0)),
            partners: (a.1.bits, b.1.bits),
            shared: both,
            expected,
            rare_weighted: weighted,
            rare_expected,
            rare_var,
        }
    }

    /// The weighted rare partners two sketches would share by chance, and its variance
    /// (both 0 when not counted: `cluster.rare_z` off, or the smaller sketch holding more
    /// than [`MAX_FILL`] of the tier's rare bits). Each of the bigger sketch's rare bits is
    /// among the smaller one's with probability `1 - exp(-λ s)`, `λ` such that the smaller
    /// holds as many of the tier's rare bits as it does (taken as equally likely:
    /// `λ = -ln(1 - fill) / s̄`); summed by moments, to the third order in `λ s`.
    fn rare_chance(&self, big: &Seen, small: &Seen, cfg: &Cluster) -> (f64, f64) {
        let held = f64::from(self.rare_held);
        let fill = f64::from(small.rare) / held.max(1.0);
        if cfg.rare_z <= 0.0 || fill > MAX_FILL || self.rare <= 0.0 {
            return (0.0, 0.0);
        }
        let l = -(1.0 - fill).ln() * held / self.rare;
        let m = &big.moments;
        let expected = l * m[0] - l * l / 2.0 * m[1] + l * l * l / 6.0 * m[2];
        let var = l * m[3] - 1.5 * l * l * m[4];
        if var > 0.0 {
            (expected, var)
        } else {
            (0.0, 0.0)
        }
    }
}

/// One tier's sketches from its records.
pub(super) fn restore_tier(
    list: Vec<SketchRecord>,
    (words, generations): (usize, usize),
    max: usize,
) -> FoldHashMap<u32, Sketch> {
    let mut sketches = FoldHashMap::default();
    for (r, bits, mut top) in list.into_iter().take(max) {
        let mut s = Sketch::new(words, generations);
        // Bit `b` of generation `g` is recorded as `g * bits + b`; a partner found in
        // several generations is as old as the newest.
        for b in bits
            .into_iter()
            .map(|b| b as usize)
            .filter(|b| *b < generations * words * 64)
        {
            let (age, b) = (b / (words * 64), b % (words * 64));
            let (w, m) = (b / 64, 1u64 << (b % 64));
            if s.all[w] & m == 0 || s.age_of(w, m) > age {
                s.all[w] |= m;
                s.set_age(w, m, age);
            }
        }
        top.truncate(TOP);
        s.top = top;
        sketches.insert(r, s);
    }
    sketches
}
