//! Types that travel on hivewall's bus (`hivewall.lines`, later events and decisions).
//!
//! These are the contract between services and third-party shippers, so they are plain serde
//! structs with stable field names. This crate must never depend on the engine, on any runtime
//! (tokio) or on any client (rdkafka): everything else depends on it, not the other way round.

mod line;

pub use line::RawLine;
