//! A day of community signals replayed through the consensus, as fast as it goes.
//!
//! 10,000 reporters, 100 of them the operator's seeded sensors. Attackers hit a number of
//! reporters that follows a Pareto law (most hit one or two, a few scanners hit thousands),
//! over a few hours; a reporter detects a hit with probability 0.9 and sometimes reports it
//! twice. Warm-up days where everybody behaves let reporters earn trust; then, on the measured
//! day, a share of the reporters collude:
//! - `poison/sleepers`: colluders that earned trust during the warm-up push innocent
//!   addresses, coordinated (each address by K+2 colluders within ten minutes, or as many as
//!   `--push-members` says), 30 pushes a day each,
//!   while reporting real attacks as before;
//! - `poison/sleepers-k`: the same with exactly K colluders per push (10 pushes a day each);
//! - `… d3`: the same coalition pushing every day, the measured day being its third
//!   (`--attack-days`): what co-reporting clusters learn from the days before;
//! - `poison/sybils`: the same pushes from as many reporters created that day;
//! - `poison/solo`: established colluders that lie without coordinating (each pushes 30
//!   addresses of its own a day);
//! - `hide`: colluders withhold their reports of half of the attackers.
//!
//! With `--heavy SHARE,WEIGHT`, SHARE of the reporters are hit WEIGHT times as often as the
//! others (real members differ: a hosting provider sees far more than a home server); the
//! `d3` diagnostics then also show honest pairs of a heavy and a light reporter, and of two
//! heavy ones. `--push-members 3,5` makes pushes take those sizes in turn; `--push-rate N`
//! makes each colluder report N innocent addresses a day rather than 30 (a slower coalition).
//!
//! Time only goes forward: an attack that began late in a day goes on into the next, and is
//! replayed with the next day's signals (the measured day after what the day before left);
//! only the measured day's own attackers and pushes are counted.
//!
//! Printed per case: precision of what was listed that day, recall for attackers seen by at
//! least K honest reporters, time from an attacker's first hit to its listing, and signals/s
//! through `Consensus::observe` on one core (plus a run through `observe_signal`, which also
//! parses the wire signal's times and address).
//!
//! `cargo run --release -p benches --bin consensus_sim -- [--attackers N] [--warmup-days D]
//! [--seed S] [--attack-days D] [--shares 0.01,0.1] [--only ATTACK] [--push-members N[,N...]] [--push-rate N] [--heavy SHARE,WEIGHT] [--set key=value ...]` (`--set` takes the consensus settings' YAML keys, e.g.
//! `--set threshold=2.0`).

mod measure;
mod world;

use consensus::config::SeedConfig;
use consensus::{Allowlist, Consensus, ConsensusConfig};

use measure::{established, links, measure, name, trust_profile, wire_rate};
use world::{Attack, Knobs, POISON_PER_COLLUDER, REPORTERS, Rng, SEEDS, T0, gen_day, replay_day};

/// The default settings with the seeds and every `--set key=value` (dotted keys for
/// sections: `trust.min_trust=0.5`).
fn settings() -> ConsensusConfig {
    let args: Vec<String> = std::env::args().collect();
    let mut top = String::new();
    let mut sections: std::collections::BTreeMap<String, String> = Default::default();
    for w in args.windows(2).filter(|w| w[0] == "--set") {
        let Some((key, value)) = w[1].split_once('=') else {
            continue;
        };
        match key.split_once('.') {
            Some((section, key)) => sections
                .entry(section.to_string())
                .or_default()
                .push_str(&format!("  {key}: {value}\n")),
            None => top.push_str(&format!("{key}: {value}\n")),
        }
    }
    for (section, body) in sections {
        top.push_str(&format!("{section}:\n{body}"));
    }
    let mut cfg = match ConsensusConfig::from_yaml(&top, std::path::Path::new("--set")) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    cfg.seeds = (0..SEEDS)
        .map(|i| SeedConfig {
            reporter: name(i),
            confirmed: 20.0,
        })
        .collect();
    cfg
}

fn main() {
    let attackers: usize = benches::arg("--attackers")
        .and_then(|v| v.parse().ok())
        .unwrap_or(400_000);
    let warmup: usize = benches::arg("--warmup-days")
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let seed: u64 = benches::arg("--seed")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let attack_days: usize = benches::arg("--attack-days")
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let cfg = settings();
    let rules = match cfg.validate() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let k = rules.min_reporters;
    let exposure = benches::arg("--heavy")
        .and_then(|v| {
            let (share, weight) = v.split_once(',')?;
            Some(Knobs::heavy(share.parse().ok()?, weight.parse().ok()?))
        })
        .unwrap_or_default();
    let members = Knobs {
        sleepers: benches::arg("--push-members")
            .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
            .filter(|v: &Vec<usize>| !v.is_empty() && v.iter().all(|&n| n >= 1))
            .unwrap_or(vec![k + 2]),
        sleepers_k: k,
        push_rate: benches::arg("--push-rate")
            .and_then(|v| v.parse().ok())
            .unwrap_or(POISON_PER_COLLUDER),
        exposure,
    };
    println!(
        "rule: K={k} T={} window={}s ttl={}s min_confirmed={} min_trust={} unconfirmed_cost={}",
        rules.threshold,
        rules.window,
        rules.entry_ttl,
        rules.min_confirmed,
        rules.min_trust,
        rules.unconfirmed_cost
    );
    let names: Vec<String> = (0..REPORTERS * 13 / 10).map(name).collect();
    let mut c = Consensus::new(rules, Allowlist::default(), T0);
    let mut rng = Rng(seed);
    let nobody = vec![false; REPORTERS as usize];
    let mut carry = Vec::new();
    for d in 0..warmup {
        let day = gen_day(&mut rng, d, attackers, &nobody, Attack::None, &members);
        let (n, secs) = replay_day(&mut c, &mut carry, &day, d, &names);
        let (est, _) = established(&c, &nobody);
        println!(
            "warm-up day {}: {} signals in {:.2}s ({:.0}/s), {} reporters established, {} listed, {} tallied",
            d + 1,
            n,
            secs,
            n as f64 / secs,
            est,
            c.feed().active_len(),
            c.tallied()
        );
        println!("  {}", trust_profile(&c));
        println!("  {} reporters with a co-reporting sketch", c.sketched());
    }
    let mut order: Vec<u32> = (SEEDS..REPORTERS).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    println!();
    println!(
        "| colluders | attack | signals | listed attackers / innocents (pushed) | precision | recall (seen by ≥K honest) | time to listing p50 | p95 | colluders established after | signals/s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let day_seed = seed.wrapping_mul(0x9E37_79B9) ^ 0xDA7;
    let base = gen_day(
        &mut Rng(day_seed),
        warmup,
        attackers,
        &nobody,
        Attack::None,
        &members,
    );
    eprintln!(
        "after warm-up: {}",
        links(&c, &nobody, &members, &names, &mut Rng(day_seed))
    );
    measure(
        &c,
        &carry,
        &base,
        warmup,
        &names,
        k,
        &nobody,
        (Attack::None, "none"),
    );
    let shares: Vec<f64> = benches::arg("--shares")
        .map(|v| v.split(',').filter_map(|s| s.parse().ok()).collect())
        .unwrap_or_else(|| vec![0.01, 0.1, 0.3]);
    let only: Option<String> = benches::arg("--only");
    for share in shares {
        let n = (f64::from(REPORTERS) * share) as usize;
        let mut colluder = vec![false; REPORTERS as usize];
        for &r in &order[..n] {
            colluder[r as usize] = true;
        }
        let (honest, sleepers) = established(&c, &colluder);
        eprintln!(
            "{:.0}% colluders: {sleepers} of {n} established (honest: {honest})",
            share * 100.0
        );
        let attacks = [
            Attack::PoisonSleepers,
            Attack::PoisonSleepersK,
            Attack::PoisonSybils,
            Attack::PoisonSolo,
            Attack::Hide,
        ];
        for attack in attacks {
            if only.as_deref().is_some_and(|o| o != attack.name()) {
                continue;
            }
            let day = gen_day(
                &mut Rng(day_seed),
                warmup,
                attackers,
                &colluder,
                attack,
                &members,
            );
            measure(
                &c,
                &carry,
                &day,
                warmup,
                &names,
                k,
                &colluder,
                (attack, attack.name()),
            );
        }
        // The same coalition, pushing every day: the measured day is its `attack_days`-th.
        for attack in [Attack::PoisonSleepers, Attack::PoisonSleepersK] {
            if only.as_deref().is_some_and(|o| o != attack.name()) {
                continue;
            }
            let mut c = c.clone();
            let mut carry = carry.clone();
            let mut rng = Rng(day_seed ^ 0xA77);
            for d in 0..attack_days.saturating_sub(1) {
                let day = gen_day(&mut rng, warmup + d, attackers, &colluder, attack, &members);
                replay_day(&mut c, &mut carry, &day, warmup + d, &names);
            }
            eprintln!(
                "{:.0}% {} d{attack_days}: {}",
                share * 100.0,
                attack.name(),
                links(&c, &colluder, &members, &names, &mut rng)
            );
            let at = warmup + attack_days.saturating_sub(1);
            let day = gen_day(
                &mut Rng(day_seed),
                at,
                attackers,
                &colluder,
                attack,
                &members,
            );
            let label = format!("{} d{attack_days}", attack.name());
            measure(&c, &carry, &day, at, &names, k, &colluder, (attack, &label));
        }
    }
    println!();
    println!(
        "through observe_signal (wire parsing included): {:.0} signals/s",
        wire_rate(&c, &base, &names)
    );
}
