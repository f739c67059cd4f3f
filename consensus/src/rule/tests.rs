//! Mechanics: windows, slots, bounds, pulls, snapshots.

use super::attack_tests::{T0, consensus, ip, report};
use super::*;
use crate::config::ConsensusConfig;

#[test]
fn reports_outside_the_window_do_not_add_up() {
    let mut c = consensus(&["s0", "s1", "s2"], &[]);
    report(&mut c, "s0", "45.130.0.1", T0);
    report(&mut c, "s1", "45.130.0.1", T0 + 3600);
    // 12 h after s0's report, it no longer supports the target.
    assert_eq!(
        report(&mut c, "s2", "45.130.0.1", T0 + 12 * 3600),
        Outcome::Counted
    );
    assert_eq!(
        report(&mut c, "s0", "45.130.0.1", T0 + 12 * 3600 + 1),
        Outcome::Listed
    );
}

#[test]
fn stale_future_and_malformed_signals() {
    let mut c = consensus(&["s0"], &[]);
    let obs = |last_seen| Observation {
        reporter: "s0",
        scenario: "x",
        target: ip("45.130.0.1"),
        last_seen,
    };
    assert_eq!(c.observe(obs(T0 - 12 * 3600), T0), Ok(Outcome::Stale));
    assert_eq!(c.observe(obs(T0 + 301), T0), Err(Rejected::Future));
    assert_eq!(c.observe(obs(T0 + 300), T0), Ok(Outcome::Counted));
    let mut s = wire::signal::Signal {
        v: 1,
        reporter: "s0".into(),
        scenario: "x".into(),
        scope: "Ip".into(),
        value: "45.130.0.2".into(),
        first_seen: "2023-11-14T22:13:00Z".into(),
        last_seen: "2023-11-14T22:13:20Z".into(),
        events: 3,
    };
    assert_eq!(c.observe_signal(&s, T0), Ok(Outcome::Counted));
    s.last_seen = "yesterday".into();
    assert_eq!(c.observe_signal(&s, T0), Err(Rejected::Time("last_seen")));
    s.value = "45.130.0.300".into();
    assert!(matches!(c.observe_signal(&s, T0), Err(Rejected::Target(_))));
}

#[test]
fn memory_bounds_refuse_instead_of_growing() {
    let mut cfg = ConsensusConfig::default();
    cfg.limits.max_reporters = 3;
    cfg.limits.max_targets = 4;
    cfg.limits.max_pending_per_reporter = 3;
    cfg.limits.max_reports_per_target = 3;
    let mut c = Consensus::new(cfg.validate().unwrap(), Allowlist::default(), T0);
    assert_eq!(report(&mut c, "a", "45.130.0.1", T0), Outcome::Counted);
    assert_eq!(report(&mut c, "a", "45.130.0.2", T0), Outcome::Counted);
    assert_eq!(report(&mut c, "b", "45.130.0.3", T0), Outcome::Counted);
    // New reporters get three quarters of the table (3 of 4): the rest waits for established
    // ones.
    let refused = report(&mut c, "a", "45.130.0.4", T0);
    assert_eq!(refused, Outcome::Refused(Refusal::TooManyTargets));
    report(&mut c, "b", "45.130.0.1", T0);
    report(&mut c, "c", "45.130.0.1", T0);
    assert_eq!(
        report(&mut c, "d", "45.130.0.1", T0),
        Outcome::Refused(Refusal::TooManyReporters)
    );
    assert_eq!(c.reporters().len(), 3);
    // Equal standing: a report cannot push out another's.
    let mut cfg = ConsensusConfig::default();
    cfg.limits.max_reports_per_target = 3;
    cfg.limits.max_pending_per_reporter = 2;
    let mut c = Consensus::new(cfg.validate().unwrap(), Allowlist::default(), T0);
    for r in ["a", "b", "c"] {
        report(&mut c, r, "45.130.0.1", T0);
    }
    assert_eq!(
        report(&mut c, "d", "45.130.0.1", T0),
        Outcome::Refused(Refusal::TargetFull)
    );
    report(&mut c, "a", "45.130.0.2", T0);
    assert_eq!(
        report(&mut c, "a", "45.130.0.3", T0),
        Outcome::Refused(Refusal::ReporterBudget)
    );
    // Once its reports leave the window, its budget is back (and it was charged for them).
    c.advance(T0 + 12 * 3600);
    assert_eq!(
        report(&mut c, "a", "45.130.0.3", T0 + 12 * 3600),
        Outcome::Counted
    );
    assert_eq!(c.tallied(), 1);
    assert_eq!(c.stats().unconfirmed, 4, "a, b, c on .1 and a on .2");
}

#[test]
fn pulls_send_each_change_once() {
    let mut c = consensus(&["s0", "s1", "s2"], &[]);
    let empty = c.pull(None);
    assert!(empty.startup && empty.new.is_empty());
    for k in 1..=3 {
        for s in ["s0", "s1", "s2"] {
            report(&mut c, s, &format!("45.130.0.{k}"), T0 + k * 60);
        }
    }
    let p1 = c.pull(Some(empty.cursor));
    assert!(!p1.startup);
    let listed: Vec<String> = p1.new.iter().map(|i| i.target.to_string()).collect();
    assert_eq!(listed, ["45.130.0.1", "45.130.0.2", "45.130.0.3"]);
    let p2 = c.pull(Some(p1.cursor));
    assert!(p2.new.is_empty() && p2.deleted.is_empty());
    // A cursor from another server's state (ahead of this feed) gets a full resend.
    let other = c.pull(Some(p1.cursor + 100));
    assert!(other.startup && other.new.len() == 3);
    // Tombstones are forgotten after the retention: older cursors get a full resend too.
    c.advance(T0 + 86_400 + 200);
    let p3 = c.pull(Some(p1.cursor));
    assert_eq!(p3.deleted.len(), 3);
    c.advance(T0 + 86_400 + 200 + 7 * 86_400);
    let p4 = c.pull(Some(p1.cursor));
    assert!(p4.startup && p4.new.is_empty() && p4.deleted.is_empty());
    assert!(!c.pull(Some(p3.cursor)).startup);
}

#[test]
fn a_snapshot_restores_the_same_state() {
    let mut c = consensus(&["s0", "s1", "s2"], &[]);
    for s in ["s0", "s1", "s2", "newcomer"] {
        report(&mut c, s, "45.130.0.1", T0);
    }
    report(&mut c, "newcomer", "45.130.0.2", T0 + 5);
    let snap = c.snapshot();
    let json = serde_json::to_string(&snap).unwrap();
    let back: Snapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    let rules = c.rules().clone();
    let mut r = Consensus::restore(rules.clone(), Allowlist::default(), back, T0 + 10).unwrap();
    assert_eq!(r.pull(None), c.pull(None));
    assert_eq!(r.standing("newcomer"), c.standing("newcomer"));
    assert_eq!(r.tallied(), 2);
    // The restored tallies go on: two seeds on the pending target list it.
    report(&mut r, "s0", "45.130.0.2", T0 + 20);
    assert_eq!(
        report(&mut r, "s1", "45.130.0.2", T0 + 21),
        Outcome::Counted
    );
    assert_eq!(report(&mut r, "s2", "45.130.0.2", T0 + 22), Outcome::Listed);
    // Seeds are not credited twice by a restore.
    let seeded = r
        .reporters()
        .get(r.reporters().find("s0").unwrap())
        .confirmed;
    assert!(seeded < 23.0, "{seeded}");
    let mut bad = c.snapshot();
    bad.version = 9;
    assert!(Consensus::restore(rules, Allowlist::default(), bad, T0).is_err());
}

#[test]
fn a_full_target_takes_new_reports_once_old_ones_leave_the_window() {
    let mut c = consensus(&["s0", "s1", "s2"], &[]);
    for s in ["s0", "s1", "s2"] {
        report(&mut c, s, "45.130.0.1", T0);
    }
    for i in 0..13 {
        report(&mut c, &format!("late{i}"), "45.130.0.1", T0 + 60);
    }
    assert_eq!(
        report(&mut c, "another", "45.130.0.1", T0 + 60),
        Outcome::Refused(Refusal::TargetFull)
    );
    // 13 h later the slots' reports have left the window: new reports take them, and the
    // entry is extended by the seeds' fresh reports.
    let later = T0 + 13 * 3600;
    for s in ["s0", "s1", "s2"] {
        assert_eq!(report(&mut c, s, "45.130.0.1", later), Outcome::Counted);
    }
    let p = c.pull(None);
    assert_eq!(p.new[0].until, later + 86_400);
    assert_eq!(
        report(&mut c, "another", "45.130.0.1", later),
        Outcome::Counted
    );
}

#[test]
fn a_full_target_remembers_who_took_its_slots_first() {
    let cfg = crate::config::ConsensusConfig {
        seeds: (0..16)
            .map(|i| format!("s{i}"))
            .chain(["top".to_string()])
            .map(|reporter| crate::config::SeedConfig {
                confirmed: if reporter == "top" { 200.0 } else { 6.0 },
                reporter,
            })
            .collect(),
        ..crate::config::ConsensusConfig::default()
    };
    let mut c = Consensus::new(cfg.validate().unwrap(), Allowlist::default(), T0);
    let t = "45.131.0.1";
    for i in 0..16 {
        report(&mut c, &format!("s{i}"), t, T0 + i);
    }
    let firsts = |c: &Consensus| {
        let mut out = Vec::new();
        c.tallies[&ip(t)].established_first(&c.reporters, &mut out);
        out
    };
    let sixteen: Vec<u32> = (0..16)
        .map(|i| c.reporters.find(&format!("s{i}")).unwrap())
        .collect();
    assert_eq!(firsts(&c), sixteen);
    assert!(
        c.tallies[&ip(t)].first.is_empty(),
        "nothing kept until a slot is lost"
    );
    // A more trusted reporter takes a slot; the first sixteen are still who saw it first.
    assert!(c.standing("top").unwrap().0 > c.standing("s0").unwrap().0);
    assert_eq!(report(&mut c, "top", t, T0 + 60), Outcome::Counted);
    let top = c.reporters.find("top").unwrap();
    assert!(c.tallies[&ip(t)].reports.iter().any(|r| r.reporter == top));
    assert_eq!(firsts(&c), sixteen);
    // And a restart keeps them.
    let json = serde_json::to_string(&c.snapshot()).unwrap();
    let back = serde_json::from_str(&json).unwrap();
    let r = Consensus::restore(c.rules().clone(), Allowlist::default(), back, c.now()).unwrap();
    assert_eq!(r.tallies[&ip(t)].first, c.tallies[&ip(t)].first);
    // A snapshot naming an unknown reporter among them is refused.
    let mut bad: serde_json::Value = serde_json::from_str(&json).unwrap();
    bad["tallies"][0][1]["first"][0] = 99_999.into();
    let bad = serde_json::from_value(bad).unwrap();
    assert!(Consensus::restore(c.rules().clone(), Allowlist::default(), bad, c.now()).is_err());
}

/// Seeds `s0`..`s2` (that vouch for what they report with `vouch`), targets held (the
/// default: two thirds of the window, 8 h).
fn held(vouch: bool) -> Consensus {
    let cfg = ConsensusConfig {
        seeds: ["s0", "s1", "s2"]
            .iter()
            .map(|s| crate::config::SeedConfig {
                reporter: s.to_string(),
                confirmed: 20.0,
            })
            .collect(),
        trust: crate::config::TrustConfig {
            seeds_vouch: vouch,
            ..Default::default()
        },
        ..ConsensusConfig::default()
    };
    Consensus::new(cfg.validate().unwrap(), Allowlist::default(), T0)
}

#[test]
fn a_held_target_is_listed_when_its_hold_ends() {
    let mut c = held(false);
    assert_eq!(c.rules().hold, 8 * 3600);
    let t = ip("45.130.0.1");
    for (i, s) in ["s0", "s1", "s2"].iter().enumerate() {
        assert_eq!(
            report(&mut c, s, "45.130.0.1", T0 + i as i64),
            Outcome::Counted
        );
    }
    // Held: a report during the hold does not list it either.
    assert_eq!(
        report(&mut c, "s0", "45.130.0.1", T0 + 3600),
        Outcome::Counted
    );
    let due = T0 + 2 + 8 * 3600;
    c.advance(due - 1);
    assert!(!c.is_listed(&t));
    assert!(c.pull(None).new.is_empty());
    // Across a restart too.
    let mut c = super::cluster_tests::restarted(&c);
    c.advance(due);
    assert!(c.is_listed(&t));
    assert_eq!((c.stats().held, c.stats().listed), (1, 1));
    let p = c.pull(None);
    assert_eq!((p.new.len(), p.new[0].until), (1, due + 24 * 3600));
    // Its reports were confirmed: nothing is pending.
    assert!(c.reporters().records().iter().all(|r| r.pending == 0));
    // What a seed that vouches reported is listed at once.
    let mut v = held(true);
    report(&mut v, "s0", "45.130.0.1", T0);
    report(&mut v, "s1", "45.130.0.1", T0);
    assert_eq!(report(&mut v, "s2", "45.130.0.1", T0), Outcome::Listed);
}

#[test]
fn a_held_target_whose_supporters_left_the_window_is_still_listed() {
    // Reported at 0 h, 1 h and 11 h: the rule holds at 11 h; at 19 h, when the hold ends,
    // the first two reports are out of the window, but they were in it when it first held.
    let mut c = held(false);
    report(&mut c, "s0", "45.130.0.2", T0);
    report(&mut c, "s1", "45.130.0.2", T0 + 3600);
    report(&mut c, "s2", "45.130.0.2", T0 + 11 * 3600);
    c.advance(T0 + 19 * 3600 - 1);
    assert!(!c.is_listed(&ip("45.130.0.2")));
    c.advance(T0 + 19 * 3600);
    assert!(c.is_listed(&ip("45.130.0.2")));
    // The hold must be shorter than the window.
    let cfg = ConsensusConfig {
        hold: Some("12h".into()),
        ..ConsensusConfig::default()
    };
    assert!(cfg.validate().is_err());
}
