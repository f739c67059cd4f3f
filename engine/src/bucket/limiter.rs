//! The token bucket behind leaky buckets: Go's `golang.org/x/time/rate.Limiter` in replay
//! ("time machine") mode, where every call says what time it is.
//!
//! CrowdSec builds `rate.NewLimiter(rate.Every(leakspeed), capacity)` and calls `AllowN(t, 1)`
//! with the event's time. The arithmetic below follows Go's float operations step by step
//! (`Duration.Seconds`, the `1/interval` rate, the truncating duration conversion) so that
//! boundary cases overflow exactly when CrowdSec's do. The state is two numbers, so it
//! serializes in a few bytes; rate and burst come from the scenario, not from the state.

use serde::{Deserialize, Serialize};

/// Nanoseconds per second.
pub const NANOS: i64 = 1_000_000_000;

/// Go's `Duration.Seconds()`.
pub fn go_seconds(d: i64) -> f64 {
    let sec = d / NANOS;
    let nsec = d % NANOS;
    sec as f64 + nsec as f64 / 1e9
}

/// Go's `rate.Every(interval)`: events per second.
pub fn every(interval: i64) -> f64 {
    if interval <= 0 {
        f64::INFINITY
    } else {
        1.0 / go_seconds(interval)
    }
}

/// Which CrowdSec's token-bucket arithmetic to follow. They differ only in float rounding, so
/// only events exactly on a leak boundary can overflow one event apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Flavor {
    /// Current CrowdSec (Go `x/time/rate` 0.13): `elapsed.Seconds() * limit`, no cap on the
    /// elapsed time before the refill.
    #[default]
    Current,
    /// CrowdSec 1.4 (its in-tree `pkg/time/rate`): elapsed time first capped at the duration that
    /// fills the bucket (truncated to nanoseconds), whole seconds and nanoseconds converted
    /// separately. For differential runs against that version.
    V1_4,
}

/// CrowdSec 1.4's `durationFromTokens`: float seconds to integer nanoseconds, truncated.
fn duration_from_tokens_v14(tokens: f64, limit: f64) -> i64 {
    let d = 1e9 * (tokens / limit);
    if d >= i64::MAX as f64 {
        i64::MAX
    } else {
        d as i64
    }
}

/// CrowdSec 1.4's `tokensFromDuration`.
fn tokens_from_duration_v14(d: i64, limit: f64) -> f64 {
    let sec = (d / NANOS) as f64 * limit;
    let nsec = (d % NANOS) as f64 * limit;
    sec + nsec / 1e9
}

/// Go's zero time in Unix nanoseconds does not fit an i64; a fresh 1.4 limiter's elapsed time
/// is capped anyway, so any far past will do.
const FAR_PAST: i64 = i64::MIN / 2;

/// A token bucket's state. A fresh limiter is full (Go's zero `last` makes the first refill
/// saturate to the burst).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Limiter {
    /// Tokens left at `last`.
    #[serde(rename = "t")]
    tokens: f64,
    /// Unix nanoseconds of the last granted call; `None` for a fresh limiter.
    #[serde(rename = "l")]
    last: Option<i64>,
}

impl Limiter {
    /// The tokens available at `now` (Go `advance`), without changing the state.
    pub fn tokens_at(&self, now: i64, limit: f64, burst: i64) -> f64 {
        let burst = burst as f64;
        let Some(last) = self.last else {
            return burst;
        };
        let last = last.min(now);
        let elapsed = now.saturating_sub(last);
        let tokens = self.tokens + go_seconds(elapsed) * limit;
        tokens.min(burst)
    }

    /// `AllowN(now, 1)` with the arithmetic of `flavor`.
    pub fn allow_as(&mut self, flavor: Flavor, now: i64, limit: f64, burst: i64) -> bool {
        match flavor {
            Flavor::Current => self.allow(now, limit, burst),
            Flavor::V1_4 => self.allow_v14(now, limit, burst),
        }
    }

    fn allow_v14(&mut self, now: i64, limit: f64, burst: i64) -> bool {
        if limit.is_infinite() {
            return true;
        }
        let last = self.last.unwrap_or(FAR_PAST).min(now);
        let max_elapsed = duration_from_tokens_v14(burst as f64 - self.tokens, limit);
        let elapsed = now.saturating_sub(last).min(max_elapsed);
        let tokens =
            (self.tokens + tokens_from_duration_v14(elapsed, limit)).min(burst as f64) - 1.0;
        let wait = if tokens < 0.0 {
            duration_from_tokens_v14(-tokens, limit)
        } else {
            0
        };
        let ok = burst >= 1 && wait <= 0;
        if ok {
            self.last = Some(now);
            self.tokens = tokens;
        } else if self.last.is_some() {
            self.last = Some(last);
        }
        ok
    }

    /// Go `AllowN(now, 1)`: takes one token if one is available at `now`.
    pub fn allow(&mut self, now: i64, limit: f64, burst: i64) -> bool {
        if limit.is_infinite() {
            return true;
        }
        let tokens = self.tokens_at(now, limit, burst) - 1.0;
        let wait = if tokens < 0.0 {
            if limit <= 0.0 {
                i64::MAX
            } else {
                // Go converts the float duration to integer nanoseconds by truncation.
                let d = (-tokens / limit) * 1e9;
                if d > i64::MAX as f64 {
                    i64::MAX
                } else {
                    d as i64
                }
            }
        } else {
            0
        };
        let ok = burst >= 1 && wait <= 0;
        if ok {
            self.last = Some(now);
            self.tokens = tokens;
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real sequence (seconds) from a generated sshd log where the two arithmetics part:
    /// capacity 5, leakspeed 10s. The 15th event lands exactly on a token boundary.
    const SECS: [i64; 16] = [
        1, 10, 29, 33, 53, 58, 61, 61, 79, 81, 85, 104, 105, 105, 113, 114,
    ];

    fn first_refusal(flavor: Flavor) -> Option<usize> {
        let mut l = Limiter::default();
        let rate = every(10 * NANOS);
        SECS.iter()
            .position(|s| !l.allow_as(flavor, s * NANOS, rate, 5))
    }

    #[test]
    fn crowdsec_1_4_rounding_refuses_one_event_earlier_on_a_boundary() {
        assert_eq!(first_refusal(Flavor::V1_4), Some(14));
        assert_eq!(first_refusal(Flavor::Current), Some(15));
    }

    #[test]
    fn both_flavors_agree_away_from_boundaries() {
        for flavor in [Flavor::Current, Flavor::V1_4] {
            let mut l = Limiter::default();
            let rate = every(10 * NANOS);
            // A full bucket takes 5 events at once, refuses the 6th, and refills one per 10s.
            assert!((0..5).all(|_| l.allow_as(flavor, 0, rate, 5)));
            assert!(!l.allow_as(flavor, 0, rate, 5));
            assert!(!l.allow_as(flavor, 9 * NANOS, rate, 5));
            assert!(l.allow_as(flavor, 11 * NANOS, rate, 5));
        }
    }
}
