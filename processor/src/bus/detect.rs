//! The detect stage: routed events → buckets per partition → alerts and decisions.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use engine::bucket::BucketStore;
use engine::clock::Clock;
use engine::event::Event;
use engine::pipeline::{Pipeline, Setup};
use rdkafka::Message;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use server_common::kafka::FutureProducer;
use tokio_util::sync::CancellationToken;

use super::changelog::{self, RestoreStats};
use super::emit::emit;
use super::flush::{Held, InFlight, Wait, flush};
use super::next::{Next, next};
use super::owner::Owner;
use super::{BusConfig, BusError, kafka};
use crate::idle::Clockwork;
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
    /// Signals written (`BusConfig::signals`).
    pub signals: u64,
    /// Changelog records applied to restore partitions.
    pub restored: u64,
    /// When the first record was read (wall clock).
    pub first: Option<std::time::SystemTime>,
    /// When the last record was done with (wall clock).
    pub last: Option<std::time::SystemTime>,
}

/// One partition's buckets and position.
pub(super) struct Part {
    /// The changelog partition's producer (fences earlier owners).
    pub(super) owner: Arc<Owner>,
    /// The flush whose changelog transaction is being committed.
    pub(super) in_flight: Option<InFlight>,
    pub(super) pipeline: Pipeline<PersistentStore>,
    pub(super) db: StateDb,
    /// The next offset to apply (records below it are already in the state).
    pub(super) next: i64,
    /// Whether `next` or buckets changed since the last write.
    pub(super) dirty: bool,
    /// Whether the partition decided something since the last write (history to store).
    pub(super) decided: bool,
    /// Bucket time on the wall clock, for the idle tick.
    pub(super) idle: Clockwork,
    /// The newest line (partition of `hivewall.lines` → offset) whose events were applied:
    /// events of a line at or below it are a parse stage's replay after a restart.
    pub(super) lines: HashMap<i32, (i64, u32)>,
}

pub(super) fn offset_key(topic: &str, partition: i32) -> String {
    format!("kafka:{topic}:{partition}")
}

/// Checkpoint key of the newest applied line of a lines partition.
pub(super) const LINE_PREFIX: &str = "line:";

impl Part {
    /// Claims the partition's changelog (fencing its earlier owners), opens its database,
    /// brings it up to the end of the changelog, and loads its buckets and position.
    fn open(
        setup: &Setup,
        clock: Arc<dyn Clock>,
        cfg: &BusConfig,
        partition: i32,
    ) -> Result<(Part, RestoreStats), BusError> {
        let topic = cfg.events_topic.as_str();
        let db = StateDb::open(&cfg.state_dir.join(format!("partition-{partition}")))?;
        let (owner, restored) = tokio::task::block_in_place(|| {
            let owner = Owner::claim(cfg, partition)?;
            let restored = changelog::restore(cfg, &owner, &db, partition)?;
            Ok::<_, BusError>((owner, restored))
        })?;
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
        let idle = Clockwork::load(&db, cfg.idle_grace)?.resumed_now();
        Ok((
            Part {
                owner: Arc::new(owner),
                in_flight: None,
                pipeline,
                db,
                next,
                dirty: false,
                decided: false,
                idle,
                lines,
            },
            restored,
        ))
    }
}

/// Partitions taken away by the group since the main loop last looked: their state in memory
/// is dropped unflushed (their next owner replays the records since the last flush).
#[derive(Default)]
struct Revoked {
    any: AtomicBool,
    partitions: Mutex<Vec<i32>>,
}

/// The detect consumer's context: notes revocations (called on the consumer's poll, inside
/// `recv`).
pub(super) struct DetectContext(Arc<Revoked>);

impl ClientContext for DetectContext {}

impl ConsumerContext for DetectContext {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let gone: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
            tracing::info!(partitions = ?gone, "detect stage: partitions revoked");
            let mut ps = self.0.partitions.lock().unwrap_or_else(|e| e.into_inner());
            ps.extend(gone);
            self.0.any.store(true, Ordering::Release);
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            let got: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
            tracing::info!(partitions = ?got, "detect stage: partitions assigned");
        }
    }
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
    let revoked = Arc::new(Revoked::default());
    let mut consumer = cfg.consumer(&cfg.detect_group);
    cfg.tune(
        &mut consumer,
        "partition.assignment.strategy",
        "cooperative-sticky",
    );
    let consumer: StreamConsumer<DetectContext> = consumer
        .create_with_context(DetectContext(Arc::clone(&revoked)))
        .map_err(kafka("creating the detect consumer"))?;
    let mut topics = vec![
        cfg.events_topic.as_str(),
        &cfg.alerts_topic,
        &cfg.decisions_topic,
        &cfg.state_topic,
    ];
    if let Some(out) = &cfg.signals {
        topics.push(&out.topic);
    }
    super::ensure_topics(&consumer, &topics)?;
    super::same_partitions(&consumer, &cfg.events_topic, &cfg.state_topic)?;
    consumer
        .subscribe(&[&cfg.events_topic])
        .map_err(kafka("subscribing to the events topic"))?;
    let producer: FutureProducer = cfg
        .producer()
        .create()
        .map_err(kafka("creating the alerts producer"))?;
    let mut held = Held::default();
    let mut names: Option<HashMap<String, usize>> = None;
    // Source, labels and stage of the last event read, shared by the next ones that match.
    let mut bodies = engine::event::BodyCache::default();
    // The last event poured, whose maps and texts the next one is decoded into.
    let mut spare = Event::default();
    let mut stats = DetectStats::default();
    let mut pending = Vec::new();
    let mut since_flush = 0usize;
    let mut last_tick = std::time::SystemTime::now();
    loop {
        let wait = idle_exit.unwrap_or(Duration::from_millis(200));
        let msg = match next(&consumer, wait, &shutdown).await {
            Next::Stop => break,
            Next::Idle => None,
            Next::Record(m) => Some(m),
        };
        // One clock read per record serves the idle clock, the tick and the stats.
        let now = std::time::SystemTime::now();
        if revoked.any.swap(false, Ordering::AcqRel) {
            let gone: Vec<i32> =
                std::mem::take(&mut *revoked.partitions.lock().unwrap_or_else(|e| e.into_inner()));
            for p in gone {
                held.fenced.remove(&p);
                if held.parts.remove(&p).is_some() {
                    tracing::info!(partition = p, "partition revoked: its state is released");
                }
            }
        }
        if now.duration_since(last_tick).unwrap_or(Duration::ZERO) >= TICK_EVERY {
            last_tick = now;
            since_flush += tick(&mut held.parts, &producer, cfg, &mut pending, &mut stats)?;
        }
        let msg = match msg {
            None => {
                if since_flush > 0 || held.flush_needed() {
                    flush(&consumer, cfg, &mut held, &mut pending, Wait::No).await?;
                    since_flush = 0;
                }
                if idle_exit.is_some() {
                    break;
                }
                continue;
            }
            Some(Err(e)) => {
                tracing::warn!(error = %e, "reading events");
                continue;
            }
            Some(Ok(m)) => m,
        };
        let p = msg.partition();
        if held.fenced.contains(&p) {
            stats.skipped += 1;
            continue;
        }
        let part = match held.parts.entry(p) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let (part, restored) = Part::open(setup, Arc::clone(&clock), cfg, p)?;
                tracing::info!(
                    partition = p,
                    next = part.next,
                    buckets = part.pipeline.detector().store().len(),
                    changelog_records = restored.applied,
                    repaired = restored.repaired,
                    took_ms = restored.took.as_millis() as u64,
                    "partition state restored"
                );
                stats.restored += restored.applied;
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
        stats.first.get_or_insert(now);
        if msg.offset() < part.next {
            stats.skipped += 1;
            continue;
        }
        let mut json = None;
        let record = wire::event::decode_event(msg.payload(), &mut json)
            .map_err(|e| e.to_string())
            .and_then(
                |r| match Event::from_body_reusing(&r.body, &mut bodies, &mut spare) {
                    Ok(e) => Ok((r, e)),
                    Err(e) => Err(e.to_string()),
                },
            );
        match record {
            Err(e) => {
                stats.bad_records += 1;
                metrics::counter!("hivewall_bad_records_total", "topic" => "events").increment(1);
                tracing::debug!(error = %e, partition = p, offset = msg.offset(), "bad event record");
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
                let routes: Vec<(usize, compact_str::CompactString)> = r
                    .routes
                    .iter()
                    .filter_map(|(sc, group)| names.get(*sc).map(|i| (*i, (*group).into())))
                    .collect();
                let alerts = part.pipeline.pour_routed(&evt, &routes);
                part.idle.note(&part.pipeline, now);
                part.decided |= alerts.iter().any(|a| !a.decisions.is_empty());
                emit(&producer, cfg, alerts, &mut pending, &mut stats)?;
                spare = evt;
            }
        }
        part.next = msg.offset() + 1;
        part.dirty = true;
        stats.last = Some(now);
        since_flush += 1;
        if since_flush >= cfg.batch {
            flush(&consumer, cfg, &mut held, &mut pending, Wait::No).await?;
            since_flush = 0;
        }
    }
    flush(&consumer, cfg, &mut held, &mut pending, Wait::All).await?;
    Ok(stats)
}

/// How often idle partitions move their bucket time on.
const TICK_EVERY: Duration = Duration::from_secs(1);

/// Moves the bucket time of idle partitions on (see `crate::idle`: only partitions without
/// an event for a grace) and sends what fires. Returns how many partitions changed.
fn tick(
    parts: &mut HashMap<i32, Part>,
    producer: &FutureProducer,
    cfg: &BusConfig,
    pending: &mut Vec<server_common::kafka::DeliveryFuture>,
    stats: &mut DetectStats,
) -> Result<usize, BusError> {
    let now = std::time::SystemTime::now();
    let mut changed = 0;
    for part in parts.values_mut() {
        let Some(alerts) = part.idle.tick(&mut part.pipeline, now) else {
            continue;
        };
        // Only what changes buckets or fires is worth a flush (the moved time alone is not:
        // a restore starts the idle clock again from the stored time).
        if alerts.is_empty() && part.pipeline.store_mut().dirty_len() == 0 {
            continue;
        }
        part.decided |= alerts.iter().any(|a| !a.decisions.is_empty());
        emit(producer, cfg, alerts, pending, stats)?;
        part.dirty = true;
        changed += 1;
    }
    Ok(changed)
}
