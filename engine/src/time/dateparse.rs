//! CrowdSec's date enricher (`pkg/parser/enrich_date.go`).
//!
//! Order of attempts: the parser's `StrTimeFormat` layout if any, then [`LAYOUTS`] in order,
//! then a unix epoch in seconds (`1700000000`, or `1700000000.123` whose fraction is dropped;
//! the value must be positive). A layout without a year yields year 0, which is replaced by
//! `default_year` (Go adds the years to the date, so Feb 29 of year 0 becomes Mar 1 in a
//! non-leap year). A parse giving Go's zero time (0001-01-01T00:00:00Z) counts as a failure.
//! Note: current CrowdSec does not call `dateparse.ParseAny`; only these layouts are tried.

use chrono::{DateTime, Datelike, FixedOffset, Months, NaiveDate, TimeZone, Timelike};

use std::sync::LazyLock;

use super::goformat::{Layout, go_parse, go_parse_layout};

/// The layouts CrowdSec tries, in order, when the parser gave no (working) `StrTimeFormat`.
pub const LAYOUTS: [&str; 16] = [
    "2006-01-02T15:04:05Z07:00",
    "02/Jan/2006:15:04:05 -0700",
    "Mon Jan 2 15:04:05 2006",
    "02-Jan-2006 15:04:05 europe/paris",
    "01/02/2006 15:04:05",
    "2006-01-02 15:04:05.999999999 -0700 MST",
    "Jan  2 15:04:05",
    "Mon Jan 02 15:04:05.000000 2006",
    "2006-01-02T15:04:05Z07:00",
    "2006/01/02",
    "2006/01/02 15:04",
    "2006-01-02",
    "2006-01-02 15:04",
    "2006/01/02 15:04:05",
    "2006-01-02 15:04:05",
    "2006-01-02T15:04:05",
];

/// [`LAYOUTS`], each cut once.
static CUT: LazyLock<Vec<Layout>> =
    LazyLock::new(|| LAYOUTS.iter().map(|l| Layout::new(l)).collect());

/// What `time.Parse` gave, as CrowdSec keeps it: Go's zero time is a failure, a year-less
/// layout's year 0 becomes `default_year`.
fn with_year(t: DateTime<FixedOffset>, default_year: i32) -> Option<DateTime<FixedOffset>> {
    let zero = NaiveDate::from_ymd_opt(1, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0));
    if Some(t.naive_utc()) == zero {
        return None;
    }
    if t.year() != 0 {
        return Some(t);
    }
    let years = u32::try_from(default_year).ok()?;
    // Go's AddDate normalises Feb 29 into Mar 1 in non-leap years.
    let local = t.naive_local();
    let date = match NaiveDate::from_ymd_opt(default_year, local.month(), local.day()) {
        Some(d) => d,
        None => local
            .date()
            .checked_add_months(Months::new(years * 12))?
            .succ_opt()?,
    };
    let naive = date.and_time(local.time());
    t.offset().from_local_datetime(&naive).single()
}

fn unix(s: &str) -> Option<DateTime<FixedOffset>> {
    let head = s.split('.').next()?;
    let secs: i64 = parse_go_int(head)?;
    if secs <= 0 {
        return None;
    }
    let t = DateTime::from_timestamp(secs, 0)?;
    Some(t.fixed_offset())
}

/// Go's `strconv.ParseInt(s, 10, 64)`: optional sign, ASCII digits only.
fn parse_go_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses a log timestamp like CrowdSec's `ParseDate` enricher. `strtime_format`: the parser's
/// Go layout (`evt.StrTimeFormat`) if any; `default_year`: the year for year-less layouts.
/// Returns the time with its offset (UTC when the text has none) and the Go layout that
/// matched, or `"unix"` for an epoch. `None` where CrowdSec falls back to "now".
pub fn parse_date<'a>(
    s: &str,
    strtime_format: Option<&'a str>,
    default_year: i32,
) -> Option<(DateTime<FixedOffset>, &'a str)> {
    if s.is_empty() {
        return None;
    }
    if let Some(f) = strtime_format.filter(|f| !f.is_empty())
        && let Some(t) = go_parse(s, f).and_then(|t| with_year(t, default_year))
    {
        return Some((t, f));
    }
    // A layout that starts with a digit (a numeric element, or a literal digit) needs a value
    // that starts with one: checked before the layout is walked (syslog's `Jan  2 15:04:05`
    // is tried after five such layouts).
    let digit_first = s.as_bytes()[0].is_ascii_digit();
    for (layout, cut) in LAYOUTS.iter().zip(CUT.iter()) {
        if !digit_first && layout.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            continue;
        }
        if let Some(t) = go_parse_layout(s, cut).and_then(|t| with_year(t, default_year)) {
            return Some((t, *layout));
        }
    }
    unix(s).map(|t| (t, "unix"))
}

/// Formats like Go's `time.Time.MarshalText` (RFC 3339 with nanoseconds): trailing zeros of the
/// fraction dropped, `Z` for offset 0, `+02:00` otherwise.
pub fn format_rfc3339_nano(t: &DateTime<FixedOffset>) -> String {
    let mut out = String::with_capacity(RFC3339_MAX);
    push_rfc3339_nano(t, &mut out);
    out
}

/// [`format_rfc3339_nano`] appended to `out` (no allocation when `out` has the room).
pub(crate) fn push_rfc3339_nano(t: &DateTime<FixedOffset>, out: &mut String) {
    let mut buf = [0u8; RFC3339_MAX];
    match write_rfc3339_nano(t, &mut buf) {
        // Only ASCII digits and separators were written.
        Some(n) => out.push_str(std::str::from_utf8(&buf[..n]).unwrap_or_default()),
        None => out.push_str(&format_rfc3339_nano_slow(t)),
    }
}

/// The longest text [`write_rfc3339_nano`] writes.
pub(crate) const RFC3339_MAX: usize = 35;

/// [`format_rfc3339_nano`] into `out`, without allocating: the length written, or `None` for a
/// year outside 0..=9999 (which only the allocating form prints).
pub(crate) fn write_rfc3339_nano(
    t: &DateTime<FixedOffset>,
    out: &mut [u8; RFC3339_MAX],
) -> Option<usize> {
    // The local date and time once: each accessor of a `DateTime` would add the offset again.
    let local = t.naive_local();
    let year = local.year();
    if !(0..=9999).contains(&year) {
        return None;
    }
    // Written digit by digit: `write!` with padded fields cost ~2,000 instructions a call,
    // once per parsed line (dateparse-enrich's `MarshaledTime`).
    let mut n = 0;
    put_digits(out, &mut n, year as u32, 4);
    put_byte(out, &mut n, b'-');
    put_digits(out, &mut n, local.month(), 2);
    put_byte(out, &mut n, b'-');
    put_digits(out, &mut n, local.day(), 2);
    put_byte(out, &mut n, b'T');
    put_digits(out, &mut n, local.hour(), 2);
    put_byte(out, &mut n, b':');
    put_digits(out, &mut n, local.minute(), 2);
    put_byte(out, &mut n, b':');
    put_digits(out, &mut n, local.second(), 2);
    let ns = local.nanosecond() % 1_000_000_000;
    if ns != 0 {
        put_byte(out, &mut n, b'.');
        put_digits(out, &mut n, ns, 9);
        while out[n - 1] == b'0' {
            n -= 1;
        }
    }
    let off = t.offset().local_minus_utc();
    if off == 0 {
        put_byte(out, &mut n, b'Z');
    } else {
        let a = off.unsigned_abs() / 60;
        put_byte(out, &mut n, if off < 0 { b'-' } else { b'+' });
        put_digits(out, &mut n, a / 60 % 100, 2);
        put_byte(out, &mut n, b':');
        put_digits(out, &mut n, a % 60, 2);
    }
    Some(n)
}

fn put_byte(out: &mut [u8; RFC3339_MAX], n: &mut usize, b: u8) {
    out[*n] = b;
    *n += 1;
}

/// Writes `v` as `width` decimal digits, zero-padded (its lowest `width` digits).
fn put_digits(out: &mut [u8; RFC3339_MAX], n: &mut usize, mut v: u32, width: usize) {
    for i in (0..width).rev() {
        out[*n + i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    *n += width;
}

/// [`format_rfc3339_nano`] for years outside 0..=9999.
pub(super) fn format_rfc3339_nano_slow(t: &DateTime<FixedOffset>) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(35);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let ns = t.nanosecond() % 1_000_000_000;
    if ns != 0 {
        let frac = format!("{ns:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    let off = t.offset().local_minus_utc();
    if off == 0 {
        out.push('Z');
    } else {
        let a = off.unsigned_abs() / 60;
        let _ = write!(
            out,
            "{}{:02}:{:02}",
            if off < 0 { '-' } else { '+' },
            a / 60,
            a % 60
        );
    }
    out
}
