//! [`Consensus`]: taking reports, moving time, answering pulls.

use std::hash::BuildHasher;

use foldhash::fast::FixedState;

use super::*;
use crate::cluster::Links;

impl Consensus {
    /// An empty consensus at `now` with the operator's seeds.
    pub fn new(rules: Rules, allow: Allowlist, now: i64) -> Consensus {
        let scenarios = Scenarios::new(&rules, &[]);
        let mut reporters = Reporters::from_records(Vec::new(), now, &rules);
        for (id, credit) in &rules.seeds {
            reporters.seed(id, *credit, now, &rules);
        }
        Consensus {
            rules,
            allow,
            reporters,
            clusters: Clusters::new(now),
            scenarios,
            tallies: FoldHashMap::default(),
            deadlines: BinaryHeap::new(),
            held: BinaryHeap::new(),
            feed: Feed::default(),
            now,
            stats: Stats::default(),
            scratch: Vec::new(),
        }
    }

    /// The rule in force.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The latest time seen.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The reporters.
    pub fn reporters(&self) -> &Reporters {
        &self.reporters
    }

    /// The feed.
    pub fn feed(&self) -> &Feed {
        &self.feed
    }

    /// Targets being tallied.
    pub fn tallied(&self) -> usize {
        self.tallies.len()
    }

    /// Whether `t` is in the feed.
    pub fn is_listed(&self, t: &Target) -> bool {
        self.feed.get_active(t).is_some()
    }

    /// Checks and parses a wire signal, then [observes](Consensus::observe) it at `now`.
    pub fn observe_signal(&mut self, s: &Signal, now: i64) -> Result<Outcome, Rejected> {
        s.check()?;
        let target = Target::parse(&s.scope, &s.value)?;
        parse_rfc3339(&s.first_seen).ok_or(Rejected::Time("first_seen"))?;
        let last_seen = parse_rfc3339(&s.last_seen).ok_or(Rejected::Time("last_seen"))?;
        self.observe(
            Observation {
                reporter: &s.reporter,
                scenario: &s.scenario,
                target,
                last_seen,
            },
            now,
        )
    }

    /// Tallies one report received at `now`.
    pub fn observe(&mut self, obs: Observation<'_>, now: i64) -> Result<Outcome, Rejected> {
        self.advance(now);
        let now = self.now;
        if obs.last_seen > now + MAX_SKEW_SECS {
            return Err(Rejected::Future);
        }
        self.stats.reports += 1;
        let out = self.tally(obs, now);
        match out {
            Outcome::Allowlisted => self.stats.allowlisted += 1,
            Outcome::Reserved => self.stats.reserved += 1,
            Outcome::Stale => self.stats.stale += 1,
            Outcome::Refused(_) => self.stats.refused += 1,
            Outcome::Listed => self.stats.listed += 1,
            Outcome::Counted => {}
        }
        Ok(out)
    }

    fn tally(&mut self, obs: Observation<'_>, now: i64) -> Outcome {
        let rules = &self.rules;
        if obs.last_seen <= now - rules.window {
            return Outcome::Stale;
        }
        let t = obs.target;
        let min_prefix = if t.is_v6() {
            rules.min_range_prefix_v6
        } else {
            rules.min_range_prefix_v4
        };
        if t.prefix() < min_prefix {
            return Outcome::Refused(Refusal::RangeTooWide);
        }
        if t.is_reserved() {
            return Outcome::Reserved;
        }
        let Some(rep) =
            self.reporters
                .get_or_insert(obs.reporter, now, rules.limits.max_reporters, rules)
        else {
            return Outcome::Refused(Refusal::TooManyReporters);
        };
        if self.allow.overlaps(&t) {
            self.reporters.charge(rep, rules.allowlist_penalty, rules);
            return Outcome::Allowlisted;
        }
        if self.reporters.get(rep).pending >= rules.limits.max_pending_per_reporter {
            return Outcome::Refused(Refusal::ReporterBudget);
        }
        let scenario = self.scenarios.intern(obs.scenario, rules);
        let n = self.tallies.len();
        let tally = match self.tallies.entry(t) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => {
                // The last quarter of the table is kept for established reporters: a flood of
                // new reporters cannot crowd out the tallies of real attackers.
                let room = if self.reporters.get(rep).established {
                    rules.limits.max_targets
                } else {
                    rules.limits.max_targets - rules.limits.max_targets / 4
                };
                if n >= room {
                    return Outcome::Refused(Refusal::TooManyTargets);
                }
                let tally = v.insert(Tally::default());
                self.deadlines.push(Reverse((now + tally.wait(rules), t)));
                tally
            }
        };
        tally.seen_by_seed |= self.reporters.get(rep).vouches;
        let weights = &self.scenarios.weights;
        match tally.place(rep, scenario, weights, now, &self.reporters, rules) {
            Placed::Updated => {}
            Placed::Added => {
                if !tally.listed {
                    self.reporters.get_mut(rep).pending += 1;
                }
            }
            Placed::Replaced {
                reporter: old,
                pending,
                stale,
            } => {
                if !tally.listed {
                    self.reporters.get_mut(rep).pending += 1;
                }
                if pending {
                    let o = self.reporters.get_mut(old);
                    o.pending = o.pending.saturating_sub(1);
                    if stale {
                        // It left the window unconfirmed, as if its tally had ended.
                        self.reporters.charge(old, rules.unconfirmed_cost, rules);
                        self.stats.unconfirmed += 1;
                    }
                }
            }
            Placed::Full => return Outcome::Refused(Refusal::TargetFull),
        }
        if !tally.listed {
            // The operator's sensors vouch for what they also saw.
            tally.vouched(rep, now, rules, &self.reporters, &mut self.scratch);
            for &r in &self.scratch {
                tally.resolve(r);
                let p = self.reporters.get_mut(r);
                p.pending = p.pending.saturating_sub(1);
                self.reporters.confirm(r, rules);
                self.stats.confirmed += 1;
            }
        }
        let ttl = rules.entry_ttl;
        if let Some(e) = self.feed.get_active(&t) {
            // Listed: extend while the rule holds, by steps (each step is sent to pullers).
            let step = (ttl / 8).max(60);
            if now + ttl >= e.until + step
                && tally.holds(
                    now,
                    rules,
                    &self.reporters,
                    weights,
                    (&self.clusters, Links::All),
                )
            {
                let sc = tally.dominant(now, rules, &self.reporters, weights);
                self.feed.extend(&t, sc, now + ttl, step);
            }
            return Outcome::Counted;
        }
        // Held (`hold`): looked at again when the hold ends (`list_held`), not at each report
        // before; after it, only who is busy is (its own supporters have become each other's
        // partners since). What a seed reported too is not held.
        let links = if tally.held_since == 0 {
            Links::All
        } else {
            Links::Busy
        };
        let holding =
            tally.held_since != 0 && now < tally.held_since + rules.hold && !tally.seen_by_seed;
        if holding
            || !self.reporters.get(rep).established
            || !tally.holds(
                now,
                rules,
                &self.reporters,
                weights,
                (&self.clusters, links),
            )
        {
            return Outcome::Counted;
        }
        if rules.hold > 0 && tally.held_since == 0 && !tally.seen_by_seed {
            tally.held_since = now;
            self.held.push(Reverse((now + rules.hold, t)));
            self.stats.held += 1;
            return Outcome::Counted;
        }
        if self.list(t, now, now) {
            Outcome::Listed
        } else {
            Outcome::Counted
        }
    }

    /// Moves time to `now`: tallies whose reports all left the window are dropped (their
    /// unresolved reports charged), feed entries past their end leave, trust decays hourly.
    pub fn advance(&mut self, now: i64) {
        if now <= self.now {
            return;
        }
        self.now = now;
        self.list_held(now);
        let rules = &self.rules;
        while let Some(&Reverse((at, t))) = self.deadlines.peek() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            let Some(tally) = self.tallies.get_mut(&t) else {
                continue;
            };
            let newest = tally.newest();
            let salt = || FixedState::with_seed(0).hash_one(t);
            if newest + rules.window > now {
                let mut next = newest + tally.wait(rules);
                if next <= now {
                    // Quiet for `cluster.settle` (only then is it due before the window
                    // ends): its established supporters become partners now, not only when
                    // it ends.
                    let n = record_partners(
                        tally,
                        0,
                        salt(),
                        (&self.reporters, &mut self.clusters, &mut self.scratch),
                        rules,
                    );
                    if n >= rules.min_reporters
                        && crate::cluster::Tier::of(n, &rules.cluster).is_some()
                    {
                        tally.settled = n as u16;
                    }
                    next = newest + rules.window;
                }
                self.deadlines.push(Reverse((next, t)));
                continue;
            }
            let Some(tally) = self.tallies.remove(&t) else {
                continue;
            };
            if rules.cluster.enabled {
                // Its established supporters become each other's partners (again if more
                // came after it settled).
                let salt = salt();
                let n = record_partners(
                    &tally,
                    tally.settled.into(),
                    salt,
                    (&self.reporters, &mut self.clusters, &mut self.scratch),
                    rules,
                );
                let crowd = n >= rules.cluster.crowd_support;
                if crowd && rules.cluster.crowd_tier {
                    tally.established_first(&self.reporters, &mut self.scratch);
                    self.clusters.record_in(
                        crate::cluster::Tier::Crowd,
                        &self.scratch,
                        salt,
                        &rules.cluster,
                        rules.limits.max_sketches,
                    );
                }
                // Who saw it early is exposed: to a crowd (chance in the other tiers), and
                // to a real attack if a seed saw it too (chance in the crowd tier: a
                // coalition's pushes, crowds or not, are never seen by a seed).
                if crowd || tally.seen_by_seed {
                    tally.established_early(&self.reporters, &mut self.scratch);
                    if crowd {
                        self.clusters.exposed(&self.scratch, &rules.cluster);
                    }
                    if tally.seen_by_seed {
                        self.clusters.seen(&self.scratch, &rules.cluster);
                    }
                }
            }
            for r in tally.reports.iter().filter(|r| !r.resolved) {
                let rep = self.reporters.get_mut(r.reporter);
                rep.pending = rep.pending.saturating_sub(1);
                self.reporters
                    .charge(r.reporter, rules.unconfirmed_cost, rules);
                self.stats.unconfirmed += 1;
            }
        }
        self.clusters.rotate(now, &rules.cluster);
        self.stats.expired += self.feed.expire(now, rules.limits.tombstone_retention) as u64;
        if now - self.reporters.last_decay() >= DECAY_EVERY {
            self.reporters.decay(now, rules);
        }
    }

    /// What a puller at `cursor` is sent (`None`: its first pull).
    pub fn pull(&self, cursor: Option<u64>) -> Pull {
        let d = self.feed.delta(cursor);
        let item = |e: &FeedEntry| FeedItem {
            target: e.target,
            scenario: format!(
                "{}:{}",
                self.rules.feed_scenario, self.scenarios.names[e.scenario as usize]
            ),
            until: e.until,
        };
        Pull {
            cursor: d.cursor,
            startup: d.startup,
            new: d.new.into_iter().map(item).collect(),
            deleted: d.deleted.into_iter().map(item).collect(),
        }
    }

    /// Whether reporters `a` and `b` are linked by co-reporting (`false` if either is unknown).
    pub fn linked(&self, a: &str, b: &str) -> bool {
        match (self.reporters.find(a), self.reporters.find(b)) {
            (Some(a), Some(b)) => self.clusters.linked(a, b, &self.rules.cluster),
            _ => false,
        }
    }

    /// How reporters `a` and `b`'s co-reporting sketches of `tier` compare (`None`: one has
    /// none there).
    pub fn co_reporting(
        &self,
        a: &str,
        b: &str,
        tier: crate::cluster::Tier,
    ) -> Option<crate::cluster::Pair> {
        let (a, b) = (self.reporters.find(a)?, self.reporters.find(b)?);
        self.clusters.pair(a, b, tier, &self.rules.cluster)
    }

    /// Co-reporting sketches (a reporter has one in each tier it was recorded in).
    pub fn sketched(&self) -> usize {
        self.clusters.len()
    }

    /// Reporter `id`'s small tallies in the generations kept, what its history predicts for
    /// them (0: too little history), and how many standard deviations beyond its history it
    /// is in the tier and window where it is most (see `cluster.busy_z`; `None` inside: too
    /// little history; outside: unknown reporter).
    pub fn activity(&self, id: &str) -> Option<(f64, f64, Option<f64>)> {
        self.reporters
            .find(id)
            .map(|i| self.clusters.activity_of(i, &self.rules.cluster))
    }

    /// The trust of reporter `id` and whether it counts towards K (`None`: unknown).
    pub fn standing(&self, id: &str) -> Option<(f32, bool)> {
        self.reporters.find(id).map(|i| {
            let r = self.reporters.get(i);
            (r.trust, r.established)
        })
    }
}

/// Records `tally`'s established supporters (into `scratch`) as each other's partners, in the
/// tier of their number, if they are at least K and more than `after` (those recorded when
/// it settled); returns how many they are.
fn record_partners(
    tally: &Tally,
    after: usize,
    salt: u64,
    (reporters, clusters, scratch): (&Reporters, &mut Clusters, &mut Vec<u32>),
    rules: &Rules,
) -> usize {
    tally.established(reporters, scratch);
    let n = scratch.len();
    if n >= rules.min_reporters && n > after {
        clusters.record(scratch, salt, &rules.cluster, rules.limits.max_sketches);
        if after == 0 {
            clusters.small(scratch, &rules.cluster, rules.limits.max_sketches);
        }
    }
    n
}
