//! Grok: named regex patterns with `%{NAME:field}` references, compatible with CrowdSec (which
//! uses the `grokky` library over RE2).
//!
//! [`PatternLibrary`] holds named patterns (grokky's base set, a CrowdSec `patterns/` directory
//! and parsers' `pattern_syntax`); [`PatternLibrary::compile`] expands a grok expression into
//! one Rust [`regex::Regex`] (see [`translate`] for the dialect translation) and a table of
//! field → capture group. [`Grok::captures`] then yields what CrowdSec would merge into
//! `evt.Parsed`:
//! - every field of the pattern, including those whose group did not take part in the match
//!   (value `""`), exactly as grokky builds its map;
//! - one value per field name (see [`library`] for which group wins on duplicates);
//! - nothing, and `false`, when the regex does not match or the pattern has no field at all
//!   (CrowdSec treats an empty result as a failed grok).
//!
//! Matching is the hot path of parsing. [`Grok::captures`] runs a second, cheaper regex built
//! from the same pattern: only the groups that fields read stay capturing (module `fast`), and
//! a pattern ending in `(.*)` is matched without it (module `tail`), a pattern whose fields are
//! cut by delimiters gets their spans from byte scans once the match is found (module `split`,
//! with `lead` for a leading optional group and `lazy` for the end of a lazy field), and a large
//! pattern that does not split is backtracked over atoms matched by their own lazy DFAs (module
//! `atoms`). Each gives exactly the full regex's result, which [`Grok::captures_with`] still
//! computes (the reference the tests compare with), or hands the text to the capture engine.
//! Every engine involved runs in time linear in the text.

mod atoms;
mod base;
mod ext;
mod fast;
mod last;
mod lazy;
mod lead;
pub mod library;
mod spans;
mod split;
mod tail;
pub mod translate;

#[cfg(test)]
mod cut_tests;
#[cfg(test)]
pub(crate) mod fast_tests;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use regex::{CaptureLocations, Regex, RegexBuilder};

use crate::expr::FieldKey;

/// Source of [`Inner::id`].
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Compiled size limit of a grok regex (expanded patterns are large).
pub(crate) const SIZE_LIMIT: usize = 256 << 20;
/// Lazy DFA cache capacity of a grok regex.
pub(crate) const DFA_SIZE_LIMIT: usize = 64 << 20;

pub use library::PatternLibrary;

/// Errors from loading or compiling grok patterns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrokError {
    /// A pattern file or directory could not be read.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file or directory.
        path: String,
        /// The I/O error text.
        message: String,
    },
    /// A pattern file defines a name that already exists (grokky: "the pattern already
    /// exist").
    #[error("{location}: pattern {name}: the pattern already exist")]
    Duplicate {
        /// `file:line` of the second definition.
        location: String,
        /// The pattern name.
        name: String,
    },
    /// A pattern refers to a pattern that is not defined yet. CrowdSec's grok library adds
    /// patterns one at a time (pattern files in name order, lines in file order, then the
    /// parsers' `pattern_syntax`), checking each reference as it goes.
    #[error("{location}: the '{name}' pattern doesn't exist")]
    NotYetDefined {
        /// `file:line` of the definition that uses it.
        location: String,
        /// The missing name.
        name: String,
    },
    /// A pattern whose regular expression does not compile, checked as it is added.
    #[error("{location}: pattern {name}: error parsing regexp: {message}")]
    InvalidPattern {
        /// `file:line` of the definition.
        location: String,
        /// The pattern name.
        name: String,
        /// Why.
        message: String,
    },
    /// A `%{NAME}` reference to a pattern that does not exist.
    #[error("unknown grok pattern {name}{}", within.as_ref().map(|w| format!(" (referenced by {w})")).unwrap_or_default())]
    UnknownPattern {
        /// The missing name.
        name: String,
        /// The pattern containing the reference, if named.
        within: Option<String>,
    },
    /// Patterns referencing themselves through a chain of references.
    #[error("recursive grok patterns: {chain}")]
    Recursive {
        /// The chain of names, ending with the repeated one.
        chain: String,
    },
    /// An empty grok expression.
    #[error("empty grok expression")]
    Empty,
    /// A regex that does not compile.
    #[error("grok pattern {name}: invalid regex {regex:?}: {message}")]
    Regex {
        /// The pattern name (`<inline>` for an inline grok expression).
        name: String,
        /// The (expanded, Go-syntax) regex.
        regex: String,
        /// The regex error text.
        message: String,
    },
}

/// A compiled grok pattern. Cheap to clone (shared inside).
#[derive(Debug, Clone)]
pub struct Grok {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Unique for the life of the process (addresses are reused after a grok is dropped).
    id: u64,
    pattern: String,
    regex: Regex,
    /// `(field, group index)`, sorted by group index; fields tagged for the event's maps.
    fields: Vec<(FieldKey, usize)>,
    names: Vec<String>,
    /// The same captures, cheaper (see [`fast`]); `None` if it could not be built, then
    /// `regex` does the work.
    fast: Option<fast::Fast>,
    /// `fast` captures with the prefix of a `(.*)` tail (see [`tail`]), which only holds for
    /// texts without a newline.
    tail: bool,
}

/// Reusable match scratch space for [`Grok::captures_with`]; one per thread or worker.
#[derive(Debug, Default)]
pub struct GrokScratch {
    owner: u64,
    locs: Option<CaptureLocations>,
}

impl GrokScratch {
    /// An empty scratch; it adapts to whichever grok it is used with.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Grok {
    fn build(
        pattern: &str,
        name: Option<&str>,
        go_regex: String,
        fields: HashMap<String, usize>,
        groups: usize,
    ) -> Result<Grok, GrokError> {
        let err = |message: String| GrokError::Regex {
            name: name.unwrap_or("<inline>").to_string(),
            regex: go_regex.clone(),
            message,
        };
        let translated = translate::translate(&go_regex).map_err(err)?;
        let regex = RegexBuilder::new(&translated.regex)
            .size_limit(SIZE_LIMIT)
            .dfa_size_limit(DFA_SIZE_LIMIT)
            .build()
            .map_err(|e| err(e.to_string()))?;
        debug_assert_eq!(regex.captures_len(), groups + 1);
        // Go would panic on a field bound past the last group; such fields are dropped here.
        let mut fields: Vec<(String, usize)> = fields
            .into_iter()
            .filter(|(_, g)| *g < regex.captures_len())
            .collect();
        fields.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        let names = fields.iter().map(|(f, _)| f.clone()).collect();
        let fields: Vec<(FieldKey, usize)> = fields
            .into_iter()
            .map(|(f, g)| (FieldKey::new(&f), g))
            .collect();
        let groups: Vec<usize> = fields.iter().map(|(_, g)| *g).collect();
        let tail = tail::tail_of(&translated.regex, regex.captures_len());
        let tail_fast = tail.as_ref().and_then(|t| {
            fast::build(&t.prefix, &groups, Some((t.group, t.enclosing.as_slice()))).ok()
        });
        let (fast, tail) = match tail_fast {
            Some(f) => (Some(f), true),
            None => match fast::build(&translated.regex, &groups, None) {
                Ok(f) => (Some(f), false),
                Err(e) => {
                    tracing::debug!(pattern, error = %e, "No grok fast path.");
                    (None, false)
                }
            },
        };
        Ok(Grok {
            inner: Arc::new(Inner {
                id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                pattern: pattern.to_string(),
                regex,
                fields,
                names,
                fast,
                tail,
            }),
        })
    }

    /// The fast path, when it applies to `text`.
    fn fast_for(&self, text: &str) -> Option<&fast::Fast> {
        let inner = &*self.inner;
        inner
            .fast
            .as_ref()
            .filter(|_| !(inner.tail && text.as_bytes().contains(&b'\n')))
    }

    /// The original grok text.
    pub fn pattern(&self) -> &str {
        &self.inner.pattern
    }

    /// The compiled Rust regex.
    pub fn regex(&self) -> &Regex {
        &self.inner.regex
    }

    /// Field names this grok can set, in capture-group order.
    pub fn field_names(&self) -> &[String] {
        &self.inner.names
    }

    /// Each field with its capture group in [`Self::regex`], in group order.
    pub fn field_groups(&self) -> &[(FieldKey, usize)] {
        &self.inner.fields
    }

    /// Runs on `text`. On a match calls `sink(field, value)` for every field exactly as CrowdSec
    /// stores it in `evt.Parsed` (fields whose group did not participate get `""`) and returns
    /// true; returns false when there is no match or the pattern has no field.
    pub fn captures<'t>(&self, text: &'t str, sink: impl FnMut(&FieldKey, &'t str)) -> bool {
        let inner = &*self.inner;
        if inner.fields.is_empty() {
            return false;
        }
        match self.fast_for(text) {
            Some(f) => f.captures(text, &inner.fields, sink),
            None => self.captures_with(&mut GrokScratch::new(), text, sink),
        }
    }

    /// Whether [`Self::captures`] would return true on `text`, without extracting anything
    /// (cheaper: no capture engine runs).
    pub fn is_match(&self, text: &str) -> bool {
        let inner = &*self.inner;
        if inner.fields.is_empty() {
            return false;
        }
        match self.fast_for(text) {
            Some(f) => f.is_match(text),
            None => inner.regex.is_match(text),
        }
    }

    /// Same as [`Self::captures`], through the plain full regex ([`Self::regex`]), reusing
    /// `scratch` to avoid allocating on each call. Slower; the reference the fast path is
    /// tested against.
    pub fn captures_with<'t>(
        &self,
        scratch: &mut GrokScratch,
        text: &'t str,
        mut sink: impl FnMut(&FieldKey, &'t str),
    ) -> bool {
        let inner = &*self.inner;
        if inner.fields.is_empty() {
            return false;
        }
        let id = inner.id;
        let locs = match &mut scratch.locs {
            Some(l) if scratch.owner == id && l.len() == inner.regex.captures_len() => l,
            slot => {
                scratch.owner = id;
                slot.insert(inner.regex.capture_locations())
            }
        };
        if inner.regex.captures_read(locs, text).is_none() {
            return false;
        }
        for (field, group) in &inner.fields {
            let value = locs.get(*group).map_or("", |(s, e)| &text[s..e]);
            sink(field, value);
        }
        true
    }
}
