//! `hivewall lint`: CrowdSec's loading rules checked on a whole configuration, nothing run.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::bucket::{LoadError as ScenarioError, ScenarioLoadOptions, ScenarioSet};
use crate::clock::{Clock, FixedClock};
use crate::expr::functions::{Functions, HelperContext, register_clock};
use crate::grok::GrokError;
use crate::parser::{LoadError, LoadOptions, ParserSet, hub_stage_files};
use crate::pipeline::{Setup, SetupError};
use crate::profile::{MemoryHistory, Profiles, register_history};

use super::locate::at_line;
use super::{CrowdsecVersion, Finding, Report, Rule, Severity, v14};

/// What to check.
#[derive(Debug, Clone)]
pub enum LintTarget {
    /// CrowdSec's installed layout (`/etc/crowdsec`, or hivewall's `scenarios/`):
    /// `patterns/`, `parsers/<stage>/`, `postoverflows/<stage>/`, `scenarios/`,
    /// `profiles.yaml`; data files read from `data_dir`.
    ConfigDir {
        /// The configuration directory.
        dir: PathBuf,
        /// Where `data:` files are.
        data_dir: PathBuf,
    },
    /// A hub checkout: every parser, postoverflow and scenario of it, loaded together.
    Hub {
        /// The hub directory (`parsers/<stage>/<author>/<name>.yaml`, ...).
        hub: PathBuf,
        /// The grok patterns (CrowdSec's `config/patterns`).
        patterns_dir: PathBuf,
        /// Where `data:` files are (usually absent: CrowdSec downloads them at install).
        data_dir: PathBuf,
    },
}

impl LintTarget {
    /// An installed layout or a hub checkout, told apart by the shape of `parsers/`: a hub has
    /// an author directory between the stage and the files.
    pub fn detect(dir: &Path, patterns_dir: Option<PathBuf>, data_dir: Option<PathBuf>) -> Self {
        if is_hub(dir) {
            let beside = dir.parent().unwrap_or(dir);
            LintTarget::Hub {
                hub: dir.to_path_buf(),
                patterns_dir: patterns_dir.unwrap_or_else(|| beside.join("patterns")),
                data_dir: data_dir.unwrap_or_else(|| beside.join("data")),
            }
        } else {
            LintTarget::ConfigDir {
                dir: dir.to_path_buf(),
                data_dir: data_dir.unwrap_or_else(|| dir.join("data")),
            }
        }
    }
}

/// Whether `dir` looks like a hub checkout: `parsers/<stage>/<author>/` directories, and no
/// YAML file directly in a stage.
fn is_hub(dir: &Path) -> bool {
    let Ok(stages) = std::fs::read_dir(dir.join("parsers")) else {
        return false;
    };
    let mut authors = false;
    for stage in stages.flatten().filter(|s| s.path().is_dir()) {
        for e in std::fs::read_dir(stage.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let p = e.path();
            if p.is_dir() {
                authors = true;
            } else if matches!(p.extension().and_then(|x| x.to_str()), Some("yaml" | "yml")) {
                return false;
            }
        }
    }
    authors
}

/// Checks everything `target` holds against CrowdSec's loading rules (and, for
/// [`CrowdsecVersion::V1_4`], against what CrowdSec 1.4 lacks). Findings are in load order;
/// `Err` only when the target cannot be read at all.
pub fn lint(target: &LintTarget, version: CrowdsecVersion) -> Result<Report, SetupError> {
    let setup = match target {
        LintTarget::ConfigDir { dir, data_dir } => Setup::installed(dir, data_dir.clone())?,
        LintTarget::Hub {
            hub,
            patterns_dir,
            data_dir,
        } => {
            let mut s = Setup::hub(
                hub,
                patterns_dir.clone(),
                data_dir.clone(),
                None,
                None,
                None,
                &[],
            )?;
            s.postoverflows = hub_stage_files(hub, "postoverflows")?;
            s
        }
    };
    let mut findings = Vec::new();
    for w in &setup.warnings {
        let ignored = w
            .split_once("ignoring ")
            .and_then(|(_, r)| r.split_once(" ("))
            .map_or("", |(p, _)| p);
        findings.push(Finding::warning(Rule::DuplicateName, ignored, w.clone()));
    }
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(chrono::DateTime::UNIX_EPOCH));
    let opts = LoadOptions {
        patterns_dir: setup.patterns_dir.clone(),
        data_dir: setup.data_dir.clone(),
        clock: Arc::clone(&clock),
    };
    let parsers = ParserSet::check(&setup.parsers, &opts, &mut |e| {
        findings.push(parser_finding(&e));
    })?;
    warning_findings(&parsers.warnings, &mut findings);
    if !setup.postoverflows.is_empty() {
        let po = ParserSet::check(&setup.postoverflows, &opts, &mut |e| {
            findings.push(parser_finding(&e));
        })?;
        warning_findings(&po.warnings, &mut findings);
    }
    let scenarios = ScenarioSet::check(
        &setup.scenarios,
        &ScenarioLoadOptions {
            data_dir: setup.data_dir.clone(),
            stash: Some(parsers.helpers().stash.clone()),
            clock: Some(Arc::clone(&clock)),
            ..ScenarioLoadOptions::default()
        },
        &mut |e| findings.push(scenario_finding(&e)),
    )?;
    warning_findings(&scenarios.warnings, &mut findings);
    if let Some(p) = &setup.profiles
        && let Some(f) = profile_finding(p, parsers.helpers(), &clock)
    {
        findings.push(f);
    }
    if version == CrowdsecVersion::V1_4 {
        let parser_files = setup.parsers.iter().chain(&setup.postoverflows);
        for f in parser_files {
            v14::check_parser_file(&f.path, &mut findings);
        }
        for s in &setup.scenarios {
            v14::check_scenario_file(&s.path, &mut findings);
        }
        if let Some(p) = &setup.profiles {
            v14::check_profiles_file(p, &mut findings);
        }
    }
    let mut seen = std::collections::HashSet::new();
    findings.retain(|f| seen.insert(f.clone()));
    let files = setup.parsers.len()
        + setup.postoverflows.len()
        + setup.scenarios.len()
        + usize::from(setup.profiles.is_some());
    Ok(Report { findings, files })
}

/// CrowdSec's words for a pattern-file problem, with its location.
fn grok_finding(g: &GrokError) -> Finding {
    let (location, reason) = match g {
        GrokError::NotYetDefined { location, name } => {
            (location, format!("the '{name}' pattern doesn't exist"))
        }
        GrokError::Duplicate { location, .. } => (location, "the pattern already exist".into()),
        GrokError::InvalidPattern {
            location, message, ..
        } => (location, format!("error parsing regexp: {message}")),
        other => return Finding::error(Rule::Grok, "", other.to_string()),
    };
    let file = location
        .rsplit_once(':')
        .map_or(location.as_str(), |(f, _)| f);
    let base = Path::new(file)
        .file_name()
        .map_or(file.into(), |b| b.to_string_lossy());
    Finding::error(
        crate::parser::grok_rule(g),
        location.clone(),
        format!("failed to load pattern {base}: {reason}"),
    )
}

fn parser_finding(e: &LoadError) -> Finding {
    match e {
        LoadError::Patterns(g) => grok_finding(g),
        LoadError::Yaml { path, message } => yaml_finding(path, message),
        LoadError::Node {
            path,
            line,
            node,
            source,
        } => Finding::error(
            source.rule(),
            at_line(path, *line),
            format!(
                "failed to compile node '{node}' in '{}' : {source}",
                path.display()
            ),
        ),
        LoadError::Format {
            path,
            line,
            message,
        } => Finding::error(Rule::Format, at_line(path, *line), message.clone()),
        LoadError::Io { path, source } => {
            Finding::error(Rule::Yaml, path.display().to_string(), source.to_string())
        }
        other => Finding::error(other.rule(), "", other.to_string()),
    }
}

fn scenario_finding(e: &ScenarioError) -> Finding {
    match e {
        ScenarioError::Yaml { path, message } => yaml_finding(path, message),
        ScenarioError::Scenario {
            path,
            line,
            name,
            message,
        }
        | ScenarioError::Refused {
            path,
            line,
            name,
            message,
            ..
        } => Finding::error(
            e.rule(),
            at_line(path, *line),
            format!("bucket {name}: {message}"),
        ),
        other => Finding::error(other.rule(), "", other.to_string()),
    }
}

/// A strict-decoding problem: the decoder's first line, located by its `line N`.
fn yaml_finding(path: &Path, message: &str) -> Finding {
    let first = message.lines().next().unwrap_or(message);
    let first = first.strip_prefix("error: ").unwrap_or(first);
    Finding::error(Rule::Yaml, super::yaml_at(path, message), first.to_string())
}

/// The load warnings that are CrowdSec rules (skipped formats, unreadable data files,
/// `pattern_syntax` defined twice).
fn warning_findings(warnings: &[String], out: &mut Vec<Finding>) {
    for w in warnings {
        let rule = if w.contains("doesn't satisfy") {
            Rule::Format
        } else if w.starts_with("data file") {
            Rule::DataFile
        } else if w.contains("already registred") {
            Rule::PatternDuplicate
        } else {
            continue;
        };
        let (location, message) = split_location(w);
        out.push(Finding {
            rule,
            severity: Severity::Warning,
            location,
            message,
        });
    }
}

/// `path:line: message` → (`path:line`, `message`); no location when the text does not start
/// with one (data files).
fn split_location(w: &str) -> (String, String) {
    if w.starts_with("data file") {
        return (String::new(), w.to_string());
    }
    match w.split_once(": ") {
        Some((loc, msg)) => (loc.to_string(), msg.to_string()),
        None => (String::new(), w.to_string()),
    }
}

/// `profiles.yaml` compiled as the pipeline compiles it.
fn profile_finding(
    path: &Path,
    helpers: &HelperContext,
    clock: &Arc<dyn Clock>,
) -> Option<Finding> {
    let mut f = Functions::crowdsec(helpers.clone());
    register_clock(&mut f, Arc::clone(clock));
    register_history(&mut f, Arc::new(MemoryHistory::default()));
    match Profiles::load(path, Arc::new(f)) {
        Ok(p) if p.iter().next().is_none() => Some(Finding::error(
            Rule::Profile,
            path.display().to_string(),
            "zero profiles loaded for LAPI",
        )),
        Ok(_) => None,
        Err(e) => Some(Finding::error(
            Rule::Profile,
            path.display().to_string(),
            e.to_string(),
        )),
    }
}
