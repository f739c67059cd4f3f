//! Compile-time and run-time errors of the expression language.

use std::fmt;

/// An expression failed to lex, parse or resolve.
///
/// (`Display` and `Error` are written by hand: thiserror would treat a field named `source`
/// as the underlying cause.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    /// The expression text.
    pub source: String,
    /// 1-based column (in characters) where the problem was found.
    pub column: usize,
    /// What went wrong.
    pub message: String,
}

/// An expression failed while being evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError {
    /// The expression text.
    pub source: String,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at column {} of {:?}: {}",
            self.column, self.source, self.message
        )
    }
}

impl std::error::Error for ExprError {}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (in {:?})", self.message, self.source)
    }
}

impl std::error::Error for EvalError {}

/// A parse problem before the source text is attached: 0-based char column and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub col: usize,
    pub msg: String,
}

impl SyntaxError {
    pub(crate) fn new(col: usize, msg: impl Into<String>) -> Self {
        Self {
            col,
            msg: msg.into(),
        }
    }

    pub(crate) fn with_source(self, source: &str) -> ExprError {
        ExprError {
            source: source.to_string(),
            column: self.col + 1,
            message: self.msg,
        }
    }
}
