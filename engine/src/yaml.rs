//! Small helpers for reading CrowdSec's YAML with Go's leniency.

use serde::{Deserialize, Deserializer};

/// Accepts any YAML scalar where Go takes a string (`format: 2.0`, `value: 1`, `leakspeed: 10`),
/// printing numbers as Go would; null is the empty string.
pub(crate) fn scalar<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        S(String),
        I(i64),
        F(f64),
        B(bool),
    }
    Ok(match Option::<Scalar>::deserialize(d)? {
        None => String::new(),
        Some(Scalar::S(s)) => s,
        Some(Scalar::I(i)) => i.to_string(),
        Some(Scalar::F(f)) => crate::expr::ops::format_float(f),
        Some(Scalar::B(b)) => b.to_string(),
    })
}
