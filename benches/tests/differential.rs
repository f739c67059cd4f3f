//! The differential check against the real CrowdSec 1.4.6 (Debian), on ~20k-line generated
//! logs: same log, same parser and scenario files → the same overflows (scenario, source, events
//! count, start, stop). `scripts/differential.py` does the work; the (scenario, source) pairs
//! on which CrowdSec's own runs disagree are left out there. Larger logs are checked by hand
//! (see docs/conformance.md).

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `hivewall` binary `cargo test --workspace` built next to this test.
fn hivewall() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let bin = dir.join("hivewall");
    assert!(
        bin.is_file(),
        "{} not built (run the workspace tests)",
        bin.display()
    );
    bin
}

fn check(kind: &str, log_type: &str, runs: u32, text: String) {
    let dir = std::env::temp_dir().join(format!("hivewall-diff-{kind}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join(format!("{kind}.log"));
    std::fs::write(&log, text).unwrap();
    let out = Command::new("python3")
        .arg(repo().join("scripts/differential.py"))
        .arg(&log)
        .arg(log_type)
        .arg(dir.join("out"))
        .arg("--hivewall")
        .arg(hivewall())
        .arg("--runs")
        .arg(runs.to_string())
        .output()
        .expect("run scripts/differential.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{kind}: differential check failed\n{stdout}\n{stderr}"
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("out/summary.json")).unwrap()).unwrap();
    let compared = summary["compared"].as_u64().unwrap();
    assert!(
        compared >= 100,
        "{kind}: too few overflows to compare ({compared})\n{stdout}"
    );
    eprintln!("{kind}: {stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn same_overflows_as_crowdsec_on_an_sshd_log() {
    // CrowdSec varies most on busy sshd logs: three runs to see what it is unsure about.
    check("auth", "syslog", 3, benches::auth_bf_log(20_000, 1));
}

#[test]
fn same_overflows_as_crowdsec_on_an_nginx_log() {
    check("nginx", "nginx", 2, benches::nginx_log(20_000, 1));
}
