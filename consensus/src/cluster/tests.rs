//! Sketches: recording, linking, rotation, the bound (rare partners, the set test and the
//! crowd tier: `rare_tests`).

use super::*;
use crate::config::ConsensusConfig;

pub(super) fn cfg() -> Cluster {
    ConsensusConfig::default().validate().unwrap().cluster
}

/// SplitMix64, for reproducible crowds.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn below(&mut self, n: u32) -> u32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        ((u128::from(mix(self.0)) * u128::from(n)) >> 64) as u32
    }

    /// `k` distinct values of `from..from + n`.
    pub(super) fn pick(&mut self, from: u32, n: u32, k: usize) -> Vec<u32> {
        let mut out = Vec::with_capacity(k);
        while out.len() < k {
            let r = from + self.below(n);
            if !out.contains(&r) {
                out.push(r);
            }
        }
        out
    }
}

/// The default settings, linked only by shared partners (in a crowd this small, two
/// reporters are also each other's frequent partners now and then).
pub(super) fn shared_partners_only() -> Cluster {
    Cluster {
        min_pair: 1e6,
        ..cfg()
    }
}

/// 20,000 rare attackers, each reported by 3 to `3 + spread - 1` of 3,000 reporters.
fn attacks(c: &mut Clusters, rng: &mut Rng, cfg: &Cluster, spread: u32) {
    for i in 0..20_000u64 {
        let n = 3 + rng.below(spread) as usize;
        c.record(&rng.pick(0, 3000, n), i, cfg, 10_000);
    }
}

/// 1,200 pushes by 5 colluders (ids 0..200) drawn at random.
fn pushes(c: &mut Clusters, rng: &mut Rng, cfg: &Cluster) {
    for i in 0..1200u64 {
        c.record(&rng.pick(0, 200, 5), 1 << 32 | i, cfg, 10_000);
    }
}

#[test]
fn a_group_that_always_reports_together_is_linked() {
    let cfg = cfg();
    let mut c = Clusters::new(0);
    c.record(&[1, 2, 3], 1, &cfg, 100);
    c.record(&[1, 2, 3], 2, &cfg, 100);
    assert!(!c.linked(1, 2, &cfg), "twice can be chance");
    c.record(&[1, 2, 3, 9], 3, &cfg, 100);
    assert!(c.linked(1, 2, &cfg) && c.linked(3, 1, &cfg));
    assert!(!c.linked(1, 9, &cfg) && !c.linked(1, 4, &cfg));
    // Any two of them and one outsider are not K = 3 independent supporters; with another
    // outsider they are.
    let w = |r| (r, 0.6);
    assert!(!c.independent(&mut [w(1), w(2), w(9)], 3, 1.2, &cfg));
    assert!(c.independent(&mut [w(1), w(2), w(9), w(4)], 3, 1.2, &cfg));
}

#[test]
fn with_transitive_links_a_chain_of_linked_supporters_counts_as_one_group() {
    let cfg = cfg();
    let mut c = Clusters::new(0);
    // 1 and 2 always report together, 2 and 3 too; 1 and 3 never do.
    for i in 0..3 {
        c.record(&[1, 2, 7], i, &cfg, 100);
        c.record(&[2, 3, 8], 10 + i, &cfg, 100);
    }
    assert!(c.linked(1, 2, &cfg) && c.linked(2, 3, &cfg) && !c.linked(1, 3, &cfg));
    let w = |r| (r, 0.6);
    // 1, 3 and an outsider are three supporters no two of which are linked...
    let pairs = Cluster {
        transitive: false,
        ..cfg.clone()
    };
    assert!(c.independent(&mut [w(1), w(2), w(3), w(4)], 3, 1.2, &pairs));
    // ...but 1, 2 and 3 are one group through 2 (the default): with the outsider, two groups.
    let transitive = cfg.clone();
    assert!(transitive.transitive);
    assert!(!c.independent(&mut [w(1), w(2), w(3), w(4)], 3, 1.2, &transitive));
    assert!(c.independent(&mut [w(1), w(2), w(3), w(4), w(5)], 3, 1.2, &transitive));
    // Groups weigh what their heaviest member does.
    let (h, l) = (|r| (r, 0.5), |r| (r, 0.1));
    assert!(!c.independent(&mut [h(1), h(2), h(4), l(5)], 3, 1.2, &transitive));
    assert!(c.independent(&mut [h(1), h(2), h(4), h(5)], 3, 1.2, &transitive));
}

#[test]
fn a_coalition_drawing_random_members_is_linked_by_shared_partners_not_a_crowd() {
    let cfg = cfg();
    let mut c = Clusters::new(0);
    let mut rng = Rng(7);
    // A crowd of 3,000 reporters, 200 of them colluders (ids 0..200): rare attackers are
    // reported by 3 to 6 of anyone; each push by 5 colluders drawn at random.
    attacks(&mut c, &mut rng, &cfg, 4);
    pushes(&mut c, &mut rng, &cfg);
    coalition_linked_crowd_not(&c, &mut rng, &cfg);
    // No colluder ever co-reported twice with most of the others: it is the shared pool.
    assert!(c.pair(0, 1, Tier::Wide, &cfg).unwrap().co_reports < cfg.min_pair);
}

#[test]
fn partners_are_forgotten_after_as_many_generations_as_kept() {
    let cfg = cfg();
    let n = cfg.generations as i64;
    let mut c = Clusters::new(0);
    for i in 0..10 {
        c.record(&[1, 2, 3], i, &cfg, 100);
    }
    c.rotate(cfg.generation - 1, &cfg);
    assert!(c.linked(1, 2, &cfg));
    c.rotate(cfg.generation, &cfg);
    assert!(c.linked(1, 2, &cfg), "older, still frequent partners");
    c.rotate((n + 1) * cfg.generation, &cfg);
    assert!(
        !c.linked(1, 2, &cfg),
        "{:?}",
        c.pair(1, 2, Tier::Tight, &cfg)
    );
    c.rotate(10 * cfg.generation, &cfg);
    assert!(c.is_empty());
}

#[test]
fn sketches_are_bounded() {
    let cfg = cfg();
    let mut c = Clusters::new(0);
    let mut rng = Rng(1);
    for i in 0..1000 {
        c.record(&rng.pick(0, 1_000_000, 8), i, &cfg, 50);
    }
    assert_eq!(c.len(), 50);
    // A big tally (the broad tier): each supporter records `partners` of the others, not
    // all of them; a crowd is not recorded.
    let mut c = Clusters::new(0);
    let crowd: Vec<u32> = (0..16).collect();
    c.record(&crowd, 1, &cfg, 50);
    assert!(
        c.is_empty(),
        "a crowd of {} is not recorded",
        cfg.crowd_support
    );
    c.record(&crowd[..12], 1, &cfg, 50);
    for r in 0..12 {
        assert!(c.pair(r, (r + 1) % 12, Tier::Wide, &cfg).is_none());
        let p = c.pair(r, (r + 1) % 12, Tier::Broad, &cfg).unwrap();
        assert_eq!(p.partners.0, cfg.partners as u32, "{p:?}");
    }
}

/// Share of 1,000 random pairs of `from..from + n` that are linked.
pub(super) fn linked_share(c: &Clusters, rng: &mut Rng, from: u32, n: u32, cfg: &Cluster) -> f64 {
    let linked = (0..1000)
        .filter(|_| {
            let p = rng.pick(from, n, 2);
            c.linked(p[0], p[1], cfg)
        })
        .count();
    linked as f64 / 1000.0
}

/// A crowd of 3,000 reporters, 200 of them colluders (ids 0..200): `attackers` attackers each
/// reported by 3 to `3 + spread - 1` of anyone, then `pushes` pushes by `push` colluders drawn
/// at random.
fn crowd_and_coalition(
    cfg: &Cluster,
    seed: u64,
    (attackers, spread): (u64, u32),
    (pushes, push): (u64, usize),
) -> Clusters {
    let mut c = Clusters::new(0);
    let mut rng = Rng(seed);
    for i in 0..attackers {
        let n = 3 + rng.below(spread) as usize;
        c.record(&rng.pick(0, 3000, n), i, cfg, 10_000);
    }
    for i in 0..pushes {
        c.record(&rng.pick(0, 200, push), 1 << 32 | i, cfg, 10_000);
    }
    c
}

/// Most pairs of the coalition (0..200) are linked, hardly any of the crowd (200..3000).
fn coalition_linked_crowd_not(c: &Clusters, rng: &mut Rng, cfg: &Cluster) {
    let (coalition, crowd) = (
        linked_share(c, rng, 0, 200, cfg),
        linked_share(c, rng, 200, 2800, cfg),
    );
    assert!(coalition > 0.9, "coalition pairs linked: {coalition}");
    assert!(crowd < 0.01, "crowd pairs linked: {crowd}");
}

#[test]
fn a_coalition_pushing_with_exactly_k_is_linked_by_its_small_tallies() {
    // Attackers reported by 3 to 8 of anyone; each push by exactly K = 3 colluders.
    let record_all = |cfg: &Cluster| crowd_and_coalition(cfg, 11, (20_000, 6), (2000, 3));
    let cfg = cfg();
    assert_eq!(cfg.tight_support, 4, "K + 1 by default");
    let c = record_all(&cfg);
    let mut rng = Rng(5);
    coalition_linked_crowd_not(&c, &mut rng, &cfg);
    let tight = c.pair(0, 1, Tier::Tight, &cfg).unwrap();
    assert!(tight.linked(&cfg), "{tight:?}");
    // One tier for every tally: the crowd's bigger tallies drown the coalition's overlap
    // (shown at a stricter ratio, where the two tiers still link it).
    let strict = Cluster {
        min_ratio: 2.0,
        ..cfg.clone()
    };
    let c = record_all(&strict);
    let coalition = linked_share(&c, &mut rng, 0, 200, &strict);
    assert!(coalition > 0.9, "coalition pairs linked at 2×: {coalition}");
    let one_tier = Cluster {
        tight_support: 0,
        ..strict
    };
    let c = record_all(&one_tier);
    let coalition = linked_share(&c, &mut rng, 0, 200, &one_tier);
    assert!(
        coalition < 0.5,
        "coalition pairs linked in one tier: {coalition}"
    );
}

#[test]
fn a_coalition_pushing_with_more_than_max_support_is_linked_in_the_broad_tier() {
    // 10,000 attackers reported by 3 to 15 of anyone; each push by 10 colluders, more than
    // `max_support`.
    let record_all = |cfg: &Cluster| crowd_and_coalition(cfg, 31, (10_000, 13), (600, 10));
    let cfg = shared_partners_only();
    assert_eq!((cfg.max_support, cfg.broad_support), (8, 15));
    let c = record_all(&cfg);
    let mut rng = Rng(9);
    coalition_linked_crowd_not(&c, &mut rng, &cfg);
    let broad = c.pair(0, 1, Tier::Broad, &cfg).unwrap();
    assert!(broad.shared > 2 * broad.expected as u32, "{broad:?}");
    // Without the broad tier its pushes are not recorded, and it is never linked.
    let off = Cluster {
        broad_support: 0,
        ..cfg
    };
    let c = record_all(&off);
    assert!(c.pair(0, 1, Tier::Broad, &off).is_none());
    let coalition = linked_share(&c, &mut rng, 0, 200, &off);
    assert!(coalition < 0.05, "coalition pairs linked: {coalition}");
}

#[test]
fn heavily_exposed_honest_reporters_are_not_linked_to_everyone() {
    // 3,000 honest reporters (ids 200..3200), 300 of them (200..500) hit ten times as often
    // as the others: they are everybody's partners. 200 colluders (0..200) push with 5.
    let cfg = shared_partners_only();
    let mut c = Clusters::new(0);
    let mut rng = Rng(23);
    let draw = |rng: &mut Rng| {
        let x = rng.below(300 * 10 + 2700);
        if x < 3000 {
            200 + x / 10
        } else {
            500 + (x - 3000)
        }
    };
    for i in 0..20_000u64 {
        let n = 3 + rng.below(6) as usize;
        let mut tally = Vec::with_capacity(n);
        while tally.len() < n {
            let r = draw(&mut rng);
            if !tally.contains(&r) {
                tally.push(r);
            }
        }
        c.record(&tally, i, &cfg, 10_000);
    }
    pushes(&mut c, &mut rng, &cfg);
    // Linked as the rule links them, and as it would if chance assumed partners spread
    // evenly over the reporters (what it did before it counted how popular each is).
    let even = |p: &Pair| {
        let chance = f64::from(p.partners.0)
            * f64::from(p.partners.1)
            * (1.0 / cfg.sketch_bits as f64 + 1.0 / 3200.0);
        let s = f64::from(p.shared);
        s >= p.tier.min_common(&cfg) && s >= cfg.min_ratio * chance
    };
    let mut rng = Rng(3);
    let share = |c: &Clusters, rng: &mut Rng, a: (u32, u32), b: (u32, u32)| {
        let (mut now, mut before) = (0, 0);
        for _ in 0..1000 {
            let (x, y) = (a.0 + rng.below(a.1), b.0 + rng.below(b.1));
            if x == y {
                continue;
            }
            now += usize::from(c.linked(x, y, &cfg));
            let pairs = Tier::ALL.map(|t| c.pair(x, y, t, &cfg));
            before += usize::from(pairs.iter().flatten().any(even));
        }
        (now as f64 / 1000.0, before as f64 / 1000.0)
    };
    let heavy_light = share(&c, &mut rng, (200, 300), (500, 2700));
    let heavy_heavy = share(&c, &mut rng, (200, 300), (200, 300));
    let coalition = share(&c, &mut rng, (0, 200), (0, 200));
    assert!(
        heavy_light.0 < 0.05,
        "heavy-light pairs linked: {heavy_light:?}"
    );
    assert!(
        heavy_heavy.0 < 0.05,
        "heavy-heavy pairs linked: {heavy_heavy:?}"
    );
    assert!(coalition.0 > 0.9, "coalition pairs linked: {coalition:?}");
    // Chance as if partners were spread evenly linked most heavy reporters to everyone.
    assert!(heavy_light.1 > 0.3, "{heavy_light:?}");
    assert!(heavy_heavy.1 > 0.9, "{heavy_heavy:?}");
    // Once exposure to crowds is known (the heavy ones in ten times as many, the colluders
    // as often as anyone), chance is counted from it: still not linked to everyone.
    for _ in 0..3000 {
        let mut crowd = Vec::with_capacity(12);
        while crowd.len() < 12 {
            let r = if rng.below(10) == 0 {
                rng.below(200)
            } else {
                draw(&mut rng)
            };
            if !crowd.contains(&r) {
                crowd.push(r);
            }
        }
        c.exposed(&crowd, &cfg);
    }
    assert!(c.exposure.known());
    let heavy_light = share(&c, &mut rng, (200, 300), (500, 2700));
    let heavy_heavy = share(&c, &mut rng, (200, 300), (200, 300));
    let coalition = share(&c, &mut rng, (0, 200), (0, 200));
    assert!(heavy_light.0 < 0.05, "with exposure: {heavy_light:?}");
    assert!(heavy_heavy.0 < 0.05, "with exposure: {heavy_heavy:?}");
    assert!(coalition.0 > 0.9, "with exposure: {coalition:?}");
}

#[test]
fn a_coalitions_own_pushes_do_not_raise_its_chance_once_exposure_is_known() {
    // 3,000 reporters, the first 200 colluders pushing with 5; everyone (colluders too) is
    // in crowds as often. The coalition's members are popular in each other's sketches,
    // which popularity alone counts as chance; exposure does not.
    let cfg = shared_partners_only();
    let mut c = Clusters::new(0);
    let mut rng = Rng(41);
    attacks(&mut c, &mut rng, &cfg, 6);
    pushes(&mut c, &mut rng, &cfg);
    let by_popularity = c.clone();
    for _ in 0..3000 {
        let crowd = rng.pick(0, 3000, 12);
        c.exposed(&crowd, &cfg);
    }
    let mean_expected = |c: &Clusters, rng: &mut Rng, from: u32, n: u32| {
        let mut sum = 0.0;
        for _ in 0..500 {
            let p = rng.pick(from, n, 2);
            sum += Tier::ALL
                .iter()
                .filter_map(|&t| c.pair(p[0], p[1], t, &cfg))
                .map(|p| p.expected)
                .sum::<f64>();
        }
        sum / 500.0
    };
    let coalition = (
        mean_expected(&c, &mut Rng(1), 0, 200),
        mean_expected(&by_popularity, &mut Rng(1), 0, 200),
    );
    let honest = (
        mean_expected(&c, &mut Rng(2), 200, 2800),
        mean_expected(&by_popularity, &mut Rng(2), 200, 2800),
    );
    assert!(
        coalition.0 < 0.9 * coalition.1,
        "coalition's chance, by exposure / by popularity: {coalition:?}"
    );
    assert!(
        (honest.0 / honest.1 - 1.0).abs() < 0.15,
        "honest chance, by exposure / by popularity: {honest:?}"
    );
    let mut rng = Rng(9);
    let linked = linked_share(&c, &mut rng, 0, 200, &cfg);
    assert!(linked > 0.9, "coalition pairs linked: {linked}");
    assert!(linked_share(&c, &mut rng, 200, 2800, &cfg) < 0.01);
    // Exposure is forgotten with the partners: `generations` later chance is counted from
    // popularity again.
    c.rotate(cfg.generation, &cfg);
    assert!(c.exposure.known());
    c.rotate(cfg.generations as i64 * cfg.generation, &cfg);
    assert_eq!(c.exposure.total(), 0);
}

#[test]
fn partner_popularity_follows_the_sketches_through_rotations_and_restores() {
    let cfg = cfg();
    let mut c = Clusters::new(0);
    let mut rng = Rng(31);
    let held =
        |c: &Clusters| -> Vec<(f64, u32)> { c.tiers.iter().map(|t| (t.sum, t.held)).collect() };
    let recounted = |c: &Clusters| -> Vec<(f64, u32)> {
        let mut c = c.clone();
        c.tiers.iter_mut().for_each(|t| t.recount(cfg.sketch_bits));
        c.tiers.iter().map(|t| (t.sum, t.held)).collect()
    };
    for day in 0..3i64 {
        for i in 0..2000u64 {
            // Every tier: 3..=14 supporters, and crowds.
            let n = 3 + rng.below(12) as usize;
            c.record(&rng.pick(0, 500, n), i, &cfg, 10_000);
            c.record_in(Tier::Crowd, &rng.pick(0, 500, 16), i, &cfg, 10_000);
            c.exposed(&rng.pick(0, 500, 2), &cfg);
            c.seen(&rng.pick(0, 500, 3), &cfg);
        }
        assert!(held(&c).iter().all(|&(s, h)| s > 0.0 && h > 0));
        assert_eq!(held(&c), recounted(&c), "day {day}");
        c.rotate((day + 1) * cfg.generation, &cfg);
        assert_eq!(held(&c), recounted(&c), "after rotation {day}");
    }
    let restored = Clusters::from_records(
        c.rotated(),
        Tier::ALL.map(|t| c.records(t)),
        (&c.exposure_records(), &c.seen_records()),
        &cfg,
        10_000,
    );
    assert_eq!(held(&restored), held(&c));
    assert_eq!(restored.exposure, c.exposure);
    assert_eq!(restored.seen, c.seen);
    assert!(c.exposure.known());
    // The rare partners' likelihood, as scaled after the last rotation, is scaled alike.
    let rare = |c: &Clusters| -> Vec<(u32, f64)> {
        c.tiers.iter().map(|t| (t.rare_held, t.rare)).collect()
    };
    // (Drawn evenly from 500 reporters, nearly every partner is rare: at most all of them.)
    assert!(
        rare(&c)
            .iter()
            .all(|&(n, s)| n > 0 && s > 0.9 && s < 1.0 + 1e-9),
        "{:?}",
        rare(&c)
    );
    for (a, b) in rare(&restored).into_iter().zip(rare(&c)) {
        assert_eq!(a.0, b.0);
        assert!((a.1 - b.1).abs() < 1e-9, "{a:?} {b:?}");
    }
    // `generations` later every partner is forgotten, and nothing is held (frequent-partner
    // counts, a quarter of what they were, go some generations later).
    c.rotate(c.rotated() + cfg.generations as i64 * cfg.generation, &cfg);
    assert_eq!(held(&c), vec![(0.0, 0); Tier::ALL.len()]);
    assert_eq!(c.exposure.total(), 0);
    c.rotate(
        c.rotated() + 8 * cfg.generations as i64 * cfg.generation,
        &cfg,
    );
    assert!(c.is_empty());
}
