//! Rotation: what an older generation keeps (`cluster.keep`).

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
