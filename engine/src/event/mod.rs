//! The event model: what a line becomes as it goes through parser stages.
//!
//! Field names and zero values follow CrowdSec's `pipeline.Event`, because hub files read them
//! by name (`evt.Parsed.program`, `evt.Line.Labels.type`, `evt.StrTime`) and hub tests compare
//! dumps of them.

mod dump;
mod object;
mod record;
mod strmap;
mod unmarshaled;
mod writes;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use chrono::{DateTime, FixedOffset};

pub use dump::{event_to_json, go_time_string};
pub(crate) use object::{EVENT_FIELDS, ip_sources};
pub(crate) use object::{MapKind, TextField};
pub use object::{compiler, resolve_field};
pub use record::{BodyCache, RecordError};
pub use strmap::StrMap;
pub use unmarshaled::{STORE_METHOD, Unmarshaled};
pub use writes::{PendingWrites, Write, WriteTarget};

/// Whether an event is a log line or a bucket overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EventType {
    /// A parsed log line (Go `types.LOG`, 0).
    #[default]
    Log,
    /// An overflow produced by a scenario (Go `types.OVFLW`, 1).
    Overflow,
}

/// How time is taken: from the log (replay, "time machine") or from arrival (live).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExpectMode {
    /// Live processing (Go `types.LIVE`, 1).
    #[default]
    Live,
    /// Replay of old logs: the parsed timestamp becomes the event time (Go `TIMEMACHINE`, 2).
    TimeMachine,
}

/// The line as acquisition read it (Go `types.Line`).
#[derive(Debug, Clone, Default)]
pub struct Line {
    /// The raw text.
    pub raw: String,
    /// Source: a file path, a socket address, `stdin`.
    pub src: Arc<str>,
    /// When acquisition read it.
    pub time: Option<DateTime<FixedOffset>>,
    /// Labels of the acquisition (`type` chief among them), shared by all lines of a source.
    pub labels: Arc<StrMap>,
    /// The acquisition module (`file`, `syslog`, ...).
    pub module: Arc<str>,
    /// Go's `Line.Process` flag.
    pub process: bool,
}

/// One event (Go `pipeline.Event`).
#[derive(Debug, Clone, Default)]
pub struct Event {
    /// Log or overflow.
    pub kind: EventType,
    /// Live or time machine.
    pub expect_mode: ExpectMode,
    /// Set by a whitelist.
    pub whitelisted: bool,
    /// The reason of the whitelist that matched.
    pub whitelist_reason: String,
    /// The parser stage the event is at (`s00-raw`, ...).
    pub stage: Arc<str>,
    /// The original line.
    pub line: Line,
    /// Output of groks and `parsed:` statics.
    pub parsed: StrMap,
    /// Output of enrichers.
    pub enriched: StrMap,
    /// Output of `UnmarshalJSON` / `ParseKV`.
    pub unmarshaled: Unmarshaled,
    /// The event's time: the parsed timestamp in time-machine mode, arrival time otherwise.
    pub time: Option<DateTime<FixedOffset>>,
    /// The timestamp text a parser extracted.
    pub str_time: String,
    /// A Go layout to parse `str_time` with, when a parser knows it.
    pub str_time_format: String,
    /// The parsed time serialized (RFC 3339 nano).
    pub marshaled_time: String,
    /// Whether the event made it through all stages.
    pub process: bool,
    /// Normalized fields that reach alerts and the API.
    pub meta: StrMap,
    /// The overflow this event carries (Go `Event.Overflow`), for overflow events.
    pub overflow: Option<Box<crate::bucket::RuntimeAlert>>,
    /// Writes asked for by `evt.SetMeta(..)` / `evt.SetParsed(..)` in an expression and not yet
    /// applied (see [`Event::apply_writes`]).
    pub writes: PendingWrites,
}

impl Event {
    /// A fresh log event for `line`, as acquisition makes it.
    pub fn from_line(line: Line, expect_mode: ExpectMode) -> Self {
        // Every field named: `..Event::default()` would build (and drop) a default line.
        Event {
            kind: EventType::Log,
            expect_mode,
            whitelisted: false,
            whitelist_reason: String::new(),
            stage: empty_name(),
            line,
            parsed: StrMap::default(),
            enriched: StrMap::default(),
            unmarshaled: Unmarshaled::default(),
            time: None,
            str_time: String::new(),
            str_time_format: String::new(),
            marshaled_time: String::new(),
            process: true,
            meta: StrMap::default(),
            overflow: None,
            writes: PendingWrites::default(),
        }
    }

    /// Go's `Event.GetMeta`: the meta value or `""`.
    pub fn get_meta(&self, key: &str) -> &str {
        self.meta.get_or_empty(key)
    }

    /// Applies the writes that expressions evaluated on this event asked for
    /// (`evt.SetMeta(k, v)`, `evt.SetParsed(k, v)`), in order. Costs one atomic load when there
    /// are none; call it after evaluating an expression where CrowdSec lets it mutate the event.
    #[inline]
    pub fn apply_writes(&mut self) {
        if self.writes.is_dirty() {
            writes::apply(self.writes.take(), &mut self.meta, &mut self.parsed);
        }
    }
}

/// Where lines come from: what every line of one source shares (its path or address, the
/// acquisition module, the labels). Makes the events of a replay or a live source.
#[derive(Debug, Clone)]
pub struct Acquisition {
    /// `Line.Src`.
    pub src: Arc<str>,
    /// `Line.Module` (`file`, `syslog`...).
    pub module: Arc<str>,
    /// `Line.Labels`, `type` among them.
    pub labels: Arc<StrMap>,
}

impl Acquisition {
    /// A source of `module` at `src` labelled with `type = log_type` and `labels`.
    pub fn new<'a>(
        src: &str,
        module: &str,
        log_type: &str,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        let mut map: StrMap = labels.into_iter().collect();
        map.insert("type", log_type);
        Acquisition {
            src: Arc::from(src),
            module: Arc::from(module),
            labels: Arc::new(map),
        }
    }

    /// A copy that shares no reference count with `self`: threads making events of one source
    /// each use their own, so that counting the references of every line's labels does not
    /// move one cache line between cores.
    pub fn detached(&self) -> Self {
        Acquisition {
            src: Arc::from(&*self.src),
            module: Arc::from(&*self.module),
            labels: Arc::new((*self.labels).clone()),
        }
    }

    /// The line `raw` as this source read it.
    pub fn line(&self, raw: String) -> Line {
        // Every field named: `..Line::default()` would build (and drop) a default labels map
        // and two default names per line.
        Line {
            raw,
            src: self.src.clone(),
            time: None,
            labels: self.labels.clone(),
            module: self.module.clone(),
            process: false,
        }
    }

    /// A fresh event for `raw` in `mode`.
    pub fn event(&self, raw: String, mode: ExpectMode) -> Event {
        Event::from_line(self.line(raw), mode)
    }

    /// Makes `evt` (any event done with) what [`Self::event`] of `raw` makes, in its own
    /// memory: its maps keep their slots as spares ([`StrMap::clear`]), its texts their
    /// allocations, and its source's names are not counted again when they are this
    /// source's. A stream of events then allocates nothing per line for the event itself.
    pub fn refill(&self, evt: &mut Event, raw: &str, mode: ExpectMode) {
        // Every field named, so that a field added to `Event` or `Line` must be reset here.
        let Event {
            kind,
            expect_mode,
            whitelisted,
            whitelist_reason,
            stage,
            line,
            parsed,
            enriched,
            unmarshaled,
            time,
            str_time,
            str_time_format,
            marshaled_time,
            process,
            meta,
            overflow,
            writes,
        } = evt;
        let Line {
            raw: text,
            src,
            time: read_at,
            labels,
            module,
            process: line_process,
        } = line;
        *kind = EventType::Log;
        *expect_mode = mode;
        *whitelisted = false;
        whitelist_reason.clear();
        if !stage.is_empty() {
            *stage = empty_name();
        }
        text.clear();
        text.push_str(raw);
        if !Arc::ptr_eq(src, &self.src) {
            *src = Arc::clone(&self.src);
        }
        *read_at = None;
        if !Arc::ptr_eq(labels, &self.labels) {
            *labels = Arc::clone(&self.labels);
        }
        if !Arc::ptr_eq(module, &self.module) {
            *module = Arc::clone(&self.module);
        }
        *line_process = false;
        parsed.clear();
        enriched.clear();
        meta.clear();
        *unmarshaled = Unmarshaled::default();
        *time = None;
        str_time.clear();
        str_time_format.clear();
        marshaled_time.clear();
        *process = true;
        *overflow = None;
        *writes = PendingWrites::default();
    }
}

thread_local! {
    /// An empty name of this thread: `Arc::<str>::default()` counts the references of one
    /// static shared by every thread, a cache line that events made on several cores would
    /// pass back and forth.
    static EMPTY_NAME: Arc<str> = Arc::from("");
}

/// The empty stage name of a refilled event.
fn empty_name() -> Arc<str> {
    EMPTY_NAME.with(Arc::clone)
}
