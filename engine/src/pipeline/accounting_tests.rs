//! Every line given to the pipeline is counted with exactly one outcome.

use std::path::Path;
use std::sync::Arc;

use chrono::{TimeZone, Utc};

use super::{LineOutcome, Pipeline, Repair, Setup};
use crate::clock::FixedClock;
use crate::event::{Event, ExpectMode, Line, StrMap};

const RAW: &str = r#"name: t/raw
pattern_syntax:
  T_IP: '[0-9.]+'
  T_WORD: '[A-Za-z]+'
onsuccess: next_stage
grok:
  pattern: '^%{T_IP:ip} %{T_WORD:verb}$'
  apply_on: Line.Raw
statics:
  - meta: source_ip
    expression: evt.Parsed.ip
  - meta: verb
    expression: evt.Parsed.verb
"#;

const PARSE: &str = r#"name: t/parse
nodes:
  # A static whose value cannot be stored aborts the line (CrowdSec's parser error).
  - filter: "evt.Meta.verb == 'boom'"
    statics:
      - meta: broken
        expression: "evt.Meta.verb == 'boom'"
  - filter: "evt.Meta.verb in ['GET', 'evil', 'calm']"
    whitelist:
      reason: trusted
      ip:
        - 10.0.0.1
"#;

// A groupby that is not a string fails the pour.
const ERR: &str = r#"type: trigger
name: t/err
description: fails to pour
filter: "evt.Meta.verb == 'evil'"
groupby: "1"
"#;

const GET: &str = r#"type: trigger
name: t/get
description: pours GETs
filter: "evt.Meta.verb == 'GET'"
groupby: evt.Meta.source_ip
"#;

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

#[test]
fn every_line_has_exactly_one_outcome() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "parsers/s00-raw/raw.yaml", RAW);
    write(dir.path(), "parsers/s01-parse/parse.yaml", PARSE);
    write(dir.path(), "scenarios/a-err.yaml", ERR);
    write(dir.path(), "scenarios/b-get.yaml", GET);
    std::fs::create_dir_all(dir.path().join("patterns")).unwrap();
    let setup = Setup::installed(dir.path(), dir.path().join("data")).unwrap();
    let clock = Arc::new(FixedClock(
        Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap(),
    ));
    let mut p = Pipeline::load(&setup, clock).unwrap();
    let labels = Arc::new(StrMap::default());
    let cases = [
        ("192.0.2.1 GET", LineOutcome::Poured),
        ("192.0.2.2 GET", LineOutcome::Poured),
        ("not a log line at all", LineOutcome::Unparsed),
        ("192.0.2.3 PUT", LineOutcome::Unparsed),
        ("192.0.2.4 boom", LineOutcome::ParseError),
        ("10.0.0.1 GET", LineOutcome::Whitelisted),
        ("192.0.2.5 calm", LineOutcome::Unpoured),
        ("192.0.2.6 evil", LineOutcome::PourError),
        // A line repaired where it was read (invalid UTF-8 made U+FFFD) still goes through.
        ("192.0.2.7 \u{fffd}GET", LineOutcome::Unparsed),
    ];
    let mut alerts = 0;
    for (raw, want) in cases {
        let line = Line {
            raw: raw.to_string(),
            labels: labels.clone(),
            ..Line::default()
        };
        let (got, a) = p.process_line(Event::from_line(line, ExpectMode::Live), None);
        assert_eq!(got, want, "{raw}");
        alerts += a.len();
    }
    p.count_repaired(Repair::InvalidUtf8, 1);
    let s = p.stats;
    assert_eq!(alerts, 2);
    assert_eq!(s.lines, cases.len() as u64);
    assert_eq!(s.accounted(), s.lines);
    assert_eq!(s.dropped(), s.lines - 2);
    for o in LineOutcome::ALL {
        let want = cases.iter().filter(|(_, w)| *w == o).count() as u64;
        assert_eq!(s.count(o), want, "{}", o.as_str());
    }
    assert_eq!(
        (s.parsed, s.pour_errors, s.invalid_utf8, s.too_large),
        (5, 1, 1, 0)
    );
    let stages: Vec<(&str, u64)> = p.unparsed_by_stage().collect();
    assert_eq!(stages, [("s00-raw", 2), ("s01-parse", 1)]);
}
