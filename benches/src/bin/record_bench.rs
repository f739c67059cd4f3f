//! The processor's per-record decoding, without Kafka: `hivewall.lines` records as `ingest`
//! writes them (JSON `RawLine`) read by `wire::bus::decode_line`, and `hivewall.events`
//! records of parsed auth lines (syslog-logs + sshd-logs + dateparse-enrich) read by
//! `wire::event::decode_event` and `Event::from_body`, as the two stages do.
//!
//! `cargo run --release -p benches --bin record_bench -- [--lines N] [--rounds R] [--hub DIR]`
//!
//! Then the same events written again, as the parse stage writes them. Prints ns a record for
//! each. For instruction counts, run it under `valgrind --tool=callgrind
//! --toggle-collect='record_bench::decode_events'` (or `decode_lines`, `encode_events`) and
//! divide by the records (events or lines × rounds).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use engine::event::{Acquisition, Event, ExpectMode};

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Decodes every line record once; the bytes of raw lines read, so nothing is optimized out.
#[inline(never)]
fn decode_lines(records: &[Vec<u8>]) -> usize {
    let mut n = 0;
    for r in records {
        if let Ok(l) = wire::bus::decode_line(Some(r), Some(b"1")) {
            n += black_box(l).raw.len();
        }
    }
    n
}

/// Decodes every event record into an `Event`, as the detect stage does (one cache of
/// the parts events share; each event decoded into the memory of the one before).
#[inline(never)]
fn decode_events(records: &[Vec<u8>]) -> usize {
    let (mut n, mut cache) = (0, engine::event::BodyCache::default());
    let mut spare = Event::default();
    for r in records {
        let mut json = None;
        if let Ok(rec) = wire::event::decode_event(Some(r), &mut json)
            && let Ok(e) = Event::from_body_reusing(&rec.body, &mut cache, &mut spare)
        {
            n += rec.routes.len() + black_box(&e).parsed.len();
            spare = e;
        }
    }
    n
}

/// Writes every event's record, as the parse stage does (body once, then the record).
#[inline(never)]
fn encode_events(events: &[(Event, String)]) -> usize {
    let (mut body, mut out, mut n) = (Vec::new(), Vec::new(), 0);
    for (e, ip) in events {
        body.clear();
        e.encode_body(&mut body);
        out.clear();
        wire::event::encode_record(&mut out, Some((0, 0, 0)), &[("s", ip)], &body);
        n += black_box(&out).len();
    }
    n
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lines: usize = benches::arg("--lines").map_or(Ok(100_000), |s| s.parse())?;
    let rounds: usize = benches::arg("--rounds").map_or(Ok(5), |s| s.parse())?;
    let hub =
        PathBuf::from(benches::arg("--hub").unwrap_or_else(|| "../shared/crowdsec/hub".into()));
    let names = [
        "crowdsecurity/syslog-logs",
        "crowdsecurity/sshd-logs",
        "crowdsecurity/dateparse-enrich",
    ]
    .map(String::from);
    let parsers = benches::hub_parsers(&hub, &names)?;
    let log = benches::auth_log(lines, 42);

    let labels = [("type".to_string(), "syslog".to_string())].into();
    let line_records: Vec<Vec<u8>> = log
        .lines()
        .map(|raw| {
            wire::bus::encode_line(&wire::RawLine {
                raw: raw.to_string(),
                src: "/var/log/auth.log".into(),
                module: "file".into(),
                labels: std::collections::BTreeMap::clone(&labels),
                time: Some("2026-12-03T10:00:00.123456789Z".into()),
            })
        })
        .collect();
    let source = Acquisition::new("/var/log/auth.log", "file", "syslog", []);
    let mut body = Vec::new();
    let events: Vec<(Event, String)> = log
        .lines()
        .filter_map(|raw| {
            let mut evt = source.event(raw.to_string(), ExpectMode::TimeMachine);
            if !parsers.parse(&mut evt, None).ok()? {
                return None;
            }
            let ip = evt.meta.get("source_ip")?.to_string();
            Some((evt, ip))
        })
        .collect();
    let event_records: Vec<Vec<u8>> = events
        .iter()
        .map(|(evt, ip)| {
            body.clear();
            evt.encode_body(&mut body);
            let mut out = Vec::new();
            let routes = [("crowdsecurity/ssh-bf", ip.as_str())];
            wire::event::encode_record(&mut out, Some((0, 0, 0)), &routes, &body);
            out
        })
        .collect();
    let avg = |v: &[Vec<u8>]| v.iter().map(Vec::len).sum::<usize>() / v.len().max(1);
    println!(
        "{} line records ({} bytes on average), {} event records ({} bytes), {rounds} rounds",
        line_records.len(),
        avg(&line_records),
        event_records.len(),
        avg(&event_records)
    );

    let start = Instant::now();
    let mut sink = 0;
    for _ in 0..rounds {
        sink += decode_lines(&line_records);
    }
    let t = start.elapsed().as_secs_f64();
    let per = t * 1e9 / (line_records.len() * rounds).max(1) as f64;
    println!("decode_line: {per:.0} ns a record");
    let start = Instant::now();
    for _ in 0..rounds {
        sink += decode_events(&event_records);
    }
    let t = start.elapsed().as_secs_f64();
    let per = t * 1e9 / (event_records.len() * rounds).max(1) as f64;
    println!("decode_event + Event::from_body: {per:.0} ns a record");
    let start = Instant::now();
    for _ in 0..rounds {
        sink += encode_events(&events);
    }
    let t = start.elapsed().as_secs_f64();
    let per = t * 1e9 / (events.len() * rounds).max(1) as f64;
    println!("Event::encode_body + encode_record: {per:.0} ns a record");
    black_box(sink);
    Ok(())
}
