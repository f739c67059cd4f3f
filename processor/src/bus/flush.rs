//! The detect stage's flush: what the owned partitions did goes to the changelog in one
//! transaction per partition, then to RocksDB, then the group's offsets are committed.
//!
//! A transaction's commit takes round trips to the transaction coordinator (tens of ms, more
//! on a busy broker), so it runs on a thread of its own while the stage goes on with the next
//! events. A later flush writes the partition's RocksDB and offsets once the commit is done;
//! until then the partition is not staged again (its changes wait for the next flush, so a
//! slow broker makes transactions larger, not the stage slower). A partition's database
//! therefore lags its changelog by at most one transaction, which a restore catches up (it
//! reads the changelog from the database's stored position). The stage's last flush waits.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::thread::JoinHandle;

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::{Offset, TopicPartitionList};

use super::changelog;
use super::detect::{DetectContext, LINE_PREFIX, Part, offset_key};
use super::owner::{Owner, Queued, Written};
use super::{BusConfig, BusError, acked, kafka};
use crate::state::{Family, Op, prepare};

/// A partition's flush whose changelog transaction is being committed.
pub(super) struct InFlight {
    commit: JoinHandle<Result<bool, BusError>>,
    queued: Queued,
    /// The RocksDB writes of the flush (the changelog position is added once it is known).
    ops: Vec<Op>,
    /// The partition's next event offset as of the flush.
    next: i64,
}

/// How a flush treats transactions still committing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wait {
    /// Settle the finished ones; a partition whose commit is still running is not staged.
    No,
    /// Wait for every commit, stage every changed partition, and wait for those commits too
    /// (the stage's end).
    All,
}

/// Stores what the held partitions did: first the flushes in flight are settled (their
/// RocksDB batch written once their transaction committed; a partition whose transaction was
/// fenced, another processor having claimed it, is dropped unwritten and noted as fenced);
/// then, once the alerts and decisions sent so far are acknowledged, each changed partition
/// without a commit in flight has its keys and a marker queued in a transaction of its owner,
/// committed in the background. The group's offsets follow the RocksDB writes.
pub(super) async fn flush(
    consumer: &StreamConsumer<DetectContext>,
    cfg: &BusConfig,
    held: &mut Held,
    pending: &mut Vec<server_common::kafka::DeliveryFuture>,
    wait: Wait,
) -> Result<(), BusError> {
    let mut tpl = TopicPartitionList::new();
    settle(cfg, held, &mut tpl, wait).await?;
    commit_offsets(consumer, &tpl);
    if held
        .parts
        .values()
        .any(|p| p.dirty && p.in_flight.is_none())
    {
        acked(pending).await?;
        start_commits(cfg, &mut held.parts)?;
    }
    if wait == Wait::All {
        let mut tpl = TopicPartitionList::new();
        settle(cfg, held, &mut tpl, Wait::All).await?;
        commit_offsets(consumer, &tpl);
    }
    Ok(())
}

/// The partitions the stage holds, and those another processor claimed from it.
#[derive(Default)]
pub(super) struct Held {
    pub(super) parts: HashMap<i32, Part>,
    /// Partitions whose transaction was fenced: their records are left to the new owner
    /// until the group takes them from this processor.
    pub(super) fenced: HashSet<i32>,
}

impl Held {
    /// Whether a flush has something to do: a changed partition, or a commit to settle.
    pub(super) fn flush_needed(&self) -> bool {
        self.parts
            .values()
            .any(|p| p.dirty || p.in_flight.is_some())
    }
}

/// Queues each changed partition without a commit in flight in a transaction of its owner and
/// commits it on a thread of its own.
fn start_commits(cfg: &BusConfig, parts: &mut HashMap<i32, Part>) -> Result<(), BusError> {
    for (p, part) in parts
        .iter_mut()
        .filter(|(_, part)| part.dirty && part.in_flight.is_none())
    {
        let ops = stage(cfg, *p, part);
        let queued = part.owner.queue(&ops, part.next)?;
        let owner = Arc::clone(&part.owner);
        let commit = std::thread::Builder::new()
            .name(format!("changelog-{p}"))
            .spawn(move || {
                let t0 = std::time::Instant::now();
                let r = owner.commit();
                metrics::histogram!("hivewall_changelog_commit_seconds")
                    .record(t0.elapsed().as_secs_f64());
                r
            })
            .map_err(|e| BusError::Thread(e.to_string()))?;
        part.in_flight = Some(InFlight {
            commit,
            queued,
            ops,
            next: part.next,
        });
        part.dirty = false;
    }
    Ok(())
}

/// Commits the group's offsets of the partitions just written.
fn commit_offsets(consumer: &StreamConsumer<DetectContext>, tpl: &TopicPartitionList) {
    if tpl.count() > 0
        && let Err(e) = consumer.commit(tpl, CommitMode::Sync)
    {
        // The state is written; a lost commit only makes the next owner skip records.
        tracing::warn!(error = %e, "committing the group's offsets");
    }
}

/// The RocksDB writes of a partition's flush: changed buckets, offsets, line origins,
/// detector state and, when it decided something, the decision history.
fn stage(cfg: &BusConfig, p: i32, part: &mut Part) -> Vec<Op> {
    let scenarios = Arc::clone(part.pipeline.detector().scenarios());
    let mut cp = vec![(offset_key(&cfg.events_topic, p), part.next.to_string())];
    cp.extend(
        part.lines
            .iter()
            .map(|(lp, (lo, k))| (format!("{LINE_PREFIX}{lp}"), format!("{lo}/{k}"))),
    );
    // The decision history goes in the same batch as the buckets and offsets it follows.
    let history = if part.decided {
        part.pipeline.history_snapshot()
    } else {
        None
    };
    part.decided = false;
    let detector = part.pipeline.detector().state();
    prepare(
        part.pipeline.store_mut(),
        &scenarios,
        &cp,
        part.idle.stored(),
        Some(&detector),
        history.as_deref(),
    )
}

/// Writes the flushes in flight whose commit is done (with `Wait::All`, all of them, waiting)
/// to RocksDB, adding their offsets to `tpl`.
async fn settle(
    cfg: &BusConfig,
    held: &mut Held,
    tpl: &mut TopicPartitionList,
    wait: Wait,
) -> Result<(), BusError> {
    let Held { parts, fenced } = held;
    let flights: Vec<(i32, InFlight)> = parts
        .iter_mut()
        .filter(|(_, part)| {
            part.in_flight
                .as_ref()
                .is_some_and(|f| wait == Wait::All || f.commit.is_finished())
        })
        .filter_map(|(p, part)| Some((*p, part.in_flight.take()?)))
        .collect();
    for (p, flight) in flights {
        let t0 = std::time::Instant::now();
        let committed = tokio::task::block_in_place(|| flight.commit.join())
            .map_err(|_| BusError::Thread("a changelog commit panicked".into()))??;
        let waited = t0.elapsed();
        metrics::histogram!("hivewall_changelog_commit_wait_seconds").record(waited.as_secs_f64());
        tracing::debug!(
            partition = p,
            waited_ms = waited.as_millis() as u64,
            "changelog flush settled"
        );
        let at = match Owner::settled(flight.queued, committed).await? {
            Written::At(at) => at,
            Written::Fenced => {
                tracing::warn!(
                    partition = p,
                    "another processor claimed this partition: its state here is released \
                     unwritten, its records are left to the new owner"
                );
                metrics::counter!("hivewall_partitions_fenced_total").increment(1);
                parts.remove(&p);
                fenced.insert(p);
                continue;
            }
        };
        let mut ops = flight.ops;
        ops.push(Op::put(
            Family::Checkpoints,
            changelog::position_key(&cfg.state_topic, p),
            (at + 1).to_string(),
        ));
        let Some(part) = parts.get(&p) else { continue };
        part.db.apply(&ops)?;
        tpl.add_partition_offset(&cfg.events_topic, p, Offset::Offset(flight.next))
            .map_err(kafka("listing offsets"))?;
    }
    Ok(())
}
