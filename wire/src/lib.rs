//! Types that travel on hivewall's bus (`hivewall.lines`, alerts and decisions) and between
//! the services of one process.
//!
//! These are the contract between services and third-party shippers, so they are plain serde
//! structs with stable field names (the Local API's JSON for alerts and decisions), except the
//! records of `hivewall.events`, which only the processor's two stages exchange: a versioned
//! binary layout ([`event`]) that still reads its older versions (binary 2, JSON 1). [`kafka_options`] is
//! the other half of the contract: the client properties no operator option may change. This crate
//! must never depend on the engine, on any runtime (tokio) or on any client (rdkafka):
//! everything else depends on it, not the other way round.

mod alert;
pub mod bus;
mod decision;
mod duration;
pub mod event;
pub mod feed;
pub mod kafka_options;
mod line;
pub mod signal;

pub use alert::{Alert, AlertEvent, MetaItem, Source};
pub use decision::Decision;
pub use duration::{format_go_duration, parse_go_duration, write_go_duration};
pub use event::{EVENT_JSON_VERSION, EVENT_VERSION, EventRecord, Route};
pub use line::{Checkpoint, RawLine, SourcedLine};

#[cfg(test)]
mod tests;
