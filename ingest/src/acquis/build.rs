//! Validation of one document into a [`SourceConfig`]: CrowdSec's rules (source detection,
//! required labels, per-module keys and defaults), no I/O.

use std::time::Duration;

use super::raw::{KeyUse, RawDoc, key_use, present_keys};
use super::{
    Document, FileConfig, HttpAuth, HttpConfig, JournalctlConfig, Mode, SourceConfig, SourceKind,
    SyslogConfig,
};
use crate::AcquisError;

/// Lines longer than this are cut unless configured otherwise.
pub(crate) const DEFAULT_MAX_LINE: usize = 64 * 1024;
const DEFAULT_POLL: Duration = Duration::from_millis(25);
const DEFAULT_DISCOVERY: Duration = Duration::from_secs(2);
const DEFAULT_MAX_BODY: usize = 10 * 1024 * 1024;

/// Datasources CrowdSec knows that hivewall does not implement.
const CROWDSEC_ONLY: &[&str] = &[
    "appsec",
    "cloudwatch",
    "docker",
    "k8s-audit",
    "kafka",
    "kinesis",
    "loki",
    "s3",
    "victorialogs",
    "wineventlog",
];

/// Where a document's errors point.
struct Ctx<'a> {
    origin: &'a str,
    doc: &'a Document,
    index: usize,
}

impl Ctx<'_> {
    fn err(&self, key: Option<&str>, message: impl Into<String>) -> AcquisError {
        let line = key
            .and_then(|k| self.key_line(k))
            .unwrap_or(self.doc.first_line);
        AcquisError::Invalid {
            origin: self.origin.to_string(),
            doc: self.index,
            line,
            key: key.map(str::to_string),
            message: message.into(),
        }
    }

    /// The line of a top-level `key:` in the document, if written in block style.
    fn key_line(&self, key: &str) -> Option<usize> {
        self.doc
            .text
            .lines()
            .position(|l| {
                l.strip_prefix(key)
                    .is_some_and(|r| r.trim_start().starts_with(':'))
            })
            .map(|i| self.doc.first_line + i)
    }
}

/// Only `source`, read leniently.
#[derive(serde::Deserialize)]
struct SourceOnly {
    source: Option<String>,
}

/// Builds the datasource of one document; `None` for an empty or comment-only document.
pub(super) fn document(
    doc: &Document,
    origin: &str,
    index: usize,
) -> Result<Option<SourceConfig>, AcquisError> {
    let cx = Ctx { origin, doc, index };
    let has_content = doc.text.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#')
    });
    if !has_content {
        return Ok(None);
    }
    // A datasource hivewall lacks is named before its keys are refused.
    if let Ok(SourceOnly { source: Some(s) }) = serde_saphyr::from_str::<SourceOnly>(&doc.text)
        && CROWDSEC_ONLY.contains(&s.as_str())
    {
        return Err(cx.err(
            Some("source"),
            format!("datasource `{s}` is not supported by hivewall"),
        ));
    }
    let raw: RawDoc = serde_saphyr::from_str(&doc.text).map_err(|e| yaml_error(&cx, &e))?;
    let mut warnings = Vec::new();

    // CrowdSec's backward compatibility: some keys imply the datasource.
    let detected = if raw.filename.is_some() || raw.filenames.is_some() {
        Some("file")
    } else if raw.journalctl_filter.is_some() {
        Some("journalctl")
    } else {
        None
    };
    let source = match (detected, raw.source.as_deref()) {
        (Some(d), Some(s)) if s != d => {
            warnings.push(format!(
                "datasource type mismatch: found `{s}` but should probably be `{d}`; using `{d}`"
            ));
            d.to_string()
        }
        (Some(d), _) => d.to_string(),
        (None, Some(s)) if !s.is_empty() => s.to_string(),
        (None, _) => return Err(cx.err(Some("source"), "missing 'source' field")),
    };
    if CROWDSEC_ONLY.contains(&source.as_str()) {
        return Err(cx.err(
            Some("source"),
            format!("datasource `{source}` is not supported by hivewall"),
        ));
    }
    if !matches!(
        source.as_str(),
        "file" | "syslog" | "journalctl" | "http" | "stdin"
    ) {
        return Err(cx.err(Some("source"), format!("unknown datasource `{source}`")));
    }
    let labels = raw.labels.clone().unwrap_or_default();
    if labels.is_empty() {
        return Err(cx.err(Some("labels"), "missing labels"));
    }
    if !labels.contains_key("type") {
        warnings.push("no `type` label: no parser will read these lines".to_string());
    }
    for key in present_keys(&raw) {
        match key_use(&source, key) {
            Some(KeyUse::Used) => {}
            Some(KeyUse::Ignored) => {
                warnings.push(format!(
                    "`{key}` is accepted for CrowdSec compatibility but ignored"
                ));
            }
            Some(KeyUse::Unsupported) => {
                return Err(cx.err(
                    Some(key),
                    format!("not supported by hivewall's {source} datasource"),
                ));
            }
            None => {
                return Err(cx.err(
                    Some(key),
                    format!("unknown field for datasource `{source}`"),
                ));
            }
        }
    }
    let kind = match source.as_str() {
        "file" => SourceKind::File(file(&cx, &raw)?),
        "syslog" => SourceKind::Syslog(syslog(&cx, &raw)?),
        "journalctl" => SourceKind::Journalctl(journalctl(&cx, &raw)?),
        "http" => SourceKind::Http(http(&cx, &raw)?),
        _ => SourceKind::Stdin {
            max_line_bytes: max_line(&cx, &raw)?,
        },
    };
    Ok(Some(SourceConfig {
        kind,
        labels,
        name: raw.name.clone(),
        origin: format!("{origin}:{}", doc.first_line),
        warnings,
    }))
}

fn yaml_error(cx: &Ctx<'_>, e: &serde_saphyr::Error) -> AcquisError {
    let line = e
        .location()
        .map(|l| cx.doc.first_line + (l.line() as usize).saturating_sub(1))
        .unwrap_or(cx.doc.first_line);
    let full = e.to_string();
    // The first line carries the message (after `error: line L column C: `); the rest is a
    // rendered snippet. The line is reported separately, and serde's list of expected fields
    // is long.
    let first = full.lines().next().unwrap_or("invalid YAML");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let first = match first.split_once(": ") {
        Some((loc, rest)) if loc.starts_with("line ") => rest,
        _ => first,
    };
    let message = first
        .split_once(", expected one of")
        .map_or(first, |(m, _)| m)
        .to_string();
    let key = message
        .split_once("unknown field `")
        .and_then(|(_, r)| r.split_once('`'))
        .map(|(k, _)| k.to_string())
        .or_else(|| {
            // Otherwise the top-level key written on that line, if any.
            let text = cx.doc.text.lines().nth(line - cx.doc.first_line)?;
            let (k, _) = text.split_once(':')?;
            let valid = !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            valid.then(|| k.to_string())
        });
    AcquisError::Invalid {
        origin: cx.origin.to_string(),
        doc: cx.index,
        line,
        key,
        message,
    }
}

fn mode(cx: &Ctx<'_>, raw: &RawDoc) -> Result<Mode, AcquisError> {
    match raw.mode.as_deref() {
        None | Some("" | "tail" | "server") => Ok(Mode::Tail),
        Some("cat") => Ok(Mode::Cat),
        Some(m) => Err(cx.err(
            Some("mode"),
            format!("unsupported mode `{m}` (tail or cat)"),
        )),
    }
}

fn max_line(cx: &Ctx<'_>, raw: &RawDoc) -> Result<usize, AcquisError> {
    let (key, v) = match (raw.max_line_bytes, raw.max_buffer_size) {
        (Some(v), _) => ("max_line_bytes", v),
        (None, Some(v)) if v > 0 => ("max_buffer_size", v),
        _ => return Ok(DEFAULT_MAX_LINE),
    };
    if v == 0 {
        return Err(cx.err(Some(key), "must be positive"));
    }
    Ok(usize::try_from(v).unwrap_or(usize::MAX))
}

fn duration(
    cx: &Ctx<'_>,
    key: &str,
    v: Option<&str>,
    default: Duration,
) -> Result<Duration, AcquisError> {
    match v {
        None => Ok(default),
        Some(s) => match wire::parse_go_duration(s) {
            Some(d) if !d.is_zero() => Ok(d),
            _ => Err(cx.err(
                Some(key),
                format!("invalid duration `{s}` (e.g. 500ms, 2s, 1m)"),
            )),
        },
    }
}

fn file(cx: &Ctx<'_>, raw: &RawDoc) -> Result<FileConfig, AcquisError> {
    let mut patterns = raw.filenames.clone().unwrap_or_default();
    if let Some(f) = &raw.filename {
        patterns.push(f.clone());
    }
    patterns.retain(|p| !p.is_empty());
    if patterns.is_empty() {
        return Err(cx.err(
            Some("filenames"),
            "no filename or filenames configuration provided",
        ));
    }
    for p in &patterns {
        if let Err(e) = glob::Pattern::new(p) {
            let key = if raw.filename.as_deref() == Some(p) {
                "filename"
            } else {
                "filenames"
            };
            return Err(cx.err(Some(key), format!("bad glob `{p}`: {e}")));
        }
    }
    let mut exclude = Vec::new();
    for r in raw.exclude_regexps.iter().flatten() {
        exclude.push(regex::Regex::new(r).map_err(|e| {
            cx.err(
                Some("exclude_regexps"),
                format!("could not compile regexp `{r}`: {e}"),
            )
        })?);
    }
    Ok(FileConfig {
        patterns,
        exclude,
        mode: mode(cx, raw)?,
        max_line_bytes: max_line(cx, raw)?,
        poll_interval: duration(
            cx,
            "poll_interval",
            raw.poll_interval.as_deref(),
            DEFAULT_POLL,
        )?,
        discovery_interval: duration(
            cx,
            "discovery_poll_interval",
            raw.discovery_poll_interval.as_deref(),
            DEFAULT_DISCOVERY,
        )?,
    })
}

fn syslog(cx: &Ctx<'_>, raw: &RawDoc) -> Result<SyslogConfig, AcquisError> {
    let port = match raw.listen_port {
        None | Some(0) => 514,
        Some(p) => u16::try_from(p)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| cx.err(Some("listen_port"), format!("invalid port {p}")))?,
    };
    let addr_s = raw.listen_addr.as_deref().unwrap_or("127.0.0.1");
    let addr = addr_s
        .parse()
        .map_err(|_| cx.err(Some("listen_addr"), format!("invalid listen IP {addr_s}")))?;
    let (udp, tcp) = match raw.protocol.as_deref() {
        None | Some("") => (true, true),
        Some("udp") => (true, false),
        Some("tcp") => (false, true),
        Some(p) => {
            return Err(cx.err(
                Some("protocol"),
                format!("unknown protocol `{p}` (udp or tcp)"),
            ));
        }
    };
    let max_message_len = match raw.max_message_len {
        None | Some(0) => 2048,
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    };
    Ok(SyslogConfig {
        addr,
        port,
        max_message_len,
        disable_rfc_parser: raw.disable_rfc_parser.unwrap_or(false),
        udp,
        tcp,
    })
}

fn journalctl(cx: &Ctx<'_>, raw: &RawDoc) -> Result<JournalctlConfig, AcquisError> {
    let filters = raw.journalctl_filter.clone().unwrap_or_default();
    if filters.is_empty() {
        return Err(cx.err(Some("journalctl_filter"), "journalctl_filter is required"));
    }
    Ok(JournalctlConfig {
        filters,
        mode: mode(cx, raw)?,
        bin: raw.journalctl_bin.clone().unwrap_or_default(),
    })
}

fn http(cx: &Ctx<'_>, raw: &RawDoc) -> Result<HttpConfig, AcquisError> {
    let listen_addr = raw.listen_addr.clone().unwrap_or_default();
    if listen_addr.is_empty() {
        return Err(cx.err(Some("listen_addr"), "listen_addr is required"));
    }
    let path = raw.path.clone().unwrap_or_else(|| "/".to_string());
    if !path.starts_with('/') {
        return Err(cx.err(Some("path"), "path must start with /"));
    }
    let auth = match raw.auth_type.as_deref() {
        Some("headers") => match &raw.headers {
            Some(h) if !h.is_empty() => HttpAuth::Headers(h.clone()),
            _ => {
                return Err(cx.err(
                    Some("headers"),
                    "headers is selected, but headers is not provided",
                ));
            }
        },
        Some("basic_auth") => {
            let b = raw.basic_auth.as_ref().ok_or_else(|| {
                cx.err(
                    Some("basic_auth"),
                    "basic_auth is selected, but basic_auth is not provided",
                )
            })?;
            if b.username.is_empty() || b.password.is_empty() {
                return Err(cx.err(
                    Some("basic_auth"),
                    "basic_auth is selected, but username or password is not provided",
                ));
            }
            HttpAuth::Basic {
                username: b.username.clone(),
                password: b.password.clone(),
            }
        }
        Some("mtls") => {
            return Err(cx.err(Some("auth_type"), "mtls is not supported by hivewall"));
        }
        _ => {
            return Err(cx.err(
                Some("auth_type"),
                "invalid auth_type: must be one of basic_auth, headers",
            ));
        }
    };
    let max_body_size = match raw.max_body_size {
        None => DEFAULT_MAX_BODY,
        Some(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
        Some(_) => return Err(cx.err(Some("max_body_size"), "max_body_size must be positive")),
    };
    let status_code = raw.custom_status_code.unwrap_or(200);
    if !(100..600).contains(&status_code) {
        return Err(cx.err(Some("custom_status_code"), "invalid HTTP status code"));
    }
    Ok(HttpConfig {
        listen_addr,
        path,
        auth,
        max_body_size,
        status_code,
        custom_headers: raw.custom_headers.clone().unwrap_or_default(),
    })
}
