//! The parse step: the parts of CrowdSec's `config.yaml` that hivewall reads, as serde types.
//!
//! Every CrowdSec section is lenient (unknown keys are skipped here and listed by
//! [`super::keys`]); only hivewall's own `hivewall:` section denies unknown keys.

use serde::Deserialize;
use serde_saphyr::Spanned;

/// The whole file, one optional struct per section.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawConfig {
    pub common: Option<RawCommon>,
    pub config_paths: Option<RawConfigPaths>,
    pub crowdsec_service: Option<RawCrowdsecService>,
    pub db_config: Option<RawDbConfig>,
    pub api: Option<RawApi>,
    pub prometheus: Option<RawPrometheus>,
    pub hivewall: Option<RawHivewall>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawCommon {
    pub log_level: Option<Spanned<String>>,
    pub log_media: Option<Spanned<String>>,
    pub log_dir: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawConfigPaths {
    pub config_dir: Option<String>,
    pub data_dir: Option<String>,
    pub hub_dir: Option<String>,
    pub simulation_path: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawCrowdsecService {
    pub acquisition_path: Option<String>,
    pub acquisition_dir: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawDbConfig {
    pub db_path: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawApi {
    pub client: Option<RawApiClient>,
    pub server: Option<RawApiServer>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawApiClient {
    pub credentials_path: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawApiServer {
    pub enable: Option<bool>,
    pub listen_uri: Option<Spanned<String>>,
    pub profiles_path: Option<String>,
    pub online_client: Option<RawOnlineClient>,
}

/// `api.server.online_client`: where the Central API credentials are (CrowdSec 1.4 has no
/// other key here; newer versions' `sharing` and `pull` are not read).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawOnlineClient {
    pub credentials_path: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawPrometheus {
    pub enabled: Option<bool>,
    pub listen_addr: Option<Spanned<String>>,
    pub listen_port: Option<Spanned<u16>>,
}

/// hivewall's own section: strict, a typo is an error.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawHivewall {
    pub state_dir: Option<String>,
    pub crowdsec_compat: Option<bool>,
    pub max_body_bytes: Option<Spanned<u64>>,
    pub flush_interval_ms: Option<Spanned<u64>>,
    pub channel_capacity: Option<Spanned<u64>>,
    pub feed_pull_interval: Option<Spanned<String>>,
    pub share_signals: Option<bool>,
}

/// The dotted keys of [`RawConfig`] that hivewall uses; everything else in a file is ignored.
/// A key listed here covers its whole subtree.
pub(super) const USED_KEYS: &[&str] = &[
    "common.log_level",
    "common.log_media",
    "common.log_dir",
    "config_paths.config_dir",
    "config_paths.data_dir",
    "config_paths.hub_dir",
    "config_paths.simulation_path",
    "crowdsec_service.acquisition_path",
    "crowdsec_service.acquisition_dir",
    "db_config.db_path",
    "api.client.credentials_path",
    "api.server.enable",
    "api.server.listen_uri",
    "api.server.profiles_path",
    "api.server.online_client.credentials_path",
    "prometheus.enabled",
    "prometheus.listen_addr",
    "prometheus.listen_port",
    "hivewall",
];
