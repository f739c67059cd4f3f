//! Busy reporters: recent small tallies against each reporter's own history.

use super::tests::{Rng, cfg};
use super::*;

const T0: i64 = 1_700_000_000;

/// 300 reporters (0..300), each generation for `gens` generations: `attackers` rare
/// attackers, each reported by 3 of them at random (200: about two small tallies per
/// reporter), then a rotation. Reporters in `pushing` also take part in `extra` more small
/// tallies each.
fn generations(
    c: &mut Clusters,
    cfg: &Cluster,
    (gens, attackers): (i64, u64),
    (pushing, extra): (&[u32], u32),
) {
    let mut rng = Rng(7 + attackers);
    let start = (c.rotated() - T0) / cfg.generation;
    for g in start..start + gens {
        for i in 0..attackers {
            let victims = rng.pick(0, 300, 3);
            c.record(&victims, (g as u64) << 32 | i, cfg, 10_000);
            c.small(&victims, cfg, 10_000);
        }
        for e in 0..extra {
            for (j, &r) in pushing.iter().enumerate() {
                let others = [r, 1000 + e * 10 + j as u32, 2000 + e * 10 + j as u32];
                c.small(&others, cfg, 10_000);
            }
        }
        c.rotate(T0 + (g + 1) * cfg.generation, cfg);
    }
}

#[test]
fn a_reporter_taking_part_in_many_more_small_tallies_than_it_used_to_is_busy() {
    let cfg = cfg();
    let mut c = Clusters::new(T0);
    let pushing = [0u32, 1, 2, 3, 4];
    // A fortnight of honest reports (28 generations), then three generations in which five
    // reporters take part in six more small tallies each per generation than before.
    generations(&mut c, &cfg, (28, 200), (&pushing, 0));
    let busy: Vec<_> = (0..300)
        .filter(|&r| c.busy(r, &cfg))
        .map(|r| c.activity_of(r, &cfg))
        .collect();
    assert!(busy.is_empty(), "busy while doing as before: {busy:?}");
    generations(&mut c, &cfg, (3, 200), (&pushing, 6));
    for r in pushing {
        let (recent, predicted, z) = c.activity_of(r, &cfg);
        assert!(c.busy(r, &cfg), "{r}: {recent} against {predicted}, {z:?}");
    }
    let busy = (5..300).filter(|&r| c.busy(r, &cfg)).count();
    assert!(busy <= 3, "{busy} of 295 honest reporters busy");
    // Off with busy_z 0.
    let off = Cluster {
        busy_z: 0.0,
        busy_set_z: 0.0,
        ..cfg
    };
    assert!(!c.busy(0, &off));
}

#[test]
fn the_newest_generations_alone_can_make_a_reporter_busy() {
    let cfg = cfg();
    let mut c = Clusters::new(T0);
    generations(&mut c, &cfg, (28, 200), (&[0, 1], 0));
    // One generation of ten more small tallies each: diluted in the whole window, plain in
    // the newest generation.
    generations(&mut c, &cfg, (1, 200), (&[0, 1], 10));
    assert!(c.busy(0, &cfg) && c.busy(1, &cfg));
}

#[test]
fn a_count_of_two_where_a_tenth_was_expected_is_not_six_deviations_beyond_it() {
    use super::activity::deviation;
    // Binomial counts through the arcsine: about what their tails give.
    assert!(deviation(2.0, 100.0, 0.001) < 2.0);
    let nine_of_three = deviation(9.0, 100.0, 0.03);
    assert!((2.2..3.0).contains(&nine_of_three), "{nine_of_three}");
    let even = deviation(65.0, 100.0, 0.5);
    assert!((2.5..3.2).contains(&even), "{even}");
    assert!(deviation(3.0, 100.0, 0.03) < 0.0);
}

#[test]
fn a_reporter_without_history_is_not_busy() {
    let cfg = cfg();
    let mut c = Clusters::new(T0);
    // Pushing from its first generation: no quieter past to compare with.
    generations(&mut c, &cfg, (3, 200), (&[0], 6));
    let (recent, predicted, z) = c.activity_of(0, &cfg);
    assert!(recent >= 18.0, "{recent}");
    assert_eq!(
        (predicted, z),
        (0.0, None),
        "not counted before its first generation has left the window"
    );
    assert!(!c.busy(0, &cfg));
}

#[test]
fn a_wave_that_raises_everyone_busies_nobody() {
    let cfg = cfg();
    let mut c = Clusters::new(T0);
    generations(&mut c, &cfg, (14, 200), (&[], 0));
    // Then twice and a half as many rare attackers (a wave of scanning): everyone's
    // counts rise, and the drift with them.
    generations(&mut c, &cfg, (4, 500), (&[], 0));
    let busy = (0..300).filter(|&r| c.busy(r, &cfg)).count();
    assert!(busy <= 3, "{busy} of 300 busy");
}

#[test]
fn busy_supporters_count_as_one_group() {
    let cfg = cfg();
    let mut c = Clusters::new(T0);
    let pushing = [0u32, 1, 2];
    generations(&mut c, &cfg, (28, 200), (&pushing, 0));
    generations(&mut c, &cfg, (3, 200), (&pushing, 6));
    let k = 3;
    // Three busy supporters are one group; two busy ones and two others, three groups.
    let mut three = [(0, 1.0), (1, 1.0), (2, 1.0)];
    assert!(!c.independent(&mut three, k, 1.2, &cfg));
    let mut mixed = [(0, 1.0), (1, 1.0), (100, 1.0), (200, 1.0)];
    assert!(c.independent(&mut mixed, k, 1.2, &cfg));
    let mut two_honest = [(0, 1.0), (1, 1.0), (100, 1.0)];
    assert!(!c.independent(&mut two_honest, k, 1.2, &cfg));
    let off = Cluster {
        busy_z: 0.0,
        busy_set_z: 0.0,
        ..cfg
    };
    assert!(c.independent(&mut three, k, 1.2, &off));
    let plain = Cluster {
        transitive: false,
        ..cfg
    };
    assert!(!c.independent(&mut three, k, 1.2, &plain));
    assert!(c.independent(&mut mixed, k, 1.2, &plain));
}

#[test]
fn activity_survives_a_snapshot() {
    let cfg = cfg();
    let mut c = Clusters::new(T0);
    generations(&mut c, &cfg, (28, 200), (&[0], 0));
    generations(&mut c, &cfg, (3, 200), (&[0], 6));
    let mut back = Clusters::new(c.rotated());
    back.restore_activity((&c.activity_records(), c.activity_drift()), &cfg, 10_000);
    for r in [0, 1, 150] {
        assert_eq!(back.activity_of(r, &cfg), c.activity_of(r, &cfg), "{r}");
    }
    assert!(back.busy(0, &cfg));
    // Fewer generations configured: the newest are kept.
    let fewer = Cluster {
        generations: 2,
        ..cfg
    };
    let mut two = Clusters::new(c.rotated());
    two.restore_activity((&c.activity_records(), 0.0), &fewer, 10_000);
    assert!(two.activity_of(0, &fewer).0 > 0.0);
    // At most `max` reporters.
    let mut few = Clusters::new(c.rotated());
    few.restore_activity((&c.activity_records(), 0.0), &cfg, 10);
    assert_eq!(few.activity_records().len(), 10);
}

#[test]
fn a_reporter_quiet_for_weeks_is_forgotten() {
    let cfg = cfg();
    let mut c = Clusters::new(T0);
    generations(&mut c, &cfg, (14, 200), (&[], 0));
    assert_eq!(c.activity_records().len(), 300);
    // Eight weeks without a small tally: history halves every week.
    let start = (c.rotated() - T0) / cfg.generation;
    for g in start..start + 112 {
        c.rotate(T0 + (g + 1) * cfg.generation, &cfg);
    }
    assert!(c.activity_records().is_empty());
}

#[test]
fn generations_skipped_at_once_count_as_quiet_history() {
    let cfg = cfg();
    let (mut one, mut all) = (Clusters::new(T0), Clusters::new(T0));
    for c in [&mut one, &mut all] {
        generations(c, &cfg, (14, 200), (&[], 0));
    }
    // Eight quiet generations, one rotation at a time or all at once.
    let start = (one.rotated() - T0) / cfg.generation;
    for g in start..start + 8 {
        one.rotate(T0 + (g + 1) * cfg.generation, &cfg);
    }
    all.rotate(T0 + (start + 8) * cfg.generation, &cfg);
    let (a, b) = (one.activity_records(), all.activity_records());
    assert_eq!(a.len(), b.len());
    for (a, b) in a.iter().zip(&b) {
        assert_eq!(
            (a.reporter, &a.recent, a.age),
            (b.reporter, &b.recent, b.age)
        );
        let close = |x: f32, y: f32| (x - y).abs() <= 1e-4 * x.abs().max(1.0);
        assert!(close(a.span, b.span), "{a:?} against {b:?}");
        assert!(
            a.history.iter().zip(&b.history).all(|(x, y)| close(*x, *y)),
            "{a:?} against {b:?}"
        );
    }
}

#[test]
fn reporters_each_a_little_busier_are_one_group_together() {
    let cfg = cfg();
    let mut c = Clusters::new(T0);
    let pushing = [0u32, 1, 2];
    // A fortnight, then one generation in which three reporters take part in four more
    // small tallies each (about two, before): none of them is busy alone.
    generations(&mut c, &cfg, (28, 200), (&pushing, 0));
    generations(&mut c, &cfg, (1, 200), (&pushing, 4));
    assert!(pushing.iter().all(|&r| !c.busy(r, &cfg)));
    let together = c.busy_together(pushing.into_iter(), &cfg);
    assert!(together >= cfg.busy_set_z, "{together}");
    let mut three = [(0, 1.0), (1, 1.0), (2, 1.0)];
    assert!(!c.independent(&mut three, 3, 1.2, &cfg));
    let off = Cluster {
        busy_set_z: 0.0,
        ..cfg
    };
    assert!(c.independent(&mut three, 3, 1.2, &off));
    // Honest triples are not that far; nor is one of the three with two honest reporters.
    for a in 3..100u32 {
        let z = c.busy_together([a, a + 100, a + 200].into_iter(), &cfg);
        assert!(z < cfg.busy_set_z, "{a}: {z}");
    }
    let mut mixed = [(0, 1.0), (150, 1.0), (250, 1.0), (1, 0.5)];
    assert!(c.independent(&mut mixed, 3, 1.2, &cfg));
}
