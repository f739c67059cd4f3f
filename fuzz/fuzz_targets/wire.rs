//! `wire` records: arbitrary JSON decoded as `RawLine`, `Alert` and `Decision`; whatever
//! decodes must encode and decode back to the same value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<T>(data) else {
        return;
    };
    let text = serde_json::to_string(&v).expect("a decoded record encodes");
    let back: T = serde_json::from_str(&text).expect("an encoded record decodes");
    assert_eq!(v, back, "round trip changed the record: {text}");
}

fuzz_target!(|data: &[u8]| {
    round_trip::<wire::RawLine>(data);
    round_trip::<wire::Alert>(data);
    round_trip::<wire::Decision>(data);
});
