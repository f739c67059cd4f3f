//! The GeoIP enrichers and helpers on MaxMind's own test databases (the ones CrowdSec's parser
//! tests use, in the shared test data) and on small databases written here in both layouts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::testdb::{DbWriter, V, asn, flat_city, maxmind_city};
use super::{ASN_DB, CITY_DB, GeoIp};
use crate::expr::functions::{Functions, HelperContext};
use crate::expr::{Compiler, Value};

fn maxmind_dir() -> PathBuf {
    crate::testdata::shared("crowdsec/engine-testdata/parser")
}

fn maxmind() -> GeoIp {
    let dir = maxmind_dir();
    GeoIp::open_files(Some(&dir.join(CITY_DB)), Some(&dir.join(ASN_DB))).unwrap()
}

fn fields(v: Vec<(&'static str, String)>) -> BTreeMap<&'static str, String> {
    v.into_iter().collect()
}

fn city(iso: &str, eu: bool, lat: &str, lon: &str) -> BTreeMap<&'static str, String> {
    [
        ("IsoCode", iso.to_string()),
        ("IsInEU", eu.to_string()),
        ("Latitude", lat.to_string()),
        ("Longitude", lon.to_string()),
    ]
    .into_iter()
    .collect()
}

/// Writes `db` as `name` in `dir`.
fn write(dir: &Path, name: &str, db: &DbWriter) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, db.build()).unwrap();
    p
}

/// A flat-layout (ip-location-db) IPv4-only City database.
fn flat_v4() -> DbWriter {
    DbWriter::new(4, "city")
        .insert("5.39.0.0/17", flat_city("FR", "Paris", 48.858_9, 2.32))
        .insert("8.8.8.0/24", flat_city("US", "", 37.751, -97.822))
        .insert("9.9.9.0/24", flat_city("", "", 0.0, 0.0))
}

#[test]
fn city_reads_maxmind_layout_and_formats_like_go() {
    let g = maxmind();
    assert_eq!(
        fields(g.enrich_city("81.2.69.142")),
        city("GB", true, "51.514200", "-0.093100")
    );
    assert_eq!(
        fields(g.enrich_city("2001:218::1")),
        city("JP", false, "35.685360", "139.753090")
    );
    // IPv4-mapped IPv6 is looked up as IPv4, as Go's reader does.
    assert_eq!(
        g.enrich_city("::ffff:81.2.69.142"),
        g.enrich_city("81.2.69.142")
    );
}

#[test]
fn a_miss_gives_go_zero_values_and_bad_input_gives_nothing() {
    let g = maxmind();
    // CrowdSec's own case: 192.168.0.1 gives IsoCode "" and IsInEU false.
    assert_eq!(
        fields(g.enrich_city("192.168.0.1")),
        city("", false, "0.000000", "0.000000")
    );
    let asn_miss: BTreeMap<_, _> = [("ASNNumber", "0"), ("ASNumber", "0"), ("ASNOrg", "")]
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();
    assert_eq!(fields(g.enrich_asn("192.168.0.1")), asn_miss);
    assert!(g.enrich_range("192.168.0.1").is_empty());
    for bad in [
        "",
        "not an ip",
        "1.2.3",
        "01.2.3.4",
        "fe80::1%eth0",
        "1.2.3.4 ",
        "[::1]",
    ] {
        assert!(g.enrich_city(bad).is_empty(), "{bad:?}");
        assert!(g.enrich_asn(bad).is_empty(), "{bad:?}");
        assert!(g.enrich_range(bad).is_empty(), "{bad:?}");
    }
}

#[test]
fn asn_and_range_come_from_the_asn_database() {
    let g = maxmind();
    let got = fields(g.enrich_asn("1.0.0.1"));
    assert_eq!(got["ASNNumber"], "15169");
    assert_eq!(got["ASNumber"], "15169");
    assert_eq!(got["ASNOrg"], "Google Inc.");
    // A record without organisation: the number alone, the organisation empty.
    let got = fields(g.enrich_asn("12.81.96.1"));
    assert_eq!(
        (got["ASNNumber"].as_str(), got["ASNOrg"].as_str()),
        ("7018", "")
    );
    assert_eq!(g.range("1.0.0.1").as_deref(), Some("1.0.0.0/24"));
    assert_eq!(g.range("1.128.0.1").as_deref(), Some("1.128.0.0/11"));
    assert_eq!(
        g.enrich_range("89.160.20.128"),
        vec![("SourceRange", "89.160.0.0/17".to_string())]
    );
    assert_eq!(g.range("2001:1c00::1").as_deref(), Some("2001:1c00::/23"));
    assert_eq!(fields(g.enrich_asn("2001:1c00::1"))["ASNOrg"], "Ziggo B.V.");
}

#[test]
fn country_falls_back_to_registered_then_represented() {
    let dir = tempfile::tempdir().unwrap();
    let db = DbWriter::new(6, "GeoLite2-City")
        .insert(
            "10.0.0.0/8",
            maxmind_city(Some(("DE", true)), None, 52.5, 13.4),
        )
        .insert(
            "11.0.0.0/8",
            maxmind_city(None, Some(("FR", true)), 1.0, 2.0),
        )
        .insert(
            "12.0.0.0/8",
            maxmind_city(Some(("", false)), Some(("US", false)), 0.0, 0.0),
        )
        .insert(
            "13.0.0.0/8",
            V::Map(vec![(
                "represented_country",
                super::testdb::country("IT", true),
            )]),
        )
        .insert(
            "2001:db8::/32",
            maxmind_city(Some(("NL", true)), None, 52.0, 5.0),
        );
    let g = GeoIp::open_files(Some(&write(dir.path(), CITY_DB, &db)), None).unwrap();
    assert_eq!(
        fields(g.enrich_city("10.1.2.3")),
        city("DE", true, "52.500000", "13.400000")
    );
    assert_eq!(
        fields(g.enrich_city("11.1.2.3")),
        city("FR", true, "1.000000", "2.000000")
    );
    assert_eq!(
        fields(g.enrich_city("12.1.2.3")),
        city("US", false, "0.000000", "0.000000")
    );
    assert_eq!(
        fields(g.enrich_city("13.1.2.3")),
        city("IT", true, "0.000000", "0.000000")
    );
    assert_eq!(
        fields(g.enrich_city("2001:db8::5")),
        city("NL", true, "52.000000", "5.000000")
    );
    assert!(g.range("10.1.2.3").is_none(), "no ASN database, no range");
}

#[test]
fn flat_layout_maps_country_code_coordinates_and_derives_the_eu_flag() {
    let dir = tempfile::tempdir().unwrap();
    let g = GeoIp::open_files(Some(&write(dir.path(), CITY_DB, &flat_v4())), None).unwrap();
    // float32 coordinates, widened to float64 then printed with Go's %f (37.751f32 is
    // 37.75099945...: "37.750999", as Go and Python print it).
    assert_eq!(
        fields(g.enrich_city("5.39.1.1")),
        city(
            "FR",
            true,
            &format!("{:.6}", f64::from(48.858_9f32)),
            "2.320000"
        )
    );
    assert_eq!(
        fields(g.enrich_city("8.8.8.8")),
        city("US", false, "37.750999", "-97.821999")
    );
    assert_eq!(
        fields(g.enrich_city("9.9.9.9")),
        city("", false, "0.000000", "0.000000")
    );
    // An IPv6 address in an IPv4-only database is a lookup error: nothing is written.
    assert!(g.enrich_city("2001:4860::8888").is_empty());
}

#[test]
fn open_dir_skips_missing_files_and_warns_on_broken_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (g, w) = GeoIp::open_dir(dir.path());
    assert!(!g.has_city() && !g.has_asn() && w.is_empty());
    std::fs::write(dir.path().join(CITY_DB), b"not a database").unwrap();
    write(
        dir.path(),
        ASN_DB,
        &DbWriter::new(6, "GeoLite2-ASN").insert("1.2.3.0/24", asn(64500, "Example")),
    );
    let (g, w) = GeoIp::open_dir(dir.path());
    assert!(!g.has_city() && g.has_asn());
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains(CITY_DB), "{w:?}");
    assert_eq!(g.range("1.2.3.4").as_deref(), Some("1.2.3.0/24"));
    assert!(GeoIp::open_files(Some(&dir.path().join(CITY_DB)), None).is_err());
}

#[test]
fn shared_opens_a_directory_once_while_a_set_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), CITY_DB, &flat_v4());
    let (a, _) = GeoIp::shared(dir.path());
    let (b, _) = GeoIp::shared(dir.path());
    assert!(Arc::ptr_eq(&a, &b));
    drop((a, b));
    // Replaced on disk (another size): opened anew.
    write(
        dir.path(),
        CITY_DB,
        &flat_v4().insert("7.0.0.0/8", flat_city("DE", "", 1.0, 1.0)),
    );
    let (c, _) = GeoIp::shared(dir.path());
    assert_eq!(fields(c.enrich_city("7.1.1.1"))["IsoCode"], "DE");
    let (empty, w) = GeoIp::shared(&dir.path().join("nowhere"));
    assert!(!empty.has_city() && w.is_empty());
}

fn eval(f: &Arc<Functions>, expr: &str, ip: &str) -> Result<String, String> {
    let p = Compiler::new(f.clone(), &["ip"])
        .compile(expr)
        .map_err(|e| e.to_string())?;
    p.eval(&[Value::str(ip)])
        .map(|v| match v {
            Value::Nil => "<nil>".to_string(),
            Value::Str(s) => s.into_owned(),
            other => format!("{other:?}"),
        })
        .map_err(|e| e.to_string())
}

fn functions(g: GeoIp) -> Arc<Functions> {
    let mut f = Functions::crowdsec(HelperContext::default());
    super::register(&mut f, &Arc::new(g));
    Arc::new(f)
}

#[test]
fn helpers_return_go_shaped_records() {
    let f = functions(maxmind());
    let ok = |e: &str, ip: &str| eval(&f, e, ip).unwrap_or_else(|err| panic!("{e}: {err}"));
    assert_eq!(ok("GeoIPEnrich(ip).Country.IsoCode", "81.2.69.142"), "GB");
    assert_eq!(ok("GeoIPEnrich(ip).City.Names.en", "81.2.69.142"), "London");
    assert_eq!(
        ok("GeoIPEnrich(ip).Location.TimeZone", "81.2.69.142"),
        "Europe/London"
    );
    assert_eq!(
        ok(
            "Sprintf('%f', GeoIPEnrich(ip).Location.Latitude)",
            "81.2.69.142"
        ),
        "51.514200"
    );
    assert_eq!(
        ok("GeoIPEnrich(ip).RegisteredCountry.IsoCode", "81.2.69.142"),
        "US"
    );
    assert_eq!(
        ok("GeoIPEnrich(ip).RepresentedCountry.Type", "202.196.224.1"),
        "military"
    );
    assert_eq!(
        ok(
            "GeoIPEnrich(ip).Country.IsInEuropeanUnion ? 'y' : 'n'",
            "81.2.69.142"
        ),
        "y"
    );
    assert_eq!(ok("GeoIPEnrich(ip).Country.IsoCode", "192.168.0.1"), "");
    assert_eq!(ok("IPToCountry(ip)", "2001:218::1"), "JP");
    assert_eq!(ok("IPToCountry(ip)", "garbage"), "");
    assert_eq!(
        ok(
            "Sprintf('%d', GeoIPASNEnrich(ip).AutonomousSystemNumber)",
            "1.0.0.1"
        ),
        "15169"
    );
    assert_eq!(
        ok("GeoIPASNEnrich(ip).AutonomousSystemOrganization", "1.0.0.1"),
        "Google Inc."
    );
    assert_eq!(ok("GeoIPRangeEnrich(ip)", "1.0.0.1"), "1.0.0.0/24");
    assert_eq!(ok("GeoIPRangeEnrich(ip)", "192.168.0.1"), "<nil>");
    assert!(eval(&f, "GeoIPEnrich(ip)", "garbage").is_err());
    assert!(eval(&f, "GeoIPRangeEnrich(ip)", "garbage").is_err());
}

#[test]
fn helpers_read_the_flat_layout_and_are_nil_without_databases() {
    let dir = tempfile::tempdir().unwrap();
    let g = GeoIp::open_files(Some(&write(dir.path(), CITY_DB, &flat_v4())), None).unwrap();
    let f = functions(g);
    let ok = |e: &str, ip: &str| eval(&f, e, ip).unwrap_or_else(|err| panic!("{e}: {err}"));
    assert_eq!(ok("GeoIPEnrich(ip).Country.IsoCode", "5.39.1.1"), "FR");
    assert_eq!(ok("GeoIPEnrich(ip).City.Names.en", "5.39.1.1"), "Paris");
    assert_eq!(
        ok("GeoIPEnrich(ip).Subdivisions[0].Names.en", "5.39.1.1"),
        "Île-de-France"
    );
    assert_eq!(
        ok("GeoIPEnrich(ip).Location.TimeZone", "5.39.1.1"),
        "Europe/Paris"
    );
    assert_eq!(ok("IPToCountry(ip)", "5.39.1.1"), "FR");
    assert_eq!(ok("GeoIPASNEnrich(ip)", "5.39.1.1"), "<nil>");
    assert_eq!(ok("GeoIPRangeEnrich(ip)", "5.39.1.1"), "<nil>");
    let none = functions(GeoIp::empty());
    assert_eq!(eval(&none, "GeoIPEnrich(ip)", "5.39.1.1").unwrap(), "<nil>");
    assert_eq!(eval(&none, "IPToCountry(ip)", "5.39.1.1").unwrap(), "");
}

#[test]
fn the_test_writer_produces_valid_databases() {
    for db in [
        flat_v4(),
        DbWriter::new(6, "GeoLite2-ASN").insert("1.2.3.0/24", asn(1, "x")),
    ] {
        let r = maxminddb::Reader::from_source(db.build()).unwrap();
        r.verify().unwrap();
    }
}

fn load_parsers(files: &[(&str, PathBuf)], data_dir: &Path) -> crate::parser::ParserSet {
    let files: Vec<_> = files
        .iter()
        .map(|(stage, path)| crate::parser::ParserFile {
            stage: stage.to_string(),
            path: path.clone(),
        })
        .collect();
    let opts = crate::parser::LoadOptions {
        patterns_dir: crate::testdata::shared("crowdsec/patterns"),
        data_dir: data_dir.to_path_buf(),
        clock: Arc::new(crate::clock::FixedClock(
            chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2024, 6, 1, 0, 0, 0).unwrap(),
        )),
    };
    crate::parser::ParserSet::load(&files, &opts).unwrap()
}

fn event_from(ip: &str) -> crate::event::Event {
    let mut e = crate::event::Event::from_line(
        crate::event::Line::default(),
        crate::event::ExpectMode::TimeMachine,
    );
    e.meta.insert("source_ip", ip);
    e
}

/// CrowdSec's own `geoip-enrich` parser case (`pkg/parser/testdata`), with its expectations:
/// 1.0.0.1 gets `ASNOrg` "Google Inc." and `IsInEU` false; 192.168.0.1 (no filter on private
/// addresses there) the zero record: `IsoCode` and `ASNOrg` empty, `IsInEU` false.
#[test]
fn crowdsec_geoip_enrich_case() {
    let dir = maxmind_dir();
    let set = load_parsers(
        &[("s00-raw", dir.join("geoip-enrich/base-grok.yaml"))],
        &dir,
    );
    assert!(set.warnings.is_empty(), "{:?}", set.warnings);
    let mut e = event_from("1.0.0.1");
    assert!(set.parse(&mut e, None).unwrap());
    assert_eq!(e.enriched.get("ASNOrg"), Some("Google Inc."));
    assert_eq!(e.enriched.get("IsInEU"), Some("false"));
    assert_eq!(e.meta.get("ASNNumber"), Some("15169"));
    assert_eq!(e.meta.get("SourceRange"), Some("1.0.0.0/24"));
    let mut e = event_from("192.168.0.1");
    assert!(set.parse(&mut e, None).unwrap());
    assert_eq!(e.enriched.get("IsInEU"), Some("false"));
    assert_eq!(e.enriched.get("IsoCode").unwrap_or(""), "");
    assert_eq!(e.enriched.get("ASNOrg").unwrap_or(""), "");
    assert_eq!(e.meta.get("SourceRange"), None);
}

/// The hub's `crowdsecurity/geoip-enrich` itself: Meta gets `IsoCode`, `IsInEU`, `ASNNumber`,
/// `ASNOrg`, `SourceRange`; `GeoCoords` stays unset (no enricher writes it, in CrowdSec either).
#[test]
fn hub_geoip_enrich_fills_meta() {
    let hub = crate::testdata::shared("crowdsec/hub");
    let file = hub.join("parsers/s02-enrich/crowdsecurity/geoip-enrich.yaml");
    let set = load_parsers(&[("s02-enrich", file.clone())], &maxmind_dir());
    assert!(set.warnings.is_empty(), "{:?}", set.warnings);
    let mut e = event_from("89.160.20.128");
    assert!(set.parse(&mut e, None).unwrap());
    let meta: BTreeMap<_, _> = e.meta.sorted().into_iter().collect();
    let want: BTreeMap<&str, &str> = [
        ("ASNNumber", "29518"),
        ("ASNOrg", "Bredband2 AB"),
        ("IsInEU", "true"),
        ("IsoCode", "SE"),
        ("SourceRange", "89.160.0.0/17"),
        ("source_ip", "89.160.20.128"),
    ]
    .into_iter()
    .collect();
    assert_eq!(meta, want);
    assert_eq!(e.enriched.get("Latitude"), Some("58.416700"));
    assert_eq!(e.enriched.get("Longitude"), Some("15.616700"));
    assert_eq!(e.enriched.get("ASNumber"), Some("29518"));

    // Without the databases: one warning per method naming the missing file, nothing written.
    let empty = tempfile::tempdir().unwrap();
    let set = load_parsers(&[("s02-enrich", file)], empty.path());
    assert_eq!(set.warnings.len(), 3, "{:?}", set.warnings);
    assert!(set.warnings[0].contains("GeoIpCity") && set.warnings[0].contains(CITY_DB));
    assert!(set.warnings[2].contains("IpToRange") && set.warnings[2].contains(ASN_DB));
    let mut e = event_from("89.160.20.128");
    assert!(set.parse(&mut e, None).unwrap());
    assert!(e.enriched.is_empty(), "{:?}", e.enriched.sorted());
    assert_eq!(e.meta.get("IsoCode"), None);
}
