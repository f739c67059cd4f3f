//! Request and response types of the administration routes (`/hivewall/admin/v1/...`,
//! header [`ADMIN_KEY_HEADER`]), and the operator verbs behind them as [`Store`] methods, so
//! the CLI works the same with or without a running server.
//!
//! | Route | Body / query | Answer |
//! |---|---|---|
//! | `GET decisions` | [`crate::DecisionFilter`] query params | `Vec<`[`crate::model::Decision`]`>` |
//! | `POST decisions` | [`AddDecisionRequest`] | [`AddDecisionsResponse`] |
//! | `POST decisions/import` | `Vec<`[`AddDecisionRequest`]`>` | [`AddDecisionsResponse`] |
//! | `DELETE decisions` | filter query params | [`DeleteResponse`] |
//! | `DELETE decisions/{id}` | | [`DeleteResponse`] |
//! | `GET alerts` | [`crate::AlertFilter`] query params | `Vec<`[`crate::model::Alert`]`>` |
//! | `GET alerts/{id}` | | [`crate::model::Alert`] |
//! | `DELETE alerts`, `DELETE alerts/{id}` | filter query params | [`DeleteResponse`] |
//! | `GET bouncers` | | `Vec<`[`crate::store::BouncerInfo`]`>` |
//! | `POST bouncers` | [`AddBouncerRequest`] | [`AddBouncerResponse`] |
//! | `DELETE bouncers/{name}` | | [`DeleteResponse`] |
//! | `GET machines` | | `Vec<`[`crate::store::MachineInfo`]`>` |
//! | `POST machines` | [`AddMachineRequest`] | [`DeleteResponse`] (`deleted: 0`) |
//! | `POST machines/{id}/validate` | | [`DeleteResponse`] (`deleted: 0`) |
//! | `DELETE machines/{id}` | | [`DeleteResponse`] |
//! | `GET metrics` | | Prometheus text |
//!
//! Errors are `{"message": "..."}` with 400 (bad input), 401 (bad key), 403 (exists),
//! 404 (not found).

use serde::{Deserialize, Serialize};

use crate::godur;
use crate::model;
use crate::store::{Store, StoreError};

/// Header carrying the administration key.
pub const ADMIN_KEY_HEADER: &str = "X-Hivewall-Admin-Key";
/// Path prefix of the administration routes.
pub const ADMIN_PREFIX: &str = "/hivewall/admin/v1";

fn default_scope() -> String {
    "Ip".to_string()
}
fn default_type() -> String {
    "ban".to_string()
}
fn default_duration() -> String {
    "4h".to_string()
}

/// One decision to add (`cscli decisions add` / one line of an import).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddDecisionRequest {
    /// The value (IP, range, ...).
    pub value: String,
    /// Scope (default `Ip`).
    #[serde(default = "default_scope")]
    pub scope: String,
    /// Type (default `ban`).
    #[serde(rename = "type", default = "default_type")]
    pub kind: String,
    /// Duration, Go text (default `4h`).
    #[serde(default = "default_duration")]
    pub duration: String,
    /// Reason (becomes the scenario; default `manual '<type>' from 'hivewall'`).
    #[serde(default)]
    pub reason: String,
    /// Origin (default `cscli`).
    #[serde(default)]
    pub origin: String,
}

/// Answer to adds and imports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddDecisionsResponse {
    /// The alert created to carry the decisions.
    pub alert_id: i64,
    /// How many decisions were added.
    pub added: usize,
}

/// Answer to deletions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteResponse {
    /// How many items were deleted.
    pub deleted: usize,
}

/// `POST bouncers` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddBouncerRequest {
    /// Name.
    pub name: String,
    /// Key to use (generated when absent).
    #[serde(default)]
    pub key: Option<String>,
}

/// `POST bouncers` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddBouncerResponse {
    /// Name.
    pub name: String,
    /// The API key (only shown now).
    pub key: String,
}

/// `POST machines` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddMachineRequest {
    /// Machine id.
    pub machine_id: String,
    /// Password.
    pub password: String,
    /// Register it as validated (default true, as `cscli machines add`).
    #[serde(default = "yes")]
    pub validated: bool,
}

fn yes() -> bool {
    true
}

/// The alert carrying manually added decisions (`decisions add`/`import`).
pub(crate) fn manual_alert(reqs: &[AddDecisionRequest]) -> Result<model::Alert, StoreError> {
    let first = reqs
        .first()
        .ok_or_else(|| StoreError::Invalid("no decisions to add".to_string()))?;
    let now = godur::rfc3339_ms(godur::now_ms());
    let mut decisions = Vec::with_capacity(reqs.len());
    for r in reqs {
        if r.value.is_empty() {
            return Err(StoreError::Invalid("decision value is empty".to_string()));
        }
        let scope = model::normalize_scope(&r.scope);
        if scope == "Ip" && r.value.parse::<std::net::IpAddr>().is_err() {
            return Err(StoreError::Invalid(format!(
                "{} is not a valid IP",
                r.value
            )));
        }
        if scope == "Range" && r.value.parse::<ipnet::IpNet>().is_err() {
            return Err(StoreError::Invalid(format!(
                "{} is not a valid range",
                r.value
            )));
        }
        if godur::parse_ms(&r.duration).is_none_or(|d| d <= 0) {
            return Err(StoreError::Invalid(format!(
                "invalid duration '{}'",
                r.duration
            )));
        }
        let reason = if r.reason.is_empty() {
            format!("manual '{}' from 'hivewall'", r.kind)
        } else {
            r.reason.clone()
        };
        decisions.push(model::Decision {
            duration: r.duration.clone(),
            origin: if r.origin.is_empty() {
                "cscli".to_string()
            } else {
                r.origin.clone()
            },
            scenario: reason,
            scope,
            simulated: Some(false),
            kind: r.kind.clone(),
            value: r.value.clone(),
            ..model::Decision::default()
        });
    }
    let scenario = if reqs.len() == 1 {
        decisions[0].scenario.clone()
    } else {
        format!("import of {} decisions", reqs.len())
    };
    let scope = model::normalize_scope(&first.scope);
    Ok(model::Alert {
        scenario: scenario.clone(),
        message: scenario,
        events_count: 1,
        start_at: now.clone(),
        stop_at: now,
        capacity: 0,
        leakspeed: "0".to_string(),
        simulated: false,
        remediation: true,
        kind: "manual".to_string(),
        source: model::Source {
            ip: if scope == "Ip" && reqs.len() == 1 {
                first.value.clone()
            } else {
                String::new()
            },
            range: if scope == "Range" && reqs.len() == 1 {
                first.value.clone()
            } else {
                String::new()
            },
            scope,
            value: if reqs.len() == 1 {
                first.value.clone()
            } else {
                "import".to_string()
            },
            ..model::Source::default()
        },
        decisions,
        ..model::Alert::default()
    })
}

impl Store {
    /// Adds one manual decision (`cscli decisions add`), carried by a new alert.
    pub fn add_decision(
        &self,
        req: &AddDecisionRequest,
    ) -> Result<AddDecisionsResponse, StoreError> {
        self.import_decisions(std::slice::from_ref(req))
    }

    /// Adds many decisions at once (`cscli decisions import`), carried by one alert.
    pub fn import_decisions(
        &self,
        reqs: &[AddDecisionRequest],
    ) -> Result<AddDecisionsResponse, StoreError> {
        let alert = manual_alert(reqs)?;
        let ids = self.push_model_alerts("", vec![alert], None)?;
        Ok(AddDecisionsResponse {
            alert_id: ids.first().copied().unwrap_or(0),
            added: reqs.len(),
        })
    }
}
