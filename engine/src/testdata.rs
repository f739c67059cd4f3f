//! Where the tests of every crate find the conformance data (`crowdsec/hub`, `crowdsec/data`,
//! `crowdsec/patterns`, `crowdsec/engine-testdata`...): `$HIVEWALL_SHARED`, else the `shared/`
//! folder beside the repository. Missing data fails the test that needs it, loudly: a test
//! that passes because it found nothing to check hides a regression.

use std::path::PathBuf;

/// The shared data folder: `$HIVEWALL_SHARED` when set and non-empty, else `../shared`
/// relative to the repository root.
pub fn shared_root() -> PathBuf {
    match std::env::var_os("HIVEWALL_SHARED") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
    }
}

/// `rel` inside the shared data folder (e.g. `crowdsec/hub`).
///
/// # Panics
///
/// When it does not exist, naming the path and the variable to set: tests call this, and a
/// test without its data must fail rather than pass having checked nothing.
pub fn shared(rel: &str) -> PathBuf {
    let path = shared_root().join(rel);
    assert!(
        path.exists(),
        "test data not found: {} (set HIVEWALL_SHARED to the folder holding crowdsec/)",
        path.display()
    );
    path
}

/// Every distinct line of the hub's test logs (`crowdsec/hub/.tests/*/*.log`).
pub fn hub_test_log_lines() -> std::collections::BTreeSet<String> {
    let tests = shared("crowdsec/hub/.tests");
    let mut lines = std::collections::BTreeSet::new();
    for dir in std::fs::read_dir(tests).unwrap().flatten() {
        for f in std::fs::read_dir(dir.path()).unwrap().flatten() {
            if f.path().extension().is_some_and(|e| e == "log") {
                let text = std::fs::read_to_string(f.path()).unwrap_or_default();
                lines.extend(text.lines().map(str::to_string));
            }
        }
    }
    lines
}
