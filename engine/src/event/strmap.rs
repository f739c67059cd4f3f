//! `StrMap`: the `map[string]string` of CrowdSec events (Parsed, Meta, Enriched, Labels).
//!
//! A handful of short keys per event, so a small vector with inline (non-allocating) strings
//! beats a hash map on every count: lookup is a short scan, insertion rarely allocates, and the
//! whole map is cheap to clone for a parser dump. A cleared map keeps its entries as spare
//! slots: the next line's parsers set the same keys in the same order, so an insertion finds
//! its key already in the slot and only writes the value, into the slot's own buffer when the
//! value is long. Keys never come from attackers (they are grok field names and static
//! targets), so a linear scan cannot be driven quadratic.

use std::borrow::Cow;

use compact_str::CompactString;
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::expr::key::{FieldKey, KeyTag, TAG_BYTES, key_tag};
use crate::expr::{Object, Value};

/// An insertion-ordered string-to-string map with Go's "missing key reads as empty" semantics.
#[derive(Default)]
pub struct StrMap {
    /// `(tag of the key, key, value)` ([`key_tag`]): the tag tells keys apart without
    /// reading them (64 bytes an entry). Only the first `len` are the map's; the rest are
    /// spare slots left by [`Self::clear`].
    slots: Vec<(KeyTag, CompactString, CompactString)>,
    /// How many of `slots` are entries.
    len: usize,
    /// A bit per key present ([`bit`] of its tag): a clear bit answers "absent" without the
    /// scan (most inserts are of new keys). A function of the keys, as entries are never
    /// removed one by one.
    present: Bits,
}

/// 128 bits, one for each value of [`bit`].
type Bits = [u64; 2];

/// The bit of [`StrMap::present`] for a tag: a word and a mask in it.
#[inline]
fn bit(tag: KeyTag) -> (usize, u64) {
    let i = (tag[0] ^ tag[1]).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 57;
    ((i >> 6) as usize, 1 << (i & 63))
}

/// Sets `v` to `value`: in `v`'s own buffer when it has one that holds `value` (a long value
/// replacing a long one), else as a new inline or heap string.
#[inline(always)]
fn set(v: &mut CompactString, value: &str) {
    if v.is_heap_allocated() && value.len() <= v.capacity() {
        v.clear();
        v.push_str(value);
    } else {
        *v = CompactString::from(value);
    }
}

/// Whether `bits` has the bit of `tag`.
#[inline]
fn has(bits: &Bits, tag: KeyTag) -> bool {
    let (w, m) = bit(tag);
    bits[w & 1] & m != 0
}

/// Whether an entry with tag `t` and key `k` has the key `key` of tag `want`.
#[inline]
fn same(t: KeyTag, k: &CompactString, want: KeyTag, key: &str) -> bool {
    t == want && (key.len() <= TAG_BYTES || k.as_str() == key)
}

impl Clone for StrMap {
    fn clone(&self) -> Self {
        StrMap {
            slots: self.entries().to_vec(),
            len: self.len,
            present: self.present,
        }
    }
}

impl PartialEq for StrMap {
    /// The same entries in the same order (spare slots aside).
    fn eq(&self, other: &Self) -> bool {
        self.entries() == other.entries()
    }
}

impl Eq for StrMap {}

impl std::fmt::Debug for StrMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl StrMap {
    /// The map's entries (not the spare slots).
    #[inline]
    fn entries(&self) -> &[(KeyTag, CompactString, CompactString)] {
        self.slots.get(..self.len).unwrap_or_default()
    }

    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value stored under `key`, if any.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.get_tagged(key_tag(key), key)
    }

    /// [`Self::get`] of a key tagged in advance (compiled reads): tried first at the index
    /// where the key was last found ([`FieldKey::hint`]).
    #[inline]
    pub fn get_key(&self, key: &FieldKey) -> Option<&str> {
        let want = key.tag();
        let hint = usize::from(key.hint());
        if hint < self.len
            && let Some((t, k, v)) = self.slots.get(hint)
            && same(*t, k, want, key)
        {
            return Some(v);
        }
        if !has(&self.present, want) {
            return None;
        }
        self.find_key(want, key)
    }

    /// The rest of [`Self::get_key`], out of line so that its fast path inlines where the
    /// reads are: the key is present, not at its hint.
    #[inline(never)]
    fn find_key(&self, want: KeyTag, key: &FieldKey) -> Option<&str> {
        let at = self
            .entries()
            .iter()
            .position(|(t, k, _)| same(*t, k, want, key))?;
        key.set_hint(at);
        Some(&self.slots[at].2)
    }

    /// [`Self::get_key`], or `""` as Go would read a missing key.
    #[inline]
    pub fn get_key_or_empty(&self, key: &FieldKey) -> &str {
        self.get_key(key).unwrap_or("")
    }

    #[inline]
    fn get_tagged(&self, want: KeyTag, key: &str) -> Option<&str> {
        if !has(&self.present, want) {
            return None;
        }
        self.entries()
            .iter()
            .find(|(t, k, _)| same(*t, k, want, key))
            .map(|(_, _, v)| v.as_str())
    }

    /// The value under `key`, or `""` as Go would read a missing key.
    pub fn get_or_empty(&self, key: &str) -> &str {
        self.get(key).unwrap_or("")
    }

    /// Whether `key` is present (even with an empty value).
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key` to `value`, replacing any previous value.
    pub fn insert(&mut self, key: &str, value: &str) {
        self.insert_tagged(key_tag(key), key, value)
    }

    /// [`Self::insert`] of a key tagged in advance (statics, grok fields).
    #[inline]
    pub fn insert_key(&mut self, key: &FieldKey, value: &str) {
        self.insert_tagged(key.tag(), key, value)
    }

    /// The common insertion, inline: a key not in the map whose spare slot held it last line.
    #[inline]
    fn insert_tagged(&mut self, want: KeyTag, key: &str, value: &str) {
        if !has(&self.present, want)
            && let Some((t, k, v)) = self.slots.get_mut(self.len)
            && same(*t, k, want, key)
        {
            let (w, m) = bit(want);
            self.present[w & 1] |= m;
            self.len += 1;
            set(v, value);
            return;
        }
        self.insert_slow(want, key, value)
    }

    /// [`Self::insert_tagged`] otherwise: the key is present, or its slot is not spare.
    #[inline(never)]
    fn insert_slow(&mut self, want: KeyTag, key: &str, value: &str) {
        let found = if !has(&self.present, want) {
            None
        } else {
            let len = self.len;
            self.slots
                .get_mut(..len)
                .and_then(|e| e.iter_mut().find(|(t, k, _)| same(*t, k, want, key)))
        };
        if let Some((_, _, v)) = found {
            set(v, value);
            return;
        }
        let (w, m) = bit(want);
        self.present[w & 1] |= m;
        self.len += 1;
        if let Some((t, k, v)) = self.slots.get_mut(self.len - 1) {
            // A spare slot: usually of this very key, from the last line.
            if !same(*t, k, want, key) {
                *t = want;
                *k = CompactString::from(key);
            }
            set(v, value);
            return;
        }
        if self.slots.capacity() == 0 {
            // Parsed maps get a dozen or more fields: one allocation, not four.
            self.slots.reserve(12);
        }
        self.slots
            .push((want, CompactString::from(key), CompactString::from(value)))
    }

    /// Removes every entry, keeping the entries as spare slots.
    pub fn clear(&mut self) {
        self.len = 0;
        self.present = [0; 2];
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Entries in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries()
            .iter()
            .map(|(_, k, v)| (k.as_str(), v.as_str()))
    }

    /// Entries in insertion order with the [`key_tag`] of each key.
    pub fn tagged(&self) -> impl Iterator<Item = (KeyTag, &str, &str)> {
        self.entries()
            .iter()
            .map(|(t, k, v)| (*t, k.as_str(), v.as_str()))
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
        Some(self.len)
    }

    fn keys(&self) -> Vec<Cow<'_, str>> {
        self.entries()
            .iter()
            .map(|(_, k, _)| Cow::Borrowed(k.as_str()))
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

#[cfg(test)]
mod tests {
    use super::StrMap;
    use crate::expr::FieldKey;
    use proptest::prelude::*;

    /// Keys that share prefixes and lengths, around the seven bytes the tag holds.
    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            "[ab]{0,9}",
            "sshd_[a-z]{0,12}",
            "http_[ab]{8,13}",
            Just("x".repeat(300)),
            Just(format!("{}y", "x".repeat(299))),
        ]
    }

    /// Values short and long (on the heap), so that spare slots' buffers get reused.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof!["[a-z]{0,3}", "[a-zé]{20,40}"]
    }

    proptest! {
        /// The map behaves as a list of unique keys with last-write-wins values.
        #[test]
        fn lookups_agree_with_a_plain_list(ops in prop::collection::vec((key(), value(), 0..30u8), 0..40), probes in prop::collection::vec(key(), 0..20)) {
            let mut m = StrMap::new();
            let mut plain: Vec<(String, String)> = Vec::new();
            // Compiled reads keep their keys (and the keys' hints) from map to map.
            let kept: Vec<FieldKey> = probes.iter().map(|p| FieldKey::new(p)).collect();
            for (k, v, c) in &ops {
                // Now and then cleared first.
                if *c == 0 {
                    m.clear();
                    plain.clear();
                }
                // Tagged in advance or not: the same map.
                if c % 2 == 1 {
                    m.insert_key(&FieldKey::new(k), v);
                } else {
                    m.insert(k, v);
                }
                match plain.iter_mut().find(|(pk, _)| pk == k) {
                    Some((_, pv)) => *pv = v.clone(),
                    None => plain.push((k.clone(), v.clone())),
                }
                for key in &kept {
                    let want = plain.iter().find(|(k, _)| **k == **key).map(|(_, v)| v.as_str());
                    prop_assert_eq!(m.get_key(key), want);
                }
            }
            // Equal to the same entries inserted into a fresh map, and so is a clone.
            let fresh: StrMap = plain.iter().map(|(k, v)| (k, v)).collect();
            prop_assert_eq!(&m, &fresh);
            prop_assert_eq!(&m.clone(), &fresh);
            prop_assert_eq!(m.len(), plain.len());
            let got: Vec<(String, String)> =
                m.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            prop_assert_eq!(&got, &plain);
            for p in probes.iter().chain(ops.iter().map(|(k, _, _)| k)) {
                let want = plain.iter().find(|(k, _)| k == p).map(|(_, v)| v.as_str());
                prop_assert_eq!(m.get(p), want);
                prop_assert_eq!(m.get_key(&FieldKey::new(p)), want);
                prop_assert_eq!(m.contains_key(p), want.is_some());
            }
        }
    }
}
