//! Writes an expression asks for (`evt.SetMeta(k, v)`, `evt.SetParsed(k, v)`), applied after it.
//!
//! CrowdSec's `Event` has two setters that expressions call in filters, statics, whitelists and
//! scenario filters; they write into the event and return `true`. Expressions here see the
//! event through a shared borrow (`Value<'a>` borrows its strings from it), so a setter cannot
//! write in place: it appends to this list, and whoever evaluated the expression with a mutable
//! event calls [`super::Event::apply_writes`] afterwards. Reading code never touches the list; a
//! `dirty` flag makes "nothing to apply" one relaxed load.
//!
//! Difference with CrowdSec: within the expression that calls the setter, `evt.Meta.k` still
//! reads the old value (`evt.GetMeta(k)` sees the new one); the next expression sees the write.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::StrMap;

/// Which map of the event a write goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteTarget {
    /// `Event.Meta` (`SetMeta`).
    Meta,
    /// `Event.Parsed` (`SetParsed`).
    Parsed,
}

/// One pending write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// The map written to.
    pub target: WriteTarget,
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

/// Writes requested by expressions and not yet applied to the event.
#[derive(Debug, Default)]
pub struct PendingWrites {
    dirty: AtomicBool,
    list: Mutex<Vec<Write>>,
}

impl Clone for PendingWrites {
    fn clone(&self) -> Self {
        let list = self.snapshot();
        PendingWrites {
            dirty: AtomicBool::new(!list.is_empty()),
            list: Mutex::new(list),
        }
    }
}

impl PendingWrites {
    /// Whether a write waits to be applied (cheap: one relaxed atomic load).
    #[inline]
    pub fn is_dirty(&self) -> bool {
        self.dirty.load(Ordering::Relaxed)
    }

    /// Records a write.
    pub fn push(&self, target: WriteTarget, key: &str, value: &str) {
        let mut g = self.list.lock().unwrap_or_else(|p| p.into_inner());
        g.push(Write {
            target,
            key: key.to_string(),
            value: value.to_string(),
        });
        self.dirty.store(true, Ordering::Relaxed);
    }

    /// Removes and returns the pending writes, oldest first.
    pub fn take(&self) -> Vec<Write> {
        if !self.is_dirty() {
            return Vec::new();
        }
        let mut g = self.list.lock().unwrap_or_else(|p| p.into_inner());
        self.dirty.store(false, Ordering::Relaxed);
        std::mem::take(&mut *g)
    }

    /// The latest pending value of `key` in `target`, if any.
    pub fn latest(&self, target: WriteTarget, key: &str) -> Option<String> {
        if !self.is_dirty() {
            return None;
        }
        let g = self.list.lock().unwrap_or_else(|p| p.into_inner());
        g.iter()
            .rev()
            .find(|w| w.target == target && w.key == key)
            .map(|w| w.value.clone())
    }

    fn snapshot(&self) -> Vec<Write> {
        if !self.is_dirty() {
            return Vec::new();
        }
        self.list.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Applies `writes` to the maps they name.
pub(super) fn apply(writes: Vec<Write>, meta: &mut StrMap, parsed: &mut StrMap) {
    for w in writes {
        match w.target {
            WriteTarget::Meta => meta.insert(&w.key, &w.value),
            WriteTarget::Parsed => parsed.insert(&w.key, &w.value),
        }
    }
}
