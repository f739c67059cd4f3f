//! Busy reporters in the rule: a coalition that starts pushing is stopped by how many more
//! small tallies its members take part in than they used to, before its pairs share
//! enough partners to be linked.

use super::attack_tests::{T0, ip, report};
use super::cluster_tests::{pick, restarted};
use super::*;
use crate::config::{ClusterConfig, ConsensusConfig, SeedConfig, TrustConfig};

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

/// 300 established reporters `r0`.. (seeds), linked by nothing but being busy (`busy_z`,
/// `busy_set_z`) when `busy` (else not at all). With `held`, targets are held (`hold`,
/// default) and the seeds do not vouch (what a seed reported is not held); else targets
/// are listed at once and the seeds vouch for each other.
fn unlinkable(busy: bool, held: bool) -> Consensus {
    let cfg = ConsensusConfig {
        seeds: (0..300)
            .map(|i| SeedConfig {
                reporter: format!("r{i}"),
                confirmed: 20.0,
            })
            .collect(),
        hold: (!held).then(|| "0s".into()),
        trust: TrustConfig {
            seeds_vouch: !held,
            ..TrustConfig::default()
        },
        cluster: ClusterConfig {
            busy_z: if busy { 3.0 } else { 0.0 },
            busy_set_z: if busy { 3.0 } else { 0.0 },
            min_pair: 1e6,
            min_common: 65536.0,
            tight_min_common: 65536.0,
            broad_min_common: 65536.0,
            crowd_min_common: 65536.0,
            ..ClusterConfig::default()
        },
        ..ConsensusConfig::default()
    };
    Consensus::new(cfg.validate().unwrap(), Allowlist::default(), T0)
}

/// Ten days: each hour 60 rare attackers, each reported by 3 of the 300 reporters; from
/// the eighth day, 30 of them (`r0`..`r29`) also push 12 innocent addresses an hour, each
/// with 3 of them drawn at random (twice as many small tallies again as they took part in
/// before). Returns, per day from the eighth: pushes listed, and the share of the honest
/// attackers (reported by honest members only, K of them, as the simulation's recall counts
/// them: with a colluder among the three, the other two are not K) listed, once every hold
/// has ended; and the
/// consensus at the end.
fn ten_days(busy: bool, held: bool) -> (Vec<(usize, f64)>, Consensus) {
    let mut c = unlinkable(busy, held);
    let mut state = 3;
    let colluder = |r: &String| r[1..].parse::<usize>().unwrap() < 30;
    // Per day from the eighth: its pushes, and its honest attackers.
    let mut days: Vec<(Vec<Target>, Vec<Target>)> = Vec::new();
    for d in 0..10 {
        let (mut pushes, mut honest) = (Vec::new(), Vec::new());
        for h in 0..24 {
            let at = T0 + d * DAY + h * HOUR;
            for a in 0..60 {
                let target = format!("45.{}.{}.{}", 100 + d, h, a + 1);
                let reporters = pick(&mut state, 0, 300, 3);
                for (i, r) in reporters.iter().enumerate() {
                    report(&mut c, r, &target, at + i as i64 * 60);
                }
                if !reporters.iter().any(colluder) {
                    honest.push(ip(&target));
                }
            }
            if d >= 7 {
                for p in 0..12 {
                    let target = format!("46.{}.{}.{}", 100 + d, h, p + 1);
                    for r in pick(&mut state, 0, 30, 3) {
                        report(&mut c, &r, &target, at + 1800);
                    }
                    pushes.push(ip(&target));
                }
            }
        }
        if d >= 7 {
            days.push((pushes, honest));
        }
    }
    // The last pushes were reported half an hour before the end.
    c.advance(T0 + 10 * DAY - HOUR / 2 + c.rules().hold);
    // Every entry listed, tombstones too (kept a week).
    let listed: std::collections::HashSet<Target> = c.feed().entries().map(|e| e.target).collect();
    let count = |ts: &[Target]| ts.iter().filter(|t| listed.contains(t)).count();
    let days = days
        .iter()
        .map(|(p, h)| (count(p), count(h) as f64 / h.len() as f64))
        .collect();
    (days, c)
}

#[test]
fn a_coalition_that_starts_pushing_is_stopped_once_its_members_are_busy() {
    let (on, _) = ten_days(true, false);
    let (off, _) = ten_days(false, false);
    // Listed at once (`hold: 0s`). Nothing else links them: without `busy_z` and
    // `busy_set_z`, every push lists, every day.
    assert!(off.iter().all(|d| d.0 == 288), "{off:?}");
    // With them: on the coalition's first day, those of its first hours list (its last
    // generations stand out from its history within hours, its members' together before
    // each one's: 53 listed, 144 with `busy_z` alone), on its second, few. From its third,
    // its pushes are more and more of its history: stopping it then is the sketches' work
    // (`cluster_tests`), off here.
    assert!(on[0].0 <= 80 && on[1].0 <= 15, "{on:?}");
    // Honest attackers list as before.
    for (a, b) in on.iter().zip(&off) {
        assert!(a.1 >= b.1 - 0.02, "{on:?} against {off:?}");
    }
}

#[test]
fn busy_reporters_stay_busy_across_a_restart() {
    let (_, c) = ten_days(true, false);
    let busy = |c: &Consensus, r: &str| {
        let z = c.activity(r).unwrap().2;
        z.is_some_and(|z| z >= c.rules().cluster.busy_z)
    };
    let colluders: Vec<String> = (0..30).map(|i| format!("r{i}")).collect();
    assert!(colluders.iter().all(|r| busy(&c, r)));
    let r = restarted(&c);
    for id in colluders
        .iter()
        .chain(&["r100".to_string(), "r200".to_string()])
    {
        assert_eq!(r.activity(id), c.activity(id), "{id}");
    }
    // A snapshot written before busy reporters (no `activity`) restores with nobody busy.
    let mut old = serde_json::to_value(c.snapshot()).unwrap();
    let fields = old.as_object_mut().unwrap();
    fields.remove("activity").unwrap();
    fields.remove("activity_drift").unwrap();
    let old = serde_json::from_value(old).unwrap();
    let r = Consensus::restore(c.rules().clone(), Allowlist::default(), old, c.now()).unwrap();
    assert!(colluders.iter().all(|id| !busy(&r, id)));
}

#[test]
fn a_coalition_that_starts_pushing_is_held_until_its_members_stand_out() {
    // Held (8 h), each push is looked at again once its pushers have pushed for eight hours
    // more: by then they stand out, together if not each alone.
    let (on, _) = ten_days(true, true);
    let (off, _) = ten_days(false, true);
    assert!(off.iter().all(|d| d.0 == 288), "{off:?}");
    // Its first day: none of 288 (listed at once, 53).
    assert!(on[0].0 <= 10 && on[1].0 == 0 && on[2].0 == 0, "{on:?}");
    for (a, b) in on.iter().zip(&off) {
        assert!(a.1 >= b.1 - 0.01, "{on:?} against {off:?}");
    }
}
