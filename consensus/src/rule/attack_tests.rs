//! The "must show" bullets, each against the rule as configured by default.

use super::*;
use crate::config::{ConsensusConfig, SeedConfig};

pub(super) const T0: i64 = 1_700_000_000;

/// Default rule, `seeds` seeded with 20 confirmed reports each, the given allowlist entries.
pub(super) fn consensus(seeds: &[&str], allow: &[&str]) -> Consensus {
    let cfg = ConsensusConfig {
        seeds: seeds
            .iter()
            .map(|s| SeedConfig {
                reporter: s.to_string(),
                confirmed: 20.0,
            })
            .collect(),
        ..ConsensusConfig::default()
    };
    let mut a = Allowlist::default();
    a.add_text(&allow.join("\n"), std::path::Path::new("test"))
        .unwrap();
    a.normalize();
    Consensus::new(cfg.validate().unwrap(), a, T0)
}

pub(super) fn ip(v: &str) -> Target {
    Target::parse("Ip", v).unwrap()
}

pub(super) fn report(c: &mut Consensus, reporter: &str, target: &str, now: i64) -> Outcome {
    c.observe(
        Observation {
            reporter,
            scenario: "crowdsecurity/ssh-bf",
            target: ip(target),
            last_seen: now,
        },
        now,
    )
    .unwrap()
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

#[test]
fn one_reporter_alone_cannot_list_however_often_it_reports() {
    let mut c = consensus(&["s0", "s1", "s2"], &[]);
    for i in 0..500 {
        assert_eq!(
            report(&mut c, "s0", "45.130.0.1", T0 + i * 60),
            Outcome::Counted
        );
    }
    assert!(!c.is_listed(&ip("45.130.0.1")));
}

#[test]
fn a_thousand_new_reporters_of_one_actor_cannot_list() {
    let mut c = consensus(&["s0", "s1", "s2"], &[]);
    for (i, sybil) in names("sybil", 1000).iter().enumerate() {
        // Counted until the target's 16 slots are full, then refused: never listed.
        let out = report(&mut c, sybil, "45.130.0.1", T0 + i as i64);
        assert!(
            matches!(
                out,
                Outcome::Counted | Outcome::Refused(Refusal::TargetFull)
            ),
            "{out:?}"
        );
    }
    assert!(!c.is_listed(&ip("45.130.0.1")));
    // Nor do they tip K-1 trusted reporters over: they do not count towards K.
    report(&mut c, "s0", "45.130.0.1", T0 + 2000);
    report(&mut c, "s1", "45.130.0.1", T0 + 2001);
    assert!(!c.is_listed(&ip("45.130.0.1")));
    // And they did not crowd the trusted reporters out of the target's slots.
    assert_eq!(
        report(&mut c, "s2", "45.130.0.1", T0 + 2002),
        Outcome::Listed
    );
}

#[test]
fn sybils_confirming_each_other_never_earn_trust() {
    let mut c = consensus(&["s0", "s1", "s2"], &[]);
    let sybils = names("sybil", 50);
    // 50 Sybils all report the same 200 addresses for a day: nothing lists, so nothing is
    // confirmed, and every report is charged when it leaves the window.
    for k in 0..200 {
        for (i, s) in sybils.iter().enumerate() {
            report(
                &mut c,
                s,
                &format!("45.131.{}.{}", k / 250, k % 250 + 1),
                T0 + k * 100 + i as i64,
            );
        }
    }
    c.advance(T0 + 86_400 * 2);
    assert_eq!(c.feed().active_len(), 0);
    assert_eq!(c.stats().confirmed, 0);
    for s in &sybils {
        // Those that got report slots were charged for them; none rose above the prior.
        let (trust, established) = c.standing(s).unwrap();
        assert!(!established && trust <= 0.2, "{s}: {trust}");
    }
    assert!(c.standing("sybil0").unwrap().0 < 0.1);
}

#[test]
fn k_honest_reporters_with_trust_list_and_earn_others_trust() {
    let mut c = consensus(&["s0", "s1", "s2"], &[]);
    assert_eq!(
        report(&mut c, "newcomer", "45.130.0.9", T0),
        Outcome::Counted
    );
    assert_eq!(
        report(&mut c, "s0", "45.130.0.9", T0 + 10),
        Outcome::Counted
    );
    assert_eq!(
        report(&mut c, "s1", "45.130.0.9", T0 + 20),
        Outcome::Counted
    );
    assert_eq!(report(&mut c, "s2", "45.130.0.9", T0 + 30), Outcome::Listed);
    let pull = c.pull(None);
    assert_eq!(pull.new.len(), 1);
    assert_eq!(pull.new[0].target, ip("45.130.0.9"));
    assert_eq!(
        pull.new[0].scenario,
        "hivewall/consensus:crowdsecurity/ssh-bf"
    );
    assert_eq!(pull.new[0].until, T0 + 30 + 86_400);
    // The newcomer reported before the listing: it earned one confirmation.
    let before = c
        .reporters()
        .get(c.reporters().find("newcomer").unwrap())
        .confirmed;
    assert_eq!(before, 1.0);
    // A late reporter (after the listing: it may have copied the feed) earns nothing.
    report(&mut c, "copycat", "45.130.0.9", T0 + 40);
    let late = c.reporters().get(c.reporters().find("copycat").unwrap());
    assert_eq!((late.confirmed, late.pending), (0.0, 0));
}

#[test]
fn a_newcomer_that_is_confirmed_often_enough_becomes_established() {
    let mut c = consensus(&["s0", "s1", "s2"], &[]);
    for k in 0..5 {
        let target = format!("45.130.1.{}", k + 1);
        let at = T0 + k * 100;
        report(&mut c, "newcomer", &target, at);
        for s in ["s0", "s1", "s2"] {
            report(&mut c, s, &target, at + 1);
        }
        assert_eq!(
            c.standing("newcomer").unwrap().1,
            k == 4,
            "after {} confirmations",
            k + 1
        );
    }
    // Now it is one of the K: two seeds and the newcomer list.
    report(&mut c, "newcomer", "45.130.2.1", T0 + 1000);
    report(&mut c, "s0", "45.130.2.1", T0 + 1001);
    assert_eq!(
        report(&mut c, "s1", "45.130.2.1", T0 + 1002),
        Outcome::Listed
    );
}

#[test]
fn an_allowlisted_address_never_appears_and_costs_its_reporters() {
    let mut c = consensus(
        &["s0", "s1", "s2", "s3"],
        &["66.249.64.0/19", "2001:4860:4801::/48"],
    );
    for s in ["s0", "s1", "s2", "s3"] {
        assert_eq!(report(&mut c, s, "66.249.66.1", T0), Outcome::Allowlisted);
        assert_eq!(
            report(&mut c, s, "2001:4860:4801:10::1", T0),
            Outcome::Allowlisted
        );
        let range = Target::parse("Range", "66.249.66.0/24").unwrap();
        let o = c.observe(
            Observation {
                reporter: s,
                scenario: "x",
                target: range,
                last_seen: T0,
            },
            T0,
        );
        assert_eq!(
            o,
            Ok(Outcome::Allowlisted),
            "a range covering an allowlisted address"
        );
    }
    assert_eq!(c.feed().active_len(), 0);
    assert_eq!(c.tallied(), 0, "allowlisted reports are not even tallied");
    assert_eq!(report(&mut c, "s0", "10.0.0.1", T0), Outcome::Reserved);
    // Each seed was charged the penalty three times: 21 / (25 + 30) < 0.4, not established.
    assert!(!c.standing("s0").unwrap().1);
}

#[test]
fn entries_decay_and_leave_once_support_stops() {
    let mut c = consensus(&["s0", "s1", "s2"], &[]);
    for s in ["s0", "s1", "s2"] {
        report(&mut c, s, "45.130.0.7", T0);
    }
    let first = c.pull(None);
    assert_eq!(first.new.len(), 1);
    // Support again 4 h later extends the entry (sent as new with the later end).
    for s in ["s0", "s1", "s2"] {
        report(&mut c, s, "45.130.0.7", T0 + 4 * 3600);
    }
    let ext = c.pull(Some(first.cursor));
    assert_eq!(ext.new.len(), 1);
    assert_eq!(ext.new[0].until, T0 + 4 * 3600 + 86_400);
    c.advance(T0 + 4 * 3600 + 86_399);
    assert!(c.is_listed(&ip("45.130.0.7")));
    c.advance(T0 + 4 * 3600 + 86_400);
    assert!(!c.is_listed(&ip("45.130.0.7")));
    let gone = c.pull(Some(ext.cursor));
    assert_eq!((gone.new.len(), gone.deleted.len()), (0, 1));
    assert_eq!(gone.deleted[0].target, ip("45.130.0.7"));
    assert!(c.pull(None).new.is_empty(), "a new puller gets nothing");
    assert_eq!(c.stats().expired, 1);
}

#[test]
fn a_reporter_that_keeps_lying_loses_its_weight() {
    let mut c = consensus(&["liar", "s1", "s2", "s3"], &[]);
    assert!(c.standing("liar").unwrap().1);
    // It pushes 130 addresses nobody else saw; when they leave the window, it is charged a
    // quarter each: 21 / (25 + 130 / 4) < 0.4, and one more confirmation does not lift it back.
    for k in 0..130 {
        report(&mut c, "liar", &format!("45.132.0.{}", k + 1), T0 + k);
    }
    c.advance(T0 + 12 * 3600 + 200);
    let (trust, established) = c.standing("liar").unwrap();
    assert!(!established, "trust {trust}");
    // Its support no longer counts: with one honest seed it cannot list an innocent...
    report(&mut c, "liar", "45.133.0.1", T0 + 13 * 3600);
    report(&mut c, "s1", "45.133.0.1", T0 + 13 * 3600);
    report(&mut c, "s2", "45.133.0.1", T0 + 13 * 3600 + 1);
    assert!(
        !c.is_listed(&ip("45.133.0.1")),
        "liar + 2 honest is K-1 established"
    );
    // ...while the honest seeds kept theirs.
    for s in ["s1", "s2", "s3"] {
        assert!(c.standing(s).unwrap().1, "{s}");
    }
}

#[test]
fn seeds_vouch_for_newcomers_but_established_reporters_cannot_lift_sybils() {
    let mut c = consensus(&["s0", "s1", "s2"], &[]);
    // A newcomer's report that a seed also made is confirmed, with no listing.
    for k in 0..5 {
        let target = format!("45.130.3.{}", k + 1);
        report(&mut c, "newcomer", &target, T0 + k);
        report(&mut c, "s0", &target, T0 + k + 1);
    }
    assert_eq!(c.feed().active_len(), 0);
    assert!(
        c.standing("newcomer").unwrap().1,
        "5 confirmations: established"
    );
    // An established non-seed (the newcomer, now a colluder) does not vouch: Sybils that
    // report what it reports earn nothing, and cannot become the K-th reporter.
    for k in 0..20 {
        let target = format!("45.130.4.{}", k + 1);
        for s in ["sybil-a", "sybil-b"] {
            report(&mut c, s, &target, T0 + 100 + k);
        }
        report(&mut c, "newcomer", &target, T0 + 101 + k);
    }
    assert_eq!(c.feed().active_len(), 0);
    for s in ["sybil-a", "sybil-b"] {
        assert_eq!(
            c.reporters().get(c.reporters().find(s).unwrap()).confirmed,
            0.0
        );
    }
}
