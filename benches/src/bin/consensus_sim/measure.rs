//! Measuring a replayed day against the ground truth; the printed rows.

use std::net::Ipv4Addr;
use std::time::Instant;

use consensus::Consensus;
use consensus::cluster::Tier;

use crate::world::{
    Attack, Day, Ev, INNOCENT_BASE, INNOCENTS_PER_DAY, Knobs, REPORTERS, Rng, SCENARIOS, SEEDS,
    attacker_ip, merged, replay,
};

pub fn name(i: u32) -> String {
    if i < REPORTERS {
        format!("r{i:05}")
    } else {
        format!("sybil{i:05}")
    }
}

pub fn duration(secs: i64) -> String {
    if secs >= 3600 {
        format!("{}h{:02}m", secs / 3600, secs % 3600 / 60)
    } else {
        format!("{}m{:02}s", secs / 60, secs % 60)
    }
}

/// Honest reporters' mean confirmed and unconfirmed counts, and their trust quartiles.
pub fn trust_profile(c: &Consensus) -> String {
    let mut trust = Vec::new();
    let (mut conf, mut unconf) = (0.0, 0.0);
    for i in SEEDS..REPORTERS {
        if let Some(r) = c.reporters().find(&name(i)).map(|r| c.reporters().get(r)) {
            conf += r.confirmed;
            unconf += r.unconfirmed;
            trust.push(r.trust);
        }
    }
    trust.sort_by(f32::total_cmp);
    let n = trust.len().max(1);
    let q = |p: f64| {
        trust
            .get((trust.len() as f64 * p) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    format!(
        "non-seed reporters: mean confirmed {:.1}, mean charged {:.1}, trust p25/p50/p75 {:.2}/{:.2}/{:.2}",
        conf / n as f64,
        unconf / n as f64,
        q(0.25),
        q(0.5),
        q(0.75)
    )
}

pub fn established(c: &Consensus, colluder: &[bool]) -> (usize, usize) {
    let mut out = (0, 0);
    for i in 0..REPORTERS {
        if c.standing(&name(i)).is_some_and(|(_, e)| e) {
            if colluder[i as usize] {
                out.1 += 1
            } else {
                out.0 += 1
            }
        }
    }
    out
}

/// Replays one measured day (after what the day before left, `carry`) on a copy of the
/// warmed-up consensus; prints its row. Only the day's own attackers and pushes are counted.
#[allow(clippy::too_many_arguments)]
pub fn measure(
    c: &Consensus,
    carry: &[Ev],
    day: &Day,
    day_index: usize,
    names: &[String],
    k: usize,
    colluder: &[bool],
    (attack, label): (Attack, &str),
) {
    let share = colluder.iter().filter(|c| **c).count() as f64 / f64::from(REPORTERS);
    let mut c = c.clone();
    let mut listed = vec![i64::MAX; day.attackers.len()];
    let mut fp = 0u64;
    let base = attacker_ip(day_index, 0);
    let innocents = INNOCENT_BASE + day_index as u32 * INNOCENTS_PER_DAY;
    let innocents = innocents..innocents + INNOCENTS_PER_DAY;
    let events = merged(carry, &day.events);
    let start = crate::world::T0 + day_index as i64 * crate::world::DAY;
    // Pushes listed, by hour of the day (a day's last pushes are listed in the next one's
    // first hours: 24 and beyond).
    let mut by_hour = [0u32; 37];
    let secs = replay(&mut c, &events, names);
    // Targets held (`hold`) are listed when time moves past their hold, not by a report:
    // listings are read from the feed once the day's reports have all left the window
    // (and been charged or confirmed), time moving in steps as a live consensus sees it.
    let last = events.last().map_or(0, |e| e.t);
    let mut at = last;
    while at < last + c.rules().window {
        at = (at + 300).min(last + c.rules().window);
        c.advance(at);
    }
    for e in c.feed().entries() {
        let t = e.target;
        if t.is_v6() || t.is_range() {
            continue;
        }
        let (ip, t) = (t.bounds().0 as u32, e.listed_at);
        if ip >= INNOCENT_BASE {
            if innocents.contains(&ip) {
                fp += 1;
                by_hour[((t - start) / 3600).clamp(0, 36) as usize] += 1;
            }
        } else if let Some(slot) = ip
            .checked_sub(base)
            .and_then(|i| listed.get_mut(i as usize))
        {
            *slot = t;
        }
    }
    if fp > 0 {
        eprintln!("{label}: pushes listed by hour {by_hour:?}");
    }
    let tp = listed.iter().filter(|t| **t != i64::MAX).count() as u64;
    let qualified: Vec<usize> = (0..day.attackers.len())
        .filter(|&i| day.attackers[i].1 as usize >= k)
        .collect();
    let recalled = qualified.iter().filter(|&&i| listed[i] != i64::MAX).count();
    let mut ttl: Vec<i64> = (0..listed.len())
        .filter(|&i| listed[i] != i64::MAX)
        .map(|i| listed[i] - day.attackers[i].0)
        .collect();
    ttl.sort_unstable();
    let pct = |p: f64| {
        ttl.get(((ttl.len() as f64 * p) as usize).min(ttl.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    let precision = if tp + fp == 0 {
        1.0
    } else {
        tp as f64 / (tp + fp) as f64
    };
    // Colluders still established once the day's reports left the window (and were charged
    // or confirmed); for Sybils, the reporters created that day.
    let standing = match attack {
        Attack::PoisonSybils => (REPORTERS..REPORTERS + (share * f64::from(REPORTERS)) as u32)
            .filter(|&i| c.standing(&name(i)).is_some_and(|(_, e)| e))
            .count(),
        _ => established(&c, colluder).1,
    };
    println!(
        "| {:>4.0}% | {:<20} | {:>9} | {:>6} / {:>5} (of {:>5}) | {:>8.3}% | {:>6.2}% of {:>6} | {:>7} | {:>7} | {:>5} | {:>9.0} |",
        share * 100.0,
        label,
        events.len(),
        tp,
        fp,
        day.innocents,
        precision * 100.0,
        recalled as f64 * 100.0 / qualified.len().max(1) as f64,
        qualified.len(),
        duration(pct(0.5)),
        duration(pct(0.95)),
        standing,
        events.len() as f64 / secs,
    );
}

/// Signals/s through `observe_signal` (wire signal parsed: address, RFC 3339 times).
pub fn wire_rate(c: &Consensus, day: &Day, names: &[String]) -> f64 {
    let signals: Vec<wire::signal::Signal> = day.events[..day.events.len().min(500_000)]
        .iter()
        .map(|e| {
            let at = consensus::duration::format_rfc3339(e.t);
            wire::signal::Signal {
                v: wire::signal::SIGNAL_VERSION,
                reporter: names[e.reporter as usize].clone(),
                scenario: SCENARIOS[e.scenario as usize].to_string(),
                scope: "Ip".into(),
                value: Ipv4Addr::from(e.ip).to_string(),
                first_seen: at.clone(),
                last_seen: at,
                events: 5,
            }
        })
        .collect();
    let mut c = c.clone();
    let t = Instant::now();
    for (s, e) in signals.iter().zip(&day.events) {
        let _ = c.observe_signal(s, e.t);
    }
    signals.len() as f64 / t.elapsed().as_secs_f64()
}

/// Random honest pairs and random colluder pairs (and, with heavy reporters, honest pairs
/// of a heavy and a light one, and of two heavy ones): the share the rule links (in either
/// tier), and per tier their mean co-reports, partner bits, shared bits and shared bits
/// expected by chance.
pub fn links(
    c: &Consensus,
    colluder: &[bool],
    knobs: &Knobs,
    names: &[String],
    rng: &mut Rng,
) -> String {
    let pick = |rng: &mut Rng, want: bool, heavy: Option<bool>| loop {
        let r = SEEDS + rng.below(u64::from(REPORTERS - SEEDS)) as u32;
        if colluder[r as usize] == want && heavy.is_none_or(|h| knobs.is_heavy(r) == h) {
            return r;
        }
    };
    let mut groups = vec![
        ("honest", false, None, None),
        ("colluders", true, None, None),
    ];
    if !knobs.exposure.is_empty() {
        groups.push(("honest heavy-light", false, Some(true), Some(false)));
        groups.push(("honest heavy-heavy", false, Some(true), Some(true)));
        groups.push(("colluders light-light", true, Some(false), Some(false)));
        groups.push(("colluders heavy-light", true, Some(true), Some(false)));
        groups.push(("colluders heavy-heavy", true, Some(true), Some(true)));
    }
    let mut out = busy(c, colluder, knobs, names);
    for (label, want, ha, hb) in groups {
        let n = 2000;
        let mut linked = 0;
        // Per tier: co-reports, partner bits, shared bits, expected.
        let mut sums = [[0.0f64; 9]; Tier::ALL.len()];
        for _ in 0..n {
            if !colluder.contains(&want) {
                continue;
            }
            let (a, b) = (pick(rng, want, ha), pick(rng, want, hb));
            if a == b {
                continue;
            }
            let (a, b) = (&names[a as usize], &names[b as usize]);
            linked += usize::from(c.linked(a, b));
            for tier in Tier::ALL {
                if let Some(p) = c.co_reporting(a, b, tier) {
                    let sum = &mut sums[tier as usize];
                    sum[0] += f64::from(p.co_reports);
                    sum[1] += f64::from(p.partners.0);
                    sum[2] += f64::from(p.shared);
                    sum[3] += p.expected;
                    sum[4] += p.rare_weighted;
                    sum[5] += p.rare_expected;
                    if let Some(z) = p.rare_deviation() {
                        sum[6] += z;
                        sum[7] += z * z;
                        sum[8] += 1.0;
                    }
                }
            }
        }
        let n = f64::from(n);
        out.push_str(&format!("{label}: linked {:.4}", linked as f64 / n));
        for tier in Tier::ALL {
            let name = tier.name();
            let [co, bits, shared, exp, w, wexp, ..] = sums[tier as usize].map(|x| x / n);
            let [.., z, z2, zn] = sums[tier as usize];
            let (mz, sz) = if zn > 0.0 {
                let m = z / zn;
                (m, (z2 / zn - m * m).max(0.0).sqrt())
            } else {
                (0.0, 0.0)
            };
            out.push_str(&format!(
                ", {name}: co-reports {co:.2}, bits {bits:.0}, shared {shared:.1} (chance {exp:.1}), weighted {w:.1} (chance {wexp:.1}, z {mz:.2} ± {sz:.2} over {:.0}%)",
                100.0 * zn / n
            ));
        }
        out.push_str("; ");
    }
    out
}

/// Honest reporters and colluders (heavy ones apart too, with heavy reporters): mean recent
/// small tallies, what their history predicts, excess (standard deviations, in the tier and
/// window where it is most), and the share that is busy.
fn busy(c: &Consensus, colluder: &[bool], knobs: &Knobs, names: &[String]) -> String {
    let z = c.rules().cluster.busy_z;
    let mut out = String::new();
    for (label, want, heavy) in [
        ("honest", false, None),
        ("colluders", true, None),
        ("honest heavy", false, Some(true)),
        ("colluders heavy", true, Some(true)),
    ] {
        if heavy.is_some() && knobs.exposure.is_empty() {
            continue;
        }
        let (mut n, mut small, mut predicted, mut excess, mut busy) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for r in SEEDS..REPORTERS {
            if colluder[r as usize] != want || heavy.is_some_and(|h| knobs.is_heavy(r) != h) {
                continue;
            }
            if let Some((s, p, e)) = c.activity(&names[r as usize]) {
                n += 1.0;
                small += s;
                predicted += p;
                let e = e.unwrap_or(0.0);
                excess += e;
                busy += f64::from(u8::from(z > 0.0 && e >= z));
            }
        }
        if n > 0.0 {
            out.push_str(&format!(
                "{label}: recent small {:.1}, predicted {:.1}, excess {:.2}, busy {:.2}%; ",
                small / n,
                predicted / n,
                excess / n,
                100.0 * busy / n
            ));
        }
    }
    out
}
