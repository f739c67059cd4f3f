//! Telemetry: `tracing` to stderr and the Prometheus recorder behind the `metrics` macros.

mod prometheus;

#[cfg(test)]
mod tests;

pub use prometheus::{Prometheus, describe_metrics, install_prometheus, names};

use tracing_subscriber::EnvFilter;

/// Why telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// `HIVEWALL_LOG`, `RUST_LOG` or the configured level is not a valid filter.
    #[error("invalid log filter `{filter}` (from {origin}): {message}")]
    Filter {
        /// The filter text.
        filter: String,
        /// Where it came from: `HIVEWALL_LOG`, `RUST_LOG` or `log_level`.
        origin: &'static str,
        /// The parser's complaint.
        message: String,
    },
    /// Another `metrics` recorder, not ours, is already installed.
    #[error("cannot install the Prometheus recorder: {0}")]
    Recorder(String),
}

/// Installs the global `tracing` subscriber writing to stderr, as text or JSON lines.
///
/// The filter is `HIVEWALL_LOG`, else `RUST_LOG`, else `level` (a CrowdSec level: `trace`,
/// `debug`, `info`, `warning`, `error`, `fatal`, `panic`). Calling it again, or after another
/// subscriber was installed, changes nothing and is not an error.
pub fn init_tracing(level: &str, json: bool) -> Result<(), TelemetryError> {
    let filter = filter_from(
        std::env::var("HIVEWALL_LOG").ok(),
        std::env::var("RUST_LOG").ok(),
        level,
    )?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    // `try_init` fails only when a global subscriber exists already: keep that one.
    let _already_set = if json {
        builder.json().try_init().is_err()
    } else {
        builder.try_init().is_err()
    };
    Ok(())
}

/// The filter from the first non-empty source, CrowdSec's level names translated.
fn filter_from(
    hivewall_log: Option<String>,
    rust_log: Option<String>,
    level: &str,
) -> Result<EnvFilter, TelemetryError> {
    let (filter, origin) = match (hivewall_log, rust_log) {
        (Some(f), _) if !f.trim().is_empty() => (f, "HIVEWALL_LOG"),
        (_, Some(f)) if !f.trim().is_empty() => (f, "RUST_LOG"),
        _ => (crowdsec_level(level).to_owned(), "log_level"),
    };
    EnvFilter::try_new(&filter).map_err(|e| TelemetryError::Filter {
        message: e.to_string(),
        filter,
        origin,
    })
}

/// CrowdSec's (logrus) level names as `tracing` levels; anything else passes through.
fn crowdsec_level(level: &str) -> &str {
    match level {
        "warning" => "warn",
        "fatal" | "panic" => "error",
        other => other,
    }
}
