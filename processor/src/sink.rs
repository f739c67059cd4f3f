//! Where alerts go.

use std::future::Future;

/// A sink could not take alerts (the store is unreachable, a topic refused the write).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub Box<dyn std::error::Error + Send + Sync>);

impl SinkError {
    /// A sink error from any error.
    pub fn new(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        SinkError(e.into())
    }
}

/// Takes the alerts of a batch, with their decisions. `deliver` returns once the alerts are
/// durable where they go: only then does the processor commit the batch's state.
pub trait AlertSink: Send {
    /// Delivers `alerts` (never empty).
    fn deliver(
        &mut self,
        alerts: Vec<wire::Alert>,
    ) -> impl Future<Output = Result<(), SinkError>> + Send;
}

/// A channel is a sink (tests, and callers that deliver on their own task).
impl AlertSink for tokio::sync::mpsc::Sender<Vec<wire::Alert>> {
    async fn deliver(&mut self, alerts: Vec<wire::Alert>) -> Result<(), SinkError> {
        self.send(alerts)
            .await
            .map_err(|_| SinkError::new("alert channel closed"))
    }
}
