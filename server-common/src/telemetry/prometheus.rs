//! The process-wide Prometheus recorder and the metric names hivewall uses.

use std::sync::OnceLock;

use metrics::{Unit, describe_counter, describe_gauge};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use super::TelemetryError;

/// The metric names, so call sites and dashboards agree on spelling.
pub mod names {
    /// Counter, label `source`: lines read from an acquisition source.
    pub const LINES_READ: &str = "hivewall_lines_read_total";
    /// Counter, labels `source`, `result` (where each line ended: `poured`, `unparsed`,
    /// `parse_error`, `whitelisted`, `unpoured`, `pour_error`): lines through the pipeline.
    pub const LINES_PARSED: &str = "hivewall_lines_parsed_total";
    /// Gauge: live leaky buckets.
    pub const BUCKETS: &str = "hivewall_buckets";
    /// Counter, label `scenario`: alerts raised.
    pub const ALERTS: &str = "hivewall_alerts_total";
    /// Gauge: decisions currently in force.
    pub const DECISIONS_ACTIVE: &str = "hivewall_decisions_active";
    /// Counter, labels `route`, `status`: HTTP requests served by the decision API.
    pub const API_REQUESTS: &str = "hivewall_api_requests_total";
    /// Gauge: how far processing is behind the newest line read, in seconds.
    pub const LAG_SECONDS: &str = "hivewall_lag_seconds";
}

/// The installed recorder: renders the Prometheus text exposition. It serves no HTTP
/// itself; the caller mounts [`Prometheus::render`] on its own listener.
#[derive(Debug, Clone)]
pub struct Prometheus {
    handle: PrometheusHandle,
}

impl Prometheus {
    /// Every metric recorded so far, in the Prometheus text format.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Housekeeping of histograms and summaries; call every few seconds if any are used.
    pub fn run_upkeep(&self) {
        self.handle.run_upkeep();
    }
}

static INSTALLED: OnceLock<Prometheus> = OnceLock::new();

/// Installs the Prometheus recorder as the global `metrics` recorder, once per process;
/// later calls return the same recorder. Fails if a different recorder is installed.
pub fn install_prometheus() -> Result<Prometheus, TelemetryError> {
    if let Some(installed) = INSTALLED.get() {
        return Ok(installed.clone());
    }
    let handle = PrometheusBuilder::new().install_recorder();
    match handle {
        Ok(handle) => Ok(INSTALLED.get_or_init(|| Prometheus { handle }).clone()),
        // Lost a race with another thread of ours: use the winner's.
        Err(e) => INSTALLED
            .get()
            .cloned()
            .ok_or_else(|| TelemetryError::Recorder(e.to_string())),
    }
}

/// Registers the help text and unit of every metric in [`names`] with the current recorder
/// (call after [`install_prometheus`]).
pub fn describe_metrics() {
    describe_counter!(
        names::LINES_READ,
        Unit::Count,
        "Lines read, by acquisition source."
    );
    describe_counter!(
        names::LINES_PARSED,
        Unit::Count,
        "Lines through the pipeline, by source and where each ended (poured, unparsed, ...)."
    );
    describe_gauge!(names::BUCKETS, Unit::Count, "Live leaky buckets.");
    describe_counter!(names::ALERTS, Unit::Count, "Alerts raised, by scenario.");
    describe_gauge!(
        names::DECISIONS_ACTIVE,
        Unit::Count,
        "Decisions currently in force."
    );
    describe_counter!(
        names::API_REQUESTS,
        Unit::Count,
        "Decision API requests, by route and status code."
    );
    describe_gauge!(
        names::LAG_SECONDS,
        Unit::Seconds,
        "How far processing is behind the newest line read."
    );
}
