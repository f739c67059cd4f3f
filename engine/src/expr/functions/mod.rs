//! Helper functions callable from expressions (CrowdSec's `exprhelpers`).
//!
//! The registry is built once, after every `data:` file of the loaded parsers and scenarios has
//! been read, and is then shared read-only by all compiled programs. Helpers that need state
//! (data files, the stash) capture an `Arc` of it.

use std::sync::Arc;

use foldhash::HashMap;

use super::value::Value;

/// A native helper: takes evaluated arguments, returns a value or an error message.
pub type NativeFn = Box<dyn for<'a> Fn(&[Value<'a>]) -> Result<Value<'a>, String> + Send + Sync>;

/// How many arguments a helper accepts, checked at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    /// Exactly this many.
    Exact(usize),
    /// At least `min`, at most `max` (inclusive).
    Range(usize, usize),
    /// Any number, at least this many.
    AtLeast(usize),
}

impl Arity {
    /// Whether `n` arguments are accepted.
    pub fn accepts(self, n: usize) -> bool {
        match self {
            Arity::Exact(k) => n == k,
            Arity::Range(lo, hi) => (lo..=hi).contains(&n),
            Arity::AtLeast(lo) => n >= lo,
        }
    }
}

/// One registered helper.
pub struct Function {
    /// The name as written in expressions (`JsonExtract`, `Upper`, ...).
    pub name: &'static str,
    /// Accepted argument counts.
    pub arity: Arity,
    /// The implementation.
    pub call: NativeFn,
}

/// The set of helpers a compiler resolves calls against.
#[derive(Default)]
pub struct Functions {
    map: HashMap<&'static str, Function>,
}

impl Functions {
    /// An empty registry (only the language builtins remain available).
    pub fn empty() -> Self {
        Self::default()
    }

    /// Registers (or replaces) a helper.
    pub fn register(&mut self, name: &'static str, arity: Arity, call: NativeFn) {
        self.map.insert(name, Function { name, arity, call });
    }

    /// Looks a helper up by name.
    pub fn get(&self, name: &str) -> Option<&Function> {
        self.map.get(name)
    }

    /// Names of all helpers, for error hints.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.map.keys().copied()
    }
}

/// Shared handle used by compiled programs.
pub type SharedFunctions = Arc<Functions>;
