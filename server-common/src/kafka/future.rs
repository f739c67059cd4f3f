//! [`FutureProducer`]: a [`Polled`] producer whose sends return a future of their delivery.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use rdkafka::ClientConfig;
use rdkafka::ClientContext;
use rdkafka::config::FromClientConfig;
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::{Message, ToBytes};
use rdkafka::producer::future_producer::{Delivery, OwnedDeliveryResult};
use rdkafka::producer::{BaseRecord, DeliveryResult, FutureRecord, ProducerContext};
use tokio::sync::oneshot;

use super::Polled;

/// A producer whose [`FutureProducer::send_result`] returns a [`DeliveryFuture`], like
/// rdkafka's `FutureProducer` without its polling thread's busy loop.
pub type FutureProducer = Polled<Futures>;

/// The context of a [`FutureProducer`]: each record carries the sender of its future.
pub struct Futures;

impl ClientContext for Futures {}

impl ProducerContext for Futures {
    type DeliveryOpaque = Box<oneshot::Sender<OwnedDeliveryResult>>;

    fn delivery(&self, result: &DeliveryResult<'_>, tx: Self::DeliveryOpaque) {
        let owned = match result {
            Ok(m) => Ok(Delivery {
                partition: m.partition(),
                offset: m.offset(),
                timestamp: m.timestamp(),
            }),
            Err((e, m)) => Err((e.clone(), m.detach())),
        };
        // A dropped future no longer wants the result.
        let _ = tx.send(owned);
    }
}

impl FromClientConfig for FutureProducer {
    fn from_config(config: &ClientConfig) -> KafkaResult<Self> {
        Polled::new(config, Futures)
    }
}

impl FutureProducer {
    /// Queues `record`; the future resolves with its delivery (partition and offset) or its
    /// failure. When the record cannot be queued (the queue is full, the record too large) the
    /// error comes back at once with the record.
    #[allow(clippy::result_large_err)]
    pub fn send_result<'a, K, P>(
        &self,
        record: FutureRecord<'a, K, P>,
    ) -> Result<DeliveryFuture, (KafkaError, FutureRecord<'a, K, P>)>
    where
        K: ToBytes + ?Sized,
        P: ToBytes + ?Sized,
    {
        let (tx, rx) = oneshot::channel();
        let base = BaseRecord {
            topic: record.topic,
            partition: record.partition,
            payload: record.payload,
            key: record.key,
            timestamp: record.timestamp,
            headers: record.headers,
            delivery_opaque: Box::new(tx),
        };
        self.send(base)
            .map(|()| DeliveryFuture { rx })
            .map_err(|(e, b)| {
                let back = FutureRecord {
                    topic: b.topic,
                    partition: b.partition,
                    payload: b.payload,
                    key: b.key,
                    timestamp: b.timestamp,
                    headers: b.headers,
                };
                (e, back)
            })
    }
}

/// The delivery of one record: `Ok(Ok(delivery))`, `Ok(Err((error, record)))` when the
/// producer gave up on it, `Err(_)` when the producer went away without a report.
#[must_use = "a delivery future does nothing unless awaited"]
pub struct DeliveryFuture {
    rx: oneshot::Receiver<OwnedDeliveryResult>,
}

impl Future for DeliveryFuture {
    type Output = Result<OwnedDeliveryResult, oneshot::error::RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx).poll(cx)
    }
}
