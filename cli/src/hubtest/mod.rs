//! `hivewall hubtest`: CrowdSec's hub tests, run by hivewall's engine.
//!
//! A test names parsers (and scenarios), a log and its type; we replay the log, dump what every
//! node did in the structure CrowdSec's hubtest reads, and evaluate the test's assert files with
//! our own expression engine, following CrowdSec's rules (`ignore_parsers`, the basename rewrite
//! of `datasource_path` asserts, Go zero values for absent fields).

mod assert;
mod config;
mod results;
pub(crate) mod run;

pub use assert::AssertOutcome;
pub use config::HubTest;
pub use run::{HubPaths, bucket_dump, replay_test, run_test};
