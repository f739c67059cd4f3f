//! The binary event record (versions 3 and 2) and the borrowed view every version is read into.
//! The layout is in the parent module's documentation.

use super::{EVENT_JSON_VERSION, EVENT_VERSION, EventRecord};

/// Why a value of `hivewall.events` could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    /// The record has no value.
    #[error("event record without a value")]
    Empty,
    /// The first byte names no version this build reads.
    #[error("event record version {0} not supported (this build reads 1 to {EVENT_VERSION})")]
    Version(u32),
    /// A version 1 record is not the JSON of an event.
    #[error("event record (JSON): {0}")]
    Json(String),
    /// A binary record ends inside a field.
    #[error("event record truncated at byte {0}")]
    Truncated(usize),
    /// A string of a binary record is not UTF-8.
    #[error("event record: a string at byte {0} is not UTF-8")]
    Utf8(usize),
    /// A number of a binary record is out of range.
    #[error("event record: a number at byte {0} is out of range")]
    Number(usize),
    /// Bytes follow the body.
    #[error("event record: {0} bytes after the end")]
    Trailing(usize),
}

/// A time of an event: from a binary record, Unix time and the offset it was read in; from a
/// JSON record, its RFC 3339 text (the reader parses it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventTime<'a> {
    /// Seconds since the Unix epoch, nanoseconds, the UTC offset in seconds.
    Unix {
        /// Seconds since 1970-01-01T00:00:00Z.
        secs: i64,
        /// Nanoseconds within the second.
        nanos: u32,
        /// Offset from UTC of the zone the time was written in, in seconds.
        offset: i32,
    },
    /// RFC 3339 text (version 1).
    Rfc3339(&'a str),
}

/// An event (CrowdSec's `pipeline.Event` after the parsers, see [`EventRecord`] for the
/// fields), borrowed from a record or from the event being written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventBody<'a> {
    /// `Line.Raw`.
    pub raw: &'a str,
    /// `Line.Src`.
    pub src: &'a str,
    /// `Line.Module`.
    pub module: &'a str,
    /// `Line.Labels`.
    pub labels: Vec<(&'a str, &'a str)>,
    /// `Line.Time`.
    pub line_time: Option<EventTime<'a>>,
    /// `Line.Process`.
    pub line_process: bool,
    /// `ExpectMode`: 1 live, 2 time machine.
    pub expect_mode: u8,
    /// `Stage`.
    pub stage: &'a str,
    /// `Whitelisted`.
    pub whitelisted: bool,
    /// `Parsed`.
    pub parsed: Vec<(&'a str, &'a str)>,
    /// `Enriched`.
    pub enriched: Vec<(&'a str, &'a str)>,
    /// `Meta`.
    pub meta: Vec<(&'a str, &'a str)>,
    /// `Unmarshaled` as JSON object text (empty: nothing).
    pub unmarshaled: std::borrow::Cow<'a, str>,
    /// `Time`.
    pub time: Option<EventTime<'a>>,
    /// `StrTime`.
    pub str_time: &'a str,
    /// `StrTimeFormat`.
    pub str_time_format: &'a str,
    /// `MarshaledTime`.
    pub marshaled_time: &'a str,
    /// `Process`.
    pub process: bool,
}

/// A record of `hivewall.events` as read: where its line came from, its routes
/// (`(scenario, group)`), its event.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventRecordRef<'a> {
    /// The line's partition and offset on `hivewall.lines` and the record's index among the
    /// line's records ([`EventRecord::origin`]).
    pub origin: Option<(i32, i64, u32)>,
    /// `(scenario id, groupby value)` of the buckets that take the event.
    pub routes: Vec<(&'a str, &'a str)>,
    /// The event.
    pub body: EventBody<'a>,
}

fn put_uvar(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_ivar(out: &mut Vec<u8>, n: i64) {
    put_uvar(out, ((n << 1) ^ (n >> 63)) as u64);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_uvar(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// A string of a body: its length, then its bytes where they are `inline` (version 2); in
/// version 3 the bytes are in the body's text, written before.
fn put_field(out: &mut Vec<u8>, s: &str, inline: bool) {
    put_uvar(out, s.len() as u64);
    if inline {
        out.extend_from_slice(s.as_bytes());
    }
}

fn put_fields(out: &mut Vec<u8>, m: &[(&str, &str)], inline: bool) {
    put_uvar(out, m.len() as u64);
    for (k, v) in m {
        put_field(out, k, inline);
        put_field(out, v, inline);
    }
}

/// Calls `f` with each string of `body`, in the order [`write_body`] writes them.
fn each_str<'b>(body: &'b EventBody<'_>, mut f: impl FnMut(&'b str)) {
    let map = |m: &'b [(&str, &str)], f: &mut dyn FnMut(&'b str)| {
        for (k, v) in m {
            f(k);
            f(v);
        }
    };
    f(body.raw);
    f(body.src);
    f(body.module);
    map(&body.labels, &mut f);
    f(body.stage);
    map(&body.parsed, &mut f);
    map(&body.enriched, &mut f);
    map(&body.meta, &mut f);
    f(&body.unmarshaled);
    f(body.str_time);
    f(body.str_time_format);
    f(body.marshaled_time);
}

fn put_map(out: &mut Vec<u8>, m: &[(&str, &str)]) {
    put_uvar(out, m.len() as u64);
    for (k, v) in m {
        put_str(out, k);
        put_str(out, v);
    }
}

/// Writes a time; a version 1 text time cannot be written (the writer has Unix times).
fn put_time(out: &mut Vec<u8>, t: &EventTime<'_>) {
    if let EventTime::Unix {
        secs,
        nanos,
        offset,
    } = *t
    {
        put_ivar(out, secs);
        put_uvar(out, u64::from(nanos));
        put_ivar(out, i64::from(offset));
    }
}

fn is_unix(t: &Option<EventTime<'_>>) -> bool {
    matches!(t, Some(EventTime::Unix { .. }))
}

/// Appends the body of an event to `out` (version 3, see the module's layout): its text (every
/// string, one after the other), then its fields. Times given as text are left out (only
/// records read from version 1 have them).
pub fn encode_body(body: &EventBody<'_>, out: &mut Vec<u8>) {
    let mut text = 0;
    each_str(body, |s| text += s.len());
    out.reserve(text + 64);
    put_uvar(out, text as u64);
    each_str(body, |s| out.extend_from_slice(s.as_bytes()));
    write_body(body, out, false);
}

/// The body as version 2 wrote it (strings inline), for the tests that version 2 records
/// are still read.
#[cfg(test)]
pub(super) fn encode_body_v2(body: &EventBody<'_>, out: &mut Vec<u8>) {
    write_body(body, out, true);
}

/// The body's fields; strings `inline` (version 2) or as lengths only (version 3).
fn write_body(body: &EventBody<'_>, out: &mut Vec<u8>, inline: bool) {
    let flags = u8::from(body.line_process)
        | u8::from(body.whitelisted) << 1
        | u8::from(body.process) << 2
        | u8::from(is_unix(&body.line_time)) << 3
        | u8::from(is_unix(&body.time)) << 4;
    out.push(flags);
    out.push(body.expect_mode);
    put_field(out, body.raw, inline);
    put_field(out, body.src, inline);
    put_field(out, body.module, inline);
    put_fields(out, &body.labels, inline);
    if let Some(t) = body.line_time.as_ref().filter(|_| flags & 8 != 0) {
        put_time(out, t);
    }
    put_field(out, body.stage, inline);
    put_fields(out, &body.parsed, inline);
    put_fields(out, &body.enriched, inline);
    put_fields(out, &body.meta, inline);
    put_field(out, &body.unmarshaled, inline);
    if let Some(t) = body.time.as_ref().filter(|_| flags & 16 != 0) {
        put_time(out, t);
    }
    put_field(out, body.str_time, inline);
    put_field(out, body.str_time_format, inline);
    put_field(out, body.marshaled_time, inline);
}

/// Appends a whole record to `out`: the version, `origin`, `routes` (`(scenario, group)`) and
/// a body written by [`encode_body`].
pub fn encode_record(
    out: &mut Vec<u8>,
    origin: Option<(i32, i64, u32)>,
    routes: &[(&str, &str)],
    body: &[u8],
) {
    write_record(out, EVENT_VERSION as u8, origin, routes, body);
}

/// [`encode_record`] with a version 2 body ([`encode_body_v2`]).
#[cfg(test)]
pub(super) fn encode_record_v2(
    out: &mut Vec<u8>,
    origin: Option<(i32, i64, u32)>,
    routes: &[(&str, &str)],
    body: &[u8],
) {
    write_record(out, 2, origin, routes, body);
}

fn write_record(
    out: &mut Vec<u8>,
    version: u8,
    origin: Option<(i32, i64, u32)>,
    routes: &[(&str, &str)],
    body: &[u8],
) {
    out.reserve(body.len() + 16 + routes.len() * 48);
    out.push(version);
    match origin {
        None => out.push(0),
        Some((partition, offset, index)) => {
            out.push(1);
            put_ivar(out, i64::from(partition));
            put_ivar(out, offset);
            put_uvar(out, u64::from(index));
        }
    }
    put_map(out, routes);
    out.extend_from_slice(body);
}

/// A cursor over a binary record.
struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
    /// Version 3 body: its text (checked as UTF-8 once) and where the next string starts in
    /// it; `None` while strings are inline (the record's head, version 2).
    text: Option<(&'a str, usize)>,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, RecordError> {
        let b = *self
            .buf
            .get(self.at)
            .ok_or(RecordError::Truncated(self.at))?;
        self.at += 1;
        Ok(b)
    }

    #[inline]
    fn uvar(&mut self) -> Result<u64, RecordError> {
        // Most numbers (lengths, counts) are below 128: one byte.
        if let Some(&b) = self.buf.get(self.at)
            && b < 0x80
        {
            self.at += 1;
            return Ok(u64::from(b));
        }
        self.uvar_long()
    }

    fn uvar_long(&mut self) -> Result<u64, RecordError> {
        let start = self.at;
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(RecordError::Number(start))
    }

    fn ivar(&mut self) -> Result<i64, RecordError> {
        let z = self.uvar()?;
        Ok((z >> 1) as i64 ^ -((z & 1) as i64))
    }

    fn narrow<T: TryFrom<i64>>(&mut self) -> Result<T, RecordError> {
        let start = self.at;
        T::try_from(self.ivar()?).map_err(|_| RecordError::Number(start))
    }

    fn len(&mut self) -> Result<usize, RecordError> {
        let start = self.at;
        let n = self.uvar()?;
        // A length or count can never exceed the bytes left (each item is at least a byte).
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= self.buf.len() - self.at)
            .ok_or(RecordError::Truncated(start))
    }

    fn str(&mut self) -> Result<&'a str, RecordError> {
        if let Some((text, from)) = self.text {
            let start = self.at;
            let n = usize::try_from(self.uvar()?).map_err(|_| RecordError::Number(start))?;
            let end = from
                .checked_add(n)
                .filter(|end| *end <= text.len())
                .ok_or(RecordError::Truncated(start))?;
            let s = text.get(from..end).ok_or(RecordError::Utf8(start))?;
            self.text = Some((text, end));
            return Ok(s);
        }
        let n = self.len()?;
        let start = self.at;
        let bytes = &self.buf[start..start + n];
        self.at += n;
        std::str::from_utf8(bytes).map_err(|_| RecordError::Utf8(start))
    }

    fn map(&mut self) -> Result<Vec<(&'a str, &'a str)>, RecordError> {
        let n = self.len()?;
        let mut m = Vec::with_capacity(n);
        for _ in 0..n {
            m.push((self.str()?, self.str()?));
        }
        Ok(m)
    }

    fn time(&mut self) -> Result<EventTime<'a>, RecordError> {
        let secs = self.ivar()?;
        let start = self.at;
        let nanos = u32::try_from(self.uvar()?).map_err(|_| RecordError::Number(start))?;
        let offset = self.narrow::<i32>()?;
        Ok(EventTime::Unix {
            secs,
            nanos,
            offset,
        })
    }

    /// A version 3 body: its text, checked as UTF-8 in one pass (per string, the check cost
    /// more than all the rest of a record's decoding), then its fields.
    fn body_v3(&mut self) -> Result<EventBody<'a>, RecordError> {
        let n = self.len()?;
        let start = self.at;
        let text = std::str::from_utf8(&self.buf[start..start + n])
            .map_err(|e| RecordError::Utf8(start + e.valid_up_to()))?;
        self.at += n;
        self.text = Some((text, 0));
        let body = self.body()?;
        match self.text.take() {
            Some((text, end)) if end != text.len() => Err(RecordError::Trailing(text.len() - end)),
            _ => Ok(body),
        }
    }

    fn body(&mut self) -> Result<EventBody<'a>, RecordError> {
        let flags = self.byte()?;
        let expect_mode = self.byte()?;
        let raw = self.str()?;
        let src = self.str()?;
        let module = self.str()?;
        let labels = self.map()?;
        let line_time = if flags & 8 != 0 {
            Some(self.time()?)
        } else {
            None
        };
        let stage = self.str()?;
        let parsed = self.map()?;
        let enriched = self.map()?;
        let meta = self.map()?;
        let unmarshaled = self.str()?.into();
        let time = if flags & 16 != 0 {
            Some(self.time()?)
        } else {
            None
        };
        Ok(EventBody {
            raw,
            src,
            module,
            labels,
            line_time,
            line_process: flags & 1 != 0,
            expect_mode,
            stage,
            whitelisted: flags & 2 != 0,
            parsed,
            enriched,
            meta,
            unmarshaled,
            time,
            str_time: self.str()?,
            str_time_format: self.str()?,
            marshaled_time: self.str()?,
            process: flags & 4 != 0,
        })
    }
}

/// Reads a value of `hivewall.events`, binary or JSON. A JSON record is parsed into `json`
/// and the view borrows from it.
pub fn decode_event<'a>(
    value: Option<&'a [u8]>,
    json: &'a mut Option<EventRecord>,
) -> Result<EventRecordRef<'a>, RecordError> {
    let value = value.filter(|v| !v.is_empty()).ok_or(RecordError::Empty)?;
    match value[0] {
        version @ (2 | 3) => {
            let mut r = Reader {
                buf: value,
                at: 1,
                text: None,
            };
            let origin = match r.byte()? {
                0 => None,
                1 => Some((r.narrow::<i32>()?, r.ivar()?, {
                    let start = r.at;
                    u32::try_from(r.uvar()?).map_err(|_| RecordError::Number(start))?
                })),
                _ => return Err(RecordError::Number(r.at - 1)),
            };
            let routes = r.map()?;
            let body = if version == 3 {
                r.body_v3()?
            } else {
                r.body()?
            };
            if r.at != value.len() {
                return Err(RecordError::Trailing(value.len() - r.at));
            }
            Ok(EventRecordRef {
                origin,
                routes,
                body,
            })
        }
        b'{' | b' ' | b'\t' | b'\r' | b'\n' => {
            let rec: EventRecord =
                serde_json::from_slice(value).map_err(|e| RecordError::Json(e.to_string()))?;
            if rec.v != EVENT_JSON_VERSION {
                return Err(RecordError::Version(rec.v));
            }
            Ok(json.insert(rec).view())
        }
        other => Err(RecordError::Version(u32::from(other))),
    }
}

fn text(t: &Option<String>) -> Option<EventTime<'_>> {
    t.as_deref().map(EventTime::Rfc3339)
}

fn pairs(m: &std::collections::BTreeMap<String, String>) -> Vec<(&str, &str)> {
    m.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

impl EventRecord {
    /// The record as the view both versions are read into.
    pub fn view(&self) -> EventRecordRef<'_> {
        EventRecordRef {
            origin: self.origin,
            routes: self
                .routes
                .iter()
                .map(|r| (r.scenario.as_str(), r.group.as_str()))
                .collect(),
            body: EventBody {
                raw: &self.line.raw,
                src: &self.line.src,
                module: &self.line.module,
                labels: pairs(&self.line.labels),
                line_time: text(&self.line.time),
                line_process: self.line_process,
                expect_mode: self.expect_mode,
                stage: &self.stage,
                whitelisted: self.whitelisted,
                parsed: pairs(&self.parsed),
                enriched: pairs(&self.enriched),
                meta: pairs(&self.meta),
                unmarshaled: if self.unmarshaled.is_empty() {
                    "".into()
                } else {
                    serde_json::Value::Object(self.unmarshaled.clone())
                        .to_string()
                        .into()
                },
                time: text(&self.time),
                str_time: &self.str_time,
                str_time_format: &self.str_time_format,
                marshaled_time: &self.marshaled_time,
                process: self.process,
            },
        }
    }
}
