//! `StrMap`: the `map[string]string` of CrowdSec events (Parsed, Meta, Enriched, Labels).
//!
//! A handful of short keys per event, so a small vector with inline (non-allocating) strings
//! beats a hash map on every count: lookup is a short scan, insertion rarely allocates, and the
//! whole map is cheap to clone for a parser dump. Keys never come from attackers (they are grok
//! field names and static targets), so a linear scan cannot be driven quadratic.

use std::borrow::Cow;

use compact_str::CompactString;
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::expr::{Object, Value};

/// An insertion-ordered string-to-string map with Go's "missing key reads as empty" semantics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StrMap {
    entries: Vec<(CompactString, CompactString)>,
}

impl StrMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value stored under `key`, if any.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value under `key`, or `""` as Go would read a missing key.
    pub fn get_or_empty(&self, key: &str) -> &str {
        self.get(key).unwrap_or("")
    }

    /// Whether `key` is present (even with an empty value).
    pub fn contains_key(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| k == key)
    }

    /// Sets `key` to `value`, replacing any previous value.
    pub fn insert(&mut self, key: &str, value: &str) {
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => {
                v.clear();
                v.push_str(value);
            }
            None => self
                .entries
                .push((CompactString::from(key), CompactString::from(value))),
        }
    }

    /// Removes every entry, keeping the allocation.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Entries sorted by key, as Go prints and serializes maps.
    pub fn sorted(&self) -> Vec<(&str, &str)> {
        let mut v: Vec<_> = self.iter().collect();
        v.sort_unstable_by(|a, b| a.0.cmp(b.0));
        v
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for StrMap {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        let mut m = StrMap::new();
        for (k, v) in iter {
            m.insert(k.as_ref(), v.as_ref());
        }
        m
    }
}

impl Serialize for StrMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let sorted = self.sorted();
        let mut map = serializer.serialize_map(Some(sorted.len()))?;
        for (k, v) in sorted {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> serde::Deserialize<'de> for StrMap {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let m = std::collections::BTreeMap::<String, String>::deserialize(deserializer)?;
        Ok(m.into_iter().collect())
    }
}

impl Object for StrMap {
    fn type_name(&self) -> &'static str {
        "map[string]string"
    }

    fn member(&self, name: &str) -> Option<Value<'_>> {
        Some(Value::str(self.get_or_empty(name)))
    }

    fn len(&self) -> Option<usize> {
        Some(self.entries.len())
    }

    fn keys(&self) -> Vec<Cow<'_, str>> {
        self.entries
            .iter()
            .map(|(k, _)| Cow::Borrowed(k.as_str()))
            .collect()
    }

    fn to_value(&self) -> Value<'_> {
        Value::Map(
            self.iter()
                .map(|(k, v)| (k.to_string(), Value::str(v)))
                .collect(),
        )
    }
}
