//! The in-memory decision index, rebuilt from RocksDB at open.
//!
//! IP lookups use one hash map per prefix length (33 for IPv4, 129 for IPv6) from the masked
//! network to decision ids, so `?ip=` costs at most one probe per prefix length in use.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use foldhash::fast::RandomState;
use ipnet::IpNet;

use super::record::DecisionRecord;

type FastMap<K, V> = HashMap<K, V, RandomState>;

/// Parses a decision value into a network (`1.2.3.4` → `/32`, `10.0.0.0/8`), truncated.
pub fn parse_net(value: &str) -> Option<IpNet> {
    let v = value.trim();
    if v.contains('/') {
        v.parse::<IpNet>().ok().map(|n| n.trunc())
    } else {
        v.parse::<IpAddr>().ok().map(IpNet::from)
    }
}

/// One map per prefix length, with a count of entries per length to skip empty ones.
struct PrefixMaps<K> {
    maps: Vec<FastMap<K, Vec<i64>>>,
}

impl<K: std::hash::Hash + Eq + Copy> PrefixMaps<K> {
    fn new(lens: usize) -> Self {
        PrefixMaps {
            maps: (0..lens).map(|_| FastMap::default()).collect(),
        }
    }

    fn insert(&mut self, len: u8, key: K, id: i64) {
        if let Some(m) = self.maps.get_mut(usize::from(len)) {
            m.entry(key).or_default().push(id);
        }
    }

    fn remove(&mut self, len: u8, key: K, id: i64) {
        if let Some(m) = self.maps.get_mut(usize::from(len))
            && let Some(ids) = m.get_mut(&key)
        {
            ids.retain(|x| *x != id);
            if ids.is_empty() {
                m.remove(&key);
            }
        }
    }
}

fn mask4(addr: u32, len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        addr & (u32::MAX << (32 - u32::from(len)))
    }
}

fn mask6(addr: u128, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        addr & (u128::MAX << (128 - u32::from(len)))
    }
}

/// All retained decisions (active and tombstones) and their lookup structures.
pub struct Index {
    /// Every retained decision by id.
    pub recs: FastMap<i64, Arc<DecisionRecord>>,
    /// Decisions not yet tombstoned, by id (ordered: streams walk it).
    pub live: BTreeMap<i64, Arc<DecisionRecord>>,
    /// `(until_ms, id)` of live decisions, for the sweeper.
    pub expiry: BTreeSet<(i64, i64)>,
    /// Creation sequence → id, for every retained decision.
    pub add_seq: BTreeMap<u64, i64>,
    /// Deletion sequence → id, for tombstones.
    pub del_seq: BTreeMap<u64, i64>,
    /// Value → ids of every retained decision with that value.
    pub by_value: FastMap<String, Vec<i64>>,
    /// Ids whose value has more than one retained decision: only those can be shadowed by a
    /// longer one, so streams skip the `by_value` probe for every other decision.
    shared: HashSet<i64, RandomState>,
    v4: PrefixMaps<u32>,
    v6: PrefixMaps<u128>,
}

impl Default for Index {
    fn default() -> Self {
        Index {
            recs: FastMap::default(),
            live: BTreeMap::new(),
            expiry: BTreeSet::new(),
            add_seq: BTreeMap::new(),
            del_seq: BTreeMap::new(),
            by_value: FastMap::default(),
            shared: HashSet::default(),
            v4: PrefixMaps::new(33),
            v6: PrefixMaps::new(129),
        }
    }
}

impl Index {
    /// Adds a record (live or tombstone).
    pub fn insert(&mut self, rec: Arc<DecisionRecord>) {
        let id = rec.id;
        self.add_seq.insert(rec.seq, id);
        let ids = self.by_value.entry(rec.value.clone()).or_default();
        ids.push(id);
        match ids.len() {
            0 | 1 => {}
            2 => self.shared.extend(ids.iter().copied()),
            _ => {
                self.shared.insert(id);
            }
        }
        if rec.del_seq == 0 {
            self.link_live(&rec);
        } else {
            self.del_seq.insert(rec.del_seq, id);
        }
        self.recs.insert(id, rec);
    }

    fn link_live(&mut self, rec: &Arc<DecisionRecord>) {
        self.live.insert(rec.id, rec.clone());
        self.expiry.insert((rec.until_ms, rec.id));
        match parse_net(&rec.value) {
            Some(IpNet::V4(n)) => {
                self.v4
                    .insert(n.prefix_len(), u32::from(n.network()), rec.id);
            }
            Some(IpNet::V6(n)) => {
                self.v6
                    .insert(n.prefix_len(), u128::from(n.network()), rec.id);
            }
            None => {}
        }
    }

    fn unlink_live(&mut self, rec: &DecisionRecord) {
        self.live.remove(&rec.id);
        self.expiry.remove(&(rec.until_ms, rec.id));
        match parse_net(&rec.value) {
            Some(IpNet::V4(n)) => self
                .v4
                .remove(n.prefix_len(), u32::from(n.network()), rec.id),
            Some(IpNet::V6(n)) => self
                .v6
                .remove(n.prefix_len(), u128::from(n.network()), rec.id),
            None => {}
        }
    }

    /// Replaces a live record by its tombstone (same id).
    pub fn tombstone(&mut self, tomb: Arc<DecisionRecord>) {
        if let Some(old) = self.live.get(&tomb.id).cloned() {
            self.unlink_live(&old);
        }
        self.del_seq.insert(tomb.del_seq, tomb.id);
        self.recs.insert(tomb.id, tomb);
    }

    /// Forgets a record entirely (retention purge).
    pub fn purge(&mut self, id: i64) {
        let Some(rec) = self.recs.remove(&id) else {
            return;
        };
        if rec.del_seq == 0 {
            self.unlink_live(&rec);
        } else {
            self.del_seq.remove(&rec.del_seq);
        }
        self.add_seq.remove(&rec.seq);
        self.shared.remove(&id);
        if let Some(ids) = self.by_value.get_mut(&rec.value) {
            ids.retain(|x| *x != id);
            if let [last] = ids.as_slice() {
                self.shared.remove(last);
            }
            if ids.is_empty() {
                self.by_value.remove(&rec.value);
            }
        }
    }

    /// Live decision ids whose network relates to `q`: containing it (`contains`) or
    /// contained in it (`!contains`), same address family only.
    pub fn ip_lookup(&self, q: IpNet, contains: bool) -> Vec<i64> {
        let mut out = Vec::new();
        match q {
            IpNet::V4(n) => {
                let addr = u32::from(n.network());
                let qlen = n.prefix_len();
                if contains {
                    for len in 0..=qlen {
                        let m = &self.v4.maps[usize::from(len)];
                        if !m.is_empty()
                            && let Some(ids) = m.get(&mask4(addr, len))
                        {
                            out.extend_from_slice(ids);
                        }
                    }
                } else {
                    for len in qlen..=32 {
                        let m = &self.v4.maps[usize::from(len)];
                        if len == 32 && qlen == 32 {
                            if let Some(ids) = m.get(&addr) {
                                out.extend_from_slice(ids);
                            }
                            continue;
                        }
                        for (net, ids) in m {
                            if mask4(*net, qlen) == addr {
                                out.extend_from_slice(ids);
                            }
                        }
                    }
                }
            }
            IpNet::V6(n) => {
                let addr = u128::from(n.network());
                let qlen = n.prefix_len();
                if contains {
                    for len in 0..=qlen {
                        let m = &self.v6.maps[usize::from(len)];
                        if !m.is_empty()
                            && let Some(ids) = m.get(&mask6(addr, len))
                        {
                            out.extend_from_slice(ids);
                        }
                    }
                } else {
                    for len in qlen..=128 {
                        let m = &self.v6.maps[usize::from(len)];
                        if len == 128 && qlen == 128 {
                            if let Some(ids) = m.get(&addr) {
                                out.extend_from_slice(ids);
                            }
                            continue;
                        }
                        for (net, ids) in m {
                            if mask6(*net, qlen) == addr {
                                out.extend_from_slice(ids);
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// Whether `rec` is the longest decision of its (scope, type, value) among all retained
    /// ones (CrowdSec's `longestDecisionForScopeTypeValue`, ties broken by the highest id).
    pub fn is_longest(&self, rec: &DecisionRecord) -> bool {
        if !self.shared.contains(&rec.id) {
            return true;
        }
        let Some(ids) = self.by_value.get(&rec.value) else {
            return true;
        };
        ids.iter().all(|id| {
            if *id == rec.id {
                return true;
            }
            match self.recs.get(id) {
                Some(o) if o.scope == rec.scope && o.kind == rec.kind => {
                    o.until_ms < rec.until_ms || (o.until_ms == rec.until_ms && o.id < rec.id)
                }
                _ => true,
            }
        })
    }
}
