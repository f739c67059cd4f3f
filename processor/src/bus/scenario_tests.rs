//! Scenarios the distributed processor must fire beyond IP-grouped leaky buckets:
//! - one grouped by something other than the source address (here a user name tried from
//!   many addresses on many hosts): its events come from every partition of `hivewall.lines`
//!   and meet in one bucket because the parse stage keys them by the group;
//! - a counter, whose overflow comes at the end of its duration with no event to bring it:
//!   the detect stage's idle tick moves the partition's bucket time on.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use engine::event::{Acquisition, ExpectMode};
use engine::pipeline::{Pipeline, Setup};
use rdkafka::producer::FutureRecord;
use server_common::kafka::FutureProducer;
use tokio_util::sync::CancellationToken;

use super::tests::{Decisions, brokers, bus_config, bus_topics, clock, read_decisions};
use super::{run_detect, run_parse};

const SPRAY: &str = r#"
type: leaky
name: test/ssh-user-spray
description: "one user name failing from many addresses"
filter: "evt.Meta.log_type == 'ssh_failed-auth' && evt.Meta.target_user != ''"
groupby: evt.Meta.target_user
distinct: evt.Meta.source_ip
capacity: 19
leakspeed: 1h
blackhole: 1m
scope:
  type: username
  expression: evt.Meta.target_user
labels:
  remediation: true
"#;

const PROFILES: &str = r#"
name: user_spray
filters:
  - Alert.GetScope() == "username"
decisions:
  - type: ban
    duration: 1h
on_success: break
"#;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Our parsers and patterns with the spray scenario and a profile for user names only.
fn spray_setup(dir: &Path) -> Setup {
    scenario_setup(dir, SPRAY, PROFILES)
}

/// Our parsers and patterns with one scenario and one profile.
fn scenario_setup(dir: &Path, scenario: &str, profiles: &str) -> Setup {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    copy_dir(&repo.join("scenarios/parsers"), &dir.join("parsers"));
    copy_dir(&repo.join("scenarios/patterns"), &dir.join("patterns"));
    std::fs::create_dir_all(dir.join("scenarios")).unwrap();
    std::fs::write(dir.join("scenarios/one.yaml"), scenario).unwrap();
    std::fs::write(dir.join("profiles.yaml"), profiles).unwrap();
    Setup::installed(dir, repo.join("scenarios/data")).unwrap()
}

/// One failed login per address, for the user `admin`, from 30 addresses written by 16 hosts
/// (16 source files: their lines are keyed by file, so they land on every partition).
fn spray_lines() -> Vec<(String, String)> {
    let t0 = Utc.with_ymd_and_hms(2026, 6, 1, 10, 0, 0).unwrap();
    (0..30)
        .map(|i| {
            let t = t0 + chrono::Duration::seconds(20 * i);
            let host = i % 16;
            (
                format!("/var/log/host{host}/auth.log"),
                format!(
                    "{} host{host} sshd[{}]: Failed password for admin from 198.51.100.{} port {} ssh2",
                    t.format("%b %e %H:%M:%S"),
                    1000 + i,
                    i + 1,
                    40000 + i
                ),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_name_bucket_fires_on_events_from_every_partition() {
    let conf = tempfile::tempdir().unwrap();
    let setup = spray_setup(conf.path());
    let lines = spray_lines();

    // What one in-process pipeline decides: a ban of the user name.
    let mut p = Pipeline::load(&setup, clock()).unwrap();
    let mut want = Decisions::new();
    for (src, l) in &lines {
        let acq = Acquisition::new(src, "file", "syslog", std::iter::empty());
        for a in p.process(acq.event(l.clone(), ExpectMode::Live), None) {
            for d in a.decisions {
                want.insert((d.value, d.scenario, d.kind, d.duration));
            }
        }
    }
    assert_eq!(
        want.iter().map(|d| d.0.as_str()).collect::<Vec<_>>(),
        ["admin"],
        "{want:?}"
    );

    let brokers = brokers();
    let names = bus_topics(&brokers, "spray", 4).await;
    let state = tempfile::tempdir().unwrap();
    let cfg = bus_config(&brokers, &names, state.path());
    let producer: FutureProducer = cfg.producer().create().unwrap();
    let mut partitions = BTreeSet::new();
    for (src, l) in &lines {
        let raw = wire::RawLine {
            raw: l.clone(),
            src: src.clone(),
            module: "file".into(),
            labels: [("type".to_string(), "syslog".to_string())].into(),
            time: None,
        };
        let body = wire::bus::encode_line(&raw);
        let f = producer
            .send_result(FutureRecord::to(&cfg.lines_topic).key(src).payload(&body))
            .map_err(|(e, _)| e)
            .unwrap();
        partitions.insert(f.await.unwrap().unwrap().partition);
    }
    assert_eq!(
        partitions.len(),
        4,
        "the lines should be on every partition"
    );

    let idle = Some(Duration::from_secs(4));
    run_parse(&setup, clock(), &cfg, idle, CancellationToken::new())
        .await
        .unwrap();
    let detect = run_detect(&setup, clock(), &cfg, idle, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(detect.decisions, 1, "{detect:?}");
    let got = read_decisions(&brokers, &cfg.decisions_topic, 1).await;
    assert_eq!(got, want);
}

const COUNTER: &str = r#"
type: counter
name: test/ssh-failures-count
description: "count failures per address over 3 seconds"
filter: "evt.Meta.log_type == 'ssh_failed-auth'"
groupby: evt.Meta.source_ip
duration: 3s
capacity: -1
labels:
  remediation: true
"#;

const IP_PROFILE: &str = r#"
name: ip
filters:
  - Alert.GetScope() == "Ip"
decisions:
  - type: ban
    duration: 1h
on_success: break
"#;

/// Three failures from one address, then nothing: the counter's duration ends in bucket time
/// only because the idle partition's time moves on with the clock (without the tick the
/// stage would hold the bucket until the next event of that partition).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_fires_on_an_idle_partition() {
    let conf = tempfile::tempdir().unwrap();
    let setup = scenario_setup(conf.path(), COUNTER, IP_PROFILE);
    let brokers = brokers();
    let names = bus_topics(&brokers, "counter", 1).await;
    let state = tempfile::tempdir().unwrap();
    let cfg = bus_config(&brokers, &names, state.path());
    let lines: Vec<String> = (0..3)
        .map(|i| {
            format!(
                "Jun  1 10:00:0{i} web1 sshd[{i}]: Failed password for root from 192.0.2.9 port {} ssh2",
                40000 + i
            )
        })
        .collect();
    super::tests::produce_lines(&cfg, &lines).await;
    let idle = Some(Duration::from_secs(4));
    run_parse(&setup, clock(), &cfg, idle, CancellationToken::new())
        .await
        .unwrap();
    // Idle for 8 s after the last event: bucket time moves 6 s on (8 less the 2 s grace).
    let detect = run_detect(
        &setup,
        clock(),
        &cfg,
        Some(Duration::from_secs(8)),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!((detect.alerts, detect.decisions), (1, 1), "{detect:?}");
    let got = read_decisions(&brokers, &cfg.decisions_topic, 1).await;
    let got: Vec<_> = got.into_iter().map(|d| (d.0, d.1)).collect();
    assert_eq!(
        got,
        [(
            "192.0.2.9".to_string(),
            "test/ssh-failures-count".to_string()
        )]
    );
}
