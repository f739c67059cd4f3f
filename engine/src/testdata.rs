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
