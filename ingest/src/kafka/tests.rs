//! Against a real Apache Kafka broker (KRaft, one node, on 127.0.0.1), started by
//! `docker/kafka/kafka.sh` when `HIVEWALL_KAFKA_BROKERS` does not name one. These tests fail,
//! never skip, when no broker can be had.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Headers;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{CheckpointFile, KafkaConfig, forward};

pub(crate) fn brokers() -> String {
    server_common::testing::kafka_brokers()
}

/// A fresh topic with `partitions` partitions.
pub(crate) async fn topic(brokers: &str, prefix: &str, partitions: i32) -> String {
    let name = format!(
        "{prefix}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .unwrap();
    let res = admin
        .create_topics(
            &[NewTopic::new(&name, partitions, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
        )
        .await
        .unwrap();
    assert!(res.iter().all(|r| r.is_ok()), "creating {name}: {res:?}");
    name
}

/// Reads `n` records of `topic` from the start: (partition, key, value, version header).
async fn consume(brokers: &str, topic: &str, n: usize) -> Vec<(i32, String, Vec<u8>, String)> {
    let c: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("{topic}-reader"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    c.subscribe(&[topic]).unwrap();
    let mut out = Vec::new();
    while out.len() < n {
        let m = tokio::time::timeout(Duration::from_secs(30), c.recv())
            .await
            .expect("records within 30 s")
            .unwrap();
        let version = m
            .headers()
            .and_then(|h| {
                h.iter()
                    .find(|h| h.key == wire::bus::HEADER_VERSION)
                    .and_then(|h| h.value.map(|v| String::from_utf8_lossy(v).into_owned()))
            })
            .unwrap_or_default();
        out.push((
            m.partition(),
            String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned(),
            m.payload().unwrap_or_default().to_vec(),
            version,
        ));
    }
    out
}

fn write_log(path: &Path, tag: &str, n: usize) {
    let mut f = std::fs::File::create(path).unwrap();
    for i in 0..n {
        writeln!(f, "Jun  1 10:00:00 {tag} sshd[{i}]: line {i}").unwrap();
    }
}

/// Two files read once (`cat` mode) go to a 4-partition topic: every line arrives once, each
/// file's lines in order under its own key, with hivewall's version header; the checkpoint
/// file then holds each file's end, and a second run from it sends nothing again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_produced_in_order_and_checkpointed() {
    let brokers = brokers();
    let topic = topic(&brokers, "ingest-test", 4).await;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    write_log(&a, "hosta", 500);
    write_log(&b, "hostb", 300);
    let yaml = format!(
        "filenames:\n  - {}\n  - {}\nmode: cat\nlabels:\n  type: syslog\n",
        a.display(),
        b.display()
    );
    let sources = crate::parse_acquis(&yaml, "test").unwrap();
    let mut cfg = KafkaConfig::new(&brokers);
    cfg.topic = topic.clone();
    cfg.max_in_flight = 64; // exercise waiting for acknowledgements
    let cps = CheckpointFile::new(dir.path().join("state/checkpoints.json"));

    let run_once = |sources, cps: CheckpointFile, cfg: KafkaConfig| async move {
        let (tx, rx) = mpsc::channel(128);
        let token = CancellationToken::new();
        let start = cps.load().unwrap();
        let src = tokio::spawn(crate::run(sources, start, tx, token.child_token()));
        let stats = forward(rx, &cfg, Some(&cps), token).await.unwrap();
        src.await.unwrap().unwrap();
        stats
    };
    let stats = run_once(sources.clone(), cps.clone(), cfg.clone()).await;
    assert_eq!((stats.sent, stats.acked), (800, 800));

    let got = consume(&brokers, &topic, 800).await;
    let mut per_key: HashMap<String, Vec<String>> = HashMap::new();
    let mut partition_of: HashMap<String, i32> = HashMap::new();
    for (p, key, value, version) in &got {
        assert_eq!(version, "1");
        let line = wire::bus::decode_line(Some(value), Some(version.as_bytes())).unwrap();
        assert_eq!(&line.src, key);
        assert_eq!(line.labels["type"], "syslog");
        assert_eq!(*partition_of.entry(key.clone()).or_insert(*p), *p);
        per_key.entry(key.clone()).or_default().push(line.raw);
    }
    for (path, tag, n) in [(&a, "hosta", 500), (&b, "hostb", 300)] {
        let lines = &per_key[path.to_str().unwrap()];
        let want: Vec<String> = (0..n)
            .map(|i| format!("Jun  1 10:00:00 {tag} sshd[{i}]: line {i}"))
            .collect();
        assert_eq!(lines, &want, "{tag}: every line once, in order");
    }
    let saved = cps.load().unwrap();
    let size_a = std::fs::metadata(&a).unwrap().len();
    assert!(
        saved[&format!("file:{}", a.display())].ends_with(&format!(":{size_a}")),
        "{saved:?}"
    );

    // From the saved positions, nothing is sent again.
    let stats = run_once(sources, cps, cfg).await;
    assert_eq!(stats.sent, 0);
}

/// Settings are checked before anything connects.
#[test]
fn bad_settings_are_refused() {
    for (brokers, compression) in [("", "zstd"), ("localhost", "zstd"), ("h:1", "brotli")] {
        let mut c = KafkaConfig::new(brokers);
        c.compression = compression.into();
        assert!(c.validate().is_err(), "{brokers} {compression}");
    }
    assert!(
        KafkaConfig::new("127.0.0.1:9092,[::1]:9092")
            .validate()
            .is_ok()
    );
}
