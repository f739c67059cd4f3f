//! Subscribing to a community feed, as CrowdSec subscribes to its community blocklist: a
//! CAPI-style endpoint (`hivewall consensus`, or anything serving CrowdSec 1.4.6's `/v2`
//! calls) is pulled every [`FeedConfig::pull_interval`] and merged with the local decisions.
//!
//! - Feed decisions become decisions with origin `CAPI` and the scenario the feed names; the
//!   bouncers get them through `/v1/decisions/stream` and `?ip=` like local ones.
//! - The first pull of a process asks for the whole feed (`startup=true`) and reconciles:
//!   CAPI decisions the feed no longer lists are removed, those it lists are kept under their
//!   id (no duplicate after a restart). Later pulls apply the changes (`new`, `deleted`); a
//!   failed pull is followed by a full one.
//! - One CAPI decision per target (scope and value); local decisions on the same target are
//!   left alone. In the embedded mode the store is written directly; in the distributed mode
//!   ([`ApiMode::Replica`]) the decisions go to the decisions topic under keys of their own
//!   (`capi/ip:…`), once the replica has loaded the topic.
//! - With [`FeedConfig::share_signals`], the detector's alerts are offered to a
//!   [`SignalQueue`] and pushed to `POST /v2/signals` ([`wire::signal`]: only the minimal
//!   record), batched, retried, never blocking the detector.
//!
//! hivewall never registers a watcher by itself: without a login and password
//! ([`FeedConfigError::NotRegistered`]) nothing is pulled.

mod client;
mod config;
mod merge;
mod signals;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use client::ClientError;
pub use config::{FeedConfig, FeedConfigError};
pub use merge::Applied;
pub use signals::SignalQueue;

use crate::bus::BusError;
use crate::store::{Store, StoreError};
use crate::{ApiMode, godur};
use client::CapiClient;

/// A failed pull.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The exchange with the feed failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The store could not be written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The decisions topic could not be written (distributed mode).
    #[error(transparent)]
    Bus(#[from] BusError),
    /// The blocking store write did not complete.
    #[error("store task: {0}")]
    Task(String),
}

/// A configured subscription (and signal sharing), ready to [spawn](Feed::spawn).
pub struct Feed {
    cfg: FeedConfig,
    client: Arc<CapiClient>,
    signals: Option<SignalQueue>,
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed")
            .field("url", &self.cfg.url)
            .field("login", &self.cfg.login)
            .field("share_signals", &self.cfg.share_signals)
            .finish_non_exhaustive()
    }
}

impl Feed {
    /// Validates `cfg` and builds the client (nothing is sent yet).
    pub fn new(cfg: FeedConfig) -> Result<Feed, FeedConfigError> {
        cfg.validate()?;
        let client = Arc::new(CapiClient::new(&cfg)?);
        let signals = cfg
            .share_signals
            .then(|| SignalQueue::new(cfg.signal_queue, &cfg.login));
        Ok(Feed {
            cfg,
            client,
            signals,
        })
    }

    /// The queue the detector offers its alerts to, when signals are shared.
    pub fn signals(&self) -> Option<SignalQueue> {
        self.signals.clone()
    }

    /// Starts pulling into `store` (or, for [`ApiMode::Replica`], into the decisions topic)
    /// and, when signals are shared, pushing them; both stop at `shutdown`.
    pub fn spawn(
        self,
        store: Store,
        mode: &ApiMode,
        shutdown: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let target = match mode {
            ApiMode::Embedded => Target::Embedded(store),
            ApiMode::Replica(r) => Target::Replica(r.clone()),
        };
        let pusher = self.signals.clone().map(|q| {
            let s = signals::PushSettings {
                batch: self.cfg.signal_batch,
                linger: self.cfg.push_linger,
                retry_min: self.cfg.retry_min,
                retry_max: self.cfg.retry_max,
            };
            tokio::spawn(signals::push_loop(
                self.client.clone(),
                q,
                s,
                shutdown.child_token(),
            ))
        });
        tokio::spawn(async move {
            subscribe(self.client, target, self.cfg, shutdown).await;
            if let Some(p) = pusher {
                let _ = p.await;
            }
        })
    }
}

/// Where the feed's decisions are written.
pub(crate) enum Target {
    /// The store of `hivewall run`.
    Embedded(Store),
    /// A replica of the distributed mode: its decisions topic.
    Replica(crate::bus::Replica),
}

/// One pull merged into `target`: the whole feed when `startup`, else the changes.
pub(crate) async fn pull_once(
    client: &CapiClient,
    target: &Target,
    startup: bool,
) -> Result<Applied, FeedError> {
    let stream = client.pull(startup).await?;
    let now = godur::now_ms();
    match target {
        Target::Embedded(store) => {
            let store = store.clone();
            tokio::task::spawn_blocking(move || {
                let plan = merge::plan(merge::current(&store), &stream, startup, now);
                merge::apply_embedded(&store, plan, now)
            })
            .await
            .map_err(|e| FeedError::Task(e.to_string()))?
            .map_err(FeedError::from)
        }
        Target::Replica(replica) => {
            let plan = merge::plan(merge::current(replica.store()), &stream, startup, now);
            Ok(merge::apply_replica(replica, plan, now).await?)
        }
    }
}

fn count(a: &Applied) {
    for (change, n) in [
        ("added", a.added),
        ("updated", a.updated),
        ("removed", a.removed),
    ] {
        if n > 0 {
            metrics::counter!("hivewall_feed_decisions_total", "change" => change)
                .increment(n as u64);
        }
    }
}

/// Pulls until `shutdown`: a full pull first (and after any failure), then the changes every
/// `pull_interval`; failures are retried sooner, with a growing wait.
async fn subscribe(
    client: Arc<CapiClient>,
    target: Target,
    cfg: FeedConfig,
    shutdown: CancellationToken,
) {
    if let Target::Replica(r) = &target {
        // Reconciling needs the CAPI decisions the topic already holds.
        while !r.wait_ready(Duration::from_secs(5)).await {
            if shutdown.is_cancelled() {
                return;
            }
        }
    }
    let mut startup = true;
    let mut backoff = cfg.retry_min;
    loop {
        let result = tokio::select! {
            () = shutdown.cancelled() => return,
            r = pull_once(&client, &target, startup) => r,
        };
        let wait = match result {
            Ok(a) => {
                metrics::counter!("hivewall_feed_pulls_total", "result" => "ok").increment(1);
                count(&a);
                tracing::info!(
                    startup,
                    added = a.added,
                    updated = a.updated,
                    removed = a.removed,
                    unchanged = a.unchanged,
                    skipped = a.skipped,
                    "community feed pulled"
                );
                startup = false;
                backoff = cfg.retry_min;
                cfg.pull_interval
            }
            Err(e) => {
                metrics::counter!("hivewall_feed_pulls_total", "result" => "error").increment(1);
                let wait = backoff.min(cfg.pull_interval);
                tracing::warn!(error = %e, retry_in = ?wait, "pulling the community feed failed");
                // The feed may have moved this watcher's cursor past an answer we lost.
                startup = true;
                backoff = (backoff * 2).min(cfg.retry_max);
                wait
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}
