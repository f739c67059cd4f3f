//! Durations and times as settings and signals write them.

/// Seconds in a Go-style duration of whole units (`90s`, `30m`, `12h`, `1h30m`, `7d`); `None`
/// when it does not parse or overflows.
pub fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut digits = 0i64;
    let mut seen_digit = false;
    for c in text.chars() {
        if let Some(d) = c.to_digit(10) {
            digits = digits.checked_mul(10)?.checked_add(i64::from(d))?;
            seen_digit = true;
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return None,
        };
        if !seen_digit {
            return None;
        }
        total = total.checked_add(digits.checked_mul(unit)?)?;
        digits = 0;
        seen_digit = false;
    }
    if seen_digit {
        // A bare number ("0") has no unit: only zero is unambiguous.
        if digits != 0 {
            return None;
        }
    }
    Some(total)
}

/// Unix seconds of an RFC 3339 time (CrowdSec's `start_at`/`stop_at`; fractions ignored).
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.timestamp())
}

/// RFC 3339 (UTC, whole seconds) of Unix seconds.
pub fn format_rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("12h"), Some(43_200));
        assert_eq!(parse_duration("1h30m"), Some(5400));
        assert_eq!(parse_duration("7d"), Some(604_800));
        assert_eq!(parse_duration("0"), Some(0));
        for bad in ["", "h", "12", "1.5h", "-1h", "12x", "99999999999999999999h"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn times() {
        assert_eq!(parse_rfc3339("1970-01-01T00:01:00Z"), Some(60));
        assert_eq!(parse_rfc3339("1970-01-01T01:00:00.999+01:00"), Some(0));
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(format_rfc3339(60), "1970-01-01T00:01:00Z");
    }
}
