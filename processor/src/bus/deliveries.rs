//! Deliveries counted per batch instead of a future per record.
//!
//! The parse stage writes one or more event records per line and only needs to know when all
//! records of a batch of lines are acknowledged (then it commits the batch's offsets). A
//! `FutureProducer` gives each record a future: an allocation, a channel and a wake-up of the
//! waiting task per record, on the producer's polling thread (8% of a processor's samples on
//! 300k lines). Here each record carries its batch's [`Acks`] and the delivery callback only
//! counts down; the waiter wakes once, when the count reaches zero.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rdkafka::ClientContext;
use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryResult, ProducerContext};
use server_common::kafka::Polled;
use tokio::sync::Notify;

/// A producer whose records each carry the [`Acks`] of their batch.
pub(super) type CountingProducer = Polled<Counting>;

/// The producer context of [`CountingProducer`].
pub(super) struct Counting;

impl ClientContext for Counting {}

impl ProducerContext for Counting {
    type DeliveryOpaque = Arc<Acks>;

    fn delivery(&self, result: &DeliveryResult<'_>, acks: Arc<Acks>) {
        acks.settle(result.as_ref().err().map(|(e, _)| e.clone()));
    }
}

/// The records of a batch not yet acknowledged, and the first failure among them.
#[derive(Debug, Default)]
pub(super) struct Acks {
    left: AtomicUsize,
    failed: Mutex<Option<KafkaError>>,
    /// Notified each time `left` reaches zero.
    zero: Notify,
}

impl Acks {
    /// Counts a record about to be sent; returns its delivery opaque.
    pub(super) fn sending(self: &Arc<Self>) -> Arc<Self> {
        self.left.fetch_add(1, Ordering::AcqRel);
        Arc::clone(self)
    }

    /// Settles one record: acknowledged (`None`), failed, or never queued (the caller's).
    pub(super) fn settle(&self, failure: Option<KafkaError>) {
        if let Some(e) = failure {
            let mut f = self.failed.lock().unwrap_or_else(|p| p.into_inner());
            f.get_or_insert(e);
        }
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.zero.notify_one();
        }
    }

    /// Waits until every record counted so far is settled; the first failure is the error.
    pub(super) async fn all(&self) -> Result<(), KafkaError> {
        // `notify_one` keeps a permit when nobody waits, so a zero reached before this wait
        // is not missed; a stale permit only makes the loop look again.
        while self.left.load(Ordering::Acquire) != 0 {
            self.zero.notified().await;
        }
        let f = self.failed.lock().unwrap_or_else(|p| p.into_inner()).take();
        f.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// The wait ends when the last record settles, not before; a failure is reported.
    #[tokio::test]
    async fn the_wait_ends_with_the_last_record() {
        let acks = Arc::new(Acks::default());
        assert_eq!(acks.all().await, Ok(()), "nothing sent");
        let a = acks.sending();
        let b = acks.sending();
        a.settle(None);
        let wait = tokio::time::timeout(Duration::from_millis(50), acks.all()).await;
        assert!(wait.is_err(), "one record is still in flight");
        let waiter = tokio::spawn({
            let acks = Arc::clone(&acks);
            async move { acks.all().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        b.settle(Some(KafkaError::Canceled));
        let got = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the waiter wakes")
            .unwrap();
        assert_eq!(got, Err(KafkaError::Canceled));
        // Counting again after a zero (a batch still being filled) waits again.
        let c = acks.sending();
        let wait = tokio::time::timeout(Duration::from_millis(50), acks.all()).await;
        assert!(wait.is_err(), "a stale permit does not end the wait");
        c.settle(None);
        assert_eq!(acks.all().await, Ok(()));
    }
}
