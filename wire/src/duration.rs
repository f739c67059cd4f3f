//! Go's `time.Duration.String()`, the duration text of CrowdSec's API (`3h59m58.5s`) and of
//! its expressions: one formatter for the engine and the decision API; and the parser of the
//! durations CrowdSec's settings write (`time.ParseDuration` without sign).

use std::time::Duration;

/// A Go duration without sign, as `time.ParseDuration` reads settings (`2h`, `1h30m`, `1.5s`,
/// `300ms`, units `ns` to `h`); `0` is zero. `None` for anything else.
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    let mut rest = text.trim();
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..end].parse().ok()?;
        rest = &rest[end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += number * seconds;
    }
    Duration::try_from_secs_f64(total).ok()
}

/// Formats nanoseconds as Go's `Duration.String()` does (`1h30m0s`, `1.5s`, `300ms`, `0s`).
pub fn format_go_duration(ns: i128) -> String {
    let mut out = Vec::with_capacity(24);
    write_go_duration(ns, &mut out);
    // Only ASCII digits, unit letters and `µ` were written.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends the text of [`format_go_duration`] to `out`, without allocating: the decision
/// stream writes one per decision.
pub fn write_go_duration(ns: i128, out: &mut Vec<u8>) {
    if ns == 0 {
        out.extend_from_slice(b"0s");
        return;
    }
    if ns < 0 {
        out.push(b'-');
    }
    let u = ns.unsigned_abs();
    if u < 1_000_000_000 {
        // Below a second: fits in u64.
        let u = u as u64;
        let (unit, div): (&[u8], u64) = if u < 1_000 {
            (b"ns", 1)
        } else if u < 1_000_000 {
            ("µs".as_bytes(), 1_000)
        } else {
            (b"ms", 1_000_000)
        };
        push_frac(out, u, div);
        out.extend_from_slice(unit);
        return;
    }
    let secs = u / 1_000_000_000;
    let (h, m) = (secs / 3600, (secs % 3600) / 60);
    if h > 0 {
        push_uint(out, h);
        out.push(b'h');
    }
    if h > 0 || m > 0 {
        push_uint(out, m);
        out.push(b'm');
    }
    // Below a minute of nanoseconds: fits in u64.
    push_frac(out, (u % 60_000_000_000) as u64, 1_000_000_000);
    out.push(b's');
}

/// The decimal digits of `v`.
fn push_uint(out: &mut Vec<u8>, mut v: u128) {
    let mut buf = [0u8; 40];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// `v / div` with the fraction's trailing zeros dropped (`div` a power of ten).
fn push_frac(out: &mut Vec<u8>, v: u64, div: u64) {
    push_uint(out, u128::from(v / div));
    let mut rest = v % div;
    if rest == 0 {
        return;
    }
    let mut width = div.ilog10();
    while rest.is_multiple_of(10) {
        rest /= 10;
        width -= 1;
    }
    out.push(b'.');
    let start = out.len();
    push_uint(out, u128::from(rest));
    // Leading zeros of the fraction (`1.05s`).
    let digits = out.len() - start;
    for _ in digits..width as usize {
        out.insert(start, b'0');
    }
}

#[cfg(test)]
mod tests {
    use super::format_go_duration as f;
    use super::parse_go_duration as parse;
    use std::time::Duration;

    #[test]
    fn go_duration_parse() {
        assert_eq!(parse("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse("300ms"), Some(Duration::from_millis(300)));
        assert_eq!(parse("0"), Some(Duration::ZERO));
        for bad in ["", "10", "-1s", "1d", "s", "1.2.3s"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

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
        assert_eq!(f(1_050_000_000), "1.05s");
        assert_eq!(f(1_000_000_001), "1.000000001s");
        assert_eq!(f(1_001), "1.001µs");
        assert_eq!(f(3_600 * s + 5_000_000), "1h0m0.005s");
    }
}
