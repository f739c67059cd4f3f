//! The writes of one commit as plain data: what RocksDB applies in one batch and what the
//! distributed processor copies to its changelog topic, so that another process can rebuild
//! the same database from the topic.

/// A column family of the state database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// Buckets: scenario name, NUL, group → deadline and the bucket.
    Buckets,
    /// Source positions.
    Checkpoints,
    /// Watermark, detector state, decision history.
    Meta,
}

impl Family {
    pub(super) fn cf_name(self) -> &'static str {
        match self {
            Family::Buckets => super::CF_BUCKETS,
            Family::Checkpoints => super::CF_CHECKPOINTS,
            Family::Meta => super::CF_META,
        }
    }

    fn tag(self) -> u8 {
        match self {
            Family::Buckets => b'b',
            Family::Checkpoints => b'c',
            Family::Meta => b'm',
        }
    }

    fn from_tag(t: u8) -> Option<Family> {
        match t {
            b'b' => Some(Family::Buckets),
            b'c' => Some(Family::Checkpoints),
            b'm' => Some(Family::Meta),
            _ => None,
        }
    }
}

/// One write: a value put under a key, or the key deleted (`value: None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    /// Where.
    pub family: Family,
    /// The key in that family.
    pub key: Vec<u8>,
    /// The new value; `None` deletes the key.
    pub value: Option<Vec<u8>>,
}

impl Op {
    /// A put.
    pub fn put(family: Family, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Op {
        Op {
            family,
            key: key.into(),
            value: Some(value.into()),
        }
    }

    /// The key of this write as one byte string: the family's tag, then the key. Records of
    /// one key replace each other on a compacted topic; a delete is a tombstone.
    pub fn record_key(&self) -> Vec<u8> {
        let mut k = Vec::with_capacity(1 + self.key.len());
        k.push(self.family.tag());
        k.extend_from_slice(&self.key);
        k
    }

    /// The write a changelog record stands for; `None` for a key no family has (the
    /// changelog's own markers, or a record of a newer version).
    pub fn from_record(key: &[u8], value: Option<&[u8]>) -> Option<Op> {
        let (&tag, rest) = key.split_first()?;
        Some(Op {
            family: Family::from_tag(tag)?,
            key: rest.to_vec(),
            value: value.map(<[u8]>::to_vec),
        })
    }
}
