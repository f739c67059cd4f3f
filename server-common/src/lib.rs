//! What every hivewall service shares: settings read from CrowdSec's `config.yaml`, the
//! shutdown token and signals, `tracing` set-up and the Prometheus recorder, and (feature
//! `kafka`) Kafka producers that serve their delivery reports without a busy loop.
//!
//! It serves `ingest`, `processor`, `decision-api` and `cli`, and must never depend on any of
//! them nor on `engine`.

#[cfg(feature = "kafka")]
pub mod kafka;
pub mod settings;
pub mod shutdown;
pub mod telemetry;
pub mod testing;

pub use settings::{
    HivewallSection, OnlineCredentials, Settings, SettingsError, defaults, expand_env, load,
    load_online_credentials, load_with_env,
};
pub use shutdown::{JoinReport, Shutdown, join_with_deadline};
pub use telemetry::{
    Prometheus, TelemetryError, describe_metrics, init_tracing, install_prometheus, names,
};
