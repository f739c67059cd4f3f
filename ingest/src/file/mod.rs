//! `source: file`: files named by paths and globs, followed as they grow and rotate.
//!
//! One task per file ([`tail`]) polls it every `poll_interval` (25 ms by default: an append
//! is seen within that, with no inotify watch to lose on rotation or on network file
//! systems), and every [`IDLE_POLL`] (250 ms) once it has not grown for [`QUIET_AFTER`] (2 s):
//! each poll is three file-system calls on tokio's blocking pool, which at 40 a second cost an
//! idle `ingest` ~1% of a core per file (BENCHMARKS.md, "Idle CPU of the services"); a line
//! written after a quiet spell is seen within 250 ms, and the next ones within 25 ms. This
//! task expands the globs again every `discovery_poll_interval` to pick up new files. Files
//! present at start-up are read from their end in `tail` mode (CrowdSec's default) unless a
//! checkpoint says where to resume; files that appear later are read from their start.

mod tail;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::lines::Emitter;
use crate::{FileConfig, Mode};

#[cfg(test)]
use tail::parse_position;

/// Where a tailer starts when no checkpoint applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// At the end (a file present when a `tail` source starts).
    End,
    /// At the beginning (`cat` mode, or a file that appeared while running).
    Beginning,
}

/// Runs a file source until `token` is cancelled (`tail`) or every file is read (`cat`).
pub(crate) async fn run(
    cfg: &FileConfig,
    checkpoints: &HashMap<String, String>,
    out: Emitter,
    token: CancellationToken,
) -> Result<(), String> {
    let mut tailing: HashSet<String> = HashSet::new();
    let mut tasks: JoinSet<String> = JoinSet::new();
    let mut first = true;
    loop {
        let c = cfg.clone();
        let found = tokio::task::spawn_blocking(move || discover(&c))
            .await
            .unwrap_or_default();
        if first && found.is_empty() {
            tracing::warn!(patterns = ?cfg.patterns, "no file matches the patterns yet");
        }
        for path in found {
            if tailing.contains(&path) {
                continue;
            }
            let start = match (cfg.mode, first) {
                (Mode::Tail, true) => Start::End,
                _ => Start::Beginning,
            };
            let key = format!("file:{path}");
            let position = checkpoints.get(&key).cloned();
            let t = tail::Tailer::new(path.clone(), key, cfg, out.clone(), token.clone());
            tailing.insert(path);
            tasks.spawn(t.run(start, position));
        }
        first = false;
        if cfg.mode == Mode::Cat {
            while tasks.join_next().await.is_some() {}
            return Ok(());
        }
        let sleep = tokio::time::sleep(cfg.discovery_interval);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = token.cancelled() => {
                    while tasks.join_next().await.is_some() {}
                    return Ok(());
                }
                () = &mut sleep => break,
                Some(done) = tasks.join_next() => {
                    if let Ok(path) = done {
                        tailing.remove(&path);
                    }
                }
            }
        }
    }
}

/// The regular files the patterns match now, excluded ones left out, in a stable order.
fn discover(cfg: &FileConfig) -> Vec<String> {
    let mut found = Vec::new();
    for pattern in &cfg.patterns {
        let Ok(paths) = glob::glob(pattern) else {
            continue;
        };
        for p in paths.flatten() {
            let Some(s) = p.to_str() else { continue };
            if !p.is_file() || cfg.exclude.iter().any(|re| re.is_match(s)) {
                continue;
            }
            if !found.iter().any(|f: &String| f == s) {
                found.push(s.to_string());
            }
        }
    }
    found
}

/// How long a followed path may stay missing before its tailer gives up (discovery picks the
/// file up again, from its start, if it comes back later).
const GONE_AFTER: Duration = Duration::from_secs(10);
/// A file that has not grown for this long is polled every [`IDLE_POLL`].
const QUIET_AFTER: Duration = Duration::from_secs(2);
/// How often a quiet file is polled (`poll_interval` if that is longer).
const IDLE_POLL: Duration = Duration::from_millis(250);
