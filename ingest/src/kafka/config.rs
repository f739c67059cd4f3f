//! The Kafka producer's settings: parsed, then validated without I/O, then turned into a
//! librdkafka configuration.

use rdkafka::ClientConfig;

use super::KafkaError;

/// Compression codecs librdkafka accepts for `compression.type`.
const CODECS: &[&str] = &["none", "gzip", "snappy", "lz4", "zstd"];

/// Where and how lines are produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaConfig {
    /// Bootstrap brokers, `HOST:PORT[,HOST:PORT...]`.
    pub brokers: String,
    /// The topic (default `hivewall.lines`).
    pub topic: String,
    /// `client.id`.
    pub client_id: String,
    /// How long the producer waits to fill a batch (`linger.ms`).
    pub linger_ms: u32,
    /// `compression.type`.
    pub compression: String,
    /// Records sent and not yet acknowledged at most: past it, sources wait (backpressure).
    pub max_in_flight: usize,
    /// How often acknowledged positions are written to the checkpoint file, at most.
    pub checkpoint_every: std::time::Duration,
    /// Further librdkafka properties, applied last (e.g. `security.protocol`).
    pub extra: Vec<(String, String)>,
}

impl KafkaConfig {
    /// Defaults for `brokers`: zstd batches lingering 5 ms, 100k records in flight.
    pub fn new(brokers: impl Into<String>) -> Self {
        KafkaConfig {
            brokers: brokers.into(),
            topic: wire::bus::LINES_TOPIC.to_string(),
            client_id: "hivewall-ingest".to_string(),
            linger_ms: 5,
            compression: "zstd".to_string(),
            max_in_flight: 100_000,
            checkpoint_every: std::time::Duration::from_secs(1),
            extra: Vec::new(),
        }
    }

    /// Checks the settings (no I/O, no connection).
    pub fn validate(&self) -> Result<(), KafkaError> {
        let bad = |m: String| Err(KafkaError::Config(m));
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
        if self.topic.is_empty() {
            return bad("empty topic name".into());
        }
        if !CODECS.contains(&self.compression.as_str()) {
            return bad(format!(
                "compression `{}` unknown (one of {})",
                self.compression,
                CODECS.join(", ")
            ));
        }
        if self.max_in_flight == 0 {
            return bad("max_in_flight must be at least 1".into());
        }
        wire::kafka_options::check_options(&self.extra, &[]).map_err(KafkaError::Config)
    }

    /// The librdkafka configuration: acks from every in-sync replica with idempotence (no
    /// duplicates or reordering from retries), Java's murmur2 partitioner (keys land where Java
    /// clients put them), and no delivery timeout: while the brokers are away, records wait
    /// and sources slow down; nothing is dropped.
    pub fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("client.id", &self.client_id)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("partitioner", "murmur2_random")
            .set("compression.type", &self.compression)
            .set("linger.ms", self.linger_ms.to_string())
            .set("message.timeout.ms", "0")
            .set(
                "queue.buffering.max.messages",
                self.max_in_flight.clamp(1, 10_000_000).to_string(),
            );
        for (k, v) in &self.extra {
            c.set(k, v);
        }
        c
    }
}
