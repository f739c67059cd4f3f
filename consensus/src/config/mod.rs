//! The consensus rule's settings: parsed (YAML, serde defaults) → validated ([`Rules`], no
//! I/O). Allowlist files are read separately ([`crate::Allowlist::load`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use validate::{Cluster, Limits, Rules};

#[cfg(test)]
mod tests;
mod validate;

/// Why a configuration is refused; names the file (when read from one) and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The YAML does not parse into the settings (the message carries line and column).
    #[error("{path}: {message}")]
    Yaml {
        /// The file.
        path: PathBuf,
        /// serde-saphyr's message, with its location.
        message: String,
    },
    /// A key holds a value the rule cannot work with.
    #[error("consensus setting `{key}`: {reason}")]
    Invalid {
        /// The key, dotted (`trust.min_confirmed`).
        key: String,
        /// Why.
        reason: String,
    },
}

pub(crate) fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        reason: reason.into(),
    }
}

/// The settings as written (see `docs/consensus.md` for what each one does).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsensusConfig {
    /// K: distinct established reporters needed to list a target.
    pub min_reporters: u32,
    /// T: combined weight (trust × scenario weight) of those reporters needed to list.
    pub threshold: f64,
    /// How long a report supports its target (Go-style duration: `12h`).
    pub window: String,
    /// How long an entry stays in the feed after the rule last held.
    pub entry_ttl: String,
    /// How long after the rule first holds a target is listed, if it still holds then (`0s`:
    /// at once; default: two thirds of the window): time for a coalition that started
    /// pushing to stand out. What a seed reported too is not held.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold: Option<String>,
    /// How trust is earned and lost.
    pub trust: TrustConfig,
    /// Weight of a report per scenario name (default: `default_scenario_weight`).
    pub scenario_weights: BTreeMap<String, f64>,
    /// Weight of a scenario not in `scenario_weights`.
    pub default_scenario_weight: f64,
    /// Reporters the operator vouches for (its own sensors): they start with credit.
    pub seeds: Vec<SeedConfig>,
    /// Allowlist files or directories: IP/CIDR lists (one a line, `#` comments) and hub
    /// whitelist parsers (`whitelist.ip` / `whitelist.cidr`).
    pub allowlists: Vec<PathBuf>,
    /// The scenario the feed's decisions are named after (`<feed_scenario>:<reported>`).
    pub feed_scenario: String,
    /// Ranges shorter than this (IPv4) are refused.
    pub min_range_prefix_v4: u8,
    /// Ranges shorter than this (IPv6) are refused.
    pub min_range_prefix_v6: u8,
    /// Co-reporting clusters: linked supporters count as one.
    pub cluster: ClusterConfig,
    /// Memory bounds.
    pub limits: LimitsConfig,
}

/// Co-reporting clusters (see [`crate::cluster`] and `docs/consensus.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// Count linked supporters as one reporter (off: every established supporter counts).
    pub enabled: bool,
    /// How long a generation of partners lasts.
    pub generation: String,
    /// Generations kept (2..=8): partners are remembered for one generation fewer to this
    /// many; the oldest is dropped at each rotation.
    pub generations: usize,
    /// A tally with K established supporters that has had no report for this long is
    /// recorded then, not only when it ends (`0s`: only when it ends); if more supporters
    /// came by its end, it is recorded again then.
    pub settle: String,
    /// Share of the partners reaching the last generation kept in it at each rotation (0:
    /// dropped, so that partners are remembered `generations - 1` to `generations`
    /// generations; ½: a partner stays another generation with probability ½, and so on).
    pub keep: f64,
    /// Tallies with more established supporters than this are not recorded in the wide tier
    /// (but in the broad one, up to `broad_support`).
    pub max_support: usize,
    /// Tallies with more than `max_support` and at most this many established supporters are
    /// recorded in the broad tier (default: one short of a crowd, `crowd_support - 1`; `0`:
    /// none, such tallies are not recorded).
    pub broad_support: Option<usize>,
    /// Tallies with at most this many established supporters are recorded in the tight tier
    /// (default: K + 1; `0`: no tight tier, every tally in the wide one).
    pub tight_support: Option<usize>,
    /// Shared partner bits that, if also `min_ratio` times chance, link two reporters in the
    /// tight tier.
    pub tight_min_common: f64,
    /// Shared partner bits that, if also `min_ratio` times chance, link two reporters in the
    /// broad tier.
    pub broad_min_common: f64,
    /// Partners one supporter records per tally (half on each side of a ring, or all of
    /// them when the tally has at most this many others).
    pub partners: usize,
    /// Bits of a partner set (a power of two, 256..=65536).
    pub sketch_bits: usize,
    /// Co-reports (as frequent partners, both ways) that link two reporters.
    pub min_pair: f64,
    /// Shared partner bits that, if also `min_ratio` times chance, link two reporters.
    pub min_common: f64,
    /// Shared partner bits over what independent partners would share.
    pub min_ratio: f64,
    /// Or: shared partner bits beyond chance by this many standard deviations of chance
    /// (0: off).
    pub min_z: f64,
    /// Or: rare shared partners (each shared bit weighted by how unlikely a partner it is)
    /// beyond chance by this many standard deviations (0: off).
    pub rare_z: f64,
    /// K supporters no two of which are linked are still one group when their pairs' rare
    /// partners in the tight tier, summed, are this many standard deviations beyond chance
    /// (0: off).
    pub set_z: f64,
    /// Supporters taking part in more small tallies (short of a crowd) lately than their
    /// own history predicts, by this many standard deviations, are *busy*: busy supporters
    /// count as one group (0: off).
    pub busy_z: f64,
    /// K supporters from different groups are not enough when their small tallies, taken
    /// together (each one's deviation beyond its history, at most `busy_z`, summed over the
    /// square root of their number), are this many standard deviations beyond what their
    /// histories predict: one of them busy alone leaves the set, or the next supporter joins
    /// it (0: off).
    pub busy_set_z: f64,
    /// Supporters linked through others count as one group too (linked pairs joined into
    /// groups): K groups are needed (on by default), not only K supporters no two of which
    /// are linked.
    pub transitive: bool,
    /// A partner's likelihood counted from its exposure to crowds is at most this many times
    /// its share of the bits the tier's sketches hold (at least 1).
    pub popularity_cap: f64,
    /// Tallies with at least this many established supporters are crowds: their early
    /// supporters are counted as exposed (more than `max_support`; 0: the tally's capacity,
    /// `limits.max_reports_per_target`).
    pub crowd_support: usize,
    /// Record crowds too, in a tier of their own: the first established reporters to take
    /// a crowd's slots become each other's partners there.
    pub crowd_tier: bool,
    /// Shared partner bits that, if also `min_ratio` times chance, link two reporters in
    /// the crowd tier (crowd sketches are big: fewer are shared beyond chance by chance).
    pub crowd_min_common: f64,
    /// Chance in the crowd tier counts exposure to attacks a seed reported too (tallies of
    /// any size), not to crowds: a coalition pushing crowds looks exposed to crowds by its
    /// own pushes, never to what the seeds see. Needs seeds that vouch (`seeds_vouch`);
    /// without them the crowd tier counts exposure to crowds like the other tiers.
    pub crowd_exposure_vouched: bool,
}

/// Trust: a reporter's confirmed and unconfirmed reports, with a prior and a half-life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrustConfig {
    /// Confirmed reports every reporter starts with (the prior's α).
    pub prior_confirmed: f64,
    /// Unconfirmed reports every reporter starts with (the prior's β).
    pub prior_unconfirmed: f64,
    /// Confirmed reports (after decay) a reporter needs before it counts towards K.
    pub min_confirmed: f64,
    /// Trust a reporter needs before it counts towards K.
    pub min_trust: f64,
    /// Half-life of the confirmed and unconfirmed counts (`720h`).
    pub half_life: String,
    /// What one report that left the window unconfirmed costs, in unconfirmed reports (less
    /// than 1: honest reporters also see attackers nobody else sees).
    pub unconfirmed_cost: f64,
    /// Unconfirmed reports charged for a report of an allowlisted address.
    pub allowlist_penalty: f64,
    /// Seeds in good standing confirm the pending reports of a target they report too (the
    /// operator's sensors vouch for what they also saw): how newcomers earn trust while few
    /// reporters are established.
    pub seeds_vouch: bool,
}

/// An operator-vouched reporter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedConfig {
    /// The reporter's id (a watcher's `machine_id`).
    pub reporter: String,
    /// Confirmed reports it starts with.
    pub confirmed: f64,
}

/// Bounds on what attacker-chosen keys can make the rule hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Reporters known (new ones are refused beyond).
    pub max_reporters: usize,
    /// Targets being tallied (new targets are refused beyond).
    pub max_targets: usize,
    /// Reports kept per target (a more trusted reporter replaces the least trusted beyond).
    pub max_reports_per_target: usize,
    /// Unresolved reports per reporter (its further reports are refused beyond).
    pub max_pending_per_reporter: u32,
    /// Entries in the feed.
    pub max_feed_entries: usize,
    /// Distinct scenario names (further names share one slot with the default weight).
    pub max_scenarios: usize,
    /// How long a removed entry is remembered to tell pullers it was deleted.
    pub tombstone_retention: String,
    /// Reporters with a co-reporting sketch in one tier (`cluster.sketch_bits / 8` bytes
    /// times 1 + log2 of `cluster.generations` each, 6 KiB by default; four tiers); beyond,
    /// further reporters get none there and are never linked there.
    pub max_sketches: usize,
}

impl Default for ConsensusConfig {
    fn default() -> Self {
        ConsensusConfig {
            min_reporters: 3,
            threshold: 1.2,
            window: "12h".into(),
            entry_ttl: "24h".into(),
            hold: None,
            trust: TrustConfig::default(),
            scenario_weights: BTreeMap::new(),
            default_scenario_weight: 1.0,
            seeds: Vec::new(),
            allowlists: Vec::new(),
            feed_scenario: "hivewall/consensus".into(),
            min_range_prefix_v4: 24,
            min_range_prefix_v6: 48,
            cluster: ClusterConfig::default(),
            limits: LimitsConfig::default(),
        }
    }
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            enabled: true,
            generation: "12h".into(),
            generations: 4,
            settle: "1h".into(),
            keep: 0.0,
            max_support: 8,
            broad_support: None,
            tight_support: None,
            min_z: 3.0,
            rare_z: 5.0,
            set_z: 3.0,
            busy_z: 3.0,
            busy_set_z: 3.0,
            transitive: true,
            popularity_cap: 1.25,
            crowd_support: 0,
            crowd_tier: true,
            crowd_min_common: 24.0,
            crowd_exposure_vouched: true,
            tight_min_common: 8.0,
            broad_min_common: 12.0,
            partners: 4,
            sketch_bits: 16384,
            min_pair: 3.0,
            min_common: 12.0,
            min_ratio: 1.5,
        }
    }
}

impl Default for TrustConfig {
    fn default() -> Self {
        TrustConfig {
            prior_confirmed: 1.0,
            prior_unconfirmed: 4.0,
            min_confirmed: 5.0,
            min_trust: 0.4,
            half_life: "720h".into(),
            unconfirmed_cost: 0.5,
            allowlist_penalty: 10.0,
            seeds_vouch: true,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_reporters: 1_000_000,
            max_targets: 2_000_000,
            max_reports_per_target: 16,
            max_pending_per_reporter: 20_000,
            max_feed_entries: 2_000_000,
            max_scenarios: 4096,
            tombstone_retention: "168h".into(),
            max_sketches: 100_000,
        }
    }
}

impl ConsensusConfig {
    /// Reads a YAML file of settings (missing keys take their defaults).
    pub fn from_file(path: &Path) -> Result<ConsensusConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_yaml(&text, path)
    }

    /// Parses YAML text; `path` names it in errors.
    pub fn from_yaml(text: &str, path: &Path) -> Result<ConsensusConfig, ConfigError> {
        if text.trim().is_empty() {
            return Ok(ConsensusConfig::default());
        }
        serde_saphyr::from_str(text).map_err(|e| ConfigError::Yaml {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }
}
