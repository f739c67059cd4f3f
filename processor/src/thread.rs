//! A processor on its own OS thread.
//!
//! Parsing and bucket work is CPU-bound and synchronous. Run as a task of the shared runtime,
//! the processor and the sources that feed it wake each other through tokio's LIFO slot, which
//! other workers cannot steal from: the pair then shares one worker and one core (measured:
//! tailing used 1.0 core in all and ran at 0.6× replay's rate). On a thread of its own, with
//! a single-threaded runtime for its few awaits (delivery, ticks), it keeps a core to itself.

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use wire::SourcedLine;

use crate::{AlertSink, Processor, ProcessorError, RunStats};

/// A processor running on its own thread; [`ProcessorThread::join`] waits for its end.
#[derive(Debug)]
pub struct ProcessorThread {
    done: oneshot::Receiver<Result<RunStats, ProcessorError>>,
    handle: std::thread::JoinHandle<()>,
}

impl<K: AlertSink + Send + 'static> Processor<K> {
    /// Starts [`Processor::run`] on a new thread named `name`.
    pub fn spawn_thread(
        self,
        name: &str,
        rx: mpsc::Receiver<SourcedLine>,
        shutdown: CancellationToken,
    ) -> Result<ProcessorThread, ProcessorError> {
        let (tx, done) = oneshot::channel();
        let handle = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                let result = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(self.run(rx, shutdown)),
                    Err(e) => Err(ProcessorError::Thread(e)),
                };
                // The receiver is gone only when nobody waits for the result any more.
                let _ = tx.send(result);
            })
            .map_err(ProcessorError::Thread)?;
        Ok(ProcessorThread { done, handle })
    }
}

impl ProcessorThread {
    /// Waits until the processor ends and returns what [`Processor::run`] returned.
    pub async fn join(self) -> Result<RunStats, ProcessorError> {
        let result = self.done.await;
        // The thread ends right after sending (or panicked before): this does not block long.
        let joined = tokio::task::spawn_blocking(move || self.handle.join()).await;
        match (result, joined) {
            (Ok(r), _) => r,
            (Err(_), _) => Err(ProcessorError::Panicked),
        }
    }
}
