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
