//! Decision and alert filters, as CrowdSec parses them from query strings.

use ipnet::IpNet;

use super::index::parse_net;
use super::record::DecisionRecord;
use crate::godur;

/// A query parameter was invalid (answered with 400).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

fn parse_bool(key: &str, v: &str) -> Result<bool, FilterError> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "t" | "true" => Ok(true),
        "0" | "f" | "false" => Ok(false),
        _ => Err(FilterError(format!(
            "invalid {key} value: strconv.ParseBool: parsing {v:?}: invalid syntax"
        ))),
    }
}

fn parse_range(v: &str) -> Result<IpNet, FilterError> {
    parse_net(v).ok_or_else(|| {
        FilterError(format!(
            "unable to convert '{v}' to int: invalid address: invalid ip address / range"
        ))
    })
}

fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Which decisions a query selects. Empty/`None` fields match everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecisionFilter {
    /// Scopes (compared case-insensitively).
    pub scopes: Vec<String>,
    /// Exact value.
    pub value: Option<String>,
    /// Exact type.
    pub kind: Option<String>,
    /// Origins (any of).
    pub origins: Vec<String>,
    /// Exact scenario.
    pub scenario: Option<String>,
    /// Scenario contains any of these (case-insensitive).
    pub scenarios_containing: Vec<String>,
    /// Scenario contains none of these (case-insensitive).
    pub scenarios_not_containing: Vec<String>,
    /// IP or range to relate decisions to.
    pub range: Option<IpNet>,
    /// With `range`: decisions containing it (true, default) or contained in it (false).
    pub contains: Option<bool>,
    /// Include simulated decisions (CrowdSec excludes them unless `simulated` is given).
    pub include_simulated: bool,
    /// Exact decision id.
    pub id: Option<i64>,
    /// Only decisions of this alert.
    pub alert_id: Option<i64>,
    /// Maximum number of answers.
    pub limit: Option<usize>,
}

impl DecisionFilter {
    /// Parses the parameters of `GET /v1/decisions` and the stream. Unknown parameters are
    /// ignored, as CrowdSec does there.
    pub fn from_query(pairs: &[(String, String)]) -> Result<Self, FilterError> {
        let mut f = DecisionFilter::default();
        for (k, v) in pairs {
            match k.as_str() {
                "scope" | "scopes" => f.scopes = split_list(v),
                "value" => f.value = Some(v.clone()),
                "type" => f.kind = Some(v.clone()),
                "origins" => f.origins = split_list(v),
                "origin" => f.origins = vec![v.clone()],
                "scenario" => f.scenario = Some(v.clone()),
                "scenarios_containing" => f.scenarios_containing = split_list(&v.to_lowercase()),
                "scenarios_not_containing" => {
                    f.scenarios_not_containing = split_list(&v.to_lowercase());
                }
                "ip" | "range" => f.range = Some(parse_range(v)?),
                "contains" => f.contains = Some(parse_bool("contains", v)?),
                "simulated" => f.include_simulated = v != "false",
                "limit" => {
                    f.limit = Some(
                        v.parse()
                            .map_err(|_| FilterError(format!("invalid limit value: {v:?}")))?,
                    );
                }
                _ => {}
            }
        }
        Ok(f)
    }

    /// Parses the parameters of `DELETE /v1/decisions`: unknown parameters are an error
    /// there, simulated decisions are included.
    pub fn from_delete_query(pairs: &[(String, String)]) -> Result<Self, FilterError> {
        for (k, _) in pairs {
            if !matches!(
                k.as_str(),
                "contains"
                    | "scope"
                    | "scopes"
                    | "origin"
                    | "value"
                    | "type"
                    | "ip"
                    | "range"
                    | "scenario"
                    | "uuid"
            ) {
                return Err(FilterError(format!("'{k}' doesn't exist: invalid filter")));
            }
        }
        let mut f = Self::from_query(pairs)?;
        f.include_simulated = true;
        Ok(f)
    }

    /// Whether a decision passes every field except `range` (the index handles that).
    pub fn matches(&self, d: &DecisionRecord) -> bool {
        if !self.include_simulated && d.simulated {
            return false;
        }
        if !self.scopes.is_empty() && !self.scopes.iter().any(|s| s.eq_ignore_ascii_case(&d.scope))
        {
            return false;
        }
        if self.value.as_ref().is_some_and(|v| *v != d.value)
            || self.kind.as_ref().is_some_and(|v| *v != d.kind)
            || self.scenario.as_ref().is_some_and(|v| *v != d.scenario)
            || self.id.is_some_and(|v| v != d.id)
            || self.alert_id.is_some_and(|v| v != d.alert_id)
        {
            return false;
        }
        if !self.origins.is_empty() && !self.origins.contains(&d.origin) {
            return false;
        }
        if !self.scenarios_containing.is_empty() || !self.scenarios_not_containing.is_empty() {
            let sc = d.scenario.to_lowercase();
            if !self.scenarios_containing.is_empty()
                && !self
                    .scenarios_containing
                    .iter()
                    .any(|w| sc.contains(w.as_str()))
            {
                return false;
            }
            if self
                .scenarios_not_containing
                .iter()
                .any(|w| sc.contains(w.as_str()))
            {
                return false;
            }
        }
        true
    }

    /// Whether a decision's value relates to `range` as asked (used where the index is not).
    pub fn matches_range(&self, d: &DecisionRecord) -> bool {
        let Some(q) = self.range else { return true };
        let Some(n) = parse_net(&d.value) else {
            return false;
        };
        if self.contains.unwrap_or(true) {
            n.contains(&q)
        } else {
            q.contains(&n)
        }
    }
}

/// Which alerts a query selects (CrowdSec's alert filter).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertFilter {
    /// Source scope (`ip`/`range` normalised).
    pub scope: Option<String>,
    /// Source value.
    pub value: Option<String>,
    /// Scenario (alert's or one of its decisions').
    pub scenario: Option<String>,
    /// IP or range its decisions relate to.
    pub range: Option<IpNet>,
    /// With `range`: containing (default) or contained.
    pub contains: Option<bool>,
    /// Started at or after this time (unix ms).
    pub since_ms: Option<i64>,
    /// Started at or before this time (unix ms).
    pub until_ms: Option<i64>,
    /// Created at or before this time (unix ms).
    pub created_before_ms: Option<i64>,
    /// `Some(false)`: exclude simulated alerts.
    pub simulated: Option<bool>,
    /// `Some(true)`: has an active decision; `Some(false)`: has no decision at all.
    pub has_active_decision: Option<bool>,
    /// One of its decisions has this type.
    pub decision_type: Option<String>,
    /// One of its decisions has this origin.
    pub origin: Option<String>,
    /// `Some(false)`: hide CAPI/list alerts.
    pub include_capi: Option<bool>,
    /// Kind.
    pub kind: Option<String>,
    /// Exact alert id.
    pub id: Option<i64>,
    /// Maximum number of answers (CrowdSec's default is 100; 0 means unlimited).
    pub limit: Option<usize>,
}

impl AlertFilter {
    /// Parses `GET/DELETE /v1/alerts` parameters; unknown parameters are an error.
    pub fn from_query(pairs: &[(String, String)]) -> Result<Self, FilterError> {
        let now = godur::now_ms();
        let ago = |v: &str| -> Result<i64, FilterError> {
            godur::parse_ms(v).map(|d| now - d).ok_or_else(|| {
                FilterError(format!(
                    "while parsing duration: time: invalid duration {v:?}"
                ))
            })
        };
        let mut f = AlertFilter::default();
        for (k, v) in pairs {
            match k.as_str() {
                "scope" => f.scope = Some(crate::model::normalize_scope(v)),
                "value" => f.value = Some(v.clone()),
                "scenario" => f.scenario = Some(v.clone()),
                "ip" | "range" => f.range = Some(parse_range(v)?),
                "contains" => f.contains = Some(parse_bool("contains", v)?),
                "since" => f.since_ms = Some(ago(v)?),
                "until" => f.until_ms = Some(ago(v)?),
                "created_before" => f.created_before_ms = Some(ago(v)?),
                "simulated" => f.simulated = Some(v != "false"),
                "has_active_decision" => {
                    f.has_active_decision = Some(parse_bool("has_active_decision", v)?)
                }
                "decision_type" => f.decision_type = Some(v.clone()),
                "origin" => f.origin = Some(v.clone()),
                "include_capi" => f.include_capi = Some(v != "false"),
                "kind" => f.kind = Some(v.clone()),
                "limit" => {
                    f.limit = Some(
                        v.parse()
                            .map_err(|_| FilterError(format!("invalid limit value: {v:?}")))?,
                    );
                }
                "sort" | "with_decisions" | "decision_id" | "alert_id" => {}
                _ => {
                    return Err(FilterError(format!(
                        "filter parameter '{k}' is unknown (={v}): invalid filter"
                    )));
                }
            }
        }
        Ok(f)
    }
}
