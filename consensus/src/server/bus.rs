//! The consensus on the bus (feature `kafka`): signals read from `hivewall.signals`, the feed
//! written to the compacted `hivewall.feed`.
//!
//! - Signals: one consumer in the group `hivewall-consensus` reads every partition; each
//!   record is a `wire::signal::Signal` observed as its `reporter` says (the topic is written
//!   by the operator's own processors: who may write it is Kafka's ACLs' business, not the
//!   rule's). The offsets read are committed only once a state snapshot that includes them
//!   is written, so a crash re-reads signals rather than losing them (a reporter's repeated
//!   report of a target counts once).
//! - Feed: every `publish_every`, the changes since the publisher's cursor (kept with the
//!   watchers' cursors in the state) are written as records in the decisions topic's format
//!   (`wire::bus::DecisionRecord`, origin `CAPI`, key `scope:value`), a tombstone for an
//!   address that left; the cursor moves on once every record is acknowledged.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::producer::FutureRecord;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use server_common::kafka::FutureProducer;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use super::routes::{lock, outcome_label};
use super::{App, now};
use crate::rule::FeedItem;

/// Where the consensus reads signals and writes its feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusConfig {
    /// Bootstrap brokers, `HOST:PORT[,HOST:PORT...]`.
    pub brokers: String,
    /// `hivewall.signals`.
    pub signals_topic: String,
    /// `hivewall.feed` (compacted).
    pub feed_topic: String,
    /// The signals consumer group.
    pub group: String,
    /// How often feed changes are written.
    pub publish_every: Duration,
    /// Further librdkafka properties for both clients (TLS, SASL, tuning), applied after
    /// the server's own; those its guarantees rest on are refused.
    pub extra: Vec<(String, String)>,
}

impl BusConfig {
    /// The default topics and group, on `brokers`.
    pub fn new(brokers: impl Into<String>) -> BusConfig {
        BusConfig {
            brokers: brokers.into(),
            signals_topic: wire::bus::SIGNALS_TOPIC.into(),
            feed_topic: wire::bus::FEED_TOPIC.into(),
            group: "hivewall-consensus".into(),
            publish_every: Duration::from_secs(1),
            extra: Vec::new(),
        }
    }

    /// A client configuration on the brokers with `own` properties, then the operator's.
    fn client(&self, own: &[(&str, &str)]) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers);
        for (k, v) in own {
            c.set(*k, *v);
        }
        for (k, v) in &self.extra {
            c.set(k, v);
        }
        c
    }
}

/// The feed publisher's cursor in the state's cursor table (not a valid `machine_id`).
pub(crate) const FEED_TOPIC_CURSOR: &str = "#feed-topic";

/// The signals consumer, kept so that offsets are committed after each snapshot.
pub(crate) struct SignalReader {
    consumer: StreamConsumer,
    topic: String,
}

impl SignalReader {
    /// Commits `offsets` (partition → next offset), those of a snapshot just written.
    pub(crate) fn commit(&self, offsets: &BTreeMap<i32, i64>) {
        if offsets.is_empty() {
            return;
        }
        let mut tpl = TopicPartitionList::new();
        for (p, o) in offsets {
            if tpl
                .add_partition_offset(&self.topic, *p, Offset::Offset(*o))
                .is_err()
            {
                return;
            }
        }
        if let Err(e) = self.consumer.commit(&tpl, CommitMode::Async) {
            // The state holds the signals; a lost commit only makes a restart read them again.
            tracing::warn!(error = %e, "committing the signals offsets");
        }
    }
}

/// Why the bus side could not start.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// librdkafka refused something.
    #[error("kafka ({context}): {source}")]
    Kafka {
        /// What was being done.
        context: &'static str,
        /// librdkafka's error.
        source: rdkafka::error::KafkaError,
    },
    /// An operator's Kafka option is refused.
    #[error("consensus Kafka settings: {0}")]
    Config(String),
}

fn kafka(context: &'static str) -> impl Fn(rdkafka::error::KafkaError) -> BusError {
    move |source| BusError::Kafka { context, source }
}

/// Creates the signals consumer and the feed producer, registers the reader with `app`
/// (for commits after snapshots), and starts both loops until `cancel`.
pub(crate) fn start(
    app: &Arc<App>,
    cfg: &BusConfig,
    cancel: &CancellationToken,
) -> Result<Vec<tokio::task::JoinHandle<()>>, BusError> {
    wire::kafka_options::check_options(&cfg.extra, &[]).map_err(BusError::Config)?;
    let consumer: StreamConsumer = cfg
        .client(&[
            ("group.id", cfg.group.as_str()),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("auto.offset.reset", "earliest"),
        ])
        .create()
        .map_err(kafka("creating the signals consumer"))?;
    consumer
        .subscribe(&[&cfg.signals_topic])
        .map_err(kafka("subscribing to the signals topic"))?;
    let producer: FutureProducer = cfg
        .client(&[
            ("acks", "all"),
            ("enable.idempotence", "true"),
            ("partitioner", "murmur2_random"),
            ("message.timeout.ms", "0"),
        ])
        .create()
        .map_err(kafka("creating the feed producer"))?;
    let reader = Arc::new(SignalReader {
        consumer,
        topic: cfg.signals_topic.clone(),
    });
    if app.bus.set(Arc::clone(&reader)).is_err() {
        tracing::warn!("the signals reader was already started");
    }
    Ok(vec![
        tokio::spawn(read_signals(Arc::clone(app), reader, cancel.clone())),
        tokio::spawn(publish_feed(
            Arc::clone(app),
            producer,
            cfg.clone(),
            cancel.clone(),
        )),
    ])
}

/// Observes every signal of the topic until `cancel`.
async fn read_signals(app: Arc<App>, reader: Arc<SignalReader>, cancel: CancellationToken) {
    loop {
        let m = tokio::select! {
            () = cancel.cancelled() => return,
            m = reader.consumer.recv() => m,
        };
        let m = match m {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "reading signals");
                continue;
            }
        };
        let signal = m.payload().map(wire::signal::Signal::decode);
        let at = now();
        let mut s = lock(&app.shared);
        let label = match signal {
            Some(Ok(sig)) => outcome_label(&s.consensus.observe_signal(&sig, at)),
            Some(Err(e)) => {
                tracing::debug!(
                    partition = m.partition(),
                    offset = m.offset(),
                    "signal record skipped: {e}"
                );
                "malformed"
            }
            None => "malformed",
        };
        s.signal_offsets.insert(m.partition(), m.offset() + 1);
        drop(s);
        metrics::counter!("hivewall_consensus_signals_total", "outcome" => label, "via" => "kafka")
            .increment(1);
    }
}

/// Writes the feed's changes every `cfg.publish_every` until `cancel`.
async fn publish_feed(
    app: Arc<App>,
    producer: FutureProducer,
    cfg: BusConfig,
    cancel: CancellationToken,
) {
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(cfg.publish_every) => {}
        }
        let at = now();
        let pull = {
            let mut s = lock(&app.shared);
            s.consensus.advance(at);
            let cursor = s.cursors.get(FEED_TOPIC_CURSOR).copied();
            s.consensus.pull(cursor)
        };
        let mut pending = Vec::new();
        let changes = pull
            .new
            .iter()
            .map(|i| (i, Some(feed_record(i, at))))
            .chain(pull.deleted.iter().map(|i| (i, None)));
        for (item, value) in changes {
            let key = wire::bus::decision_key(item.target.scope(), &item.target.to_string());
            let mut rec = FutureRecord::<String, Vec<u8>>::to(&cfg.feed_topic).key(&key);
            if let Some(v) = &value {
                rec = rec.payload(v);
            }
            match producer.send_result(rec) {
                Ok(f) => pending.push(f),
                Err((e, _)) => {
                    tracing::warn!(error = %e, "queueing a feed record");
                    break;
                }
            }
        }
        let n = pending.len();
        let mut ok = n == pull.new.len() + pull.deleted.len();
        for f in pending {
            ok &= matches!(f.await, Ok(Ok(_)));
        }
        if ok {
            lock(&app.shared)
                .cursors
                .insert(FEED_TOPIC_CURSOR.to_string(), pull.cursor);
            if n > 0 {
                tracing::debug!(records = n, "feed changes written");
            }
        } else {
            // Written again next time (the same records: compaction keeps one).
            tracing::warn!("feed changes not all acknowledged; retrying");
        }
    }
}

/// A feed entry as a record of the decisions topic's format.
fn feed_record(item: &FeedItem, at: i64) -> Vec<u8> {
    let value = item.target.to_string();
    let mut h = Sha256::new();
    h.update(item.target.scope().as_bytes());
    h.update([0]);
    h.update(value.as_bytes());
    let b = h.finalize();
    let hex: String = b[..16].iter().map(|x| format!("{x:02x}")).collect();
    let rfc3339 = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let rec = wire::bus::DecisionRecord {
        v: wire::bus::DECISION_VERSION,
        uuid: format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        ),
        decision: wire::Decision {
            duration: wire::format_go_duration(
                i128::from((item.until - at).max(0)) * 1_000_000_000,
            ),
            origin: wire::feed::CAPI_ORIGIN.to_string(),
            scenario: item.scenario.clone(),
            scope: item.target.scope().to_string(),
            kind: "ban".to_string(),
            value,
            simulated: false,
        },
        until: rfc3339(item.until),
        created_at: rfc3339(at),
        alert_uuid: None,
    };
    serde_json::to_vec(&rec).unwrap_or_default()
}
