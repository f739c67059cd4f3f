//! Running one hub test: load its items, replay its log, dump, evaluate the asserts.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use engine::event::{Event, ExpectMode, Line, StrMap};
use engine::expr::Compiler;
use engine::expr::functions::{Functions, HelperContext};
use engine::parser::{LoadOptions, ParserFile, ParserSet, resolve_hub_items};

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
    /// Load warnings (unsupported enrichers...).
    pub warnings: Vec<String>,
}

/// Loads the test's parsers and replays its log.
pub fn replay_test(
    paths: &HubPaths,
    test: &HubTest,
) -> anyhow::Result<(ParserResults, Vec<String>)> {
    let mut files = resolve_hub_items(
        &paths.hub,
        "parsers",
        &test.config.parsers,
        &[paths.hub.clone(), test.dir.clone()],
    )?;
    let _overrides = match overrides_file(test)? {
        Some(f) => {
            files.insert(
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
    let opts = LoadOptions {
        patterns_dir: paths.patterns.clone(),
        data_dir: paths.data.clone(),
        clock: Arc::new(crate::clock::SystemClock),
    };
    let parsers = ParserSet::load(&files, &opts)?;
    let log = test.log_path();
    let src: Arc<str> = Arc::from(log.to_string_lossy().as_ref());
    let mut labels = StrMap::new();
    for (k, v) in test.config.labels.iter().flatten() {
        labels.insert(k, v);
    }
    labels.insert("type", &test.config.log_type);
    let labels = Arc::new(labels);
    let module: Arc<str> = Arc::from("file");
    let mut results = ParserResults::default();
    for raw in read_lines(&log)?.lines {
        let line = Line {
            raw,
            src: src.clone(),
            labels: labels.clone(),
            module: module.clone(),
            ..Line::default()
        };
        let mut evt = Event::from_line(line, ExpectMode::TimeMachine);
        // A node that aborts the line drops it, as CrowdSec does; the dump keeps what ran.
        let _ = parsers.parse(&mut evt, Some(&mut results));
    }
    Ok((results, parsers.warnings.clone()))
}

/// Runs one test end to end.
pub fn run_test(paths: &HubPaths, test: &HubTest) -> anyhow::Result<TestRun> {
    let (parser_results, warnings) = replay_test(paths, test)?;
    let mut parser_assert = None;
    let assert_path = test.dir.join("parser.assert");
    let has_asserts = std::fs::read_to_string(&assert_path).is_ok_and(|t| !t.trim().is_empty());
    if !test.config.ignore_parsers && has_asserts {
        let compiler = Compiler::new(
            assert_functions(Functions::crowdsec(HelperContext::default())),
            &["results"],
        );
        let value = parser_results.as_value();
        parser_assert = Some(
            run_assert_file(&assert_path, &compiler, &value)
                .with_context(|| format!("test {}", test.name))?,
        );
    }
    Ok(TestRun {
        parser_assert,
        warnings,
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

/// `override_statics` become a node named `overrides` that runs first in `s00-raw`, as in
/// CrowdSec's hubtest (JSON is YAML, so the statics are written as they were read).
fn overrides_file(test: &HubTest) -> anyhow::Result<Option<TempFile>> {
    if test.config.override_statics.is_empty() {
        return Ok(None);
    }
    let doc = serde_json::json!({"name": "overrides", "statics": test.config.override_statics});
    let path = std::env::temp_dir().join(format!(
        "hivewall-{}-{}-00_overrides.yaml",
        std::process::id(),
        test.name
    ));
    std::fs::write(&path, serde_json::to_vec(&doc)?)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(Some(TempFile(path)))
}
