//! Per-target tallies: who reported a target within the window, and whether the rule holds.

use serde::{Deserialize, Serialize};

use crate::cluster::{Clusters, Links};
use crate::config::Rules;
use crate::trust::Reporters;

/// One reporter's report on one target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Reporter index.
    pub reporter: u32,
    /// Scenario id (the heaviest this reporter reported the target with).
    pub scenario: u16,
    /// Resolved: confirmed, charged, or neutral (after a listing); no longer pending.
    pub resolved: bool,
    /// Received after the target was listed (it may be copied from the feed), or held
    /// (`hold`: without the hold, it would have come after the listing).
    #[serde(default)]
    pub late: bool,
    /// When the consensus first received it (Unix seconds).
    pub first: i64,
    /// When the consensus last received it.
    pub last: i64,
}

/// The reports on one target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    /// At most `limits.max_reports_per_target`.
    pub reports: Vec<Report>,
    /// It was listed while these reports were gathered: later reports earn nothing.
    pub listed: bool,
    /// A seed that vouches reported it (even if it found no slot): a real attack, whose
    /// crowd counts as exposure.
    #[serde(default)]
    pub seen_by_seed: bool,
    /// The first reporters to take its slots, in order (kept once a report first lost its
    /// slot; empty before: the reports are the first ones). A full target's slots end up
    /// held by its most trusted reporters; these are who happened to see it first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub first: Vec<u32>,
    /// Established supporters recorded as partners when it settled (`cluster.settle`; 0:
    /// not recorded yet).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub settled: u16,
    /// When the rule first held for it, if it was then held rather than listed (`hold`; 0:
    /// not held).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub held_since: i64,
}

fn is_zero<T: Default + PartialEq>(n: &T) -> bool {
    *n == T::default()
}

/// The established support of a target within the window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Support {
    /// Established reporters within the window.
    pub reporters: usize,
    /// Their combined weight.
    pub weight: f64,
}

impl Support {
    /// K distinct established reporters whose weight reaches T.
    pub fn holds(&self, rules: &Rules) -> bool {
        self.reporters >= rules.min_reporters && self.weight >= rules.threshold
    }
}

/// A reporter's rank when reports compete for a target's slots: established first, then trust.
fn rank(reporters: &Reporters, i: u32) -> (bool, f32) {
    let r = reporters.get(i);
    (r.established, r.trust)
}

/// Where a new report went.
pub enum Placed {
    /// Updated this reporter's report.
    Updated,
    /// Added a report (pending).
    Added,
    /// Took the slot of another report: one that left the window, else one of a less
    /// trusted reporter.
    Replaced {
        /// Whose report it was.
        reporter: u32,
        /// It was still pending.
        pending: bool,
        /// It had left the window (unconfirmed, so charged), rather than been pushed out.
        stale: bool,
    },
    /// No slot: every report there is fresh and from a reporter at least as trusted.
    Full,
}

impl Tally {
    /// Records `reporter`'s report at `now`.
    pub fn place(
        &mut self,
        reporter: u32,
        scenario: u16,
        weights: &[f32],
        now: i64,
        reporters: &Reporters,
        rules: &Rules,
    ) -> Placed {
        if let Some(r) = self.reports.iter_mut().find(|r| r.reporter == reporter) {
            r.last = now;
            if weights[scenario as usize] > weights[r.scenario as usize] {
                r.scenario = scenario;
            }
            return Placed::Updated;
        }
        let new = Report {
            reporter,
            scenario,
            resolved: self.listed,
            late: self.listed || self.held_since != 0,
            first: now,
            last: now,
        };
        if self.reports.len() < rules.limits.max_reports_per_target {
            self.reports.push(new);
            return Placed::Added;
        }
        let cutoff = now - rules.window;
        let oldest = self
            .reports
            .iter()
            .enumerate()
            .min_by_key(|(_, r)| r.last)
            .map(|(i, r)| (i, r.last));
        let slot = match oldest {
            Some((i, last)) if last <= cutoff => Some((i, true)),
            _ => {
                let mine = rank(reporters, reporter);
                self.reports
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (i, rank(reporters, r.reporter)))
                    .min_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal))
                    .filter(|(_, theirs)| *theirs < mine)
                    .map(|(i, _)| (i, false))
            }
        };
        match slot {
            Some((i, stale)) => {
                if self.first.is_empty() {
                    self.first = self.reports.iter().map(|r| r.reporter).collect();
                }
                let old = std::mem::replace(&mut self.reports[i], new);
                Placed::Replaced {
                    reporter: old.reporter,
                    pending: !old.resolved,
                    stale,
                }
            }
            None => Placed::Full,
        }
    }

    /// The support of the reports received since `now - window`.
    pub fn support(
        &self,
        now: i64,
        rules: &Rules,
        reporters: &Reporters,
        weights: &[f32],
    ) -> Support {
        let cutoff = now - rules.window;
        let mut s = Support {
            reporters: 0,
            weight: 0.0,
        };
        for r in self.reports.iter().filter(|r| r.last > cutoff) {
            let rep = reporters.get(r.reporter);
            if rep.established {
                s.reporters += 1;
                s.weight += f64::from(rep.trust) * f64::from(weights[r.scenario as usize]);
            }
        }
        s
    }

    /// Whether the rule holds: K established reporters within the window whose weight
    /// reaches T, among which K from different co-reporting groups (linked by `links`) still
    /// weigh T.
    pub fn holds(
        &self,
        now: i64,
        rules: &Rules,
        reporters: &Reporters,
        weights: &[f32],
        (clusters, links): (&Clusters, Links),
    ) -> bool {
        if !self.support(now, rules, reporters, weights).holds(rules) {
            return false;
        }
        if !rules.cluster.enabled {
            return true;
        }
        let cutoff = now - rules.window;
        let mut supporters: Vec<(u32, f64)> = self
            .reports
            .iter()
            .filter(|r| r.last > cutoff)
            .filter_map(|r| {
                let rep = reporters.get(r.reporter);
                rep.established.then(|| {
                    let w = f64::from(rep.trust) * f64::from(weights[r.scenario as usize]);
                    (r.reporter, w)
                })
            })
            .collect();
        clusters.independent_by(
            &mut supporters,
            rules.min_reporters,
            rules.threshold,
            &rules.cluster,
            links,
        )
    }

    /// The established reporters of the whole tally, into `out` (recorded as partners when
    /// it ends).
    pub fn established(&self, reporters: &Reporters, out: &mut Vec<u32>) {
        out.clear();
        out.extend(
            self.reports
                .iter()
                .map(|r| r.reporter)
                .filter(|&r| reporters.get(r).established),
        );
    }

    /// The established reporters among the first to take its slots, into `out` (a crowd's
    /// partners: who happened to see it first, not who outranked them later).
    pub fn established_first(&self, reporters: &Reporters, out: &mut Vec<u32>) {
        if self.first.is_empty() {
            return self.established(reporters, out);
        }
        out.clear();
        out.extend(
            self.first
                .iter()
                .copied()
                .filter(|&r| reporters.get(r).established),
        );
    }

    /// The established reporters that reported it before it was listed or held, into `out`
    /// (counted as exposed to a crowd when it ends too big to record). Counting those that
    /// came during a hold made the members that scanners hit late look more exposed than
    /// they are (0.7 points of recall lost in the simulation).
    pub fn established_early(&self, reporters: &Reporters, out: &mut Vec<u32>) {
        out.clear();
        out.extend(
            self.reports
                .iter()
                .filter(|r| !r.late)
                .map(|r| r.reporter)
                .filter(|&r| reporters.get(r).established),
        );
    }

    /// The scenario that most established weight within the window reported (the entry is
    /// named after it); called only when an entry is written.
    pub fn dominant(&self, now: i64, rules: &Rules, reporters: &Reporters, weights: &[f32]) -> u16 {
        let cutoff = now - rules.window;
        let live = || {
            self.reports
                .iter()
                .filter(move |r| r.last > cutoff && reporters.get(r.reporter).established)
        };
        let mut best = (f64::MIN, 0u16);
        for r in live() {
            let w: f64 = live()
                .filter(|o| o.scenario == r.scenario)
                .map(|o| {
                    f64::from(reporters.get(o.reporter).trust)
                        * f64::from(weights[o.scenario as usize])
                })
                .sum();
            if w > best.0 || (w == best.0 && r.scenario < best.1) {
                best = (w, r.scenario);
            }
        }
        best.1
    }

    /// Pending reports that `reporter`'s report just confirmed, into `out`: all fresh ones of
    /// others if it vouches, else its own if a vouching reporter reported the target too.
    pub fn vouched(
        &self,
        reporter: u32,
        now: i64,
        rules: &Rules,
        reporters: &Reporters,
        out: &mut Vec<u32>,
    ) {
        out.clear();
        let cutoff = now - rules.window;
        let fresh = self.reports.iter().filter(|r| r.last > cutoff);
        if reporters.get(reporter).vouches {
            out.extend(
                fresh
                    .filter(|r| !r.resolved && r.reporter != reporter)
                    .map(|r| r.reporter),
            );
        } else if self
            .reports
            .iter()
            .any(|r| r.reporter == reporter && !r.resolved)
        {
            let mut others = fresh.filter(|r| r.reporter != reporter);
            if others.any(|r| reporters.get(r.reporter).vouches) {
                out.push(reporter);
            }
        }
    }

    /// Marks `reporter`'s report resolved.
    pub fn resolve(&mut self, reporter: u32) {
        if let Some(r) = self.reports.iter_mut().find(|r| r.reporter == reporter) {
            r.resolved = true;
        }
    }

    /// How long after its last report to look at it next: until it may have settled
    /// (`cluster.settle`, if not recorded yet), else until that report leaves the window.
    pub fn wait(&self, rules: &Rules) -> i64 {
        let c = &rules.cluster;
        if c.enabled && c.settle > 0 && self.settled == 0 {
            c.settle
        } else {
            rules.window
        }
    }

    /// Newest receipt time.
    pub fn newest(&self) -> i64 {
        self.reports
            .iter()
            .map(|r| r.last)
            .max()
            .unwrap_or(i64::MIN)
    }
}
