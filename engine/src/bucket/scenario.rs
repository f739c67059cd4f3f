//! A scenario compiled for running: expressions compiled once, durations parsed, and the
//! derived numbers CrowdSec computes when it instantiates a bucket (queue size, lifetime).
//!
//! A [`Scenario`] is immutable and shared by all of its buckets; everything that changes per
//! partition lives in [`super::state::Bucket`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::expr::functions::Functions;
use crate::expr::{Compiler, Program};

use super::config::{BucketKind, ScenarioConfig};
use super::limiter::every;
use super::state::Bucket;

/// One piece of compiled bayesian evidence.
#[derive(Debug, Clone)]
pub struct BayesianCondition {
    /// The condition (variables `evt`, `queue`, `leaky`).
    pub program: Program,
    /// P(condition | evil).
    pub prob_given_evil: f32,
    /// P(condition | benign).
    pub prob_given_benign: f32,
    /// Whether a true condition stays true for the bucket's life.
    pub guillotine: bool,
}

/// A compiled scenario (Go `BucketFactory`).
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The YAML it came from.
    pub config: ScenarioConfig,
    /// The file it came from.
    pub file: PathBuf,
    /// The kind of bucket.
    pub kind: BucketKind,
    /// Scenario hash (hub), empty for local files.
    pub hash: String,
    /// Scenario version (hub, else the file's `version:`).
    pub version: String,
    /// Whether alerts are simulated.
    pub simulated: bool,
    /// Token-bucket arithmetic.
    pub limiter: super::limiter::Flavor,
    /// `leakspeed` in nanoseconds.
    pub leakspeed: i64,
    /// `duration` in nanoseconds.
    pub duration: i64,
    /// `blackhole` in nanoseconds (0: none).
    pub blackhole: i64,
    /// Leak rate in tokens per second (Go `rate.Every(leakspeed)`).
    pub rate: f64,
    /// The bound of a bucket's queue.
    pub queue_size: i64,
    /// A bucket's lifetime (Go `Leaky.Duration`).
    pub lifetime: i64,
    /// Whether the lifetime ends with an overflow (counters) rather than an underflow.
    pub timed_overflow: bool,
    /// Whether `labels.remediation` is `true`.
    pub remediation: bool,
    /// `filter` (variable `evt`).
    pub filter: Program,
    /// `groupby` (variable `evt`).
    pub groupby: Option<Program>,
    /// `distinct` (variable `evt`).
    pub distinct: Option<Program>,
    /// `cancel_on` (variable `evt`).
    pub cancel_on: Option<Program>,
    /// `overflow_filter` (variables `evt`, `queue`, `signal`, `leaky`).
    pub overflow_filter: Option<Program>,
    /// `condition` (variables `evt`, `queue`, `leaky`).
    pub condition: Option<Program>,
    /// Bayesian evidence (empty unless `bayesian_threshold` is set).
    pub bayesian: Vec<BayesianCondition>,
    /// `scope.expression` (variable `evt`).
    pub scope_filter: Option<Program>,
    /// Whether buckets keep whole events in their queue: some expression can read queued
    /// events (`condition`, `overflow_filter` or a bayesian condition names `queue` or
    /// `leaky`, or a scope expression is evaluated on each queued event at overflow). Other
    /// scenarios keep only what alerts need ([`super::queue::CompactEvent`]), unless the alert
    /// context reads more ([`super::ScenarioSet::with_context`]).
    pub keep_events: bool,
    /// The alert context evaluated on the queue at overflow (the alert's `meta`).
    pub context: Option<Arc<super::context::AlertContext>>,
}

/// Variables of `overflow_filter`.
pub const OVERFLOW_VARS: &[&str] = &["evt", "queue", "signal", "leaky"];
/// Variables of `condition` and bayesian conditions.
pub const CONDITION_VARS: &[&str] = &["evt", "queue", "leaky"];

impl Scenario {
    /// Compiles `config` the way CrowdSec's `LoadBucket` does, in the same order, so that the
    /// first error reported is the same.
    pub fn compile(
        config: ScenarioConfig,
        file: PathBuf,
        functions: &Arc<Functions>,
    ) -> Result<Scenario, String> {
        let d = config.durations()?;
        let evt = crate::event::compiler(functions.clone(), &["evt"]);
        let cond = crate::event::compiler(functions.clone(), CONDITION_VARS);
        let ovf = crate::event::compiler(functions.clone(), OVERFLOW_VARS);
        let opt = |c: &Compiler, what: &str, src: &str| -> Result<Option<Program>, String> {
            if src.is_empty() {
                return Ok(None);
            }
            c.compile(src)
                .map(Some)
                .map_err(|e| format!("invalid {what} '{src}': {e}"))
        };
        if config.filter.is_empty() {
            return Err("missing filter directive".into());
        }
        let filter = opt(&evt, "filter", &config.filter)?.ok_or("missing filter directive")?;
        let groupby = opt(&evt, "groupby", &config.groupby)?;
        if BucketKind::from_type(&config.kind).is_none() {
            return Err(format!("invalid type '{}'", config.kind));
        }
        let distinct = opt(&evt, "distinct", &config.distinct)?;
        let cancel_on = opt(&evt, "cancel_on", &config.cancel_on)?;
        let overflow_filter = opt(&ovf, "overflow_filter", &config.overflow_filter)?;
        let condition = opt(&cond, "condition", &config.condition)?;
        let mut bayesian = Vec::new();
        if config.bayesian_threshold != 0.0 {
            for b in &config.bayesian_conditions {
                let program = cond
                    .compile(&b.condition)
                    .map_err(|e| format!("bayesian condition compile error: {e}"))?;
                bayesian.push(BayesianCondition {
                    program,
                    prob_given_evil: b.prob_given_evil,
                    prob_given_benign: b.prob_given_benign,
                    guillotine: b.guillotine,
                });
            }
        }
        let kind = config.validate(&d)?;
        let scope_filter = match config.scope.kind() {
            super::config::SCOPE_IP => None,
            _ => opt(&evt, "scope expression", &config.scope.expression)
                .map_err(|e| format!("error compiling the scope filter: {e}"))?,
        };

        let capacity = config.capacity;
        let mut queue_size = capacity;
        if config.cache_size > 0 && (config.cache_size <= capacity || capacity == -1) {
            queue_size = config.cache_size;
        }
        let mut lifetime = 0;
        if capacity > 0 && d.leakspeed != 0 {
            lifetime = (capacity + 1).saturating_mul(d.leakspeed);
        }
        let timed_overflow = d.duration != 0;
        if timed_overflow {
            lifetime = d.duration;
        }
        if matches!(kind, BucketKind::Conditional | BucketKind::Bayesian) {
            lifetime = d.leakspeed;
        }
        // A conservative textual test: a variable can only be reached by its name, and a
        // false positive only costs memory.
        let sees_queue = |src: &str| src.contains("queue") || src.contains("leaky");
        let keep_events = scope_filter.is_some()
            || (condition.is_some() && sees_queue(&config.condition))
            || (overflow_filter.is_some() && sees_queue(&config.overflow_filter))
            || (!bayesian.is_empty()
                && config
                    .bayesian_conditions
                    .iter()
                    .any(|b| sees_queue(&b.condition)));
        let remediation = config
            .labels
            .as_ref()
            .and_then(|l| l.get("remediation"))
            .is_some_and(|v| *v == serde_json::Value::Bool(true));
        Ok(Scenario {
            version: config.version.clone(),
            hash: String::new(),
            simulated: false,
            limiter: super::limiter::Flavor::default(),
            kind,
            file,
            leakspeed: d.leakspeed,
            duration: d.duration,
            blackhole: d.blackhole,
            rate: every(d.leakspeed),
            queue_size,
            lifetime,
            timed_overflow,
            remediation,
            filter,
            groupby,
            distinct,
            cancel_on,
            overflow_filter,
            condition,
            bayesian,
            scope_filter,
            keep_events,
            context: None,
            config,
        })
    }

    /// The scenario's name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The scenario's labels.
    pub fn labels(&self) -> BTreeMap<String, serde_json::Value> {
        self.config.labels.clone().unwrap_or_default()
    }

    /// Whether buckets use a token bucket (Go uses `AlwaysFull` for capacity -1).
    pub fn limited(&self) -> bool {
        self.config.capacity != -1
    }

    /// The instant after which `b` is dead: its underflow, or a counter's overflow.
    pub fn deadline(&self, b: &Bucket) -> i64 {
        let base = if self.timed_overflow {
            b.first_ts
        } else {
            b.last_ts
        };
        base.map_or(i64::MIN, |s| s.nanos.saturating_add(self.lifetime))
    }
}
