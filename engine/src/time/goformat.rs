//! Go reference-layout time parsing and formatting (`time.Parse` / `time.Time.Format`).
//!
//! Supported layout elements: `January Jan 01 1`, `Monday Mon`, `02 _2 2 002`, `15 03 3`,
//! `04 4`, `05 5`, `2006 06`, `PM pm`, `MST`, `-070000 -07:00:00 -0700 -07:00 -07` and their
//! `Z` forms, and fractional seconds `.000`/`.999` (or with `,`). Parsing follows Go's rules:
//! month/day names are case-insensitive, a run of spaces in the layout matches any run of
//! spaces (at least one unless the value ended), fractional seconds after `05` are accepted
//! even when the layout has none, and the whole value must be consumed. A zone abbreviation
//! (`MST`) other than a `GMT±h` form gives offset 0 (Go does so for abbreviations unknown to
//! the local zone, and the local zone is UTC here). A missing year is year 0.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Timelike};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    YearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    Tz,
    /// Numeric offset: (use `Z` for zero, has colons, seconds, minutes).
    Offset(bool, bool, bool, bool),
    /// Fractional seconds: (digits, trim trailing zeros, separator).
    Frac(usize, bool, char),
}

/// Splits `layout` at its next element: (literal prefix, element, rest).
fn next_chunk(layout: &str) -> (&str, Option<Tok>, &str) {
    let b = layout.as_bytes();
    for i in 0..b.len() {
        // Every element starts with an ASCII byte: the inside of a multi-byte char is literal.
        let Some(r) = layout.get(i..) else {
            continue;
        };
        let hit = |t: Tok, n: usize| Some((&layout[..i], Some(t), &layout[i + n..]));
        let found = match b[i] {
            b'J' if r.starts_with("January") => hit(Tok::LongMonth, 7),
            b'J' if r.starts_with("Jan") => hit(Tok::Month, 3),
            b'M' if r.starts_with("Monday") => hit(Tok::LongWeekDay, 6),
            b'M' if r.starts_with("Mon") => hit(Tok::WeekDay, 3),
            b'M' if r.starts_with("MST") => hit(Tok::Tz, 3),
            b'0' if r.starts_with("002") => hit(Tok::YearDay, 3),
            b'0' if (b'1'..=b'6').contains(b.get(i + 1).unwrap_or(&0)) => {
                let t = [
                    Tok::ZeroMonth,
                    Tok::ZeroDay,
                    Tok::ZeroHour12,
                    Tok::ZeroMinute,
                    Tok::ZeroSecond,
                    Tok::Year,
                ];
                hit(t[(b[i + 1] - b'1') as usize], 2)
            }
            b'1' if r.starts_with("15") => hit(Tok::Hour, 2),
            b'1' => hit(Tok::NumMonth, 1),
            b'2' if r.starts_with("2006") => hit(Tok::LongYear, 4),
            b'2' => hit(Tok::Day, 1),
            b'_' if r.starts_with("_2") && !r.starts_with("_2006") => hit(Tok::UnderDay, 2),
            b'3' => hit(Tok::Hour12, 1),
            b'4' => hit(Tok::Minute, 1),
            b'5' => hit(Tok::Second, 1),
            b'P' if r.starts_with("PM") => hit(Tok::PM, 2),
            b'p' if r.starts_with("pm") => hit(Tok::Pm, 2),
            b'-' | b'Z' => {
                let z = b[i] == b'Z';
                let s = &r[1..];
                if s.starts_with("070000") {
                    hit(Tok::Offset(z, false, true, true), 7)
                } else if s.starts_with("07:00:00") {
                    hit(Tok::Offset(z, true, true, true), 9)
                } else if s.starts_with("0700") {
                    hit(Tok::Offset(z, false, false, true), 5)
                } else if s.starts_with("07:00") {
                    hit(Tok::Offset(z, true, false, true), 6)
                } else if s.starts_with("07") {
                    hit(Tok::Offset(z, false, false, false), 3)
                } else {
                    None
                }
            }
            c @ (b'.' | b',') if matches!(b.get(i + 1), Some(b'0' | b'9')) => {
                let d = b[i + 1];
                let n = b[i + 1..].iter().take_while(|&&x| x == d).count();
                if b.get(i + 1 + n).is_some_and(u8::is_ascii_digit) {
                    None
                } else {
                    hit(Tok::Frac(n, d == b'9', c as char), 1 + n)
                }
            }
            _ => None,
        };
        if let Some(f) = found {
            return f;
        }
    }
    (layout, None, "")
}

fn num(v: &str, fixed: bool) -> Option<(u32, &str)> {
    let b = v.as_bytes();
    if !b.first()?.is_ascii_digit() {
        return None;
    }
    if !b.get(1).is_some_and(u8::is_ascii_digit) {
        return if fixed {
            None
        } else {
            Some(((b[0] - b'0') as u32, &v[1..]))
        };
    }
    Some((((b[0] - b'0') * 10 + (b[1] - b'0')) as u32, &v[2..]))
}

fn digits(v: &str, n: usize) -> Option<(u32, &str)> {
    let s = v.get(..n)?;
    if !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((s.parse().ok()?, &v[n..]))
}

/// Matches a name from `names` (full or 3-letter) case-insensitively; returns its index.
fn name<'v>(v: &'v str, names: &[&str], long: bool) -> Option<(usize, &'v str)> {
    let first = v.as_bytes().first()?.to_ascii_lowercase();
    names.iter().enumerate().find_map(|(i, n)| {
        if n.as_bytes()[0].to_ascii_lowercase() != first {
            return None;
        }
        let n = if long { *n } else { &n[..3] };
        let head = v.get(..n.len())?;
        head.eq_ignore_ascii_case(n).then(|| (i, &v[n.len()..]))
    })
}

/// Go's literal matching, where a run of layout spaces matches a run of value spaces.
fn skip<'v>(value: &'v str, lit: &str) -> Option<&'v str> {
    if lit.is_empty() {
        return Some(value);
    }
    // Byte by byte: a literal's bytes equal to the value's are whole characters of both, so
    // the value is cut at a character boundary.
    let (mut v, mut lit) = (value.as_bytes(), lit.as_bytes());
    while let Some(&c) = lit.first() {
        if c == b' ' {
            if v.first().is_some_and(|&b| b != b' ') {
                return None;
            }
            (lit, v) = (without_spaces(lit), without_spaces(v));
            continue;
        }
        if v.first() != Some(&c) {
            return None;
        }
        (v, lit) = (&v[1..], &lit[1..]);
    }
    value.get(value.len() - v.len()..)
}

/// `b` without its leading `' '` bytes (only spaces: Go's layout spaces match spaces).
fn without_spaces(b: &[u8]) -> &[u8] {
    &b[b.iter().take_while(|&&c| c == b' ').count()..]
}

/// Parses fractional digits `v` (without separator) into nanoseconds.
fn nanos(frac: &str) -> u32 {
    let mut n = 0u32;
    for (i, c) in frac.bytes().take(9).enumerate() {
        n += (c - b'0') as u32 * 10u32.pow(8 - i as u32);
    }
    n
}

/// A Go layout cut once into its literal runs and elements, for layouts parsed with again and
/// again ([`super::LAYOUTS`]): walking the layout text cost as much as reading the value.
#[derive(Debug, Clone)]
pub(crate) struct Layout(Vec<(&'static str, Option<Tok>)>);

impl Layout {
    pub(crate) fn new(layout: &'static str) -> Self {
        Layout(Chunks(Some(layout)).collect())
    }
}

/// A layout's chunks, cut as they are read: (literal before, element), the last with none.
#[derive(Clone)]
struct Chunks<'l>(Option<&'l str>);

impl<'l> Iterator for Chunks<'l> {
    type Item = (&'l str, Option<Tok>);

    fn next(&mut self) -> Option<Self::Item> {
        let (lit, tok, rest) = next_chunk(self.0?);
        self.0 = tok.map(|_| rest);
        Some((lit, tok))
    }
}

/// Parses `value` with a Go layout. Times without a zone are taken as UTC (CrowdSec uses the
/// local zone). Returns `None` where Go's `time.Parse` returns an error.
pub fn go_parse(value: &str, layout: &str) -> Option<DateTime<FixedOffset>> {
    parse_chunks(value, Chunks(Some(layout)))
}

/// [`go_parse`] with a layout cut beforehand.
pub(crate) fn go_parse_layout(value: &str, layout: &Layout) -> Option<DateTime<FixedOffset>> {
    parse_chunks(value, layout.0.iter().copied())
}

fn parse_chunks<'l, I>(value: &str, mut chunks: I) -> Option<DateTime<FixedOffset>>
where
    I: Iterator<Item = (&'l str, Option<Tok>)> + Clone,
{
    let (mut year, mut month, mut day) = (0i32, 1u32, 1u32);
    let (mut hour, mut min, mut sec, mut nsec) = (0u32, 0u32, 0u32, 0u32);
    let (mut pm, mut am, mut offset, mut zone) = (false, false, None::<i32>, None::<i32>);
    let mut v = value;
    while let Some((lit, tok)) = chunks.next() {
        v = skip(v, lit)?;
        let Some(tok) = tok else { break };
        match tok {
            Tok::LongYear => (year, v) = digits(v, 4).map(|(y, r)| (y as i32, r))?,
            Tok::Year => {
                let (y, r) = digits(v, 2)?;
                year = if y >= 69 {
                    1900 + y as i32
                } else {
                    2000 + y as i32
                };
                v = r;
            }
            Tok::LongMonth | Tok::Month => {
                let (m, r) = name(v, &MONTHS, tok == Tok::LongMonth)?;
                (month, v) = (m as u32 + 1, r);
            }
            Tok::NumMonth | Tok::ZeroMonth => {
                (month, v) = num(v, tok == Tok::ZeroMonth)?;
                if !(1..=12).contains(&month) {
                    return None;
                }
            }
            Tok::LongWeekDay | Tok::WeekDay => v = name(v, &DAYS, tok == Tok::LongWeekDay)?.1,
            Tok::Day | Tok::UnderDay | Tok::ZeroDay => {
                if tok == Tok::UnderDay {
                    v = v.strip_prefix(' ').unwrap_or(v);
                }
                (day, v) = num(v, tok == Tok::ZeroDay)?;
            }
            Tok::YearDay => v = digits(v, 3)?.1,
            Tok::Hour => (hour, v) = num(v, false)?,
            Tok::Hour12 | Tok::ZeroHour12 => {
                (hour, v) = num(v, tok == Tok::ZeroHour12)?;
                if hour > 12 {
                    return None;
                }
            }
            Tok::Minute | Tok::ZeroMinute => (min, v) = num(v, tok == Tok::ZeroMinute)?,
            Tok::Second | Tok::ZeroSecond => {
                (sec, v) = num(v, tok == Tok::ZeroSecond)?;
                let b = v.as_bytes();
                let next_is_frac = chunks
                    .clone()
                    .next()
                    .is_some_and(|(lit, t)| lit.is_empty() && matches!(t, Some(Tok::Frac(..))));
                if b.len() >= 2
                    && matches!(b[0], b'.' | b',')
                    && b[1].is_ascii_digit()
                    && !next_is_frac
                {
                    let n = 1 + b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                    nsec = nanos(&v[1..n]);
                    v = &v[n..];
                }
            }
            Tok::Frac(n, trim, _) => {
                let b = v.as_bytes();
                if trim {
                    if b.len() < 2 || !matches!(b[0], b'.' | b',') || !b[1].is_ascii_digit() {
                        continue;
                    }
                    let k = 1 + b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                    nsec = nanos(&v[1..k]);
                    v = &v[k..];
                } else {
                    if b.len() < n + 1 || !matches!(b[0], b'.' | b',') {
                        return None;
                    }
                    let d = v.get(1..=n)?;
                    if !d.bytes().all(|c| c.is_ascii_digit()) {
                        return None;
                    }
                    nsec = nanos(d);
                    v = &v[n + 1..];
                }
            }
            Tok::PM => {
                let p = v.get(..2)?;
                (pm, am) = (p == "PM", p == "AM");
                if !pm && !am {
                    return None;
                }
                v = &v[2..];
            }
            Tok::Pm => {
                let p = v.get(..2)?;
                (pm, am) = (p == "pm", p == "am");
                if !pm && !am {
                    return None;
                }
                v = &v[2..];
            }
            Tok::Offset(z, colon, secs, mins) => {
                if z && v.starts_with('Z') {
                    v = &v[1..];
                    offset = Some(0);
                    continue;
                }
                let sign = match v.as_bytes().first()? {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                let (h, mut r) = digits(&v[1..], 2)?;
                let (mut m, mut s) = (0, 0);
                if mins {
                    if colon {
                        r = r.strip_prefix(':')?;
                    }
                    (m, r) = digits(r, 2)?;
                }
                if secs {
                    if colon {
                        r = r.strip_prefix(':')?;
                    }
                    (s, r) = digits(r, 2)?;
                }
                v = r;
                offset = Some(sign * (h * 3600 + m * 60 + s) as i32);
            }
            Tok::Tz => {
                if v.len() >= 3 && v.starts_with("UTC") {
                    (v, zone) = (&v[3..], Some(0));
                    continue;
                }
                let n = zone_len(v)?;
                let (tz, r) = v.split_at(n);
                zone = Some(gmt_offset(tz).unwrap_or(0));
                v = r;
            }
        }
    }
    if !v.is_empty() || hour > 23 || min > 59 || sec > 59 {
        return None;
    }
    if pm && hour < 12 {
        hour += 12;
    } else if am && hour == 12 {
        hour = 0;
    }
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let naive = date.and_hms_nano_opt(hour, min, sec, nsec)?;
    let off = FixedOffset::east_opt(offset.or(zone).unwrap_or(0))?;
    off.from_local_datetime(&naive).single()
}

/// Length of a zone abbreviation at the start of `v` (Go's `parseTimeZone`, simplified).
fn zone_len(v: &str) -> Option<usize> {
    let b = v.as_bytes();
    if v.starts_with("GMT") {
        let sign = b.get(3).is_some_and(|c| matches!(c, b'+' | b'-'));
        if !sign {
            return Some(3);
        }
        let n = b[4..].iter().take_while(|c| c.is_ascii_digit()).count();
        return Some(if n == 0 { 3 } else { 4 + n });
    }
    let n = b.iter().take_while(|c| c.is_ascii_uppercase()).count();
    match n {
        3 | 5 => Some(n),
        4 if b[3] == b'T' => Some(4),
        _ => None,
    }
}

fn gmt_offset(zone: &str) -> Option<i32> {
    let rest = zone.strip_prefix("GMT")?;
    if rest.is_empty() {
        return Some(0);
    }
    let h: i32 = rest.parse().ok()?;
    Some(h * 3600)
}

fn pad(out: &mut String, n: u32, width: usize, fill: char) {
    let s = n.to_string();
    for _ in s.len()..width {
        out.push(fill);
    }
    out.push_str(&s);
}

/// Formats `t` with a Go layout, like `time.Time.Format`.
pub fn go_format(t: &DateTime<FixedOffset>, layout: &str) -> String {
    let mut out = String::with_capacity(layout.len() + 8);
    let mut layout = layout;
    let off = t.offset().local_minus_utc();
    loop {
        let (lit, tok, rest) = next_chunk(layout);
        out.push_str(lit);
        layout = rest;
        let Some(tok) = tok else { break };
        let h12 = match t.hour() % 12 {
            0 => 12,
            h => h,
        };
        match tok {
            Tok::LongMonth => out.push_str(MONTHS[t.month0() as usize]),
            Tok::Month => out.push_str(&MONTHS[t.month0() as usize][..3]),
            Tok::NumMonth => pad(&mut out, t.month(), 1, '0'),
            Tok::ZeroMonth => pad(&mut out, t.month(), 2, '0'),
            Tok::LongWeekDay => out.push_str(DAYS[t.weekday().num_days_from_sunday() as usize]),
            Tok::WeekDay => out.push_str(&DAYS[t.weekday().num_days_from_sunday() as usize][..3]),
            Tok::Day => pad(&mut out, t.day(), 1, '0'),
            Tok::UnderDay => pad(&mut out, t.day(), 2, ' '),
            Tok::ZeroDay => pad(&mut out, t.day(), 2, '0'),
            Tok::YearDay => pad(&mut out, t.ordinal(), 3, '0'),
            Tok::Hour => pad(&mut out, t.hour(), 2, '0'),
            Tok::Hour12 => pad(&mut out, h12, 1, '0'),
            Tok::ZeroHour12 => pad(&mut out, h12, 2, '0'),
            Tok::Minute => pad(&mut out, t.minute(), 1, '0'),
            Tok::ZeroMinute => pad(&mut out, t.minute(), 2, '0'),
            Tok::Second => pad(&mut out, t.second(), 1, '0'),
            Tok::ZeroSecond => pad(&mut out, t.second(), 2, '0'),
            Tok::LongYear => {
                if t.year() < 0 {
                    out.push('-');
                }
                pad(&mut out, t.year().unsigned_abs(), 4, '0');
            }
            Tok::Year => pad(&mut out, t.year().rem_euclid(100) as u32, 2, '0'),
            Tok::PM => out.push_str(if t.hour() >= 12 { "PM" } else { "AM" }),
            Tok::Pm => out.push_str(if t.hour() >= 12 { "pm" } else { "am" }),
            Tok::Tz => {
                if off == 0 {
                    out.push_str("UTC");
                } else {
                    let a = off.unsigned_abs() / 60;
                    out.push(if off < 0 { '-' } else { '+' });
                    pad(&mut out, a / 60, 2, '0');
                    pad(&mut out, a % 60, 2, '0');
                }
            }
            Tok::Offset(z, colon, secs, mins) => {
                if z && off == 0 {
                    out.push('Z');
                    continue;
                }
                let a = off.unsigned_abs();
                out.push(if off < 0 { '-' } else { '+' });
                pad(&mut out, a / 3600, 2, '0');
                if mins {
                    if colon {
                        out.push(':');
                    }
                    pad(&mut out, a / 60 % 60, 2, '0');
                }
                if secs {
                    if colon {
                        out.push(':');
                    }
                    pad(&mut out, a % 60, 2, '0');
                }
            }
            Tok::Frac(n, trim, sep) => {
                let mut digits = format!("{:09}", t.nanosecond() % 1_000_000_000);
                digits.truncate(n.min(9));
                if trim {
                    let d = digits.trim_end_matches('0');
                    if !d.is_empty() {
                        out.push(sep);
                        out.push_str(d);
                    }
                } else {
                    out.push(sep);
                    out.push_str(&digits);
                }
            }
        }
    }
    out
}
