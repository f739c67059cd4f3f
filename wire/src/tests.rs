//! Round trips of the records (what the `wire` fuzz target checks on arbitrary JSON).

use super::*;

fn round_trip<T>(json: &str) -> Option<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let v: T = serde_json::from_str(json).ok()?;
    let text = serde_json::to_string(&v).unwrap();
    let back: T = serde_json::from_str(&text).unwrap();
    assert_eq!(v, back, "{text}");
    Some(v)
}

const SOURCE: &str = r#""source":{"scope":"Ip","value":"192.0.2.7","latitude":LAT}"#;

fn alert_with_latitude(lat: &str) -> String {
    format!(
        r#"{{"scenario":"s","scenario_hash":"","scenario_version":"","message":"","events_count":1,"start_at":"","stop_at":"","capacity":0,"leakspeed":"","simulated":false,"events":[],{}}}"#,
        SOURCE.replace("LAT", lat)
    )
}

#[test]
fn alert_round_trips() {
    let a: Alert = round_trip(&alert_with_latitude("48.85")).unwrap();
    assert_eq!(a.source.latitude, 48.85);
}

/// A coordinate too large for Go's float32 is refused (Go: "cannot unmarshal number into
/// float32"), instead of becoming an infinity that encodes as `null` and no longer decodes.
#[test]
fn coordinates_out_of_float32_range_are_refused() {
    assert!(round_trip::<Alert>(&alert_with_latitude("1e39")).is_none());
    assert!(round_trip::<Alert>(&alert_with_latitude("-3.5e38")).is_none());
    let a: Alert = round_trip(&alert_with_latitude("3.4e38")).unwrap();
    assert!(a.source.latitude.is_finite());
}
