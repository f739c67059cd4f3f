//! How expressions see events: `evt.Parsed.program`, `evt.Line.Labels.type`, `evt.GetMeta("k")`.

use std::borrow::Cow;

use crate::expr::{FieldKey, Object, Value};

use super::dump::{go_zero_time, time_or_zero};
use super::{Event, EventType, ExpectMode, Line, StrMap, WriteTarget};

/// The fields of hivewall's events, as CrowdSec's `Event` names them.
pub(crate) const EVENT_FIELDS: &[&str] = &[
    "Type",
    "ExpectMode",
    "Whitelisted",
    "WhitelistReason",
    "Stage",
    "Line",
    "Parsed",
    "Enriched",
    "Unmarshaled",
    "Overflow",
    "Time",
    "StrTime",
    "StrTimeFormat",
    "MarshaledTime",
    "Process",
    "Meta",
];

impl Object for Event {
    fn type_name(&self) -> &'static str {
        "*types.Event"
    }

    fn member(&self, name: &str) -> Option<Value<'_>> {
        Some(match name {
            "Parsed" => Value::Obj(&self.parsed),
            "Meta" => Value::Obj(&self.meta),
            "Enriched" => Value::Obj(&self.enriched),
            "Line" => Value::Obj(&self.line),
            "Unmarshaled" => Value::Obj(&self.unmarshaled),
            "StrTime" => Value::str(&self.str_time),
            "StrTimeFormat" => Value::str(&self.str_time_format),
            "MarshaledTime" => Value::str(&self.marshaled_time),
            "Stage" => Value::str(&self.stage),
            "Whitelisted" => Value::Bool(self.whitelisted),
            "WhitelistReason" => Value::str(&self.whitelist_reason),
            "Process" => Value::Bool(self.process),
            "Time" => Value::Time(time_or_zero(self.time)),
            "Type" => Value::Int(match self.kind {
                EventType::Log => 0,
                EventType::Overflow => 1,
            }),
            "ExpectMode" => Value::Int(match self.expect_mode {
                ExpectMode::Live => 1,
                ExpectMode::TimeMachine => 2,
            }),
            "Overflow" => match &self.overflow {
                Some(o) => Value::Obj(&**o),
                None => Value::Obj(&crate::bucket::EMPTY_RUNTIME_ALERT),
            },
            _ => return None,
        })
    }

    fn field(&self, code: u32, key: &FieldKey) -> Option<Value<'_>> {
        self.field_str(code, key).map(Value::str)
    }

    #[inline]
    fn field_str(&self, code: u32, key: &FieldKey) -> Option<&str> {
        Sources {
            parsed: Some(&self.parsed),
            meta: Some(&self.meta),
            enriched: Some(&self.enriched),
            line: &self.line,
            str_time: Some(&self.str_time),
            marshaled_time: Some(&self.marshaled_time),
        }
        .read(code, key)
    }

    fn keys(&self) -> Vec<Cow<'_, str>> {
        EVENT_FIELDS.iter().map(|f| Cow::Borrowed(*f)).collect()
    }

    fn call_method(&self, name: &str, args: &[Value<'_>]) -> Option<Result<Value<'_>, String>> {
        Some(match (name, args) {
            ("GetMeta", [Value::Str(k)]) => Ok(match self.writes.latest(WriteTarget::Meta, k) {
                Some(v) => Value::string(v),
                None => Value::str(self.get_meta(k)),
            }),
            ("GetMeta", _) => Err("GetMeta takes one string".into()),
            ("GetType", []) => Ok(Value::str(match self.kind {
                EventType::Log => "log",
                EventType::Overflow => "overflow",
            })),
            ("ParseIPSources", []) => Ok(ip_sources(self.meta.get("source_ip"))),
            ("SetMeta", [Value::Str(k), Value::Str(v)]) => {
                self.writes.push(WriteTarget::Meta, k, v);
                Ok(Value::Bool(true))
            }
            ("SetParsed", [Value::Str(k), Value::Str(v)]) => {
                self.writes.push(WriteTarget::Parsed, k, v);
                Ok(Value::Bool(true))
            }
            ("SetMeta" | "SetParsed", args) => Err(format!(
                "{name} takes two strings, got ({})",
                args.iter()
                    .map(Value::type_name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            _ => return None,
        })
    }

    fn to_value(&self) -> Value<'_> {
        Value::Map(
            EVENT_FIELDS
                .iter()
                .filter_map(|f| self.member(f).map(|v| (f.to_string(), v)))
                .collect(),
        )
    }
}

impl Object for Line {
    fn type_name(&self) -> &'static str {
        "types.Line"
    }

    fn member(&self, name: &str) -> Option<Value<'_>> {
        Some(match name {
            "Raw" => Value::str(&self.raw),
            "Src" => Value::str(&self.src),
            "Module" => Value::str(&self.module),
            "Labels" => Value::Obj(&*self.labels),
            "Process" => Value::Bool(self.process),
            "Time" => Value::Time(self.time.unwrap_or_else(go_zero_time)),
            _ => return None,
        })
    }

    fn keys(&self) -> Vec<Cow<'_, str>> {
        ["Raw", "Src", "Time", "Labels", "Process", "Module"]
            .iter()
            .map(|f| Cow::Borrowed(*f))
            .collect()
    }

    fn to_value(&self) -> Value<'_> {
        Value::Map(
            ["Raw", "Src", "Time", "Labels", "Process", "Module"]
                .iter()
                .filter_map(|f| self.member(f).map(|v| (f.to_string(), v)))
                .collect(),
        )
    }
}

/// Go's `Event.ParseIPSources` for a log event: `Meta.source_ip` when it is an address.
pub(crate) fn ip_sources(source_ip: Option<&str>) -> Value<'_> {
    Value::List(
        source_ip
            .filter(|ip| ip.parse::<std::net::IpAddr>().is_ok())
            .map(|ip| vec![Value::str(ip)])
            .unwrap_or_default(),
    )
}

/// A compiler for expressions over `vars`, whose `evt` (when one of them) is an [`Event`]:
/// its member chains are resolved with [`resolve_field`].
pub fn compiler(
    functions: std::sync::Arc<crate::expr::functions::Functions>,
    vars: &[&str],
) -> crate::expr::Compiler {
    crate::expr::Compiler::new(functions, vars).with_fields("evt", resolve_field)
}

/// One of an event's three writable string maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MapKind {
    /// `evt.Parsed`.
    Parsed,
    /// `evt.Meta`.
    Meta,
    /// `evt.Enriched`.
    Enriched,
}

impl Event {
    /// The resolved field `code`/`key` ([`resolve_field`]) to read and the map `dst` to write,
    /// borrowed at once. The field is `None` when it is a key of `dst` itself or a code this
    /// event does not answer (read it through an expression then).
    #[inline]
    pub(crate) fn field_and_map(
        &mut self,
        code: u32,
        key: &FieldKey,
        dst: MapKind,
    ) -> (Option<&str>, &mut StrMap) {
        let Event {
            parsed,
            meta,
            enriched,
            line,
            str_time,
            marshaled_time,
            ..
        } = self;
        let (target, parsed, meta, enriched) = match dst {
            MapKind::Parsed => (parsed, None, Some(&*meta), Some(&*enriched)),
            MapKind::Meta => (meta, Some(&*parsed), None, Some(&*enriched)),
            MapKind::Enriched => (enriched, Some(&*parsed), Some(&*meta), None),
        };
        let value = Sources {
            parsed,
            meta,
            enriched,
            line,
            str_time: Some(str_time),
            marshaled_time: Some(marshaled_time),
        }
        .read(code, key);
        (value, target)
    }
}

/// One of an event's string fields that a static's `target:` may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextField {
    /// `evt.StrTime`.
    StrTime,
    /// `evt.StrTimeFormat`.
    StrTimeFormat,
    /// `evt.MarshaledTime`.
    MarshaledTime,
    /// `evt.WhitelistReason`.
    WhitelistReason,
}

impl Event {
    /// What a static `target: <dst>` whose expression is the resolved field `code`/`key` does,
    /// without an evaluation: `dst` takes the field's value, unless that is empty (a static
    /// writes nothing then), in the buffer it already has. False when the event does not
    /// answer `code` (the static is evaluated then).
    #[inline]
    pub(crate) fn copy_field_to(&mut self, code: u32, key: &FieldKey, dst: TextField) -> bool {
        let Event {
            parsed,
            meta,
            enriched,
            line,
            str_time,
            str_time_format,
            marshaled_time,
            whitelist_reason,
            ..
        } = self;
        // A field copied onto itself is left to the evaluation (the source is not readable
        // while it is the one written).
        let (to, str_time, marshaled_time) = match dst {
            TextField::StrTime => (str_time, None, Some(&**marshaled_time)),
            TextField::MarshaledTime => (marshaled_time, Some(&**str_time), None),
            TextField::StrTimeFormat => {
                (str_time_format, Some(&**str_time), Some(&**marshaled_time))
            }
            TextField::WhitelistReason => {
                (whitelist_reason, Some(&**str_time), Some(&**marshaled_time))
            }
        };
        let source = Sources {
            parsed: Some(parsed),
            meta: Some(meta),
            enriched: Some(enriched),
            line,
            str_time,
            marshaled_time,
        };
        let Some(value) = source.read(code, key) else {
            return false;
        };
        if !value.is_empty() {
            to.clear();
            to.push_str(value);
        }
        true
    }
}

/// The parts of an event a resolved field may read, borrowed apart from the part being written
/// (`None`: not readable now).
struct Sources<'e> {
    parsed: Option<&'e StrMap>,
    meta: Option<&'e StrMap>,
    enriched: Option<&'e StrMap>,
    line: &'e Line,
    str_time: Option<&'e str>,
    marshaled_time: Option<&'e str>,
}

impl<'e> Sources<'e> {
    /// The text of the resolved field `code`/`key` ([`resolve_field`]), when readable.
    #[inline]
    fn read(&self, code: u32, key: &FieldKey) -> Option<&'e str> {
        let map = |m: Option<&'e StrMap>| m.map(|m| m.get_key_or_empty(key));
        match code {
            PARSED => map(self.parsed),
            META => map(self.meta),
            ENRICHED => map(self.enriched),
            LABELS => Some(self.line.labels.get_key_or_empty(key)),
            RAW => Some(&self.line.raw),
            SRC => Some(&self.line.src),
            MODULE => Some(&self.line.module),
            STR_TIME => self.str_time,
            MARSHALED_TIME => self.marshaled_time,
            _ => None,
        }
    }
}

/// Codes of [`resolve_field`].
const PARSED: u32 = 1;
const META: u32 = 2;
const ENRICHED: u32 = 3;
const LABELS: u32 = 4;
const RAW: u32 = 5;
const SRC: u32 = 6;
const MODULE: u32 = 7;
const STR_TIME: u32 = 8;
const MARSHALED_TIME: u32 = 9;

/// The member chains of an event that [`Event`] answers in one call (see
/// [`crate::expr::compile::FieldResolver`]): a key of `Parsed`, `Meta`, `Enriched` or
/// `Line.Labels`, `Line.Raw`, `Line.Src`, `Line.Module`, `StrTime` and `MarshaledTime`. Each
/// gives what the chain gives read member by member.
pub fn resolve_field(names: &[&str]) -> Option<u32> {
    Some(match names {
        ["Parsed", _] => PARSED,
        ["Meta", _] => META,
        ["Enriched", _] => ENRICHED,
        ["Line", "Labels", _] => LABELS,
        ["Line", "Raw"] => RAW,
        ["Line", "Src"] => SRC,
        ["Line", "Module"] => MODULE,
        ["StrTime"] => STR_TIME,
        ["MarshaledTime"] => MARSHALED_TIME,
        _ => return None,
    })
}
