//! The live loop on hivewall's own content, with a real RocksDB in a temporary directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{TimeZone, Utc};
use engine::bucket::BucketStore;
use engine::clock::FixedClock;
use engine::pipeline::Setup;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use wire::{Checkpoint, RawLine, SourcedLine};

use crate::{AlertSink, Processor, ProcessorConfig, SinkError, StateDb};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn setup() -> Setup {
    Setup::installed(&repo().join("scenarios"), repo().join("scenarios/data")).unwrap()
}

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock(
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap(),
    ))
}

/// Failed password lines from `ip`, one a second from `from` (seconds past 10:00:00).
fn attack(ip: &str, from: u32, n: u32) -> Vec<SourcedLine> {
    (from..from + n)
        .map(|i| SourcedLine {
            line: RawLine {
                raw: format!(
                    "Jun  1 10:{:02}:{:02} web1 sshd[{}]: Failed password for invalid user admin from {ip} port {} ssh2",
                    i / 60,
                    i % 60,
                    4000 + i,
                    50000 + i
                ),
                src: "/var/log/auth.log".into(),
                module: "file".into(),
                labels: [("type".to_string(), "syslog".to_string())].into(),
                time: None,
            },
            checkpoint: Some(Checkpoint {
                key: "file:/var/log/auth.log".into(),
                position: format!("1:2:{}", (i + 1) * 100),
            }),
        })
        .collect()
}

type Alerts = mpsc::Receiver<Vec<wire::Alert>>;

fn processor(dir: &Path) -> (Processor<mpsc::Sender<Vec<wire::Alert>>>, Alerts) {
    let (tx, rx) = mpsc::channel(16);
    let db = StateDb::open(dir).unwrap();
    let (p, _) = Processor::new(&setup(), clock(), db, tx, ProcessorConfig::default()).unwrap();
    (p, rx)
}

/// The committed position of `/var/log/auth.log` (the one `attack` lines carry).
fn auth_log_checkpoint<K: AlertSink>(p: &Processor<K>) -> Option<String> {
    p.checkpoints()
        .unwrap()
        .get("file:/var/log/auth.log")
        .cloned()
}

async fn feed<K: AlertSink>(p: &mut Processor<K>, lines: Vec<SourcedLine>) {
    let mut alerts = Vec::new();
    for l in lines {
        alerts.extend(p.handle_line(l));
    }
    p.commit(alerts, &CancellationToken::new()).await.unwrap();
}

#[tokio::test]
async fn a_brute_force_becomes_an_alert_with_a_ban() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, mut rx) = processor(dir.path());
    feed(&mut p, attack("192.0.2.10", 0, 8)).await;
    let alerts = rx.try_recv().expect("one batch of alerts");
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!(a.scenario, "hivewall/ssh-bf");
    assert_eq!(a.source.value, "192.0.2.10");
    assert_eq!(a.decisions.len(), 1);
    assert_eq!(a.decisions[0].kind, "ban");
    assert_eq!(a.decisions[0].value, "192.0.2.10");
    assert!(rx.try_recv().is_err(), "nothing else");
}

#[tokio::test]
async fn an_attack_split_across_a_restart_still_fires_and_checkpoints_survive() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut p, mut rx) = processor(dir.path());
        feed(&mut p, attack("192.0.2.20", 0, 4)).await;
        assert!(rx.try_recv().is_err(), "4 failures are not an attack");
        assert!(p.pipeline().detector().store().len() > 0);
    }
    let (mut p, mut rx) = processor(dir.path());
    assert_eq!(auth_log_checkpoint(&p).as_deref(), Some("1:2:400"));
    feed(&mut p, attack("192.0.2.20", 4, 4)).await;
    let alerts = rx.try_recv().expect("the second half completes the attack");
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].source.value, "192.0.2.20");
    assert_eq!(alerts[0].events_count, 7);
}

/// ssh-bf has a one-minute blackhole: an attacker that goes on right after its alert is not
/// alerted on again within that minute, across a restart too (blackholes are stored with the
/// buckets).
#[tokio::test]
async fn a_blackhole_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut p, mut rx) = processor(dir.path());
        feed(&mut p, attack("192.0.2.22", 0, 8)).await;
        assert_eq!(rx.try_recv().expect("the first alert").len(), 1);
        assert_eq!(p.pipeline().detector().blackholed(), 1);
    }
    let (mut p, mut rx) = processor(dir.path());
    assert_eq!(p.pipeline().detector().blackholed(), 1);
    // Eight more failures within the minute would overflow a fresh bucket.
    feed(&mut p, attack("192.0.2.22", 8, 8)).await;
    let again: Vec<_> = std::iter::from_fn(|| rx.try_recv().ok())
        .flatten()
        .filter(|a| a.scenario == "hivewall/ssh-bf")
        .collect();
    assert!(again.is_empty(), "blackholed after the restart: {again:?}");
}

#[tokio::test]
async fn without_persisted_state_the_second_half_alone_does_not_fire() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, mut rx) = processor(dir.path());
    feed(&mut p, attack("192.0.2.21", 4, 4)).await;
    assert!(rx.try_recv().is_err());
}

#[tokio::test]
async fn clock_ticks_leak_idle_buckets_and_the_deletion_is_committed() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut p, _rx) = processor(dir.path());
        feed(&mut p, attack("192.0.2.30", 0, 3)).await;
        assert!(p.pipeline().detector().store().len() > 0);
        // An hour of wall time later, every bucket of this content has leaked out.
        let alerts = p.tick(SystemTime::now() + Duration::from_secs(3600));
        assert!(alerts.iter().all(|a| a.decisions.is_empty()));
        p.commit(alerts, &CancellationToken::new()).await.unwrap();
        assert_eq!(p.pipeline().detector().store().len(), 0);
    }
    let (p, _rx) = processor(dir.path());
    assert_eq!(p.pipeline().detector().store().len(), 0);
}

/// Refuses the first `fail` deliveries, then takes everything.
struct Flaky {
    fail: usize,
    got: Vec<wire::Alert>,
}

impl AlertSink for Flaky {
    async fn deliver(&mut self, alerts: Vec<wire::Alert>) -> Result<(), SinkError> {
        if self.fail > 0 {
            self.fail -= 1;
            return Err(SinkError::new("store unavailable"));
        }
        self.got.extend(alerts);
        Ok(())
    }
}

#[tokio::test]
async fn a_refusing_sink_is_retried_and_nothing_is_committed_before_it_takes_the_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let db = StateDb::open(dir.path()).unwrap();
    let cfg = ProcessorConfig {
        retry: Duration::from_millis(5),
        ..ProcessorConfig::default()
    };
    let sink = Flaky {
        fail: 2,
        got: Vec::new(),
    };
    let (mut p, _) = Processor::new(&setup(), clock(), db, sink, cfg).unwrap();
    let mut alerts = Vec::new();
    for l in attack("192.0.2.40", 0, 8) {
        alerts.extend(p.handle_line(l));
    }
    let stop = CancellationToken::new();
    stop.cancel();
    // Shut down while the sink refuses: the batch is not committed.
    assert!(p.commit(alerts.clone(), &stop).await.is_err());
    assert!(p.checkpoints().unwrap().is_empty());
    p.commit(alerts, &CancellationToken::new()).await.unwrap();
    assert_eq!(p.stats().delivered, 1);
    assert_eq!(p.checkpoints().unwrap().len(), 1);
}

#[tokio::test]
async fn run_drains_the_channel_and_stops_when_it_closes() {
    let dir = tempfile::tempdir().unwrap();
    let (p, mut alerts) = processor(dir.path());
    let (tx, rx) = mpsc::channel(4);
    let task = tokio::spawn(p.run(rx, CancellationToken::new()));
    for l in attack("192.0.2.50", 0, 8) {
        tx.send(l).await.unwrap();
    }
    drop(tx);
    let stats = task.await.unwrap().unwrap();
    assert_eq!(stats.pipeline.lines, 8);
    assert_eq!(stats.delivered, 1);
    assert_eq!(alerts.recv().await.unwrap()[0].source.value, "192.0.2.50");
}

/// A clean stop (shutdown) handles every line the sources already handed over before it
/// stops: their offsets are committed, so a restart neither re-reads nor loses them.
#[tokio::test]
async fn a_stop_handles_and_commits_every_line_already_sent() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (p, _alerts) = processor(dir.path());
        let (tx, rx) = mpsc::channel(8);
        for l in attack("192.0.2.55", 0, 4) {
            tx.send(l).await.unwrap();
        }
        let stop = CancellationToken::new();
        stop.cancel();
        // The sender is still alive (a source mid-stop): the processor must not wait for it.
        let stats = tokio::time::timeout(Duration::from_secs(10), p.run(rx, stop))
            .await
            .expect("the stop does not wait for the sources")
            .unwrap();
        assert_eq!(stats.pipeline.lines, 4);
        assert!(tx.is_closed(), "no line is accepted after the stop");
        assert!(tx.send(attack("192.0.2.55", 4, 1).remove(0)).await.is_err());
    }
    let (p, _alerts) = processor(dir.path());
    assert_eq!(auth_log_checkpoint(&p).as_deref(), Some("1:2:400"));
}

#[test]
fn lines_parsed_metric_is_labelled_with_where_each_line_ended() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, _alerts) = processor(dir.path());
    let mut lines = attack("192.0.2.60", 0, 3);
    // From 10.0.4.12, which hivewall/private-ranges whitelists.
    lines.extend(attack("10.0.4.12", 3, 1));
    let mut garbage = attack("192.0.2.61", 4, 1);
    garbage[0].line.raw = "not a syslog line".into();
    lines.extend(garbage);
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        for l in lines {
            p.handle_line(l);
        }
        p.flush_metrics();
    });
    let text = handle.render();
    let value = |result: &str| -> u64 {
        text.lines()
            .find(|l| {
                l.starts_with("hivewall_lines_parsed_total")
                    && l.contains(&format!("result=\"{result}\""))
            })
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    assert_eq!(
        (value("poured"), value("whitelisted"), value("unparsed")),
        (3, 1, 1),
        "{text}"
    );
    let s = p.stats().pipeline;
    assert_eq!((s.lines, s.accounted()), (5, 5));
}

/// On its own thread, the processor takes lines from the channel, delivers the alert, and on
/// the channel's close writes its state and returns its counts.
#[tokio::test]
async fn a_processor_thread_runs_until_its_input_closes() {
    let dir = tempfile::tempdir().unwrap();
    let (p, mut alerts) = processor(dir.path());
    let (tx, rx) = mpsc::channel(4);
    let thread = p
        .spawn_thread("processor-test", rx, CancellationToken::new())
        .unwrap();
    let lines = attack("198.51.100.7", 0, 12);
    let n = lines.len() as u64;
    for l in lines {
        tx.send(l).await.unwrap();
    }
    drop(tx);
    let got = tokio::time::timeout(Duration::from_secs(10), alerts.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got[0].source.ip, "198.51.100.7");
    let stats = thread.join().await.unwrap();
    assert_eq!(stats.pipeline.lines, n);
    assert!(stats.delivered >= 1);
    assert!(stats.commits >= 1);
    // What it wrote is there for the next start.
    let db = StateDb::open(dir.path()).unwrap();
    assert_eq!(
        db.checkpoints()
            .unwrap()
            .get("file:/var/log/auth.log")
            .map(String::as_str),
        Some("1:2:1200")
    );
}
