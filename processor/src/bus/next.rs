//! The stages' read loop step: the next record without a timer when one is queued.

use std::future::Future;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use rdkafka::consumer::{ConsumerContext, StreamConsumer};
use rdkafka::error::KafkaResult;
use rdkafka::message::BorrowedMessage;
use tokio_util::sync::CancellationToken;

/// What the next step of a stage's loop got.
pub(super) enum Next<'a> {
    /// Shutdown was asked for.
    Stop,
    /// No record came for the wait.
    Idle,
    /// A record, or a consumer error.
    Record(KafkaResult<BorrowedMessage<'a>>),
}

/// The next record of `consumer`. A record already queued is taken at once: a timer per
/// record (a timeout around every `recv`) cost a tenth of the parse stage's time on a
/// backlog. Otherwise waits up to `wait`, or until `shutdown`.
pub(super) async fn next<'a, C: ConsumerContext + 'static>(
    consumer: &'a StreamConsumer<C>,
    wait: Duration,
    shutdown: &CancellationToken,
) -> Next<'a> {
    if shutdown.is_cancelled() {
        return Next::Stop;
    }
    let mut recv = std::pin::pin!(consumer.recv());
    // Polled once without a task to wake: a record in the queue is returned now; otherwise
    // the real poll below registers the task's waker.
    if let Poll::Ready(m) = recv.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        return Next::Record(m);
    }
    tokio::select! {
        biased;
        () = shutdown.cancelled() => Next::Stop,
        m = tokio::time::timeout(wait, recv) => match m {
            Err(_) => Next::Idle,
            Ok(m) => Next::Record(m),
        },
    }
}
