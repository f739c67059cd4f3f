//! Capture slots per grok and thread, reused across matches (allocating them per line showed
//! up at ~10% of a grok match). The cache is bounded and forgets groks that were dropped (a
//! reload replaces every parser), so memory does not grow with reloads or dynamic patterns.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use regex::CaptureLocations;

use super::Inner;

/// Entries one thread keeps at most; past it the cache starts over (a miss costs one
/// allocation, not a correctness issue).
pub(super) const MAX_SLOTS: usize = 4096;

/// Bumped whenever a grok is dropped, so threads prune their entries of dead groks.
static DROPPED: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static SLOTS: RefCell<Slots> = RefCell::new(Slots::default());
}

#[derive(Default)]
struct Slots {
    /// The value of [`DROPPED`] when this thread last pruned.
    seen: u64,
    map: HashMap<u64, (Weak<Inner>, CaptureLocations)>,
}

/// Notes that a grok was dropped (called by its `Drop`).
pub(super) fn note_dropped() {
    DROPPED.fetch_add(1, Ordering::Relaxed);
}

/// Runs `f` with this thread's slots of `owner` under `key` (made by `make` when missing).
pub(super) fn with<R>(
    key: u64,
    owner: &Arc<Inner>,
    make: impl FnOnce() -> CaptureLocations,
    f: impl FnOnce(&mut CaptureLocations) -> R,
) -> R {
    SLOTS.with(|cell| {
        let mut slots = cell.borrow_mut();
        let slots = &mut *slots;
        let dropped = DROPPED.load(Ordering::Relaxed);
        if dropped != slots.seen {
            slots.seen = dropped;
            slots.map.retain(|_, (w, _)| w.strong_count() > 0);
        }
        if slots.map.len() >= MAX_SLOTS && !slots.map.contains_key(&key) {
            slots.map.clear();
        }
        let (_, locs) = slots
            .map
            .entry(key)
            .or_insert_with(|| (Arc::downgrade(owner), make()));
        f(locs)
    })
}

/// How many entries this thread's cache holds (for tests).
#[cfg(test)]
pub(super) fn len() -> usize {
    SLOTS.with(|cell| cell.borrow().map.len())
}
