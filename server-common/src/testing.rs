//! Test support shared by the services' Kafka tests (std only, no Kafka client).

use std::path::Path;
use std::process::Command;

/// The bootstrap address of a running Kafka broker for tests: `HIVEWALL_KAFKA_BROKERS`, or one
/// started (once, under a lock shared by every test process) with the repository's
/// `docker/kafka/kafka.sh` on 127.0.0.1:19092. Panics, naming the script, when none can be
/// had: Kafka tests fail, they never skip.
pub fn kafka_brokers() -> String {
    if let Ok(b) = std::env::var("HIVEWALL_KAFKA_BROKERS")
        && !b.is_empty()
    {
        return b;
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let home = std::env::var("HOME").unwrap_or_else(|_| "/tmp".into());
    let dir = format!("{home}/.cache/hivewall/kafka-test");
    // `-o`: the broker started under the lock must not inherit (and keep) it.
    let out = Command::new("flock")
        .arg("-o")
        .arg(format!("{dir}.lock"))
        .arg(repo.join("docker/kafka/kafka.sh"))
        .args(["start", "--dir", &dir, "--port", "19092"])
        .output()
        .unwrap_or_else(|e| panic!("running flock docker/kafka/kafka.sh start: {e}"));
    assert!(
        out.status.success(),
        "no Kafka broker: docker/kafka/kafka.sh start failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
