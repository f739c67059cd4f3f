//! [`FieldKey`]: a key of an event's string maps (`evt.Parsed.x`, `meta: x`), tagged once.
//!
//! Looking a key up in [`crate::event::StrMap`] compares *tags*: the key's first 15 bytes and
//! its length in one [`KeyTag`]. Keys of at most 15 bytes (nearly all: `source_ip`,
//! `http_user_agent`, `log_type`) are equal exactly when their tags are, so no string is
//! compared; longer ones compare their text once the tags agree. A compiled expression or
//! static knows its keys in advance, so it computes their tags once, at load, instead of on
//! every read and write of every line.

use std::fmt;
use std::ops::Deref;
use std::sync::atomic::{AtomicU8, Ordering};

/// How many leading bytes of a key its tag holds (the 16th byte is the length).
pub const TAG_BYTES: usize = 15;

/// 16 bytes as two words, not a `u128`: a `u128` would make every map entry, map and event
/// 16-byte aligned, and an allocation aligned past 8 bytes takes mimalloc's slow path.
pub type KeyTag = [u64; 2];

/// The tag of `key`: its first [`TAG_BYTES`] bytes (zero-padded) and its length (saturated
/// at 255) in the last byte. Equal keys have equal tags; keys of at most [`TAG_BYTES`] bytes
/// with equal tags are equal.
#[inline]
pub fn key_tag(key: &str) -> KeyTag {
    let b = key.as_bytes();
    let mut t = [0u8; 16];
    let n = b.len().min(TAG_BYTES);
    t[..n].copy_from_slice(&b[..n]);
    t[TAG_BYTES] = u8::try_from(b.len()).unwrap_or(u8::MAX);
    let (lo, hi) = t.split_at(8);
    [
        u64::from_le_bytes(lo.try_into().unwrap_or_default()),
        u64::from_le_bytes(hi.try_into().unwrap_or_default()),
    ]
}

/// A map key with its [`key_tag`] computed once. Reads as the key text (`Deref<Target = str>`).
///
/// It also remembers where it was last found in a map ([`Self::hint`]): the events one
/// parser chain builds hold their keys in the same order, so a compiled read usually finds
/// its key at that index without scanning. Only a hint: a wrong one costs one comparison.
pub struct FieldKey {
    tag: KeyTag,
    name: Box<str>,
    hint: AtomicU8,
}

impl Clone for FieldKey {
    fn clone(&self) -> Self {
        FieldKey {
            tag: self.tag,
            name: self.name.clone(),
            hint: AtomicU8::new(self.hint()),
        }
    }
}

impl PartialEq for FieldKey {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for FieldKey {}

impl FieldKey {
    /// The key `name`, tagged.
    pub fn new(name: &str) -> Self {
        FieldKey {
            tag: key_tag(name),
            name: name.into(),
            hint: AtomicU8::new(0),
        }
    }

    /// The index at which a map last held this key (0 at first).
    #[inline]
    pub fn hint(&self) -> u8 {
        self.hint.load(Ordering::Relaxed)
    }

    /// Remembers that a map held this key at `index` (ignored past 255).
    #[inline]
    pub fn set_hint(&self, index: usize) {
        if let Ok(i) = u8::try_from(index) {
            self.hint.store(i, Ordering::Relaxed);
        }
    }

    /// Its [`key_tag`].
    #[inline]
    pub fn tag(&self) -> KeyTag {
        self.tag
    }

    /// The key text.
    #[inline]
    pub fn as_str(&self) -> &str {
        &self.name
    }
}

impl Deref for FieldKey {
    type Target = str;

    fn deref(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for FieldKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.name, f)
    }
}

impl fmt::Display for FieldKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl PartialEq<str> for FieldKey {
    fn eq(&self, other: &str) -> bool {
        *self.name == *other
    }
}

impl PartialEq<&str> for FieldKey {
    fn eq(&self, other: &&str) -> bool {
        *self.name == **other
    }
}

impl From<&str> for FieldKey {
    fn from(name: &str) -> Self {
        FieldKey::new(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Tags never tell equal keys apart, and tell every pair of short distinct keys apart
        /// (so short keys need no text comparison).
        #[test]
        fn tags_decide_short_keys(a in "[ab_]{0,17}", b in "[ab_]{0,17}") {
            let (ta, tb) = (key_tag(&a), key_tag(&b));
            if a == b {
                prop_assert_eq!(ta, tb);
            }
            if a.len() <= TAG_BYTES && b.len() <= TAG_BYTES {
                prop_assert_eq!(ta == tb, a == b);
            }
        }
    }

    #[test]
    fn long_keys_share_tags_only_when_their_prefix_and_length_agree() {
        let a = "http_path_normalized";
        let b = "http_path_normalizes";
        assert_eq!(key_tag(a), key_tag(b), "same 15 bytes, same length");
        assert_ne!(key_tag(a), key_tag("http_path_normalize"));
        assert_eq!(FieldKey::new(a).tag(), key_tag(a));
        assert_eq!(&*FieldKey::new(a), a);
    }
}
