//! Memory under an attack from never-repeating addresses: every line comes from a new IP, so
//! every line opens a bucket. Bucket expiry on event time must keep the live set bounded.
//!
//! `cargo run --release -p benches --bin unique_ips -- [--lines N] [--rate LINES_PER_SECOND]`
//! (run from the repository root: it loads hivewall's own `scenarios/`).

use std::sync::Arc;
use std::time::Instant;

use engine::clock::FixedClock;
use engine::event::{Event, ExpectMode, Line, StrMap};
use engine::pipeline::{Pipeline, Setup};

/// Peak resident memory of this process (VmHWM), in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lines: u64 = benches::arg("--lines").map_or(Ok(2_000_000), |s| s.parse())?;
    let rate: u64 = benches::arg("--rate").map_or(Ok(1_000), |s| s.parse())?;
    let setup = Setup::installed(std::path::Path::new("scenarios"), "scenarios/data".into())?;
    let clock = Arc::new(FixedClock(
        chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default(),
    ));
    let mut pipeline = Pipeline::load(&setup, clock)?;
    let labels: StrMap = [("type", "syslog")].into_iter().collect();
    let labels = Arc::new(labels);
    let start_ts: u64 = 1_767_225_600;
    let started = Instant::now();
    println!("| lines | event time | live buckets | bucket MiB | peak RSS MiB |");
    println!("|---|---|---|---|---|");
    for i in 0..lines {
        let t = start_ts + i / rate;
        let ts = chrono::DateTime::from_timestamp(t as i64, 0).unwrap_or_default();
        // 11.0.0.0 + i: a new address for every line (16M before wrapping).
        let ip = std::net::Ipv4Addr::from(0x0B00_0000u32.wrapping_add(i as u32));
        let raw = format!(
            "{} edge sshd[{}]: Failed password for invalid user admin from {ip} port 4242 ssh2",
            ts.format("%b %e %H:%M:%S"),
            1000 + i % 50_000
        );
        let line = Line {
            raw,
            labels: labels.clone(),
            ..Line::default()
        };
        pipeline.process(Event::from_line(line, ExpectMode::TimeMachine), None);
        if (i + 1) % (lines / 10).max(1) == 0 {
            let (bytes, live) = engine::bucket::memory_usage(pipeline.detector().store());
            println!(
                "| {} | +{}s | {live} | {:.1} | {:.1} |",
                i + 1,
                (i + 1) / rate,
                bytes as f64 / 1048576.0,
                peak_rss_kib() as f64 / 1024.0
            );
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "\n{lines} lines from {lines} distinct addresses in {secs:.1}s ({:.0} lines/s); {} parsed, {} alerts",
        lines as f64 / secs,
        pipeline.stats.parsed,
        pipeline.stats.overflows
    );
    Ok(())
}
