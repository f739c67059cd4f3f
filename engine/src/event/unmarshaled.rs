//! `evt.Unmarshaled`: a JSON tree that helpers called from expressions may write into.
//!
//! CrowdSec's `UnmarshalJSON(src, evt.Unmarshaled, "key")` and `ParseKV(...)` are called inside
//! filters and mutate the event as a side effect. Expressions here only see `&Event`, so this one
//! field is interior-mutable: writes go through a lock that is never held across a call out.

use std::borrow::Cow;
use std::sync::Mutex;

use serde_json::{Map, Value as Json};

use crate::expr::{Object, Value};

/// The reserved method name through which helpers store a value under a key.
pub const STORE_METHOD: &str = "__store";

/// A `map[string]interface{}` that expressions can read and helpers can write.
#[derive(Debug, Default)]
pub struct Unmarshaled {
    inner: Mutex<Map<String, Json>>,
}

impl Clone for Unmarshaled {
    fn clone(&self) -> Self {
        Unmarshaled {
            inner: Mutex::new(self.snapshot()),
        }
    }
}

impl Unmarshaled {
    /// A copy of the current tree.
    pub fn snapshot(&self) -> Map<String, Json> {
        match self.inner.lock() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Stores `value` under `key`.
    pub fn insert(&self, key: &str, value: Json) {
        let mut g = match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        g.insert(key.to_string(), value);
    }

    /// Whether nothing was stored.
    pub fn is_empty(&self) -> bool {
        self.inner.lock().map(|g| g.is_empty()).unwrap_or(true)
    }

    /// Empties the tree.
    pub fn clear(&self) {
        if let Ok(mut g) = self.inner.lock() {
            g.clear();
        }
    }

    fn with<R>(&self, f: impl FnOnce(&Map<String, Json>) -> R) -> R {
        match self.inner.lock() {
            Ok(g) => f(&g),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }
}

impl Object for Unmarshaled {
    fn type_name(&self) -> &'static str {
        "map[string]interface {}"
    }

    fn member(&self, name: &str) -> Option<Value<'_>> {
        self.with(|m| m.get(name).map(|v| Value::from_json(v).into_owned()))
    }

    fn len(&self) -> Option<usize> {
        Some(self.with(|m| m.len()))
    }

    fn keys(&self) -> Vec<Cow<'_, str>> {
        self.with(|m| m.keys().map(|k| Cow::Owned(k.clone())).collect())
    }

    fn call_method(&self, name: &str, args: &[Value<'_>]) -> Option<Result<Value<'_>, String>> {
        if name != STORE_METHOD {
            return None;
        }
        Some(match args {
            [Value::Str(key), value] => {
                self.insert(key, value.to_json());
                Ok(Value::Nil)
            }
            _ => Err(format!("{STORE_METHOD} takes a key and a value")),
        })
    }

    fn to_value(&self) -> Value<'_> {
        Value::Map(self.with(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), Value::from_json(v).into_owned()))
                .collect()
        }))
    }
}
