//! The build step: merged, validated values to [`Settings`], with CrowdSec's defaults and
//! paths made absolute against the config file's directory. No I/O.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use super::validate::Partial;
use super::{HivewallSection, Settings};

const DEFAULT_DATA_DIR: &str = "/var/lib/crowdsec/data";
const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);
const DEFAULT_PROMETHEUS_PORT: u16 = 6060;

/// Resolves `p` against `base` and drops `.` components and trailing slashes.
fn resolve(base: &Path, p: &str) -> PathBuf {
    base.join(p).components().collect()
}

pub(super) fn build(p: Partial, base: &Path, ignored: Vec<String>) -> Settings {
    let abs = |v: Option<String>| v.map(|s| resolve(base, &s));
    let config_dir = abs(p.config_dir).unwrap_or_else(|| resolve(base, "."));
    let data_dir = abs(p.data_dir).unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    let acquisition_dir = abs(p.acquisition_dir);
    let acquisition_path = match abs(p.acquisition_path) {
        None if acquisition_dir.is_none() => Some(config_dir.join("acquis.yaml")),
        other => other,
    };
    let db_path = abs(p.db_path).unwrap_or_else(|| data_dir.join("crowdsec.db"));
    let hivewall_state = abs(p.state_dir);
    let state_dir = hivewall_state
        .clone()
        .unwrap_or_else(|| db_path.parent().unwrap_or(&data_dir).join("hivewall"));
    let defaults = HivewallSection::default();
    Settings {
        hub_dir: Some(abs(p.hub_dir).unwrap_or_else(|| config_dir.join("hub"))),
        simulation_path: Some(
            abs(p.simulation_path).unwrap_or_else(|| config_dir.join("simulation.yaml")),
        ),
        profiles_path: Some(
            abs(p.profiles_path).unwrap_or_else(|| config_dir.join("profiles.yaml")),
        ),
        acquisition_path,
        acquisition_dir,
        listen: p.listen.unwrap_or(DEFAULT_LISTEN),
        api_enabled: p.api_server.unwrap_or(false) && p.api_enable.unwrap_or(true),
        state_dir,
        prometheus: p.prometheus_enabled.unwrap_or(false).then(|| {
            SocketAddr::new(
                p.prometheus_addr.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                p.prometheus_port.unwrap_or(DEFAULT_PROMETHEUS_PORT),
            )
        }),
        log_level: p.log_level.unwrap_or_else(|| "info".into()),
        log_dir: abs(p.log_dir),
        log_media: p.log_media.unwrap_or_else(|| "stdout".into()),
        credentials_path: abs(p.credentials_path),
        online_credentials_path: abs(p.online_credentials_path),
        hivewall: HivewallSection {
            state_dir: hivewall_state,
            crowdsec_compat: p.crowdsec_compat.unwrap_or(defaults.crowdsec_compat),
            max_body_bytes: p.max_body_bytes.unwrap_or(defaults.max_body_bytes),
            flush_interval_ms: p.flush_interval_ms.unwrap_or(defaults.flush_interval_ms),
            channel_capacity: p.channel_capacity.unwrap_or(defaults.channel_capacity),
            feed_pull_interval: p.feed_pull_interval.unwrap_or(defaults.feed_pull_interval),
            share_signals: p.share_signals.unwrap_or(defaults.share_signals),
        },
        config_dir,
        data_dir,
        ignored,
    }
}

/// Settings when no `-c` is given. `config_dir` is the given directory in hivewall's
/// `scenarios/` layout (given the repository root, which holds `scenarios/profiles.yaml`,
/// its `scenarios/`); data files in `config_dir/data`; no acquisition (the caller adds the
/// usual logs); no hub; the API on `127.0.0.1:8080`; state in `$XDG_DATA_HOME/hivewall`,
/// `~/.local/share/hivewall`, or `/var/lib/hivewall` for root.
pub fn defaults(repo_or_config_dir: &Path) -> Settings {
    let config_dir = std::path::absolute(repo_or_config_dir)
        .unwrap_or_else(|_| repo_or_config_dir.to_path_buf());
    let mut config_dir: PathBuf = config_dir.components().collect();
    if config_dir.join("scenarios/profiles.yaml").is_file() {
        config_dir.push("scenarios");
    }
    Settings {
        data_dir: config_dir.join("data"),
        hub_dir: None,
        acquisition_path: None,
        acquisition_dir: None,
        profiles_path: Some(config_dir.join("profiles.yaml")),
        simulation_path: None,
        listen: DEFAULT_LISTEN,
        api_enabled: true,
        state_dir: default_state_dir(),
        prometheus: None,
        log_level: "info".into(),
        log_dir: None,
        log_media: "stdout".into(),
        credentials_path: None,
        online_credentials_path: None,
        hivewall: HivewallSection::default(),
        ignored: Vec::new(),
        config_dir,
    }
}

fn default_state_dir() -> PathBuf {
    if is_root() {
        return PathBuf::from("/var/lib/hivewall");
    }
    let var = |name| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    match (var("XDG_DATA_HOME"), var("HOME")) {
        (Some(xdg), _) if xdg.is_absolute() => xdg.join("hivewall"),
        (_, Some(home)) => home.join(".local/share/hivewall"),
        _ => PathBuf::from("/var/lib/hivewall"),
    }
}

/// The process's user is root: `/proc/self` belongs to the effective user.
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}
