//! The distributed processor: two consumer groups around Kafka topics.
//!
//! - parse stage ([`run_parse`]): `hivewall.lines` → parsers → the buckets each event goes to
//!   (`Pipeline::parse_and_route`) → one record per routing key on `hivewall.events`, keyed by
//!   that key: the `groupby` value (the source address for most scenarios; a user name or an
//!   ARN for others), or the scenario's name for scenarios without `groupby`. Keys are placed
//!   by librdkafka's `murmur2_random` partitioner, as Java clients place them. The consumer
//!   offsets of a batch are committed once its records are acknowledged (at least once).
//! - detect stage ([`run_detect`]): `hivewall.events` → for each partition, a pipeline whose
//!   buckets live in a RocksDB of that partition → alerts on `hivewall.alerts` and their
//!   decisions on the compacted `hivewall.decisions` (key `scope:value`, a uuid derived from
//!   the alert) → once those are acknowledged, the changed buckets and the partition's next
//!   offset go to the changelog `hivewall.state` in one transaction of the partition's owner
//!   (a processor that lost the partition is fenced off), then, once it is committed, to the
//!   partition's RocksDB in one write, then the group's offset. Records below the stored
//!   offset are skipped, so a crash replays at most the records since the last write and a
//!   re-emitted alert writes the same decision record again, not a second decision.
//!
//! Scenarios are named on the bus by their name (`crowdsecurity/ssh-bf`): processors of one
//! deployment must load the same scenario set.

mod changelog;
#[cfg(test)]
mod changelog_tests;
mod deliveries;
mod detect;
mod emit;
mod flush;
mod next;
mod owner;
mod parse;
#[cfg(test)]
mod scenario_tests;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::time::Duration;

use rdkafka::ClientConfig;

pub use changelog::{RestoreStats, publish_ops, restore_partition};
pub use detect::{DetectStats, run_detect};
pub use parse::{ParseStats, run_parse};

/// Topic of parsed events between the two stages.
pub const EVENTS_TOPIC: &str = "hivewall.events";

/// Compacted topic of the detect stage's state (one partition per events partition).
pub const STATE_TOPIC: &str = "hivewall.state";

/// Where the stages read and write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusConfig {
    /// Bootstrap brokers, `HOST:PORT[,HOST:PORT...]`.
    pub brokers: String,
    /// Consumer group of the parse stage.
    pub parse_group: String,
    /// Consumer group of the detect stage.
    pub detect_group: String,
    /// `hivewall.lines`.
    pub lines_topic: String,
    /// `hivewall.events`.
    pub events_topic: String,
    /// `hivewall.alerts`.
    pub alerts_topic: String,
    /// `hivewall.decisions`.
    pub decisions_topic: String,
    /// `hivewall.state`: the changelog of the detect stage's partitions.
    pub state_topic: String,
    /// Records handled between two commits at most.
    pub batch: usize,
    /// Where the detect stage keeps one RocksDB per partition (`partition-N`).
    pub state_dir: PathBuf,
    /// A detect partition without events for this long moves its bucket time on by the wall
    /// clock (less this grace), so counters fire and idle buckets leak out. It must outlast
    /// the silence of a rebalance after a processor dies (the 10 s session timeout, the parse
    /// stage's takeover, a restore): a partition whose events are only held up upstream must
    /// not see its buckets leak as if no attack went on.
    pub idle_grace: Duration,
    /// Where the detect stage shares a signal per alert (`hivewall.share_signals`), and as
    /// which reporter; `None`: not shared.
    pub signals: Option<SignalsOut>,
    /// Further librdkafka properties for every client of the stages (TLS, SASL, tuning),
    /// applied after the processor's own; [`BusConfig::validate`] refuses those its
    /// guarantees rest on.
    pub extra: Vec<(String, String)>,
}

/// Signals the detect stage writes (`wire::signal::Signal`, one per alert that is shared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalsOut {
    /// `hivewall.signals`.
    pub topic: String,
    /// The reporter id every processor of the deployment writes (one member of the
    /// consensus: the login of its feed credentials).
    pub reporter: String,
}

impl BusConfig {
    /// The default topic and group names, for `brokers` and `state_dir`.
    pub fn new(brokers: impl Into<String>, state_dir: impl Into<PathBuf>) -> Self {
        BusConfig {
            brokers: brokers.into(),
            parse_group: "hivewall-parse".into(),
            detect_group: "hivewall-detect".into(),
            lines_topic: wire::bus::LINES_TOPIC.into(),
            events_topic: EVENTS_TOPIC.into(),
            alerts_topic: wire::bus::ALERTS_TOPIC.into(),
            decisions_topic: wire::bus::DECISIONS_TOPIC.into(),
            state_topic: STATE_TOPIC.into(),
            batch: 2000,
            state_dir: state_dir.into(),
            idle_grace: Duration::from_secs(30),
            signals: None,
            extra: Vec::new(),
        }
    }

    /// Checks the settings (no I/O, no connection).
    pub fn validate(&self) -> Result<(), BusError> {
        let bad = |m: String| Err(BusError::Config(m));
        if self.brokers.trim().is_empty() {
            return bad("no brokers given (--brokers HOST:PORT)".into());
        }
        if self.batch == 0 {
            return bad("batch must be at least 1".into());
        }
        // The stages' own: fencing and the restore's bounds depend on them.
        let own = ["transaction.timeout.ms", "enable.partition.eof"];
        wire::kafka_options::check_options(&self.extra, &own).map_err(BusError::Config)
    }

    /// Sets `key` on `c` unless an operator's option sets it (a stage's tuning that
    /// `-X` may change).
    pub(crate) fn tune(&self, c: &mut ClientConfig, key: &str, value: &str) {
        if !wire::kafka_options::sets(&self.extra, key) {
            c.set(key, value);
        }
    }

    fn with_extra(&self, mut c: ClientConfig) -> ClientConfig {
        for (k, v) in &self.extra {
            c.set(k, v);
        }
        c
    }

    /// A producer's configuration: acks from all in-sync replicas, idempotence, Java's murmur2
    /// placement of keys, no delivery timeout (records wait out a broker restart).
    pub fn producer(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("partitioner", "murmur2_random")
            .set("compression.type", "zstd")
            .set("linger.ms", "5")
            .set("message.timeout.ms", "0");
        self.with_extra(c)
    }

    /// A consumer's configuration in `group`: offsets stored and committed by hand.
    pub(crate) fn consumer(&self, group: &str) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "10000")
            .set("heartbeat.interval.ms", "1000");
        self.with_extra(c)
    }
}

/// What stops a stage.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The settings are unusable.
    #[error("processor settings: {0}")]
    Config(String),
    /// librdkafka refused something.
    #[error("kafka ({context}): {source}")]
    Kafka {
        /// What was being done.
        context: &'static str,
        /// librdkafka's error.
        source: rdkafka::error::KafkaError,
    },
    /// A topic does not exist.
    #[error(
        "topic `{0}` does not exist on the brokers: create it (e.g. docker/kafka/kafka.sh topics create {0} 4)"
    )]
    NoTopic(String),
    /// The changelog must have one partition per events partition.
    #[error(
        "topic `{b}` has {nb} partition(s) but `{a}` has {na}: the changelog needs one partition per events partition"
    )]
    PartitionMismatch {
        /// The events topic.
        a: String,
        /// Its partitions.
        na: usize,
        /// The changelog topic.
        b: String,
        /// Its partitions.
        nb: usize,
    },
    /// Loading the pipeline.
    #[error(transparent)]
    Setup(#[from] engine::pipeline::SetupError),
    /// A partition's state database.
    #[error(transparent)]
    State(#[from] crate::StateError),
    /// A thread of the stage could not be started, or panicked.
    #[error("detect stage thread: {0}")]
    Thread(String),
    /// Another processor claimed the partition while this one was restoring it.
    #[error("changelog partition {0} was claimed by another processor during its restore")]
    Fenced(i32),
}

pub(crate) fn kafka(context: &'static str) -> impl FnOnce(rdkafka::error::KafkaError) -> BusError {
    move |source| BusError::Kafka { context, source }
}

/// Fails when one of `topics` does not exist (hivewall does not create topics: partition
/// counts and retention are the operator's choice), as `ingest` and `api` do.
pub(crate) fn ensure_topics<C: rdkafka::consumer::ConsumerContext + 'static>(
    consumer: &rdkafka::consumer::StreamConsumer<C>,
    topics: &[&str],
) -> Result<(), BusError> {
    use rdkafka::consumer::Consumer;
    for t in topics {
        // Blocking calls, once at start-up (the runtime is multi-threaded). A topic created a
        // moment ago may not be in every broker's metadata yet: asked again for up to 10 s.
        let mut tries = 0;
        loop {
            let meta = tokio::task::block_in_place(|| {
                consumer.fetch_metadata(Some(t), std::time::Duration::from_secs(10))
            })
            .map_err(kafka("reading topic metadata"))?;
            let ok = meta
                .topics()
                .iter()
                .any(|m| m.name() == *t && m.error().is_none() && !m.partitions().is_empty());
            if ok {
                break;
            }
            tries += 1;
            if tries >= 20 {
                return Err(BusError::NoTopic(t.to_string()));
            }
            tokio::task::block_in_place(|| {
                std::thread::sleep(std::time::Duration::from_millis(500))
            });
        }
    }
    Ok(())
}

/// Fails unless `a` and `b` have as many partitions (a changelog partition per events
/// partition).
pub(crate) fn same_partitions<C: rdkafka::consumer::ConsumerContext + 'static>(
    consumer: &rdkafka::consumer::StreamConsumer<C>,
    a: &str,
    b: &str,
) -> Result<(), BusError> {
    use rdkafka::consumer::Consumer;
    let count = |t: &str| -> Result<usize, BusError> {
        let meta = tokio::task::block_in_place(|| {
            consumer.fetch_metadata(Some(t), std::time::Duration::from_secs(10))
        })
        .map_err(kafka("reading topic metadata"))?;
        Ok(meta
            .topics()
            .iter()
            .find(|m| m.name() == t)
            .map_or(0, |m| m.partitions().len()))
    };
    let (na, nb) = (count(a)?, count(b)?);
    if na != nb {
        return Err(BusError::PartitionMismatch {
            a: a.to_string(),
            na,
            b: b.to_string(),
            nb,
        });
    }
    Ok(())
}

/// Waits for every delivery future; the first failure is the error.
pub(crate) async fn acked(
    pending: &mut Vec<server_common::kafka::DeliveryFuture>,
) -> Result<(), BusError> {
    for f in pending.drain(..) {
        match f.await {
            Ok(Ok(_)) => {}
            Ok(Err((e, _))) => return Err(kafka("delivery")(e)),
            Err(_) => return Err(kafka("delivery")(rdkafka::error::KafkaError::Canceled)),
        }
    }
    Ok(())
}
