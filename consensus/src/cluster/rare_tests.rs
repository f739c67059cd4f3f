//! Sketches: rare partners, the set test, summaries and the crowd tier.

use super::tests::{Rng, cfg, linked_share, shared_partners_only};
use super::*;

#[test]
fn a_heavily_exposed_colluder_is_linked_by_the_rare_partners_it_shares_with_its_coalition() {
    // 3,200 reporters hit by rare attackers, a tenth of them (ids 0..20 and 200..500) ten
    // times as often as the others; ids 0..200 are also a coalition pushing with 5. A heavy
    // colluder's pushes are few beside its honest partners, and its honest partners are
    // mostly heavy ones, which any two heavy reporters share: counted bit for bit, its
    // overlap with the coalition is lost in what chance predicts. Weighted by how rare each
    // shared partner is, the light colluders it shares stand out.
    let world = |cfg: &Cluster| heavy_world(cfg, 5, 1200);
    let share = |c: &Clusters, cfg: &Cluster, a: (u32, u32), b: (u32, u32)| {
        let mut rng = Rng(5);
        let mut linked = 0;
        for _ in 0..1000 {
            let (x, y) = (a.0 + rng.below(a.1), b.0 + rng.below(b.1));
            linked += usize::from(x != y && c.linked(x, y, cfg));
        }
        linked as f64 / 1000.0
    };
    let cfg = shared_partners_only();
    let unweighted = Cluster {
        rare_z: 0.0,
        ..cfg.clone()
    };
    let (c, u) = (world(&cfg), world(&unweighted));
    let colluders = |c: &Clusters, cfg: &Cluster| {
        (
            share(c, cfg, (0, 20), (20, 180)),
            share(c, cfg, (0, 20), (0, 20)),
        )
    };
    let (weighted, counted) = (colluders(&c, &cfg), colluders(&u, &unweighted));
    assert!(
        weighted.0 > 0.9 && weighted.1 > 0.6,
        "heavy-light, heavy-heavy colluders linked: {weighted:?} (by counts {counted:?})"
    );
    assert!(counted.0 < 0.6 && counted.1 < 0.1, "by counts: {counted:?}");
    for (a, b) in [
        ((200, 300), (500, 2700)),
        ((200, 300), (200, 300)),
        ((500, 2700), (500, 2700)),
    ] {
        let (honest, by_counts) = (share(&c, &cfg, a, b), share(&u, &unweighted, a, b));
        assert!(
            honest < 0.05 && honest <= by_counts + 0.01,
            "honest {a:?}-{b:?} linked: {honest} (by counts {by_counts})"
        );
    }
}

/// 3,200 reporters hit by rare attackers, a tenth of them (ids 0..20 and 200..500) ten times
/// as often as the others (in crowds too); ids 0..200 also push together `pushes` times,
/// `push` at a time.
fn heavy_world(cfg: &Cluster, push: usize, pushes: u64) -> Clusters {
    let heavy = |r: u32| r < 20 || (200..500).contains(&r);
    let draw = |rng: &mut Rng| loop {
        let r = rng.below(3200);
        if heavy(r) || rng.below(10) == 0 {
            return r;
        }
    };
    let tally = |rng: &mut Rng, n: usize| {
        let mut t = Vec::with_capacity(n);
        while t.len() < n {
            let r = draw(rng);
            if !t.contains(&r) {
                t.push(r);
            }
        }
        t
    };
    let mut c = Clusters::new(0);
    let mut rng = Rng(31);
    for i in 0..20_000u64 {
        let n = 3 + rng.below(6) as usize;
        c.record(&tally(&mut rng, n), i, cfg, 10_000);
    }
    for _ in 0..3000 {
        c.exposed(&tally(&mut rng, 12), cfg);
    }
    for i in 0..pushes {
        c.record(&rng.pick(0, 200, push), 1 << 32 | i, cfg, 10_000);
    }
    c
}

#[test]
fn k_supporters_beyond_chance_as_a_set_count_as_one_group() {
    // Exactly-K pushes: each heavy colluder's two partners a push are few beside its honest
    // small tallies, so a pair of heavy colluders, or a heavy and a light one, is often not
    // linked; three of them together still share rare partners beyond chance. (`set_z` is 3
    // by default; 3.5 here, in a world smaller than the simulation's.)
    let cfg = Cluster {
        set_z: 3.5,
        ..shared_partners_only()
    };
    let pairs_only = Cluster {
        set_z: 0.0,
        ..cfg.clone()
    };
    // Three supporters are three groups (the default, transitive) unless two are linked:
    // the set test passes over the same sets whether groups or unlinked pairs are counted.
    let unlinked = Cluster {
        transitive: false,
        ..cfg.clone()
    };
    let c = heavy_world(&cfg, 3, 1000);
    let mut rng = Rng(8);
    let w = |r| (r, 0.6);
    let mut rate = |heavy: (u32, u32), light: (u32, u32)| {
        let (mut set, mut pairs) = (0, 0);
        for _ in 0..1000 {
            let h = rng.pick(heavy.0, heavy.1, 2);
            let l = light.0 + rng.below(light.1);
            let mut s = [w(h[0]), w(h[1]), w(l)];
            let independent = c.independent(&mut s, 3, 1.2, &cfg);
            assert_eq!(independent, c.independent(&mut s, 3, 1.2, &unlinked));
            set += usize::from(independent);
            pairs += usize::from(c.independent(&mut s, 3, 1.2, &pairs_only));
        }
        (set as f64 / 1000.0, pairs as f64 / 1000.0)
    };
    let colluders = rate((0, 20), (20, 180));
    let honest = rate((200, 300), (500, 2700));
    assert!(
        colluders.0 < 0.5 * colluders.1,
        "colluders independent: {colluders:?}"
    );
    assert!(honest.0 > 0.97 * honest.1, "honest independent: {honest:?}");
}

#[test]
fn summaries_kept_between_checks_agree_with_fresh_ones() {
    // Sketches summarized once are reused until the table or the sketch changes: as records,
    // crowds and rotations go on, every comparison equals one made with nothing kept.
    let cfg = cfg();
    let mut c = heavy_world(&cfg, 3, 300);
    let mut rng = Rng(12);
    let mut compared = 0;
    for i in 0..4000u64 {
        match i % 4 {
            0 => c.record(&rng.pick(0, 400, 3), 7 << 32 | i, &cfg, 10_000),
            1 => c.exposed(&rng.pick(0, 400, 12), &cfg),
            _ => {}
        }
        if i % 1000 == 999 {
            c.rotate(c.rotated() + cfg.generation, &cfg);
        }
        let p = rng.pick(0, 400, 2);
        for t in Tier::ALL {
            // Summarized (and kept) for the comparison, then asked for again.
            c.pair(p[0], p[1], t, &cfg);
            let tier = &c.tiers[t as usize];
            for r in p.iter().chain(&rng.pick(0, 400, 2)) {
                if let Some(s) = tier.by.get(r) {
                    let kept = tier.summarize(*r, s, cfg.sketch_bits / 64).summary;
                    assert_eq!(kept, tier.summary(s, cfg.sketch_bits / 64), "{i} {t:?}");
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 10_000, "{compared}");
}

#[test]
fn the_quick_link_test_agrees_with_the_full_comparison() {
    // Every tier, colluders and crowd, heavy and light: checking frequent partners and the
    // count of shared bits first decides as comparing everything does.
    let cfg = cfg();
    let c = heavy_world(&cfg, 5, 1200);
    let words = cfg.sketch_bits / 64;
    let mut rng = Rng(3);
    let (mut linked, mut compared) = (0, 0);
    for i in 0..3000 {
        // Half of the pairs among the coalition (0..200), half among everyone.
        let p = rng.pick(0, if i % 2 == 0 { 200 } else { 3200 }, 2);
        for t in Tier::ALL {
            let sketches = &c.tiers[t as usize];
            let (Some(a), Some(b)) = (sketches.by.get(&p[0]), sketches.by.get(&p[1])) else {
                continue;
            };
            let full = c.pair(p[0], p[1], t, &cfg).unwrap().linked(&cfg);
            let quick = sketches.linked(t, (p[0], a), (p[1], b), words, &cfg);
            assert_eq!(quick, full, "{:?}", c.pair(p[0], p[1], t, &cfg));
            compared += 1;
            linked += usize::from(full);
        }
    }
    assert!(compared > 3000 && linked > 1000, "{linked} of {compared}");
}

#[test]
fn a_coalition_pushing_crowds_is_linked_in_the_crowd_tier_unless_its_pushes_count_as_exposure() {
    // 3,000 reporters, the first 500 colluders. 12,000 honest crowds of 16 drawn from
    // everyone (counted as exposure: a seed saw them), then 1,200 pushes of 16 colluders
    // (38 each, a third of what they see of honest crowds).
    let cfg = Cluster {
        crowd_exposure_vouched: true,
        ..cfg()
    };
    let run = |pushes_exposed: bool| {
        let mut c = Clusters::new(0);
        let mut rng = Rng(57);
        for i in 0..12_000u64 {
            let crowd = rng.pick(0, 3000, 16);
            c.record_in(Tier::Crowd, &crowd, i, &cfg, 10_000);
            c.seen(&crowd, &cfg);
        }
        for i in 0..1200u64 {
            let push = rng.pick(0, 500, 16);
            c.record_in(Tier::Crowd, &push, 1 << 32 | i, &cfg, 10_000);
            if pushes_exposed {
                c.seen(&push, &cfg);
            }
        }
        assert!(c.seen.known());
        let mut rng = Rng(5);
        (
            linked_share(&c, &mut rng, 0, 500, &cfg),
            linked_share(&c, &mut rng, 500, 2500, &cfg),
        )
    };
    let (coalition, honest) = run(false);
    assert!(coalition > 0.5, "coalition pairs linked: {coalition}");
    assert!(honest < 0.01, "honest pairs linked: {honest}");
    // Had its pushes counted as exposure, its members would look exposed, and their
    // sharing each other expected.
    let (inflated, _) = run(true);
    assert!(
        inflated < coalition - 0.25,
        "{inflated} against {coalition}"
    );
    // Crowds are recorded only in their tier, and only there.
    let mut c = Clusters::new(0);
    c.record(&(0..16).collect::<Vec<_>>(), 1, &cfg, 100);
    assert!(c.is_empty(), "a full tally is not recorded by its size");
}
