//! Errors of parser loading and compilation.

use std::path::PathBuf;

use crate::expr::ExprError;
use crate::grok::GrokError;

/// A node that cannot be compiled.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// An expression does not compile.
    #[error("{0}")]
    Expr(Box<ExprError>),
    /// A grok pattern does not compile or names an unknown pattern.
    #[error("{0}")]
    Grok(#[from] GrokError),
    /// A node is malformed.
    #[error("{0}")]
    Invalid(String),
}

impl NodeError {
    /// Wraps an expression error.
    pub fn expr(e: ExprError) -> Self {
        NodeError::Expr(Box::new(e))
    }
}

/// Loading parsers failed; every variant names the file (and line when known).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The YAML is malformed or has unknown fields.
    #[error("{path}: {message}")]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The decoder's message, with line and column.
        message: String,
    },
    /// A node of the file does not compile.
    #[error("{path}: node {node:?}: {source}")]
    Node {
        /// The file.
        path: PathBuf,
        /// The node's name (or its position).
        node: String,
        /// The cause.
        source: NodeError,
    },
    /// The grok pattern library cannot be loaded.
    #[error("patterns: {0}")]
    Patterns(GrokError),
    /// A named hub item does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A data file cannot be loaded.
    #[error("{0}")]
    Data(String),
}
