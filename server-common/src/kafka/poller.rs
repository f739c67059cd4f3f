//! [`Polled`]: a `BaseProducer` and the thread that serves its reports while it has records
//! in flight, and sleeps otherwise.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::config::FromClientConfigAndContext;
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::ToBytes;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};

/// One `poll` while records are in flight: rdkafka's poll ends with up to a millisecond of
/// polls that do not wait, so the longer the call the less of it spins (0.4% here, against 1%
/// for `ThreadedProducer`'s 100 ms); `drop` waits for the current call to end.
const SERVING: Duration = Duration::from_millis(250);
/// The longest sleep with nothing in flight: logs and errors the client queues meanwhile
/// wait at most this long.
const IDLE: Duration = Duration::from_secs(1);

/// A record the producer could not queue, with the reason.
pub type Refused<'a, K, P, D> = (KafkaError, BaseRecord<'a, K, P, D>);

/// A `BaseProducer` whose delivery reports (and logs, errors, statistics) a thread of its own
/// serves: with `poll` while records are in flight, sleeping otherwise until a record is sent
/// through [`Polled::send`] (or a second has passed). Everything else is the `BaseProducer`'s
/// (`Deref`): flushes and transactions. Clones share the producer and the thread; dropping
/// the last one stops the thread, then drops the producer (which purges and flushes what is
/// still queued, as rdkafka's do).
pub struct Polled<C: ProducerContext + 'static> {
    shared: Arc<Shared<C>>,
}

/// What the clones of a [`Polled`] share; the last one dropped stops the thread.
struct Shared<C: ProducerContext + 'static> {
    producer: Arc<BaseProducer<C>>,
    poller: Option<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    /// Counts the thread's rounds (one `poll`, or one sleep).
    rounds: Arc<AtomicU64>,
}

impl<C: ProducerContext + 'static> Clone for Polled<C> {
    fn clone(&self) -> Self {
        Polled {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<C: ProducerContext + 'static> Polled<C> {
    /// The producer of `config` with `context`, and its serving thread.
    pub fn new(config: &ClientConfig, context: C) -> KafkaResult<Self> {
        let producer = Arc::new(BaseProducer::from_config_and_context(config, context)?);
        let stop = Arc::new(AtomicBool::new(false));
        let rounds = Arc::new(AtomicU64::new(0));
        let poller = std::thread::Builder::new()
            .name("kafka-reports".into())
            .spawn({
                let (producer, stop, rounds) = (producer.clone(), stop.clone(), rounds.clone());
                move || serve(&producer, &stop, &rounds)
            })
            .map_err(|e| KafkaError::ClientCreation(format!("the producer's thread: {e}")))?;
        Ok(Polled {
            shared: Arc::new(Shared {
                producer,
                poller: Some(poller),
                stop,
                rounds,
            }),
        })
    }

    /// Queues `record` (`BaseProducer::send`) and wakes the serving thread if it sleeps.
    #[allow(clippy::result_large_err)]
    pub fn send<'a, K, P>(
        &self,
        record: BaseRecord<'a, K, P, C::DeliveryOpaque>,
    ) -> Result<(), Refused<'a, K, P, C::DeliveryOpaque>>
    where
        K: ToBytes + ?Sized,
        P: ToBytes + ?Sized,
    {
        let sent = self.shared.producer.send(record);
        if let Some(t) = &self.shared.poller {
            t.thread().unpark();
        }
        sent
    }

    /// How many rounds the serving thread made so far (a `poll` while records were in
    /// flight, or a sleep): a measure of its wake-ups.
    pub fn rounds(&self) -> u64 {
        self.shared.rounds.load(Ordering::Relaxed)
    }
}

impl<C: ProducerContext + 'static> FromClientConfigAndContext<C> for Polled<C> {
    fn from_config_and_context(config: &ClientConfig, context: C) -> KafkaResult<Self> {
        Polled::new(config, context)
    }
}

impl<C: ProducerContext + 'static> Deref for Polled<C> {
    type Target = BaseProducer<C>;

    fn deref(&self) -> &BaseProducer<C> {
        &self.shared.producer
    }
}

impl<C: ProducerContext + 'static> Drop for Shared<C> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.poller.take() {
            t.thread().unpark();
            if t.join().is_err() {
                tracing::warn!("The Kafka producer's report thread panicked.");
            }
        }
        // The producer, now only ours, is dropped next.
    }
}

/// The serving thread, until stopped.
fn serve<C: ProducerContext>(producer: &BaseProducer<C>, stop: &AtomicBool, rounds: &AtomicU64) {
    while !stop.load(Ordering::Acquire) {
        rounds.fetch_add(1, Ordering::Relaxed);
        // Records queued, in flight or reported but not yet served.
        if producer.in_flight_count() > 0 {
            producer.poll(SERVING);
        } else {
            // Whatever else is queued (a log, an error), without waiting; then sleep until a
            // send wakes the thread. A send between the count and the sleep leaves the
            // thread's token set, so the sleep returns at once.
            producer.poll(Duration::ZERO);
            std::thread::park_timeout(IDLE);
        }
    }
}
