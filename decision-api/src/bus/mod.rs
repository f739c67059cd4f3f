//! The distributed mode: an API replica materialized from Kafka.
//!
//! Every replica reads every partition of the compacted topic `hivewall.decisions` from offset
//! 0 (no consumer group: partitions are assigned explicitly) into its [`Store`], so `?ip=`,
//! exports and operator listings are answered locally. Decision ids come from the records
//! ([`record::decision_id`]), so they are the same on every replica.
//!
//! Bouncer streams are served from a [`view::View`] of the topic: a bouncer's cursor is the
//! vector of per-partition offsets it was served up to, with the time of that pull; cursors
//! and registrations live in the compacted topic `hivewall.bouncers` (keyed by bouncer name),
//! which every replica reads too. Before serving a stream, a replica reads the bouncers topic
//! up to its high watermark (so it has the cursor another replica saved), waits until it has
//! read the decisions topic up to that cursor, and answers 503 when either takes longer than
//! [`BusConfig::catch_up_wait`]. The new cursor is acknowledged by the brokers before the
//! response ends. So a bouncer alternating between replicas, or moving off a dead one, is sent
//! every change once.
//!
//! Writes (operator `decisions add/delete`, watcher alerts, bouncer registrations) go to the
//! topics, not to the store: the store sees them when they come back, like every other replica.

mod config;
mod materialize;
pub mod record;
pub(crate) mod stream;
#[cfg(test)]
mod tests;
pub mod view;
#[cfg(test)]
mod view_tests;
mod writes;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::Producer;
use rdkafka::{Offset, TopicPartitionList};
use server_common::kafka::FutureProducer;
use tokio_util::sync::CancellationToken;

pub use config::{BOUNCERS_TOPIC, BusConfig};
pub use view::Cursor;

use crate::store::{Store, StoreError};
use view::View;

/// A failure of the distributed mode.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The settings cannot be used.
    #[error("kafka settings: {0}")]
    Config(String),
    /// librdkafka refused an operation.
    #[error("kafka ({context}): {source}")]
    Client {
        /// What was being done.
        context: &'static str,
        /// librdkafka's error.
        source: rdkafka::error::KafkaError,
    },
    /// A topic does not exist (hivewall does not create topics).
    #[error(
        "topic `{0}` does not exist on the brokers: create it compacted (e.g. docker/kafka/kafka.sh topics create {0} 4 compact)"
    )]
    NoTopic(String),
    /// A record was not acknowledged.
    #[error("kafka delivery failed: {0}")]
    Delivery(rdkafka::error::KafkaError),
    /// This replica did not catch up in time (HTTP 503: the client retries).
    #[error("this replica is catching up with the topics; retry")]
    Behind,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a replica shares between its reader thread and the HTTP handlers.
pub(crate) struct State {
    pub view: View,
    /// Bouncer name → its saved cursor.
    pub cursors: HashMap<String, Cursor>,
    /// Per partition of the bouncers topic, the next offset to read.
    pub bouncer_positions: Vec<i64>,
}

pub(crate) struct Shared {
    pub cfg: BusConfig,
    pub store: Store,
    pub producer: FutureProducer,
    pub state: Mutex<State>,
    /// Bumped after every batch read; waiters re-check their condition.
    pub progress: tokio::sync::watch::Sender<u64>,
    /// The initial load (up to the high watermarks seen at start) is done.
    pub ready: AtomicBool,
    /// The reader thread stopped (shutdown or failure).
    pub stopped: AtomicBool,
    /// The reader thread, joined by [`Replica::wait_stopped`]: it has written to the store
    /// (RocksDB keeps per-thread state), so it must be gone before the process exits, or its
    /// thread-exit cleanup can run against RocksDB's statics as they are torn down (an abort,
    /// "pthread lock: Invalid argument").
    pub reader: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// One API replica's link to the topics (cheap to clone).
#[derive(Clone)]
pub struct Replica {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica")
            .field("decisions_topic", &self.shared.cfg.decisions_topic)
            .field("bouncers_topic", &self.shared.cfg.bouncers_topic)
            .finish()
    }
}

/// Partition counts of the two topics, waiting (with a warning every 10 s) while no broker
/// answers; `None` when `shutdown` came first.
async fn partition_counts(
    consumer: &Arc<BaseConsumer>,
    cfg: &BusConfig,
    shutdown: &CancellationToken,
) -> Result<Option<(usize, usize)>, BusError> {
    let topics = [cfg.decisions_topic.clone(), cfg.bouncers_topic.clone()];
    loop {
        let c = consumer.clone();
        let names = topics.clone();
        let meta = tokio::task::spawn_blocking(move || {
            names
                .iter()
                .map(|name| {
                    c.fetch_metadata(Some(name), Duration::from_secs(10))
                        .map(|m| {
                            m.topics()
                                .iter()
                                .find(|t| t.name() == name)
                                .filter(|t| t.error().is_none())
                                .map_or(0, |t| t.partitions().len())
                        })
                })
                .collect::<Result<Vec<usize>, _>>()
        })
        .await
        .map_err(|e| BusError::Config(format!("metadata task: {e}")))?;
        match meta {
            Ok(counts) => {
                for (name, n) in topics.iter().zip(&counts) {
                    if *n == 0 {
                        return Err(BusError::NoTopic(name.clone()));
                    }
                }
                return Ok(Some((counts[0], counts[1])));
            }
            Err(e) => tracing::warn!(error = %e, "no Kafka broker answers yet; retrying"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(None),
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

impl Replica {
    /// Connects to the brokers, empties `store` of what a previous run materialized
    /// ([`Store::reset_for_replica`]) and starts reading both topics from offset 0 on a
    /// thread of its own, until `shutdown`. `None` when `shutdown` came before a broker
    /// answered. See [`Replica::wait_ready`] for the initial load.
    pub async fn start(
        cfg: BusConfig,
        store: Store,
        shutdown: CancellationToken,
    ) -> Result<Option<Replica>, BusError> {
        cfg.validate()?;
        let client_err = |context| move |source| BusError::Client { context, source };
        let consumer: Arc<BaseConsumer> = Arc::new(
            cfg.consumer_config()
                .create()
                .map_err(client_err("creating the consumer"))?,
        );
        let producer: FutureProducer = cfg
            .producer_config()
            .create()
            .map_err(client_err("creating the producer"))?;
        let Some((nd, nb)) = partition_counts(&consumer, &cfg, &shutdown).await? else {
            return Ok(None);
        };
        store.reset_for_replica(&cfg.decisions_topic)?;
        let mut tpl = TopicPartitionList::new();
        for (topic, n) in [(&cfg.decisions_topic, nd), (&cfg.bouncers_topic, nb)] {
            for p in 0..n {
                let p = i32::try_from(p).unwrap_or(i32::MAX);
                tpl.add_partition_offset(topic, p, Offset::Beginning)
                    .map_err(client_err("assigning partitions"))?;
            }
        }
        consumer
            .assign(&tpl)
            .map_err(client_err("assigning partitions"))?;
        let (progress, _) = tokio::sync::watch::channel(0u64);
        let shared = Arc::new(Shared {
            cfg,
            store,
            producer,
            state: Mutex::new(State {
                view: View::new(nd),
                cursors: HashMap::new(),
                bouncer_positions: vec![0; nb],
            }),
            progress,
            ready: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            reader: Mutex::new(None),
        });
        let replica = Replica { shared };
        let high = replica.high_watermarks(true).await?;
        let reader = materialize::spawn(replica.clone(), consumer, high, shutdown)?;
        *replica
            .shared
            .reader
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(reader);
        Ok(Some(replica))
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The store this replica materializes into.
    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// The settings.
    pub fn config(&self) -> &BusConfig {
        &self.shared.cfg
    }

    /// Whether the initial load is done: both topics were read up to the high watermarks
    /// they had when the replica started.
    pub fn is_ready(&self) -> bool {
        self.shared.ready.load(Ordering::Acquire)
    }

    /// Waits up to `timeout` for the initial load; whether it is done.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        self.wait_until(timeout, |r| r.is_ready()).await
    }

    /// Waits until the reader thread has stopped (after shutdown) and is gone, at most
    /// `timeout`; whether it is.
    pub async fn wait_stopped(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        if !self
            .wait_until(timeout, |r| r.shared.stopped.load(Ordering::Acquire))
            .await
        {
            return false;
        }
        let handle = self
            .shared
            .reader
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let Some(handle) = handle else {
            return true;
        };
        // It has finished reading; what is left is its thread-exit cleanup.
        let join = tokio::task::spawn_blocking(move || handle.join());
        matches!(
            tokio::time::timeout_at(deadline, join).await,
            Ok(Ok(Ok(())))
        )
    }

    /// The next offset to read per partition of the decisions topic.
    pub fn positions(&self) -> Vec<i64> {
        self.state().view.positions().to_vec()
    }

    /// Waits (at most `timeout`) until `cond` holds, re-checking after every batch read.
    pub(crate) async fn wait_until(
        &self,
        timeout: Duration,
        cond: impl Fn(&Replica) -> bool,
    ) -> bool {
        let mut rx = self.shared.progress.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if cond(self) {
                return true;
            }
            if self.shared.stopped.load(Ordering::Acquire) {
                return cond(self);
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                // Sender gone or deadline: one last look.
                _ => return cond(self),
            }
        }
    }

    /// The high watermark of every partition of the bouncers topic (`bouncers`) or of both
    /// topics, decisions first (`both`).
    async fn high_watermarks(&self, both: bool) -> Result<Vec<Vec<i64>>, BusError> {
        let shared = self.shared.clone();
        let (nd, nb) = {
            let st = self.state();
            (st.view.positions().len(), st.bouncer_positions.len())
        };
        tokio::task::spawn_blocking(move || {
            let cfg = &shared.cfg;
            let mut topics = vec![(&cfg.bouncers_topic, nb)];
            if both {
                topics.insert(0, (&cfg.decisions_topic, nd));
            }
            let client = shared.producer.client();
            topics
                .into_iter()
                .map(|(topic, n)| {
                    (0..n)
                        .map(|p| {
                            let p = i32::try_from(p).unwrap_or(i32::MAX);
                            client
                                .fetch_watermarks(topic, p, Duration::from_secs(5))
                                .map(|(_, high)| high)
                                .map_err(|source| BusError::Client {
                                    context: "reading high watermarks",
                                    source,
                                })
                        })
                        .collect::<Result<Vec<i64>, BusError>>()
                })
                .collect()
        })
        .await
        .map_err(|e| BusError::Config(format!("watermark task: {e}")))?
    }

    /// Reads the bouncers topic up to its current high watermark (registrations and cursors
    /// saved by any replica until now), waiting at most the catch-up wait.
    pub async fn sync_bouncers(&self) -> Result<(), BusError> {
        let high = self.high_watermarks(false).await?;
        let high = high.into_iter().next().unwrap_or_default();
        let caught_up = self
            .wait_until(self.shared.cfg.catch_up_wait, |r| {
                let st = r.state();
                high.iter()
                    .zip(&st.bouncer_positions)
                    .all(|(h, pos)| pos >= h)
            })
            .await;
        if caught_up {
            Ok(())
        } else {
            Err(BusError::Behind)
        }
    }
}
