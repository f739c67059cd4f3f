//! The loop: batches of lines → pipeline → alerts delivered → state committed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use engine::bucket::BucketStore;
use engine::clock::Clock;
use engine::event::{Event, ExpectMode};
use engine::pipeline::{AlertRecord, LineOutcome, Pipeline, Setup, SetupError, Stats};
use tokio::sync::mpsc::Receiver;
use tokio_util::sync::CancellationToken;
use wire::SourcedLine;

use crate::idle::Clockwork;
use crate::sources::Sources;
use crate::{AlertSink, PersistentStore, ProcessorConfig, ProcessorError, StateDb};

/// What a run went through.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunStats {
    /// The pipeline's counters.
    pub pipeline: Stats,
    /// Alerts delivered to the sink (whitelisted overflows are not).
    pub delivered: u64,
    /// Batches committed.
    pub commits: u64,
}

/// The live processor of one partition (the whole input, in `hivewall run`).
pub struct Processor<K: AlertSink> {
    pipeline: Pipeline<PersistentStore>,
    db: StateDb,
    sink: K,
    cfg: ProcessorConfig,
    sources: Sources,
    /// The newest checkpoint of each source key since the last write (few sources: a list).
    checkpoints: Vec<(String, String)>,
    /// Bucket time and the wall clock when it was reached.
    watermark: Clockwork,
    stats: RunStats,
    /// Lines per (source module, outcome) not yet published to the metrics.
    outcomes: Vec<(String, LineOutcome, u64)>,
    /// When the newest line not yet published was read.
    last_arrival: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// The event of every line, refilled in the last one's memory ([`Acquisition::refill`]).
    ///
    /// [`Acquisition::refill`]: engine::event::Acquisition::refill
    spare: Event,
}

impl<K: AlertSink> std::fmt::Debug for Processor<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Processor")
            .field("db", &self.db)
            .field("stats", &self.stats)
            .finish()
    }
}

impl<K: AlertSink> Processor<K> {
    /// Loads the pipeline `setup` names with the buckets stored in `db`. Also returns how many
    /// stored buckets were dropped (their scenario is no longer loaded, or unreadable).
    pub fn new(
        setup: &Setup,
        clock: Arc<dyn Clock>,
        db: StateDb,
        sink: K,
        cfg: ProcessorConfig,
    ) -> Result<(Self, usize), ProcessorError> {
        let mut loaded = None;
        let pipeline =
            Pipeline::load_with(setup, clock, |scenarios| match db.load_store(scenarios) {
                Ok((store, dropped)) => {
                    loaded = Some(Ok(dropped));
                    store
                }
                Err(e) => {
                    loaded = Some(Err(e));
                    PersistentStore::default()
                }
            })
            .map_err(ProcessorError::Setup)?;
        let dropped = loaded.unwrap_or(Ok(0))?;
        let mut pipeline = pipeline;
        if let Some(state) = db.detector_state(pipeline.detector().scenarios())? {
            pipeline.restore_detector(state);
        }
        let watermark = Clockwork::load(&db, crate::idle::TICK_GRACE)?;
        let checkpoints = Vec::new();
        Ok((
            Processor {
                pipeline,
                db,
                sink,
                cfg,
                sources: Sources::default(),
                checkpoints,
                watermark,
                stats: RunStats::default(),
                outcomes: Vec::new(),
                last_arrival: None,
                spare: Event::default(),
            },
            dropped,
        ))
    }

    /// The pipeline (load warnings, stats, live buckets).
    pub fn pipeline(&self) -> &Pipeline<PersistentStore> {
        &self.pipeline
    }

    /// The committed positions of every source, for the sources to resume from.
    pub fn checkpoints(&self) -> Result<HashMap<String, String>, ProcessorError> {
        Ok(self.db.checkpoints()?)
    }

    /// What went through so far.
    pub fn stats(&self) -> RunStats {
        RunStats {
            pipeline: self.pipeline.stats,
            ..self.stats
        }
    }

    /// Runs until the channel closes, or until `shutdown`: then the channel is closed and the
    /// lines already in it are handled; either way it ends by committing what it holds.
    pub async fn run(
        mut self,
        mut rx: Receiver<SourcedLine>,
        shutdown: CancellationToken,
    ) -> Result<RunStats, ProcessorError> {
        let mut tick = tokio::time::interval(self.cfg.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut buf = Vec::with_capacity(self.cfg.max_batch);
        let mut last_persist = std::time::Instant::now();
        loop {
            let mut alerts = Vec::new();
            let mut closed = false;
            tokio::select! {
                biased;
                () = shutdown.cancelled() => {
                    // A clean stop: refuse new lines, then handle those the sources already
                    // handed over (counted as read), so their offsets are committed below and a
                    // restart neither reads them again nor loses them.
                    rx.close();
                    while rx.recv_many(&mut buf, self.cfg.max_batch).await > 0 {
                        for line in buf.drain(..) {
                            alerts.extend(self.handle_line(line));
                        }
                    }
                    closed = true;
                }
                n = rx.recv_many(&mut buf, self.cfg.max_batch) => {
                    if n == 0 {
                        closed = true;
                    }
                    for line in buf.drain(..) {
                        alerts.extend(self.handle_line(line));
                    }
                }
                _ = tick.tick() => alerts.extend(self.tick(SystemTime::now())),
            }
            // Alerts go out with every batch; state is written at most every `persist_every`
            // (and at the end): a crash replays the lines since, never loses one.
            self.flush_metrics();
            self.deliver(alerts, &shutdown).await?;
            if closed || last_persist.elapsed() >= self.cfg.persist_every {
                self.persist()?;
                last_persist = std::time::Instant::now();
            }
            if closed {
                break;
            }
        }
        Ok(self.stats())
    }

    /// Parses and pours one line; returns the alerts it caused.
    pub fn handle_line(&mut self, line: SourcedLine) -> Vec<AlertRecord> {
        let SourcedLine { line, checkpoint } = line;
        let arrived = line
            .time
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
        if arrived.is_some() {
            self.last_arrival = arrived;
        }
        let acq = self.sources.get(&line.src, &line.module, &line.labels);
        let evt = &mut self.spare;
        acq.refill(evt, &line.raw, ExpectMode::Live);
        evt.line.time = arrived;
        // `result` is where the line ended (`LineOutcome::as_str`): the results of a source
        // add up to its lines.
        let (outcome, out) = self.pipeline.process_in(evt);
        // Counted here, published once per batch (`flush_metrics`): the registry's lookup by
        // labels costs more than the rest of a short line's bookkeeping.
        match self
            .outcomes
            .iter_mut()
            .find(|(m, o, _)| *o == outcome && *m == line.module)
        {
            Some((_, _, n)) => *n += 1,
            None => self.outcomes.push((line.module, outcome, 1)),
        }
        if let Some(cp) = checkpoint {
            match self.checkpoints.iter_mut().find(|(k, _)| *k == cp.key) {
                Some((_, p)) => *p = cp.position,
                None => self.checkpoints.push((cp.key, cp.position)),
            }
        }
        self.note_time();
        out
    }

    /// Publishes the counts of the lines handled since the last call, and the lag of the newest.
    pub fn flush_metrics(&mut self) {
        for (module, outcome, n) in self.outcomes.drain(..) {
            metrics::counter!("hivewall_lines_parsed_total", "source" => module, "result" => outcome.as_str())
                .increment(n);
        }
        if let Some(t) = self.last_arrival.take() {
            let lag = chrono::Utc::now().signed_duration_since(t);
            metrics::gauge!("hivewall_lag_seconds").set(lag.as_seconds_f64().max(0.0));
        }
    }

    /// Moves bucket time on by the wall-clock time elapsed since it last moved (less a grace),
    /// so counters fire and idle buckets leak out while no line comes.
    pub fn tick(&mut self, now: SystemTime) -> Vec<AlertRecord> {
        self.watermark
            .tick(&mut self.pipeline, now)
            .unwrap_or_default()
    }

    fn note_time(&mut self) {
        self.watermark
            .note(&self.pipeline, std::time::SystemTime::now());
    }

    /// Delivers `alerts` (retrying until the sink takes them or shutdown), then writes the
    /// changed buckets, the checkpoints and the watermark in one batch.
    pub async fn commit(
        &mut self,
        alerts: Vec<AlertRecord>,
        shutdown: &CancellationToken,
    ) -> Result<(), ProcessorError> {
        self.flush_metrics();
        self.deliver(alerts, shutdown).await?;
        self.persist()
    }

    /// Delivers `alerts`, retrying until the sink takes them or shutdown.
    pub async fn deliver(
        &mut self,
        alerts: Vec<AlertRecord>,
        shutdown: &CancellationToken,
    ) -> Result<(), ProcessorError> {
        let out: Vec<wire::Alert> = alerts
            .into_iter()
            .filter(|a| !a.whitelisted)
            .map(|a| {
                metrics::counter!("hivewall_alerts_total", "scenario" => a.alert.scenario.clone())
                    .increment(1);
                let mut alert = a.alert;
                alert.decisions = a.decisions;
                alert
            })
            .collect();
        if !out.is_empty() {
            let n = out.len() as u64;
            loop {
                match self.sink.deliver(out.clone()).await {
                    Ok(()) => break,
                    Err(e) if shutdown.is_cancelled() => {
                        return Err(ProcessorError::Undelivered(e));
                    }
                    Err(e) => {
                        tracing::warn!("alert sink refused {n} alert(s), retrying: {e}");
                        tokio::select! {
                            () = shutdown.cancelled() => return Err(ProcessorError::Undelivered(e)),
                            () = tokio::time::sleep(self.cfg.retry) => {}
                        }
                    }
                }
            }
            self.stats.delivered += n;
        }
        Ok(())
    }

    /// Writes the buckets changed since the last call, the checkpoints and the watermark in
    /// one batch. Call it only once the alerts of those lines are delivered.
    pub fn persist(&mut self) -> Result<(), ProcessorError> {
        if self.pipeline.store_mut().dirty_len() == 0 && self.checkpoints.is_empty() {
            return Ok(());
        }
        let watermark = self.watermark.stored();
        let scenarios = Arc::clone(self.pipeline.detector().scenarios());
        let detector = self.pipeline.detector().state();
        self.db.commit(
            self.pipeline.store_mut(),
            &scenarios,
            &self.checkpoints,
            watermark,
            Some(&detector),
            None,
        )?;
        self.checkpoints.clear();
        self.stats.commits += 1;
        metrics::gauge!("hivewall_buckets").set(self.pipeline.detector().store().len() as f64);
        Ok(())
    }
}

/// `SetupError` is the pipeline's; kept here so callers see one error type.
impl From<SetupError> for ProcessorError {
    fn from(e: SetupError) -> Self {
        ProcessorError::Setup(e)
    }
}
