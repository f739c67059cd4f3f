//! Co-reporting clusters in the rule: an established coalition is stopped, a crowd is not.

use super::attack_tests::{T0, ip, report};
use super::*;
use crate::cluster::Tier;
use crate::config::{ConsensusConfig, SeedConfig};

const HOUR: i64 = 3600;

/// `n` seeds named `r0`.. (established from the start), the default rule.
fn crowd(n: usize) -> Consensus {
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
fn pick(state: &mut u64, from: usize, n: usize, k: usize) -> Vec<String> {
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

#[test]
fn a_coalition_of_k_established_colluders_pushing_together_is_stopped() {
    let mut c = crowd(3);
    let coalition = ["r0", "r1", "r2"];
    // One push an hour by the same three: the first ones list (nothing tells them from an
    // attacker only they saw); once three pushes have left the window, they are linked.
    let mut listed = Vec::new();
    for k in 0..24 {
        let at = T0 + k * HOUR;
        let target = format!("45.140.0.{}", k + 1);
        for r in coalition {
            report(&mut c, r, &target, at);
        }
        listed.push(c.is_listed(&ip(&target)));
    }
    assert!(listed[..12].iter().all(|l| *l), "{listed:?}");
    let first_stopped = listed.iter().position(|l| !l).unwrap();
    assert!(first_stopped <= 16, "stopped after {first_stopped} pushes");
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

#[test]
fn a_coalition_pushing_with_more_members_than_the_wide_tier_is_stopped_in_the_broad_tier() {
    // Ten established colluders push an address an hour, all ten each time: more than
    // `cluster.max_support` (8), so their tallies go to the broad tier.
    let pushes = |c: &mut Consensus| -> Vec<bool> {
        (0..30)
            .map(|k| {
                let target = format!("45.142.0.{}", k + 1);
                for r in 0..10 {
                    report(c, &format!("r{r}"), &target, T0 + k * HOUR);
                }
                c.is_listed(&ip(&target))
            })
            .collect()
    };
    let mut c = crowd(10);
    let listed = pushes(&mut c);
    assert!(listed[..12].iter().all(|l| *l), "{listed:?}");
    assert!(listed[24..].iter().all(|l| !l), "{listed:?}");
    let broad = c.co_reporting("r0", "r1", Tier::Broad).unwrap();
    assert!(broad.linked(&c.rules().cluster), "{broad:?}");
    assert!(c.co_reporting("r0", "r1", Tier::Wide).is_none());
    // A restart remembers it; a snapshot written before the broad tier restores without it.
    let json = serde_json::to_string(&c.snapshot()).unwrap();
    let back = serde_json::from_str(&json).unwrap();
    let r = Consensus::restore(c.rules().clone(), Allowlist::default(), back, c.now()).unwrap();
    assert!(r.linked("r0", "r1") && r.sketched() == c.sketched());
    let mut old: serde_json::Value = serde_json::from_str(&json).unwrap();
    let obj = old.as_object_mut().unwrap();
    assert!(obj.remove("clusters_broad").is_some());
    let old = serde_json::from_value(old).unwrap();
    let r = Consensus::restore(c.rules().clone(), Allowlist::default(), old, c.now()).unwrap();
    assert!(!r.linked("r0", "r1") && r.sketched() == 0);
    // Without the broad tier, such tallies are not recorded: every push is listed.
    let mut cfg = c.rules().clone();
    cfg.cluster.broad_support = 0;
    let mut off = Consensus::new(cfg, Allowlist::default(), T0);
    let listed = pushes(&mut off);
    assert!(listed.iter().all(|l| *l), "{listed:?}");
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
    // Sixteen supporters, a full tally: a crowd, not partners.
    assert!(16 > cfg.max_support && 16 >= cfg.crowd_support);
    c.advance(T0 + 13 * HOUR);
    assert!(c.co_reporting("r0", "r1", Tier::Wide).is_none());
    assert_eq!(
        ["r0", "r1", "r2"].map(|r| exposure(&c, r)),
        [1, 1, 1],
        "the early ones are exposed"
    );
    assert_eq!(exposure(&c, "r3"), 0, "a late one is not");
    assert_eq!(exposure(&c, "r15"), 0);
    // A restart keeps it.
    let json = serde_json::to_string(&c.snapshot()).unwrap();
    let r = Consensus::restore(
        c.rules().clone(),
        Allowlist::default(),
        serde_json::from_str(&json).unwrap(),
        c.now(),
    )
    .unwrap();
    assert_eq!(exposure(&r, "r0"), 1);
    assert_eq!(r.clusters.exposure_records(), c.clusters.exposure_records());
}
