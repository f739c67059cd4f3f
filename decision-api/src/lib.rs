//! The decision store and the CrowdSec-compatible Local API (LAPI).
//!
//! [`Store`] keeps alerts, decisions, bouncers and machines in RocksDB with an in-memory
//! index rebuilt at open; [`router`]/[`run`] serve CrowdSec's LAPI over it for bouncers
//! (`X-Api-Key`) and watchers (JWT), plus hivewall's administration routes
//! (`/hivewall/admin/v1/...`, header `X-Hivewall-Admin-Key`, types in [`admin`]). In the
//! distributed mode ([`bus`], [`ApiMode::Replica`]) the store is a replica of the Kafka topics
//! `hivewall.decisions` and `hivewall.bouncers`, and writes go to those topics. A [`feed`]
//! subscribes to a community feed (CAPI-style, origin `CAPI`) and shares signals with it.
//!
//! This crate depends only on `wire`, `server-common` (its Kafka producer) and libraries; it
//! must never depend on `engine` (the profiles reach it through the [`AlertProfiler`] trait).
//!
//! # Decision exports
//!
//! `GET /v1/decisions/export?format=...` (bouncer key) writes the active IP/range decisions,
//! one per value (the longest), in one of these formats:
//!
//! - `plain` (default): one value per line (`1.2.3.4`, `10.0.0.0/8`).
//! - `nftables`: an `nft -f` script that creates table `inet hivewall` with interval sets
//!   `hivewall_v4`/`hivewall_v6` (with timeouts), flushes them and adds every value as an
//!   element with its remaining time as `timeout <seconds>s`. Query parameters `table` and
//!   `set` rename the table and the set prefix.
//! - `ipset`: `ipset restore` input: `create <set>-v4 hash:net family inet timeout 0 -exist`,
//!   the same for `-v6` (`family inet6`), then `add <set>-v4 <value> timeout <seconds> -exist`
//!   lines; `set` renames the prefix (default `hivewall`).
//! - `nginx`: one `deny <value>;` line per value, for an `include` in nginx.
//!
//! The other decision filters of `GET /v1/decisions` (`scopes`, `type`, `origins`,
//! `scenarios_containing`, ...) apply too.

pub mod admin;
mod api;
pub mod bus;
mod config;
pub mod feed;
pub mod godur;
pub mod model;
pub mod store;

pub use api::{router, run};
pub use config::{ApiConfig, ApiError, ApiMode};
pub use store::filter::{AlertFilter, DecisionFilter};
pub use store::{AlertProfiler, Store, StoreError};

/// Renders the process's metrics (Prometheus text) for `/metrics`.
pub type MetricsRender = std::sync::Arc<dyn Fn() -> String + Send + Sync>;
