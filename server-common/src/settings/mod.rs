//! Settings: CrowdSec's own `config.yaml` (plus `config.yaml.local` merged over it), read
//! as hivewall needs it, so `hivewall run -c /etc/crowdsec/config.yaml` works on a CrowdSec
//! install.
//!
//! Each file is expanded (`${VAR}`/`$VAR`, as CrowdSec does), parsed (`raw`), validated
//! without I/O (`validate`); the two results are merged and built into [`Settings`] with
//! CrowdSec's defaults and absolute paths (`build`).

mod build;
mod keys;
mod online;

pub use keys::expand_env;
mod raw;
mod validate;

#[cfg(test)]
mod tests;

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use build::defaults;
pub use online::{OnlineCredentials, load_online_credentials};

/// Everything a hivewall service reads from the configuration, resolved: paths are absolute
/// and absent keys hold CrowdSec's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `config_paths.config_dir`; the config file's directory when absent.
    pub config_dir: PathBuf,
    /// `config_paths.data_dir` (data files of parsers and scenarios).
    pub data_dir: PathBuf,
    /// `config_paths.hub_dir`, `config_dir/hub` when absent; `None` for our own layout.
    pub hub_dir: Option<PathBuf>,
    /// `crowdsec_service.acquisition_path`; `config_dir/acquis.yaml` when neither it nor
    /// `acquisition_dir` is set.
    pub acquisition_path: Option<PathBuf>,
    /// `crowdsec_service.acquisition_dir` (every `*.yaml`/`*.yml` inside is an acquisition file).
    pub acquisition_dir: Option<PathBuf>,
    /// `api.server.profiles_path`, `config_dir/profiles.yaml` when absent.
    pub profiles_path: Option<PathBuf>,
    /// `config_paths.simulation_path`, `config_dir/simulation.yaml` when absent.
    pub simulation_path: Option<PathBuf>,
    /// Where the decision API listens: `api.server.listen_uri`, default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// Whether to serve the API: CrowdSec serves it when `api.server` exists and its
    /// `enable` is not `false`.
    pub api_enabled: bool,
    /// hivewall's own state: `hivewall.state_dir`, or the directory of `db_config.db_path`
    /// (where CrowdSec's SQLite file sits) joined with `hivewall`.
    pub state_dir: PathBuf,
    /// Where to serve `/metrics`: `prometheus.listen_addr:listen_port` when `enabled`.
    pub prometheus: Option<SocketAddr>,
    /// `common.log_level`, lower case (`info` when absent).
    pub log_level: String,
    /// `common.log_dir`.
    pub log_dir: Option<PathBuf>,
    /// `common.log_media`: `stdout`, `file` or `syslog` (`stdout` when absent).
    pub log_media: String,
    /// `api.client.credentials_path` (the machine's credentials for the local API).
    pub credentials_path: Option<PathBuf>,
    /// `api.server.online_client.credentials_path`: the Central API credentials (`url`,
    /// `login`, `password`, read by [`load_online_credentials`]) of the community feed to
    /// subscribe to; `None` when absent (no subscription, as in CrowdSec).
    pub online_credentials_path: Option<PathBuf>,
    /// The `hivewall:` section.
    pub hivewall: HivewallSection,
    /// Dotted keys present in the file(s) that hivewall does not use, for the caller to
    /// report once at start-up.
    pub ignored: Vec<String>,
}

/// hivewall's own top-level `hivewall:` section. Unknown keys in it are errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HivewallSection {
    /// `state_dir`: overrides where hivewall keeps its state (resolved into
    /// [`Settings::state_dir`]).
    pub state_dir: Option<PathBuf>,
    /// `crowdsec_compat`: behave as a drop-in CrowdSec (its files, paths and API answers);
    /// default `true`.
    pub crowdsec_compat: bool,
    /// `max_body_bytes`: largest HTTP request body accepted; default 8 MiB.
    pub max_body_bytes: usize,
    /// `flush_interval_ms`: how often buffered state and offsets are written; default 1000.
    pub flush_interval_ms: u64,
    /// `channel_capacity`: bound of the channels between stages; default 1024.
    pub channel_capacity: usize,
    /// `feed_pull_interval`: how often the community feed is pulled (a Go duration);
    /// default 2h, as CrowdSec pulls its community blocklist.
    pub feed_pull_interval: Duration,
    /// `share_signals`: push a signal per local alert to the feed (opt-in); default `false`.
    pub share_signals: bool,
}

impl Default for HivewallSection {
    fn default() -> Self {
        HivewallSection {
            state_dir: None,
            crowdsec_compat: true,
            max_body_bytes: 8 << 20,
            flush_interval_ms: 1000,
            channel_capacity: 1024,
            feed_pull_interval: Duration::from_secs(2 * 3600),
            share_signals: false,
        }
    }
}

/// Why the settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The configuration file does not exist.
    #[error("{}: configuration file not found", path.display())]
    NotFound {
        /// The file asked for.
        path: PathBuf,
    },
    /// The file exists but could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The YAML is malformed, a value has the wrong type, or the `hivewall:` section has an
    /// unknown key (the message names it).
    #[error("{}:{line}:{column}: {message}", path.display())]
    Yaml {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 when unknown).
        line: u64,
        /// 1-based column (0 when unknown).
        column: u64,
        /// What is wrong.
        message: String,
    },
    /// A value is well-typed but not acceptable.
    #[error("{}:{line}:{column}: {key}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// 1-based column.
        column: u64,
        /// The dotted key, e.g. `api.server.listen_uri`.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// Loads `path` (and `path.local` beside it, merged over it) with the process environment.
pub fn load(path: &Path) -> Result<Settings, SettingsError> {
    load_with_env(path, |name| std::env::var(name).ok())
}

/// [`load`], taking variables from `env` instead of the process environment.
pub fn load_with_env(
    path: &Path,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Settings, SettingsError> {
    let path = std::path::absolute(path).map_err(|source| SettingsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(SettingsError::NotFound { path });
        }
        Err(source) => return Err(SettingsError::Read { path, source }),
    };
    let (mut partial, mut ignored) = parse_file(&path, &text, &env)?;

    let mut local = path.clone().into_os_string();
    local.push(".local");
    let local = PathBuf::from(local);
    match std::fs::read_to_string(&local) {
        Ok(text) => {
            let (over, more) = parse_file(&local, &text, &env)?;
            partial = partial.merge(over);
            for key in more {
                if !ignored.contains(&key) {
                    ignored.push(key);
                }
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(SettingsError::Read {
                path: local,
                source,
            });
        }
    }

    let base = path.parent().unwrap_or(Path::new("/"));
    Ok(build::build(partial, base, ignored))
}

/// Expand, parse and validate one file; also list the keys it sets that hivewall ignores.
fn parse_file(
    path: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(validate::Partial, Vec<String>), SettingsError> {
    let text = keys::expand_env(text, env);
    let yaml_error = |e: serde_saphyr::Error| {
        let at = e.location();
        SettingsError::Yaml {
            path: path.to_path_buf(),
            line: at.map_or(0, |l| l.line()),
            column: at.map_or(0, |l| l.column()),
            message: bare_message(&e),
        }
    };
    // An empty file (or one of comments only) sets nothing.
    let raw: Option<raw::RawConfig> = serde_saphyr::from_str(&text).map_err(yaml_error)?;
    let doc: Option<serde_json::Value> = serde_saphyr::from_str(&text).map_err(yaml_error)?;
    let partial = validate::validate(raw.unwrap_or_default(), path)?;
    let ignored = doc
        .map(|d| keys::unused_keys(&d, raw::USED_KEYS))
        .unwrap_or_default();
    Ok((partial, ignored))
}

/// The error's text without the source snippet and the position we print ourselves.
fn bare_message(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    match text.rsplit_once(" at line ") {
        Some((message, position)) if position.contains(", column ") => message.to_owned(),
        _ => text,
    }
}
