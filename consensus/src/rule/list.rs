//! Listing a target: into the feed, its pending reports confirmed; and the targets held
//! (`hold`) listed once their time has come, if the rule still holds.
//!
//! Holding gives the rule time to learn who is pushing: listed at once, a coalition's first
//! pushes of innocent addresses would be, since nothing yet tells its members from honest
//! ones (each has taken part in half a push in its first half hour); hours later its
//! members stand out, busy alone or together ([`crate::cluster`]), and its held pushes
//! count as fewer than K when they are looked at again.

use super::*;
use crate::cluster::Links;

impl Consensus {
    /// Lists `t` (its tally must exist and the rule hold as of `since`): its pending
    /// reports within the window at `since` are confirmed. False when the feed is full.
    pub(super) fn list(&mut self, t: Target, now: i64, since: i64) -> bool {
        let rules = &self.rules;
        let Some(tally) = self.tallies.get_mut(&t) else {
            return false;
        };
        let sc = tally.dominant(now, rules, &self.reporters, &self.scenarios.weights);
        if !self.feed.add(
            t,
            sc,
            now,
            now + rules.entry_ttl,
            rules.limits.max_feed_entries,
        ) {
            self.stats.feed_full += 1;
            return false;
        }
        tally.listed = true;
        let cutoff = since - rules.window;
        for r in tally.reports.iter_mut().filter(|r| !r.resolved) {
            r.resolved = true;
            let rep = self.reporters.get_mut(r.reporter);
            rep.pending = rep.pending.saturating_sub(1);
            if r.last > cutoff {
                self.reporters.confirm(r.reporter, rules);
                self.stats.confirmed += 1;
            }
        }
        true
    }

    /// Looks again at the targets whose hold ended by `now`: listed if the rule still holds
    /// with the reports that were within the window when it first held (and those since),
    /// who is busy being looked at again. One that does not stays unlisted, and is listed by
    /// the first report after which the rule holds again.
    pub(super) fn list_held(&mut self, now: i64) {
        while let Some(&Reverse((at, t))) = self.held.peek() {
            if at > now {
                break;
            }
            self.held.pop();
            let Some(tally) = self.tallies.get(&t) else {
                continue;
            };
            if tally.listed || tally.held_since == 0 || self.feed.get_active(&t).is_some() {
                continue;
            }
            let weights = &self.scenarios.weights;
            let since = tally.held_since;
            if tally.holds(
                since,
                &self.rules,
                &self.reporters,
                weights,
                (&self.clusters, Links::Busy),
            ) && self.list(t, now, since)
            {
                self.stats.listed += 1;
            }
        }
    }
}
