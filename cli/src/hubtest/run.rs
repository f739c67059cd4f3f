//! Running one hub test: load its items, replay its log, dump, evaluate the asserts.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use engine::event::{Acquisition, Event, ExpectMode, event_to_json};
use engine::expr::functions::{Functions, HelperContext};
use engine::expr::{Compiler, Object, Value};
use engine::parser::ParserFile;
use engine::pipeline::{Pipeline, Setup};

use super::assert::{AssertOutcome, assert_functions, run_assert_file};
use super::config::HubTest;
use super::results::ParserResults;
use crate::input::read_lines;

/// Where the hub and what it refers to live.
#[derive(Debug, Clone)]
pub struct HubPaths {
    /// The hub checkout (parsers/, scenarios/, .tests/).
    pub hub: PathBuf,
    /// The grok pattern library.
    pub patterns: PathBuf,
    /// The data files.
    pub data: PathBuf,
}

impl HubPaths {
    /// Defaults: `patterns/` and `data/` beside the hub directory.
    pub fn beside(hub: &Path, patterns: Option<PathBuf>, data: Option<PathBuf>) -> Self {
        let parent = hub.parent().unwrap_or(Path::new("."));
        HubPaths {
            hub: hub.to_path_buf(),
            patterns: patterns.unwrap_or_else(|| parent.join("patterns")),
            data: data.unwrap_or_else(|| parent.join("data")),
        }
    }
}

/// Everything a test run produced.
#[derive(Debug)]
pub struct TestRun {
    /// `parser.assert` outcome, when evaluated.
    pub parser_assert: Option<AssertOutcome>,
    /// `scenario.assert` outcome, when evaluated.
    pub scenario_assert: Option<AssertOutcome>,
    /// Load warnings (unsupported enrichers...).
    pub warnings: Vec<String>,
}

/// What replaying a test's log produced.
#[derive(Debug, Default)]
pub struct Replayed {
    /// Per-node results of every line (postoverflow nodes included, as in CrowdSec's dump).
    pub parser_results: ParserResults,
    /// Overflow events after postoverflows, in CrowdSec hubtest's order.
    pub overflows: Vec<Event>,
    /// Load warnings.
    pub warnings: Vec<String>,
}

/// The parsers, scenarios and postoverflows a test names, from the hub or its own directory.
pub fn test_setup(paths: &HubPaths, test: &HubTest) -> Result<Setup, engine::pipeline::SetupError> {
    Setup::hub(
        &paths.hub,
        paths.patterns.clone(),
        paths.data.clone(),
        Some(&test.config.parsers),
        Some(&test.config.scenario_names()),
        Some(&test.config.postoverflows),
        &[paths.hub.clone(), test.dir.clone()],
    )
}

/// Loads the test's parsers, scenarios and postoverflows, and replays its log.
pub fn replay_test(paths: &HubPaths, test: &HubTest) -> anyhow::Result<Replayed> {
    let mut setup = test_setup(paths, test)?;
    let _overrides = match overrides_file(test)? {
        Some(f) => {
            setup.parsers.insert(
                0,
                ParserFile {
                    stage: "s00-raw".into(),
                    path: f.path().to_path_buf(),
                },
            );
            Some(f)
        }
        None => None,
    };
    let mut pipeline = Pipeline::load(&setup, Arc::new(crate::clock::SystemClock))?;
    let log = test.log_path();
    let labels = test
        .config
        .labels
        .iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v.as_str()));
    let source = Acquisition::new(
        &log.to_string_lossy(),
        "file",
        &test.config.log_type,
        labels,
    );
    let mut out = Replayed {
        warnings: pipeline.warnings.clone(),
        ..Replayed::default()
    };
    for raw in read_lines(&log)?.lines {
        let evt = source.event(raw, ExpectMode::TimeMachine);
        for a in pipeline.process(evt, Some(&mut out.parser_results)) {
            out.overflows.push(a.into_dump_event());
        }
    }
    sort_like_hubtest(&mut out.overflows);
    Ok(out)
}

/// CrowdSec's hubtest sorts overflows by scenario name and sources, descending.
fn sort_like_hubtest(events: &mut [Event]) {
    let key = |e: &Event| -> String {
        let Some(o) = &e.overflow else {
            return String::new();
        };
        let scenario = o.alert().map_or("", |a| a.scenario.as_str());
        let sources: Vec<&str> = o.sources.keys().map(String::as_str).collect();
        format!("{scenario}{}", sources.join("@"))
    };
    events.sort_by_key(|e| std::cmp::Reverse(key(e)));
}

/// The bucket dump (`bucket-dump.json`): overflow events with their `Overflow`.
pub fn bucket_dump(events: &[Event]) -> serde_json::Value {
    events
        .iter()
        .map(|e| {
            let mut j = event_to_json(e);
            if let (Some(o), serde_json::Value::Object(m)) = (&e.overflow, &mut j) {
                m.insert(
                    "Overflow".into(),
                    serde_json::to_value(o).unwrap_or_default(),
                );
            }
            j
        })
        .collect()
}

fn non_empty(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| !t.trim().is_empty())
}

/// Runs one test end to end.
pub fn run_test(paths: &HubPaths, test: &HubTest) -> anyhow::Result<TestRun> {
    let replayed = replay_test(paths, test)?;
    let compiler = Compiler::new(
        assert_functions(Functions::crowdsec(HelperContext::default())),
        &["results"],
    );
    let mut parser_assert = None;
    let assert_path = test.dir.join("parser.assert");
    if !test.config.ignore_parsers && non_empty(&assert_path) {
        let value = replayed.parser_results.as_value();
        parser_assert = Some(
            run_assert_file(&assert_path, &compiler, &value)
                .with_context(|| format!("test {}", test.name))?,
        );
    }
    let mut scenario_assert = None;
    let assert_path = test.dir.join("scenario.assert");
    if test.has_scenarios() && non_empty(&assert_path) {
        let value = Value::List(
            replayed
                .overflows
                .iter()
                .map(|e| Value::Obj(e as &dyn Object))
                .collect(),
        );
        scenario_assert = Some(
            run_assert_file(&assert_path, &compiler, &value)
                .with_context(|| format!("test {}", test.name))?,
        );
    }
    Ok(TestRun {
        parser_assert,
        scenario_assert,
        warnings: replayed.warnings,
    })
}

/// A temporary file removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `override_statics` become a node named `overrides` with the filter `1==1` that runs first in
/// `s00-raw` (CrowdSec's hubtest writes it as `parsers/s00-raw/00_overrides.yaml`); JSON is
/// YAML, so the statics are written as they were read.
fn overrides_file(test: &HubTest) -> anyhow::Result<Option<TempFile>> {
    if test.config.override_statics.is_empty() {
        return Ok(None);
    }
    let doc = serde_json::json!({
        "name": "overrides",
        "filter": "1==1",
        "statics": test.config.override_statics,
    });
    let path = std::env::temp_dir().join(format!(
        "hivewall-{}-{}-00_overrides.yaml",
        std::process::id(),
        test.name
    ));
    std::fs::write(&path, serde_json::to_vec(&doc)?)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(Some(TempFile(path)))
}
