//! `profiles.yaml`: CrowdSec's profile format (several YAML documents, tried in order).

use serde::Deserialize;

/// One profile document.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    /// Profile name.
    #[serde(default)]
    pub name: String,
    /// Accepted for compatibility (`explain`-style output covers it).
    #[serde(default)]
    pub debug: Option<bool>,
    /// Expressions over `Alert`; the profile matches when any holds (OR).
    #[serde(default)]
    pub filters: Vec<String>,
    /// Decisions to take when the profile matches.
    #[serde(default)]
    pub decisions: Vec<DecisionConfig>,
    /// An expression giving the duration (overrides `decisions[].duration`).
    #[serde(default)]
    pub duration_expr: String,
    /// `break` (stop at this profile when it matched) or `continue`.
    #[serde(default)]
    pub on_success: String,
    /// `break`, `continue` or `apply`.
    #[serde(default)]
    pub on_failure: String,
    /// What to do when a filter fails to evaluate: `apply`, `continue`, `break`, `ignore`.
    #[serde(default)]
    pub on_error: String,
    /// Notification plugins (hivewall does not send notifications; accepted and reported).
    #[serde(default)]
    pub notifications: Vec<String>,
}

/// A decision template (LAPI `Decision` fields a profile may set).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionConfig {
    /// `ban`, `captcha`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// Go duration, days allowed (`4h`, `1d12h`).
    #[serde(default)]
    pub duration: Option<String>,
    /// Overrides the alert's scope.
    #[serde(default)]
    pub scope: Option<String>,
    /// Appended to the origin (`crowdsec/<origin>`).
    #[serde(default)]
    pub origin: Option<String>,
    /// Decision in simulation mode.
    #[serde(default)]
    pub simulated: Option<bool>,
    /// Accepted (CrowdSec ignores a template's value: it comes from the alert).
    #[serde(default)]
    pub value: Option<String>,
}
