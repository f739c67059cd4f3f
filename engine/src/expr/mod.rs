//! The expression language of CrowdSec's YAML (expr-lang), with Go's semantics.
//!
//! Source text is lexed (logos), parsed by a Pratt parser into an AST, resolved against the
//! helper registry and variable names once, and then evaluated many times against borrowed
//! data. Nothing on the evaluation path compiles a regex or parses text.

pub mod functions;
pub mod value;

pub use value::{Object, Value};
