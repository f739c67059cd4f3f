//! `source: journalctl`: runs `journalctl --follow -o json -n 0 <filters>` (or
//! `--after-cursor <checkpoint>` to resume) and rebuilds the line journalctl's default output
//! prints (`Nov 22 11:22:19 host sshd[1480]: message`), which is what CrowdSec reads.
//! The binary is `journalctl_bin`, else `$HIVEWALL_JOURNALCTL`, else `journalctl` on the
//! `PATH`; when it cannot be run this source fails alone.

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

use crate::lines::{Emitter, Splitter};
use crate::{JournalctlConfig, Mode};

/// The environment variable naming the journalctl binary when the config does not.
pub(crate) const BIN_ENV: &str = "HIVEWALL_JOURNALCTL";

/// The command line for `cfg`, resuming after `cursor` when given.
pub(crate) fn args(cfg: &JournalctlConfig, cursor: Option<&str>) -> Vec<String> {
    let mut a = Vec::new();
    if cfg.mode == Mode::Tail {
        a.push("--follow".to_string());
    }
    a.extend(["-o".to_string(), "json".to_string()]);
    match cursor {
        Some(c) => a.extend(["--after-cursor".to_string(), c.to_string()]),
        None if cfg.mode == Mode::Tail => a.extend(["-n".to_string(), "0".to_string()]),
        None => {}
    }
    a.extend(cfg.filters.iter().cloned());
    a
}

/// Runs journalctl until `token` is cancelled (or until it exits, in `cat` mode).
pub(crate) async fn run(
    cfg: &JournalctlConfig,
    checkpoints: &HashMap<String, String>,
    out: Emitter,
    token: CancellationToken,
) -> Result<(), String> {
    let key = format!("journalctl:{}", cfg.filters.join(" "));
    let src = format!("journalctl-{}", cfg.filters.join("."));
    let bin = if cfg.bin.is_empty() {
        std::env::var(BIN_ENV).unwrap_or_else(|_| "journalctl".to_string())
    } else {
        cfg.bin.clone()
    };
    let cursor = checkpoints.get(&key).map(String::as_str);
    let mut child = Command::new(&bin)
        .args(args(cfg, cursor))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run `{bin}`: {e}"))?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err("journalctl: no pipes".to_string());
    };
    let stderr_task = tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        let mut last = String::new();
        while let Ok(Some(l)) = lines.next_line().await {
            tracing::warn!(stderr = %l, "journalctl");
            last = l;
        }
        last
    });
    let mut reader = BufReader::new(stdout);
    let mut raw = Vec::new();
    loop {
        raw.clear();
        let n = tokio::select! {
            () = token.cancelled() => {
                let _ = child.kill().await;
                return Ok(());
            }
            r = reader.read_until(b'\n', &mut raw) => r.map_err(|e| format!("reading journalctl: {e}"))?,
        };
        if n == 0 {
            break;
        }
        let Ok(entry) = serde_json::from_slice::<Value>(&raw) else {
            tracing::warn!(line = %String::from_utf8_lossy(&raw), "journalctl: not a JSON entry");
            continue;
        };
        let Some(line) = entry_line(&entry) else {
            continue;
        };
        let checkpoint = entry
            .get("__CURSOR")
            .and_then(Value::as_str)
            .map(|c| wire::Checkpoint {
                key: key.clone(),
                position: c.to_string(),
            });
        if !out.send(line, &src, checkpoint, &token).await {
            let _ = child.kill().await;
            return Ok(());
        }
    }
    let status = child
        .wait()
        .await
        .map_err(|e| format!("waiting for journalctl: {e}"))?;
    let last_err = stderr_task.await.unwrap_or_default();
    if !status.success() {
        return Err(format!("journalctl exited with {status}: {last_err}"));
    }
    if cfg.mode == Mode::Tail {
        return Err("journalctl exited".to_string());
    }
    Ok(())
}

/// A journal field as text: a string, or an array of bytes for binary values.
fn field(entry: &Value, name: &str) -> Option<String> {
    match entry.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Array(bytes) => {
            let b: Vec<u8> = bytes
                .iter()
                .filter_map(|v| v.as_u64().and_then(|n| u8::try_from(n).ok()))
                .collect();
            let mut s = Splitter::new(usize::MAX);
            let mut out = Vec::new();
            s.feed(&b, 0, &mut out);
            Some(s.finish(b.len() as u64).map(|l| l.text).unwrap_or_default())
        }
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// journalctl's `short` output for one entry: local time, host, identifier[pid]: message.
pub(crate) fn entry_line(entry: &Value) -> Option<String> {
    let message = field(entry, "MESSAGE")?;
    let micros: i64 = field(entry, "__REALTIME_TIMESTAMP")?.parse().ok()?;
    let ts = chrono::DateTime::from_timestamp_micros(micros)?.with_timezone(&chrono::Local);
    let mut line = ts.format("%b %d %H:%M:%S").to_string();
    if let Some(h) = field(entry, "_HOSTNAME") {
        line.push(' ');
        line.push_str(&h);
    }
    let ident = field(entry, "SYSLOG_IDENTIFIER").or_else(|| field(entry, "_COMM"));
    let pid = field(entry, "_PID").or_else(|| field(entry, "SYSLOG_PID"));
    if let Some(i) = ident {
        line.push(' ');
        line.push_str(&i);
    }
    if let Some(p) = pid {
        line.push('[');
        line.push_str(&p);
        line.push(']');
    }
    line.push_str(": ");
    line.push_str(&message);
    Some(line)
}
