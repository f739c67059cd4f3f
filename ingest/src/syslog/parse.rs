//! RFC 3164 and RFC 5424 messages, read as CrowdSec's syslog datasource reads them, and the
//! line it rebuilds from them (`Jan 2 15:04:05 host program[pid]: message`) so that the
//! `syslog-logs` parser reads syslog input like a file written by a local syslog daemon.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Utc};

/// The parts of a syslog message a line is rebuilt from.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Parsed {
    pub timestamp: Option<DateTime<FixedOffset>>,
    pub hostname: String,
    pub tag: String,
    pub pid: String,
    pub message: String,
}

type R<T> = Result<T, &'static str>;

/// The line CrowdSec would emit for `msg` (RFC 3164 tried first, then RFC 5424), or why
/// neither parser accepted it. With `strip_only`, only the `<PRI>` is removed
/// (`disable_rfc_parser`).
pub(crate) fn to_line(msg: &[u8], strip_only: bool, now: DateTime<Utc>) -> Result<String, String> {
    if strip_only {
        let rest = strip_pri(msg).map_err(str::to_string)?;
        let s = String::from_utf8_lossy(rest);
        return Ok(s.strip_suffix('\n').unwrap_or(&s).to_string());
    }
    let parsed = match parse_3164(msg, now.year()) {
        Ok(p) => p,
        Err(e3164) => parse_5424(msg, now).map_err(|e5424| {
            format!("unrecognized syslog message (rfc3164: {e3164}; rfc5424: {e5424})")
        })?,
    };
    let line = build_line(&parsed, now);
    Ok(line.strip_suffix('\n').unwrap_or(&line).to_string())
}

/// CrowdSec's `buildLogFromSyslog`.
pub(crate) fn build_line(p: &Parsed, now: DateTime<Utc>) -> String {
    let mut s = match &p.timestamp {
        Some(t) => t.format("%b %-d %H:%M:%S").to_string(),
        None => now.format("%b %-d %H:%M:%S").to_string(),
    };
    s.push(' ');
    s.push_str(if p.hostname.is_empty() {
        "unknownhost"
    } else {
        &p.hostname
    });
    if !p.tag.is_empty() {
        s.push(' ');
        s.push_str(&p.tag);
    }
    if p.pid.is_empty() {
        s.push_str(": ");
    } else {
        s.push('[');
        s.push_str(&p.pid);
        s.push_str("]: ");
    }
    s.push_str(&p.message);
    s
}

fn strip_pri(msg: &[u8]) -> R<&[u8]> {
    if msg.len() < 3 {
        return Err("message too short");
    }
    if msg[0] != b'<' {
        return Err("missing PRI beginning");
    }
    let end = msg
        .iter()
        .position(|b| *b == b'>')
        .ok_or("missing PRI end")?;
    if end > 4 {
        return Err("PRI too long");
    }
    if !msg[1..end].iter().all(u8::is_ascii_digit) {
        return Err("PRI not a number");
    }
    Ok(&msg[end + 1..])
}

/// `<PRI>` at the start of `b`; returns the position after it.
fn parse_pri(b: &[u8]) -> R<usize> {
    if b.first() != Some(&b'<') {
        return Err("PRI must start with '<'");
    }
    let mut pos = 1;
    let mut pri: u32 = 0;
    while pos < b.len() {
        let c = b[pos];
        if c == b'>' {
            pos += 1;
            break;
        }
        if !c.is_ascii_digit() {
            return Err("PRI must be a number");
        }
        pri = pri.saturating_mul(10).saturating_add(u32::from(c - b'0'));
        pos += 1;
    }
    if pri > 999 {
        return Err("PRI must be up to 3 characters long");
    }
    if pos == b.len() && b[pos - 1] != b'>' {
        return Err("PRI must end with '>'");
    }
    Ok(pos)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Reads bytes up to a space (the space is consumed).
fn word(b: &[u8], pos: &mut usize) -> Vec<u8> {
    let mut w = Vec::new();
    while *pos < b.len() {
        let c = b[*pos];
        *pos += 1;
        if c == b' ' {
            break;
        }
        w.push(c);
    }
    w
}

/// RFC 3164 (BSD syslog), with CrowdSec's lenient timestamps and current-year default.
pub(crate) fn parse_3164(b: &[u8], year: i32) -> R<Parsed> {
    if b.is_empty() {
        return Err("message is empty");
    }
    let mut pos = parse_pri(b)?;
    let (timestamp, len) = bsd_timestamp(&b[pos..], year).ok_or("timestamp is not valid")?;
    pos += len + 1;
    let hostname = word(b, &mut pos);
    if hostname.is_empty() {
        return Err("hostname is empty");
    }
    let tag_start = pos;
    while pos < b.len() && b[pos].is_ascii_alphanumeric() {
        pos += 1;
    }
    if pos == tag_start {
        return Err("tag is empty");
    }
    let tag = text(&b[tag_start..pos]);
    let mut pid = String::new();
    if pos < b.len() && b[pos] == b'[' {
        pos += 1;
        let start = pos;
        let mut closed = false;
        while pos < b.len() {
            let c = b[pos];
            if c == b']' {
                closed = true;
                break;
            }
            if !c.is_ascii_digit() {
                return Err("pid inside tag must be a number");
            }
            pos += 1;
        }
        if !closed {
            return Err("pid inside tag must be closed with ']'");
        }
        pid = text(&b[start..pos]);
        pos += 1;
    }
    if pos >= b.len() {
        return Err("message is empty");
    }
    if b[pos] == b':' {
        pos += 1;
    }
    while pos < b.len() && b[pos] == b' ' {
        pos += 1;
    }
    if pos >= b.len() {
        return Err("message is empty");
    }
    Ok(Parsed {
        timestamp: Some(timestamp),
        hostname: text(&hostname),
        tag,
        pid,
        message: text(&b[pos..]),
    })
}

/// CrowdSec's timestamp layouts, in its order: RFC 3339 (25 characters), `Jan 02 15:04:05
/// 2006`, `Jan _2 15:04:05 2006`, `Jan 02 15:04:05`, `Jan _2 15:04:05`. Returns the time and
/// how many bytes it took.
fn bsd_timestamp(b: &[u8], year: i32) -> Option<(DateTime<FixedOffset>, usize)> {
    if let Some(s) = b.get(..25).and_then(|s| std::str::from_utf8(s).ok())
        && let Ok(t) = DateTime::parse_from_rfc3339(s)
    {
        return Some((t, 25));
    }
    let month = |m: &[u8]| -> Option<u32> {
        const NAMES: [&[u8]; 12] = [
            b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
            b"dec",
        ];
        let m = m.to_ascii_lowercase();
        NAMES
            .iter()
            .position(|n| *n == m.as_slice())
            .map(|i| i as u32 + 1)
    };
    let num = |s: &[u8]| -> Option<u32> {
        if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(s).ok()?.parse().ok()
    };
    let head = b.get(..15)?;
    let mon = month(&head[..3])?;
    if head[3] != b' ' || head[6] != b' ' || head[9] != b':' || head[12] != b':' {
        return None;
    }
    let day = match &head[4..6] {
        [b' ', d] => num(&[*d])?,
        d => num(d)?,
    };
    let (h, mi, s) = (num(&head[7..9])?, num(&head[10..12])?, num(&head[13..15])?);
    let with_year = b
        .get(15..20)
        .filter(|y| y[0] == b' ')
        .and_then(|y| num(&y[1..]));
    let (y, len) = match with_year {
        Some(y) => (i32::try_from(y).ok()?, 20),
        None => (year, 15),
    };
    let date = NaiveDate::from_ymd_opt(y, mon, day)?.and_hms_opt(h, mi, s)?;
    let utc = FixedOffset::east_opt(0)?;
    Some((utc.from_utc_datetime(&date), len))
}

/// RFC 5424, as CrowdSec's parser reads it.
pub(crate) fn parse_5424(b: &[u8], now: DateTime<Utc>) -> R<Parsed> {
    if b.is_empty() {
        return Err("syslog line is empty");
    }
    let mut p = Parsed::default();
    let mut pos = parse_pri(b)?;
    if pos >= b.len() {
        return Err("EOL after PRI");
    }
    if b[pos] != b'1' {
        return Err("version must be 1");
    }
    pos += 2;
    if pos >= b.len() {
        return Err("version must be followed by a space");
    }
    if b[pos] == b'-' {
        p.timestamp = Some(now.fixed_offset());
        pos += 2;
    } else {
        let ts = word(b, &mut pos);
        if pos >= b.len() {
            return Err("EOL after timestamp");
        }
        let ts = std::str::from_utf8(&ts).map_err(|_| "timestamp is not valid")?;
        p.timestamp = Some(DateTime::parse_from_rfc3339(ts).map_err(|_| "timestamp is not valid")?);
    }
    let field = |pos: &mut usize, max: usize, what: &'static str| -> R<String> {
        if *pos >= b.len() {
            return Err(what);
        }
        if b[*pos] == b'-' {
            *pos += 2;
            return Ok(String::new());
        }
        let w = word(b, pos);
        if w.is_empty() || w.len() > max {
            return Err(what);
        }
        Ok(text(&w))
    };
    p.hostname = field(&mut pos, usize::MAX, "hostname is empty")?;
    p.tag = field(&mut pos, 48, "bad appname")?;
    p.pid = field(&mut pos, 128, "bad procid")?;
    let _msgid = field(&mut pos, 32, "bad msgid")?;
    if pos >= b.len() {
        return Err("EOL after MSGID");
    }
    if b[pos] == b'-' {
        pos += 2;
    } else if b[pos] != b'[' {
        return Err("structured data must start with '[' or be '-'");
    } else {
        let mut done = false;
        let mut prev = 0u8;
        while pos < b.len() {
            done = false;
            let c = b[pos];
            if c == b']' && prev != b'\\' {
                done = true;
                pos += 1;
                if pos < b.len() && b[pos] == b' ' {
                    break;
                }
            }
            prev = c;
            pos += 1;
        }
        pos += 1;
        if !done {
            return Err("structured data must end with ']'");
        }
    }
    if pos >= b.len() {
        return Err("EOL after SD");
    }
    p.message = text(&b[pos..]);
    Ok(p)
}
