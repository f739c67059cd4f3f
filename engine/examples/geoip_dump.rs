//! Prints what hivewall's GeoIP enrichers write for each address read on stdin (one a line), as
//! JSON Lines: `{"ip": .., "city": {IsoCode, IsInEU, Latitude, Longitude}, "asn": {ASNNumber,
//! ASNumber, ASNOrg}, "range": "1.2.3.0/24" | null}` (`city`/`asn` are `{}` when the enricher
//! writes nothing). Used by `scripts/geoip/check.py` to compare with the reference reader.
//!
//! ```text
//! cargo run -p engine --example geoip_dump -- [--city FILE] [--asn FILE] [--range FILE] < ips
//! cargo run -p engine --example geoip_dump -- --city FILE --bench 1000000
//! ```
//!
//! `--range` opens another file for `IpToRange` (by default the ASN one, as CrowdSec does), so
//! the range lookup can be checked on a City database too. `--bench N` times N `GeoIpCity`
//! lookups over deterministic public addresses and prints the rate instead.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Instant;

use engine::geoip::GeoIp;

fn main() {
    if let Err(e) = run() {
        eprintln!("geoip_dump: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut city = None;
    let mut asn = None;
    let mut range = None;
    let mut bench = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--city" => city = Some(PathBuf::from(val()?)),
            "--asn" => asn = Some(PathBuf::from(val()?)),
            "--range" => range = Some(PathBuf::from(val()?)),
            "--bench" => bench = Some(val()?.parse::<u64>().map_err(|e| e.to_string())?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let g = GeoIp::open_files(city.as_deref(), asn.as_deref()).map_err(|e| e.to_string())?;
    let r = match &range {
        Some(p) => GeoIp::open_files(None, Some(p)).map_err(|e| e.to_string())?,
        None => GeoIp::open_files(None, asn.as_deref()).map_err(|e| e.to_string())?,
    };
    if let Some(n) = bench {
        return run_bench(&g, n);
    }
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in stdin.lock().lines() {
        let ip = line.map_err(|e| e.to_string())?;
        let ip = ip.trim();
        if ip.is_empty() {
            continue;
        }
        let obj = |v: Vec<(&'static str, String)>| v.into_iter().collect::<BTreeMap<_, _>>();
        let rec = serde_json::json!({
            "ip": ip,
            "city": obj(g.enrich_city(ip)),
            "asn": obj(g.enrich_asn(ip)),
            "range": r.range(ip),
        });
        writeln!(out, "{rec}").map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}

/// Times `n` city enrichments (address text to fields) over 4096 spread IPv4 addresses.
fn run_bench(g: &GeoIp, n: u64) -> Result<(), String> {
    if !g.has_city() {
        return Err("--bench needs --city".into());
    }
    let mut x: u32 = 0x9e37_79b9;
    let ips: Vec<String> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            std::net::Ipv4Addr::from(x).to_string()
        })
        .collect();
    let start = Instant::now();
    let mut written = 0usize;
    for i in 0..n {
        written += g.enrich_city(&ips[(i % 4096) as usize]).len();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{n} GeoIpCity lookups in {secs:.3} s: {:.0} lookups/s ({written} fields written)",
        n as f64 / secs
    );
    Ok(())
}
