//! The validate step: one parsed file to checked values, with no I/O. Errors point at the
//! file, line, column and key of the offending value.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use serde_saphyr::Spanned;

use super::SettingsError;
use super::raw::RawConfig;

/// What one file sets, checked but not yet defaulted. `None` means "not set here"; an empty
/// string counts as not set, as in CrowdSec.
#[derive(Debug, Default)]
pub(super) struct Partial {
    pub log_level: Option<String>,
    pub log_media: Option<String>,
    pub log_dir: Option<String>,
    pub config_dir: Option<String>,
    pub data_dir: Option<String>,
    pub hub_dir: Option<String>,
    pub simulation_path: Option<String>,
    pub acquisition_path: Option<String>,
    pub acquisition_dir: Option<String>,
    pub db_path: Option<String>,
    pub credentials_path: Option<String>,
    pub profiles_path: Option<String>,
    pub online_credentials_path: Option<String>,
    /// `api.server` is present (CrowdSec disables its API when the section is missing).
    pub api_server: Option<bool>,
    pub api_enable: Option<bool>,
    pub listen: Option<SocketAddr>,
    pub prometheus_enabled: Option<bool>,
    pub prometheus_addr: Option<IpAddr>,
    pub prometheus_port: Option<u16>,
    pub state_dir: Option<String>,
    pub crowdsec_compat: Option<bool>,
    pub max_body_bytes: Option<usize>,
    pub flush_interval_ms: Option<u64>,
    pub channel_capacity: Option<usize>,
    pub feed_pull_interval: Option<Duration>,
    pub share_signals: Option<bool>,
}

impl Partial {
    /// `over` wins wherever it sets a value (the `.local` file over the main one).
    pub fn merge(self, over: Partial) -> Partial {
        macro_rules! pick {
            ($($field:ident),*) => { Partial { $($field: over.$field.or(self.$field)),* } };
        }
        pick!(
            log_level,
            log_media,
            log_dir,
            config_dir,
            data_dir,
            hub_dir,
            simulation_path,
            acquisition_path,
            acquisition_dir,
            db_path,
            credentials_path,
            profiles_path,
            online_credentials_path,
            api_server,
            api_enable,
            listen,
            prometheus_enabled,
            prometheus_addr,
            prometheus_port,
            state_dir,
            crowdsec_compat,
            max_body_bytes,
            flush_interval_ms,
            channel_capacity,
            feed_pull_interval,
            share_signals
        )
    }
}

const LOG_LEVELS: &[&str] = &[
    "trace", "debug", "info", "warn", "warning", "error", "fatal", "panic",
];
const LOG_MEDIA: &[&str] = &["stdout", "file", "syslog"];

/// Checks one parsed file.
pub(super) fn validate(raw: RawConfig, file: &Path) -> Result<Partial, SettingsError> {
    let invalid =
        |key: &str, at: &serde_saphyr::Location, message: String| SettingsError::Invalid {
            path: file.to_path_buf(),
            line: at.line(),
            column: at.column(),
            key: key.to_owned(),
            message,
        };
    let one_of = |key: &str, value: Option<Spanned<String>>, allowed: &[&str]| {
        let Some(value) = value.filter(|v| !v.value.is_empty()) else {
            return Ok(None);
        };
        let lower = value.value.to_ascii_lowercase();
        if allowed.contains(&lower.as_str()) {
            Ok(Some(lower))
        } else {
            Err(invalid(
                key,
                &value.referenced,
                format!("`{}` is not one of {}", value.value, allowed.join(", ")),
            ))
        }
    };
    let positive = |key: &str, value: Option<Spanned<u64>>| match value {
        Some(v) if v.value == 0 => {
            Err(invalid(key, &v.referenced, "must be greater than 0".into()))
        }
        other => Ok(other.map(|v| v.value)),
    };

    let mut out = Partial::default();
    if let Some(common) = raw.common {
        out.log_level = one_of("common.log_level", common.log_level, LOG_LEVELS)?;
        out.log_media = one_of("common.log_media", common.log_media, LOG_MEDIA)?;
        out.log_dir = non_empty(common.log_dir);
    }
    if let Some(paths) = raw.config_paths {
        out.config_dir = non_empty(paths.config_dir);
        out.data_dir = non_empty(paths.data_dir);
        out.hub_dir = non_empty(paths.hub_dir);
        out.simulation_path = non_empty(paths.simulation_path);
    }
    if let Some(service) = raw.crowdsec_service {
        out.acquisition_path = non_empty(service.acquisition_path);
        out.acquisition_dir = non_empty(service.acquisition_dir);
    }
    out.db_path = raw.db_config.and_then(|db| non_empty(db.db_path));
    if let Some(api) = raw.api {
        out.credentials_path = api.client.and_then(|c| non_empty(c.credentials_path));
        if let Some(server) = api.server {
            out.api_server = Some(true);
            out.api_enable = server.enable;
            out.profiles_path = non_empty(server.profiles_path);
            out.online_credentials_path = server
                .online_client
                .and_then(|o| non_empty(o.credentials_path));
            if let Some(uri) = server.listen_uri.filter(|u| !u.value.is_empty()) {
                let addr = parse_listen(&uri.value)
                    .map_err(|m| invalid("api.server.listen_uri", &uri.referenced, m))?;
                out.listen = Some(addr);
            }
        }
    }
    if let Some(prom) = raw.prometheus {
        out.prometheus_enabled = prom.enabled;
        if let Some(addr) = prom.listen_addr.filter(|a| !a.value.is_empty()) {
            let ip = parse_host(&addr.value)
                .map_err(|m| invalid("prometheus.listen_addr", &addr.referenced, m))?;
            out.prometheus_addr = Some(ip);
        }
        // CrowdSec reads port 0 as "not set".
        out.prometheus_port = prom.listen_port.map(|p| p.value).filter(|p| *p != 0);
    }
    if let Some(hw) = raw.hivewall {
        out.state_dir = non_empty(hw.state_dir);
        out.crowdsec_compat = hw.crowdsec_compat;
        out.max_body_bytes =
            positive("hivewall.max_body_bytes", hw.max_body_bytes)?.map(saturating_usize);
        out.flush_interval_ms = positive("hivewall.flush_interval_ms", hw.flush_interval_ms)?;
        out.channel_capacity =
            positive("hivewall.channel_capacity", hw.channel_capacity)?.map(saturating_usize);
        if let Some(v) = hw.feed_pull_interval.filter(|v| !v.value.is_empty()) {
            let key = "hivewall.feed_pull_interval";
            let d = wire::parse_go_duration(&v.value).ok_or_else(|| {
                invalid(
                    key,
                    &v.referenced,
                    format!("`{}` is not a duration (e.g. 2h, 30m, 10s)", v.value),
                )
            })?;
            if d.is_zero() {
                return Err(invalid(key, &v.referenced, "must be greater than 0".into()));
            }
            out.feed_pull_interval = Some(d);
        }
        out.share_signals = hw.share_signals;
    }
    Ok(out)
}

fn saturating_usize(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// Go's `host:port` for a listener: an empty host means every interface, `localhost` the
/// loopback; other names would need a DNS lookup and are refused.
pub(super) fn parse_listen(uri: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = uri.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let (host, port) = uri
        .rsplit_once(':')
        .ok_or_else(|| format!("`{uri}` is not host:port"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("`{port}` is not a port number"))?;
    let ip = if host.is_empty() {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        parse_host(host)?
    };
    Ok(SocketAddr::new(ip, port))
}

fn parse_host(host: &str) -> Result<IpAddr, String> {
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse()
        .map_err(|_| format!("`{host}` is not an IP address (host names are not resolved)"))
}
