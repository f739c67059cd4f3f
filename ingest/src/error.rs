//! The errors of acquisition: configuration (with its location) and running sources.

use std::path::PathBuf;

/// An acquisition configuration that cannot be used. Each variant says where: the file (or the
/// origin given to [`crate::parse_acquis`]), the document and line, and the key when one is
/// at fault.
#[derive(Debug, thiserror::Error)]
pub enum AcquisError {
    /// A document is not valid YAML or has a bad key or value.
    #[error("{origin}:{line} (document {doc}): {}{message}", key_prefix(.key))]
    Invalid {
        /// The file (or name) the text came from.
        origin: String,
        /// The document, counted from 1.
        doc: usize,
        /// The line in the whole file, counted from 1.
        line: usize,
        /// The key at fault, if one is.
        key: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// An acquisition file or directory could not be read.
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Neither an acquisition file nor a directory was given (CrowdSec refuses this too).
    #[error("no acquisition configured: give an acquisition file or an acquisition directory")]
    NoAcquisition,
}

fn key_prefix(key: &Option<String>) -> String {
    match key {
        Some(k) => format!("`{k}`: "),
        None => String::new(),
    }
}

/// A source that failed while running.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// A source could not start or stopped on an error (the others keep running).
    #[error("source {source_desc}: {message}")]
    Source {
        /// The source, as [`crate::SourceConfig::describe`] prints it.
        source_desc: String,
        /// What went wrong.
        message: String,
    },
    /// Every source failed; the first failure is kept.
    #[error("every acquisition source failed; first: {0}")]
    AllFailed(Box<IngestError>),
}

impl IngestError {
    pub(crate) fn failed(desc: &str, message: impl std::fmt::Display) -> Self {
        IngestError::Source {
            source_desc: desc.to_string(),
            message: message.to_string(),
        }
    }
}
