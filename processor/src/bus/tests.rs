//! The two stages against a real Apache Kafka broker (KRaft, one node, 127.0.0.1), started by
//! `docker/kafka/kafka.sh` unless `HIVEWALL_KAFKA_BROKERS` names one. They fail, never skip,
//! without a broker.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use engine::clock::FixedClock;
use engine::event::{Acquisition, ExpectMode};
use engine::pipeline::{Pipeline, Setup};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::FutureRecord;
use rdkafka::{ClientConfig, Message};
use server_common::kafka::FutureProducer;
use tokio_util::sync::CancellationToken;

use super::{BusConfig, SignalsOut, run_detect, run_parse};

pub(super) fn brokers() -> String {
    server_common::testing::kafka_brokers()
}

pub(super) async fn topics(brokers: &str, prefix: &str, parts: &[(&str, i32)]) -> Vec<String> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .unwrap();
    let stamp = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let names: Vec<String> = parts
        .iter()
        .map(|(n, _)| format!("{prefix}-{n}-{}-{stamp}", std::process::id()))
        .collect();
    let new: Vec<NewTopic> = names
        .iter()
        .zip(parts)
        .map(|(n, (_, p))| NewTopic::new(n, *p, TopicReplication::Fixed(1)))
        .collect();
    let res = admin
        .create_topics(
            &new,
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
        )
        .await
        .unwrap();
    assert!(res.iter().all(|r| r.is_ok()), "{res:?}");
    names
}

/// Failed ssh logins from 30 addresses, some of them brute forcing.
pub(super) fn auth_log(n: usize) -> Vec<String> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut t = Utc.with_ymd_and_hms(2026, 6, 1, 10, 0, 0).unwrap();
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            t += chrono::Duration::milliseconds(300 + (x % 2000) as i64);
            let ip = (x % 30).min(x % 5 + (x >> 8) % 30);
            format!(
                "{} web1 sshd[{i}]: Failed password for invalid user u{} from 203.0.113.{ip} port {} ssh2",
                t.format("%b %e %H:%M:%S"),
                (x >> 16) % 50,
                40000 + i
            )
        })
        .collect()
}

pub(super) fn setup() -> Setup {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    Setup::installed(&repo.join("scenarios"), repo.join("scenarios/data")).unwrap()
}

pub(super) fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock(
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap(),
    ))
}

/// The five topics of the stages (lines, events, alerts, decisions, state), new and named
/// after `prefix`: `partitions` each, the alerts topic 1.
pub(super) async fn bus_topics(brokers: &str, prefix: &str, partitions: i32) -> Vec<String> {
    let p = partitions;
    topics(
        brokers,
        prefix,
        &[
            ("lines", p),
            ("events", p),
            ("alerts", 1),
            ("decisions", p),
            ("state", p),
        ],
    )
    .await
}

/// A configuration on the five topics `names` (lines, events, alerts, decisions, state) with
/// groups of their own and state in `dir`.
pub(super) fn bus_config(brokers: &str, names: &[String], dir: &Path) -> BusConfig {
    let mut cfg = BusConfig::new(brokers, dir);
    cfg.lines_topic = names[0].clone();
    cfg.events_topic = names[1].clone();
    cfg.alerts_topic = names[2].clone();
    cfg.decisions_topic = names[3].clone();
    cfg.state_topic = names[4].clone();
    cfg.parse_group = format!("{}-parse", names[0]);
    cfg.detect_group = format!("{}-detect", names[0]);
    cfg.batch = 500;
    cfg.idle_grace = Duration::from_secs(2);
    cfg
}

/// Writes `lines` as syslog lines of one file to the lines topic, acknowledged.
pub(super) async fn produce_lines(cfg: &BusConfig, lines: &[String]) {
    let producer: FutureProducer = cfg.producer().create().unwrap();
    let mut pending = Vec::new();
    for l in lines {
        let raw = wire::RawLine {
            raw: l.clone(),
            src: "/var/log/auth.log".into(),
            module: "file".into(),
            labels: [("type".to_string(), "syslog".to_string())].into(),
            time: None,
        };
        let body = wire::bus::encode_line(&raw);
        pending.push(
            producer
                .send_result(
                    FutureRecord::to(&cfg.lines_topic)
                        .key(&raw.src)
                        .payload(&body),
                )
                .map_err(|(e, _)| e)
                .unwrap(),
        );
    }
    super::acked(&mut pending).await.unwrap();
}

/// (value, scenario, type, duration) of every decision.
pub(super) type Decisions = BTreeSet<(String, String, String, String)>;

/// What one in-process pipeline decides for the same lines (the `run` path).
pub(super) fn expected(lines: &[String]) -> Decisions {
    let mut p = Pipeline::load(&setup(), clock()).unwrap();
    let acq = Acquisition::new("/var/log/auth.log", "file", "syslog", std::iter::empty());
    let mut out = Decisions::new();
    for l in lines {
        for a in p.process(acq.event(l.clone(), ExpectMode::Live), None) {
            if a.whitelisted {
                continue;
            }
            for d in a.decisions {
                out.insert((d.value, d.scenario, d.kind, d.duration));
            }
        }
    }
    out
}

/// A consumer of `topic` from its start, in a group of its own.
fn reader(brokers: &str, topic: &str) -> StreamConsumer {
    let c: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("{topic}-reader"))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    c.subscribe(&[topic]).unwrap();
    c
}

pub(super) async fn read_decisions(brokers: &str, topic: &str, n: usize) -> Decisions {
    let c = reader(brokers, topic);
    let mut out = Decisions::new();
    let mut seen = 0;
    while seen < n {
        let m = tokio::time::timeout(Duration::from_secs(30), c.recv())
            .await
            .expect("decision records within 30 s")
            .unwrap();
        seen += 1;
        let r: wire::bus::DecisionRecord = serde_json::from_slice(m.payload().unwrap()).unwrap();
        assert_eq!(
            std::str::from_utf8(m.key().unwrap()).unwrap(),
            wire::bus::decision_key(&r.decision.scope, &r.decision.value)
        );
        let d = r.decision;
        out.insert((d.value, d.scenario, d.kind, d.duration));
    }
    out
}

/// The first `n` signals of `topic`, each keyed by its value.
async fn read_signals(brokers: &str, topic: &str, n: usize) -> Vec<wire::signal::Signal> {
    let c = reader(brokers, topic);
    let mut out = Vec::new();
    while out.len() < n {
        let m = tokio::time::timeout(Duration::from_secs(30), c.recv())
            .await
            .expect("signal records within 30 s")
            .unwrap();
        let s = wire::signal::Signal::decode(m.payload().unwrap()).unwrap();
        assert_eq!(m.key(), Some(s.value.as_bytes()));
        out.push(s);
    }
    out
}

/// Lines on a 4-partition topic → parse stage → events re-keyed by address on 4 partitions →
/// detect stage with RocksDB per partition → the decisions on the decisions topic are the ones
/// one in-process pipeline makes for the same lines, and a signal per alert is shared on the
/// signals topic; damaged event records are counted and skipped. A second pass over the same topics (new
/// stage instances, same groups and state) adds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stages_decide_what_one_pipeline_decides() {
    let brokers = brokers();
    let names = bus_topics(&brokers, "proc", 4).await;
    let signals_topic = topics(&brokers, "proc", &[("signals", 2)]).await.remove(0);
    let state = tempfile::tempdir().unwrap();
    let mut cfg = bus_config(&brokers, &names, state.path());
    cfg.signals = Some(SignalsOut {
        topic: signals_topic.clone(),
        reporter: "member-1".into(),
    });

    let lines = auth_log(4000);
    let want = expected(&lines);
    assert!(want.len() >= 5, "the log should cause decisions: {want:?}");

    produce_lines(&cfg, &lines).await;

    let idle = Some(Duration::from_secs(4));
    let parse = run_parse(&setup(), clock(), &cfg, idle, CancellationToken::new())
        .await
        .unwrap();
    eprintln!("parse {parse:?}");
    assert_eq!(parse.lines, 4000);
    assert!(parse.events > 3000, "{parse:?}");
    // Damaged event records among them are counted and skipped: no value, an unknown
    // version, a binary record cut short, JSON that is no event.
    let mut good = Vec::new();
    wire::event::encode_record(&mut good, None, &[("s", "g")], &[]);
    let bad: [&[u8]; 4] = [b"", &[7, 1, 2], &good[..4], b"{\"v\":1}"];
    let producer: FutureProducer = cfg.producer().create().unwrap();
    let mut pending = Vec::new();
    for (i, v) in bad.iter().enumerate() {
        let rec = FutureRecord::to(&cfg.events_topic)
            .key("203.0.113.1")
            .partition(i as i32)
            .payload(*v);
        pending.push(producer.send_result(rec).map_err(|(e, _)| e).unwrap());
    }
    super::acked(&mut pending).await.unwrap();
    let detect = run_detect(&setup(), clock(), &cfg, idle, CancellationToken::new())
        .await
        .unwrap();
    eprintln!("detect {detect:?}");
    assert_eq!(detect.events, parse.events + 4, "{detect:?}");
    assert_eq!(detect.bad_records, 4, "{detect:?}");
    let got = read_decisions(&brokers, &cfg.decisions_topic, detect.decisions as usize).await;
    assert_eq!(got, want);
    // A signal per alert (all of them are of one address), as the member, on the addresses
    // decided.
    assert_eq!(detect.signals, detect.alerts, "{detect:?}");
    let shared = read_signals(&brokers, &signals_topic, detect.signals as usize).await;
    assert!(
        shared
            .iter()
            .all(|s| s.reporter == "member-1" && s.scope == "Ip")
    );
    let shared: BTreeSet<&str> = shared.iter().map(|s| s.value.as_str()).collect();
    let decided: BTreeSet<&str> = want.iter().map(|d| d.0.as_str()).collect();
    assert_eq!(shared, decided);

    // Again: the groups' offsets and the partitions' state say everything is done.
    let again = run_detect(&setup(), clock(), &cfg, idle, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!((again.alerts, again.decisions), (0, 0), "{again:?}");
}

/// A stage refuses to start on a topic that does not exist, naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_topic_is_named() {
    let brokers = brokers();
    let state = tempfile::tempdir().unwrap();
    let mut cfg = BusConfig::new(&brokers, state.path());
    cfg.lines_topic = format!("no-such-topic-{}", std::process::id());
    let err = run_parse(
        &setup(),
        clock(),
        &cfg,
        Some(Duration::from_secs(1)),
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains(&cfg.lines_topic), "{err}");
}

#[test]
fn operator_options_apply_last_and_guarantees_stay() {
    let mut cfg = BusConfig::new("127.0.0.1:9", "/nonexistent");
    cfg.extra = vec![
        ("linger.ms".into(), "7".into()),
        ("security.protocol".into(), "ssl".into()),
    ];
    assert!(cfg.validate().is_ok());
    let p = cfg.producer();
    assert_eq!(p.get("linger.ms"), Some("7"));
    assert_eq!(p.get("security.protocol"), Some("ssl"));
    let c = cfg.consumer("g");
    assert_eq!(c.get("security.protocol"), Some("ssl"));
    // A stage's tuning gives way to the operator's, and applies otherwise.
    let mut p = cfg.producer();
    cfg.tune(&mut p, "linger.ms", "50");
    cfg.tune(&mut p, "compression.type", "lz4");
    assert_eq!(p.get("linger.ms"), Some("7"));
    assert_eq!(p.get("compression.type"), Some("lz4"));
    for key in [
        "transaction.timeout.ms",
        "enable.partition.eof",
        "enable.auto.commit",
    ] {
        cfg.extra = vec![(key.into(), "1".into())];
        let e = cfg.validate().unwrap_err().to_string();
        assert!(e.contains(key), "{e}");
    }
}
