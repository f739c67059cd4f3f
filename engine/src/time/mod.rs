//! Log timestamp parsing (CrowdSec's `ParseDate` enricher) and Go-compatible time formatting.
//!
//! Deliberate difference from CrowdSec: times without a zone are taken as UTC (CrowdSec uses
//! the process's local zone), and the year for year-less layouts is injected by the caller
//! (CrowdSec uses the current year).

mod dateparse;
mod goformat;

#[cfg(test)]
mod tests;

pub use dateparse::{LAYOUTS, format_rfc3339_nano, parse_date};
pub(crate) use dateparse::{RFC3339_MAX, push_rfc3339_nano, write_rfc3339_nano};
pub use goformat::{go_format, go_parse};
