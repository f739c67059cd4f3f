//! `PackedMap`: a read-only string map in one allocation, for what buckets keep of events.
//!
//! A [`StrMap`] costs 48 bytes per entry before any string spills to the heap, and its vector
//! keeps spare capacity. A queued event lives as long as its bucket, and an attack from
//! never-repeating addresses makes one bucket per line, so the few maps a bucket keeps (an
//! event's `Meta`) are frozen into a single boxed string: entries sorted by key (the order
//! alerts list them in), each value preceded by its length. Keys are names from parser
//! configurations (`source_ip`, `log_type`...), the same in every event, so they are interned
//! process-wide and written as one byte; past [`MAX_INTERNED`] distinct names (which no
//! configuration reaches), a key is written out like a value. Every byte the packing adds is
//! ASCII (ids below 128, lengths in groups of six bits with a continuation bit), so the whole
//! is a `str` and reading a value back is a slice of it, not a UTF-8 validation. Lookups are a
//! short scan, which is all alerts need.

use std::borrow::Cow;
use std::sync::{OnceLock, RwLock};

use crate::event::StrMap;
use crate::expr::key::{KeyTag, TAG_BYTES, key_tag};
use crate::expr::{Object, Value};

/// An immutable string-to-string map packed into one boxed string, sorted by key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackedMap {
    text: Box<str>,
}

/// How many key names are interned at most (ids `0..MAX_INTERNED`; the next byte value, the
/// last ASCII one, marks a key written out).
pub const MAX_INTERNED: usize = 127;
const LITERAL: u8 = 127;

/// Interned key names; leaked, and bounded by [`MAX_INTERNED`].
static KEYS: RwLock<Vec<&'static str>> = RwLock::new(Vec::new());

/// The same names by id, read without a lock (set once, under [`KEYS`]'s write lock, before
/// the id is handed out).
static NAMES: [OnceLock<&'static str>; MAX_INTERNED] = [const { OnceLock::new() }; MAX_INTERNED];

thread_local! {
    /// This thread's copy of the interned names it has met (ids never change once given).
    static LOCAL_KEYS: std::cell::RefCell<foldhash::HashMap<Box<str>, u8>> =
        std::cell::RefCell::new(foldhash::HashMap::default());
}

/// [`key_id`] of a key by its tag: keys of at most [`TAG_BYTES`] bytes (all configurations'
/// names) are told apart by their tag alone, so a small per-thread table answers without
/// hashing the text.
fn tagged_key_id(tag: KeyTag, k: &str) -> Option<u8> {
    if k.len() > TAG_BYTES {
        return key_id(k);
    }
    let slot = ((tag[0] ^ tag[1]).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize;
    if let Some(id) = TAG_IDS.with(|t| {
        let (t_tag, id) = t[slot].get();
        (t_tag == tag).then_some(id)
    }) {
        return Some(id);
    }
    let id = key_id(k)?;
    TAG_IDS.with(|t| t[slot].set((tag, id)));
    Some(id)
}

thread_local! {
    /// The keys' tags of the last map [`PackedMap::from_strmap`] packed, and the order that
    /// sorts them.
    static LAST_ORDER: std::cell::RefCell<(Vec<KeyTag>, Vec<u8>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

thread_local! {
    /// Recent (tag, id) pairs of [`tagged_key_id`], by a hash of the tag; empty slots hold a
    /// tag no key has (a zero length with a byte set).
    static TAG_IDS: [std::cell::Cell<(KeyTag, u8)>; 64] =
        std::array::from_fn(|_| std::cell::Cell::new(([1, 0], 0)));
}

/// Orders keys as `str` does, mostly by their tags: the first [`TAG_BYTES`] bytes, zero-padded,
/// compared as big-endian words (a shorter key is a prefix padded with zeros, so it sorts
/// first as in `str`); keys whose padded prefixes are equal are compared as text.
fn key_order(a: (KeyTag, &str), b: (KeyTag, &str)) -> std::cmp::Ordering {
    // The last byte of a tag is the key's length, not one of its bytes.
    let prefix = |t: KeyTag| (t[0].swap_bytes(), (t[1] & !(0xff << 56)).swap_bytes());
    prefix(a.0).cmp(&prefix(b.0)).then_with(|| a.1.cmp(b.1))
}

fn key_id(k: &str) -> Option<u8> {
    if let Some(id) = LOCAL_KEYS.with_borrow(|m| m.get(k).copied()) {
        return Some(id);
    }
    let id = shared_key_id(k)?;
    LOCAL_KEYS.with_borrow_mut(|m| m.insert(k.into(), id));
    Some(id)
}

fn shared_key_id(k: &str) -> Option<u8> {
    let find = |keys: &[&'static str]| {
        keys.iter()
            .position(|x| *x == k)
            .and_then(|i| u8::try_from(i).ok())
    };
    {
        let keys = KEYS.read().unwrap_or_else(|p| p.into_inner());
        if let Some(id) = find(&keys) {
            return Some(id);
        }
    }
    let mut keys = KEYS.write().unwrap_or_else(|p| p.into_inner());
    if let Some(id) = find(&keys) {
        return Some(id);
    }
    if keys.len() >= MAX_INTERNED {
        return None;
    }
    let id = u8::try_from(keys.len()).ok()?;
    let name: &'static str = Box::leak(Box::from(k));
    keys.push(name);
    NAMES.get(usize::from(id))?.set(name).ok()?;
    Some(id)
}

fn key_name(id: u8) -> Option<&'static str> {
    NAMES.get(usize::from(id))?.get().copied()
}

/// Bits of a length per byte; the next bit says another byte follows.
const LEN_BITS: u32 = 6;
const LEN_MORE: u8 = 1 << LEN_BITS;

/// Writes `n` in groups of [`LEN_BITS`], lowest first: ASCII bytes only.
fn put_len(out: &mut String, mut n: usize) {
    loop {
        let b = (n & usize::from(LEN_MORE - 1)) as u8;
        n >>= LEN_BITS;
        if n == 0 {
            out.push(char::from(b));
            return;
        }
        out.push(char::from(b | LEN_MORE));
    }
}

impl PackedMap {
    /// Packs `entries` (unique keys; sorted here).
    pub fn from_entries<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut v: Vec<(&str, &str)> = entries.into_iter().collect();
        if v.is_empty() {
            return PackedMap::default();
        }
        v.sort_unstable_by(|a, b| a.0.cmp(b.0));
        Self::pack(v.into_iter().map(|(k, val)| (key_tag(k), k, val)))
    }

    /// Packs entries sorted by key.
    fn pack<'a>(v: impl ExactSizeIterator<Item = (KeyTag, &'a str, &'a str)> + Clone) -> Self {
        let size: usize = v.clone().map(|(_, _, val)| val.len() + 2).sum();
        let mut out = String::with_capacity(size);
        for (tag, k, val) in v {
            match tagged_key_id(tag, k) {
                Some(id) => out.push(char::from(id)),
                None => {
                    out.push(char::from(LITERAL));
                    put_len(&mut out, k.len());
                    out.push_str(k);
                }
            }
            put_len(&mut out, val.len());
            out.push_str(val);
        }
        PackedMap {
            text: out.into_boxed_str(),
        }
    }

    /// Packs every entry of `m` ([`Self::from_entries`], with the keys' tags doing most of
    /// the sorting and the interning).
    pub fn from_strmap(m: &StrMap) -> Self {
        let v: Vec<(KeyTag, &str, &str)> = m.tagged().collect();
        if v.is_empty() {
            return PackedMap::default();
        }
        // Events of one parser path have the same keys in the same order: the order that
        // sorts them is kept per thread and reused while the keys are the same (keys of at
        // most `TAG_BYTES` bytes only, which their tags tell apart).
        let short = v.len() <= usize::from(u8::MAX) && v.iter().all(|e| e.1.len() <= TAG_BYTES);
        if !short {
            let mut v = v;
            v.sort_unstable_by(|a, b| key_order((a.0, a.1), (b.0, b.1)));
            return Self::pack(v.into_iter());
        }
        LAST_ORDER.with_borrow_mut(|(tags, order)| {
            if !tags.iter().copied().eq(v.iter().map(|e| e.0)) {
                tags.clear();
                tags.extend(v.iter().map(|e| e.0));
                order.clear();
                order.extend((0..v.len()).map(|i| i as u8));
                order.sort_unstable_by(|&a, &b| {
                    let (a, b) = (&v[usize::from(a)], &v[usize::from(b)]);
                    key_order((a.0, a.1), (b.0, b.1))
                });
            }
            Self::pack(order.iter().map(|&i| v[usize::from(i)]))
        })
    }

    /// Entries sorted by key.
    pub fn iter(&self) -> Iter<'_> {
        Iter { rest: &self.text }
    }

    /// The value under `key`, if any.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.text.len()
    }

    /// Back to a [`StrMap`] (sorted insertion order).
    pub fn to_strmap(&self) -> StrMap {
        self.iter().collect()
    }
}

/// Iterator over a [`PackedMap`]'s entries, sorted by key.
pub struct Iter<'a> {
    rest: &'a str,
}

impl<'a> Iter<'a> {
    /// The next byte the packing wrote (ASCII, so the rest is still a `str`).
    fn byte(&mut self) -> Option<u8> {
        let b = *self.rest.as_bytes().first()?;
        self.rest = self.rest.get(1..)?;
        Some(b)
    }

    fn len(&mut self) -> Option<usize> {
        let mut n = 0usize;
        let mut shift = 0u32;
        loop {
            let b = self.byte()?;
            n |= usize::from(b & (LEN_MORE - 1)).checked_shl(shift)?;
            if b & LEN_MORE == 0 {
                return Some(n);
            }
            shift += LEN_BITS;
        }
    }

    fn key(&mut self) -> Option<&'a str> {
        let id = self.byte()?;
        if id == LITERAL {
            self.str()
        } else {
            key_name(id)
        }
    }

    fn str(&mut self) -> Option<&'a str> {
        let n = self.len()?;
        // Written from whole `&str`s, so `n` is a boundary.
        let (s, rest) = self.rest.split_at_checked(n)?;
        self.rest = rest;
        Some(s)
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let entry = self.key().zip(self.str());
        if entry.is_none() {
            self.rest = "";
        }
        entry
    }
}

impl Object for PackedMap {
    fn type_name(&self) -> &'static str {
        "map[string]string"
    }

    fn member(&self, name: &str) -> Option<Value<'_>> {
        Some(Value::str(self.get(name).unwrap_or("")))
    }

    fn len(&self) -> Option<usize> {
        Some(PackedMap::len(self))
    }

    fn keys(&self) -> Vec<Cow<'_, str>> {
        self.iter().map(|(k, _)| Cow::Borrowed(k)).collect()
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
    use super::*;

    use proptest::prelude::Strategy;

    /// Keys for the property below: shared fifteen-byte prefixes, prefixes of each other, NUL
    /// bytes, long keys (few, so that the process-wide interner is not filled by a test).
    const KEY_POOL: &[&str] = &[
        "",
        "a",
        "ab",
        "a\0",
        "a\0b",
        "b",
        "source_ip",
        "source_range",
        "http_status",
        "http_user_agent",
        "http_user_agent_a",
        "http_user_agent_b",
        "http_user_agentx",
        "aaaaaaaaaaaaaaa",
        "aaaaaaaaaaaaaaa\0",
        "aaaaaaaaaaaaaaaa",
        "aaaaaaaaaaaaaab",
        "aaaaaaaaaaaaaaab",
        "an_extremely_long_meta_key_name_of_forty",
        "an_extremely_long_meta_key_name_of_forty_one",
        "log_type",
        "service",
        "target_user",
        "target_fqdn",
        "zz",
    ];

    proptest::proptest! {
        /// A map packed through its tags is the map packed through its text: same order
        /// (keys that share their first fifteen bytes, prefixes, NUL bytes, long keys) and
        /// same ids, also when the per-thread table's slots collide.
        #[test]
        fn packing_by_tags_is_packing_by_text(
            keys in proptest::sample::subsequence(KEY_POOL.to_vec(), 0..KEY_POOL.len())
                .prop_shuffle(),
        ) {
            let m: StrMap = keys.iter().map(|k| (*k, *k)).collect();
            let by_text = PackedMap::from_entries(m.iter());
            let by_tags = PackedMap::from_strmap(&m);
            proptest::prop_assert_eq!(by_tags.iter().collect::<Vec<_>>(), by_text.iter().collect::<Vec<_>>());
            proptest::prop_assert_eq!(by_tags, by_text);
            // The order kept for these keys serves other values, and keys in another order
            // are sorted again.
            let values: StrMap = keys.iter().map(|k| (*k, "v")).collect();
            let reversed: StrMap = keys.iter().rev().map(|k| (*k, *k)).collect();
            for m in [&values, &m, &reversed, &values] {
                proptest::prop_assert_eq!(PackedMap::from_strmap(m), PackedMap::from_entries(m.iter()));
            }
        }

        /// Any values (multi-byte characters, lengths that take one to three bytes) read back
        /// whole, in key order, and by key.
        #[test]
        fn any_values_read_back(
            entries in proptest::collection::btree_map(
                proptest::sample::select(KEY_POOL.to_vec()),
                proptest::prop_oneof![
                    ".{0,70}",
                    "[é日a]{60,80}",
                    proptest::collection::vec(proptest::char::any(), 1000..1100)
                        .prop_map(|c| c.into_iter().collect::<String>()),
                    "x{4090,4100}",
                ],
                0..8,
            ),
        ) {
            let m = PackedMap::from_entries(entries.iter().map(|(k, v)| (*k, v.as_str())));
            let want: Vec<(&str, &str)> = entries.iter().map(|(k, v)| (*k, v.as_str())).collect();
            proptest::prop_assert_eq!(m.iter().collect::<Vec<_>>(), want);
            for (k, v) in &entries {
                proptest::prop_assert_eq!(m.get(k), Some(v.as_str()));
            }
            proptest::prop_assert_eq!(m.len(), entries.len());
        }
    }

    #[test]
    fn packs_sorted_and_reads_back() {
        let long = "x".repeat(300);
        let m = PackedMap::from_entries([("b", "2"), ("a", ""), ("c", long.as_str())]);
        assert_eq!(
            m.iter().collect::<Vec<_>>(),
            vec![("a", ""), ("b", "2"), ("c", long.as_str())]
        );
        assert_eq!(m.get("b"), Some("2"));
        assert_eq!(m.get("a"), Some(""));
        assert_eq!(m.get("z"), None);
        assert_eq!(m.len(), 3);
        assert!(PackedMap::from_entries([]).is_empty());
        assert_eq!(PackedMap::from_entries([]).heap_bytes(), 0);
        // An interned key takes one byte (unless another test filled the interner first).
        if key_id("probe").is_some() {
            assert_eq!(PackedMap::from_entries([("probe", "v")]).heap_bytes(), 3);
        }
    }

    #[test]
    fn keys_past_the_interner_bound_are_written_out() {
        let names: Vec<String> = (0..MAX_INTERNED + 5).map(|i| format!("k{i}")).collect();
        let m = PackedMap::from_entries(names.iter().map(|k| (k.as_str(), k.as_str())));
        let mut sorted: Vec<&str> = names.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        assert_eq!(
            m.iter().collect::<Vec<_>>(),
            sorted.iter().map(|k| (*k, *k)).collect::<Vec<_>>()
        );
        assert_eq!(m.get("k3"), Some("k3"));
    }
}
