//! hivewall's engine: CrowdSec-compatible parsing (grok, expr, parser stages), detection (leaky
//! buckets on event time), postoverflows and profiles, as pure synchronous code.
//!
//! The engine takes lines in and gives events out; the caller owns I/O, threads and time. It
//! must never depend on tokio, rdkafka, rocksdb, axum or any other runtime or storage crate,
//! and never reads the wall clock: time comes in with the data or through an injected clock.

pub mod bucket;
pub mod clock;
pub mod conformance;
pub mod event;
pub mod expr;
pub mod geoip;
pub mod grok;
pub mod parser;
pub mod pipeline;
pub mod profile;
pub mod testdata;
pub mod time;
mod yaml;
