//! An installed layout with alert context (`contexts/`, `console/context.yaml`) and profiles
//! that read the clock and the decisions already taken.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};

use super::{AlertRecord, Pipeline, Setup};
use crate::clock::FixedClock;
use crate::event::{Event, ExpectMode, Line, StrMap};

const RAW: &str = r#"name: t/raw
pattern_syntax:
  T_IP: '[0-9.]+'
  T_WORD: '[A-Za-z]+'
  T_PATH: '/[^ ]*'
  T_TS: '[0-9T:+Z-]+'
onsuccess: next_stage
grok:
  pattern: '^%{T_TS:ts} %{T_IP:ip} %{T_WORD:verb} %{T_PATH:path} %{T_WORD:user}$'
  apply_on: Line.Raw
statics:
  - target: evt.StrTime
    expression: evt.Parsed.ts
  - meta: source_ip
    expression: evt.Parsed.ip
  - meta: http_verb
    expression: evt.Parsed.verb
  - meta: http_path
    expression: evt.Parsed.path
  - meta: target_user
    expression: evt.Parsed.user
"#;

const TRIGGER: &str = r#"type: trigger
name: t/get
description: every request
filter: "evt.Meta.http_verb == 'GET'"
groupby: evt.Meta.source_ip
labels:
  remediation: true
"#;

// The first alert of an address gets a ban; while the ban has more than 30 minutes to run,
// a new alert only gets a captcha; once it expired, a ban again. Only while the clock says
// June 2026.
const PROFILES: &str = r#"name: first
filters:
  - TimeNow() startsWith "2026-06-" && GetActiveDecisionsCount(Alert.GetValue()) == 0
decisions:
  - type: ban
    duration: 1h
on_success: break
---
name: still_banned
filters:
  - GetActiveDecisionsTimeLeft(Alert.GetValue()) > duration("30m")
decisions:
  - type: captcha
    duration: 5m
on_success: break
"#;

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn load(dir: &Path) -> Pipeline {
    std::fs::create_dir_all(dir.join("patterns")).unwrap();
    let dateparse = crate::testdata::shared(
        "crowdsec/hub/parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml",
    );
    write(
        dir,
        "parsers/s02-enrich/dateparse-enrich.yaml",
        &std::fs::read_to_string(dateparse).unwrap(),
    );
    let setup = Setup::installed(dir, dir.join("data")).unwrap();
    let clock = Arc::new(FixedClock(
        Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap(),
    ));
    Pipeline::load(&setup, clock).unwrap()
}

/// A log line at `at` (event time, from the line's own timestamp).
fn line(raw: &str, at: DateTime<FixedOffset>) -> Event {
    let l = Line {
        raw: format!("{} {raw}", at.to_rfc3339()),
        labels: Arc::new(StrMap::default()),
        ..Line::default()
    };
    Event::from_line(l, ExpectMode::TimeMachine)
}

#[test]
fn installed_contexts_fill_alert_meta() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "parsers/s00-raw/raw.yaml", RAW);
    write(d, "scenarios/get.yaml", TRIGGER);
    let hub = crate::testdata::shared("crowdsec/hub/contexts/crowdsecurity");
    for item in ["http_base.yaml", "bf_base.yaml"] {
        write(
            d,
            &format!("contexts/{item}"),
            &std::fs::read_to_string(hub.join(item)).unwrap(),
        );
    }
    write(
        d,
        "console/context.yaml",
        "target_uri:\n  - evt.Meta.http_path\n  - Upper(evt.Meta.http_path)\n",
    );
    let mut p = load(d);
    let setup = Setup::installed(d, d.join("data")).unwrap();
    assert_eq!(setup.contexts.len(), 2);
    assert!(setup.console_context.is_some());
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    let at = Utc
        .with_ymd_and_hms(2026, 6, 1, 0, 0, 0)
        .unwrap()
        .fixed_offset();
    let alerts = p.process(line("192.0.2.1 GET /login alice", at), None);
    assert_eq!(alerts.len(), 1);
    let meta: Vec<(&str, &str)> = alerts[0]
        .alert
        .meta
        .iter()
        .map(|m| (m.key.as_str(), m.value.as_str()))
        .collect();
    assert_eq!(
        meta,
        [
            ("method", r#"["GET"]"#),
            ("target_uri", r#"["/login","/LOGIN"]"#),
            ("target_user", r#"["alice"]"#),
        ]
    );
}

#[test]
fn profiles_read_the_clock_and_active_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "parsers/s00-raw/raw.yaml", RAW);
    write(d, "scenarios/get.yaml", TRIGGER);
    write(d, "profiles.yaml", PROFILES);
    let mut p = load(d);
    let t0 = Utc
        .with_ymd_and_hms(2026, 6, 1, 0, 0, 0)
        .unwrap()
        .fixed_offset();
    let decide = |p: &mut Pipeline, ip: &str, after: Duration| -> Vec<String> {
        let alerts: Vec<AlertRecord> =
            p.process(line(&format!("{ip} GET / bob"), t0 + after), None);
        alerts
            .iter()
            .flat_map(|a| {
                a.decisions
                    .iter()
                    .map(|d| format!("{} {}", d.kind, d.duration))
            })
            .collect()
    };
    assert_eq!(decide(&mut p, "192.0.2.1", Duration::zero()), ["ban 1h"]);
    // 10 minutes later the ban has 50 left.
    assert_eq!(
        decide(&mut p, "192.0.2.1", Duration::minutes(10)),
        ["captcha 5m"]
    );
    // Another address has no decision yet.
    assert_eq!(
        decide(&mut p, "192.0.2.2", Duration::minutes(11)),
        ["ban 1h"]
    );
    // 40 minutes in, the ban has 20 left: neither profile matches.
    assert_eq!(
        decide(&mut p, "192.0.2.1", Duration::minutes(40)),
        Vec::<String>::new()
    );
    // Once it expired, a ban again.
    assert_eq!(
        decide(&mut p, "192.0.2.1", Duration::minutes(61)),
        ["ban 1h"]
    );
}
