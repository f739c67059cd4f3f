//! The detect stage: routed events → buckets per partition → alerts and decisions.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use engine::bucket::BucketStore;
use engine::clock::Clock;
use engine::event::Event;
use engine::pipeline::{AlertRecord, Pipeline, Setup};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use super::{BusConfig, BusError, acked, kafka};
use crate::{PersistentStore, StateDb};

/// What the detect stage did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DetectStats {
    /// Event records read.
    pub events: u64,
    /// Records skipped because their partition's state already holds them (a replay after a
    /// crash or a rebalance).
    pub skipped: u64,
    /// Records that could not be read (bad JSON, unknown version), counted and skipped.
    pub bad_records: u64,
    /// Alerts written (whitelisted ones are not).
    pub alerts: u64,
    /// Decision records written.
    pub decisions: u64,
}

/// One partition's buckets and position.
struct Part {
    pipeline: Pipeline<PersistentStore>,
    db: StateDb,
    /// The next offset to apply (records below it are already in the state).
    next: i64,
    /// Whether `next` or buckets changed since the last write.
    dirty: bool,
    /// Whether the partition decided something since the last write (history to store).
    decided: bool,
    /// The newest line (partition of `hivewall.lines` → offset) whose events were applied:
    /// events of a line at or below it are a parse stage's replay after a restart.
    lines: HashMap<i32, (i64, u32)>,
}

fn offset_key(topic: &str, partition: i32) -> String {
    format!("kafka:{topic}:{partition}")
}

/// Checkpoint key of the newest applied line of a lines partition.
const LINE_PREFIX: &str = "line:";

impl Part {
    fn open(
        setup: &Setup,
        clock: Arc<dyn Clock>,
        dir: &Path,
        topic: &str,
        partition: i32,
    ) -> Result<Part, BusError> {
        let db = StateDb::open(&dir.join(format!("partition-{partition}")))?;
        let mut loaded = None;
        let pipeline =
            Pipeline::load_with(setup, clock, |scenarios| match db.load_store(scenarios) {
                Ok((store, _dropped)) => store,
                Err(e) => {
                    loaded = Some(e);
                    PersistentStore::default()
                }
            })?;
        if let Some(e) = loaded {
            return Err(e.into());
        }
        let mut pipeline = pipeline;
        if let Some(state) = db.detector_state(pipeline.detector().scenarios())? {
            pipeline.restore_detector(state);
        }
        if let Some(h) = db.history()? {
            pipeline.restore_history(h);
        }
        let cps = db.checkpoints()?;
        let next = cps
            .get(&offset_key(topic, partition))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let lines = cps
            .iter()
            .filter_map(|(k, v)| {
                let p = k.strip_prefix(LINE_PREFIX)?.parse().ok()?;
                let (o, i) = v.split_once('/')?;
                Some((p, (o.parse().ok()?, i.parse().ok()?)))
            })
            .collect();
        Ok(Part {
            pipeline,
            db,
            next,
            dirty: false,
            decided: false,
            lines,
        })
    }
}

/// A decision's stable uuid: the same alert (scenario, source, first and last event) gives
/// the same uuid, so an alert emitted again after a crash rewrites its record.
fn decision_uuid(a: &wire::Alert, d: &wire::Decision, i: usize) -> String {
    let mut h = Sha256::new();
    for part in [
        a.scenario.as_str(),
        a.source.scope.as_str(),
        a.source.value.as_str(),
        a.start_at.as_str(),
        a.stop_at.as_str(),
        d.kind.as_str(),
        &i.to_string(),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let b = h.finalize();
    format!(
        "{}-{}-{}-{}-{}",
        hex(&b[0..4]),
        hex(&b[4..6]),
        hex(&b[6..8]),
        hex(&b[8..10]),
        hex(&b[10..16])
    )
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Runs the detect stage until `shutdown` (or, with `idle_exit`, until no record came for
/// that long).
pub async fn run_detect(
    setup: &Setup,
    clock: Arc<dyn Clock>,
    cfg: &BusConfig,
    idle_exit: Option<Duration>,
    shutdown: CancellationToken,
) -> Result<DetectStats, BusError> {
    let consumer: StreamConsumer = cfg
        .consumer(&cfg.detect_group)
        .create()
        .map_err(kafka("creating the detect consumer"))?;
    super::ensure_topics(
        &consumer,
        &[&cfg.events_topic, &cfg.alerts_topic, &cfg.decisions_topic],
    )?;
    consumer
        .subscribe(&[&cfg.events_topic])
        .map_err(kafka("subscribing to the events topic"))?;
    let producer: FutureProducer = cfg
        .producer()
        .create()
        .map_err(kafka("creating the alerts producer"))?;
    let mut parts: HashMap<i32, Part> = HashMap::new();
    let mut names: Option<HashMap<String, usize>> = None;
    let mut stats = DetectStats::default();
    let mut pending = Vec::new();
    let mut since_flush = 0usize;
    loop {
        let wait = idle_exit.unwrap_or(Duration::from_millis(200));
        let msg = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            m = tokio::time::timeout(wait, consumer.recv()) => m,
        };
        let msg = match msg {
            Err(_) => {
                if since_flush > 0 {
                    flush(&consumer, cfg, &mut parts, &mut pending).await?;
                    since_flush = 0;
                }
                if idle_exit.is_some() {
                    break;
                }
                continue;
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "reading events");
                continue;
            }
            Ok(Ok(m)) => m,
        };
        let p = msg.partition();
        let part = match parts.entry(p) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let part = Part::open(
                    setup,
                    Arc::clone(&clock),
                    &cfg.state_dir,
                    &cfg.events_topic,
                    p,
                )?;
                tracing::info!(
                    partition = p,
                    next = part.next,
                    buckets = part.pipeline.detector().store().len(),
                    "partition state restored"
                );
                e.insert(part)
            }
        };
        let names = names.get_or_insert_with(|| {
            part.pipeline
                .detector()
                .scenarios()
                .iter()
                .enumerate()
                .map(|(i, s)| (s.name().to_string(), i))
                .rev()
                .collect()
        });
        stats.events += 1;
        if msg.offset() < part.next {
            stats.skipped += 1;
            continue;
        }
        let record = msg
            .payload()
            .ok_or(())
            .and_then(|v| serde_json::from_slice::<wire::EventRecord>(v).map_err(|_| ()))
            .and_then(|r| Event::from_record(&r).map(|e| (r, e)).map_err(|_| ()));
        match record {
            Err(()) => {
                stats.bad_records += 1;
                metrics::counter!("hivewall_bad_records_total", "topic" => "events").increment(1);
            }
            Ok((r, _))
                if r.origin.is_some_and(|(lp, lo, k)| {
                    part.lines.get(&lp).is_some_and(|seen| (lo, k) <= *seen)
                }) =>
            {
                stats.skipped += 1;
            }
            Ok((r, evt)) => {
                if let Some((lp, lo, k)) = r.origin {
                    part.lines.insert(lp, (lo, k));
                }
                let routes: Vec<(usize, String)> = r
                    .routes
                    .into_iter()
                    .filter_map(|rt| names.get(&rt.scenario).map(|i| (*i, rt.group)))
                    .collect();
                let alerts = part.pipeline.pour_routed(&evt, &routes);
                part.decided |= alerts.iter().any(|a| !a.decisions.is_empty());
                emit(&producer, cfg, alerts, &mut pending, &mut stats)?;
            }
        }
        part.next = msg.offset() + 1;
        part.dirty = true;
        since_flush += 1;
        if since_flush >= cfg.batch {
            flush(&consumer, cfg, &mut parts, &mut pending).await?;
            since_flush = 0;
        }
    }
    flush(&consumer, cfg, &mut parts, &mut pending).await?;
    Ok(stats)
}

/// Queues the alerts and their decisions.
fn emit(
    producer: &FutureProducer,
    cfg: &BusConfig,
    alerts: Vec<AlertRecord>,
    pending: &mut Vec<rdkafka::producer::DeliveryFuture>,
    stats: &mut DetectStats,
) -> Result<(), BusError> {
    let now = chrono::Utc::now();
    for a in alerts.into_iter().filter(|a| !a.whitelisted) {
        let mut alert = a.alert;
        alert.decisions = a.decisions;
        let body = serde_json::to_vec(&alert).unwrap_or_default();
        let key = format!("{}:{}", alert.scenario, alert.source.value);
        let rec = FutureRecord::to(&cfg.alerts_topic).key(&key).payload(&body);
        pending.push(
            producer
                .send_result(rec)
                .map_err(|(e, _)| kafka("queueing an alert")(e))?,
        );
        stats.alerts += 1;
        for (i, d) in alert.decisions.iter().enumerate() {
            let ns = engine::profile::parse_duration_with_days(&d.duration).unwrap_or(0);
            let until = now + chrono::Duration::nanoseconds(ns);
            let r = wire::bus::DecisionRecord {
                v: wire::bus::DECISION_VERSION,
                uuid: decision_uuid(&alert, d, i),
                decision: d.clone(),
                until: until.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                created_at: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                alert_uuid: None,
            };
            let body = serde_json::to_vec(&r).unwrap_or_default();
            let key = wire::bus::decision_key(&d.scope, &d.value);
            let rec = FutureRecord::to(&cfg.decisions_topic)
                .key(&key)
                .payload(&body);
            pending.push(
                producer
                    .send_result(rec)
                    .map_err(|(e, _)| kafka("queueing a decision")(e))?,
            );
            stats.decisions += 1;
        }
    }
    Ok(())
}

/// Waits for the records in flight, writes each changed partition's buckets and next offset
/// in one batch, then commits the group's offsets.
async fn flush(
    consumer: &StreamConsumer,
    cfg: &BusConfig,
    parts: &mut HashMap<i32, Part>,
    pending: &mut Vec<rdkafka::producer::DeliveryFuture>,
) -> Result<(), BusError> {
    acked(pending).await?;
    let mut tpl = TopicPartitionList::new();
    for (p, part) in parts.iter_mut().filter(|(_, part)| part.dirty) {
        let scenarios = Arc::clone(part.pipeline.detector().scenarios());
        let mut cp = vec![(offset_key(&cfg.events_topic, *p), part.next.to_string())];
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
        part.db.commit(
            part.pipeline.store_mut(),
            &scenarios,
            &cp,
            None,
            Some(&detector),
            history.as_deref(),
        )?;
        part.dirty = false;
        tpl.add_partition_offset(&cfg.events_topic, *p, Offset::Offset(part.next))
            .map_err(kafka("listing offsets"))?;
    }
    if tpl.count() > 0
        && let Err(e) = consumer.commit(&tpl, CommitMode::Sync)
    {
        // The state is written; a lost commit only makes the next owner skip records.
        tracing::warn!(error = %e, "committing the group's offsets");
    }
    Ok(())
}
