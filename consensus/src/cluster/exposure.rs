//! How exposed each reporter is to attackers, counted where a coalition cannot raise it.
//!
//! A tally with at least `cluster.crowd_support` established supporters (a full tally by
//! default) is a crowd (a scanner that hit many members): it is recorded as partners in the
//! crowd tier only, and each of its supporters that reported it *before* it was listed is
//! counted here, per reporter bit, in the sketches' generations. A second count, of the
//! same shape, takes the early supporters of every tally a seed reported too (of any size):
//! chance in the crowd tier counts that one, since a coalition's crowd pushes would make its
//! members look exposed to crowds, never to what the seeds see.
//!
//! Chance of two reporters sharing a partner counts how often that partner turns up in
//! others' sketches; a coalition's members turn up often in each other's (they push
//! together), which raised their own chance. Exposure to crowds is what they show honest
//! members, so chance counts it instead (see [`super::Clusters`]).

use super::rotate::shift;
use crate::config::Cluster;

/// Crowd participations per reporter bit, in each generation (newest first).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Exposure {
    /// `generations` counts a bit.
    by: Vec<u32>,
    generations: usize,
    /// Sum over every generation.
    total: u64,
}

/// A bit's participations as stored in a snapshot: the bit, then its count in each
/// generation, newest first.
pub type ExposureRecord = Vec<u32>;

/// Participations needed before chance is counted from exposure (before that, from how
/// popular partners are in the sketches alone).
pub(super) const ENOUGH: u64 = 1000;

impl Exposure {
    /// Whether there is enough to count chance from.
    pub(super) fn known(&self) -> bool {
        self.total >= ENOUGH
    }

    /// All participations (every generation).
    pub(super) fn total(&self) -> u64 {
        self.total
    }

    /// Participations at `bit` (every generation).
    pub(super) fn at(&self, bit: usize) -> u64 {
        let g = self.generations;
        self.by
            .get(bit * g..(bit + 1) * g)
            .map_or(0, |e| e.iter().map(|&x| u64::from(x)).sum())
    }

    fn sized(cfg: &Cluster) -> Exposure {
        Exposure {
            by: vec![0; cfg.sketch_bits * cfg.generations],
            generations: cfg.generations,
            total: 0,
        }
    }

    /// One more participation at `bit`.
    pub(super) fn add(&mut self, bit: usize, cfg: &Cluster) {
        if self.generations != cfg.generations || self.by.len() != cfg.sketch_bits * cfg.generations
        {
            *self = Exposure::sized(cfg);
        }
        if let Some(e) = self.by.get_mut(bit * self.generations) {
            *e = e.saturating_add(1);
            self.total += 1;
        }
    }

    /// Moves every count `steps` generations older: the oldest dropped, but `cluster.keep`
    /// of the one moved just past the end added to the oldest kept (see [`super::rotate`]).
    pub(super) fn rotate(&mut self, steps: usize, cfg: &Cluster) {
        self.total = 0;
        if self.generations == 0 {
            return;
        }
        for e in self.by.chunks_exact_mut(self.generations) {
            shift(
                e,
                steps,
                0,
                |x| (f64::from(x) * cfg.keep) as u32,
                u32::saturating_add,
            );
            self.total += e.iter().map(|&x| u64::from(x)).sum::<u64>();
        }
    }

    /// The bits with participations, for a snapshot.
    pub(super) fn records(&self) -> Vec<ExposureRecord> {
        if self.generations == 0 {
            return Vec::new();
        }
        self.by
            .chunks_exact(self.generations)
            .enumerate()
            .filter(|(_, e)| e.iter().any(|&x| x != 0))
            .map(|(b, e)| std::iter::once(b as u32).chain(e.iter().copied()).collect())
            .collect()
    }

    /// From [`Exposure::records`] (bits beyond `cluster.sketch_bits` dropped, and
    /// generations beyond `cluster.generations`).
    pub(super) fn from_records(list: &[ExposureRecord], cfg: &Cluster) -> Exposure {
        if list.is_empty() {
            return Exposure::default();
        }
        let mut e = Exposure::sized(cfg);
        let g = e.generations;
        for rec in list {
            let Some((&b, counts)) = rec.split_first() else {
                continue;
            };
            if let Some(slots) = e.by.get_mut(b as usize * g..(b as usize + 1) * g) {
                for (slot, &c) in slots.iter_mut().zip(counts) {
                    *slot = c;
                }
            }
        }
        e.total = e.by.iter().map(|&x| u64::from(x)).sum();
        e
    }
}
