//! The expression language of CrowdSec's YAML (expr-lang), with Go's semantics.
//!
//! Source text is lexed, parsed by a Pratt parser into an AST, resolved against the helper
//! registry and variable names once, and then evaluated many times against borrowed data.
//! Nothing on the evaluation path parses text; `matches` with a literal pattern compiles its
//! regex at compile time.

mod ast;
mod builtins;
pub mod compile;
pub mod error;
mod eval;
mod fields;
pub mod functions;
pub mod go_regex;
pub mod key;
mod lexer;
pub mod ops;
pub(crate) mod optimize;
mod parser;
pub(crate) mod pred;
mod reads;
pub mod value;

#[cfg(test)]
pub(crate) mod tests;

pub use compile::{Compiler, Program};
pub use error::{EvalError, ExprError};
pub use key::FieldKey;
pub use value::{Object, Value};
