//! Operator commands refuse the store of a distributed `api` replica when no api answers: a
//! change written there would reach no bouncer and be gone at the replica's next start.

use std::process::Command;

fn hivewall() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hivewall"));
    c.env(
        "HIVEWALL_CONFIG_DIR",
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios"),
    );
    c
}

#[test]
fn operator_commands_refuse_a_replica_store() {
    let state = tempfile::tempdir().unwrap();
    let store = decision_api::Store::open(&state.path().join("api")).unwrap();
    store.reset_for_replica("hivewall.decisions").unwrap();
    drop(store);
    for args in [
        &["decisions", "list"][..],
        &["decisions", "add", "--ip", "192.0.2.1"],
        &["bouncers", "add", "fw"],
    ] {
        let out = hivewall()
            .arg("--state-dir")
            .arg(state.path())
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded: {err}");
        assert!(
            err.contains("replica of hivewall.decisions") && err.contains("start `hivewall api`"),
            "{args:?}: {err}"
        );
    }
    // The store of the embedded mode still opens.
    let state = tempfile::tempdir().unwrap();
    drop(decision_api::Store::open(&state.path().join("api")).unwrap());
    let out = hivewall()
        .arg("--state-dir")
        .arg(state.path())
        .args(["decisions", "list"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
