//! The simulated world: reporters, attackers and colluders, one day of signals at a time.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use consensus::{Consensus, Observation, Target};

/// SplitMix64: deterministic for a seed, whatever the `rand` version.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
}

pub const REPORTERS: u32 = 10_000;
pub const SEEDS: u32 = 100;
pub const DAY: i64 = 86_400;
/// Midnight UTC.
pub const T0: i64 = 1_699_920_000;
pub const SCENARIOS: [&str; 8] = [
    "crowdsecurity/ssh-bf",
    "crowdsecurity/ssh-slow-bf",
    "crowdsecurity/http-probing",
    "crowdsecurity/http-crawl-non_statics",
    "crowdsecurity/http-sensitive-files",
    "crowdsecurity/http-bad-user-agent",
    "crowdsecurity/http-path-traversal-probing",
    "crowdsecurity/CVE-2021-41773",
];
pub const REACH_ALPHA: f64 = 1.1;
pub const REACH_CAP: u32 = 3000;
pub const DETECT: f64 = 0.9;
pub const REPEAT: f64 = 0.3;
pub const POISON_PER_COLLUDER: usize = 30;

#[derive(Clone, Copy)]
pub struct Ev {
    pub t: i64,
    pub reporter: u32,
    pub ip: u32,
    pub scenario: u8,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Attack {
    None,
    PoisonSleepers,
    /// Sleepers pushing with exactly K colluders (fewer co-reports per push).
    PoisonSleepersK,
    PoisonSybils,
    PoisonSolo,
    Hide,
}

impl Attack {
    pub fn name(self) -> &'static str {
        match self {
            Attack::None => "none",
            Attack::PoisonSleepers => "poison/sleepers",
            Attack::PoisonSleepersK => "poison/sleepers-k",
            Attack::PoisonSybils => "poison/sybils",
            Attack::PoisonSolo => "poison/solo",
            Attack::Hide => "hide",
        }
    }
}

/// One generated day: its signals (sorted by time) and its attackers' ground truth.
pub struct Day {
    pub events: Vec<Ev>,
    /// Per attacker: first hit, honest reporters that reported it.
    pub attackers: Vec<(i64, u32)>,
    pub innocents: u32,
}

pub fn attacker_ip(day: usize, i: usize) -> u32 {
    // 11.0.0.0/8: public, not allowlisted, 1M attackers a day for up to 16 days.
    0x0B00_0000 + (day * 1_000_000 + i) as u32
}
pub const INNOCENT_BASE: u32 = 0x0C00_0000;
/// Innocent addresses a day may push (each day its own, so no push hits an entry still listed).
pub const INNOCENTS_PER_DAY: u32 = 200_000;

/// How the world is drawn beyond its constants.
#[derive(Debug, Clone)]
pub struct Knobs {
    /// Colluders per push in `poison/sleepers` (K + 2 unless `--push-members` says
    /// otherwise; with several sizes, pushes take them in turn).
    pub sleepers: Vec<usize>,
    /// Colluders per push in `poison/sleepers-k` (K).
    pub sleepers_k: usize,
    /// Innocent addresses each colluder reports a day (`POISON_PER_COLLUDER` unless
    /// `--push-rate` says otherwise).
    pub push_rate: usize,
    /// Cumulative exposure of reporters 0.. (empty: every reporter is hit as often; else
    /// attackers pick their victims in proportion to it: `--heavy SHARE,WEIGHT`).
    pub exposure: Vec<u64>,
}

impl Knobs {
    /// A victim, drawn as exposure says.
    fn victim(&self, rng: &mut Rng) -> u32 {
        match self.exposure.last() {
            None => rng.below(u64::from(REPORTERS)) as u32,
            Some(&total) => {
                let u = rng.below(total);
                self.exposure.partition_point(|&c| c <= u) as u32
            }
        }
    }

    /// Exposure where `share` of the reporters (not the seeds), picked by a hash, are hit
    /// `weight` times as often as the others.
    pub fn heavy(share: f64, weight: u64) -> Vec<u64> {
        let mut total = 0;
        (0..REPORTERS)
            .map(|r| {
                let h = Rng(u64::from(r) ^ 0x4EA7).next() % 1_000_000;
                let heavy = r >= SEEDS && (h as f64) < share * 1e6;
                total += if heavy { weight } else { 1 };
                total
            })
            .collect()
    }

    /// Whether reporter `r` is one of the heavy ones.
    pub fn is_heavy(&self, r: u32) -> bool {
        let w = |i: usize| self.exposure[i] - if i == 0 { 0 } else { self.exposure[i - 1] };
        !self.exposure.is_empty() && w(r as usize) > 1
    }
}

pub fn gen_day(
    rng: &mut Rng,
    day: usize,
    attackers: usize,
    colluder: &[bool],
    attack: Attack,
    members: &Knobs,
) -> Day {
    let start = T0 + day as i64 * DAY;
    let mut events = Vec::with_capacity(attackers * 7);
    let mut truth = Vec::with_capacity(attackers);
    let mut stamp = vec![u32::MAX; REPORTERS as usize];
    for i in 0..attackers {
        let reach = ((1.0 - rng.unit()).powf(-1.0 / REACH_ALPHA) as u32).clamp(1, REACH_CAP);
        let first = start + rng.below(DAY as u64) as i64;
        let span = (-(1.0 - rng.unit()).ln() * 3.0 * 3600.0).min(12.0 * 3600.0) as i64 + 60;
        let hidden = attack == Attack::Hide && rng.unit() < 0.5;
        let scenario = rng.below(SCENARIOS.len() as u64) as u8;
        let ip = attacker_ip(day, i);
        let mut honest = 0;
        let mut hit = 0;
        while hit < reach {
            let v = members.victim(rng);
            if stamp[v as usize] == i as u32 {
                continue;
            }
            stamp[v as usize] = i as u32;
            hit += 1;
            // The first victim is hit at `first`, the others spread over the attack.
            let at = if hit == 1 {
                first
            } else {
                first + rng.below(span as u64) as i64
            };
            if rng.unit() >= DETECT || (hidden && colluder[v as usize]) {
                continue;
            }
            if !colluder[v as usize] {
                honest += 1;
            }
            let t = at + rng.below(60) as i64;
            events.push(Ev {
                t,
                reporter: v,
                ip,
                scenario,
            });
            if rng.unit() < REPEAT {
                events.push(Ev {
                    t: t + 60 + rng.below(1800) as i64,
                    reporter: v,
                    ip,
                    scenario,
                });
            }
        }
        truth.push((first, honest));
    }
    let innocent_base = INNOCENT_BASE + day as u32 * INNOCENTS_PER_DAY;
    let mut innocents = 0;
    if attack == Attack::PoisonSolo {
        for c in (0..REPORTERS).filter(|&r| colluder[r as usize]) {
            for _ in 0..members.push_rate {
                let t = start + rng.below(DAY as u64) as i64;
                events.push(Ev {
                    t,
                    reporter: c,
                    ip: innocent_base + innocents,
                    scenario: 0,
                });
                innocents += 1;
            }
        }
    }
    if matches!(
        attack,
        Attack::PoisonSleepers | Attack::PoisonSleepersK | Attack::PoisonSybils
    ) {
        let cols: Vec<u32> = match attack {
            Attack::PoisonSleepers | Attack::PoisonSleepersK => {
                (0..REPORTERS).filter(|&r| colluder[r as usize]).collect()
            }
            _ => {
                let n = colluder.iter().filter(|c| **c).count() as u32;
                (REPORTERS..REPORTERS + n).collect()
            }
        };
        // A random subset of the coalition for each push: no pair of colluders meets often.
        let sizes = if attack == Attack::PoisonSleepersK {
            vec![members.sleepers_k]
        } else {
            members.sleepers.clone()
        };
        // Each colluder still reports `push_rate` addresses a day, whatever the sizes.
        let mean = sizes.iter().sum::<usize>() as f64 / sizes.len() as f64;
        let pushes = (cols.len() * members.push_rate) as f64 / mean;
        let pushes = pushes as usize;
        for j in 0..pushes {
            let group = sizes[j % sizes.len()];
            let t0 = start + rng.below(DAY as u64) as i64;
            let mut chosen: Vec<u32> = Vec::with_capacity(group);
            while chosen.len() < group.min(cols.len()) {
                let c = cols[rng.below(cols.len() as u64) as usize];
                if !chosen.contains(&c) {
                    chosen.push(c);
                }
            }
            for c in chosen {
                let t = t0 + rng.below(600) as i64;
                events.push(Ev {
                    t,
                    reporter: c,
                    ip: innocent_base + j as u32,
                    scenario: 0,
                });
            }
        }
        innocents = pushes as u32;
    }
    events.sort_unstable_by_key(|e| (e.t, e.reporter, e.ip));
    Day {
        events,
        attackers: truth,
        innocents,
    }
}

/// Replays `events`; calls `listed(ip, t)` for each listing; returns the seconds it took.
/// The events `carry` (left by earlier days: attacks that began late and went on past
/// midnight) and those of a day, in time order.
pub fn merged(carry: &[Ev], events: &[Ev]) -> Vec<Ev> {
    let mut all = Vec::with_capacity(carry.len() + events.len());
    all.extend_from_slice(carry);
    all.extend_from_slice(events);
    all.sort_unstable_by_key(|e| (e.t, e.reporter, e.ip));
    all
}

/// Replays the `index`-th day's events after what earlier days left in `carry`, up to the
/// next day's start; what comes later is left in `carry` for the next day. Time only goes
/// forward, as a live consensus sees it: a day's late attacks go on while the next one's
/// begin. Returns the signals replayed and the seconds it took.
pub fn replay_day(
    c: &mut Consensus,
    carry: &mut Vec<Ev>,
    day: &Day,
    index: usize,
    names: &[String],
) -> (usize, f64) {
    let mut all = merged(carry, &day.events);
    let end = T0 + (index as i64 + 1) * DAY;
    let cut = all.partition_point(|e| e.t < end);
    *carry = all.split_off(cut);
    let secs = replay(c, &all, names);
    (all.len(), secs)
}

/// Observes `events` in order; returns the seconds it took. Listings are read from the feed
/// afterwards: a held target (`hold`) is listed when time passes its hold, not by a report.
pub fn replay(c: &mut Consensus, events: &[Ev], names: &[String]) -> f64 {
    let t = Instant::now();
    for e in events {
        let obs = Observation {
            reporter: &names[e.reporter as usize],
            scenario: SCENARIOS[e.scenario as usize],
            target: Target::from_ip(IpAddr::V4(Ipv4Addr::from(e.ip))),
            last_seen: e.t,
        };
        let _ = c.observe(obs, e.t);
    }
    t.elapsed().as_secs_f64()
}
