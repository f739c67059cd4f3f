//! Profiles: from alerts to decisions, as CrowdSec's LAPI does on an alert push.
//!
//! Profiles are tried in file order. A profile matches when one of its filters holds for the
//! alert; its decisions are then generated (scope and value from the alert's source, duration
//! from the template or `duration_expr`). As in CrowdSec, only the first matching profile that
//! yields decisions sets the alert's decisions, and `on_success: break` stops the walk.

mod config;
mod history;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;

use crate::bucket::Alert;
use crate::expr::functions::Functions;
use crate::expr::ops::parse_duration;
use crate::expr::{Compiler, Program, Value};

pub use config::{DecisionConfig, ProfileConfig};
pub use history::{DecisionHistory, HistoryEntry, MemoryHistory, register_history};

/// The default duration when a template gives none.
pub const DEFAULT_DURATION: &str = "4h";

pub use wire::Decision;

/// Errors loading profiles.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// Unreadable file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Bad YAML (with line and column).
    #[error("{path}: {message}")]
    Yaml {
        /// The file.
        path: String,
        /// Decoder message.
        message: String,
    },
    /// A profile is invalid.
    #[error("{path}: profile {name:?}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// The profile.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// A compiled profile.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Its configuration.
    pub config: ProfileConfig,
    filters: Vec<Program>,
    duration_expr: Option<Program>,
}

/// All profiles, in order.
#[derive(Debug, Clone, Default)]
pub struct Profiles {
    profiles: Vec<Profile>,
}

/// Go durations with a `d` (days) unit, as CrowdSec accepts them.
pub fn parse_duration_with_days(s: &str) -> Result<i64, String> {
    if let Some((days, rest)) = s.split_once('d') {
        let d: i64 = days
            .parse()
            .map_err(|_| format!("invalid duration {s:?}"))?;
        let rest_ns = if rest.is_empty() {
            0
        } else {
            parse_duration(rest)?
        };
        return Ok(d * 86_400_000_000_000 + rest_ns);
    }
    parse_duration(s)
}

impl Profiles {
    /// Reads and compiles a `profiles.yaml`.
    pub fn load(path: &Path, functions: Arc<Functions>) -> Result<Profiles, ProfileError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Io {
            path: p.clone(),
            source,
        })?;
        Self::parse(&text, &p, functions)
    }

    /// Compiles profiles from YAML text; `origin` names it in errors.
    pub fn parse(
        text: &str,
        origin: &str,
        functions: Arc<Functions>,
    ) -> Result<Profiles, ProfileError> {
        let docs: Vec<Option<ProfileConfig>> =
            serde_saphyr::from_multiple(text).map_err(|e| ProfileError::Yaml {
                path: origin.to_string(),
                message: e.to_string(),
            })?;
        let compiler = Compiler::new(functions, &["Alert"]);
        let mut profiles = Vec::new();
        for cfg in docs.into_iter().flatten() {
            let bad = |message: String| ProfileError::Invalid {
                path: origin.to_string(),
                name: cfg.name.clone(),
                message,
            };
            if !matches!(cfg.on_success.as_str(), "" | "continue" | "break") {
                return Err(bad(format!("invalid on_success {:?}", cfg.on_success)));
            }
            if !matches!(cfg.on_failure.as_str(), "" | "continue" | "break" | "apply") {
                return Err(bad(format!("invalid on_failure {:?}", cfg.on_failure)));
            }
            let filters = cfg
                .filters
                .iter()
                .map(|f| compiler.compile(f).map_err(|e| bad(e.to_string())))
                .collect::<Result<Vec<_>, _>>()?;
            let duration_expr = match cfg.duration_expr.trim() {
                "" => None,
                e => Some(compiler.compile(e).map_err(|e| bad(e.to_string()))?),
            };
            if duration_expr.is_none() {
                for d in &cfg.decisions {
                    let dur = d.duration.as_deref().unwrap_or(DEFAULT_DURATION);
                    parse_duration_with_days(dur)
                        .map_err(|e| bad(format!("duration {dur:?}: {e}")))?;
                }
            }
            profiles.push(Profile {
                config: cfg,
                filters,
                duration_expr,
            });
        }
        Ok(Profiles { profiles })
    }

    /// The profiles.
    pub fn iter(&self) -> impl Iterator<Item = &Profile> {
        self.profiles.iter()
    }

    /// The decisions for `alert`, walking the profiles as CrowdSec's LAPI does. A filter that
    /// fails to evaluate follows the profile's `on_error` (default: skip the profile).
    pub fn decide(&self, alert: &Alert) -> Vec<Decision> {
        let mut decisions: Vec<Decision> = Vec::new();
        for p in &self.profiles {
            let (found, matched, failed) = p.evaluate(alert);
            let matched = matched || (failed && p.config.on_error == "apply");
            if failed && p.config.on_error == "break" {
                break;
            }
            if !matched {
                continue;
            }
            if decisions.is_empty() {
                decisions = found;
            }
            if p.config.on_success == "break" {
                break;
            }
        }
        decisions
    }
}

impl Profile {
    /// (decisions, matched, a filter failed to evaluate).
    fn evaluate(&self, alert: &Alert) -> (Vec<Decision>, bool, bool) {
        let mut out = Vec::new();
        let mut matched = false;
        for f in &self.filters {
            match f.eval(&[Value::Obj(alert)]) {
                Ok(Value::Bool(true)) => {
                    matched = true;
                    out.extend(self.generate(alert));
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(profile = %self.config.name, error = %e, "Profile filter failed.");
                    return (Vec::new(), matched, true);
                }
            }
        }
        (out, matched, false)
    }

    fn generate(&self, alert: &Alert) -> Vec<Decision> {
        let expr_duration = self.duration_expr.as_ref().and_then(|p| {
            let v = p.eval(&[Value::Obj(alert)]).ok()?;
            let s = v.go_string().into_owned();
            parse_duration_with_days(&s).ok().map(|_| s)
        });
        self.config
            .decisions
            .iter()
            .map(|d| {
                let scope = match d.scope.as_deref() {
                    Some(s) if !s.is_empty() => s.to_string(),
                    _ => alert.source.scope.clone(),
                };
                let duration = expr_duration
                    .clone()
                    .or_else(|| d.duration.clone())
                    // CrowdSec leaves the duration empty here and fails later; we use its default.
                    .unwrap_or_else(|| DEFAULT_DURATION.to_string());
                Decision {
                    duration,
                    origin: match &d.origin {
                        Some(o) => format!("crowdsec/{o}"),
                        None => "crowdsec".to_string(),
                    },
                    scenario: alert.scenario.clone(),
                    scope,
                    kind: d.kind.clone(),
                    value: alert.source.value.clone(),
                    simulated: d.simulated.unwrap_or(false) || alert.simulated,
                }
            })
            .collect()
    }
}
