//! One acquisition document as written: every key CrowdSec's datasources accept (plus
//! hivewall's own), before validation. Unknown keys are refused, as CrowdSec's strict decoding
//! refuses them.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::IgnoredAny;

/// The keys of one document of `acquis.yaml`. Which of them a source may use is checked
/// afterwards ([`super::build`]), so that the error names the source.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDoc {
    // Common to all datasources (CrowdSec's `DataSourceCommonCfg`).
    pub source: Option<String>,
    pub mode: Option<String>,
    pub labels: Option<BTreeMap<String, String>>,
    pub log_level: Option<IgnoredAny>,
    pub name: Option<String>,
    pub use_time_machine: Option<IgnoredAny>,
    pub unique_id: Option<IgnoredAny>,
    pub transform: Option<IgnoredAny>,

    // file
    pub filename: Option<String>,
    pub filenames: Option<Vec<String>>,
    pub exclude_regexps: Option<Vec<String>>,
    pub force_inotify: Option<IgnoredAny>,
    pub max_buffer_size: Option<u64>,
    pub poll_without_inotify: Option<bool>,
    pub discovery_poll_enable: Option<IgnoredAny>,
    pub discovery_poll_interval: Option<String>,
    /// hivewall: lines longer than this are cut.
    pub max_line_bytes: Option<u64>,
    /// hivewall: how often a followed file is checked for new data.
    pub poll_interval: Option<String>,

    // syslog
    pub protocol: Option<String>,
    pub listen_port: Option<i64>,
    pub listen_addr: Option<String>,
    pub max_message_len: Option<u64>,
    pub disable_rfc_parser: Option<bool>,

    // journalctl
    pub journalctl_filter: Option<Vec<String>>,
    /// hivewall: the `journalctl` binary to run.
    pub journalctl_bin: Option<String>,

    // http
    pub listen_socket: Option<IgnoredAny>,
    pub path: Option<String>,
    pub auth_type: Option<String>,
    pub basic_auth: Option<RawBasicAuth>,
    pub headers: Option<BTreeMap<String, String>>,
    pub tls: Option<IgnoredAny>,
    pub custom_status_code: Option<u16>,
    pub custom_headers: Option<BTreeMap<String, String>>,
    pub max_body_size: Option<i64>,
    pub timeout: Option<IgnoredAny>,
}

/// `basic_auth:` of the http datasource.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBasicAuth {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
}

/// How a key of [`RawDoc`] is treated for a given source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyUse {
    /// Read and honoured.
    Used,
    /// CrowdSec accepts it; hivewall reads it but ignores it (a warning).
    Ignored,
    /// CrowdSec accepts it but hivewall cannot honour it safely (an error).
    Unsupported,
}

/// The keys that are set in `doc`, in declaration order.
pub(crate) fn present_keys(doc: &RawDoc) -> Vec<&'static str> {
    let mut keys = Vec::new();
    macro_rules! check {
        ($($f:ident),* $(,)?) => {
            $( if doc.$f.is_some() { keys.push(stringify!($f)); } )*
        };
    }
    check!(
        source,
        mode,
        labels,
        log_level,
        name,
        use_time_machine,
        unique_id,
        transform,
        filename,
        filenames,
        exclude_regexps,
        force_inotify,
        max_buffer_size,
        poll_without_inotify,
        discovery_poll_enable,
        discovery_poll_interval,
        max_line_bytes,
        poll_interval,
        protocol,
        listen_port,
        listen_addr,
        max_message_len,
        disable_rfc_parser,
        journalctl_filter,
        journalctl_bin,
        listen_socket,
        path,
        auth_type,
        basic_auth,
        headers,
        tls,
        custom_status_code,
        custom_headers,
        max_body_size,
        timeout,
    );
    keys
}

/// How `source` treats `key`; `None` when the source does not accept it at all.
pub(crate) fn key_use(source: &str, key: &str) -> Option<KeyUse> {
    use KeyUse::{Ignored, Unsupported, Used};
    match key {
        "source" | "labels" | "name" | "mode" => return Some(Used),
        "log_level" | "use_time_machine" | "unique_id" | "transform" => return Some(Ignored),
        _ => {}
    }
    match (source, key) {
        (
            "file",
            "filename"
            | "filenames"
            | "exclude_regexps"
            | "max_buffer_size"
            | "poll_without_inotify"
            | "discovery_poll_interval"
            | "max_line_bytes"
            | "poll_interval",
        ) => Some(Used),
        ("file", "force_inotify" | "discovery_poll_enable") => Some(Ignored),
        (
            "syslog",
            "listen_port" | "listen_addr" | "max_message_len" | "disable_rfc_parser" | "protocol",
        ) => Some(Used),
        ("journalctl", "journalctl_filter" | "journalctl_bin") => Some(Used),
        (
            "http",
            "listen_addr" | "path" | "auth_type" | "basic_auth" | "headers" | "custom_status_code"
            | "custom_headers" | "max_body_size",
        ) => Some(Used),
        ("http", "timeout") => Some(Ignored),
        ("http", "listen_socket" | "tls") => Some(Unsupported),
        ("stdin", "max_line_bytes") => Some(Used),
        _ => None,
    }
}
