//! Ownership of a changelog partition, fenced by Kafka transactions.
//!
//! Each partition of `hivewall.state` is written by one transactional producer whose
//! `transactional.id` names the partition. Claiming a partition (`init_transactions`) fences
//! every earlier producer of that id and aborts its open transaction, so a processor that
//! stalled past its session, lost the partition to another one and woke up cannot add to the
//! changelog any more: its next commit fails as fenced, and it drops the partition without
//! writing its RocksDB. Each flush of a partition is one transaction (its records and its
//! marker); readers of the changelog read committed records only, so an aborted or fenced
//! flush is never restored.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::Producer;
use server_common::kafka::{DeliveryFuture, FutureProducer};

use super::changelog::{marker_offset, publish};
use super::{BusConfig, BusError, kafka};
use crate::state::Op;

/// How long a transaction may stay open, and a commit may wait: long enough to outlast a
/// broker restart (the stage's other records wait for one without limit).
const TXN_TIMEOUT: Duration = Duration::from_secs(300);

/// The producer that owns one changelog partition.
pub(crate) struct Owner {
    producer: FutureProducer,
    topic: String,
    partition: i32,
    /// Set once a call said that another producer claimed the partition.
    fenced: AtomicBool,
}

/// How a flush of a partition ended.
#[derive(Debug)]
pub(crate) enum Written {
    /// Committed: the marker's offset.
    At(i64),
    /// Another processor claimed the partition since: nothing was written.
    Fenced,
}

/// A flush queued in an open transaction, not yet committed.
pub(crate) struct Queued {
    /// `None`: fenced before the marker was queued.
    marker: Option<DeliveryFuture>,
}

/// The transactional id of a changelog partition: one per partition of one deployment
/// (detect group and changelog topic).
pub(crate) fn transactional_id(cfg: &BusConfig, partition: i32) -> String {
    format!("{}:{}:{}", cfg.detect_group, cfg.state_topic, partition)
}

impl Owner {
    /// Claims `partition` of the changelog: fences its earlier owners and waits until their
    /// open transaction is aborted. Blocking.
    pub(crate) fn claim(cfg: &BusConfig, partition: i32) -> Result<Owner, BusError> {
        let timeout = TXN_TIMEOUT.as_millis().to_string();
        let producer: FutureProducer = cfg
            .producer()
            .set("transactional.id", transactional_id(cfg, partition))
            .set("transaction.timeout.ms", &timeout)
            .set("message.timeout.ms", &timeout)
            .create()
            .map_err(kafka("creating the changelog producer"))?;
        producer
            .init_transactions(TXN_TIMEOUT)
            .map_err(kafka("claiming a changelog partition"))?;
        Ok(Owner {
            producer,
            topic: cfg.state_topic.clone(),
            partition,
            fenced: AtomicBool::new(false),
        })
    }

    /// Opens a transaction and queues `ops` and a marker (`next`: the partition's next event
    /// offset) in it.
    pub(crate) fn queue(&self, ops: &[Op], next: i64) -> Result<Queued, BusError> {
        if let Err(e) = self.producer.begin_transaction() {
            return self.fenced_or(e, "opening a changelog transaction");
        }
        // Deliveries are settled by the commit: only the marker's offset is needed.
        let mut deliveries = Vec::new();
        match publish(
            &self.producer,
            &self.topic,
            self.partition,
            ops,
            next,
            &mut deliveries,
        ) {
            Ok(marker) => Ok(Queued {
                marker: Some(marker),
            }),
            Err(BusError::Kafka { context, source }) => self.fenced_or(source, context),
            Err(e) => Err(e),
        }
    }

    /// A fenced `e` leaves nothing queued; any other is the error.
    fn fenced_or(&self, e: KafkaError, context: &'static str) -> Result<Queued, BusError> {
        if fenced(&e) {
            self.fenced.store(true, Ordering::Release);
            return Ok(Queued { marker: None });
        }
        Err(kafka(context)(e))
    }

    /// Commits the open transaction. Blocking.
    pub(crate) fn commit(&self) -> Result<bool, BusError> {
        if self.fenced.load(Ordering::Acquire) {
            return Ok(false);
        }
        match self.producer.commit_transaction(TXN_TIMEOUT) {
            Ok(()) => Ok(true),
            Err(e) if fenced(&e) => {
                self.fenced.store(true, Ordering::Release);
                Ok(false)
            }
            Err(e) => {
                // Leave the producer usable when the broker allows it.
                if let KafkaError::Transaction(t) = &e
                    && t.txn_requires_abort()
                {
                    let _ = self.producer.abort_transaction(TXN_TIMEOUT);
                }
                Err(kafka("committing a changelog transaction")(e))
            }
        }
    }

    /// Where a committed flush's marker landed.
    pub(crate) async fn settled(queued: Queued, committed: bool) -> Result<Written, BusError> {
        match queued.marker {
            Some(marker) if committed => Ok(Written::At(marker_offset(marker).await?)),
            _ => Ok(Written::Fenced),
        }
    }

    /// Writes `ops` and a marker in one transaction and waits for it. Blocking (inside a
    /// multi-threaded Tokio runtime).
    pub(crate) fn write(&self, ops: &[Op], next: i64) -> Result<Written, BusError> {
        let queued = self.queue(ops, next)?;
        let committed = self.commit()?;
        tokio::runtime::Handle::current().block_on(Owner::settled(queued, committed))
    }

    /// The partition.
    pub(crate) fn partition(&self) -> i32 {
        self.partition
    }
}

/// Whether `e` says that another producer claimed the transactional id.
fn fenced(e: &KafkaError) -> bool {
    let code = match e {
        KafkaError::Transaction(t) => t.code(),
        other => match other.rdkafka_error_code() {
            Some(c) => c,
            None => return false,
        },
    };
    matches!(
        code,
        RDKafkaErrorCode::Fenced
            | RDKafkaErrorCode::ProducerFenced
            | RDKafkaErrorCode::InvalidProducerEpoch
    )
}
