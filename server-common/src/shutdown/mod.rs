//! Shutdown: one root [`CancellationToken`] per process, child tokens for components, the
//! signals that cancel it, and a bounded wait for tasks to finish.

#[cfg(test)]
mod tests;

use std::future::Future;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Exit status after a second signal: 128 + SIGINT, as shells report an interrupted process.
const FORCED_EXIT: i32 = 130;

/// The process's shutdown switch. Cloning shares the same root token.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    root: CancellationToken,
}

impl Shutdown {
    /// A new, not yet cancelled, root token.
    pub fn new() -> Self {
        Shutdown::default()
    }

    /// The root token itself (cancelling it stops everything).
    pub fn token(&self) -> CancellationToken {
        self.root.clone()
    }

    /// A child token for one component: cancelled with the root, cancellable on its own.
    pub fn child(&self) -> CancellationToken {
        self.root.child_token()
    }

    /// Starts shutting down.
    pub fn cancel(&self) {
        self.root.cancel();
    }

    /// Whether shutdown has started.
    pub fn is_cancelled(&self) -> bool {
        self.root.is_cancelled()
    }

    /// Resolves when shutdown starts: at SIGINT or SIGTERM (which cancels the root token) or
    /// when someone else cancels it. After a signal, a second SIGINT or SIGTERM exits the
    /// process at once. The signal handlers are installed when this is called, not when
    /// the future is first polled; must be called inside a tokio runtime.
    pub fn wait_for_signal(&self) -> impl Future<Output = ()> + Send + 'static {
        let root = self.root.clone();
        let signals = signal(SignalKind::interrupt())
            .and_then(|int| Ok((int, signal(SignalKind::terminate())?)));
        async move {
            let (mut int, mut term) = match signals {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for signals; waiting for cancellation only");
                    root.cancelled().await;
                    return;
                }
            };
            tokio::select! {
                _ = root.cancelled() => return,
                _ = int.recv() => tracing::info!("SIGINT received, shutting down (again to exit now)"),
                _ = term.recv() => tracing::info!("SIGTERM received, shutting down (again to exit now)"),
            }
            root.cancel();
            tokio::spawn(async move {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
                tracing::warn!("second signal: exiting without waiting");
                std::process::exit(FORCED_EXIT);
            });
        }
    }
}

/// What became of the tasks given to [`join_with_deadline`].
#[derive(Debug)]
pub struct JoinReport<T> {
    /// Tasks that returned, with their output, in the order given.
    pub finished: Vec<(String, T)>,
    /// Tasks that panicked (or were cancelled elsewhere).
    pub failed: Vec<String>,
    /// Tasks still running at the deadline; they have been aborted.
    pub unfinished: Vec<String>,
}

impl<T> JoinReport<T> {
    /// Every task returned in time.
    pub fn all_finished(&self) -> bool {
        self.failed.is_empty() && self.unfinished.is_empty()
    }
}

/// Waits for named tasks until `deadline` from now, aborts the ones still running and
/// reports, logging each task that panicked or did not stop.
pub async fn join_with_deadline<T>(
    tasks: Vec<(String, JoinHandle<T>)>,
    deadline: Duration,
) -> JoinReport<T> {
    let until = tokio::time::Instant::now() + deadline;
    let mut report = JoinReport {
        finished: Vec::new(),
        failed: Vec::new(),
        unfinished: Vec::new(),
    };
    for (name, mut handle) in tasks {
        match tokio::time::timeout_at(until, &mut handle).await {
            Ok(Ok(output)) => report.finished.push((name, output)),
            Ok(Err(e)) => {
                tracing::error!(task = %name, error = %e, "task failed during shutdown");
                report.failed.push(name);
            }
            Err(_) => {
                handle.abort();
                tracing::warn!(task = %name, ?deadline, "task did not stop in time; aborted");
                report.unfinished.push(name);
            }
        }
    }
    report
}
