//! How exposed each reporter is to attackers, counted where a coalition cannot raise it.
//!
//! A tally with at least `cluster.crowd_support` established supporters (a full tally by
//! default) is a crowd (a scanner that hit many members): it is recorded as partners in the
//! crowd tier only, and each of its supporters that reported it *before* it was listed is
//! counted here, per reporter bit, in the sketches' two generations. A second count, of the
//! same shape, takes the early supporters of every tally a seed reported too (of any size):
//! chance in the crowd tier counts that one, since a coalition's crowd pushes would make its
//! members look exposed to crowds, never to what the seeds see.
//!
//! Chance of two reporters sharing a partner counts how often that partner turns up in
//! others' sketches; a coalition's members turn up often in each other's (they push
//! together), which raised their own chance. Exposure to crowds is what they show honest
//! members, so chance counts it instead (see [`super::Clusters`]).

use crate::config::Cluster;

/// Crowd participations per reporter bit: this generation's and the previous one's.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Exposure {
    by: Vec<[u32; 2]>,
    /// Sum over both generations.
    total: u64,
}

/// A bit's participations as stored in a snapshot: bit, this generation, the previous one.
pub type ExposureRecord = (u32, u32, u32);

/// Participations needed before chance is counted from exposure (before that, from how
/// popular partners are in the sketches alone).
pub(super) const ENOUGH: u64 = 1000;

impl Exposure {
    /// Whether there is enough to count chance from.
    pub(super) fn known(&self) -> bool {
        self.total >= ENOUGH
    }

    /// All participations (both generations).
    pub(super) fn total(&self) -> u64 {
        self.total
    }

    /// Participations at `bit` (both generations).
    pub(super) fn at(&self, bit: usize) -> u64 {
        self.by
            .get(bit)
            .map_or(0, |e| u64::from(e[0]) + u64::from(e[1]))
    }

    /// One more participation at `bit`.
    pub(super) fn add(&mut self, bit: usize, cfg: &Cluster) {
        if self.by.len() != cfg.sketch_bits {
            *self = Exposure {
                by: vec![[0; 2]; cfg.sketch_bits],
                total: 0,
            };
        }
        if let Some(e) = self.by.get_mut(bit) {
            e[0] = e[0].saturating_add(1);
            self.total += 1;
        }
    }

    /// Starts a new generation: the previous one keeps `keep` of its counts on top of the
    /// current one's (0: dropped; `steps` generations passed: more than one keeps nothing of
    /// either but what `keep` leaves of the current one).
    pub(super) fn rotate(&mut self, steps: i64, keep: f64) {
        self.total = 0;
        for e in &mut self.by {
            let older = (f64::from(e[1]) * keep) as u32;
            *e = if steps == 1 {
                [0, e[0].saturating_add(older)]
            } else {
                [0, (f64::from(e[0]) * keep) as u32]
            };
            self.total += u64::from(e[1]);
        }
    }

    /// The bits with participations, for a snapshot.
    pub(super) fn records(&self) -> Vec<ExposureRecord> {
        self.by
            .iter()
            .enumerate()
            .filter(|(_, e)| e[0] | e[1] != 0)
            .map(|(b, e)| (b as u32, e[0], e[1]))
            .collect()
    }

    /// From [`Exposure::records`] (bits beyond `bits` dropped).
    pub(super) fn from_records(list: &[ExposureRecord], bits: usize) -> Exposure {
        let mut e = Exposure::default();
        if list.is_empty() {
            return e;
        }
        e.by = vec![[0; 2]; bits];
        for &(b, now, before) in list {
            if let Some(slot) = e.by.get_mut(b as usize) {
                *slot = [now, before];
            }
        }
        e.total = e.by.iter().map(|x| u64::from(x[0]) + u64::from(x[1])).sum();
        e
    }
}
