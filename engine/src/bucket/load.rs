//! Reading scenario files and compiling them into a [`ScenarioSet`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::clock::Clock;
use crate::conformance::{
    CrowdsecVersion, FormatCheck, ItemKind, Reading, Rule, at_line, check_format, no_field_message,
    unknown_event_member,
};
use crate::expr::functions::{
    DataError, DataFiles, DataKind, Functions, HelperContext, Stash, register_clock,
};

use super::config::ScenarioConfig;
use super::context::{AlertContext, ContextConfig};
use super::scenario::Scenario;

/// An error loading scenarios; always names the file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Bad YAML or an unknown field (the message carries line and column).
    #[error(
        "bad yaml in {}: {message}",
        crate::conformance::yaml_at(path, message)
    )]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The decoder's message.
        message: String,
    },
    /// A scenario failed validation or compilation.
    #[error("{}: bucket {name}: {message}", crate::conformance::at_line(path, *line))]
    Scenario {
        /// The file.
        path: PathBuf,
        /// The line of the scenario's `name:` (or of the problem), when it can be told.
        line: Option<usize>,
        /// The scenario's name.
        name: String,
        /// Why.
        message: String,
    },
    /// Something CrowdSec refuses that hivewall could load (strict reading): a `format:` that
    /// is not a version, an expression reading a field CrowdSec's `Event` does not have.
    #[error("{}: bucket {name}: {message}", crate::conformance::at_line(path, *line))]
    Refused {
        /// The file.
        path: PathBuf,
        /// The line, when it can be told.
        line: Option<usize>,
        /// The scenario's name.
        name: String,
        /// The rule it breaks.
        rule: Rule,
        /// CrowdSec's reason.
        message: String,
    },
    /// A data file is invalid (an unreadable one is only a warning, as in CrowdSec).
    #[error("data file: {0}")]
    Data(String),
    /// An alert context expression does not compile.
    #[error("{path}: context {key:?}: {message}")]
    Context {
        /// The context file.
        path: PathBuf,
        /// The context key.
        key: String,
        /// Why.
        message: String,
    },
}

impl LoadError {
    /// The CrowdSec loading rule this error is about.
    pub fn rule(&self) -> Rule {
        const EXPRESSIONS: &[&str] = &[
            "invalid filter",
            "invalid groupby",
            "invalid distinct",
            "invalid cancel_on",
            "invalid condition",
            "invalid overflow_filter",
            "bayesian condition compile error",
            "error compiling the scope filter",
        ];
        match self {
            LoadError::Io { .. } | LoadError::Yaml { .. } => Rule::Yaml,
            LoadError::Scenario { message, .. }
                if EXPRESSIONS.iter().any(|p| message.starts_with(p)) =>
            {
                Rule::Expression
            }
            LoadError::Scenario { .. } => Rule::Scenario,
            LoadError::Refused { rule, .. } => *rule,
            LoadError::Data(_) => Rule::DataFile,
            LoadError::Context { .. } => Rule::Expression,
        }
    }
}

/// A scenario file to load, with what the hub knows about it.
#[derive(Debug, Clone, Default)]
pub struct ScenarioFile {
    /// Path of the YAML file.
    pub path: PathBuf,
    /// Hub hash (`scenario_hash` of alerts); empty for local files.
    pub hash: String,
    /// Hub version; when empty the file's `version:` is used.
    pub version: String,
}

impl ScenarioFile {
    /// A local file.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ScenarioFile {
            path: path.into(),
            ..Self::default()
        }
    }
}

/// Where scenarios' data files are and which helper state they share.
#[derive(Clone, Default)]
pub struct ScenarioLoadOptions {
    /// Directory of `data:` files.
    pub data_dir: PathBuf,
    /// Stash shared with the parsers (`GetFromStash`), if any.
    pub stash: Option<Arc<Stash>>,
    /// CrowdSec's `simulation.yaml`: `simulation` (every scenario simulated) ...
    pub simulate_all: bool,
    /// ... and `exclusions`: scenarios simulated when `simulate_all` is off, live when on.
    pub simulated: Vec<String>,
    /// Token-bucket arithmetic to follow (current CrowdSec unless comparing with 1.4).
    pub limiter: super::limiter::Flavor,
    /// The alert context (CrowdSec's `contexts/` and `console/context.yaml`), compiled with
    /// the scenarios' helpers.
    pub context: ContextConfig,
    /// The clock of `TimeNow`; without it, expressions calling `TimeNow` fail to compile.
    pub clock: Option<Arc<dyn Clock>>,
    /// How to read what CrowdSec would refuse (strict by default).
    pub reading: Reading,
}

impl std::fmt::Debug for ScenarioLoadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScenarioLoadOptions")
            .field("data_dir", &self.data_dir)
            .field("simulate_all", &self.simulate_all)
            .field("simulated", &self.simulated)
            .field("limiter", &self.limiter)
            .field("context", &self.context)
            .field("reading", &self.reading)
            .finish_non_exhaustive()
    }
}

/// The compiled scenarios, in load order (the order CrowdSec pours into them).
#[derive(Debug, Default)]
pub struct ScenarioSet {
    scenarios: Vec<Scenario>,
    /// Non-fatal problems (unreadable data files).
    pub warnings: Vec<String>,
}

/// Reads every scenario document of a YAML file.
pub fn read_scenario_file(path: &Path) -> Result<Vec<ScenarioConfig>, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let docs: Vec<Option<ScenarioConfig>> =
        serde_saphyr::from_multiple(&text).map_err(|e| LoadError::Yaml {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    Ok(docs.into_iter().flatten().collect())
}

impl ScenarioSet {
    /// Loads, validates and compiles `files`, loading their data files from `opts.data_dir`.
    pub fn load(files: &[ScenarioFile], opts: &ScenarioLoadOptions) -> Result<Self, LoadError> {
        Self::load_inner(files, opts, &mut |e| Err(e))
    }

    /// Checks `files` as [`Self::load`] would load them (strictly), going on after each problem
    /// (the scenario or file in question is left out) and handing every one to `problem`.
    /// Warnings are in the returned set's `warnings`.
    pub fn check(
        files: &[ScenarioFile],
        opts: &ScenarioLoadOptions,
        problem: &mut dyn FnMut(LoadError),
    ) -> Result<Self, LoadError> {
        let opts = ScenarioLoadOptions {
            reading: Reading::Strict,
            ..opts.clone()
        };
        Self::load_inner(files, &opts, &mut |e| {
            problem(e);
            Ok(())
        })
    }

    fn load_inner(
        files: &[ScenarioFile],
        opts: &ScenarioLoadOptions,
        on_error: &mut dyn FnMut(LoadError) -> Result<(), LoadError>,
    ) -> Result<Self, LoadError> {
        let mut docs = Vec::new();
        let mut warnings = Vec::new();
        for f in files {
            let configs = match read_scenario_file(&f.path) {
                Ok(c) => c,
                Err(e) => {
                    on_error(e)?;
                    continue;
                }
            };
            for cfg in configs {
                if cfg.name.is_empty() {
                    on_error(LoadError::Scenario {
                        path: f.path.clone(),
                        line: None,
                        name: String::new(),
                        message: "nameless bucket".into(),
                    })?;
                    // CrowdSec stops reading the file there.
                    break;
                }
                let line = || name_line(&f.path, &cfg.name);
                match check_format(&cfg.format, ItemKind::Scenario, CrowdsecVersion::Current) {
                    FormatCheck::Supported => {}
                    FormatCheck::Invalid(message) => {
                        let e = LoadError::Refused {
                            path: f.path.clone(),
                            line: line(),
                            name: cfg.name.clone(),
                            rule: Rule::Format,
                            message,
                        };
                        if opts.reading.is_strict() {
                            on_error(e)?;
                            continue;
                        }
                        warnings.push(format!("CrowdSec would refuse this: {e}"));
                    }
                    FormatCheck::Skipped(why) => {
                        let where_ = at_line(&f.path, line());
                        let name = &cfg.name;
                        if opts.reading.is_strict() {
                            warnings.push(format!("{where_}: can't load {name} : {why}"));
                            continue;
                        }
                        warnings.push(format!("{where_}: CrowdSec skips {name}: {why}"));
                    }
                }
                docs.push((f, cfg));
            }
        }
        let mut data = DataFiles::new();
        for (_, cfg) in &docs {
            for d in &cfg.data {
                let Some(kind) = DataKind::from_type(&d.kind) else {
                    continue;
                };
                if d.dest_file.is_empty() || data.is_loaded(&d.dest_file, kind) {
                    continue;
                }
                if let Err(e) = data.load_entry(&opts.data_dir, &d.dest_file, &d.source_url, kind) {
                    match e {
                        DataError::Io { .. } => {
                            warnings.push(format!("data file {:?}: {e}", d.dest_file));
                        }
                        other => return Err(LoadError::Data(other.to_string())),
                    }
                }
            }
        }
        let ctx = HelperContext {
            data: Arc::new(data),
            stash: opts.stash.clone().unwrap_or_else(|| Arc::new(Stash::new())),
        };
        let mut functions = Functions::crowdsec(ctx);
        if let Some(clock) = &opts.clock {
            register_clock(&mut functions, Arc::clone(clock));
        }
        let functions = Arc::new(functions);
        let context = AlertContext::compile(&opts.context, &functions, &mut warnings)?;
        Ok(Self::compile(docs, &functions, opts, warnings, on_error)?
            .with_context(context.map(Arc::new)))
    }

    /// Gives every scenario the alert context `context` (the meta of their alerts); buckets
    /// keep whole events when the context reads more of them than `Meta`.
    pub fn with_context(mut self, context: Option<Arc<AlertContext>>) -> Self {
        let full = context.as_ref().is_some_and(|c| c.needs_full_events());
        for sc in &mut self.scenarios {
            sc.keep_events |= full;
            sc.context = context.clone();
        }
        self
    }

    /// Compiles already-read scenario documents with the given helpers (no I/O).
    pub fn from_configs(
        configs: Vec<(ScenarioFile, ScenarioConfig)>,
        functions: &Arc<Functions>,
    ) -> Result<Self, LoadError> {
        let docs: Vec<(&ScenarioFile, ScenarioConfig)> =
            configs.iter().map(|(f, c)| (f, c.clone())).collect();
        Self::compile(
            docs,
            functions,
            &ScenarioLoadOptions::default(),
            Vec::new(),
            &mut |e| Err(e),
        )
    }

    fn compile(
        docs: Vec<(&ScenarioFile, ScenarioConfig)>,
        functions: &Arc<Functions>,
        opts: &ScenarioLoadOptions,
        mut warnings: Vec<String>,
        on_error: &mut dyn FnMut(LoadError) -> Result<(), LoadError>,
    ) -> Result<Self, LoadError> {
        let mut scenarios = Vec::with_capacity(docs.len());
        for (f, cfg) in docs {
            let name = cfg.name.clone();
            let mut sc = match Scenario::compile(cfg, f.path.clone(), functions) {
                Ok(sc) => sc,
                Err(message) => {
                    on_error(LoadError::Scenario {
                        path: f.path.clone(),
                        line: name_line(&f.path, &name),
                        name: name.clone(),
                        message,
                    })?;
                    continue;
                }
            };
            if let Some((e, source)) = unknown_member(&sc) {
                let line = std::fs::read_to_string(&f.path)
                    .ok()
                    .and_then(|t| crate::conformance::line_of(&t, &source));
                let e = LoadError::Refused {
                    path: f.path.clone(),
                    line: line.or_else(|| name_line(&f.path, &name)),
                    name: name.clone(),
                    rule: Rule::EventField,
                    message: e,
                };
                if opts.reading.is_strict() {
                    on_error(e)?;
                    continue;
                }
                warnings.push(format!("CrowdSec would refuse this: {e}"));
            }
            sc.hash = f.hash.clone();
            if !f.version.is_empty() {
                sc.version = f.version.clone();
            }
            sc.simulated = opts.simulate_all != opts.simulated.contains(&name);
            sc.limiter = opts.limiter;
            scenarios.push(sc);
        }
        Ok(ScenarioSet {
            scenarios,
            warnings,
        })
    }

    /// The scenario at `idx`.
    pub fn get(&self, idx: usize) -> Option<&Scenario> {
        self.scenarios.get(idx)
    }

    /// The scenarios in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Scenario> {
        self.scenarios.iter()
    }

    /// Number of scenarios.
    pub fn len(&self) -> usize {
        self.scenarios.len()
    }

    /// Whether no scenario is loaded.
    pub fn is_empty(&self) -> bool {
        self.scenarios.is_empty()
    }

    /// The index of the scenario named `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.scenarios.iter().position(|s| s.name() == name)
    }
}

/// The first expression of `sc` reading a member of `evt` that CrowdSec's `Event` does not
/// have: CrowdSec's message and the expression.
fn unknown_member(sc: &Scenario) -> Option<(String, String)> {
    let evt_programs = [
        ("filter", Some(&sc.filter)),
        ("groupby", sc.groupby.as_ref()),
        ("distinct", sc.distinct.as_ref()),
        ("cancel_on", sc.cancel_on.as_ref()),
        ("condition", sc.condition.as_ref()),
        ("overflow_filter", sc.overflow_filter.as_ref()),
        ("scope expression", sc.scope_filter.as_ref()),
    ];
    evt_programs
        .into_iter()
        .filter_map(|(what, p)| p.map(|p| (what, p)))
        .chain(
            sc.bayesian
                .iter()
                .map(|b| ("bayesian condition", &b.program)),
        )
        .find_map(|(what, p)| {
            let m = unknown_event_member(p, 0)?;
            let message = format!("invalid {what} '{}': {}", p.source(), no_field_message(&m));
            Some((message, p.source().to_string()))
        })
}

/// The line of `name: <name>` in a scenario file.
fn name_line(path: &Path, name: &str) -> Option<usize> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .position(|l| {
            l.strip_prefix("name:")
                .is_some_and(|v| v.trim().trim_matches(['"', '\'']) == name)
        })
        .map(|i| i + 1)
}
