//! Go `time.Duration` text (what CrowdSec prints and parses) and the clock helpers the store
//! uses (unix milliseconds, RFC 3339).

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Nanoseconds since the unix epoch, now (remaining durations are shown at this precision, as
/// Go's `time.Until` does: never the full duration, even in the millisecond of creation).
pub fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX))
        .unwrap_or(0)
}

/// The time left until `until_ms` (unix milliseconds) at `now_ns`, as Go's `Duration.String()`.
pub fn format_remaining(until_ms: i64, now_ns: i128) -> String {
    format_nanos(i128::from(until_ms) * 1_000_000 - now_ns)
}

/// Formats a duration given in milliseconds the way Go's `Duration.String()` does
/// (`3h59m58.123s`, `1.5s`, `250ms`, `0s`, negative values with a leading `-`).
pub fn format_ms(ms: i64) -> String {
    format_nanos(i128::from(ms) * 1_000_000)
}

/// Formats nanoseconds as Go's `Duration.String()`.
pub fn format_nanos(ns: i128) -> String {
    wire::format_go_duration(ns)
}

/// Parses a Go duration (`4h`, `1h30m`, `1.5s`, `300ms`, `-2m`), also accepting a `d` (24h)
/// unit as cscli does. Returns milliseconds.
pub fn parse_ms(text: &str) -> Option<i64> {
    let t = text.trim();
    let (neg, mut rest) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_end == 0 {
            return None;
        }
        let num: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        rest = &rest[unit_end..];
        let mult_ms = match unit {
            "ns" => 1e-6,
            "us" | "µs" | "μs" => 1e-3,
            "ms" => 1.0,
            "s" => 1e3,
            "m" => 60e3,
            "h" => 3600e3,
            "d" => 86_400e3,
            _ => return None,
        };
        total += num * mult_ms;
    }
    if !total.is_finite() || total > 9.2e15 {
        return None;
    }
    // Truncation toward zero keeps sub-millisecond inputs at 0, as intended.
    #[allow(clippy::cast_possible_truncation)]
    let ms = total as i64;
    Some(if neg { -ms } else { ms })
}

/// RFC 3339 text (seconds precision, `Z`) of a unix-milliseconds time, as Go's
/// `time.RFC3339` prints UTC times.
pub fn rfc3339_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// Parses an RFC 3339 time into unix milliseconds.
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|d| d.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_duration_text() {
        assert_eq!(format_ms(0), "0s");
        assert_eq!(format_ms(4 * 3600 * 1000), "4h0m0s");
        assert_eq!(
            format_ms(3 * 3_600_000 + 59 * 60_000 + 58_123),
            "3h59m58.123s"
        );
        assert_eq!(format_ms(1500), "1.5s");
        assert_eq!(format_ms(250), "250ms");
        assert_eq!(format_ms(-61_000), "-1m1s");
        assert_eq!(format_nanos(1_500), "1.5µs");
    }

    #[test]
    fn go_duration_parse() {
        assert_eq!(parse_ms("4h"), Some(14_400_000));
        assert_eq!(parse_ms("1h30m"), Some(5_400_000));
        assert_eq!(parse_ms("1.5s"), Some(1500));
        assert_eq!(parse_ms("-2m"), Some(-120_000));
        assert_eq!(parse_ms("1d"), Some(86_400_000));
        assert_eq!(parse_ms("3h59m58.123456789s"), Some(14_398_123));
        assert_eq!(parse_ms(""), None);
        assert_eq!(parse_ms("4x"), None);
        assert_eq!(parse_ms("h"), None);
    }
}
