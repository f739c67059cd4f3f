//! Which files make a pipeline: CrowdSec's installed layout or a hub checkout.

use std::path::{Path, PathBuf};

use crate::bucket::{ContextConfig, ScenarioFile};
use crate::parser::{ParserFile, hub_stage_files, installed_stage_files, resolve_hub_items};
use crate::profile::DecisionHistory;

use super::SetupError;

/// Everything a pipeline is built from.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// Parser files, in load order.
    pub parsers: Vec<ParserFile>,
    /// Postoverflow files (whitelists and enrichment of overflows), in load order.
    pub postoverflows: Vec<ParserFile>,
    /// Scenario files, in load order.
    pub scenarios: Vec<ScenarioFile>,
    /// `profiles.yaml`, if any (without it, alerts get no decisions).
    pub profiles: Option<PathBuf>,
    /// The grok pattern library.
    pub patterns_dir: PathBuf,
    /// Where data files are read from.
    pub data_dir: PathBuf,
    /// Token-bucket arithmetic (CrowdSec 1.4's only for differential runs against it).
    pub limiter: crate::bucket::limiter::Flavor,
    /// CrowdSec's `simulation.yaml` (default: nothing simulated).
    pub simulation: Simulation,
    /// The decision history profiles may read (`GetDecisionsCount`); without it, profiles
    /// that call those helpers fail to load.
    pub decision_history: Option<History>,
    /// Alert context items (CrowdSec's `contexts/*.yaml`, expressions under `context:`), in
    /// load order.
    pub contexts: Vec<PathBuf>,
    /// The console context file (`console_context_path`, by default `console/context.yaml`),
    /// read after the items; a missing file is an error (leave `None` when there is none).
    pub console_context: Option<PathBuf>,
    /// `console_context_value_length` (0: CrowdSec's default, 4000, also the maximum).
    pub context_value_length: usize,
}

/// CrowdSec's `simulation.yaml`: scenarios whose alerts give simulated decisions (stored and
/// shown, never enforced by bouncers).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Simulation {
    /// Every scenario is simulated, but the exclusions.
    #[serde(default)]
    pub simulation: bool,
    /// Exceptions to `simulation`.
    #[serde(default)]
    pub exclusions: Vec<String>,
}

impl Simulation {
    /// Reads `simulation.yaml`.
    pub fn load(path: &Path) -> Result<Simulation, SetupError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SetupError::Empty(format!("{}: {e}", path.display())))?;
        if text.trim().is_empty() {
            return Ok(Simulation::default());
        }
        serde_saphyr::from_str(&text)
            .map_err(|e| SetupError::Empty(format!("{}: {e}", path.display())))
    }
}

/// A shared [`DecisionHistory`] (a newtype so that [`Setup`] stays `Debug`).
#[derive(Clone)]
pub struct History(pub std::sync::Arc<dyn DecisionHistory>);

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("History(..)")
    }
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
        })
        .collect();
    v.sort();
    v
}

impl Setup {
    /// CrowdSec's installed layout (`/etc/crowdsec`): `parsers/<stage>/*.yaml`,
    /// `postoverflows/<stage>/*.yaml`, `scenarios/*.yaml`, `profiles.yaml`, `patterns/`,
    /// `contexts/*.yaml` and `console/context.yaml`.
    pub fn installed(config_dir: &Path, data_dir: PathBuf) -> Result<Setup, SetupError> {
        let parsers = installed_stage_files(&config_dir.join("parsers"))?;
        if parsers.is_empty() {
            return Err(SetupError::Empty(format!(
                "no parsers in {}/parsers/<stage>/",
                config_dir.display()
            )));
        }
        let profiles = config_dir.join("profiles.yaml");
        let console = config_dir.join("console").join("context.yaml");
        Ok(Setup {
            parsers,
            postoverflows: installed_stage_files(&config_dir.join("postoverflows"))?,
            scenarios: yaml_files(&config_dir.join("scenarios"))
                .into_iter()
                .map(ScenarioFile::new)
                .collect(),
            profiles: profiles.is_file().then_some(profiles),
            patterns_dir: config_dir.join("patterns"),
            data_dir,
            limiter: Default::default(),
            simulation: Simulation::default(),
            decision_history: None,
            contexts: yaml_files(&config_dir.join("contexts")),
            console_context: console.is_file().then_some(console),
            context_value_length: 0,
        })
    }

    /// The alert context its files declare, merged (items, then the console file).
    pub fn context(&self, warnings: &mut Vec<String>) -> Result<ContextConfig, SetupError> {
        let mut cfg = ContextConfig {
            value_length: self.context_value_length,
            ..ContextConfig::default()
        };
        for f in &self.contexts {
            cfg.add_item(f, warnings)?;
        }
        if let Some(f) = &self.console_context {
            cfg.add_console_file(f)?;
        }
        Ok(cfg)
    }

    /// A hub checkout. `None` selects every item of that kind; names are hub names
    /// (`crowdsecurity/ssh-bf`) or paths relative to the hub.
    pub fn hub(
        hub: &Path,
        patterns_dir: PathBuf,
        data_dir: PathBuf,
        parsers: Option<&[String]>,
        scenarios: Option<&[String]>,
        postoverflows: Option<&[String]>,
        extra_dirs: &[PathBuf],
    ) -> Result<Setup, SetupError> {
        let parsers = match parsers {
            Some(n) => resolve_hub_items(hub, "parsers", n, extra_dirs)?,
            None => hub_stage_files(hub, "parsers")?,
        };
        let postoverflows = match postoverflows {
            Some(n) => resolve_hub_items(hub, "postoverflows", n, extra_dirs)?,
            None => Vec::new(),
        };
        let scenarios = match scenarios {
            Some(names) => resolve_scenarios(hub, names, extra_dirs)?,
            None => {
                let mut all = Vec::new();
                for author in std::fs::read_dir(hub.join("scenarios"))
                    .into_iter()
                    .flatten()
                    .flatten()
                {
                    all.extend(yaml_files(&author.path()));
                }
                all.sort();
                all.into_iter().map(ScenarioFile::new).collect()
            }
        };
        Ok(Setup {
            parsers,
            postoverflows,
            scenarios,
            profiles: None,
            patterns_dir,
            data_dir,
            limiter: Default::default(),
            simulation: Simulation::default(),
            decision_history: None,
            contexts: Vec::new(),
            console_context: None,
            context_value_length: 0,
        })
    }
}

/// Resolves scenario names (`author/name`) or paths relative to the hub or `extra_dirs`.
pub fn resolve_scenarios(
    hub: &Path,
    names: &[String],
    extra_dirs: &[PathBuf],
) -> Result<Vec<ScenarioFile>, SetupError> {
    let mut out = Vec::new();
    for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        let candidates: Vec<PathBuf> = if name.ends_with(".yaml") || name.ends_with(".yml") {
            // CrowdSec joins even "/scenarios/x.yaml" to the hub directory.
            let rel = name.trim_start_matches('/');
            let absolute = Some(PathBuf::from(name)).filter(|p| p.is_absolute());
            absolute
                .into_iter()
                .chain(
                    std::iter::once(hub.to_path_buf())
                        .chain(extra_dirs.iter().cloned())
                        .map(|b| b.join(rel)),
                )
                .collect()
        } else {
            vec![hub.join("scenarios").join(format!("{name}.yaml"))]
        };
        let path = candidates
            .into_iter()
            .find(|p| p.is_file())
            .ok_or_else(|| {
                SetupError::Empty(format!("scenario {name:?} not found in {}", hub.display()))
            })?;
        out.push(ScenarioFile::new(path));
    }
    Ok(out)
}
