//! `leaky` as expressions see it (Go `*Leaky`): the bucket's counters and times.

use std::borrow::Cow;

use crate::expr::{Object, Value};

use super::queue::Queue;
use super::scenario::Scenario;
use super::state::{Bucket, BucketKey};

/// A read-only view of a bucket for `condition`, bayesian and `overflow_filter` expressions.
pub struct LeakyView<'a> {
    scenario: &'a Scenario,
    bucket: &'a Bucket,
    key: &'a BucketKey,
}

impl<'a> LeakyView<'a> {
    /// The view of `bucket` (of `scenario`, under `key`).
    pub fn new(scenario: &'a Scenario, bucket: &'a Bucket, key: &'a BucketKey) -> Self {
        LeakyView {
            scenario,
            bucket,
            key,
        }
    }
}

const FIELDS: &[&str] = &[
    "Mode",
    "Queue",
    "Mapkey",
    "First_ts",
    "Last_ts",
    "Ovflw_ts",
    "Total_count",
    "Duration",
];

impl Object for LeakyView<'_> {
    fn type_name(&self) -> &'static str {
        "*leakybucket.Leaky"
    }

    fn member(&self, name: &str) -> Option<Value<'_>> {
        let time = |s: Option<super::stamp::Stamp>| {
            Value::Time(s.map_or_else(go_zero_time, |s| s.to_time()))
        };
        Some(match name {
            "Mode" => Value::Int(2),
            "Queue" => Value::Obj(&self.bucket.queue as &Queue as &dyn Object),
            "Mapkey" => Value::string(format!("{}/{}", self.scenario.name(), self.key.group)),
            "First_ts" => time(self.bucket.first_ts),
            "Last_ts" => time(self.bucket.last_ts),
            "Ovflw_ts" => time(None),
            "Total_count" => Value::Int(i64::try_from(self.bucket.total_count).unwrap_or(i64::MAX)),
            "Duration" => Value::Duration(self.scenario.lifetime),
            "Uuid" => Value::str(""),
            _ => return None,
        })
    }

    fn keys(&self) -> Vec<Cow<'_, str>> {
        FIELDS.iter().map(|f| Cow::Borrowed(*f)).collect()
    }

    fn to_value(&self) -> Value<'_> {
        Value::Map(
            FIELDS
                .iter()
                .filter_map(|f| self.member(f).map(|v| (f.to_string(), v)))
                .collect(),
        )
    }
}

/// Go's zero `time.Time`.
fn go_zero_time() -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::from_timestamp(-62_135_596_800, 0)
        .unwrap_or_default()
        .fixed_offset()
}
