//! Reading parser files and compiling them into a [`ParserSet`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::clock::Clock;
use crate::conformance::{
    CrowdsecVersion, FormatCheck, ItemKind, Reading, at_line, check_format, locate_after,
};
use crate::expr::functions::Functions;
use crate::grok::{GrokError, PatternLibrary};

use super::ParserSet;
use crate::expr::functions::{DataError, DataFiles, DataKind, HelperContext, Stash};
use crate::expr::ops::parse_duration;
use crate::geoip::{self, GeoIp};

use super::config::{DataConfig, NodeConfig, StashConfig};
use super::enrich::EnrichCtx;
use super::error::LoadError;
use super::layout::ParserFile;
use super::node::{CompileCtx, Node};
use super::writers;

/// Where the things parsers refer to live.
#[derive(Clone)]
pub struct LoadOptions {
    /// The grok pattern library (CrowdSec's `patterns/`).
    pub patterns_dir: PathBuf,
    /// Where `data:` files are read from (never downloaded).
    pub data_dir: PathBuf,
    /// "Now", for CrowdSec's fall-backs.
    pub clock: Arc<dyn Clock>,
}

/// Reads one YAML file of one or more node documents. Errors carry the file and line.
pub fn read_node_file(path: &Path) -> Result<Vec<NodeConfig>, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let docs: Vec<Option<NodeConfig>> =
        serde_saphyr::from_multiple(&text).map_err(|e| LoadError::Yaml {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    Ok(docs
        .into_iter()
        .flatten()
        // CrowdSec skips documents without name, description and author (trailing `---`).
        .filter(|d| !(d.name.is_empty() && d.description.is_empty() && d.author.is_empty()))
        .collect())
}

impl ParserSet {
    /// Loads and compiles `files` (in the order given; see [`super::sort_files`]), read as
    /// CrowdSec reads them ([`Reading::Strict`]).
    pub fn load(files: &[ParserFile], opts: &LoadOptions) -> Result<ParserSet, LoadError> {
        Self::load_with(files, opts, Reading::Strict)
    }

    /// [`Self::load`] with the given reading: in the lenient one, what CrowdSec would refuse but
    /// hivewall can run is loaded, with a warning.
    pub fn load_with(
        files: &[ParserFile],
        opts: &LoadOptions,
        reading: Reading,
    ) -> Result<ParserSet, LoadError> {
        Self::load_inner(files, opts, reading, &mut |e| Err(e))
    }

    /// Checks `files` as [`Self::load`] would load them, going on after each problem (the node
    /// or file in question is left out) and handing every one to `problem`, in load order.
    /// Warnings are in the returned set's `warnings`. `Err` only for what stops everything
    /// (the patterns directory cannot be read, a data file is invalid).
    pub fn check(
        files: &[ParserFile],
        opts: &LoadOptions,
        problem: &mut dyn FnMut(LoadError),
    ) -> Result<ParserSet, LoadError> {
        Self::load_inner(files, opts, Reading::Strict, &mut |e| {
            problem(e);
            Ok(())
        })
    }

    fn load_inner(
        files: &[ParserFile],
        opts: &LoadOptions,
        reading: Reading,
        on_error: &mut dyn FnMut(LoadError) -> Result<(), LoadError>,
    ) -> Result<ParserSet, LoadError> {
        let mut patterns = PatternLibrary::new();
        let mut warnings = Vec::new();
        for p in patterns
            .load_dir_checked(&opts.patterns_dir)
            .map_err(LoadError::Patterns)?
        {
            match (&p, reading) {
                (_, Reading::Strict) | (GrokError::Duplicate { .. }, _) => {
                    on_error(LoadError::Patterns(p))?
                }
                (_, Reading::Lenient) => {
                    warnings.push(format!("CrowdSec would refuse this pattern: {p}"))
                }
            }
        }
        let mut docs = Vec::with_capacity(files.len());
        let mut data = Vec::new();
        let mut stashes = Vec::new();
        for f in files {
            let nodes = match read_node_file(&f.path) {
                Ok(n) => n,
                Err(e) => {
                    on_error(e)?;
                    continue;
                }
            };
            for n in &nodes {
                data.extend(n.data.iter().cloned());
                collect_stashes(n, &mut stashes);
            }
            docs.push((f, nodes));
        }
        // CrowdSec opens its GeoIP databases from the data directory at start, whatever uses them.
        let (geoip, mut geo_warnings) = GeoIp::shared(&opts.data_dir);
        warnings.append(&mut geo_warnings);
        let (functions, helpers) =
            build_functions(&data, &stashes, &opts.data_dir, &geoip, &mut warnings)?;
        let enrich = EnrichCtx::new(opts.clock.clone()).with_geoip(geoip);
        let mut set = Self::compile(
            docs, patterns, functions, helpers, enrich, opts, reading, on_error,
        )?;
        warnings.append(&mut set.warnings);
        set.warnings = warnings;
        Ok(set)
    }

    #[allow(clippy::too_many_arguments)]
    fn compile(
        docs: Vec<(&ParserFile, Vec<NodeConfig>)>,
        mut patterns: PatternLibrary,
        functions: Arc<Functions>,
        helpers: HelperContext,
        enrich: EnrichCtx,
        opts: &LoadOptions,
        reading: Reading,
        on_error: &mut dyn FnMut(LoadError) -> Result<(), LoadError>,
    ) -> Result<ParserSet, LoadError> {
        let docs_files: Vec<ParserFile> = docs.iter().map(|(f, _)| (*f).clone()).collect();
        let compiler = crate::event::compiler(functions.clone(), &["evt"]);
        let mut unsupported = Vec::new();
        let mut nodes = Vec::new();
        let mut stages: Vec<Arc<str>> = Vec::new();
        let mut warnings = Vec::new();
        for (file, configs) in docs {
            let stage: Arc<str> = match stages.iter().find(|s| ***s == *file.stage) {
                Some(s) => s.clone(),
                None => Arc::from(file.stage.as_str()),
            };
            for (i, cfg) in configs.iter().enumerate() {
                let label = if cfg.name.is_empty() {
                    format!("#{i}")
                } else {
                    cfg.name.clone()
                };
                match check_format(&cfg.format, ItemKind::Parser, CrowdsecVersion::Current) {
                    FormatCheck::Supported => {}
                    FormatCheck::Invalid(message) => {
                        let e = LoadError::Format {
                            path: file.path.clone(),
                            line: node_line(&file.path, &cfg.name, Some("format:")),
                            message,
                        };
                        if reading.is_strict() {
                            on_error(e)?;
                            continue;
                        }
                        warnings.push(format!("CrowdSec would refuse this: {e}"));
                    }
                    FormatCheck::Skipped(why) => {
                        let where_ = at_line(&file.path, node_line(&file.path, &cfg.name, None));
                        if reading.is_strict() {
                            warnings.push(format!("{where_}: {label} : {why} (as CrowdSec)"));
                            continue;
                        }
                        warnings.push(format!("{where_}: CrowdSec skips {label}: {why}"));
                    }
                }
                let mut node_warnings = Vec::new();
                let mut cx = CompileCtx {
                    compiler: &compiler,
                    patterns: &mut patterns,
                    enrich: &enrich,
                    unsupported: &mut unsupported,
                    reading,
                    warnings: &mut node_warnings,
                };
                let node = match Node::compile(cfg, &stage, &mut cx) {
                    Ok(n) => Some(n),
                    Err(source) => {
                        on_error(LoadError::Node {
                            path: file.path.clone(),
                            line: node_line(&file.path, &cfg.name, source.needle()),
                            node: label.clone(),
                            source: Box::new(source),
                        })?;
                        None
                    }
                };
                for w in node_warnings {
                    let where_ = at_line(&file.path, node_line(&file.path, &cfg.name, None));
                    warnings.push(format!("{where_}: node {label:?}: {w}"));
                }
                for m in unsupported.drain(..) {
                    let why = geoip::missing_db_warning(&m, &opts.data_dir).unwrap_or_else(|| {
                        format!(
                            "method {m:?} is not supported by hivewall yet; its statics are skipped"
                        )
                    });
                    warnings.push(format!("{}: {why}", file.path.display()));
                }
                let Some(node) = node else { continue };
                if !stages.contains(&stage) {
                    stages.push(stage.clone());
                }
                nodes.push(node);
            }
        }
        stages.sort();
        Ok(ParserSet {
            nodes,
            stages,
            enrich,
            functions,
            helpers,
            warnings,
            files: docs_files,
        })
    }
}

/// The line of a node's problem in its file: the first line after the node's `name:` that
/// holds `needle`, else the `name:` line.
fn node_line(path: &Path, name: &str, needle: Option<&str>) -> Option<usize> {
    let text = std::fs::read_to_string(path).ok()?;
    let start = if name.is_empty() {
        None
    } else {
        text.lines()
            .position(|l| {
                let l = l.trim_start().trim_start_matches("- ");
                l.strip_prefix("name:")
                    .is_some_and(|v| v.trim().trim_matches(['"', '\'']) == name)
            })
            .map(|i| i + 1)
    };
    let found = needle.and_then(|n| locate_after(&text, n, start.unwrap_or(1)));
    found.or(start)
}

/// Builds the helper registry with every declared data file loaded and every stash declared.
/// A data file that cannot be read is a warning, as in CrowdSec (its lookups then find nothing).
pub(crate) fn build_functions(
    data: &[DataConfig],
    stashes: &[StashConfig],
    data_dir: &Path,
    geoip: &Arc<GeoIp>,
    warnings: &mut Vec<String>,
) -> Result<(Arc<Functions>, HelperContext), LoadError> {
    let mut files = DataFiles::new();
    for d in data {
        let Some(kind) = DataKind::from_type(&d.kind) else {
            if !d.kind.is_empty() {
                warnings.push(format!(
                    "data file {:?}: unknown type {:?}",
                    d.dest_file, d.kind
                ));
            }
            continue;
        };
        if let Err(e) = files.load_entry(data_dir, &d.dest_file, &d.source_url, kind) {
            match e {
                DataError::Io { .. } => warnings.push(format!("data file {:?}: {e}", d.dest_file)),
                other => return Err(LoadError::Data(other.to_string())),
            }
        }
    }
    let ctx = HelperContext {
        data: Arc::new(files),
        stash: Arc::new(Stash::new()),
    };
    for s in stashes {
        let ttl = if s.ttl.is_empty() {
            0
        } else {
            parse_duration(&s.ttl).unwrap_or(0)
        };
        ctx.stash.declare(&s.name, s.size, ttl);
    }
    let mut functions = Functions::crowdsec(ctx.clone());
    writers::install(&mut functions);
    geoip::register(&mut functions, geoip);
    Ok((Arc::new(functions), ctx))
}

/// Every `stash:` entry of a node and its children.
fn collect_stashes(n: &NodeConfig, out: &mut Vec<StashConfig>) {
    out.extend(n.stash.iter().cloned());
    for c in &n.nodes {
        collect_stashes(c, out);
    }
}
