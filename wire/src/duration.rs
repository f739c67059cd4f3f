//! Go's `time.Duration.String()`, the duration text of CrowdSec's API (`3h59m58.5s`) and of
//! its expressions: one formatter for the engine and the decision API.

use std::fmt::Write;

/// Formats nanoseconds as Go's `Duration.String()` does (`1h30m0s`, `1.5s`, `300ms`, `0s`).
pub fn format_go_duration(ns: i128) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    let mut out = String::with_capacity(24);
    if ns < 0 {
        out.push('-');
    }
    let u = ns.unsigned_abs();
    if u < 1_000_000_000 {
        let (unit, div) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        push_frac(&mut out, u, div);
        out.push_str(unit);
        return out;
    }
    let secs = u / 1_000_000_000;
    let (h, m) = (secs / 3600, (secs % 3600) / 60);
    if h > 0 {
        let _ = write!(out, "{h}h");
    }
    if h > 0 || m > 0 {
        let _ = write!(out, "{m}m");
    }
    push_frac(&mut out, u % 60_000_000_000, 1_000_000_000);
    out.push('s');
    out
}

/// `v / div` with the fraction's trailing zeros dropped (`div` a power of ten).
fn push_frac(out: &mut String, v: u128, div: u128) {
    let _ = write!(out, "{}", v / div);
    let rest = v % div;
    if rest == 0 {
        return;
    }
    let width = div.ilog10() as usize;
    let digits = format!("{rest:0width$}");
    out.push('.');
    out.push_str(digits.trim_end_matches('0'));
}

#[cfg(test)]
mod tests {
    use super::format_go_duration as f;

    #[test]
    fn go_duration_text() {
        let s = 1_000_000_000_i128;
        assert_eq!(f(0), "0s");
        assert_eq!(f(1), "1ns");
        assert_eq!(f(1_500), "1.5µs");
        assert_eq!(f(300_000_000), "300ms");
        assert_eq!(f(1_500_000_000), "1.5s");
        assert_eq!(f(90 * s), "1m30s");
        assert_eq!(f(4 * 3600 * s), "4h0m0s");
        assert_eq!(f(4 * 3600 * s - 1_500_000), "3h59m59.9985s");
        assert_eq!(f(-2 * 60 * s), "-2m0s");
        assert_eq!(f(i128::from(i64::MIN)), "-2562047h47m16.854775808s");
    }
}
