//! The live detection loop: raw lines in, alerts with their decisions out.
//!
//! A [`Processor`] drives the engine's [`Pipeline`](engine::pipeline::Pipeline) over lines from
//! a bounded channel (the embedded `hivewall run`), keeps bucket state in RocksDB ([`StateDb`])
//! and hands every alert to an [`AlertSink`] (the decision store in `run`). [`bus`] is the
//! distributed processor: parse and detect stages as Kafka consumer groups. It delivers each batch's alerts as soon as the batch is handled; at
//! most every [`ProcessorConfig::persist_every`] (and at the end), once those alerts are
//! delivered, it writes the buckets that changed and the sources' checkpoints in one RocksDB
//! write. A crash replays the lines since that write (never loses one); a clean restart neither
//! re-reads lines nor forgets a half-filled bucket.
//!
//! This crate must never depend on `ingest` or `decision-api` (they meet in the CLI), nor on
//! an HTTP stack; its only Kafka client is rdkafka, in [`bus`].

pub mod bus;
mod config;
mod idle;
mod live;
mod sink;
mod sources;
mod state;
#[cfg(test)]
mod tests;
mod thread;

pub use config::ProcessorConfig;
pub use live::{Processor, RunStats};
pub use sink::{AlertSink, SinkError};
pub use state::{Family, Op, PersistentStore, StateDb, StateError, prepare};
pub use thread::ProcessorThread;

/// What can stop the processor.
#[derive(Debug, thiserror::Error)]
pub enum ProcessorError {
    /// Loading parsers, scenarios or profiles.
    #[error(transparent)]
    Setup(engine::pipeline::SetupError),
    /// Reading or writing the state database.
    #[error(transparent)]
    State(#[from] StateError),
    /// The sink refused alerts and shutdown came before it recovered; the batch was not
    /// committed, so its lines are processed again on the next start.
    #[error("alerts not delivered before shutdown: {0}")]
    Undelivered(SinkError),
    /// Starting the processor's thread or its runtime.
    #[error("starting the processor thread: {0}")]
    Thread(std::io::Error),
    /// The processor's thread panicked (a bug: the engine must not panic on any input).
    #[error("the processor thread panicked")]
    Panicked,
}
