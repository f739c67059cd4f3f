//! The stash: named in-memory key/value caches (`GetFromStash`, `SetInStash`) that parsers
//! fill through their `stash:` sections and read back in later events.
//!
//! Time never comes from the wall clock: the runtime advances the stash clock with
//! [`Stash::set_now`] (typically to each event's timestamp); entries expire when that clock
//! reaches their deadline. When a cache is full, its oldest entry is evicted.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use foldhash::HashMap;

use super::convert::{arg, arg_str};
use super::{Arity, Functions, native};
use crate::expr::value::Value;

#[derive(Debug, Default)]
struct Cache {
    size: usize,
    ttl_ns: i64,
    entries: HashMap<String, (String, i64)>,
    order: VecDeque<String>,
}

/// All named caches.
#[derive(Debug, Default)]
pub struct Stash {
    caches: Mutex<HashMap<String, Cache>>,
    now_ns: AtomicI64,
}

impl Stash {
    /// An empty stash, with no cache declared.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares the cache `name` holding at most `size` keys (0: unbounded) that expire
    /// `ttl_ns` nanoseconds after being set (0 or less: never). Redeclaring keeps the content.
    pub fn declare(&self, name: &str, size: usize, ttl_ns: i64) {
        let mut caches = self.caches.lock().unwrap_or_else(|e| e.into_inner());
        let c = caches.entry(name.to_owned()).or_default();
        c.size = size;
        c.ttl_ns = ttl_ns;
    }

    /// Whether any cache was declared (a parser or scenario keeps state across lines).
    pub fn has_caches(&self) -> bool {
        !self
            .caches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Sets the stash clock (nanoseconds since the Unix epoch).
    pub fn set_now(&self, now_ns: i64) {
        self.now_ns.store(now_ns, Ordering::Relaxed);
    }

    /// Stores `key = value` in cache `name` with `ttl_ns` (the cache's TTL when `None`).
    /// As in CrowdSec, setting into an undeclared cache does nothing.
    pub fn set(&self, name: &str, key: &str, value: &str, ttl_ns: Option<i64>) {
        let now = self.now_ns.load(Ordering::Relaxed);
        let mut caches = self.caches.lock().unwrap_or_else(|e| e.into_inner());
        let Some(c) = caches.get_mut(name) else {
            return;
        };
        let ttl = ttl_ns.unwrap_or(c.ttl_ns);
        let deadline = if ttl > 0 {
            now.saturating_add(ttl)
        } else {
            i64::MAX
        };
        if !c.entries.contains_key(key) {
            while c.size > 0 && c.entries.len() >= c.size {
                match c.order.pop_front() {
                    Some(old) => {
                        c.entries.remove(&old);
                    }
                    None => break,
                }
            }
            c.order.push_back(key.to_owned());
        }
        c.entries
            .insert(key.to_owned(), (value.to_owned(), deadline));
    }

    /// The value of `key` in cache `name`, if present and not expired.
    pub fn get(&self, name: &str, key: &str) -> Option<String> {
        let now = self.now_ns.load(Ordering::Relaxed);
        let caches = self.caches.lock().unwrap_or_else(|e| e.into_inner());
        let (v, deadline) = caches.get(name)?.entries.get(key)?;
        (now < *deadline).then(|| v.clone())
    }
}

/// Registers `GetFromStash` and `SetInStash` over `stash`.
pub(crate) fn register(f: &mut Functions, stash: &std::sync::Arc<Stash>) {
    let s = std::sync::Arc::clone(stash);
    f.register(
        "GetFromStash",
        Arity::Exact(2),
        native(move |a| {
            let (name, key) = (
                arg_str("GetFromStash", a, 0)?,
                arg_str("GetFromStash", a, 1)?,
            );
            Ok(Value::string(s.get(name, key).unwrap_or_default()))
        }),
    );
    let s = std::sync::Arc::clone(stash);
    f.register(
        "SetInStash",
        Arity::Range(3, 4),
        native(move |a| {
            let name = arg_str("SetInStash", a, 0)?;
            let key = arg_str("SetInStash", a, 1)?;
            let value = arg_str("SetInStash", a, 2)?;
            let ttl = match a.get(3) {
                None | Some(Value::Nil) => None,
                Some(Value::Duration(d)) => Some(*d),
                Some(_) => {
                    let v = arg("SetInStash", a, 3)?;
                    return Err(super::convert::type_error(
                        "SetInStash",
                        3,
                        "a time.Duration",
                        v,
                    ));
                }
            };
            s.set(name, key, value, ttl);
            Ok(Value::Nil)
        }),
    );
}
