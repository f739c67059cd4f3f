//! Statics: `meta:`/`parsed:`/`enriched:`/`target:` assignments and enrichment `method:` calls.

use std::sync::Arc;

use compact_str::CompactString;

use crate::event::{Event, MapKind, TextField};
use crate::expr::{Compiler, Program, Value};
use crate::expr::{FieldKey, Object};

use super::config::StaticConfig;
use super::enrich::{EnrichCtx, Enricher};
use super::error::NodeError;

/// Where a static writes.
#[derive(Debug, Clone)]
pub enum Target {
    /// `evt.Parsed[key]`.
    Parsed(FieldKey),
    /// `evt.Meta[key]`.
    Meta(FieldKey),
    /// `evt.Enriched[key]`.
    Enriched(FieldKey),
    /// A string field of the event, by name.
    Field(Field),
    /// An enrichment method whose results are merged into `evt.Enriched`.
    Method(Enricher),
    /// A target CrowdSec would refuse at run time (logged there, ignored here, reported at load).
    Invalid(String),
}

/// String fields a `target:` may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `evt.StrTime`.
    StrTime,
    /// `evt.StrTimeFormat`.
    StrTimeFormat,
    /// `evt.MarshaledTime`.
    MarshaledTime,
    /// `evt.WhitelistReason`.
    WhitelistReason,
    /// `evt.Line.Raw`.
    LineRaw,
    /// `evt.Line.Module`.
    LineModule,
    /// `evt.Line.Src`.
    LineSrc,
    /// `evt.Stage`.
    Stage,
    /// `evt.Unmarshaled.<key>` (string value).
    Unmarshaled,
    /// `evt.Overflow.Alert.Source.Value` (postoverflows rewriting an alert's target).
    OverflowSourceValue,
    /// `evt.Overflow.Alert.Source.Scope`.
    OverflowSourceScope,
}

/// Where the value comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// `value:`.
    Const(String),
    /// `expression:`.
    Expr(Program),
}

/// One compiled static.
#[derive(Debug, Clone)]
pub struct Static {
    /// Where it writes.
    pub target: Target,
    /// What it writes.
    pub source: Source,
    /// Map key for `Field::Unmarshaled`.
    pub key: String,
    /// How it was written, for `explain`.
    pub label: String,
}

impl Static {
    /// Compiles one static config.
    pub fn compile(
        cfg: &StaticConfig,
        compiler: &Compiler,
        ectx: &EnrichCtx,
    ) -> Result<Static, NodeError> {
        let source = if !cfg.value.is_empty() {
            Source::Const(cfg.value.clone())
        } else if !cfg.expression.is_empty() {
            Source::Expr(compiler.compile(&cfg.expression).map_err(NodeError::expr)?)
        } else {
            return Err(NodeError::Invalid(
                "static needs `value` or `expression`".into(),
            ));
        };
        let mut key = String::new();
        let (target, label) = if !cfg.method.is_empty() {
            (
                Target::Method(ectx.resolve(&cfg.method)),
                format!("method {}", cfg.method),
            )
        } else if !cfg.parsed.is_empty() {
            (
                Target::Parsed(FieldKey::new(&cfg.parsed)),
                format!("evt.Parsed.{}", cfg.parsed),
            )
        } else if !cfg.meta.is_empty() {
            (
                Target::Meta(FieldKey::new(&cfg.meta)),
                format!("evt.Meta.{}", cfg.meta),
            )
        } else if !cfg.enriched.is_empty() {
            (
                Target::Enriched(FieldKey::new(&cfg.enriched)),
                format!("evt.Enriched.{}", cfg.enriched),
            )
        } else if !cfg.target.is_empty() {
            let (t, k) = resolve_target(&cfg.target);
            key = k;
            (t, cfg.target.clone())
        } else {
            return Err(NodeError::Invalid(
                "static needs one of meta, parsed, enriched, target or method".into(),
            ));
        };
        Ok(Static {
            target,
            source,
            key,
            label,
        })
    }

    /// Applies the static to `evt`. Errors only where CrowdSec aborts the line (a value of a type
    /// that cannot become a string).
    pub fn apply(&self, evt: &mut Event, ectx: &EnrichCtx) -> Result<(), NodeError> {
        if self.apply_direct(evt, ectx) {
            return Ok(());
        }
        self.apply_evaluated(evt, ectx)
    }

    /// [`Self::apply`] through the expression, whatever its shape.
    fn apply_evaluated(&self, evt: &mut Event, ectx: &EnrichCtx) -> Result<(), NodeError> {
        // Most values are short: an inline string avoids a heap allocation per static and line.
        let value: CompactString = match &self.source {
            Source::Const(s) => CompactString::from(s.as_str()),
            Source::Expr(p) => {
                let out = match p.eval(&[Value::Obj(&*evt)]) {
                    Ok(v) => Ok(value_to_static_string(&v)),
                    Err(e) => Err(e),
                };
                // `evt.SetMeta(..)` in a static's expression: write once the borrow is over.
                evt.apply_writes();
                let out = match out {
                    Ok(v) => v,
                    Err(e) => {
                        tracing::debug!(expr = p.source(), error = %e, "Static expression failed.");
                        return Ok(());
                    }
                };
                match out {
                    Ok(Some(s)) => s,
                    Ok(None) => return Ok(()),
                    Err(t) => {
                        return Err(NodeError::Invalid(format!(
                            "expression {:?} returned a {t}, which cannot be stored",
                            p.source()
                        )));
                    }
                }
            }
        };
        if value.is_empty() && !matches!(&self.target, Target::Method(Enricher::ParseDate)) {
            return Ok(());
        }
        match &self.target {
            Target::Parsed(k) => evt.parsed.insert_key(k, &value),
            Target::Meta(k) => evt.meta.insert_key(k, &value),
            Target::Enriched(k) => evt.enriched.insert_key(k, &value),
            Target::Method(m) => {
                for (k, v) in ectx.run(*m, &value, evt) {
                    evt.enriched.insert(k, &v);
                }
            }
            Target::Field(f) => match f {
                // Into the text's own memory (a refilled event's: `Acquisition::refill`).
                Field::StrTime => set_text(&mut evt.str_time, &value),
                Field::StrTimeFormat => set_text(&mut evt.str_time_format, &value),
                Field::MarshaledTime => set_text(&mut evt.marshaled_time, &value),
                Field::WhitelistReason => set_text(&mut evt.whitelist_reason, &value),
                Field::LineRaw => evt.line.raw = value.into_string(),
                Field::LineModule => evt.line.module = Arc::from(value.as_str()),
                Field::LineSrc => evt.line.src = Arc::from(value.as_str()),
                Field::Stage => evt.stage = Arc::from(value.as_str()),
                Field::Unmarshaled => evt
                    .unmarshaled
                    .insert(&self.key, serde_json::Value::String(value.into_string())),
                Field::OverflowSourceValue | Field::OverflowSourceScope => {
                    set_overflow_source(evt, *f == Field::OverflowSourceValue, value.into_string())
                }
            },
            Target::Invalid(t) => tracing::debug!(target = %t, "Static target cannot be set."),
        }
        Ok(())
    }
}

impl Static {
    /// The map this static writes a key of, and the key.
    fn map_target(&self) -> Option<(MapKind, &FieldKey)> {
        match &self.target {
            Target::Parsed(k) => Some((MapKind::Parsed, k)),
            Target::Meta(k) => Some((MapKind::Meta, k)),
            Target::Enriched(k) => Some((MapKind::Enriched, k)),
            _ => None,
        }
    }

    /// Most statics write a constant, or a field read as is, to a key of a map or to a text
    /// field (`target: evt.StrTime`), or give a field to an enricher (`method: ParseDate`):
    /// done here without an evaluation or a copy of the value (what [`Self::apply`] would
    /// do, with the same "empty writes nothing" rule). False when the static is not of that
    /// shape.
    fn apply_direct(&self, evt: &mut Event, ectx: &EnrichCtx) -> bool {
        let Some((dst, key)) = self.map_target() else {
            return self.apply_direct_other(evt, ectx);
        };
        match &self.source {
            Source::Const(v) => {
                if !v.is_empty() {
                    map_of(evt, dst).insert_key(key, v);
                }
                true
            }
            Source::Expr(p) => {
                let Some((code, field)) = p.lone_field(0) else {
                    return false;
                };
                match evt.field_and_map(code, field, dst) {
                    (Some(v), map) => {
                        if !v.is_empty() {
                            map.insert_key(key, v);
                        }
                        true
                    }
                    (None, _) => false,
                }
            }
        }
    }

    /// [`Self::apply_direct`] for a text field or an enricher: the expression must be a lone
    /// resolved field.
    fn apply_direct_other(&self, evt: &mut Event, ectx: &EnrichCtx) -> bool {
        let Source::Expr(p) = &self.source else {
            return false;
        };
        let Some((code, field)) = p.lone_field(0) else {
            return false;
        };
        match &self.target {
            Target::Field(f) => {
                let to = match f {
                    Field::StrTime => TextField::StrTime,
                    Field::StrTimeFormat => TextField::StrTimeFormat,
                    Field::MarshaledTime => TextField::MarshaledTime,
                    Field::WhitelistReason => TextField::WhitelistReason,
                    _ => return false,
                };
                evt.copy_field_to(code, field, to)
            }
            Target::Method(m) => {
                // The enricher may write the event: the value is copied out first (inline,
                // without an allocation, up to 24 bytes).
                let value = match evt.field(code, field) {
                    Some(Value::Str(s)) => CompactString::from(&*s),
                    _ => return false,
                };
                for (k, v) in ectx.run(*m, &value, evt) {
                    evt.enriched.insert(k, &v);
                }
                true
            }
            _ => false,
        }
    }
}

/// Sets `dst` to `value` in the memory `dst` already has.
fn set_text(dst: &mut String, value: &str) {
    dst.clear();
    dst.push_str(value);
}

fn map_of(evt: &mut Event, kind: MapKind) -> &mut crate::event::StrMap {
    match kind {
        MapKind::Parsed => &mut evt.parsed,
        MapKind::Meta => &mut evt.meta,
        MapKind::Enriched => &mut evt.enriched,
    }
}

/// Go's conversion of a static's expression result: strings as is, ints in decimal, floats as
/// `%f`, nil/maps/lists skipped (`Ok(None)`), anything else an error naming the type.
pub fn value_to_static_string(v: &Value<'_>) -> Result<Option<CompactString>, &'static str> {
    match v {
        Value::Str(s) => Ok(Some(CompactString::from(s.as_ref()))),
        Value::Int(i) => Ok(Some(compact_str::format_compact!("{i}"))),
        Value::Float(f) => Ok(Some(compact_str::format_compact!("{f:.6}"))),
        Value::Nil | Value::List(_) | Value::Map(_) => Ok(None),
        Value::Obj(o) => match o.to_value() {
            Value::List(_) | Value::Map(_) => Ok(None),
            _ => Err(o.type_name()),
        },
        other => Err(other.type_name()),
    }
}

/// Resolves `target: evt.X.Y` the way CrowdSec's reflection walk does.
fn resolve_target(target: &str) -> (Target, String) {
    let t = target.strip_prefix("evt.").unwrap_or(target);
    let mut parts = t.splitn(2, '.');
    let head = parts.next().unwrap_or("");
    let rest = parts.next().unwrap_or("");
    // For maps, only the segment right after the map is the key.
    let first = |s: &str| s.split('.').next().unwrap_or("").to_string();
    let field = |f| (Target::Field(f), String::new());
    match (head, rest) {
        ("Parsed", k) if !k.is_empty() => (Target::Parsed(first(k).as_str().into()), String::new()),
        ("Meta", k) if !k.is_empty() => (Target::Meta(first(k).as_str().into()), String::new()),
        ("Enriched", k) if !k.is_empty() => {
            (Target::Enriched(first(k).as_str().into()), String::new())
        }
        ("Unmarshaled", k) if !k.is_empty() => (Target::Field(Field::Unmarshaled), first(k)),
        ("StrTime", "") => field(Field::StrTime),
        ("StrTimeFormat", "") => field(Field::StrTimeFormat),
        ("MarshaledTime", "") => field(Field::MarshaledTime),
        ("WhitelistReason", "") => field(Field::WhitelistReason),
        ("Stage", "") => field(Field::Stage),
        ("Line", "Raw") => field(Field::LineRaw),
        ("Line", "Module") => field(Field::LineModule),
        ("Line", "Src") => field(Field::LineSrc),
        ("Overflow", "Alert.Source.Value") => field(Field::OverflowSourceValue),
        ("Overflow", "Alert.Source.Scope") => field(Field::OverflowSourceScope),
        _ => (Target::Invalid(target.to_string()), String::new()),
    }
}

/// Rewrites the source of an overflow's alert. In CrowdSec the alert, its first API alert and
/// the source map entry of the same address are one object; both places are updated here
/// (the alert is the first API alert).
fn set_overflow_source(evt: &mut Event, is_value: bool, value: String) {
    let Some(o) = evt.overflow.as_deref_mut() else {
        tracing::debug!("Static targets evt.Overflow on an event that is not an overflow.");
        return;
    };
    let ip = o.alert().map(|a| a.source.ip.clone()).unwrap_or_default();
    let set = |src: &mut crate::bucket::Source| {
        if is_value {
            src.value = value.clone();
        } else {
            src.scope = value.clone();
        }
    };
    if let Some(a) = o.api_alerts.first_mut() {
        set(&mut a.source);
    }
    for src in o.sources.values_mut().filter(|s| s.ip == ip) {
        set(src);
    }
}

#[cfg(test)]
#[path = "statics_tests.rs"]
mod tests;
