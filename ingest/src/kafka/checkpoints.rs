//! Acknowledged source positions, kept in a small JSON file: the `ingest` service's own state
//! (in `run`, the processor keeps them with its buckets instead).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::KafkaError;

/// A JSON object `{key: position}` written atomically (temporary file, fsync, rename).
#[derive(Debug, Clone)]
pub struct CheckpointFile {
    path: PathBuf,
}

impl CheckpointFile {
    /// The file at `path` (created on the first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CheckpointFile { path: path.into() }
    }

    /// Where it lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved positions (none when the file does not exist yet).
    pub fn load(&self) -> Result<HashMap<String, String>, KafkaError> {
        let text = match std::fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
            Err(e) => return Err(self.io(e)),
        };
        serde_json::from_slice(&text).map_err(|e| KafkaError::Checkpoints {
            path: self.path.clone(),
            message: format!("not a checkpoint file: {e}"),
        })
    }

    /// Replaces the file's content with `all`.
    pub fn save(&self, all: &HashMap<String, String>) -> Result<(), KafkaError> {
        let tmp = self.path.with_extension("tmp");
        let body = serde_json::to_vec_pretty(all).map_err(|e| KafkaError::Checkpoints {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        let write = || -> std::io::Result<()> {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&body)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        };
        write().map_err(|e| self.io(e))
    }

    fn io(&self, e: std::io::Error) -> KafkaError {
        KafkaError::Checkpoints {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }
}
