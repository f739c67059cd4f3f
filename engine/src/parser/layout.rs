//! Finding parser files: CrowdSec's installed layout (`/etc/crowdsec`) and the hub's layout.

use std::path::{Path, PathBuf};

use super::error::LoadError;

/// One parser file with the stage it runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParserFile {
    /// `s00-raw`, `s01-parse`, `s02-enrich` (or a postoverflow stage).
    pub stage: String,
    /// The YAML file.
    pub path: PathBuf,
}

impl ParserFile {
    /// The order CrowdSec loads files in: by their installed path `<stage>/<file name>`.
    fn sort_key(&self) -> (String, String) {
        let base = self
            .path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned());
        (self.stage.clone(), base.unwrap_or_default())
    }
}

/// Sorts files the way CrowdSec orders them before loading.
pub fn sort_files(files: &mut [ParserFile]) {
    files.sort_by_key(ParserFile::sort_key);
}

fn is_yaml(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
}

/// Every `<dir>/<stage>/**/*.yaml` (CrowdSec's installed layout, e.g. `/etc/crowdsec/parsers`):
/// like CrowdSec's hub sync, files below a stage at any depth, hidden directories skipped, in
/// the order of their paths (CrowdSec sorts parser files by path). A missing directory yields
/// nothing.
pub fn installed_stage_files(dir: &Path) -> Result<Vec<ParserFile>, LoadError> {
    let mut out = Vec::new();
    let Ok(stages) = std::fs::read_dir(dir) else {
        return Ok(out);
    };
    for stage in stages.flatten() {
        let stage_path = stage.path();
        let stage_name = stage.file_name().to_string_lossy().into_owned();
        if !stage_path.is_dir() || stage_name.starts_with('.') {
            continue;
        }
        let mut files = Vec::new();
        yaml_below(&stage_path, &mut files)?;
        out.extend(files.into_iter().map(|path| ParserFile {
            stage: stage_name.clone(),
            path,
        }));
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// YAML files below `dir`, at any depth, hidden directories skipped.
fn yaml_below(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|source| LoadError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for e in entries.flatten() {
        let p = e.path();
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        if is_dir {
            if !e.file_name().to_string_lossy().starts_with('.') {
                yaml_below(&p, out)?;
            }
        } else if is_yaml(&p) && p.is_file() {
            out.push(p);
        }
    }
    Ok(())
}

/// Every parser of a hub checkout: `<hub>/<kind>/<stage>/<author>/<name>.yaml`.
pub fn hub_stage_files(hub: &Path, kind: &str) -> Result<Vec<ParserFile>, LoadError> {
    let mut out = Vec::new();
    let root = hub.join(kind);
    let Ok(stages) = std::fs::read_dir(&root) else {
        return Ok(out);
    };
    for stage in stages.flatten() {
        let stage_name = stage.file_name().to_string_lossy().into_owned();
        let Ok(authors) = std::fs::read_dir(stage.path()) else {
            continue;
        };
        for author in authors.flatten() {
            let Ok(files) = std::fs::read_dir(author.path()) else {
                continue;
            };
            for f in files.flatten() {
                let p = f.path();
                if is_yaml(&p) {
                    out.push(ParserFile {
                        stage: stage_name.clone(),
                        path: p,
                    });
                }
            }
        }
    }
    sort_files(&mut out);
    Ok(out)
}

/// Resolves hub item names (`crowdsecurity/sshd-logs`) or paths (`./parsers/s01-parse/x/y.yaml`,
/// relative to the hub or to one of `extra_dirs`) to files with their stage.
pub fn resolve_hub_items(
    hub: &Path,
    kind: &str,
    names: &[String],
    extra_dirs: &[PathBuf],
) -> Result<Vec<ParserFile>, LoadError> {
    let mut out = Vec::new();
    for name in names.iter().filter(|n| !n.trim().is_empty()) {
        let mut found = None;
        if name.ends_with(".yaml") || name.ends_with(".yml") {
            let rel = name.trim_start_matches('/');
            for base in std::iter::once(&hub.to_path_buf()).chain(extra_dirs) {
                let p = base.join(rel);
                if p.is_file() {
                    found = Some(p);
                    break;
                }
            }
        } else if let Some((author, item)) = name.split_once('/')
            && let Ok(stages) = std::fs::read_dir(hub.join(kind))
        {
            for stage in stages.flatten() {
                let p = stage.path().join(author).join(format!("{item}.yaml"));
                if p.is_file() {
                    found = Some(p);
                    break;
                }
            }
        }
        let path = found.ok_or_else(|| {
            LoadError::NotFound(format!(
                "{kind} item {name:?} not found in {}",
                hub.display()
            ))
        })?;
        let stage = stage_of(&path).ok_or_else(|| {
            LoadError::NotFound(format!("cannot tell the stage of {}", path.display()))
        })?;
        out.push(ParserFile { stage, path });
    }
    sort_files(&mut out);
    out.dedup();
    Ok(out)
}

/// The stage of a hub file: the directory two levels above it (`parsers/<stage>/<author>/f.yaml`).
fn stage_of(path: &Path) -> Option<String> {
    let stage = path
        .parent()?
        .parent()?
        .file_name()?
        .to_string_lossy()
        .into_owned();
    stage.starts_with('s').then_some(stage)
}
