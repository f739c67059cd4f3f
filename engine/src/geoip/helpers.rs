//! CrowdSec's GeoIP expression helpers (`pkg/exprhelpers/geoip.go`): `GeoIPEnrich`,
//! `GeoIPASNEnrich`, `GeoIPRangeEnrich`, `IPToCountry`.
//!
//! `GeoIPEnrich` returns Go's `geoip2.City` as a map with its field names (`Country.IsoCode`,
//! `Location.Latitude`, `City.Names.en`, `Subdivisions[0].IsoCode`...), zero values where the
//! record has nothing; `GeoIPASNEnrich` returns `{AutonomousSystemNumber,
//! AutonomousSystemOrganization}`; `GeoIPRangeEnrich` returns the network as a CIDR string
//! (Go returns a `*net.IPNet`, which expressions can only print). Without the database they
//! return nil; on a value that is not an address or a failed lookup, an error (Go's reader
//! errors too); for an address the database does not hold, the zero record (`GeoIPRangeEnrich`:
//! nil). `IPToCountry` returns `Country.IsoCode` or `""` whatever goes wrong.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value as Json;

use super::record::in_european_union;
use super::{Db, GeoIp};
use crate::expr::Value;
use crate::expr::functions::convert::arg_str;
use crate::expr::functions::net::parse_go_ip;
use crate::expr::functions::{Arity, Functions, native};

/// Registers the four helpers over `geoip` (replacing any of the same name).
pub fn register(f: &mut Functions, geoip: &Arc<GeoIp>) {
    let g = Arc::clone(geoip);
    f.register(
        "GeoIPEnrich",
        Arity::Exact(1),
        native(move |a| {
            let ip = arg_str("GeoIPEnrich", a, 0)?;
            Ok(match g.city.as_ref() {
                None => Value::Nil,
                Some(db) => go_city(&record(db, ip)?.unwrap_or(Json::Null)),
            })
        }),
    );
    let g = Arc::clone(geoip);
    f.register(
        "GeoIPASNEnrich",
        Arity::Exact(1),
        native(move |a| {
            let ip = arg_str("GeoIPASNEnrich", a, 0)?;
            Ok(match g.asn.as_ref() {
                None => Value::Nil,
                Some(db) => go_asn(&record(db, ip)?.unwrap_or(Json::Null)),
            })
        }),
    );
    let g = Arc::clone(geoip);
    f.register(
        "GeoIPRangeEnrich",
        Arity::Exact(1),
        native(move |a| {
            let ip = arg_str("GeoIPRangeEnrich", a, 0)?;
            let Some(db) = g.asn.as_ref() else {
                return Ok(Value::Nil);
            };
            let addr = parse_go_ip(ip).ok_or_else(|| not_an_ip(ip))?;
            let found = db.reader.lookup(addr).map_err(|e| e.to_string())?;
            if !found.has_data() {
                return Ok(Value::Nil);
            }
            let net = found.network().map_err(|e| e.to_string())?;
            Ok(Value::string(net.to_string()))
        }),
    );
    let g = Arc::clone(geoip);
    f.register(
        "IPToCountry",
        Arity::Exact(1),
        native(move |a| {
            let Some(Value::Str(ip)) = a.first() else {
                return Ok(Value::str(""));
            };
            let iso = g
                .city
                .as_ref()
                .and_then(|db| record(db, ip).ok().flatten())
                .map(|j| country_of(&j, "country").1)
                .unwrap_or_default();
            Ok(Value::string(iso))
        }),
    );
}

fn not_an_ip(ip: &str) -> String {
    format!("{ip:?} is not an IP address")
}

/// The whole record of `ip` as a JSON tree; `Ok(None)` when the database does not hold it.
fn record(db: &Db, ip: &str) -> Result<Option<Json>, String> {
    let addr = parse_go_ip(ip).ok_or_else(|| not_an_ip(ip))?;
    let found = db.reader.lookup(addr).map_err(|e| e.to_string())?;
    found.decode::<Json>().map_err(|e| e.to_string())
}

fn get<'j>(j: &'j Json, path: &[&str]) -> Option<&'j Json> {
    path.iter().try_fold(j, |j, k| j.get(k))
}

fn s(j: &Json, path: &[&str]) -> String {
    get(j, path)
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string()
}

fn uint(j: &Json, path: &[&str]) -> Value<'static> {
    Value::Int(
        get(j, path)
            .and_then(Json::as_u64)
            .map_or(0, |n| i64::try_from(n).unwrap_or(i64::MAX)),
    )
}

fn float(j: &Json, path: &[&str]) -> f64 {
    get(j, path).and_then(Json::as_f64).unwrap_or(0.0)
}

fn map(entries: Vec<(&str, Value<'static>)>) -> Value<'static> {
    Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// `Names` (language → name); the flat layout's plain string becomes `{"en": name}`.
fn names(j: Option<&Json>) -> Value<'static> {
    let mut out = BTreeMap::new();
    match j {
        Some(Json::Object(m)) => {
            if let Some(Json::Object(n)) = m.get("names") {
                for (k, v) in n {
                    if let Some(v) = v.as_str() {
                        out.insert(k.clone(), Value::string(v.to_string()));
                    }
                }
            }
        }
        Some(Json::String(name)) if !name.is_empty() => {
            out.insert("en".to_string(), Value::string(name.clone()));
        }
        _ => {}
    }
    Value::Map(out)
}

/// `(IsInEuropeanUnion, IsoCode)` of a MaxMind country key; for `country`, the flat layout's
/// `country_code` when there is no `country` map.
fn country_of(j: &Json, key: &str) -> (bool, String) {
    let iso = s(j, &[key, "iso_code"]);
    if iso.is_empty() && key == "country" {
        let cc = s(j, &["country_code"]);
        return (in_european_union(&cc), cc);
    }
    let eu = get(j, &[key, "is_in_european_union"])
        .and_then(Json::as_bool)
        .unwrap_or(false);
    (eu, iso)
}

fn go_country(j: &Json, key: &str, represented: bool) -> Value<'static> {
    let (eu, iso) = country_of(j, key);
    let mut m = vec![
        ("GeoNameID", uint(j, &[key, "geoname_id"])),
        ("IsInEuropeanUnion", Value::Bool(eu)),
        ("IsoCode", Value::string(iso)),
        ("Names", names(j.get(key))),
    ];
    if represented {
        m.push(("Type", Value::string(s(j, &[key, "type"]))));
    }
    map(m)
}

/// Go's `geoip2.City` from a record of either layout.
fn go_city(j: &Json) -> Value<'static> {
    let flat = j.get("country_code").is_some();
    let subdivisions = match j.get("subdivisions") {
        Some(Json::Array(a)) => a
            .iter()
            .map(|d| {
                map(vec![
                    ("GeoNameID", uint(d, &["geoname_id"])),
                    ("IsoCode", Value::string(s(d, &["iso_code"]))),
                    ("Names", names(Some(d))),
                ])
            })
            .collect(),
        _ if flat => ["state1", "state2"]
            .iter()
            .filter_map(|k| {
                j.get(*k)
                    .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
            })
            .map(|v| {
                map(vec![
                    ("GeoNameID", Value::Int(0)),
                    ("IsoCode", Value::str("")),
                    ("Names", names(Some(v))),
                ])
            })
            .collect(),
        _ => Vec::new(),
    };
    let (lat, lon, tz) = if flat {
        (
            float(j, &["latitude"]),
            float(j, &["longitude"]),
            s(j, &["timezone"]),
        )
    } else {
        (
            float(j, &["location", "latitude"]),
            float(j, &["location", "longitude"]),
            s(j, &["location", "time_zone"]),
        )
    };
    let postal = if flat {
        s(j, &["postcode"])
    } else {
        s(j, &["postal", "code"])
    };
    let flag = |k: &str| {
        Value::Bool(
            get(j, &["traits", k])
                .and_then(Json::as_bool)
                .unwrap_or(false),
        )
    };
    map(vec![
        (
            "City",
            map(vec![
                ("GeoNameID", uint(j, &["city", "geoname_id"])),
                ("Names", names(j.get("city"))),
            ]),
        ),
        (
            "Continent",
            map(vec![
                ("Code", Value::string(s(j, &["continent", "code"]))),
                ("GeoNameID", uint(j, &["continent", "geoname_id"])),
                ("Names", names(j.get("continent"))),
            ]),
        ),
        ("Country", go_country(j, "country", false)),
        (
            "Location",
            map(vec![
                ("AccuracyRadius", uint(j, &["location", "accuracy_radius"])),
                ("Latitude", Value::Float(lat)),
                ("Longitude", Value::Float(lon)),
                ("MetroCode", uint(j, &["location", "metro_code"])),
                ("TimeZone", Value::string(tz)),
            ]),
        ),
        ("Postal", map(vec![("Code", Value::string(postal))])),
        (
            "RegisteredCountry",
            go_country(j, "registered_country", false),
        ),
        (
            "RepresentedCountry",
            go_country(j, "represented_country", true),
        ),
        ("Subdivisions", Value::List(subdivisions)),
        (
            "Traits",
            map(vec![
                ("IsAnonymousProxy", flag("is_anonymous_proxy")),
                ("IsAnycast", flag("is_anycast")),
                ("IsSatelliteProvider", flag("is_satellite_provider")),
            ]),
        ),
    ])
}

/// Go's `geoip2.ASN`.
fn go_asn(j: &Json) -> Value<'static> {
    map(vec![
        (
            "AutonomousSystemNumber",
            uint(j, &["autonomous_system_number"]),
        ),
        (
            "AutonomousSystemOrganization",
            Value::string(s(j, &["autonomous_system_organization"])),
        ),
    ])
}
