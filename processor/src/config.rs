//! Processor settings.

use std::time::Duration;

/// How the processor batches work.
#[derive(Debug, Clone)]
pub struct ProcessorConfig {
    /// Most lines handled before alerts are delivered and state is committed.
    pub max_batch: usize,
    /// How often bucket time moves on without new lines (counters fire, idle buckets leak).
    pub tick: Duration,
    /// Wait between retries of a sink that refused alerts.
    pub retry: Duration,
    /// Most time between two writes of bucket state and checkpoints while lines flow (alerts
    /// are delivered with every batch regardless). A crash replays at most this much input.
    pub persist_every: Duration,
}

impl Default for ProcessorConfig {
    fn default() -> Self {
        ProcessorConfig {
            max_batch: 2048,
            tick: Duration::from_millis(500),
            retry: Duration::from_millis(500),
            persist_every: Duration::from_secs(1),
        }
    }
}
