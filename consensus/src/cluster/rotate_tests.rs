//! Rotation: how many generations are kept (`cluster.generations`), what the oldest keeps
//! (`cluster.keep`).

use super::rotate::shift;
use super::*;
use crate::config::ConsensusConfig;

const T0: i64 = 1_700_000_000;
const DAY: i64 = 86_400;

/// Reporters 0 and 1000 each recorded with partners 1..=400, then two rotations: the first
/// keeps everything (the current generation becomes the previous one), the second what
/// `keep` leaves of it. Returns (partners of 0, partners of 1000, shared), `None` once gone.
fn after_two_rotations(keep: f64) -> Option<(u32, u32, u32)> {
    let cfg = Cluster {
        keep,
        ..ConsensusConfig::default().validate().unwrap().cluster
    };
    let mut c = Clusters::new(T0);
    for p in 1..=400u32 {
        for r in [0, 1000] {
            c.record_in(Tier::Tight, &[r, p], u64::from(p), &cfg, 100);
        }
    }
    c.rotate(T0 + DAY, &cfg);
    let one = c.pair(0, 1000, Tier::Tight, &cfg).unwrap();
    assert_eq!(
        one.shared, one.partners.0,
        "the first rotation keeps the current generation"
    );
    c.rotate(T0 + 2 * DAY, &cfg);
    c.pair(0, 1000, Tier::Tight, &cfg)
        .map(|p| (p.partners.0, p.partners.1, p.shared))
}

#[test]
fn an_older_generation_is_dropped_or_thinned_alike_in_every_sketch() {
    assert_eq!(after_two_rotations(0.0), None, "dropped: no partner left");
    let (a, b, shared) = after_two_rotations(0.5).unwrap();
    // About half of ~400 bits (some partners share a bit), the same ones in both.
    assert!((140..=260).contains(&a), "{a}");
    assert_eq!((a, b), (shared, shared));
    let (most, _, _) = after_two_rotations(0.9).unwrap();
    assert!(most > a + 80, "{most} against {a}");
}

#[test]
fn slots_move_older_and_the_one_past_the_end_is_thinned_into_the_oldest() {
    let run = |steps| {
        let mut s = [1u32, 2, 4, 8];
        shift(&mut s, steps, 0, |x| x * 16, |x, y| x | y);
        s
    };
    assert_eq!(run(0), [1, 2, 4, 8], "nothing moves");
    assert_eq!(run(1), [0, 1, 2, 4 | (8 * 16)]);
    assert_eq!(run(2), [0, 0, 1, 2 | (4 * 16)]);
    assert_eq!(run(4), [0, 0, 0, 16]);
    assert_eq!(run(5), [0; 4], "moved well past the end: nothing left");
}

/// Partners recorded once, then rotations one generation apart: in how many of them the
/// pair still shares its partners.
fn rotations_remembered(generations: usize) -> usize {
    let cfg = Cluster {
        generations,
        generation: DAY / 2,
        ..ConsensusConfig::default().validate().unwrap().cluster
    };
    let mut c = Clusters::new(T0);
    for p in 1..=50u32 {
        for r in [0, 1000] {
            c.record_in(Tier::Tight, &[r, p], u64::from(p), &cfg, 100);
        }
    }
    let mut kept = 0;
    for g in 1..=MAX_GENERATIONS as i64 {
        c.rotate(T0 + g * cfg.generation, &cfg);
        match c.pair(0, 1000, Tier::Tight, &cfg) {
            Some(p) if p.shared > 0 => kept += 1,
            _ => break,
        }
    }
    kept
}

#[test]
fn partners_and_exposure_are_kept_for_as_many_generations_as_configured() {
    for n in [2, 3, 4, 5, 7, MAX_GENERATIONS] {
        assert_eq!(rotations_remembered(n), n - 1, "{n} generations");
    }
    // Exposure moves with the partners, and a snapshot keeps every generation.
    let cfg = Cluster {
        generations: 4,
        ..ConsensusConfig::default().validate().unwrap().cluster
    };
    let mut c = Clusters::new(T0);
    for g in 0..4 {
        c.rotate(T0 + g * cfg.generation, &cfg);
        for _ in 0..=g {
            c.exposed(&[7], &cfg);
        }
        c.record_in(Tier::Wide, &[7, 8 + g as u32], 1, &cfg, 100);
    }
    assert_eq!(c.exposure_of(7, &cfg), 1 + 2 + 3 + 4);
    let counts = &c.exposure_records()[0][1..];
    assert_eq!(counts, [4, 3, 2, 1], "newest first");
    let sorted = |c: &Clusters| {
        Tier::ALL.map(|t| {
            let mut r = c.records(t);
            r.sort_unstable_by_key(|s| s.0);
            r
        })
    };
    let tiers = sorted(&c);
    // Reporter 7's partners, one recorded in each generation.
    let sevens = &tiers[Tier::Wide as usize]
        .iter()
        .find(|s| s.0 == 7)
        .unwrap()
        .1;
    let mut slots: Vec<usize> = sevens
        .iter()
        .map(|&b| b as usize / cfg.sketch_bits)
        .collect();
    slots.sort_unstable();
    assert_eq!(slots, [0, 1, 2, 3]);
    let back = Clusters::from_records(
        c.rotated(),
        tiers.clone(),
        (&c.exposure_records(), &c.seen_records()),
        &cfg,
        100,
    );
    assert_eq!(sorted(&back), tiers);
    assert_eq!(back.exposure_records(), c.exposure_records());
    let mut c = back;
    c.rotate(T0 + 4 * cfg.generation, &cfg);
    assert_eq!(
        c.exposure_of(7, &cfg),
        4 + 3 + 2,
        "the oldest generation dropped"
    );
    // A snapshot written with two generations (bit, now, before) still reads.
    let two = Clusters::from_records(T0, Default::default(), (&[vec![3, 5, 6]], &[]), &cfg, 1);
    assert_eq!(two.exposure_records(), [vec![3, 5, 6, 0, 0]]);
}

#[test]
fn a_partner_recorded_again_is_as_old_as_its_last_record() {
    let cfg = Cluster {
        generations: 3,
        ..ConsensusConfig::default().validate().unwrap().cluster
    };
    let mut c = Clusters::new(T0);
    let at = |g: i64| T0 + g * cfg.generation;
    c.record_in(Tier::Tight, &[0, 1], 1, &cfg, 10);
    c.record_in(Tier::Tight, &[0, 2], 2, &cfg, 10);
    c.rotate(at(1), &cfg);
    c.record_in(Tier::Tight, &[0, 1], 3, &cfg, 10);
    c.rotate(at(3), &cfg);
    // Partner 2 (recorded three generations ago) is gone; partner 1 (two ago) is not.
    let partners = |c: &Clusters| {
        let r = c.records(Tier::Tight);
        r.iter().find(|r| r.0 == 0).map_or(0, |r| r.1.len())
    };
    assert_eq!(partners(&c), 1);
    assert!(
        c.pair(0, 2, Tier::Tight, &cfg).is_none(),
        "2 has no partner left"
    );
    // A snapshot keeps each partner's age; one listing a partner in two generations (as
    // snapshots did when each generation was a bitset of its own) keeps the newest.
    let mut records = c.records(Tier::Tight);
    let zero = records.iter_mut().find(|r| r.0 == 0).unwrap();
    let b = zero.1[0];
    assert_eq!(b as usize / cfg.sketch_bits, 2, "two generations old");
    zero.1
        .push(b % cfg.sketch_bits as u32 + cfg.sketch_bits as u32);
    let mut tiers: [Vec<SketchRecord>; TIERS] = Default::default();
    tiers[Tier::Tight as usize] = records;
    let mut back = Clusters::from_records(c.rotated(), tiers, (&[], &[]), &cfg, 10);
    back.rotate(at(4), &cfg);
    assert_eq!(partners(&back), 1, "one generation old when restored: kept");
    back.rotate(at(5), &cfg);
    assert_eq!(partners(&back), 0);
}
