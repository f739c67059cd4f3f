//! Acquisition: log sources to raw lines, configured with CrowdSec's `acquis.yaml`.
//!
//! Each datasource (file, syslog, journalctl, http push, stdin) turns what it reads into
//! [`wire::SourcedLine`]s on one bounded channel: a full channel slows the sources down and
//! nothing is dropped. Sources that can resume (files, the journal) attach a
//! [`wire::Checkpoint`] meaning "everything up to here is handled"; the processor stores the
//! newest one per key with its state and hands them back to [`run`] at start-up.
//!
//! Checkpoint formats:
//! - file: key `file:<path>`, position `<dev>:<inode>:<offset>` (the byte after the line);
//! - journalctl: key `journalctl:<filters joined by a space>`, position the entry's
//!   `__CURSOR`.
//!
//! In the distributed mode, [`kafka::forward`] writes that channel to `hivewall.lines`.
//!
//! This crate must never depend on the engine, the processor or the decision API: it only
//! produces `wire` types.

mod acquis;
mod error;
mod file;
mod http;
mod journal;
pub mod kafka;
mod lines;
mod stdin;
mod syslog;

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use acquis::{
    FileConfig, HttpAuth, HttpConfig, JournalctlConfig, Mode, SourceConfig, SourceKind,
    SyslogConfig, load_acquis, parse_acquis,
};
pub use error::{AcquisError, IngestError};

/// Runs every source until `shutdown` is cancelled or all of them have finished (stdin at end
/// of file, `cat` mode at the end of their files). A source that fails is logged and the
/// others keep running; an error is returned only when every source failed.
pub async fn run(
    sources: Vec<SourceConfig>,
    checkpoints: HashMap<String, String>,
    tx: mpsc::Sender<wire::SourcedLine>,
    shutdown: CancellationToken,
) -> Result<(), IngestError> {
    let checkpoints = Arc::new(checkpoints);
    let mut set = JoinSet::new();
    let total = sources.len();
    for src in sources {
        let tx = tx.clone();
        let token = shutdown.child_token();
        let checkpoints = Arc::clone(&checkpoints);
        set.spawn(async move {
            let desc = src.describe();
            tracing::info!(source = %desc, "acquisition source starting");
            let res = run_one(src, &checkpoints, tx, token).await;
            (desc, res)
        });
    }
    drop(tx);
    let mut failures = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((desc, Ok(()))) => tracing::debug!(source = %desc, "acquisition source finished"),
            Ok((desc, Err(e))) => {
                tracing::error!(source = %desc, error = %e, "acquisition source failed");
                failures.push(e);
            }
            Err(e) => {
                tracing::error!(error = %e, "acquisition source panicked");
                failures.push(IngestError::failed("?", e));
            }
        }
    }
    if total > 0 && failures.len() == total && !shutdown.is_cancelled() {
        let first = failures.swap_remove(0);
        return Err(IngestError::AllFailed(Box::new(first)));
    }
    Ok(())
}

async fn run_one(
    src: SourceConfig,
    checkpoints: &HashMap<String, String>,
    tx: mpsc::Sender<wire::SourcedLine>,
    token: CancellationToken,
) -> Result<(), IngestError> {
    let desc = src.describe();
    let out = lines::Emitter::new(&src, tx);
    match &src.kind {
        SourceKind::File(cfg) => file::run(cfg, checkpoints, out, token).await,
        SourceKind::Syslog(cfg) => syslog::run(cfg, out, token).await,
        SourceKind::Journalctl(cfg) => journal::run(cfg, checkpoints, out, token).await,
        SourceKind::Http(cfg) => http::run(cfg, out, token).await,
        SourceKind::Stdin { max_line_bytes } => {
            stdin::run(tokio::io::stdin(), *max_line_bytes, out, token).await
        }
    }
    .map_err(|m| IngestError::failed(&desc, m))
}
