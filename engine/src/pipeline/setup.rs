//! Which files make a pipeline: CrowdSec's installed layout or a hub checkout.

use std::path::{Path, PathBuf};

use crate::bucket::{ContextConfig, ScenarioFile};
use crate::conformance::Reading;
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
    /// How to read what CrowdSec would refuse: [`Reading::Strict`] (the default) makes it an
    /// error naming `file:line` and CrowdSec's reason; [`Reading::Lenient`] loads what hivewall
    /// can run and warns.
    pub reading: Reading,
    /// What choosing the files found worth saying (local items CrowdSec would ignore).
    pub warnings: Vec<String>,
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

/// Every YAML file under `dir` at any depth, as CrowdSec's hub sync walks an installed layout
/// (hidden directories skipped), in walk order.
fn yaml_files_deep(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    let mut out = Vec::new();
    for p in entries {
        let hidden = p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        let is_dir = std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir());
        if is_dir {
            if !hidden {
                out.extend(yaml_files_deep(&p));
            }
        } else if p.is_file()
            && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
        {
            out.push(p);
        }
    }
    out
}

/// The name CrowdSec gives a local item: the first document's `name:`, else its path below the
/// kind's directory (below the stage for parsers).
fn local_item_name(path: &Path, below: &Path) -> String {
    #[derive(serde::Deserialize)]
    struct Named {
        #[serde(default)]
        name: Option<serde_json::Value>,
    }
    let from_file = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_saphyr::from_multiple::<Option<Named>>(&t).ok())
        .and_then(|docs| docs.into_iter().next().flatten())
        .and_then(|d| match d.name {
            Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s),
            _ => None,
        });
    from_file.unwrap_or_else(|| {
        path.strip_prefix(below)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned()
    })
}

/// Keeps, of local items of one kind sharing a name, the last one in walk order, as CrowdSec
/// does ("multiple parsers named x: ignoring <path>").
fn drop_shadowed<T>(
    kind: &str,
    items: Vec<T>,
    path_of: impl Fn(&T) -> &Path,
    below: impl Fn(&T) -> PathBuf,
    warnings: &mut Vec<String>,
) -> Vec<T> {
    let names: Vec<String> = items
        .iter()
        .map(|i| local_item_name(path_of(i), &below(i)))
        .collect();
    let paths: Vec<PathBuf> = items.iter().map(|i| path_of(i).to_path_buf()).collect();
    let mut keep = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        if let Some(j) = names[i + 1..].iter().position(|n| *n == names[i]) {
            warnings.push(format!(
                "multiple {kind} named {}: ignoring {} (CrowdSec loads {} only)",
                names[i],
                paths[i].display(),
                paths[i + 1 + j].display()
            ));
            continue;
        }
        keep.push(item);
    }
    keep
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
    ///
    /// Files are found as CrowdSec's hub sync finds local items (at any depth, hidden
    /// directories skipped); of local items of one kind sharing a name, only the last is kept,
    /// with a warning, as CrowdSec does.
    pub fn installed(config_dir: &Path, data_dir: PathBuf) -> Result<Setup, SetupError> {
        let mut warnings = Vec::new();
        let stage_dir = |kind: &str| {
            let root = config_dir.join(kind);
            move |f: &ParserFile| root.join(&f.stage)
        };
        let parsers = drop_shadowed(
            "parsers",
            installed_stage_files(&config_dir.join("parsers"))?,
            |f| &f.path,
            stage_dir("parsers"),
            &mut warnings,
        );
        if parsers.is_empty() {
            return Err(SetupError::Empty(format!(
                "no parsers in {}/parsers/<stage>/",
                config_dir.display()
            )));
        }
        let postoverflows = drop_shadowed(
            "postoverflows",
            installed_stage_files(&config_dir.join("postoverflows"))?,
            |f| &f.path,
            stage_dir("postoverflows"),
            &mut warnings,
        );
        let scenario_dir = config_dir.join("scenarios");
        let scenarios = drop_shadowed(
            "scenarios",
            yaml_files_deep(&scenario_dir),
            |p| p.as_path(),
            |_| scenario_dir.clone(),
            &mut warnings,
        );
        let profiles = config_dir.join("profiles.yaml");
        let console = config_dir.join("console").join("context.yaml");
        Ok(Setup {
            parsers,
            postoverflows,
            scenarios: scenarios.into_iter().map(ScenarioFile::new).collect(),
            profiles: profiles.is_file().then_some(profiles),
            patterns_dir: config_dir.join("patterns"),
            data_dir,
            limiter: Default::default(),
            simulation: Simulation::default(),
            decision_history: None,
            contexts: yaml_files(&config_dir.join("contexts")),
            console_context: console.is_file().then_some(console),
            context_value_length: 0,
            reading: Reading::Strict,
            warnings,
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
            reading: Reading::Strict,
            warnings: Vec::new(),
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
