//! Errors of parser loading and compilation.

use std::path::PathBuf;

use crate::conformance::Rule;
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
    /// Something CrowdSec refuses that hivewall could load (strict reading only).
    #[error("{message}")]
    Refused {
        /// The rule it breaks.
        rule: Rule,
        /// CrowdSec's reason.
        message: String,
        /// Text of the file the problem is about (to find its line).
        needle: String,
    },
}

impl NodeError {
    /// Wraps an expression error.
    pub fn expr(e: ExprError) -> Self {
        NodeError::Expr(Box::new(e))
    }

    /// The CrowdSec loading rule this error is about.
    pub fn rule(&self) -> Rule {
        match self {
            NodeError::Expr(_) => Rule::Expression,
            NodeError::Grok(g) => grok_rule(g),
            NodeError::Invalid(m) if m.starts_with("parsing whitelist") => Rule::Whitelist,
            NodeError::Invalid(m) if m.starts_with("unable to find grok") => Rule::Grok,
            NodeError::Invalid(_) => Rule::Node,
            NodeError::Refused { rule, .. } => *rule,
        }
    }

    /// Text of the file the error is about, to find its line.
    pub fn needle(&self) -> Option<&str> {
        match self {
            NodeError::Expr(e) => Some(&e.source),
            NodeError::Grok(
                GrokError::NotYetDefined { name, .. }
                | GrokError::InvalidPattern { name, .. }
                | GrokError::UnknownPattern { name, .. }
                | GrokError::Duplicate { name, .. },
            ) => Some(name),
            NodeError::Refused { needle, .. } if !needle.is_empty() => Some(needle),
            NodeError::Invalid(m) => m.split('"').nth(1),
            _ => None,
        }
    }
}

/// The CrowdSec loading rule of a grok error.
pub fn grok_rule(g: &GrokError) -> Rule {
    match g {
        GrokError::NotYetDefined { .. } => Rule::PatternUndefined,
        GrokError::Duplicate { .. } => Rule::PatternDuplicate,
        GrokError::InvalidPattern { .. } => Rule::PatternRegex,
        _ => Rule::Grok,
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
    #[error("{}: {message}", crate::conformance::yaml_at(path, message))]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The decoder's message, with line and column.
        message: String,
    },
    /// A node of the file does not compile.
    #[error("{}: node {node:?}: {source}", crate::conformance::at_line(path, *line))]
    Node {
        /// The file.
        path: PathBuf,
        /// The line the problem is on, when it can be told.
        line: Option<usize>,
        /// The node's name (or its position).
        node: String,
        /// The cause.
        source: Box<NodeError>,
    },
    /// The grok pattern library cannot be loaded, or CrowdSec would refuse it (strict reading:
    /// the message names `file:line` and CrowdSec's reason).
    #[error("patterns: {0}")]
    Patterns(GrokError),
    /// A document's `format:` is not a version (CrowdSec: "failed to check version").
    #[error("{}: {message}", crate::conformance::at_line(path, *line))]
    Format {
        /// The file.
        path: PathBuf,
        /// The line of `format:`.
        line: Option<usize>,
        /// CrowdSec's reason.
        message: String,
    },
    /// A named hub item does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A data file cannot be loaded.
    #[error("{0}")]
    Data(String),
}

impl LoadError {
    /// The CrowdSec loading rule this error is about.
    pub fn rule(&self) -> Rule {
        match self {
            LoadError::Io { .. } | LoadError::Yaml { .. } => Rule::Yaml,
            LoadError::Node { source, .. } => source.rule(),
            LoadError::Patterns(g) => grok_rule(g),
            LoadError::Format { .. } => Rule::Format,
            LoadError::NotFound(_) => Rule::Yaml,
            LoadError::Data(_) => Rule::DataFile,
        }
    }
}
