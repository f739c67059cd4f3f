//! The replica's Kafka settings: built with defaults, validated without I/O, then turned into
//! librdkafka configurations for the consumer and the producer.

use std::time::Duration;

use rdkafka::ClientConfig;

use super::BusError;

/// The compacted topic of bouncer registrations and stream cursors, keyed by bouncer name.
pub const BOUNCERS_TOPIC: &str = "hivewall.bouncers";

/// Where a replica reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusConfig {
    /// Bootstrap brokers, `HOST:PORT[,HOST:PORT...]`.
    pub brokers: String,
    /// The decisions topic (default [`wire::bus::DECISIONS_TOPIC`]).
    pub decisions_topic: String,
    /// The bouncers topic (default [`BOUNCERS_TOPIC`]).
    pub bouncers_topic: String,
    /// `client.id`.
    pub client_id: String,
    /// Longest wait for this replica to catch up with a bouncer's cursor (or with the
    /// bouncers topic) before answering 503, and for a write to come back from the topic.
    pub catch_up_wait: Duration,
    /// Further librdkafka properties, applied last to both clients (e.g. `security.protocol`).
    pub extra: Vec<(String, String)>,
}

impl BusConfig {
    /// Defaults for `brokers`: the standard topics, a 5 s catch-up wait.
    pub fn new(brokers: impl Into<String>) -> Self {
        BusConfig {
            brokers: brokers.into(),
            decisions_topic: wire::bus::DECISIONS_TOPIC.to_string(),
            bouncers_topic: BOUNCERS_TOPIC.to_string(),
            client_id: "hivewall-api".to_string(),
            catch_up_wait: Duration::from_secs(5),
            extra: Vec::new(),
        }
    }

    /// Checks the settings (no I/O, no connection).
    pub fn validate(&self) -> Result<(), BusError> {
        let bad = |m: String| Err(BusError::Config(m));
        if self.brokers.trim().is_empty() {
            return bad("no brokers given (--brokers HOST:PORT)".into());
        }
        for b in self.brokers.split(',') {
            let b = b.trim();
            match b.rsplit_once(':') {
                Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {}
                _ => return bad(format!("broker `{b}` is not HOST:PORT")),
            }
        }
        if self.decisions_topic.is_empty() || self.bouncers_topic.is_empty() {
            return bad("empty topic name".into());
        }
        if self.decisions_topic == self.bouncers_topic {
            return bad("the decisions and bouncers topics must differ".into());
        }
        if self.catch_up_wait.is_zero() {
            return bad("catch_up_wait must be positive".into());
        }
        // The initial load ends at the high watermarks, not at end-of-partition events.
        wire::kafka_options::check_options(&self.extra, &["enable.partition.eof"])
            .map_err(BusError::Config)
    }

    /// The consumer: no group (partitions are assigned explicitly, every replica reads
    /// everything from offset 0), nothing committed. The initial load is done once the high
    /// watermarks seen at start are reached.
    pub(crate) fn consumer_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("client.id", &self.client_id)
            // librdkafka wants a group id even for `assign`; nothing is ever committed to it.
            .set("group.id", format!("{}-unused", self.client_id))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "false")
            .set("auto.offset.reset", "earliest")
            .set("fetch.wait.max.ms", "50");
        for (k, v) in &self.extra {
            c.set(k, v);
        }
        c
    }

    /// The producer: acknowledgements from every in-sync replica, idempotence, Java's murmur2
    /// partitioner (a key lands where Java clients put it), little lingering (writes are
    /// operator and watcher actions, and bouncers wait for their cursor).
    pub(crate) fn producer_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("client.id", &self.client_id)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("partitioner", "murmur2_random")
            .set("linger.ms", "1")
            .set("message.timeout.ms", "30000");
        for (k, v) in &self.extra {
            c.set(k, v);
        }
        c
    }
}
