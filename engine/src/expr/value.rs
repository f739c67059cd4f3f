//! The values an expression computes with.
//!
//! `Value<'a>` borrows from the data it was evaluated against (an event, a JSON tree) so that
//! reading `evt.Parsed.program` on the hot path copies nothing. Host data is reached through the
//! [`Object`] trait; literals and helper results are owned.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// A value produced or consumed by an expression.
#[derive(Clone)]
pub enum Value<'a> {
    /// Go's `nil`.
    Nil,
    /// A boolean.
    Bool(bool),
    /// A Go `int`.
    Int(i64),
    /// A Go `float64`.
    Float(f64),
    /// A string, borrowed from host data when possible.
    Str(Cow<'a, str>),
    /// A list (Go slice), owned.
    List(Vec<Value<'a>>),
    /// A map with string keys (Go `map[string]interface{}`), owned.
    Map(BTreeMap<String, Value<'a>>),
    /// A borrowed host object: an event, one of its string maps, a JSON tree, a dump record.
    Obj(&'a dyn Object),
    /// A point in time (Go `time.Time`).
    Time(chrono::DateTime<chrono::FixedOffset>),
    /// A span of time (Go `time.Duration`), in nanoseconds.
    Duration(i64),
}

/// Host data that expressions can read without copying it into a [`Value`].
///
/// Implemented by the engine's event types and by JSON trees. Every method has a default so an
/// implementor only provides what makes sense for it.
pub trait Object: Sync {
    /// The Go type name, used in error messages (`map[string]string`, `*types.Event`, ...).
    fn type_name(&self) -> &'static str;

    /// `obj.name` or `obj["name"]`. `None` means the member does not exist; for Go maps of
    /// strings the implementor returns `Some(Value::Str(""))` instead, as Go does.
    fn member(&self, name: &str) -> Option<Value<'_>>;

    /// The value of a member chain resolved at compile time to `code` (see
    /// [`crate::expr::compile::FieldResolver`]), `key` being its last name: exactly what
    /// reading the chain member by member gives, or `None` to have it read that way.
    fn field(&self, _code: u32, _key: &crate::expr::FieldKey) -> Option<Value<'_>> {
        None
    }

    /// [`Self::field`] when its value is a string borrowed from the object: the text alone,
    /// without a [`Value`] around it (predicates compare it and drop nothing). `None` means
    /// "ask [`Self::field`]", not "absent".
    fn field_str(&self, _code: u32, _key: &crate::expr::FieldKey) -> Option<&str> {
        None
    }

    /// `obj[i]` for list-like objects.
    fn index(&self, _i: i64) -> Option<Value<'_>> {
        None
    }

    /// `len(obj)`, when the object has a length.
    fn len(&self) -> Option<usize> {
        None
    }

    /// Whether `len(obj) == 0`; provided for clippy's sake.
    fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// The keys, for maps (used by `in`, `keys()`, iteration and conversion).
    fn keys(&self) -> Vec<Cow<'_, str>> {
        Vec::new()
    }

    /// Method call `obj.Name(args...)`; `None` when the object has no such method.
    fn call_method(&self, _name: &str, _args: &[Value<'_>]) -> Option<Result<Value<'_>, String>> {
        None
    }

    /// Materializes the object into an owned value tree (for `toJSON`, comparisons, ...).
    fn to_value(&self) -> Value<'_>;
}

impl<'a> Value<'a> {
    /// Drops `self`, calling the (out-of-line) drop glue only for the variants that own heap
    /// memory: the evaluator drops millions of borrowed strings and host objects a second,
    /// for which the glue is a call that does nothing.
    #[inline(always)]
    pub(crate) fn discard(self) {
        match self {
            Value::Nil
            | Value::Bool(_)
            | Value::Int(_)
            | Value::Float(_)
            | Value::Obj(_)
            | Value::Time(_)
            | Value::Duration(_)
            | Value::Str(std::borrow::Cow::Borrowed(_)) => std::mem::forget(self),
            owned => drop(owned),
        }
    }

    /// A borrowed string value.
    pub fn str(s: &'a str) -> Self {
        Value::Str(Cow::Borrowed(s))
    }

    /// An owned string value.
    pub fn string(s: String) -> Self {
        Value::Str(Cow::Owned(s))
    }

    /// The Go type name of this value, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
            Value::Obj(o) => o.type_name(),
            Value::Time(_) => "time.Time",
            Value::Duration(_) => "time.Duration",
        }
    }

    /// The string inside, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Go truthiness is strict: only `Bool` is a boolean. Returns `None` for anything else.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Converts into a value that owns everything (no borrow of host data).
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Nil => Value::Nil,
            Value::Bool(b) => Value::Bool(b),
            Value::Int(i) => Value::Int(i),
            Value::Float(f) => Value::Float(f),
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
            Value::List(l) => Value::List(l.into_iter().map(Value::into_owned).collect()),
            Value::Map(m) => Value::Map(m.into_iter().map(|(k, v)| (k, v.into_owned())).collect()),
            Value::Obj(o) => o.to_value().into_owned(),
            Value::Time(t) => Value::Time(t),
            Value::Duration(d) => Value::Duration(d),
        }
    }

    /// Builds a value that borrows from a JSON tree.
    pub fn from_json(j: &'a serde_json::Value) -> Self {
        match j {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::str(s),
            serde_json::Value::Array(_) | serde_json::Value::Object(_) => Value::Obj(j),
        }
    }

    /// Converts into JSON (objects are materialized; times use RFC 3339, durations nanoseconds).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Nil => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Int(i) => (*i).into(),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Str(s) => serde_json::Value::String(s.to_string()),
            Value::List(l) => l.iter().map(Value::to_json).collect(),
            Value::Map(m) => m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect(),
            Value::Obj(o) => o.to_value().to_json(),
            Value::Time(t) => serde_json::Value::String(t.to_rfc3339()),
            Value::Duration(d) => (*d).into(),
        }
    }
}

impl fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("nil"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::List(l) => f.debug_list().entries(l).finish(),
            Value::Map(m) => f.debug_map().entries(m).finish(),
            Value::Obj(o) => write!(f, "{:?}", o.to_value()),
            Value::Time(t) => write!(f, "{}", t.to_rfc3339()),
            Value::Duration(d) => write!(f, "{d}ns"),
        }
    }
}

impl Object for serde_json::Value {
    fn type_name(&self) -> &'static str {
        match self {
            serde_json::Value::Array(_) => "[]interface {}",
            _ => "map[string]interface {}",
        }
    }

    fn member(&self, name: &str) -> Option<Value<'_>> {
        match self {
            serde_json::Value::Object(m) => m.get(name).map(Value::from_json),
            _ => None,
        }
    }

    fn index(&self, i: i64) -> Option<Value<'_>> {
        match self {
            serde_json::Value::Array(a) => {
                let i = if i < 0 { a.len() as i64 + i } else { i };
                a.get(usize::try_from(i).ok()?).map(Value::from_json)
            }
            _ => None,
        }
    }

    fn len(&self) -> Option<usize> {
        match self {
            serde_json::Value::Array(a) => Some(a.len()),
            serde_json::Value::Object(m) => Some(m.len()),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<Cow<'_, str>> {
        match self {
            serde_json::Value::Object(m) => m.keys().map(|k| Cow::Borrowed(k.as_str())).collect(),
            _ => Vec::new(),
        }
    }

    fn to_value(&self) -> Value<'_> {
        match self {
            serde_json::Value::Array(a) => Value::List(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
            other => Value::from_json(other),
        }
    }
}
