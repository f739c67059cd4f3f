//! The reader thread: polls both topics and applies what it reads, batch by batch, to the
//! view, the store and the bouncer table, under the replica's state lock (so whoever sees a
//! position also sees the store written up to it).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::consumer::BaseConsumer;
use tokio_util::sync::CancellationToken;

use super::record::{self, RecordError};
use super::{BusError, Replica, State};
use crate::godur;
use crate::store::{DEFAULT_RETENTION_MS, ExternalChange, Store, StoreError};

/// Records applied in one batch at most.
const BATCH: usize = 5000;
/// How often superseded versions are purged from the view.
const PURGE_EVERY: Duration = Duration::from_secs(60);

/// One record, copied out of librdkafka's buffer.
struct Rec {
    decisions: bool,
    partition: usize,
    offset: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
}

/// Starts the reader thread. `high`: the high watermarks at start (decisions, bouncers);
/// the replica is ready once it has read up to them.
pub(super) fn spawn(
    replica: Replica,
    consumer: Arc<BaseConsumer>,
    high: Vec<Vec<i64>>,
    shutdown: CancellationToken,
) -> Result<std::thread::JoinHandle<()>, BusError> {
    std::thread::Builder::new()
        .name("api-replica".to_string())
        .spawn(move || {
            run(&replica, &consumer, &high, &shutdown);
            // Closed before saying so: with the brokers down, closing can take a while.
            drop(consumer);
            replica.shared.stopped.store(true, Ordering::Release);
            replica.shared.progress.send_modify(|n| *n += 1);
        })
        .map_err(|e| BusError::Config(format!("starting the reader thread: {e}")))
}

fn run(
    replica: &Replica,
    consumer: &BaseConsumer,
    high: &[Vec<i64>],
    shutdown: &CancellationToken,
) {
    let decisions_topic = replica.shared.cfg.decisions_topic.clone();
    let mut last_purge = Instant::now();
    let empty = Vec::new();
    let (high_d, high_b) = (
        high.first().unwrap_or(&empty),
        high.get(1).unwrap_or(&empty),
    );
    while !shutdown.is_cancelled() {
        let mut batch = Vec::new();
        let mut timeout = Duration::from_millis(100);
        while batch.len() < BATCH {
            match consumer.poll(timeout) {
                None => break,
                Some(Ok(m)) => batch.push(Rec {
                    decisions: m.topic() == decisions_topic,
                    partition: usize::try_from(m.partition()).unwrap_or(usize::MAX),
                    offset: m.offset(),
                    key: m.key().map(<[u8]>::to_vec),
                    value: m.payload().map(<[u8]>::to_vec),
                }),
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "reading the decision topics");
                    break;
                }
            }
            timeout = Duration::ZERO;
        }
        let purge = last_purge.elapsed() >= PURGE_EVERY;
        if batch.is_empty() && !purge && replica.is_ready() {
            continue;
        }
        let mut st = replica.state();
        if let Err(e) = apply(&replica.shared.store, &mut st, batch) {
            // The store cannot be written: serving stale answers would be worse than none.
            tracing::error!(error = %e, "applying decision records failed; replica stops");
            return;
        }
        if purge {
            last_purge = Instant::now();
            let n = st
                .view
                .purge(godur::now_ms().saturating_sub(DEFAULT_RETENTION_MS));
            if n > 0 {
                tracing::debug!(versions = n, "purged superseded decision versions");
            }
        }
        if !replica.is_ready() {
            let caught_up = |pos: &[i64], high: &[i64]| high.iter().zip(pos).all(|(h, p)| p >= h);
            if caught_up(st.view.positions(), high_d) && caught_up(&st.bouncer_positions, high_b) {
                replica.shared.ready.store(true, Ordering::Release);
                tracing::info!(
                    decisions = st.view.live_count(godur::now_ms()),
                    "decision topic loaded"
                );
            }
        }
        drop(st);
        replica.shared.progress.send_modify(|n| *n += 1);
    }
}

fn count(result: &'static str, n: u64) {
    metrics::counter!("hivewall_replica_records_total", "result" => result).increment(n);
}

/// Applies a batch to the view, the store and the bouncer table.
fn apply(store: &Store, st: &mut State, batch: Vec<Rec>) -> Result<(), StoreError> {
    let now = godur::now_ms();
    let mut changes = Vec::new();
    for r in batch {
        if !r.decisions {
            apply_bouncer(store, st, r)?;
            continue;
        }
        let Some(key) = r.key.as_deref().map(String::from_utf8_lossy) else {
            count("invalid", 1);
            tracing::warn!(
                partition = r.partition,
                offset = r.offset,
                "{}",
                RecordError::NoKey
            );
            st.view.skip(r.partition, r.offset);
            continue;
        };
        let value = r.value.as_deref().filter(|v| !v.is_empty());
        let Some(value) = value else {
            // A tombstone: the key has no decision any more.
            if let Some(applied) = st.view.apply(r.partition, r.offset, &key, None, now) {
                count("tombstone", 1);
                if let Some(p) = applied.before {
                    changes.push(ExternalChange::Remove(p.id));
                }
            }
            continue;
        };
        match record::decode_decision(&key, value) {
            Ok((rec, alert)) => {
                let rec = Arc::new(rec);
                let Some(applied) =
                    st.view
                        .apply(r.partition, r.offset, &key, Some(rec.clone()), now)
                else {
                    continue;
                };
                if !applied.after.as_ref().is_some_and(|a| Arc::ptr_eq(a, &rec)) {
                    // It ends before the key's decision, which stays in force (as `run` serves
                    // the longest decision of a value).
                    count("shadowed", 1);
                    continue;
                }
                let prev = applied.before;
                if let Some(p) = &prev
                    && p.id != rec.id
                {
                    changes.push(ExternalChange::Remove(p.id));
                }
                if rec.until_ms > now {
                    count("applied", 1);
                    changes.push(ExternalChange::Upsert(
                        crate::store::record::DecisionRecord::clone(&rec),
                        Box::new(alert),
                    ));
                } else {
                    count("expired", 1);
                    if prev.is_some_and(|p| p.id == rec.id) {
                        changes.push(ExternalChange::Remove(rec.id));
                    }
                }
            }
            Err(e) => {
                count(
                    if matches!(e, RecordError::Version(..)) {
                        "unknown_version"
                    } else {
                        "invalid"
                    },
                    1,
                );
                tracing::warn!(partition = r.partition, offset = r.offset, key = %key, "decision record skipped: {e}");
                st.view.skip(r.partition, r.offset);
            }
        }
    }
    store.apply_external(changes)
}

fn apply_bouncer(store: &Store, st: &mut State, r: Rec) -> Result<(), StoreError> {
    let Some(pos) = st.bouncer_positions.get_mut(r.partition) else {
        return Ok(());
    };
    if r.offset < *pos {
        return Ok(());
    }
    *pos = r.offset + 1;
    let Some(name) = r.key.as_deref().map(String::from_utf8_lossy) else {
        tracing::warn!(offset = r.offset, "bouncer record without a key skipped");
        return Ok(());
    };
    match r.value.as_deref().filter(|v| !v.is_empty()) {
        None => {
            st.cursors.remove(name.as_ref());
            store.remove_bouncer_external(&name)
        }
        Some(v) => match record::decode_bouncer(v) {
            Ok(entry) if entry.bouncer.name == name => {
                match entry.cursor {
                    Some(c) => st.cursors.insert(name.to_string(), c),
                    None => st.cursors.remove(name.as_ref()),
                };
                store.put_bouncer_external(entry.bouncer)
            }
            Ok(_) => {
                tracing::warn!(bouncer = %name, "bouncer record whose name differs from its key skipped");
                Ok(())
            }
            Err(e) => {
                tracing::warn!(bouncer = %name, "bouncer record skipped: {e}");
                Ok(())
            }
        },
    }
}
