//! Runs `hivewall hubtest run` over CrowdSec's hub tests and holds the pass rate of the parser
//! asserts to the target of docs/conformance.md.

use std::path::PathBuf;
use std::process::Command;

fn hub() -> PathBuf {
    let shared = std::env::var_os("HIVEWALL_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    shared.join("crowdsec/hub")
}

/// Parses the closing `N passed, M failed` line.
fn summary(out: &str) -> (usize, usize) {
    let line = out
        .lines()
        .rev()
        .find(|l| l.ends_with(" failed"))
        .expect("summary line");
    let nums: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    (nums[0], nums[1])
}

#[test]
fn parser_asserts_pass_at_least_95_percent() {
    let hub = hub();
    assert!(
        hub.join(".tests").is_dir(),
        "hub tests not found at {}",
        hub.display()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_hivewall"))
        .args(["hubtest", "run", "--hub"])
        .arg(&hub)
        .output()
        .expect("run hivewall");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (passed, failed) = summary(&stdout);
    let total = passed + failed;
    eprintln!("hub parser conformance: {passed} of {total}");
    assert!(
        total >= 120,
        "expected ~129 tests with parser asserts, got {total}"
    );
    assert!(
        passed * 100 >= total * 95,
        "only {passed} of {total} hub tests pass their parser asserts:\n{stdout}"
    );
}
