//! The bouncer stream (`GET /v1/decisions/stream`), produced page by page so a body of a
//! million decisions never exists in memory at once: each page takes the index read lock,
//! writes up to [`PAGE`] decisions as JSON into a buffer and releases the lock.

use std::ops::Bound;

use super::Store;
use super::filter::DecisionFilter;
use super::index::Index;
use super::record::DecisionRecord;
use crate::godur;

/// Decisions written per page.
pub const PAGE: usize = 2000;
/// Index entries examined per page at most (bounds the time the read lock is held).
const SCAN: usize = 20_000;

/// Startup pull (everything) or delta (changes since the bouncer's cursor).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    /// `startup=true`: all active decisions and the retained deleted ones.
    Startup,
    /// Changes since the cursor.
    Delta {
        /// The bouncer's cursor (last sequence number delivered).
        cursor: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Open,
    New,
    Between,
    Deleted,
    Close,
    Done,
}

/// Produces a stream body in chunks; call [`StreamWriter::next_chunk`] until it returns `None`.
pub struct StreamWriter {
    store: Store,
    kind: StreamKind,
    filter: DecisionFilter,
    now: i64,
    now_ns: i128,
    /// The sequence number the stream is consistent with (the next cursor).
    snapshot: u64,
    phase: Phase,
    pos: Option<i64>,
    need_comma: bool,
}

impl StreamWriter {
    /// A stream over `store` as of now.
    pub fn new(store: Store, kind: StreamKind, filter: DecisionFilter) -> Self {
        let snapshot = store.last_seq();
        StreamWriter {
            store,
            kind,
            filter,
            now: godur::now_ms(),
            now_ns: godur::now_ns(),
            snapshot,
            phase: Phase::Open,
            pos: None,
            need_comma: false,
        }
    }

    /// The cursor to save once the whole body was sent.
    pub fn snapshot(&self) -> u64 {
        self.snapshot
    }

    /// The next piece of the body, `None` at the end.
    pub fn next_chunk(&mut self) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(if matches!(self.phase, Phase::New | Phase::Deleted) {
            PAGE * 256
        } else {
            64
        });
        match self.phase {
            Phase::Open => {
                out.extend_from_slice(b"{\"new\":[");
                self.phase = Phase::New;
            }
            Phase::New | Phase::Deleted => {
                let done = self.page(&mut out);
                if done {
                    self.phase = if self.phase == Phase::New {
                        Phase::Between
                    } else {
                        Phase::Close
                    };
                    self.pos = None;
                    self.need_comma = false;
                }
            }
            Phase::Between => {
                out.extend_from_slice(b"],\"deleted\":[");
                self.phase = Phase::Deleted;
            }
            Phase::Close => {
                out.extend_from_slice(b"]}");
                self.phase = Phase::Done;
            }
            Phase::Done => return None,
        }
        Some(out)
    }

    /// Writes one page of the current phase; returns true when the phase is exhausted.
    fn page(&mut self, out: &mut Vec<u8>) -> bool {
        let store = self.store.clone();
        let index = store.index();
        let mut written = 0;
        let mut scanned = 0;
        let new = self.phase == Phase::New;
        // (position key, record) pairs in order, starting after `pos`.
        let lower = self.pos.map_or(Bound::Unbounded, Bound::Excluded);
        let mut emit = |key: i64, r: &DecisionRecord, this: &mut Self, idx: &Index| -> bool {
            this.pos = Some(key);
            scanned += 1;
            let wanted = if new {
                r.is_active(this.now)
            } else {
                !r.is_active(this.now)
            };
            if wanted && this.filter.matches(r) && this.filter.matches_range(r) && idx.is_longest(r)
            {
                if this.need_comma {
                    out.push(b',');
                }
                this.need_comma = true;
                r.write_bouncer_json(this.now_ns, out);
                written += 1;
            }
            written >= PAGE || scanned >= SCAN
        };
        let seq_bound = |b: Bound<i64>| match b {
            Bound::Excluded(v) => Bound::Excluded(u64::try_from(v).unwrap_or(0)),
            _ => Bound::Unbounded,
        };
        match (self.kind, new) {
            (StreamKind::Startup, true) => {
                for (id, r) in index.live.range((lower, Bound::Unbounded)) {
                    if emit(*id, r, self, &index) {
                        return false;
                    }
                }
            }
            (StreamKind::Startup, false) => {
                let upper = Bound::Included(self.snapshot);
                for (seq, id) in index.del_seq.range((seq_bound(lower), upper)) {
                    if let Some(r) = index.recs.get(id)
                        && emit(i64::try_from(*seq).unwrap_or(i64::MAX), r, self, &index)
                    {
                        return false;
                    }
                }
            }
            (StreamKind::Delta { cursor }, is_new) => {
                let start = match seq_bound(lower) {
                    Bound::Excluded(v) => Bound::Excluded(v.max(cursor)),
                    _ => Bound::Excluded(cursor),
                };
                let map = if is_new {
                    &index.add_seq
                } else {
                    &index.del_seq
                };
                if cursor >= self.snapshot {
                    return true;
                }
                for (seq, id) in map.range((start, Bound::Included(self.snapshot))) {
                    if let Some(r) = index.recs.get(id)
                        && emit(i64::try_from(*seq).unwrap_or(i64::MAX), r, self, &index)
                    {
                        return false;
                    }
                }
            }
        }
        true
    }
}
