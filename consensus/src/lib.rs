//! Community consensus: signals from many reporters in, a blocklist feed out.
//!
//! Each reporter (a hivewall, or a CrowdSec agent through the CAPI-style endpoint) shares a
//! minimal [`wire::signal::Signal`] per alert. [`Consensus`] tallies them per address or
//! range and lists a target once enough *established* reporters agree, independently, and
//! still do after a hold (time for a coalition that started pushing to stand out); trust is
//! earned by reports the crowd confirms and lost by reports nobody does, so new reporters
//! (Sybils) weigh nothing and a reporter that keeps lying stops counting. The rule, the attacks it resists
//! and those it does not are in `docs/consensus.md`.
//!
//! The rule ([`rule`]) is pure and synchronous: no tokio, no clock (`now` is passed in), no
//! I/O; its maps are keyed by attacker-chosen values and use `foldhash`, and every table is
//! bounded ([`config::LimitsConfig`]). The CAPI-style HTTP endpoint ([`server`], feature
//! `server`, on by default) wraps it with axum and tokio; with feature `kafka` it also reads
//! signals from `hivewall.signals` and writes the feed to `hivewall.feed` (rdkafka). This crate
//! must never depend on the engine or on the other services.

pub mod allowlist;
pub mod cluster;
pub mod config;
pub mod duration;
pub mod rule;
#[cfg(feature = "server")]
pub mod server;
pub mod target;
pub mod trust;

pub use allowlist::Allowlist;
pub use config::{ConfigError, ConsensusConfig, Rules};
pub use rule::{Consensus, FeedItem, Observation, Outcome, Pull, Rejected};
pub use target::Target;
