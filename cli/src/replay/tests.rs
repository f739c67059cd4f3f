//! `replay --threads N` gives the alerts of one thread: generated logs through our
//! `scenarios/`, and hub scenario tests, with 1, 2 and 3 threads; and a broken shard time is
//! caught.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Parser;
use engine::bucket::Stamp;
use engine::bucket::shard::shard_of;
use engine::event::{Acquisition, ExpectMode};
use engine::pipeline::{Pipeline, Setup};

use super::parallel::{self, Options};
use crate::hubtest::{HubPaths, HubTest};
use crate::input::for_each_line;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    replay: super::ReplayArgs,
}

fn ours() -> Setup {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let cli = Cli::parse_from([
        "t",
        "--type",
        "x",
        "--config-dir",
        dir.to_str().unwrap(),
        "f",
    ]);
    cli.replay.config.setup().unwrap()
}

fn source(path: &Path, log_type: &str) -> Vec<(PathBuf, Acquisition)> {
    let acq = Acquisition::new(&path.display().to_string(), "file", log_type, []);
    vec![(path.to_path_buf(), acq)]
}

/// Today's `--threads 1` loop: alerts as JSON lines, in emission order.
fn one_thread(setup: &Setup, sources: &[(PathBuf, Acquisition)]) -> Vec<String> {
    let mut p = Pipeline::load(setup, Arc::new(crate::clock::SystemClock)).unwrap();
    let mut out = Vec::new();
    for (path, acq) in sources {
        for_each_line(
            path,
            |_| {},
            |raw| {
                for a in p.process(acq.event(raw.to_string(), ExpectMode::TimeMachine), None) {
                    out.push(serde_json::to_string(&a).unwrap());
                }
            },
        )
        .unwrap();
    }
    out
}

fn threads(
    setup: &Setup,
    sources: &[(PathBuf, Acquisition)],
    threads: usize,
    chunk: usize,
    skip_ticks: bool,
) -> Vec<String> {
    let mut out = Vec::new();
    let opts = Options {
        threads,
        chunk,
        skip_ticks,
    };
    // As `replay` runs: the overflows finished by a pipeline sharing the first lane's parts.
    let lanes = parallel::load(setup, threads).unwrap();
    let mut p = lanes[0]
        .finisher(setup, Arc::new(crate::clock::SystemClock))
        .unwrap();
    let report = parallel::replay(&mut p, lanes, sources, &opts, &|_| {}, &mut |a| {
        out.push(serde_json::to_string(&a).unwrap());
        Ok(())
    })
    .unwrap();
    assert_eq!(report.foreign, 0);
    out
}

/// Sorted by stop time, then by the whole alert.
fn by_time(mut alerts: Vec<String>) -> Vec<String> {
    let key = |a: &String| {
        let v: serde_json::Value = serde_json::from_str(a).unwrap();
        let stop = v["stop_at"]
            .as_str()
            .and_then(Stamp::parse)
            .map(|s| s.nanos);
        (stop, a.clone())
    };
    alerts.sort_by_cached_key(key);
    alerts
}

/// Where two alert lists first differ (not the whole lists: alerts are long).
fn diff(a: &[String], b: &[String]) -> Option<String> {
    let i = a.iter().zip(b).position(|(x, y)| x != y);
    if i.is_none() && a.len() == b.len() {
        return None;
    }
    let at = |v: &[String], i: usize| {
        v.get(i)
            .map_or("-".into(), |s| s.chars().take(300).collect::<String>())
    };
    let i = i.unwrap_or(a.len().min(b.len()));
    Some(format!(
        "{} vs {} alerts; #{i}: {} | {}",
        a.len(),
        b.len(),
        at(a, i),
        at(b, i)
    ))
}

/// 1, 2 and 3 threads agree (in order, and after sorting by time), with chunks of a few lines
/// (many hand-overs) and of the default size; returns the alerts.
fn check(setup: &Setup, sources: &[(PathBuf, Acquisition)]) -> Vec<String> {
    let one = one_thread(setup, sources);
    for (n, chunk) in [(2, 7), (3, 64), (2, parallel::CHUNK)] {
        let many = threads(setup, sources, n, chunk, false);
        if let Some(d) = diff(&by_time(many.clone()), &by_time(one.clone())) {
            panic!("{n} threads, {chunk}-line chunks, sorted by time: {d}");
        }
        if let Some(d) = diff(&many, &one) {
            panic!("{n} threads, {chunk}-line chunks, in order: {d}");
        }
    }
    one
}

fn generated(
    name: &str,
    text: &str,
    log_type: &str,
) -> (tempfile::TempDir, Vec<(PathBuf, Acquisition)>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let sources = source(&path, log_type);
    (dir, sources)
}

/// A postoverflow that whitelists the alerts of some of the generated attackers (about half of
/// them in both logs).
const WHITELIST: &str = "name: test/whitelist-some
description: alerts from some of the generated attackers' ranges are whitelisted
whitelist:
  reason: test
  cidr:
    - 188.0.0.0/6
    - 45.132.0.0/14
";

#[test]
fn generated_logs_give_the_alerts_of_one_thread() {
    let mut setup = ours();
    // Postoverflows run where the overflows are finished: some alerts come out whitelisted.
    let (_d0, whitelist) = generated("whitelist.yaml", WHITELIST, "none");
    setup.postoverflows.push(engine::parser::ParserFile {
        stage: "s01-whitelist".into(),
        path: whitelist[0].0.clone(),
    });
    let (_d1, auth) = generated("auth.log", &benches::auth_bf_log(6_000, 7), "syslog");
    let (_d2, nginx) = generated("access.log", &benches::nginx_log(6_000, 7), "nginx");
    for (what, sources) in [("auth-bf", auth), ("nginx", nginx)] {
        let alerts = check(&setup, &sources);
        assert!(alerts.len() > 5, "{what}: only {} alerts", alerts.len());
        let whitelisted = alerts
            .iter()
            .filter(|a| a.contains("\"whitelisted\":true"))
            .count();
        assert!(
            whitelisted > 0 && whitelisted < alerts.len(),
            "{what}: {whitelisted} of {} alerts whitelisted",
            alerts.len()
        );
    }
}

/// A counter (overflows when its duration ends: only time moving says so), blackholed.
const COUNTER: &str = "type: counter
name: test/ssh-counter
description: failures per IP and 20s
filter: \"evt.Meta.log_type == 'ssh_failed-auth'\"
groupby: evt.Meta.source_ip
duration: 20s
capacity: -1
blackhole: 1m
labels:
  remediation: true
";

/// Without `groupby`: all its events in one bucket, on the shard its name hashes to.
const STORM: &str = "type: leaky
name: test/ssh-storm
description: many failures from anywhere
filter: \"evt.Meta.log_type == 'ssh_failed-auth'\"
capacity: 40
leakspeed: 1s
labels:
  remediation: false
";

#[test]
fn time_driven_scenarios_give_the_alerts_of_one_thread_and_a_broken_time_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let mut setup = ours();
    for (name, yaml) in [("counter.yaml", COUNTER), ("storm.yaml", STORM)] {
        let path = dir.path().join(name);
        std::fs::write(&path, yaml).unwrap();
        setup
            .scenarios
            .push(engine::bucket::ScenarioFile::new(path));
    }
    // The last 40% of the log only from addresses of the shard (of 2) that holds the storm
    // bucket: the other then sees no more events of its own, and only the time it is told
    // ends its counters.
    let busy = shard_of("test/ssh-storm", 2);
    let text = benches::auth_bf_log(4_000, 11);
    let lines: Vec<&str> = text.lines().collect();
    let cut = lines.len() * 6 / 10;
    fn ip(l: &str) -> Option<&str> {
        l.split(" from ").nth(1)?.split(' ').next()
    }
    let log: String = lines
        .iter()
        .enumerate()
        .filter(|(i, l)| *i < cut || ip(l).is_none_or(|ip| shard_of(ip, 2) == busy))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let (_d, auth) = generated("auth.log", &log, "syslog");
    let alerts = check(&setup, &auth);
    let counted = alerts
        .iter()
        .filter(|a| a.contains("test/ssh-counter"))
        .count();
    let storms = alerts
        .iter()
        .filter(|a| a.contains("test/ssh-storm"))
        .count();
    assert!(
        counted > 5 && storms > 0,
        "{counted} counter, {storms} storm alerts"
    );
    // Shards told only their own events' time: counters of addresses that do not come back
    // never overflow. The comparison above must be able to see that.
    let broken = threads(&setup, &auth, 2, 64, true);
    assert!(
        diff(&by_time(broken), &by_time(alerts)).is_some(),
        "a broken shard time went unnoticed"
    );
}

#[test]
fn hub_tests_give_the_alerts_of_one_thread() {
    let Ok(shared) = std::env::var("HIVEWALL_SHARED") else {
        eprintln!("HIVEWALL_SHARED not set: skipped");
        return;
    };
    let hub = Path::new(&shared).join("crowdsec/hub");
    let paths = HubPaths::beside(&hub, None, None);
    for name in [
        "ssh-slow-bf",
        "sshd-bad-keyexchange-bf",
        "dovecot-slow-bf-user-enum",
        "http-admin-interface-probing",
        // Conditional scenarios: their pours read the whole event.
        "dovecot-time-based-bf-user-enum",
        "auditd-suid-crash",
    ] {
        let test = HubTest::load(&hub.join(".tests").join(name)).unwrap();
        let setup = crate::hubtest::run::test_setup(&paths, &test).unwrap();
        let log = test.log_path();
        let alerts = check(&setup, &source(&log, &test.config.log_type));
        assert!(!alerts.is_empty(), "{name}: no alert");
    }
}
