//! Co-reporting clusters in the rule: an established coalition is stopped, a crowd is not.

use super::attack_tests::{T0, ip, report};
use super::*;
use crate::cluster::Tier;
use crate::config::{ConsensusConfig, SeedConfig};

const HOUR: i64 = 3600;

/// `n` seeds named `r0`.. (established from the start), the default rule.
pub(super) fn crowd(n: usize) -> Consensus {
    let cfg = ConsensusConfig {
        seeds: (0..n)
            .map(|i| SeedConfig {
                reporter: format!("r{i}"),
                confirmed: 20.0,
            })
            .collect(),
        ..ConsensusConfig::default()
    };
    Consensus::new(cfg.validate().unwrap(), Allowlist::default(), T0)
}

/// SplitMix64 picks of `k` distinct reporters among `from..from + n`.
pub(super) fn pick(state: &mut u64, from: usize, n: usize, k: usize) -> Vec<String> {
    let mut out: Vec<usize> = Vec::with_capacity(k);
    while out.len() < k {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        let r = from + ((u128::from(z ^ (z >> 31)) * n as u128) >> 64) as usize;
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out.into_iter().map(|r| format!("r{r}")).collect()
}

/// `c` written to a snapshot (as JSON) and restored under the same rules.
pub(super) fn restarted(c: &Consensus) -> Consensus {
    let json = serde_json::to_string(&c.snapshot()).unwrap();
    let back = serde_json::from_str(&json).unwrap();
    Consensus::restore(c.rules().clone(), Allowlist::default(), back, c.now()).unwrap()
}

#[test]
fn a_coalition_of_k_established_colluders_pushing_together_is_stopped() {
    let mut c = crowd(3);
    let coalition = ["r0", "r1", "r2"];
    // One push an hour by the same three: the first ones list (nothing tells them from an
    // attacker only they saw); once three pushes have settled (an hour without a report,
    // `cluster.settle`), they are linked.
    let mut listed = Vec::new();
    for k in 0..24 {
        let at = T0 + k * HOUR;
        let target = format!("45.140.0.{}", k + 1);
        for r in coalition {
            report(&mut c, r, &target, at);
        }
        listed.push(c.is_listed(&ip(&target)));
    }
    assert!(listed[..3].iter().all(|l| *l), "{listed:?}");
    let first_stopped = listed.iter().position(|l| !l).unwrap();
    assert!(first_stopped <= 4, "stopped after {first_stopped} pushes");
    assert!(listed[first_stopped..].iter().all(|l| !l), "{listed:?}");
    assert!(c.linked("r0", "r1"));
    // A restart remembers it.
    let json = serde_json::to_string(&c.snapshot()).unwrap();
    let back = serde_json::from_str(&json).unwrap();
    let r = Consensus::restore(c.rules().clone(), Allowlist::default(), back, c.now()).unwrap();
    assert!(r.linked("r0", "r1") && !r.linked("r0", "nobody"));
    assert_eq!(r.sketched(), c.sketched());
    // Their pushes (three supporters) are in the tight tier; a snapshot written before the
    // tiers (no `clusters_tight`) restores, with the wide tier only.
    let tight = c.co_reporting("r0", "r1", Tier::Tight).unwrap();
    assert!(tight.linked(&c.rules().cluster), "{tight:?}");
    assert!(c.co_reporting("r0", "r1", Tier::Wide).is_none());
    let mut old: serde_json::Value = serde_json::from_str(&json).unwrap();
    old.as_object_mut()
        .unwrap()
        .remove("clusters_tight")
        .unwrap();
    let old = serde_json::from_value(old).unwrap();
    let r = Consensus::restore(c.rules().clone(), Allowlist::default(), old, c.now()).unwrap();
    assert!(!r.linked("r0", "r1") && r.sketched() == 0);
    // The coalition counts as one: with two independent established reporters, it lists.
    let mut c2 = crowd(5);
    for k in 0..20 {
        for r in coalition {
            report(&mut c2, r, &format!("45.140.0.{}", k + 1), T0 + k * HOUR);
        }
    }
    let at = T0 + 20 * HOUR;
    for r in ["r0", "r1", "r2"] {
        report(&mut c2, r, "45.141.0.1", at);
    }
    assert!(!c2.is_listed(&ip("45.141.0.1")));
    assert_eq!(
        report(&mut c2, "r3", "45.141.0.1", at + 1),
        Outcome::Counted
    );
    assert_eq!(report(&mut c2, "r4", "45.141.0.1", at + 2), Outcome::Listed);
}

/// `members` established colluders push an address an hour (`net`.1, `net`.2, …), all of them each
/// time, for `hours` hours: the first `first` pushes are listed (nothing is linked before they
/// are recorded: an hour after, or when they end for crowds), none from `stopped_from` on; they are linked in `tier` (the tier of their number);
/// a restart remembers it, a snapshot without `field` (written before the tier) restores
/// without it, and with `off` applied to the rule (the tier off) every push is listed.
fn a_fixed_group_is_stopped_in(
    tier: Tier,
    (members, net): (usize, &str),
    (hours, first, stopped_from): (i64, usize, usize),
    field: &str,
    off: impl Fn(&mut crate::config::Rules),
) {
    let pushes = |c: &mut Consensus| -> Vec<bool> {
        (0..hours)
            .map(|k| {
                let target = format!("{net}.{}", k + 1);
                for r in 0..members {
                    report(c, &format!("r{r}"), &target, T0 + k * HOUR);
                }
                c.is_listed(&ip(&target))
            })
            .collect()
    };
    let mut c = crowd(members);
    let listed = pushes(&mut c);
    assert!(listed[..first].iter().all(|l| *l), "{listed:?}");
    assert!(listed[stopped_from..].iter().all(|l| !l), "{listed:?}");
    let pair = c.co_reporting("r0", "r1", tier).unwrap();
    assert!(pair.linked(&c.rules().cluster), "{pair:?}");
    let others = Tier::ALL.into_iter().filter(|&t| t != tier);
    assert!(
        others
            .into_iter()
            .all(|t| c.co_reporting("r0", "r1", t).is_none())
    );
    let json = serde_json::to_string(&c.snapshot()).unwrap();
    let back = serde_json::from_str(&json).unwrap();
    let r = Consensus::restore(c.rules().clone(), Allowlist::default(), back, c.now()).unwrap();
    assert!(r.linked("r0", "r1") && r.sketched() == c.sketched());
    let mut old: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(old.as_object_mut().unwrap().remove(field).is_some());
    let old = serde_json::from_value(old).unwrap();
    let r = Consensus::restore(c.rules().clone(), Allowlist::default(), old, c.now()).unwrap();
    assert!(!r.linked("r0", "r1") && r.sketched() == 0);
    let mut rules = c.rules().clone();
    off(&mut rules);
    let mut without = Consensus::new(rules, Allowlist::default(), T0);
    let listed = pushes(&mut without);
    assert!(listed.iter().all(|l| *l), "{listed:?}");
}

#[test]
fn a_coalition_pushing_with_more_members_than_the_wide_tier_is_stopped_in_the_broad_tier() {
    // Ten: more than `cluster.max_support` (8).
    a_fixed_group_is_stopped_in(
        Tier::Broad,
        (10, "45.142.0"),
        (30, 3, 5),
        "clusters_broad",
        |r| r.cluster.broad_support = 0,
    );
}

#[test]
fn a_coalition_pushing_full_tallies_is_stopped_in_the_crowd_tier() {
    // Sixteen: full tallies (`limits.max_reports_per_target`), crowds. Sixteen members share
    // at most 14 partners, fewer than `cluster.crowd_min_common`: a fixed group is linked as
    // frequent partners (each records 4 of the 15 others a push), once nearly every pair
    // has met 3 times.
    a_fixed_group_is_stopped_in(
        Tier::Crowd,
        (16, "45.143.0"),
        (48, 12, 40),
        "clusters_crowd",
        |r| r.cluster.crowd_tier = false,
    );
}

#[test]
fn k_honest_reporters_drawn_from_a_crowd_still_list_and_a_random_coalition_does_not() {
    // 400 established reporters; r0..r40 collude. Each hour, 40 rare attackers are reported by
    // 3 of anyone, and 4 innocent addresses are pushed by 4 colluders drawn at random.
    // Recall is over the attackers no two colluders reported (one reported by two of them is,
    // rightly, one independent reporter short once the coalition is linked).
    let mut c = crowd(400);
    let mut state = 1;
    let (mut honest, mut pushed) = ((0, 0), (0, 0));
    let colluder = |r: &String| r[1..].parse::<usize>().unwrap() < 40;
    for h in 0..72 {
        let at = T0 + h * HOUR;
        for a in 0..40 {
            let target = format!("45.{}.{}.{}", 150 + h / 24, h % 24, a + 1);
            let reporters = pick(&mut state, 0, 400, 3);
            for (i, r) in reporters.iter().enumerate() {
                report(&mut c, r, &target, at + i as i64 * 60);
            }
            if h >= 48 && reporters.iter().filter(|r| colluder(r)).count() < 2 {
                honest.0 += usize::from(c.is_listed(&ip(&target)));
                honest.1 += 1;
            }
        }
        for p in 0..4 {
            let target = format!("46.{}.{}.{}", 150 + h / 24, h % 24, p + 1);
            for r in pick(&mut state, 0, 40, 4) {
                report(&mut c, &r, &target, at + 1800);
            }
            if h >= 48 {
                pushed.0 += usize::from(c.is_listed(&ip(&target)));
                pushed.1 += 1;
            }
        }
    }
    // Third day: the crowd's rare attackers list, the coalition's pushes do not.
    let recall = honest.0 as f64 / honest.1 as f64;
    let through = pushed.0 as f64 / pushed.1 as f64;
    assert!(recall >= 0.97, "honest listed: {honest:?}");
    assert!(through <= 0.05, "pushes listed: {pushed:?}");
    assert!(
        c.sketched() <= 2 * 400,
        "one sketch per reporter and tier at most"
    );
}

#[test]
fn a_crowd_counts_who_saw_it_before_the_listing_as_exposed_not_who_copied_it() {
    let mut c = crowd(16);
    let cfg = c.rules().cluster.clone();
    let exposure = |c: &Consensus, r: &str| {
        let i = c.reporters.find(r).unwrap();
        c.clusters.exposure_of(i, &c.rules().cluster)
    };
    // Three report a scanner (it is listed), then thirteen more, after the listing.
    for r in ["r0", "r1", "r2"] {
        report(&mut c, r, "45.140.1.1", T0);
    }
    assert!(c.is_listed(&ip("45.140.1.1")));
    for i in 3..16 {
        report(&mut c, &format!("r{i}"), "45.140.1.1", T0 + 60);
    }
    // Sixteen supporters, a full tally: a crowd, recorded in the crowd tier only.
    assert!(16 > cfg.max_support && 16 >= cfg.crowd_support);
    c.advance(T0 + 13 * HOUR);
    assert!(c.co_reporting("r0", "r1", Tier::Wide).is_none());
    assert!(c.co_reporting("r0", "r1", Tier::Broad).is_none());
    assert!(c.co_reporting("r0", "r15", Tier::Crowd).is_some());
    assert_eq!(
        ["r0", "r1", "r2"].map(|r| exposure(&c, r)),
        [1, 1, 1],
        "the early ones are exposed"
    );
    assert_eq!(exposure(&c, "r3"), 0, "a late one is not");
    assert_eq!(exposure(&c, "r15"), 0);
    // A restart keeps it.
    let r = restarted(&c);
    assert_eq!(exposure(&r, "r0"), 1);
    assert_eq!(r.clusters.exposure_records(), c.clusters.exposure_records());
}

/// Makes `names` established: the `i`th reports six addresses after the seed `ri` did (a
/// seed vouches for what it saw too), alone with it (three established would list them;
/// one seed for all would be charged for so many unconfirmed reports that it would no
/// longer vouch).
fn establish(c: &mut Consensus, names: &[String], at: i64) {
    for (i, n) in names.iter().enumerate() {
        for k in 0..6 {
            let target = format!("45.149.{i}.{}", k + 1);
            report(c, &format!("r{i}"), &target, at);
            report(c, n, &target, at + 1);
        }
    }
    assert!(
        names.iter().all(|n| c.standing(n).unwrap().1),
        "{:?}",
        names.iter().map(|n| c.standing(n)).collect::<Vec<_>>()
    );
}

#[test]
fn only_attacks_a_seed_reported_count_as_seen_exposure() {
    // Generations of a week: nothing is forgotten during the test.
    let mut rules = crowd(16).rules().clone();
    rules.cluster.generation = 7 * 24 * HOUR;
    let mut c = Consensus::new(rules, Allowlist::default(), T0);
    let members: Vec<String> = (0..16).map(|i| format!("m{i}")).collect();
    establish(&mut c, &members, T0);
    let of = |c: &Consensus, r: &str| {
        let i = c.reporters.find(r).unwrap();
        let cfg = &c.rules().cluster;
        (c.clusters.exposure_of(i, cfg), c.clusters.seen_of(i, cfg))
    };
    // What establishing them counted (attacks a seed saw, 6 each), once those tallies end.
    c.advance(T0 + 13 * HOUR);
    let before = members.iter().map(|m| of(&c, m)).collect::<Vec<_>>();
    assert!(before.iter().all(|&e| e == (0, 6)), "{before:?}");
    let crowd_of = |c: &mut Consensus, target: &str, at: i64, seed: bool| {
        if seed {
            report(c, "r0", target, at - 1);
        }
        for m in &members {
            report(c, m, target, at);
        }
    };
    // Sixteen established members, none of them a seed: recorded as partners in the crowd
    // tier, and a crowd, but nothing says it is not a coalition's push.
    let at = T0 + 14 * HOUR;
    crowd_of(&mut c, "45.150.0.1", at, false);
    c.advance(at + 13 * HOUR);
    assert!(c.co_reporting("m0", "m15", Tier::Crowd).is_some());
    let seen = |c: &Consensus, r: &str| of(c, r).1 - before[r[1..].parse::<usize>().unwrap()].1;
    assert_eq!(of(&c, "m0").0, 1, "exposed to a crowd");
    assert_eq!(seen(&c, "m0"), 0, "not to an attack a seed saw");
    // Where a seed reported too, the early ones have seen a real attack.
    let at = at + 14 * HOUR;
    crowd_of(&mut c, "45.150.0.2", at, true);
    c.advance(at + 13 * HOUR);
    assert_eq!(["m0", "m1", "m2"].map(|r| seen(&c, r)), [1, 1, 0]);
    assert_eq!(["m0", "m1", "m2"].map(|r| of(&c, r).0), [2, 2, 1]);
    // So has a small tally's: not a crowd, seen.
    let at = at + 14 * HOUR;
    for r in ["r1", "m4", "m5"] {
        report(&mut c, r, "45.150.0.3", at);
    }
    c.advance(at + 13 * HOUR);
    assert_eq!(["m4", "m5"].map(|r| seen(&c, r)), [1, 1]);
    assert_eq!(of(&c, "m4").0, 0);
    // A restart keeps both.
    let r = restarted(&c);
    assert_eq!(of(&r, "m4"), of(&c, "m4"));
    assert_eq!(r.clusters.seen_records(), c.clusters.seen_records());
}

#[test]
fn supporters_linked_through_another_count_as_one_group() {
    // r0 and r1 push together (with r5), r1 and r2 too (with r6); r0 and r2 never meet. r1
    // is the lightest of the three (fewer confirmations to start with), so K unlinked
    // supporters taken heaviest first are r0, r2 and an outsider; as groups, r0, r1 and r2
    // are one.
    let chain = |transitive: bool| {
        let mut cfg = ConsensusConfig {
            seeds: (0..8)
                .map(|i| SeedConfig {
                    reporter: format!("r{i}"),
                    confirmed: if i == 1 { 6.0 } else { 50.0 },
                })
                .collect(),
            ..ConsensusConfig::default()
        };
        cfg.cluster.transitive = transitive;
        let mut c = Consensus::new(cfg.validate().unwrap(), Allowlist::default(), T0);
        for k in 0..6 {
            for (net, group) in [
                ("45.140.0", ["r0", "r1", "r5"]),
                ("45.140.1", ["r1", "r2", "r6"]),
            ] {
                for r in group {
                    report(&mut c, r, &format!("{net}.{}", k + 1), T0 + k * HOUR);
                }
            }
        }
        // Their pushes have left the window and been recorded.
        let at = T0 + 20 * HOUR;
        for r in ["r0", "r1", "r2", "r3"] {
            report(&mut c, r, "45.141.0.1", at);
        }
        assert!(c.linked("r0", "r1") && c.linked("r1", "r2") && !c.linked("r0", "r2"));
        assert!(c.standing("r1").unwrap().0 < c.standing("r2").unwrap().0);
        (c, at)
    };
    let (pairs, _) = chain(false);
    assert!(pairs.is_listed(&ip("45.141.0.1")));
    let (mut groups, at) = chain(true);
    assert!(!groups.is_listed(&ip("45.141.0.1")), "two groups");
    assert_eq!(
        report(&mut groups, "r4", "45.141.0.1", at + 1),
        Outcome::Listed,
        "three groups"
    );
}

#[test]
fn settle_records_a_tally_once_quiet_and_again_at_its_end_if_more_came() {
    let seeded = |settle: &str| {
        let mut cfg = ConsensusConfig {
            seeds: (0..8)
                .map(|i| SeedConfig {
                    reporter: format!("r{i}"),
                    confirmed: 20.0,
                })
                .collect(),
            ..ConsensusConfig::default()
        };
        cfg.cluster.settle = settle.into();
        // No rotation within the test (frequent-partner counts stay whole).
        cfg.cluster.generation = "24h".into();
        Consensus::new(cfg.validate().unwrap(), Allowlist::default(), T0)
    };
    // The same three push an address an hour: recorded an hour after each push, they are
    // linked at the fourth; recorded only when their tallies end (12 h after), at the 13th
    // or later.
    let pushes = |c: &mut Consensus| -> Vec<bool> {
        (0..16)
            .map(|k| {
                let target = format!("45.140.0.{}", k + 1);
                for r in ["r0", "r1", "r2"] {
                    report(c, r, &target, T0 + k * HOUR);
                }
                c.is_listed(&ip(&target))
            })
            .collect()
    };
    let listed = pushes(&mut seeded("1h"));
    assert_eq!(listed.iter().position(|l| !l), Some(3), "{listed:?}");
    let listed = pushes(&mut seeded("0s"));
    assert!(listed[..12].iter().all(|l| *l), "{listed:?}");

    // Three report one address: recorded in the tight tier an hour later. Two more come:
    // recorded again, with five, in the wide tier when it ends. Another three, alone, are
    // recorded once (a restart in between remembers it was).
    let mut c = seeded("1h");
    for r in ["r0", "r1", "r2"] {
        report(&mut c, r, "45.140.0.1", T0);
    }
    for r in ["r5", "r6", "r7"] {
        report(&mut c, r, "45.140.1.1", T0);
    }
    c.advance(T0 + HOUR + 1);
    let tight = |c: &Consensus, a, b| c.co_reporting(a, b, Tier::Tight).map(|p| p.co_reports);
    assert_eq!(tight(&c, "r0", "r1"), Some(1.0));
    assert_eq!(tight(&c, "r5", "r6"), Some(1.0));
    assert!(c.co_reporting("r0", "r3", Tier::Wide).is_none());
    for r in ["r3", "r4"] {
        report(&mut c, r, "45.140.0.1", T0 + 2 * HOUR);
    }
    let mut c = restarted(&c);
    c.advance(T0 + 15 * HOUR);
    assert_eq!(c.tallied(), 0, "both ended");
    let wide = c.co_reporting("r0", "r3", Tier::Wide).unwrap();
    assert_eq!(wide.partners.1, 4, "{wide:?}");
    assert_eq!(tight(&c, "r0", "r1"), Some(1.0));
    assert_eq!(tight(&c, "r5", "r6"), Some(1.0), "recorded once");
}
