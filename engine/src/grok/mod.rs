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

mod base;
pub mod library;
mod slots;
mod tail;
pub mod translate;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use regex::{CaptureLocations, Regex, RegexBuilder};

/// Source of [`Inner::id`].
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

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
    /// A pattern file defines a name that already exists.
    #[error("{location}: pattern {name} is already defined")]
    Duplicate {
        /// `file:line` of the second definition.
        location: String,
        /// The pattern name.
        name: String,
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
    /// `(field, group index)`, sorted by group index.
    fields: Vec<(String, usize)>,
    names: Vec<String>,
    /// A cheaper way to the same captures when the pattern ends with `(.*)`.
    tail: Option<tail::Tail>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        slots::note_dropped();
    }
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
            .size_limit(256 << 20)
            .dfa_size_limit(64 << 20)
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
        let tail = tail::tail_of(&translated.regex, regex.captures_len());
        Ok(Grok {
            inner: Arc::new(Inner {
                id: NEXT_ID.fetch_add(2, std::sync::atomic::Ordering::Relaxed),
                pattern: pattern.to_string(),
                regex,
                fields,
                names,
                tail,
            }),
        })
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

    /// Runs on `text`. On a match calls `sink(field, value)` for every field exactly as CrowdSec
    /// stores it in `evt.Parsed` (fields whose group did not participate get `""`) and returns
    /// true; returns false when there is no match or the pattern has no field.
    pub fn captures<'t>(&self, text: &'t str, mut sink: impl FnMut(&str, &'t str)) -> bool {
        let inner = &*self.inner;
        if inner.fields.is_empty() {
            return false;
        }
        // One set of capture slots per grok and thread, reused across calls (see [`slots`]).
        let id = inner.id;
        // The sink runs inside: no spans are collected into a buffer.
        match &inner.tail {
            Some(t) if !text.contains('\n') => {
                // Odd keys: the prefix regex's slots (ids are even, see NEXT_ID).
                slots::with(
                    id | 1,
                    &self.inner,
                    || t.prefix.capture_locations(),
                    |locs| {
                        let Some(m) = t.prefix.captures_read(locs, text) else {
                            return false;
                        };
                        let (end, len) = (m.end(), text.len());
                        for (field, g) in &inner.fields {
                            let (s, e) = if *g == t.group {
                                (end, len)
                            } else if t.enclosing.contains(g) {
                                locs.get(*g).map_or((0, 0), |(s, _)| (s, len))
                            } else {
                                locs.get(*g).unwrap_or((0, 0))
                            };
                            sink(field, &text[s..e]);
                        }
                        true
                    },
                )
            }
            _ => slots::with(
                id,
                &self.inner,
                || inner.regex.capture_locations(),
                |locs| {
                    if inner.regex.captures_read(locs, text).is_none() {
                        return false;
                    }
                    for (field, g) in &inner.fields {
                        let (s, e) = locs.get(*g).unwrap_or((0, 0));
                        sink(field, &text[s..e]);
                    }
                    true
                },
            ),
        }
    }

    /// Same as [`Self::captures`], reusing `scratch` to avoid allocating on each call.
    pub fn captures_with<'t>(
        &self,
        scratch: &mut GrokScratch,
        text: &'t str,
        mut sink: impl FnMut(&str, &'t str),
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
