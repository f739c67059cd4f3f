//! Files under the state directory, each replaced atomically (write a temporary file, fsync,
//! rename, fsync the directory): a crash leaves the old file or the new one, never half.
//!
//! - `watchers.json`: registered watchers (password hashes), written at each registration or
//!   deletion, so a watcher never has to register twice;
//! - `state.json`: the consensus snapshot and each watcher's feed cursor, written every
//!   `snapshot_every` and at shutdown. A crash loses what arrived since the last write
//!   (signals, trust changes, cursors moved): watchers then get some changes again, which
//!   CrowdSec's blocklist update absorbs (it replaces decisions by value).
//! - `jwt.secret`: the key tokens are signed with (created once).
//!
//! Every file is created readable by the owner only (mode 0600).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ServerError;
use crate::rule::Snapshot;

/// `state.json`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StateFile {
    pub snapshot: Snapshot,
    /// Feed cursor per watcher.
    pub cursors: BTreeMap<String, u64>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ServerError + '_ {
    move |source| ServerError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Replaces `path` with `bytes`, atomically.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ServerError> {
    let tmp = path.with_extension("tmp");
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io(path))?;
    if let Some(dir) = path.parent() {
        // The rename is durable once the directory is.
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))?;
    }
    Ok(())
}

/// Reads and parses a JSON file; `None` when it does not exist.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(
    path: &Path,
) -> Result<Option<T>, ServerError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ServerError::State {
                path: path.to_path_buf(),
                message: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ServerError::Io {
            path: path.to_path_buf(),
            source: e,
        }),
    }
}

/// The token key, created on first use (readable by the owner only).
pub(crate) fn jwt_secret(dir: &Path) -> Result<Vec<u8>, ServerError> {
    let path: PathBuf = dir.join("jwt.secret");
    match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().len() >= 32 => return Ok(s.trim().as_bytes().to_vec()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(ServerError::Io { path, source: e }),
    }
    let secret = format!(
        "{:032x}{:032x}",
        rand::random::<u128>(),
        rand::random::<u128>()
    );
    write_atomic(&path, secret.as_bytes())?;
    Ok(secret.into_bytes())
}
