//! The decision model of CrowdSec's Local API (`Decision` in `localapi_swagger.yaml`).

use serde::{Deserialize, Serialize};

/// A decision (LAPI `Decision` model).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Duration (Go duration text).
    pub duration: String,
    /// `crowdsec` or `crowdsec/<origin>`.
    pub origin: String,
    /// The scenario that triggered it.
    pub scenario: String,
    /// `Ip`, `Range`, ...
    pub scope: String,
    /// `ban`, `captcha`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The IP, range, ...
    pub value: String,
    /// Simulation mode.
    #[serde(default)]
    pub simulated: bool,
}
