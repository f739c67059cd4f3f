//! The parse stage: lines → parsed, routed events.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use engine::clock::Clock;
use engine::event::{Event, ExpectMode};
use engine::pipeline::{Pipeline, Setup};
use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Headers;
use rdkafka::producer::BaseRecord;
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::deliveries::{Acks, Counting, CountingProducer};
use super::next::{Next, next};
use super::{BusConfig, BusError, kafka};
use crate::sources::Sources;

/// How long the events producer waits to fill a batch (`linger.ms`).
const EVENTS_LINGER_MS: &str = "50";

/// What the parse stage did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseStats {
    /// Line records read.
    pub lines: u64,
    /// Records that were not a line of a known version (counted, skipped).
    pub bad_records: u64,
    /// Event records written.
    pub events: u64,
    /// When the first record was read (wall clock).
    pub first: Option<std::time::SystemTime>,
    /// When the last record was done with (wall clock).
    pub last: Option<std::time::SystemTime>,
}

/// Runs the parse stage until `shutdown` (`idle_exit`: or until no record came for that
/// long, for tests and one-shot runs).
pub async fn run_parse(
    setup: &Setup,
    clock: Arc<dyn Clock>,
    cfg: &BusConfig,
    idle_exit: Option<Duration>,
    shutdown: CancellationToken,
) -> Result<ParseStats, BusError> {
    let mut pipeline = Pipeline::load(setup, clock)?;
    for w in &pipeline.warnings {
        tracing::warn!("{w}");
    }
    let scenarios = Arc::clone(pipeline.detector().scenarios());
    let consumer: Arc<StreamConsumer> = Arc::new(
        cfg.consumer(&cfg.parse_group)
            .create()
            .map_err(kafka("creating the parse consumer"))?,
    );
    super::ensure_topics(&consumer, &[&cfg.lines_topic, &cfg.events_topic])?;
    consumer
        .subscribe(&[&cfg.lines_topic])
        .map_err(kafka("subscribing to the lines topic"))?;
    let mut producer = cfg.producer();
    // Events are read once, by the next stage on the same network: cheap compression.
    cfg.tune(&mut producer, "compression.type", "lz4");
    // Larger batches: the broker's cost is per request more than per record. At 5 ms a
    // batch held ~60 events of a partition and the broker used more CPU than the
    // processor on 300k lines; at 50 ms it used ~40% less and the processor ran 1.3–1.5×
    // as fast (BENCHMARKS.md), for at most 50 ms more from line to decision.
    cfg.tune(&mut producer, "linger.ms", EVENTS_LINGER_MS);
    let producer: CountingProducer = producer
        .create_with_context(Counting)
        .map_err(kafka("creating the events producer"))?;
    let mut sources = Sources::default();
    let mut stats = ParseStats::default();
    let mut batch = Batch::default();
    let mut last_line = None;
    // Buffers of the event being written, reused (the producer copies each record).
    let (mut body, mut payload) = (Vec::new(), Vec::new());
    // The event of every line, refilled in the last one's memory (`Acquisition::refill`, as
    // `run` and `replay` do).
    let mut evt = Event::default();
    // Batches whose records are in flight, committed in order once acknowledged: the loop
    // does not wait for the broker, and at most a few batches are unacknowledged.
    let (to_commit, committing) = mpsc::channel::<Batch>(4);
    let committer = tokio::spawn(commit_in_order(
        Arc::clone(&consumer),
        cfg.lines_topic.clone(),
        committing,
    ));
    loop {
        let wait = idle_exit.unwrap_or(Duration::from_millis(200));
        let msg = match next(&consumer, wait, &shutdown).await {
            Next::Stop => break,
            Next::Idle => {
                stats.last = last_line;
                // Idle: hand the batch to the committer; stop if asked to on idleness.
                if !batch.is_empty() && send(&to_commit, std::mem::take(&mut batch)).await.is_err()
                {
                    return Err(stopped(committer).await);
                }
                if idle_exit.is_some() {
                    break;
                }
                continue;
            }
            Next::Record(Err(e)) => {
                tracing::warn!(error = %e, "reading lines");
                continue;
            }
            Next::Record(Ok(m)) => m,
        };
        stats.lines += 1;
        // The clock is read once per 256 lines (and for the first): `last` is within that.
        if stats.lines % 256 == 1 {
            let now = std::time::SystemTime::now();
            stats.first.get_or_insert(now);
            last_line = Some(now);
        }
        let version = msg.headers().and_then(|h| {
            h.iter()
                .find(|h| h.key == wire::bus::HEADER_VERSION)
                .and_then(|h| h.value)
        });
        match wire::bus::decode_line(msg.payload(), version) {
            Err(e) => {
                stats.bad_records += 1;
                metrics::counter!("hivewall_bad_records_total", "topic" => "lines").increment(1);
                tracing::debug!(error = %e, partition = msg.partition(), offset = msg.offset(), "bad line record");
            }
            Ok(line) => {
                let acq = sources.get(&line.src, &line.module, &line.labels);
                acq.refill(&mut evt, &line.raw, ExpectMode::Live);
                evt.line.time = line
                    .time
                    .as_deref()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
                if let Ok(routes) = pipeline.parse_and_route(&mut evt) {
                    // One record per routing key, with the routes of that key; the event's
                    // body is encoded once for all of them.
                    let mut by_key: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
                    for (idx, group) in &routes.to {
                        let Some(sc) = scenarios.get(*idx) else {
                            continue;
                        };
                        let key = if group.is_empty() {
                            sc.name()
                        } else {
                            group.as_str()
                        };
                        by_key
                            .entry(key)
                            .or_default()
                            .push((sc.name(), group.as_str()));
                    }
                    body.clear();
                    if !by_key.is_empty() {
                        evt.encode_body(&mut body);
                    }
                    for (k, (key, routes)) in by_key.into_iter().enumerate() {
                        let origin = (
                            msg.partition(),
                            msg.offset(),
                            u32::try_from(k).unwrap_or(u32::MAX),
                        );
                        payload.clear();
                        wire::event::encode_record(&mut payload, Some(origin), &routes, &body);
                        let rec =
                            BaseRecord::with_opaque_to(&cfg.events_topic, batch.acks.sending())
                                .key(key)
                                .payload(&payload);
                        if let Err((e, rec)) = producer.send(rec) {
                            rec.delivery_opaque.settle(None);
                            return Err(kafka("queueing an event")(e));
                        }
                        stats.events += 1;
                    }
                }
            }
        }
        batch.next.insert(msg.partition(), msg.offset() + 1);
        batch.lines += 1;
        if batch.lines >= cfg.batch && send(&to_commit, std::mem::take(&mut batch)).await.is_err() {
            return Err(stopped(committer).await);
        }
    }
    stats.last = stats.last.max(last_line);
    if !batch.is_empty() && send(&to_commit, batch).await.is_err() {
        return Err(stopped(committer).await);
    }
    drop(to_commit);
    committer
        .await
        .map_err(|_| kafka("committing offsets")(rdkafka::error::KafkaError::Canceled))??;
    Ok(stats)
}

/// Lines read since the last hand-over to the committer.
#[derive(Default)]
struct Batch {
    /// Deliveries of their event records.
    acks: Arc<Acks>,
    /// The next offset of each lines partition read.
    next: HashMap<i32, i64>,
    lines: usize,
}

impl Batch {
    fn is_empty(&self) -> bool {
        self.lines == 0
    }
}

/// Hands a batch to the committer; fails when the committer stopped (a delivery failed:
/// [`stopped`] gives its error).
async fn send(to: &mpsc::Sender<Batch>, batch: Batch) -> Result<(), ()> {
    to.send(batch).await.map_err(|_| ())
}

/// The error the committer stopped with.
async fn stopped(committer: tokio::task::JoinHandle<Result<(), BusError>>) -> BusError {
    match committer.await {
        Ok(Err(e)) => e,
        _ => kafka("committing offsets")(rdkafka::error::KafkaError::Canceled),
    }
}

/// Commits the batches in order, each once all its records are acknowledged (at least once:
/// a crash re-reads the lines of the batches not committed).
async fn commit_in_order(
    consumer: Arc<StreamConsumer>,
    topic: String,
    mut batches: mpsc::Receiver<Batch>,
) -> Result<(), BusError> {
    while let Some(b) = batches.recv().await {
        b.acks.all().await.map_err(kafka("delivery"))?;
        let mut tpl = TopicPartitionList::new();
        for (p, next) in &b.next {
            tpl.add_partition_offset(&topic, *p, Offset::Offset(*next))
                .map_err(kafka("listing offsets"))?;
        }
        if let Err(e) = consumer.commit(&tpl, CommitMode::Async) {
            // The records are written; a lost commit only makes a restart parse them again
            // (their events are dropped as already applied by the detect stage).
            tracing::warn!(error = %e, "committing the parse stage's offsets");
        }
    }
    Ok(())
}
