//! CrowdSec's own bucket test cases (`pkg/leakybucket/testdata`), run as its `TestBucket` does.
//!
//! Go's test pours the events in real time and then waits about three seconds of wall-clock
//! time for overflows, so CrowdSec's wall-clock timers (counter durations, underflows) of up
//! to a few seconds fire during the test. We replay in event time and emulate that wait by
//! advancing time [`GRACE`] past the last event. Results are compared like Go's
//! `matchOverflow`: scenario, events count and sources; every non-alert signal (discarded,
//! cancelled, underflow) is an "empty" result.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value as Json;

use super::*;
use crate::event::{Event, EventType, ExpectMode, Line, StrMap};

fn root() -> PathBuf {
    crate::testdata::shared("crowdsec/engine-testdata/leakybucket")
}
/// The wall-clock time Go's test waits after pouring, as event time.
const GRACE: i64 = 3_000_000_000;

type Res = Option<(String, i64, BTreeMap<String, Source>)>;

fn strmap(j: Option<&Json>) -> StrMap {
    j.and_then(Json::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn go_event(j: &Json) -> Event {
    let line = j.get("Line").cloned().unwrap_or(Json::Null);
    Event {
        kind: if j.get("Type").and_then(Json::as_i64) == Some(1) {
            EventType::Overflow
        } else {
            EventType::Log
        },
        expect_mode: ExpectMode::TimeMachine,
        line: Line {
            raw: line["Raw"].as_str().unwrap_or_default().to_string(),
            src: Arc::from(line["Src"].as_str().unwrap_or_default()),
            labels: Arc::new(strmap(line.get("Labels"))),
            module: Arc::from(line["Module"].as_str().unwrap_or_default()),
            ..Line::default()
        },
        parsed: strmap(j.get("Parsed")),
        enriched: strmap(j.get("Enriched")),
        meta: strmap(j.get("Meta")),
        marshaled_time: j["MarshaledTime"].as_str().unwrap_or_default().to_string(),
        str_time: j["StrTime"].as_str().unwrap_or_default().to_string(),
        process: true,
        ..Event::default()
    }
}

/// Go decodes JSON keys case-insensitively.
fn get_ci<'a>(j: &'a Json, key: &str) -> Option<&'a Json> {
    j.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

fn expected(j: &Json) -> Res {
    let ra = get_ci(j, "Alert")?;
    let alert = get_ci(ra, "Alert")?;
    let sources = get_ci(ra, "Sources")
        .map(|s| serde_json::from_value(s.clone()).unwrap())
        .unwrap_or_default();
    Some((
        alert["scenario"].as_str().unwrap_or_default().to_string(),
        alert["events_count"].as_i64().unwrap_or_default(),
        sources,
    ))
}

fn got(s: &Signal) -> Res {
    let a = s.alert()?;
    let alert = a.alert()?;
    Some((
        alert.scenario.clone(),
        i64::from(alert.events_count),
        a.sources.clone(),
    ))
}

fn scenario_files(dir: &Path) -> Vec<ScenarioFile> {
    let text = std::fs::read_to_string(dir.join("scenarios.yaml")).unwrap();
    let text = text.replace("{{.TestDirectory}}", dir.to_str().unwrap());
    #[derive(serde::Deserialize)]
    struct Stage {
        filename: String,
    }
    let stages: Vec<Stage> = serde_saphyr::from_str(&text).unwrap();
    stages
        .into_iter()
        .map(|s| ScenarioFile::new(s.filename))
        .collect()
}

/// Runs one case; returns an error describing the mismatch.
fn run_case(dir: &Path) -> Result<(), String> {
    let opts = ScenarioLoadOptions {
        limiter: Default::default(),
        data_dir: root(),
        ..Default::default()
    };
    let set = ScenarioSet::load(&scenario_files(dir), &opts).map_err(|e| e.to_string())?;
    let tf: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("test.json")).unwrap()).unwrap();
    let mut det = Detector::new(Arc::new(set));
    let mut results: Vec<Res> = Vec::new();
    let mut latest: Option<Stamp> = None;
    for line in tf["lines"].as_array().cloned().unwrap_or_default() {
        let evt = go_event(&line);
        let t = Detector::<MemoryStore>::event_time(&evt).ok_or("event without time")?;
        if latest.is_none_or(|l| t.nanos > l.nanos) {
            latest = Some(t);
        }
        let out = det.process(&evt);
        results.extend(out.signals.iter().map(got));
    }
    if let Some(l) = latest {
        results.extend(det.advance(l.plus(GRACE)).iter().map(got));
    }
    let mut want: Vec<Res> = tf["results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(expected)
        .collect();
    if results.len() != want.len() {
        return Err(format!(
            "got {} results, want {}:\ngot {results:#?}\nwant {want:#?}",
            results.len(),
            want.len()
        ));
    }
    for r in &results {
        let Some(i) = want.iter().position(|w| w == r) else {
            return Err(format!("unmatched result {r:#?}\nleft {want:#?}"));
        };
        want.remove(i);
    }
    Ok(())
}

/// Cases we cannot run, and why.
const SKIPPED: &[(&str, &str)] = &[];

#[test]
fn crowdsec_bucket_testdata() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && p.file_name().unwrap() != "hub")
        .collect();
    dirs.sort();
    let mut failures = Vec::new();
    let mut ran = 0;
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_str().unwrap();
        if SKIPPED.iter().any(|(n, _)| *n == name) {
            continue;
        }
        ran += 1;
        if let Err(e) = run_case(dir) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert_eq!(ran, 21, "every case runs");
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
