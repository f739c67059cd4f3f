//! CrowdSec's acquisition configuration (`acquis.yaml`, `acquis.d/*.yaml`): multi-document
//! YAML, one datasource per document, `labels.type` naming the parsers that read its lines.
//!
//! Parsing is split as everywhere in hivewall: the text is decoded ([`raw`]), then validated
//! without I/O ([`build`]) into [`SourceConfig`]s; the sources open files and sockets only
//! when [`crate::run`] starts them.

mod build;
mod raw;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::AcquisError;

/// One configured datasource, ready to run.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// What to read and how.
    pub kind: SourceKind,
    /// The labels every line carries (`type` names the parsers).
    pub labels: BTreeMap<String, String>,
    /// The datasource's `name`, if given.
    pub name: Option<String>,
    /// Where it was configured: `file:line`.
    pub origin: String,
    /// Keys CrowdSec accepts that hivewall ignores (also logged once when parsed).
    pub warnings: Vec<String>,
}

/// The datasource modules.
#[derive(Debug, Clone)]
pub enum SourceKind {
    /// `source: file`.
    File(FileConfig),
    /// `source: syslog`.
    Syslog(SyslogConfig),
    /// `source: journalctl`.
    Journalctl(JournalctlConfig),
    /// `source: http`.
    Http(HttpConfig),
    /// `source: stdin` (hivewall only): standard input until end of file.
    Stdin {
        /// Lines longer than this are cut.
        max_line_bytes: usize,
    },
}

/// Whether a source follows its input or reads it once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Follow: files are read from their end when first seen (unless a checkpoint says
    /// otherwise), then followed.
    Tail,
    /// Read once from the start and stop.
    Cat,
}

/// `source: file`.
#[derive(Debug, Clone)]
pub struct FileConfig {
    /// Paths or glob patterns (`filename` and `filenames`).
    pub patterns: Vec<String>,
    /// Files whose path matches one of these are skipped (`exclude_regexps`).
    pub exclude: Vec<regex::Regex>,
    /// `mode`.
    pub mode: Mode,
    /// Lines longer than this are cut (`max_line_bytes`, else `max_buffer_size`, else 64 KiB).
    pub max_line_bytes: usize,
    /// How often a followed file is checked for new data (`poll_interval`, default 25 ms).
    pub poll_interval: Duration,
    /// How often globs are expanded again to find new files (`discovery_poll_interval`,
    /// default 2 s).
    pub discovery_interval: Duration,
}

/// `source: syslog`.
#[derive(Debug, Clone)]
pub struct SyslogConfig {
    /// `listen_addr` (default `127.0.0.1`, as CrowdSec).
    pub addr: std::net::IpAddr,
    /// `listen_port` (default 514).
    pub port: u16,
    /// `max_message_len` (default 2048): longer datagrams and frames are cut.
    pub max_message_len: usize,
    /// `disable_rfc_parser`: only strip the `<PRI>` instead of rebuilding the line.
    pub disable_rfc_parser: bool,
    /// `protocol`: `udp`, `tcp`, or both when not given.
    pub udp: bool,
    /// See `udp`.
    pub tcp: bool,
}

/// `source: journalctl`.
#[derive(Debug, Clone)]
pub struct JournalctlConfig {
    /// `journalctl_filter`: the matches passed to journalctl.
    pub filters: Vec<String>,
    /// `mode`: tail follows the journal, cat reads it once.
    pub mode: Mode,
    /// `journalctl_bin` (hivewall only), else `$HIVEWALL_JOURNALCTL`, else `journalctl`.
    pub bin: String,
}

/// How the http datasource checks its clients.
#[derive(Debug, Clone)]
pub enum HttpAuth {
    /// `auth_type: headers`: every configured header must be present with its value.
    Headers(BTreeMap<String, String>),
    /// `auth_type: basic_auth`.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
}

/// `source: http`.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// `listen_addr` (`host:port`).
    pub listen_addr: String,
    /// `path` (default `/`).
    pub path: String,
    /// `auth_type` with `headers` or `basic_auth`.
    pub auth: HttpAuth,
    /// `max_body_size` in bytes (default 10 MiB); larger bodies get 413.
    pub max_body_size: usize,
    /// `custom_status_code` for accepted pushes (default 200).
    pub status_code: u16,
    /// `custom_headers` added to accepted pushes.
    pub custom_headers: BTreeMap<String, String>,
}

impl SourceConfig {
    /// Standard input as a source with this `type` label (for `hivewall run -`).
    pub fn stdin(type_label: &str) -> SourceConfig {
        SourceConfig {
            kind: SourceKind::Stdin {
                max_line_bytes: build::DEFAULT_MAX_LINE,
            },
            labels: BTreeMap::from([("type".to_string(), type_label.to_string())]),
            name: None,
            origin: "command line".to_string(),
            warnings: Vec::new(),
        }
    }

    /// The module name, as in `source:` (`file`, `syslog`, ...).
    pub fn module(&self) -> &'static str {
        match &self.kind {
            SourceKind::File(_) => "file",
            SourceKind::Syslog(_) => "syslog",
            SourceKind::Journalctl(_) => "journalctl",
            SourceKind::Http(_) => "http",
            SourceKind::Stdin { .. } => "stdin",
        }
    }

    /// One line for a start-up banner, e.g. `file /var/log/auth.log (type syslog)`.
    pub fn describe(&self) -> String {
        let what = match &self.kind {
            SourceKind::File(f) => {
                let mode = if f.mode == Mode::Cat { " [cat]" } else { "" };
                format!("file {}{mode}", f.patterns.join(", "))
            }
            SourceKind::Syslog(s) => {
                let proto = match (s.udp, s.tcp) {
                    (true, true) => "udp+tcp",
                    (true, false) => "udp",
                    _ => "tcp",
                };
                format!(
                    "syslog {proto} {}",
                    std::net::SocketAddr::new(s.addr, s.port)
                )
            }
            SourceKind::Journalctl(j) => format!("journalctl {}", j.filters.join(" ")),
            SourceKind::Http(h) => format!("http {}{}", h.listen_addr, h.path),
            SourceKind::Stdin { .. } => "stdin".to_string(),
        };
        let ty = self.labels.get("type").map(String::as_str).unwrap_or("?");
        match &self.name {
            Some(n) => format!("{what} (type {ty}, name {n})"),
            None => format!("{what} (type {ty})"),
        }
    }
}

/// Parses the text of one acquisition file; `origin` names it in errors. No I/O and no
/// environment expansion (see [`load_acquis`]). Empty and comment-only documents are skipped,
/// as CrowdSec skips them.
pub fn parse_acquis(text: &str, origin: &str) -> Result<Vec<SourceConfig>, AcquisError> {
    let mut out = Vec::new();
    for (i, doc) in split_documents(text).into_iter().enumerate() {
        if let Some(src) = build::document(&doc, origin, i + 1)? {
            for w in &src.warnings {
                tracing::warn!(origin = %src.origin, "{w}");
            }
            out.push(src);
        }
    }
    Ok(out)
}

/// Loads CrowdSec's `acquisition_path` (skipped when it does not exist, as CrowdSec does) and
/// every `*.yaml` and `*.yml` of `acquisition_dir`, in that order, with `${VAR}` expanded
/// where the variable is set.
pub fn load_acquis(
    path: Option<&Path>,
    dir: Option<&Path>,
) -> Result<Vec<SourceConfig>, AcquisError> {
    if path.is_none() && dir.is_none() {
        return Err(AcquisError::NoAcquisition);
    }
    let mut files: Vec<PathBuf> = Vec::new();
    if let Some(p) = path
        && p.exists()
    {
        files.push(p.to_path_buf());
    }
    // A missing acquisition_dir is no error in CrowdSec (its glob finds nothing).
    if let Some(d) = dir.filter(|d| d.exists()) {
        let entries = std::fs::read_dir(d).map_err(|source| AcquisError::Io {
            path: d.to_path_buf(),
            source,
        })?;
        let mut in_dir: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
            })
            .collect();
        in_dir.sort();
        files.extend(in_dir);
    }
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|source| AcquisError::Io {
            path: f.clone(),
            source,
        })?;
        let text = server_common::expand_env(&text, &|k| std::env::var(k).ok());
        out.extend(parse_acquis(&text, &f.display().to_string())?);
    }
    Ok(out)
}

/// One YAML document of a file: its text and the line (from 1) where it starts.
#[derive(Debug)]
pub(crate) struct Document {
    pub text: String,
    pub first_line: usize,
}

/// Splits a multi-document YAML text on `---` and `...` lines, keeping each document's first
/// line so errors point into the whole file.
fn split_documents(text: &str) -> Vec<Document> {
    let mut docs = Vec::new();
    let mut cur = String::new();
    let mut first_line = 1;
    for (i, line) in text.lines().enumerate() {
        let is_start = line == "---" || line.starts_with("--- ");
        let is_end = line == "..." || line.starts_with("... ");
        if is_start || is_end {
            docs.push(Document {
                text: std::mem::take(&mut cur),
                first_line,
            });
            // A `--- key: value` line carries content of the new document.
            if let Some(rest) = line.strip_prefix("--- ")
                && is_start
            {
                cur.push_str(rest);
                cur.push('\n');
                first_line = i + 1;
            } else {
                first_line = i + 2;
            }
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
    }
    docs.push(Document {
        text: cur,
        first_line,
    });
    docs
}
