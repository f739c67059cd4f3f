//! The detect stage's changelog: every write to a partition's RocksDB is also a record on the
//! compacted topic `hivewall.state`, in the partition of the same number, so that the next
//! owner of a partition (after a rebalance or a lost machine) rebuilds the same database.
//!
//! A flush writes the changed keys, then a marker (key [`MARKER`]); the local database records
//! how far into the changelog it is (checkpoint `changelog:TOPIC:PARTITION`) in the batch that
//! applies the records. Restoring applies the records from that position up to the last
//! marker. Records after the last marker are a flush cut short by a crash: they describe
//! events whose offset was never stored, so the restorer writes a repair group (each of those
//! keys back to its value as of the last marker, or a tombstone) and a marker before it goes
//! on. Compaction keeps the last value of every key and the last marker, which is all a
//! restore from offset 0 needs.
//!
//! The detect stage writes each flush in a transaction of the partition's owner
//! (`super::owner`), and the restorer reads committed records only: a flush cut short by a
//! crash is then aborted when the next owner claims the partition, and the repair only ever
//! meets changelogs written without transactions.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::FutureRecord;
use rdkafka::{Message, Offset, TopicPartitionList};
use server_common::kafka::{DeliveryFuture, FutureProducer};

use super::owner::{Owner, Written};
use super::{BusConfig, BusError, kafka};
use crate::StateDb;
use crate::state::{Family, Op};

/// Key of the record that closes a flush (its value: the partition's next event offset).
pub(crate) const MARKER: &[u8] = b"!commit";

/// How many records a restore applies in one RocksDB batch.
const CHUNK: usize = 8192;

/// Checkpoint key of a database's position in its changelog partition.
pub(crate) fn position_key(topic: &str, partition: i32) -> String {
    format!("changelog:{topic}:{partition}")
}

/// Queues `ops`, then a marker, to `partition` of the changelog; the deliveries of the ops go
/// to `pending`, the marker's is returned (its offset is the new position).
pub(crate) fn publish(
    producer: &FutureProducer,
    topic: &str,
    partition: i32,
    ops: &[Op],
    next: i64,
    pending: &mut Vec<DeliveryFuture>,
) -> Result<DeliveryFuture, BusError> {
    for op in ops {
        let key = op.record_key();
        let mut rec = FutureRecord::<[u8], [u8]>::to(topic)
            .partition(partition)
            .key(&key);
        if let Some(v) = &op.value {
            rec = rec.payload(v);
        }
        pending.push(
            producer
                .send_result(rec)
                .map_err(|(e, _)| kafka("queueing a changelog record")(e))?,
        );
    }
    let next = next.to_string();
    let rec = FutureRecord::<[u8], [u8]>::to(topic)
        .partition(partition)
        .key(MARKER)
        .payload(next.as_bytes());
    producer
        .send_result(rec)
        .map_err(|(e, _)| kafka("queueing a changelog marker")(e))
}

/// Writes `ops` and a marker to `partition` of `cfg.state_topic` and waits for them: what a
/// flush of the detect stage writes (for tools and benchmarks that build a changelog).
pub async fn publish_ops(
    cfg: &BusConfig,
    producer: &FutureProducer,
    partition: i32,
    ops: &[Op],
    next: i64,
) -> Result<i64, BusError> {
    let mut pending = Vec::new();
    for chunk in ops.chunks(50_000) {
        let marker = publish(
            producer,
            &cfg.state_topic,
            partition,
            chunk,
            next,
            &mut pending,
        )?;
        super::acked(&mut pending).await?;
        marker_offset(marker).await?;
    }
    let marker = publish(
        producer,
        &cfg.state_topic,
        partition,
        &[],
        next,
        &mut pending,
    )?;
    marker_offset(marker).await
}

/// Claims `partition` of the changelog (fencing its earlier owners) and brings `db` up to
/// its end, as the detect stage does when it is assigned the partition. Blocking (run it
/// where blocking is allowed, inside a Tokio multi-threaded runtime: a repair waits for its
/// records with the runtime's handle).
pub fn restore_partition(
    cfg: &BusConfig,
    db: &StateDb,
    partition: i32,
) -> Result<RestoreStats, BusError> {
    let owner = Owner::claim(cfg, partition)?;
    restore(cfg, &owner, db, partition)
}

/// The offset a marker was written at.
pub(crate) async fn marker_offset(f: DeliveryFuture) -> Result<i64, BusError> {
    match f.await {
        Ok(Ok(d)) => Ok(d.offset),
        Ok(Err((e, _))) => Err(kafka("changelog delivery")(e)),
        Err(_) => Err(kafka("changelog delivery")(
            rdkafka::error::KafkaError::Canceled,
        )),
    }
}

/// What a restore did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RestoreStats {
    /// Changelog records applied.
    pub applied: u64,
    /// Records of a flush cut short, repaired.
    pub repaired: u64,
    /// Time taken.
    pub took: Duration,
}

/// Brings `db` (the state of `partition`) up to the end of its changelog partition. Blocking:
/// run it off the async workers.
pub(crate) fn restore(
    cfg: &BusConfig,
    owner: &Owner,
    db: &StateDb,
    partition: i32,
) -> Result<RestoreStats, BusError> {
    let t0 = Instant::now();
    let topic = cfg.state_topic.as_str();
    let pos_key = position_key(topic, partition);
    let pos: i64 = db
        .get(Family::Checkpoints, pos_key.as_bytes())?
        .and_then(|v| std::str::from_utf8(&v).ok()?.parse().ok())
        .unwrap_or(0);
    let consumer: BaseConsumer = cfg
        .consumer(&format!("{}-restore", cfg.detect_group))
        .set("enable.partition.eof", "true")
        // Aborted and fenced flushes are not part of the state.
        .set("isolation.level", "read_committed")
        // The reader stops at the end: no fetch should wait there for more.
        .set("fetch.wait.max.ms", "10")
        .create()
        .map_err(kafka("creating the changelog reader"))?;
    let (low, high) = consumer
        .fetch_watermarks(topic, partition, Duration::from_secs(30))
        .map_err(kafka("reading the changelog's offsets"))?;
    let start = pos.max(low);
    let mut stats = RestoreStats::default();
    if start >= high {
        return Ok(stats);
    }
    let last_marker = find_last_marker(&consumer, topic, partition, start, high)?;
    let mut chunk: Vec<Op> = Vec::with_capacity(CHUNK);
    let mut tail: Vec<Vec<u8>> = Vec::new();
    read_range(
        &consumer,
        topic,
        partition,
        start,
        high,
        |offset, key, value| {
            if last_marker.is_some_and(|m| offset <= m) {
                if let Some(op) = Op::from_record(key, value) {
                    chunk.push(op);
                    stats.applied += 1;
                }
                if chunk.len() >= CHUNK || Some(offset) == last_marker {
                    chunk.push(Op::put(
                        Family::Checkpoints,
                        pos_key.as_bytes(),
                        (offset + 1).to_string(),
                    ));
                    db.apply(&chunk)?;
                    chunk.clear();
                }
            } else if key != MARKER {
                tail.push(key.to_vec());
            }
            Ok(())
        },
    )?;
    if !tail.is_empty() {
        stats.repaired = tail.len() as u64;
        repair(cfg, owner, db, tail)?;
    }
    stats.took = t0.elapsed();
    Ok(stats)
}

/// Writes each key of a cut-short flush back to its stored value, then a marker.
fn repair(
    cfg: &BusConfig,
    owner: &Owner,
    db: &StateDb,
    tail: Vec<Vec<u8>>,
) -> Result<(), BusError> {
    let partition = owner.partition();
    let mut seen = HashSet::new();
    let mut ops = Vec::new();
    for key in tail {
        if !seen.insert(key.clone()) {
            continue;
        }
        let Some(mut op) = Op::from_record(&key, None) else {
            continue;
        };
        op.value = db.get(op.family, &op.key)?;
        ops.push(op);
    }
    let next = db
        .get(
            Family::Checkpoints,
            super::detect::offset_key(&cfg.events_topic, partition).as_bytes(),
        )?
        .and_then(|v| std::str::from_utf8(&v).ok()?.parse().ok())
        .unwrap_or(0);
    let at = match owner.write(&ops, next)? {
        Written::At(at) => at,
        Written::Fenced => return Err(BusError::Fenced(partition)),
    };
    db.apply(&[Op::put(
        Family::Checkpoints,
        position_key(&cfg.state_topic, partition).into_bytes(),
        (at + 1).to_string(),
    )])?;
    Ok(())
}

/// The offset of the last marker in `[start, high)`, read backwards in growing windows (the
/// records after it are at most one flush).
fn find_last_marker(
    consumer: &BaseConsumer,
    topic: &str,
    partition: i32,
    start: i64,
    high: i64,
) -> Result<Option<i64>, BusError> {
    let mut window = 4096;
    let mut hi = high;
    while hi > start {
        let lo = (hi - window).max(start);
        let mut last = None;
        read_range(consumer, topic, partition, lo, hi, |offset, key, _| {
            if key == MARKER {
                last = Some(offset);
            }
            Ok(())
        })?;
        if last.is_some() {
            return Ok(last);
        }
        hi = lo;
        window *= 2;
    }
    Ok(None)
}

/// Calls `f` with each record of `[from, to)` (compaction may leave gaps).
fn read_range(
    consumer: &BaseConsumer,
    topic: &str,
    partition: i32,
    from: i64,
    to: i64,
    mut f: impl FnMut(i64, &[u8], Option<&[u8]>) -> Result<(), BusError>,
) -> Result<(), BusError> {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Offset(from))
        .map_err(kafka("positioning the changelog reader"))?;
    consumer
        .assign(&tpl)
        .map_err(kafka("positioning the changelog reader"))?;
    let deadline_gap = Duration::from_secs(60);
    let mut last_progress = Instant::now();
    loop {
        match consumer.poll(Duration::from_millis(500)) {
            None => {
                if last_progress.elapsed() > deadline_gap {
                    return Err(kafka("reading the changelog")(
                        rdkafka::error::KafkaError::MessageConsumption(
                            rdkafka::types::RDKafkaErrorCode::OperationTimedOut,
                        ),
                    ));
                }
            }
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => return Ok(()),
            Some(Err(e)) => return Err(kafka("reading the changelog")(e)),
            Some(Ok(m)) => {
                last_progress = Instant::now();
                if m.offset() >= to {
                    return Ok(());
                }
                let key = m.key().unwrap_or_default();
                f(m.offset(), key, m.payload())?;
                if m.offset() + 1 >= to {
                    return Ok(());
                }
            }
        }
    }
}
