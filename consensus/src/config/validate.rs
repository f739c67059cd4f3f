//! Validation: [`ConsensusConfig`] → [`Rules`], every key checked, no I/O.

use foldhash::HashMap as FoldHashMap;

use super::{ConfigError, ConsensusConfig, invalid};
use crate::duration::parse_duration;

/// The memory bounds, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// See [`super::LimitsConfig::max_reporters`].
    pub max_reporters: usize,
    /// See [`super::LimitsConfig::max_targets`].
    pub max_targets: usize,
    /// See [`super::LimitsConfig::max_reports_per_target`].
    pub max_reports_per_target: usize,
    /// See [`super::LimitsConfig::max_pending_per_reporter`].
    pub max_pending_per_reporter: u32,
    /// See [`super::LimitsConfig::max_feed_entries`].
    pub max_feed_entries: usize,
    /// See [`super::LimitsConfig::max_scenarios`].
    pub max_scenarios: usize,
    /// Seconds.
    pub tombstone_retention: i64,
    /// See [`super::LimitsConfig::max_sketches`].
    pub max_sketches: usize,
}

/// Co-reporting clusters, validated (see [`super::ClusterConfig`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// Linked supporters count as one.
    pub enabled: bool,
    /// Seconds.
    pub generation: i64,
    /// Generations kept (at most [`crate::cluster::MAX_GENERATIONS`]).
    pub generations: usize,
    /// Seconds of quiet after which a tally is recorded (0: only when it ends).
    pub settle: i64,
    /// Share of the partners reaching the last generation kept at each rotation.
    pub keep: f64,
    /// Largest support recorded in the wide tier.
    pub max_support: usize,
    /// Largest support recorded in the broad tier (at most `max_support`: none).
    pub broad_support: usize,
    /// Largest support recorded in the tight tier (0: none).
    pub tight_support: usize,
    /// Shared bits that link in the tight tier.
    pub tight_min_common: f64,
    /// Shared bits that link in the broad tier.
    pub broad_min_common: f64,
    /// Partners recorded per supporter and tally.
    pub partners: usize,
    /// Bits of a partner set (a power of two).
    pub sketch_bits: usize,
    /// Frequent-partner count that links.
    pub min_pair: f32,
    /// Shared bits that link.
    pub min_common: f64,
    /// Shared bits over chance that link.
    pub min_ratio: f64,
    /// Or shared bits beyond chance, in standard deviations (0: off).
    pub min_z: f64,
    /// Or weighted shared bits beyond chance, in standard deviations (0: off).
    pub rare_z: f64,
    /// Or a set's summed rare-partner deviation, in standard deviations (0: off).
    pub set_z: f64,
    /// Busy supporters (recent small tallies beyond their history, in standard deviations)
    /// count as one group (0: off).
    pub busy_z: f64,
    /// K supporters' small tallies taken together, in standard deviations (0: off).
    pub busy_set_z: f64,
    /// K groups of transitively linked supporters, not K unlinked supporters.
    pub transitive: bool,
    /// Cap on a partner's likelihood from exposure, over its share of the bits held.
    pub popularity_cap: f64,
    /// Smallest established support of a crowd.
    pub crowd_support: usize,
    /// Record crowds in a tier of their own.
    pub crowd_tier: bool,
    /// Shared bits that link in the crowd tier.
    pub crowd_min_common: f64,
    /// Chance in the crowd tier counts exposure to attacks a seed reported too (only with
    /// seeds that vouch).
    pub crowd_exposure_vouched: bool,
}

/// The validated rule: times in seconds, weights looked up by name.
#[derive(Debug, Clone)]
pub struct Rules {
    /// K.
    pub min_reporters: usize,
    /// T.
    pub threshold: f64,
    /// Seconds a report supports its target.
    pub window: i64,
    /// Seconds an entry stays after the rule last held.
    pub entry_ttl: i64,
    /// Seconds after the rule first holds that a target is listed (0: at once).
    pub hold: i64,
    /// Prior α.
    pub prior_confirmed: f64,
    /// Prior β.
    pub prior_unconfirmed: f64,
    /// Confirmed reports needed to count towards K.
    pub min_confirmed: f64,
    /// Trust needed to count towards K.
    pub min_trust: f64,
    /// Seconds.
    pub half_life: i64,
    /// Cost of one unconfirmed report.
    pub unconfirmed_cost: f64,
    /// Unconfirmed reports charged per allowlisted report.
    pub allowlist_penalty: f64,
    /// Seeds in good standing confirm others' pending reports.
    pub seeds_vouch: bool,
    /// Weight per scenario name.
    pub scenario_weights: FoldHashMap<String, f32>,
    /// Weight of other scenarios.
    pub default_scenario_weight: f32,
    /// Seeds (reporter id, confirmed reports).
    pub seeds: Vec<(String, f64)>,
    /// Decisions' scenario prefix.
    pub feed_scenario: String,
    /// Shortest IPv4 range accepted.
    pub min_range_prefix_v4: u8,
    /// Shortest IPv6 range accepted.
    pub min_range_prefix_v6: u8,
    /// Co-reporting clusters.
    pub cluster: Cluster,
    /// Memory bounds.
    pub limits: Limits,
}

impl Rules {
    /// Trust of a reporter with `c` confirmed and `u` unconfirmed reports.
    pub fn trust(&self, c: f64, u: f64) -> f64 {
        (c + self.prior_confirmed) / (c + u + self.prior_confirmed + self.prior_unconfirmed)
    }
}

fn positive_duration(key: &str, text: &str) -> Result<i64, ConfigError> {
    match parse_duration(text) {
        Some(s) if s > 0 => Ok(s),
        _ => Err(invalid(
            key,
            format!("{text:?} is not a positive duration (e.g. 12h, 30m)"),
        )),
    }
}

fn finite_in(key: &str, v: f64, lo: f64, hi: f64) -> Result<f64, ConfigError> {
    if v.is_finite() && v >= lo && v <= hi {
        Ok(v)
    } else {
        Err(invalid(key, format!("{v} is not within [{lo}, {hi}]")))
    }
}

impl ConsensusConfig {
    /// Checks every setting; no I/O.
    pub fn validate(&self) -> Result<Rules, ConfigError> {
        if self.min_reporters < 2 {
            return Err(invalid(
                "min_reporters",
                "must be at least 2: one reporter alone must never list",
            ));
        }
        let k = self.min_reporters as usize;
        if self.threshold.is_nan() || self.threshold <= 0.0 || self.threshold.is_infinite() {
            return Err(invalid("threshold", "must be a positive number"));
        }
        let t = &self.trust;
        let prior_confirmed = finite_in("trust.prior_confirmed", t.prior_confirmed, 0.0, 1e6)?;
        let prior_unconfirmed =
            finite_in("trust.prior_unconfirmed", t.prior_unconfirmed, 0.0, 1e6)?;
        if prior_confirmed + prior_unconfirmed <= 0.0 {
            return Err(invalid(
                "trust.prior_unconfirmed",
                "the prior must hold at least one report",
            ));
        }
        let min_confirmed = finite_in("trust.min_confirmed", t.min_confirmed, 0.0, 1e6)?;
        if min_confirmed < 1.0 {
            return Err(invalid(
                "trust.min_confirmed",
                "must be at least 1: otherwise new reporters count towards K (Sybils)",
            ));
        }
        let min_trust = finite_in("trust.min_trust", t.min_trust, 0.0, 1.0)?;
        let unconfirmed_cost = finite_in("trust.unconfirmed_cost", t.unconfirmed_cost, 0.0, 1e3)?;
        let allowlist_penalty =
            finite_in("trust.allowlist_penalty", t.allowlist_penalty, 0.0, 1e6)?;
        let default_scenario_weight = finite_in(
            "default_scenario_weight",
            self.default_scenario_weight,
            0.0,
            10.0,
        )? as f32;
        let mut scenario_weights = FoldHashMap::default();
        for (name, w) in &self.scenario_weights {
            let w = finite_in(&format!("scenario_weights.{name}"), *w, 0.0, 10.0)?;
            scenario_weights.insert(name.clone(), w as f32);
        }
        let mut seeds = Vec::with_capacity(self.seeds.len());
        for (i, s) in self.seeds.iter().enumerate() {
            let key = format!("seeds[{i}]");
            if s.reporter.is_empty() || s.reporter.len() > wire::signal::SIGNAL_FIELD_MAX {
                return Err(invalid(
                    &format!("{key}.reporter"),
                    "must be 1 to 128 bytes",
                ));
            }
            if seeds.iter().any(|(r, _)| r == &s.reporter) {
                return Err(invalid(
                    &format!("{key}.reporter"),
                    format!("{} listed twice", s.reporter),
                ));
            }
            let c = finite_in(&format!("{key}.confirmed"), s.confirmed, 0.0, 1e6)?;
            seeds.push((s.reporter.clone(), c));
        }
        if self.feed_scenario.is_empty() {
            return Err(invalid("feed_scenario", "must not be empty"));
        }
        if !(8..=32).contains(&self.min_range_prefix_v4) {
            return Err(invalid("min_range_prefix_v4", "must be within 8..=32"));
        }
        if !(16..=128).contains(&self.min_range_prefix_v6) {
            return Err(invalid("min_range_prefix_v6", "must be within 16..=128"));
        }
        let l = &self.limits;
        for (key, v) in [
            ("limits.max_reporters", l.max_reporters),
            ("limits.max_targets", l.max_targets),
            ("limits.max_feed_entries", l.max_feed_entries),
            (
                "limits.max_pending_per_reporter",
                l.max_pending_per_reporter as usize,
            ),
        ] {
            if v == 0 {
                return Err(invalid(key, "must be positive"));
            }
        }
        if l.max_reports_per_target < k || l.max_reports_per_target > 4096 {
            return Err(invalid(
                "limits.max_reports_per_target",
                "must be within min_reporters..=4096",
            ));
        }
        if l.max_scenarios < 2 || l.max_scenarios > usize::from(u16::MAX) {
            return Err(invalid("limits.max_scenarios", "must be within 2..=65535"));
        }
        let mut cluster = self
            .cluster
            .validate(k, self.limits.max_reports_per_target)?;
        // Exposure to what the seeds saw needs seeds that vouch: without them, the crowd
        // tier counts exposure to crowds like the other tiers.
        cluster.crowd_exposure_vouched &= t.seeds_vouch && !seeds.is_empty();
        let window = positive_duration("window", &self.window)?;
        if cluster.settle >= window {
            return Err(invalid("cluster.settle", "must be shorter than the window"));
        }
        let hold = match &self.hold {
            None => window * 2 / 3,
            Some(text) => parse_duration(text).ok_or_else(|| {
                invalid("hold", format!("{text:?} is not a duration (e.g. 6h, 0s)"))
            })?,
        };
        if hold >= window {
            return Err(invalid("hold", "must be shorter than the window"));
        }
        Ok(Rules {
            min_reporters: k,
            threshold: self.threshold,
            window,
            entry_ttl: positive_duration("entry_ttl", &self.entry_ttl)?,
            hold,
            prior_confirmed,
            prior_unconfirmed,
            min_confirmed,
            min_trust,
            half_life: positive_duration("trust.half_life", &t.half_life)?,
            unconfirmed_cost,
            allowlist_penalty,
            seeds_vouch: t.seeds_vouch,
            scenario_weights,
            default_scenario_weight,
            seeds,
            feed_scenario: self.feed_scenario.clone(),
            min_range_prefix_v4: self.min_range_prefix_v4,
            min_range_prefix_v6: self.min_range_prefix_v6,
            cluster,
            limits: Limits {
                max_reporters: l.max_reporters,
                max_targets: l.max_targets,
                max_reports_per_target: l.max_reports_per_target,
                max_pending_per_reporter: l.max_pending_per_reporter,
                max_feed_entries: l.max_feed_entries,
                max_scenarios: l.max_scenarios,
                tombstone_retention: positive_duration(
                    "limits.tombstone_retention",
                    &l.tombstone_retention,
                )?,
                max_sketches: l.max_sketches,
            },
        })
    }
}

impl super::ClusterConfig {
    fn validate(&self, k: usize, capacity: usize) -> Result<Cluster, ConfigError> {
        if self.max_support < k || self.max_support > 4096 {
            return Err(invalid(
                "cluster.max_support",
                "must be within min_reporters..=4096",
            ));
        }
        let tight_support = match self.tight_support {
            None => (k + 1).min(self.max_support),
            Some(0) => 0,
            Some(t) if (k..=self.max_support).contains(&t) => t,
            Some(_) => {
                return Err(invalid(
                    "cluster.tight_support",
                    "must be 0 (off) or within min_reporters..=cluster.max_support",
                ));
            }
        };
        // 0: a full tally (none if a tally cannot hold more than `max_support`).
        let crowd_support = match self.crowd_support {
            0 => capacity.max(self.max_support + 1),
            n if n > self.max_support && n <= 4096 => n,
            _ => {
                return Err(invalid(
                    "cluster.crowd_support",
                    "must be 0 (a full tally) or within cluster.max_support + 1..=4096",
                ));
            }
        };
        let broad_support = match self.broad_support {
            None => crowd_support - 1,
            Some(0) => 0,
            Some(b) if b > self.max_support && b < crowd_support => b,
            Some(_) => {
                return Err(invalid(
                    "cluster.broad_support",
                    "must be 0 (off) or within cluster.max_support + 1..cluster.crowd_support",
                ));
            }
        };
        if !(2..=crate::cluster::MAX_GENERATIONS).contains(&self.generations) {
            return Err(invalid(
                "cluster.generations",
                format!("must be within 2..={}", crate::cluster::MAX_GENERATIONS),
            ));
        }
        if !(2..=64).contains(&self.partners) {
            return Err(invalid("cluster.partners", "must be within 2..=64"));
        }
        if !self.sketch_bits.is_power_of_two() || !(256..=65536).contains(&self.sketch_bits) {
            return Err(invalid(
                "cluster.sketch_bits",
                "must be a power of two within 256..=65536",
            ));
        }
        let min_pair = finite_in("cluster.min_pair", self.min_pair, 2.0, 1e6)?;
        let min_common = finite_in("cluster.min_common", self.min_common, 1.0, 65536.0)?;
        let min_ratio = finite_in("cluster.min_ratio", self.min_ratio, 1.0, 1e6)?;
        let tight_min_common = finite_in(
            "cluster.tight_min_common",
            self.tight_min_common,
            1.0,
            65536.0,
        )?;
        Ok(Cluster {
            enabled: self.enabled,
            generation: positive_duration("cluster.generation", &self.generation)?,
            generations: self.generations,
            settle: parse_duration(&self.settle).ok_or_else(|| {
                invalid(
                    "cluster.settle",
                    format!("{:?} is not a duration (e.g. 1h, 0s)", self.settle),
                )
            })?,
            keep: finite_in("cluster.keep", self.keep, 0.0, 0.9)?,
            max_support: self.max_support,
            broad_support,
            tight_support,
            tight_min_common,
            broad_min_common: finite_in(
                "cluster.broad_min_common",
                self.broad_min_common,
                1.0,
                65536.0,
            )?,
            partners: self.partners,
            sketch_bits: self.sketch_bits,
            min_pair: min_pair as f32,
            min_common,
            min_ratio,
            min_z: finite_in("cluster.min_z", self.min_z, 0.0, 1e6)?,
            rare_z: finite_in("cluster.rare_z", self.rare_z, 0.0, 1e6)?,
            set_z: finite_in("cluster.set_z", self.set_z, 0.0, 1e6)?,
            busy_z: finite_in("cluster.busy_z", self.busy_z, 0.0, 1e6)?,
            busy_set_z: finite_in("cluster.busy_set_z", self.busy_set_z, 0.0, 1e6)?,
            transitive: self.transitive,
            popularity_cap: finite_in("cluster.popularity_cap", self.popularity_cap, 1.0, 1e6)?,
            crowd_support,
            crowd_tier: self.crowd_tier,
            crowd_min_common: finite_in(
                "cluster.crowd_min_common",
                self.crowd_min_common,
                1.0,
                65536.0,
            )?,
            crowd_exposure_vouched: self.crowd_exposure_vouched,
        })
    }
}
