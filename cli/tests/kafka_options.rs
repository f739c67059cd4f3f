//! `-X KEY=VALUE` reaches every Kafka client of `ingest`, `processor` and `api` (librdkafka
//! itself names a property it does not know), and the properties the delivery guarantees
//! rest on are refused before anything connects. No broker is needed: both fail first.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn hivewall(state: &str, args: &[&str]) -> Output {
    let dir = std::env::temp_dir().join(format!("hivewall-xopt-{}-{state}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hivewall"))
        .arg("--state-dir")
        .arg(&dir)
        .args(args)
        .current_dir(repo())
        .env_remove("HIVEWALL_BROKERS")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    out
}

const COMMANDS: &[&[&str]] = &[
    &["ingest", "--once", "--type", "syslog", "samples/auth.log"],
    &["processor", "--idle-exit", "1"],
    &["api", "--listen", "127.0.0.1:0"],
];

#[test]
fn options_reach_the_clients() {
    for (i, cmd) in COMMANDS.iter().enumerate() {
        let mut args = cmd.to_vec();
        args.extend([
            "--brokers",
            "127.0.0.1:9",
            "-X",
            "hivewall.no.such.property=1",
        ]);
        let out = hivewall(&format!("unknown{i}"), &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{cmd:?}: {err}");
        assert!(
            err.contains("No such configuration property")
                && err.contains("hivewall.no.such.property"),
            "{cmd:?}: {err}"
        );
    }
}

#[test]
fn guarantees_are_refused_before_connecting() {
    for (i, cmd) in COMMANDS.iter().enumerate() {
        for opt in [
            "enable.idempotence=false",
            "enable.auto.commit=true",
            "acks=1",
        ] {
            let mut args = cmd.to_vec();
            args.extend([
                "--brokers",
                "127.0.0.1:9",
                "-X",
                "security.protocol=plaintext",
            ]);
            args.extend(["-X", opt]);
            let out = hivewall(&format!("reserved{i}"), &args);
            let err = String::from_utf8_lossy(&out.stderr);
            let key = opt.split('=').next().unwrap();
            assert!(!out.status.success(), "{cmd:?} {opt}: {err}");
            assert!(
                err.contains(&format!("`{key}`")) && err.contains("cannot be changed"),
                "{cmd:?} {opt}: {err}"
            );
        }
    }
    let out = hivewall(
        "kv",
        &["ingest", "--brokers", "127.0.0.1:9", "-X", "linger.ms"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("KEY=VALUE"), "{err}");
}
