//! The decision history profiles may consult (`GetDecisionsCount`, `GetDecisionsSinceCount`),
//! as CrowdSec's LAPI lets them, so that repeat offenders get longer bans.
//!
//! The engine holds no decisions: the service that stores them implements
//! [`DecisionHistory`] and the helpers are registered over it.

use std::sync::Arc;

use crate::expr::Value;
use crate::expr::functions::{Arity, Functions};
use crate::expr::ops::parse_duration;

/// Counts of decisions ever taken on a value (expired and deleted ones included).
pub trait DecisionHistory: Send + Sync {
    /// Decisions on `value`, all time.
    fn count(&self, value: &str) -> u64;
    /// Decisions on `value` created in the last `since_ns` nanoseconds.
    fn count_since(&self, value: &str, since_ns: i64) -> u64;
}

fn as_int(n: u64) -> Value<'static> {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Registers `GetDecisionsCount(value)` and `GetDecisionsSinceCount(value, "24h")` over
/// `history`. As in CrowdSec, a bad duration is an error of the expression.
pub fn register_history(f: &mut Functions, history: Arc<dyn DecisionHistory>) {
    let h = Arc::clone(&history);
    f.register(
        "GetDecisionsCount",
        Arity::Exact(1),
        Box::new(move |args: &[Value<'_>]| {
            let value = args.first().and_then(|v| v.as_str()).unwrap_or_default();
            Ok(as_int(h.count(value)))
        }),
    );
    f.register(
        "GetDecisionsSinceCount",
        Arity::Exact(2),
        Box::new(move |args: &[Value<'_>]| {
            let value = args.first().and_then(|v| v.as_str()).unwrap_or_default();
            let since = args.get(1).and_then(|v| v.as_str()).unwrap_or_default();
            let ns = parse_duration(since)
                .map_err(|e| format!("GetDecisionsSinceCount: bad duration {since:?}: {e}"))?;
            Ok(as_int(history.count_since(value, ns)))
        }),
    );
}

/// The decisions a pipeline took itself, for replays and tests where no decision store
/// exists: counts per value, with "now" the time of the alert being decided (event time).
#[derive(Debug, Default)]
pub struct MemoryHistory {
    inner: std::sync::Mutex<MemoryInner>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    taken: std::collections::HashMap<String, Vec<i64>>,
    now: i64,
}

impl MemoryHistory {
    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        // A poisoned lock only means a panic elsewhere; the counts are still usable.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sets the time counts are relative to (Unix ns).
    pub fn set_now(&self, now: i64) {
        self.lock().now = now;
    }

    /// Records a decision on `value` taken at `at` (Unix ns).
    pub fn record(&self, value: &str, at: i64) {
        self.lock()
            .taken
            .entry(value.to_string())
            .or_default()
            .push(at);
    }
}

impl DecisionHistory for MemoryHistory {
    fn count(&self, value: &str) -> u64 {
        self.lock().taken.get(value).map_or(0, |v| v.len() as u64)
    }

    fn count_since(&self, value: &str, since_ns: i64) -> u64 {
        let g = self.lock();
        let from = g.now.saturating_sub(since_ns);
        g.taken
            .get(value)
            .map_or(0, |v| v.iter().filter(|&&t| t >= from).count() as u64)
    }
}
