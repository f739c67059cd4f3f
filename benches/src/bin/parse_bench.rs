//! Parse throughput: syslog-logs + sshd-logs + dateparse-enrich on a generated auth log, next to
//! `fail2ban-regex` with its sshd filter on the same log, in the same run.
//!
//! `cargo run --release -p benches --bin parse_bench -- [--lines N] [--f2b-lines N] [--hub DIR]
//! [--parsers a,b,c]`

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use engine::event::{Acquisition, Event, ExpectMode};

/// The allocator the `hivewall` binary uses, so that the parse path costs what it costs there.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lines: usize = benches::arg("--lines").map_or(Ok(1_000_000), |s| s.parse())?;
    let f2b_lines: usize = benches::arg("--f2b-lines").map_or(Ok(200_000), |s| s.parse())?;
    let hub =
        PathBuf::from(benches::arg("--hub").unwrap_or_else(|| "../shared/crowdsec/hub".into()));

    let names: Vec<String> = benches::arg("--parsers")
        .unwrap_or_else(|| {
            "crowdsecurity/syslog-logs,crowdsecurity/sshd-logs,crowdsecurity/dateparse-enrich"
                .into()
        })
        .split(',')
        .map(str::to_string)
        .collect();
    let parsers = benches::hub_parsers(&hub, &names)?;

    let log = benches::auth_log(lines, 42);
    let dir = std::env::temp_dir().join(format!("hivewall-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("auth.log");
    std::fs::write(&path, &log)?;

    // hivewall: one thread, the whole parse path per line (event build, 3 stages), each
    // line's event refilled in the last one's memory as `replay`, `run` and the processor do.
    let source = Acquisition::new(&path.to_string_lossy(), "file", "syslog", []);
    let start = Instant::now();
    let mut parsed = 0usize;
    let mut evt = Event::default();
    for raw in log.lines() {
        source.refill(&mut evt, raw, ExpectMode::TimeMachine);
        if parsers.parse(&mut evt, None).unwrap_or(false) {
            parsed += 1;
        }
    }
    let ours = start.elapsed().as_secs_f64();
    let ours_rate = lines as f64 / ours;
    println!(
        "hivewall: {lines} lines in {ours:.3}s = {ours_rate:.0} lines/s on 1 core ({parsed} fully parsed)"
    );

    // fail2ban-regex with its sshd filter, on the first f2b_lines lines of the same log.
    let f2b_path = dir.join("auth-f2b.log");
    let head: String = log
        .lines()
        .take(f2b_lines)
        .flat_map(|l| [l, "\n"])
        .collect();
    std::fs::write(&f2b_path, head)?;
    let start = Instant::now();
    let out = Command::new("fail2ban-regex")
        .arg(&f2b_path)
        .arg("/etc/fail2ban/filter.d/sshd.conf")
        .output();
    let f2b = start.elapsed().as_secs_f64();
    match out {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            let matched = text
                .lines()
                .find(|l| l.starts_with("Lines:"))
                .unwrap_or("")
                .to_string();
            let f2b_rate = f2b_lines as f64 / f2b;
            println!(
                "fail2ban-regex: {f2b_lines} lines in {f2b:.3}s = {f2b_rate:.0} lines/s ({matched})"
            );
            println!("ratio: {:.1}x", ours_rate / f2b_rate);
        }
        Ok(o) => println!(
            "fail2ban-regex failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => println!("fail2ban-regex not available ({e}): install Debian package fail2ban"),
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
