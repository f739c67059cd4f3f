//! The decision history profiles may consult (`GetDecisionsCount`, `GetDecisionsSinceCount`,
//! `GetActiveDecisionsCount`, `GetActiveDecisionsTimeLeft`), as CrowdSec's LAPI lets them, so
//! that repeat offenders get longer bans.
//!
//! The engine holds no decisions: the service that stores them implements
//! [`DecisionHistory`] and the helpers are registered over it.

use std::sync::Arc;

use crate::expr::Value;
use crate::expr::functions::{Arity, Functions};

use super::parse_duration_with_days;

/// What profiles may ask of the decisions taken so far.
///
/// CrowdSec matches `value` as an address or range (decisions whose range contains it); an
/// implementation over exact values is what hivewall's own decisions need (one value per
/// source).
pub trait DecisionHistory: Send + Sync {
    /// Decisions on `value`, all time (expired and deleted ones included).
    fn count(&self, value: &str) -> u64;
    /// Decisions on `value` created in the last `since_ns` nanoseconds.
    fn count_since(&self, value: &str, since_ns: i64) -> u64;
    /// Decisions on `value` that have not expired yet (CrowdSec's `GetActiveDecisionsCount`).
    /// The default answers 0, as CrowdSec does without a database.
    fn active_count(&self, value: &str) -> u64 {
        let _ = value;
        0
    }
    /// Nanoseconds until the active decision on `value` that ends last expires, 0 when none is
    /// active (CrowdSec's `GetActiveDecisionsTimeLeft`). The default answers 0, as CrowdSec
    /// does without a database.
    fn active_time_left(&self, value: &str) -> i64 {
        let _ = value;
        0
    }
}

fn as_int(n: u64) -> Value<'static> {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

fn value_arg<'a>(args: &'a [Value<'_>]) -> &'a str {
    args.first().and_then(|v| v.as_str()).unwrap_or_default()
}

/// Registers `GetDecisionsCount(value)`, `GetDecisionsSinceCount(value, "24h")`,
/// `GetActiveDecisionsCount(value)` and `GetActiveDecisionsTimeLeft(value)` (a Go
/// `time.Duration`) over `history`. As in CrowdSec, a duration that does not parse (days
/// allowed: `7d`) logs an error and counts 0.
pub fn register_history(f: &mut Functions, history: Arc<dyn DecisionHistory>) {
    let h = Arc::clone(&history);
    f.register(
        "GetDecisionsCount",
        Arity::Exact(1),
        Box::new(move |args: &[Value<'_>]| Ok(as_int(h.count(value_arg(args))))),
    );
    let h = Arc::clone(&history);
    f.register(
        "GetDecisionsSinceCount",
        Arity::Exact(2),
        Box::new(move |args: &[Value<'_>]| {
            let since = args.get(1).and_then(|v| v.as_str()).unwrap_or_default();
            match parse_duration_with_days(since) {
                Ok(ns) => Ok(as_int(h.count_since(value_arg(args), ns))),
                Err(e) => {
                    tracing::error!(since, error = %e, "GetDecisionsSinceCount: bad duration.");
                    Ok(Value::Int(0))
                }
            }
        }),
    );
    let h = Arc::clone(&history);
    f.register(
        "GetActiveDecisionsCount",
        Arity::Exact(1),
        Box::new(move |args: &[Value<'_>]| Ok(as_int(h.active_count(value_arg(args))))),
    );
    f.register(
        "GetActiveDecisionsTimeLeft",
        Arity::Exact(1),
        Box::new(move |args: &[Value<'_>]| {
            Ok(Value::Duration(history.active_time_left(value_arg(args))))
        }),
    );
}

/// One recorded decision: the value, when it was taken and until when it holds (Unix ns).
pub type HistoryEntry = (String, i64, i64);

/// The decisions a pipeline took itself, for replays and tests where no decision store
/// exists: per value, when each was taken and until when it holds, with "now" the time of
/// the alert being decided (event time).
#[derive(Debug, Default)]
pub struct MemoryHistory {
    inner: std::sync::Mutex<MemoryInner>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    /// Per value: (taken at, until), Unix ns.
    taken: std::collections::HashMap<String, Vec<(i64, i64)>>,
    now: i64,
}

impl MemoryHistory {
    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        // A poisoned lock only means a panic elsewhere; the counts are still usable.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every recorded decision as (value, taken at, until), Unix ns, sorted: what a processor
    /// stores with its buckets so that repeat offenders keep escalating across a restart.
    pub fn snapshot(&self) -> Vec<HistoryEntry> {
        let g = self.lock();
        let mut out: Vec<HistoryEntry> = g
            .taken
            .iter()
            .flat_map(|(v, list)| list.iter().map(move |(a, u)| (v.clone(), *a, *u)))
            .collect();
        out.sort();
        out
    }

    /// Takes back a [`MemoryHistory::snapshot`] (replacing what is recorded).
    pub fn restore(&self, entries: Vec<HistoryEntry>) {
        let mut g = self.lock();
        g.taken.clear();
        for (v, at, until) in entries {
            g.taken.entry(v).or_default().push((at, until));
        }
    }

    /// Sets the time counts are relative to (Unix ns).
    pub fn set_now(&self, now: i64) {
        self.lock().now = now;
    }

    /// Records a decision on `value` taken at `at` (Unix ns) that is never active (see
    /// [`MemoryHistory::record_decision`]).
    pub fn record(&self, value: &str, at: i64) {
        self.record_decision(value, at, 0);
    }

    /// Records a decision on `value` taken at `at` (Unix ns) for `duration_ns`.
    pub fn record_decision(&self, value: &str, at: i64, duration_ns: i64) {
        self.lock()
            .taken
            .entry(value.to_string())
            .or_default()
            .push((at, at.saturating_add(duration_ns)));
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
            .map_or(0, |v| v.iter().filter(|(t, _)| *t >= from).count() as u64)
    }

    fn active_count(&self, value: &str) -> u64 {
        let g = self.lock();
        g.taken
            .get(value)
            .map_or(0, |v| v.iter().filter(|(_, u)| *u > g.now).count() as u64)
    }

    fn active_time_left(&self, value: &str) -> i64 {
        let g = self.lock();
        g.taken
            .get(value)
            .and_then(|v| v.iter().map(|(_, u)| *u).filter(|u| *u > g.now).max())
            .map_or(0, |u| u - g.now)
    }
}
