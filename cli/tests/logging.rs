//! Every command logs on stderr: engine warnings are seen without `run`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `replay` of the sample log with a profile whose filter fails on every alert, at `level`.
fn replay_stderr(extra: &[&str]) -> String {
    let dir = std::env::temp_dir().join(format!("hivewall-logging-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let profiles = dir.join(format!("profiles-{}.yaml", extra.join("")));
    std::fs::write(
        &profiles,
        "name: broken\nfilters:\n  - Alert.Events[999] == nil\ndecisions:\n  - type: ban\n    duration: 4h\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hivewall"))
        .args(extra)
        .args(["replay", "--json", "--type", "syslog", "--config-dir"])
        .arg(repo().join("scenarios"))
        .arg("--profiles")
        .arg(&profiles)
        .arg(repo().join("samples/auth.log"))
        .env_remove("RUST_LOG")
        .env_remove("HIVEWALL_LOG")
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&profiles);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    stderr
}

#[test]
fn engine_warnings_reach_stderr_and_log_level_filters_them() {
    let by_default = replay_stderr(&[]);
    assert!(
        by_default.contains("WARN") && by_default.contains("Profile filter failed"),
        "{by_default}"
    );
    let quiet = replay_stderr(&["--log-level", "error"]);
    assert!(!quiet.contains("Profile filter failed"), "{quiet}");
}
