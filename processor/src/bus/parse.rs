//! The parse stage: lines → parsed, routed events.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use engine::clock::Clock;
use engine::event::ExpectMode;
use engine::pipeline::{Pipeline, Setup};
use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Headers;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio_util::sync::CancellationToken;

use super::{BusConfig, BusError, acked, kafka};
use crate::sources::Sources;

/// What the parse stage did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseStats {
    /// Line records read.
    pub lines: u64,
    /// Records that were not a line of a known version (counted, skipped).
    pub bad_records: u64,
    /// Event records written.
    pub events: u64,
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
    let consumer: StreamConsumer = cfg
        .consumer(&cfg.parse_group)
        .create()
        .map_err(kafka("creating the parse consumer"))?;
    super::ensure_topics(&consumer, &[&cfg.lines_topic, &cfg.events_topic])?;
    consumer
        .subscribe(&[&cfg.lines_topic])
        .map_err(kafka("subscribing to the lines topic"))?;
    let producer: FutureProducer = cfg
        .producer()
        .create()
        .map_err(kafka("creating the events producer"))?;
    let mut sources = Sources::default();
    let mut stats = ParseStats::default();
    let mut pending = Vec::new();
    let mut uncommitted = 0usize;
    loop {
        let wait = idle_exit.unwrap_or(Duration::from_millis(200));
        let msg = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            m = tokio::time::timeout(wait, consumer.recv()) => m,
        };
        let msg = match msg {
            Err(_) => {
                // Idle: commit what is done; stop if asked to on idleness.
                if uncommitted > 0 {
                    acked(&mut pending).await?;
                    commit(&consumer)?;
                    uncommitted = 0;
                }
                if idle_exit.is_some() {
                    break;
                }
                continue;
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "reading lines");
                continue;
            }
            Ok(Ok(m)) => m,
        };
        stats.lines += 1;
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
                let mut evt = acq.event(line.raw, ExpectMode::Live);
                evt.line.time = line
                    .time
                    .as_deref()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
                if let Ok((evt, routes)) = pipeline.parse_and_route(evt) {
                    // One record per routing key, with the routes of that key.
                    let mut by_key: BTreeMap<String, Vec<wire::Route>> = BTreeMap::new();
                    for (idx, group) in routes.to {
                        let Some(sc) = scenarios.get(idx) else {
                            continue;
                        };
                        let key = if group.is_empty() {
                            sc.name().to_string()
                        } else {
                            group.clone()
                        };
                        by_key.entry(key).or_default().push(wire::Route {
                            scenario: sc.name().to_string(),
                            group,
                        });
                    }
                    for (k, (key, routes)) in by_key.into_iter().enumerate() {
                        let payload = {
                            let mut rec = evt.to_record(routes);
                            rec.origin = Some((
                                msg.partition(),
                                msg.offset(),
                                u32::try_from(k).unwrap_or(u32::MAX),
                            ));
                            serde_json::to_vec(&rec).unwrap_or_default()
                        };
                        let rec = FutureRecord::to(&cfg.events_topic)
                            .key(&key)
                            .payload(&payload);
                        match producer.send_result(rec) {
                            Ok(f) => pending.push(f),
                            Err((e, _)) => return Err(kafka("queueing an event")(e)),
                        }
                        stats.events += 1;
                    }
                }
            }
        }
        consumer
            .store_offset_from_message(&msg)
            .map_err(kafka("storing an offset"))?;
        uncommitted += 1;
        if uncommitted >= cfg.batch {
            acked(&mut pending).await?;
            commit(&consumer)?;
            uncommitted = 0;
        }
    }
    acked(&mut pending).await?;
    if uncommitted > 0 {
        commit(&consumer)?;
    }
    Ok(stats)
}

fn commit(consumer: &StreamConsumer) -> Result<(), BusError> {
    match consumer.commit_consumer_state(CommitMode::Sync) {
        Ok(()) => Ok(()),
        // Nothing stored since the last commit.
        Err(rdkafka::error::KafkaError::ConsumerCommit(
            rdkafka::types::RDKafkaErrorCode::NoOffset,
        )) => Ok(()),
        Err(e) => Err(kafka("committing offsets")(e)),
    }
}
