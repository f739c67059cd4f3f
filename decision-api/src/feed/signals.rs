//! Sharing signals: a bounded queue the detector offers its alerts to (never blocking: the
//! oldest signal is dropped and counted when it is full), and the task that sends them to
//! the feed's `POST /v2/signals` in batches, retrying with backoff while the feed fails.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use wire::feed::CapiSignal;
use wire::signal::Signal;

use super::client::CapiClient;

struct Inner {
    items: Mutex<VecDeque<CapiSignal>>,
    capacity: usize,
    reporter: String,
    notify: Notify,
    dropped: AtomicU64,
}

/// Where the detector's alerts go to be shared (cheap to clone).
#[derive(Clone)]
pub struct SignalQueue {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SignalQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalQueue")
            .field("capacity", &self.inner.capacity)
            .field("len", &self.len())
            .finish()
    }
}

impl SignalQueue {
    /// An empty queue of at most `capacity` signals reported as `reporter` (the watcher's
    /// login).
    pub fn new(capacity: usize, reporter: &str) -> SignalQueue {
        SignalQueue {
            inner: Arc::new(Inner {
                items: Mutex::new(VecDeque::new()),
                capacity: capacity.max(1),
                reporter: reporter.to_string(),
                notify: Notify::new(),
                dropped: AtomicU64::new(0),
            }),
        }
    }

    /// Queues the signal of each shared alert ([`Signal::from_alert`]: not simulated alerts,
    /// scope `Ip` or `Range`); returns how many were queued. Never waits: when the queue is
    /// full the oldest signals make room.
    pub fn offer(&self, alerts: &[wire::Alert]) -> usize {
        let signals: Vec<CapiSignal> = alerts
            .iter()
            .filter_map(|a| Signal::from_alert(a, &self.inner.reporter))
            .filter(|s| s.check().is_ok())
            .map(|s| CapiSignal::from(&s))
            .collect();
        let n = signals.len();
        if n == 0 {
            return 0;
        }
        let mut dropped = 0u64;
        let len = {
            let mut q = self.lock();
            for s in signals {
                if q.len() >= self.inner.capacity {
                    q.pop_front();
                    dropped += 1;
                }
                q.push_back(s);
            }
            q.len()
        };
        if dropped > 0 {
            self.inner.dropped.fetch_add(dropped, Ordering::Relaxed);
            metrics::counter!("hivewall_signals_total", "result" => "dropped").increment(dropped);
        }
        metrics::gauge!("hivewall_signals_queued").set(len as f64);
        self.inner.notify.notify_one();
        n
    }

    /// Signals waiting to be sent.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no signal waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Signals dropped because the queue was full, since it was made.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<CapiSignal>> {
        self.inner
            .items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn take(&self, max: usize) -> Vec<CapiSignal> {
        let mut q = self.lock();
        let n = q.len().min(max);
        let batch: Vec<CapiSignal> = q.drain(..n).collect();
        metrics::gauge!("hivewall_signals_queued").set(q.len() as f64);
        batch
    }
}

/// How the pusher batches and retries.
pub(crate) struct PushSettings {
    pub batch: usize,
    pub linger: Duration,
    pub retry_min: Duration,
    pub retry_max: Duration,
}

/// Sends the queue's signals until `shutdown`: waits for one, lingers for more (up to a full
/// batch), sends; a failed batch is sent again after a growing wait, while new signals wait in
/// the queue; a batch the feed refuses (400, 413, 422) is dropped and counted.
pub(crate) async fn push_loop(
    client: Arc<CapiClient>,
    queue: SignalQueue,
    s: PushSettings,
    shutdown: CancellationToken,
) {
    let mut batch: Vec<CapiSignal> = Vec::new();
    let mut backoff = s.retry_min;
    loop {
        if batch.is_empty() {
            if queue.is_empty() {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = queue.inner.notify.notified() => {}
                }
            }
            if queue.len() < s.batch && !s.linger.is_zero() {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(s.linger) => {}
                }
            }
            batch = queue.take(s.batch);
            if batch.is_empty() {
                continue;
            }
        }
        let result = tokio::select! {
            () = shutdown.cancelled() => break,
            r = client.push(&batch) => r,
        };
        match result {
            Ok(()) => {
                metrics::counter!("hivewall_signals_total", "result" => "sent")
                    .increment(batch.len() as u64);
                tracing::debug!(signals = batch.len(), "signals shared");
                batch.clear();
                backoff = s.retry_min;
            }
            Err(e) if e.is_refusal() => {
                metrics::counter!("hivewall_signals_total", "result" => "refused")
                    .increment(batch.len() as u64);
                tracing::warn!(signals = batch.len(), error = %e, "the feed refused signals; dropped");
                batch.clear();
            }
            Err(e) => {
                tracing::warn!(signals = batch.len(), error = %e, retry_in = ?backoff, "sharing signals failed");
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(s.retry_max);
            }
        }
    }
    let unsent = batch.len() + queue.len();
    if unsent > 0 {
        tracing::info!(signals = unsent, "signals not shared at shutdown");
    }
}
