//! The `ingest` service's output: lines to the `hivewall.lines` topic.
//!
//! [`forward`] takes the sources' channel (the same one `run` hands to its processor) and
//! produces every line, keyed by its source, with acks from all in-sync replicas and
//! idempotence. A source's checkpoint is saved only once its line and every line before it
//! are acknowledged, so a crash re-sends lines (at least once) and never skips one. While the
//! brokers are away records wait in the producer (no delivery timeout) and, past
//! [`KafkaConfig::max_in_flight`], the sources wait too.

mod checkpoints;
mod config;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use server_common::kafka::{DeliveryFuture, FutureProducer};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use checkpoints::CheckpointFile;
pub use config::KafkaConfig;

/// What stops the forwarder.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// The settings cannot be used.
    #[error("kafka settings: {0}")]
    Config(String),
    /// librdkafka refused to create the producer or to queue a record.
    #[error("kafka producer ({context}): {source}")]
    Client {
        /// What was being done.
        context: &'static str,
        /// librdkafka's error.
        source: rdkafka::error::KafkaError,
    },
    /// A record was not delivered (after librdkafka's own retries). Its checkpoint and the
    /// later ones were not saved: a restart sends it again.
    #[error("kafka delivery failed: {0}")]
    Delivery(rdkafka::error::KafkaError),
    /// The topic does not exist (hivewall does not create topics: their partition count and
    /// retention are the operator's choice).
    #[error(
        "topic `{0}` does not exist on the brokers: create it (e.g. docker/kafka/kafka.sh topics create {0} 4)"
    )]
    NoTopic(String),
    /// The checkpoint file could not be read or written.
    #[error("checkpoint file {}: {message}", path.display())]
    Checkpoints {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// What a forwarding run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ForwardStats {
    /// Records handed to the producer.
    pub sent: u64,
    /// Records the brokers acknowledged.
    pub acked: u64,
    /// Times the checkpoint file was written.
    pub checkpoint_saves: u64,
}

type InFlight = VecDeque<(DeliveryFuture, Option<wire::Checkpoint>)>;

/// Produces every line from `rx` until the channel closes (all sources done: `--once`) or
/// `shutdown`; then waits for every record in flight to be acknowledged and saves the
/// checkpoints into `file` (when given). Lines not yet taken from the channel at shutdown are
/// read again next time.
pub async fn forward(
    mut rx: mpsc::Receiver<wire::SourcedLine>,
    cfg: &KafkaConfig,
    file: Option<&CheckpointFile>,
    shutdown: CancellationToken,
) -> Result<ForwardStats, KafkaError> {
    cfg.validate()?;
    let producer: FutureProducer =
        cfg.client_config()
            .create()
            .map_err(|source| KafkaError::Client {
                context: "creating the producer",
                source,
            })?;
    if !wait_for_topic(&producer, &cfg.topic, &shutdown).await? {
        return Ok(ForwardStats::default());
    }
    let mut positions = match file {
        Some(f) => f.load()?,
        None => HashMap::new(),
    };
    let mut stats = ForwardStats::default();
    let mut inflight: InFlight = VecDeque::new();
    let mut dirty = false;
    let mut last_save = Instant::now();
    let headers = OwnedHeaders::new()
        .insert(Header {
            key: wire::bus::HEADER_KIND,
            value: Some("line"),
        })
        .insert(Header {
            key: wire::bus::HEADER_VERSION,
            value: Some(&wire::bus::LINE_VERSION.to_string()),
        });
    let mut open = true;
    while open || !inflight.is_empty() {
        tokio::select! {
            biased;
            acked = front(&mut inflight) => {
                let cp = acked?;
                inflight.pop_front();
                stats.acked += 1;
                if let Some(cp) = cp {
                    positions.insert(cp.key, cp.position);
                    dirty = true;
                }
            }
            () = shutdown.cancelled(), if open => open = false,
            line = rx.recv(), if open && inflight.len() < cfg.max_in_flight => match line {
                None => open = false,
                Some(line) => {
                    let acked =
                        send(&producer, cfg, &headers, line, &mut inflight, &mut positions).await?;
                    stats.sent += 1;
                    stats.acked += acked;
                    dirty |= acked > 0;
                }
            },
        }
        if let Some(file) = file
            && dirty
            && last_save.elapsed() >= cfg.checkpoint_every
        {
            file.save(&positions)?;
            stats.checkpoint_saves += 1;
            dirty = false;
            last_save = Instant::now();
        }
    }
    if let Some(file) = file
        && dirty
    {
        file.save(&positions)?;
        stats.checkpoint_saves += 1;
    }
    metrics::counter!("hivewall_lines_produced_total").increment(stats.acked);
    Ok(stats)
}

/// Checks that `topic` exists, waiting (with a warning every 10 s) while no broker answers.
/// `false` when shutdown came first.
async fn wait_for_topic(
    producer: &FutureProducer,
    topic: &str,
    shutdown: &CancellationToken,
) -> Result<bool, KafkaError> {
    loop {
        let client = producer.clone();
        let name = topic.to_string();
        let meta = tokio::task::spawn_blocking(move || {
            client
                .client()
                .fetch_metadata(Some(&name), Duration::from_secs(10))
                .map(|m| {
                    m.topics()
                        .iter()
                        .find(|t| t.name() == name)
                        .map(|t| (t.error(), t.partitions().len()))
                })
        })
        .await
        .map_err(|e| KafkaError::Config(format!("metadata task: {e}")))?;
        match meta {
            Ok(Some((None, n))) if n > 0 => return Ok(true),
            Ok(_) => return Err(KafkaError::NoTopic(topic.to_string())),
            Err(e) => tracing::warn!(error = %e, "no Kafka broker answers yet; retrying"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(false),
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// Waits for the oldest record in flight; its checkpoint once acknowledged. Pending forever
/// when nothing is in flight (the other branches then decide).
async fn front(inflight: &mut InFlight) -> Result<Option<wire::Checkpoint>, KafkaError> {
    let Some((fut, cp)) = inflight.front_mut() else {
        return std::future::pending().await;
    };
    match fut.await {
        Ok(Ok(_)) => Ok(cp.take()),
        Ok(Err((e, _))) => Err(KafkaError::Delivery(e)),
        // The producer was dropped: cannot happen while `forward` holds it.
        Err(_) => Err(KafkaError::Delivery(rdkafka::error::KafkaError::Canceled)),
    }
}

/// Queues one record; when librdkafka's queue is full, waits for the oldest acknowledgement
/// (recording its checkpoint) and tries again. Returns how many were acknowledged meanwhile.
async fn send(
    producer: &FutureProducer,
    cfg: &KafkaConfig,
    headers: &OwnedHeaders,
    line: wire::SourcedLine,
    inflight: &mut InFlight,
    positions: &mut HashMap<String, String>,
) -> Result<u64, KafkaError> {
    let wire::SourcedLine { line, checkpoint } = line;
    let payload = wire::bus::encode_line(&line);
    let key = wire::bus::line_key(&line);
    let mut acked = 0;
    loop {
        let record = FutureRecord::to(&cfg.topic)
            .key(key)
            .payload(&payload)
            .headers(headers.clone());
        match producer.send_result(record) {
            Ok(fut) => {
                inflight.push_back((fut, checkpoint));
                return Ok(acked);
            }
            Err((
                rdkafka::error::KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull),
                _,
            )) => {
                if inflight.is_empty() {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                } else {
                    let cp = front(inflight).await?;
                    inflight.pop_front();
                    acked += 1;
                    if let Some(cp) = cp {
                        positions.insert(cp.key, cp.position);
                    }
                }
            }
            Err((source, _)) => {
                return Err(KafkaError::Client {
                    context: "queueing a record",
                    source,
                });
            }
        }
    }
}
