//! Runs `hivewall hubtest run` over CrowdSec's hub tests and over our own `scenarios/` tests,
//! and holds the pass rates to the targets of docs/conformance.md.

use std::path::{Path, PathBuf};
use std::process::Command;

fn shared() -> PathBuf {
    std::env::var_os("HIVEWALL_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

fn hubtest(hub: &Path) -> String {
    assert!(
        hub.join(".tests").is_dir(),
        "hub tests not found at {}",
        hub.display()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_hivewall"))
        .args(["hubtest", "run", "--hub"])
        .arg(hub)
        .output()
        .expect("run hivewall");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Reads `<kind> asserts: X of Y tests pass`.
fn rate(out: &str, kind: &str) -> (usize, usize) {
    let prefix = format!("{kind} asserts: ");
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .expect("summary line");
    let nums: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    (nums[0], nums[1])
}

#[test]
fn crowdsec_hub_tests_pass_at_target_rates() {
    let out = hubtest(&shared().join("crowdsec/hub"));
    let (p_ok, p_all) = rate(&out, "parser");
    let (s_ok, s_all) = rate(&out, "scenario");
    eprintln!("hub conformance: parsers {p_ok}/{p_all}, scenarios {s_ok}/{s_all}");
    assert!(
        p_all >= 120 && s_all >= 150,
        "too few tests evaluated:\n{out}"
    );
    assert!(
        p_ok * 100 >= p_all * 95,
        "parser asserts: {p_ok} of {p_all}:\n{out}"
    );
    assert!(
        s_ok * 100 >= s_all * 90,
        "scenario asserts: {s_ok} of {s_all}:\n{out}"
    );
}

#[test]
fn our_own_content_passes_all_its_tests() {
    let hub = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/hub");
    let out = hubtest(&hub);
    let (p_ok, p_all) = rate(&out, "parser");
    let (s_ok, s_all) = rate(&out, "scenario");
    assert!(p_all >= 5 && s_all >= 8, "too few tests evaluated:\n{out}");
    assert_eq!((p_ok, s_ok), (p_all, s_all), "{out}");
}
