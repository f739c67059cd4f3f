//! Reporters and their trust: a Beta estimate of how often their reports are confirmed, with
//! a prior that new reporters start from and a half-life so that old behaviour fades.

use foldhash::HashMap as FoldHashMap;
use serde::{Deserialize, Serialize};

use crate::config::Rules;

/// One reporter's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reporter {
    /// Its pseudonymous id.
    pub id: Box<str>,
    /// Confirmed reports (decayed).
    pub confirmed: f64,
    /// Unconfirmed reports and allowlist penalties (decayed).
    pub unconfirmed: f64,
    /// Reports not yet resolved (the budget of [`crate::config::Limits`]).
    pub pending: u32,
    /// When it was first seen (Unix seconds).
    pub joined: i64,
    /// The operator's credit already given (see [`Reporters::seed`]).
    #[serde(default)]
    pub seeded: f64,
    /// Cached [`Rules::trust`].
    #[serde(skip)]
    pub trust: f32,
    /// Cached: counts towards K.
    #[serde(skip)]
    pub established: bool,
    /// Cached: a seed in good standing, whose reports confirm others' (see `docs/consensus.md`).
    #[serde(skip)]
    pub vouches: bool,
}

/// Every known reporter, by dense index.
#[derive(Debug, Clone, Default)]
pub struct Reporters {
    ids: FoldHashMap<Box<str>, u32>,
    list: Vec<Reporter>,
    last_decay: i64,
}

impl Reporters {
    /// Rebuilds the index from stored records (caches recomputed with `rules`).
    pub fn from_records(records: Vec<Reporter>, last_decay: i64, rules: &Rules) -> Reporters {
        let mut r = Reporters {
            ids: FoldHashMap::default(),
            list: records,
            last_decay,
        };
        for i in 0..r.list.len() {
            r.ids.insert(r.list[i].id.clone(), i as u32);
            r.refresh(i as u32, rules);
        }
        r
    }

    /// The records, for a snapshot.
    pub fn records(&self) -> &[Reporter] {
        &self.list
    }

    /// When counts were last decayed.
    pub fn last_decay(&self) -> i64 {
        self.last_decay
    }

    /// The index of `id`, if known.
    pub fn find(&self, id: &str) -> Option<u32> {
        self.ids.get(id).copied()
    }

    /// The index of `id`, adding it (as a new reporter) unless `max` are known already.
    pub fn get_or_insert(&mut self, id: &str, now: i64, max: usize, rules: &Rules) -> Option<u32> {
        if let Some(&i) = self.ids.get(id) {
            return Some(i);
        }
        if self.list.len() >= max {
            return None;
        }
        let i = self.list.len() as u32;
        self.list.push(Reporter {
            id: id.into(),
            confirmed: 0.0,
            unconfirmed: 0.0,
            pending: 0,
            joined: now,
            seeded: 0.0,
            trust: 0.0,
            established: false,
            vouches: false,
        });
        self.ids.insert(id.into(), i);
        self.refresh(i, rules);
        Some(i)
    }

    /// The record at `i`.
    pub fn get(&self, i: u32) -> &Reporter {
        &self.list[i as usize]
    }

    /// The record at `i`, mutably (call [`Reporters::refresh`] after changing counts).
    pub fn get_mut(&mut self, i: u32) -> &mut Reporter {
        &mut self.list[i as usize]
    }

    /// Number of reporters.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether none is known.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Recomputes the cached trust and standing of reporter `i`.
    pub fn refresh(&mut self, i: u32, rules: &Rules) {
        let r = &mut self.list[i as usize];
        let trust = rules.trust(r.confirmed, r.unconfirmed);
        r.trust = trust as f32;
        r.established = r.confirmed >= rules.min_confirmed && trust >= rules.min_trust;
        r.vouches = rules.seeds_vouch && r.seeded > 0.0 && r.established;
    }

    /// A report of `i` was confirmed.
    pub fn confirm(&mut self, i: u32, rules: &Rules) {
        self.list[i as usize].confirmed += 1.0;
        self.refresh(i, rules);
    }

    /// `amount` unconfirmed reports charged to `i`.
    pub fn charge(&mut self, i: u32, amount: f64, rules: &Rules) {
        self.list[i as usize].unconfirmed += amount;
        self.refresh(i, rules);
    }

    /// Gives `id` the operator's credit of `confirmed` reports, once: a restart does not
    /// credit it again, a larger credit adds the difference, and what it lost by lying stays.
    pub fn seed(&mut self, id: &str, confirmed: f64, now: i64, rules: &Rules) {
        if let Some(i) = self.get_or_insert(id, now, usize::MAX, rules) {
            let r = &mut self.list[i as usize];
            if r.seeded < confirmed {
                r.confirmed += confirmed - r.seeded;
                r.seeded = confirmed;
            }
            self.refresh(i, rules);
        }
    }

    /// Decays every count by the half-life for the time since the last decay (called about
    /// hourly: standing changes by decay are at most that late).
    pub fn decay(&mut self, now: i64, rules: &Rules) {
        let dt = now - self.last_decay;
        if dt <= 0 {
            return;
        }
        let f = 0.5f64.powf(dt as f64 / rules.half_life as f64);
        for i in 0..self.list.len() {
            let r = &mut self.list[i];
            r.confirmed *= f;
            r.unconfirmed *= f;
            self.refresh(i as u32, rules);
        }
        self.last_decay = now;
    }
}
