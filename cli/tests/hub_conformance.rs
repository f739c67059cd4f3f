//! Runs `hivewall hubtest run` over CrowdSec's hub tests and over our own `scenarios/` tests.
//! The hub tests that fail are listed by name with their cause (docs/conformance.md): any other
//! failure is a regression, and a listed test that passes must leave the list.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Hub tests hivewall fails, and why (details in docs/conformance.md).
const EXPECTED_FAILURES: &[(&str, &str)] = &[
    (
        "postfix-honeypot-users",
        "result order: the asserts expect overflows in ascending source order, CrowdSec's \
         hubtest sorts them descending, as hivewall does",
    ),
    (
        "pterodactyl-wings-bf",
        "the log's time goes back and forth; the expected overflow depends on how CrowdSec's \
         -order-event replay interleaves the lines",
    ),
];

/// Names of the tests `hubtest run` reports failed (`✘ name (...)` or `✘ name: error: ...`).
fn failed(out: &str) -> Vec<String> {
    let mut v: Vec<String> = out
        .lines()
        .filter_map(|l| l.strip_prefix("✘ "))
        .filter_map(|l| l.split([' ', ':']).next())
        .map(str::to_string)
        .collect();
    v.sort();
    v
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
fn crowdsec_hub_tests_fail_only_where_expected() {
    let out = hubtest(&engine::testdata::shared("crowdsec/hub"));
    let (p_ok, p_all) = rate(&out, "parser");
    let (s_ok, s_all) = rate(&out, "scenario");
    eprintln!("hub conformance: parsers {p_ok}/{p_all}, scenarios {s_ok}/{s_all}");
    // The hub snapshot's counts (docs/conformance.md): fewer means tests were not evaluated.
    assert!(
        p_all >= 129 && s_all >= 162,
        "too few tests evaluated:\n{out}"
    );
    let mut expected: Vec<String> = EXPECTED_FAILURES
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    expected.sort();
    assert_eq!(
        failed(&out),
        expected,
        "failing hub tests differ from the expected ones (a new failure is a regression; a \
         listed test that passes leaves EXPECTED_FAILURES and docs/conformance.md):\n{out}"
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
