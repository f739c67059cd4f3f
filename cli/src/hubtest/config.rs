//! A hub test's `config.yaml` (CrowdSec's hubtest format).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// The fields of a test's `config.yaml` that matter to a replay.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TestConfig {
    /// Parsers by hub name or path.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub parsers: Vec<String>,
    /// Scenarios by hub name or path.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub scenarios: Vec<String>,
    /// Postoverflows by hub name or path (read by the scenario runner, which comes with the
    /// bucket engine).
    #[serde(default, deserialize_with = "null_as_empty")]
    #[allow(dead_code)]
    pub postoverflows: Vec<String>,
    /// The log to replay, relative to the test directory.
    pub log_file: String,
    /// The acquisition type label.
    pub log_type: String,
    /// Extra acquisition labels.
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    /// When true, `parser.assert` is not evaluated.
    #[serde(default)]
    pub ignore_parsers: bool,
    /// Statics applied before `s00-raw`.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub override_statics: Vec<serde_json::Value>,
}

impl TestConfig {
    /// The scenarios named, blank entries left out.
    pub fn scenario_names(&self) -> Vec<String> {
        self.scenarios
            .iter()
            .filter(|s| !s.trim().is_empty())
            .cloned()
            .collect()
    }
}

/// A test directory with its configuration.
#[derive(Debug, Clone)]
pub struct HubTest {
    /// The test's name (its directory name).
    pub name: String,
    /// Its directory.
    pub dir: PathBuf,
    /// Its configuration.
    pub config: TestConfig,
}

impl HubTest {
    /// Reads `<dir>/config.yaml`.
    pub fn load(dir: &Path) -> anyhow::Result<HubTest> {
        let path = dir.join("config.yaml");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let config: TestConfig = serde_saphyr::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(HubTest {
            name,
            dir: dir.to_path_buf(),
            config,
        })
    }

    /// The log file's path.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join(&self.config.log_file)
    }

    /// Whether the test names scenarios (CrowdSec skips empty entries).
    pub fn has_scenarios(&self) -> bool {
        self.config.scenarios.iter().any(|s| !s.trim().is_empty())
    }
}

/// `scenarios:` with nothing after it is YAML null: read it as an empty list, as Go does.
fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}
