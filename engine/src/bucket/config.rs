//! The scenario YAML, field for field as CrowdSec's `BucketSpec`, and its validation.
//!
//! Decoding is strict (`deny_unknown_fields`) because CrowdSec decodes scenarios strictly: a
//! misspelt key must fail loudly rather than silently disable a detection. Validation here is
//! pure (no I/O, no expression compilation) so that it can be unit-tested on its own; compiling
//! happens in [`super::scenario`].

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::expr::ops::parse_duration;

/// One scenario document (Go `leakybucket.BucketSpec`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioConfig {
    /// Scenario format version (`format:`); `1.0` when absent.
    #[serde(default, deserialize_with = "crate::yaml::scalar")]
    pub format: String,
    /// Free text, mandatory.
    #[serde(default)]
    pub description: String,
    /// Links documenting the attack.
    #[serde(default)]
    pub references: Vec<String>,
    /// `leaky`, `trigger`, `counter`, `conditional` or `bayesian`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// Unique name (`author/scenario`).
    #[serde(default)]
    pub name: String,
    /// Burst size of a leaky bucket; 0 for triggers, -1 for counters.
    #[serde(default)]
    pub capacity: i64,
    /// Go duration: one event leaks out every `leakspeed`.
    #[serde(default, deserialize_with = "crate::yaml::scalar")]
    pub leakspeed: String,
    /// Expression deciding whether an event goes to this scenario.
    #[serde(default)]
    pub filter: String,
    /// Expression giving the partition key (one bucket per value).
    #[serde(default)]
    pub groupby: String,
    /// Expression whose value must be new for the event to be poured.
    #[serde(default)]
    pub distinct: String,
    /// Per-scenario debug logging.
    #[serde(default)]
    pub debug: bool,
    /// Arbitrary labels copied to the overflow (`remediation: true` matters).
    #[serde(default)]
    pub labels: Option<BTreeMap<String, serde_json::Value>>,
    /// Go duration during which the same partition cannot overflow again.
    #[serde(default, deserialize_with = "crate::yaml::scalar")]
    pub blackhole: String,
    /// What the alert targets (Ip by default).
    #[serde(default)]
    pub scope: ScopeConfig,
    /// Whether the overflow is poured again into the scenarios.
    #[serde(default)]
    pub reprocess: bool,
    /// Data files the expressions read.
    #[serde(default)]
    pub data: Vec<DataConfig>,
    /// Conditional buckets: expression over `queue` that overflows the bucket.
    #[serde(default)]
    pub condition: String,
    /// Keep only this many events in the bucket's queue.
    #[serde(default)]
    pub cache_size: i64,
    /// Expression that, when true for a poured event, kills the bucket.
    #[serde(default)]
    pub cancel_on: String,
    /// Bayesian buckets: prior probability of evil.
    #[serde(default)]
    pub bayesian_prior: f32,
    /// Bayesian buckets: posterior above which the bucket overflows.
    #[serde(default)]
    pub bayesian_threshold: f32,
    /// Bayesian buckets: the evidence.
    #[serde(default)]
    pub bayesian_conditions: Vec<BayesianConditionConfig>,
    /// Expression over `queue` that must hold for an overflow to become an alert.
    #[serde(default)]
    pub overflow_filter: String,
    /// Counter buckets: how long they count.
    #[serde(default, deserialize_with = "crate::yaml::scalar")]
    pub duration: String,
    /// Scenario version (set by the hub, may be written in the file).
    #[serde(default, deserialize_with = "crate::yaml::scalar")]
    pub version: String,
}

/// One `data:` entry (Go `enrichment.DataProvider`): a file read from the data directory, never
/// downloaded.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Where CrowdSec would download it from (informative only).
    #[serde(default)]
    pub source_url: String,
    /// File name inside the data directory.
    #[serde(default)]
    pub dest_file: String,
    /// `string`, `regexp` or `map`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// Regexp cache strategy (`LRU`, ...); accepted, the cache is not replicated.
    #[serde(default)]
    pub strategy: Option<String>,
    /// Regexp cache size.
    #[serde(default)]
    pub size: Option<i64>,
    /// Regexp cache TTL.
    #[serde(default, deserialize_with = "crate::yaml::scalar")]
    pub ttl: String,
}

/// `scope:` of a scenario (Go `ScopeType`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeConfig {
    /// `Ip` (default), `Range` or any custom scope.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// Expression computing the scope value (mandatory for custom scopes).
    #[serde(default)]
    pub expression: String,
}

/// One piece of evidence of a bayesian bucket.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BayesianConditionConfig {
    /// Expression over `evt`, `queue` and `leaky`.
    #[serde(default)]
    pub condition: String,
    /// P(condition | evil).
    #[serde(default)]
    pub prob_given_evil: f32,
    /// P(condition | benign).
    #[serde(default)]
    pub prob_given_benign: f32,
    /// Once true, the condition is taken as true for the rest of the bucket's life.
    #[serde(default)]
    pub guillotine: bool,
}

/// The kind of bucket a scenario instantiates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BucketKind {
    /// Overflows when more than `capacity` events arrive faster than `leakspeed`.
    Leaky,
    /// Overflows on its first event.
    Trigger,
    /// Counts events for `duration`, then overflows with the count.
    Counter,
    /// Overflows when `condition` holds after a pour.
    Conditional,
    /// Overflows when the posterior exceeds `bayesian_threshold`.
    Bayesian,
}

impl BucketKind {
    /// Parses the `type:` value.
    pub fn from_type(s: &str) -> Option<Self> {
        Some(match s {
            "leaky" => Self::Leaky,
            "trigger" => Self::Trigger,
            "counter" => Self::Counter,
            "conditional" => Self::Conditional,
            "bayesian" => Self::Bayesian,
            _ => return None,
        })
    }
}

/// Durations of a scenario, in nanoseconds (0 when absent), parsed as Go does.
#[derive(Debug, Clone, Copy, Default)]
pub struct Durations {
    /// `leakspeed`.
    pub leakspeed: i64,
    /// `duration`.
    pub duration: i64,
    /// `blackhole`.
    pub blackhole: i64,
}

impl ScenarioConfig {
    /// Parses the duration fields (Go `parseDurations` plus the blackhole's).
    pub fn durations(&self) -> Result<Durations, String> {
        let parse = |what: &str, s: &str| -> Result<i64, String> {
            if s.is_empty() {
                return Ok(0);
            }
            parse_duration(s).map_err(|e| format!("invalid {what} '{s}': {e}"))
        };
        Ok(Durations {
            leakspeed: parse("leakspeed", &self.leakspeed)?,
            duration: parse("duration", &self.duration)?,
            blackhole: if self.blackhole.is_empty() {
                0
            } else {
                parse_duration(&self.blackhole)
                    .map_err(|_| format!("blackhole duration not valid '{}'", self.blackhole))?
            },
        })
    }

    /// CrowdSec's `Validate` and per-type `Validate`: name, description, type and the fields
    /// each type needs. Returns the bucket kind.
    pub fn validate(&self, d: &Durations) -> Result<BucketKind, String> {
        if self.filter.is_empty() {
            return Err("missing filter directive".into());
        }
        let kind = BucketKind::from_type(&self.kind)
            .ok_or_else(|| format!("invalid type '{}'", self.kind))?;
        if self.name.is_empty() {
            return Err("bucket must have name".into());
        }
        if self.description.is_empty() {
            return Err("description is mandatory".into());
        }
        let type_err = |m: String| format!("{} bucket: {m}", self.kind);
        match kind {
            BucketKind::Leaky => {
                if self.capacity <= 0 {
                    return Err(type_err(format!(
                        "invalid capacity '{}': must be > 0",
                        self.capacity
                    )));
                }
                need_leakspeed(self, d).map_err(type_err)?;
            }
            BucketKind::Trigger => {
                if self.capacity != 0 {
                    return Err(type_err(format!(
                        "invalid capacity '{}': must be 0",
                        self.capacity
                    )));
                }
            }
            BucketKind::Counter => {
                if self.capacity != -1 {
                    return Err(type_err(format!(
                        "invalid capacity '{}': must be -1",
                        self.capacity
                    )));
                }
                if self.duration.is_empty() {
                    return Err(type_err("duration is required".into()));
                }
                if d.duration <= 0 {
                    return Err(type_err(format!(
                        "invalid duration '{}': must be > 0",
                        d.duration
                    )));
                }
            }
            BucketKind::Conditional => {
                if self.condition.is_empty() {
                    return Err(type_err("a condition is required".into()));
                }
                need_leakspeed(self, d).map_err(type_err)?;
            }
            BucketKind::Bayesian => {
                if self.bayesian_conditions.is_empty() {
                    return Err(type_err("bayesian conditions are required".into()));
                }
                if self.bayesian_prior <= 0.0 || self.bayesian_prior > 1.0 {
                    return Err(type_err("invalid prior: must be > 0 and <= 1".into()));
                }
                if self.bayesian_threshold == 0.0 || self.bayesian_threshold > 1.0 {
                    return Err(type_err("invalid threshold: must be > 0 and <= 1".into()));
                }
                if self.capacity != -1 {
                    return Err(type_err("capacity must be -1".into()));
                }
            }
        }
        self.scope.validate()?;
        Ok(kind)
    }
}

fn need_leakspeed(c: &ScenarioConfig, d: &Durations) -> Result<(), String> {
    if c.leakspeed.is_empty() {
        return Err("leakspeed is required".into());
    }
    if d.leakspeed <= 0 {
        return Err(format!("invalid leakspeed '{}': must be > 0", c.leakspeed));
    }
    Ok(())
}

/// The resolved scope type.
pub const SCOPE_IP: &str = "Ip";
/// The range scope type.
pub const SCOPE_RANGE: &str = "Range";

impl ScopeConfig {
    /// The scope type, `Ip` when unset.
    pub fn kind(&self) -> &str {
        if self.kind.is_empty() {
            SCOPE_IP
        } else {
            &self.kind
        }
    }

    /// Go `ScopeType.CompileFilter`'s checks.
    pub fn validate(&self) -> Result<(), String> {
        match self.kind() {
            SCOPE_IP if !self.expression.is_empty() => {
                Err("filter is not allowed for IP scope".into())
            }
            SCOPE_IP | SCOPE_RANGE => Ok(()),
            _ if self.expression.is_empty() => {
                Err("filter is mandatory for non-IP, non-Range scope".into())
            }
            _ => Ok(()),
        }
    }
}
