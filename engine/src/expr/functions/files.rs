//! Data files declared by parsers and scenarios (`data:` entries), read from a local data
//! directory (never downloaded), and the helpers that use them: `File`, `RegexpInFile`,
//! `FileMap` and `LookupFile`.

use std::cell::RefCell;
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use foldhash::HashMap;
use regex::{Regex, RegexSet};

use super::convert::{arg_str, str_list};
use super::{Arity, Functions, native};
use crate::expr::value::Value;

/// The `type:` of a `data:` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    /// `string`: one literal per line, for `File(...)`.
    String,
    /// `regexp` (or `regex`): one regular expression per line, for `RegexpInFile(...)`.
    Regexp,
    /// `map`: one JSON object per line (`pattern`, `tag`, `type`), for `LookupFile(...)`.
    Map,
}

impl DataKind {
    /// Parses the YAML `type:` value; `None` for unknown types.
    pub fn from_type(s: &str) -> Option<Self> {
        match s {
            "string" => Some(Self::String),
            "regexp" | "regex" => Some(Self::Regexp),
            "map" => Some(Self::Map),
            _ => None,
        }
    }
}

/// Errors while loading a data file.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be read.
    #[error("cannot read data file {path}: {source}")]
    Io {
        /// The full path tried.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A line of a `regexp` file is not a valid regular expression.
    #[error("{file}:{line}: invalid regular expression: {message}")]
    Regex {
        /// The data file name.
        file: String,
        /// 1-based line number.
        line: usize,
        /// The compiler's message.
        message: String,
    },
    /// A line of a `map` file is not a valid entry.
    #[error("{file}:{line}: invalid map entry: {message}")]
    Map {
        /// The data file name.
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// `dest_file` tries to leave the data directory.
    #[error("data file name {0:?} must be a relative path inside the data directory")]
    BadName(String),
}

/// A loaded `map` file: rows in file order, plus indexes by match type.
#[derive(Debug, Default)]
struct MapFile {
    rows: Vec<HashMap<String, String>>,
    equals: HashMap<String, usize>,
    contains: Vec<(String, usize)>,
    regexes: Vec<(Regex, usize)>,
}

/// A loaded `regexp` file: its patterns, as one set when the set fits the size limit.
#[derive(Debug)]
struct RegexFile {
    /// Unique to this load of the file, in the process (keys [`MEMO`]).
    id: u64,
    patterns: Vec<String>,
    set: Option<RegexSet>,
    each: Vec<Regex>,
}

impl RegexFile {
    fn is_match(&self, s: &str) -> bool {
        match &self.set {
            Some(set) => set.is_match(s),
            None => self.each.iter().any(|re| re.is_match(s)),
        }
    }
}

/// Source of [`RegexFile::id`] (0 marks an empty [`MEMO`] slot).
static NEXT_FILE_ID: AtomicU64 = AtomicU64::new(1);

/// Slots of [`MEMO`], and the longest value it keeps.
const MEMO_SLOTS: usize = 512;
const MEMO_MAX_LEN: usize = 1024;

thread_local! {
    /// The last answers of `RegexpInFile` on this thread, by file and value. A log's user
    /// agents repeat: nginx lines of sixteen user agents cost ~4.6k instructions each in the
    /// bad-user-agent set, a memo hit ~100.
    static MEMO: RefCell<Memo> = RefCell::new(Memo::new(MEMO_SLOTS));
}

/// A direct-mapped memo of boolean answers by `(file id, value)`: a value evicts the one in
/// its slot. Values chosen to collide only miss, and cost what no memo would.
#[derive(Debug)]
pub(crate) struct Memo {
    /// File id (0: empty), value, answer.
    slots: Vec<(u64, String, bool)>,
}

impl Memo {
    pub(crate) fn new(slots: usize) -> Self {
        Memo {
            slots: (0..slots.max(1))
                .map(|_| (0, String::new(), false))
                .collect(),
        }
    }

    /// The answer for `s` in file `id` (not 0): remembered, or `compute`d and remembered.
    pub(crate) fn answer(&mut self, id: u64, s: &str, compute: impl FnOnce() -> bool) -> bool {
        let h = foldhash::fast::FixedState::default().hash_one((id, s));
        let at = (h % self.slots.len() as u64) as usize;
        let (sid, value, answer) = &mut self.slots[at];
        if *sid != id || value != s {
            *answer = compute();
            *sid = id;
            value.clear();
            value.push_str(s);
        }
        *answer
    }
}

/// Every data file loaded, by file name (`dest_file`).
#[derive(Debug, Default)]
pub struct DataFiles {
    strings: HashMap<String, Arc<[String]>>,
    regexps: HashMap<String, RegexFile>,
    maps: HashMap<String, MapFile>,
}

/// Lines of a data file that carry data: not empty and not starting with `#`, with 1-based
/// line numbers. Like Go's `bufio.ScanLines`, a `\r` before the `\n` is dropped; other
/// whitespace is kept.
fn data_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

impl DataFiles {
    /// No files loaded.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `data_dir/dest_file` as `kind`. Loading the same name and kind twice is a no-op,
    /// as in CrowdSec.
    pub fn load(
        &mut self,
        data_dir: &Path,
        dest_file: &str,
        kind: DataKind,
    ) -> Result<(), DataError> {
        if self.is_loaded(dest_file, kind) {
            return Ok(());
        }
        let rel = Path::new(dest_file);
        if rel.is_absolute()
            || rel
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(DataError::BadName(dest_file.to_owned()));
        }
        let path = data_dir.join(rel);
        let bytes = std::fs::read(&path).map_err(|source| DataError::Io {
            path: path.clone(),
            source,
        })?;
        let text = String::from_utf8_lossy(&bytes);
        self.load_str(dest_file, &text, kind)
    }

    /// Like [`DataFiles::load`], but when `data_dir/dest_file` is missing also looks for the
    /// file where the hub's data repository keeps it: the path of its `source_url`
    /// (`https://hub-data.crowdsec.net/web/x.txt` → `data_dir/web/x.txt`).
    pub fn load_entry(
        &mut self,
        data_dir: &Path,
        dest_file: &str,
        source_url: &str,
        kind: DataKind,
    ) -> Result<(), DataError> {
        if self.is_loaded(dest_file, kind) || data_dir.join(dest_file).is_file() {
            return self.load(data_dir, dest_file, kind);
        }
        let rel = source_url.split_once("://").map_or("", |(_, rest)| rest);
        let rel = rel.split_once('/').map_or("", |(_, path)| path);
        let rel = rel.split(['?', '#']).next().unwrap_or("");
        if rel.is_empty() || rel.split('/').any(|c| c == "..") || !data_dir.join(rel).is_file() {
            return self.load(data_dir, dest_file, kind);
        }
        let path = data_dir.join(rel);
        let bytes = std::fs::read(&path).map_err(|source| DataError::Io { path, source })?;
        self.load_str(dest_file, &String::from_utf8_lossy(&bytes), kind)
    }

    /// Loads a file's content given as text (used by [`DataFiles::load`] and by tests).
    pub fn load_str(&mut self, name: &str, text: &str, kind: DataKind) -> Result<(), DataError> {
        match kind {
            DataKind::String => {
                let lines: Vec<String> = data_lines(text).map(|(_, l)| l.to_owned()).collect();
                self.strings.insert(name.to_owned(), lines.into());
            }
            DataKind::Regexp => {
                // Each line is checked alone (its line number in the error) but compiled only
                // into the set: compiling hundreds of regexes one by one cost two thirds of
                // loading the nginx hub configuration.
                let mut patterns = Vec::new();
                for (n, l) in data_lines(text) {
                    let regex_error = |message: String| DataError::Regex {
                        file: name.to_owned(),
                        line: n,
                        message,
                    };
                    crate::expr::go_regex::check(l).map_err(regex_error)?;
                    patterns.push((n, l.to_owned()));
                }
                // A set answers "does any match" in one pass; if the combined automaton is too
                // big, each regex is tried in turn.
                let set = crate::expr::go_regex::compile_set(patterns.iter().map(|(_, p)| p)).ok();
                let mut each = Vec::new();
                if set.is_none() {
                    for (n, l) in &patterns {
                        let re =
                            crate::expr::go_regex::compile(l).map_err(|e| DataError::Regex {
                                file: name.to_owned(),
                                line: *n,
                                message: e.to_string(),
                            })?;
                        each.push(re);
                    }
                }
                let patterns = patterns.into_iter().map(|(_, p)| p).collect();
                self.regexps.insert(
                    name.to_owned(),
                    RegexFile {
                        id: NEXT_FILE_ID.fetch_add(1, Ordering::Relaxed),
                        patterns,
                        set,
                        each,
                    },
                );
            }
            DataKind::Map => {
                let m = parse_map_file(name, text)?;
                self.maps.insert(name.to_owned(), m);
            }
        }
        Ok(())
    }

    /// Whether `name` was loaded as `kind`.
    pub fn is_loaded(&self, name: &str, kind: DataKind) -> bool {
        match kind {
            DataKind::String => self.strings.contains_key(name),
            DataKind::Regexp => self.regexps.contains_key(name),
            DataKind::Map => self.maps.contains_key(name),
        }
    }

    /// The lines of a `string` file.
    pub fn lines(&self, name: &str) -> Option<&[String]> {
        self.strings.get(name).map(|l| &**l)
    }

    /// The lines of a `string` file, shared (no copy): what `File("name")` compiles to.
    pub fn shared_lines(&self, name: &str) -> Option<Arc<[String]>> {
        self.strings.get(name).cloned()
    }

    /// Whether any regular expression of a `regexp` file matches `s`; `None` if not loaded.
    /// Recent answers come from a per-thread memo of the last values seen.
    pub fn regexp_match(&self, name: &str, s: &str) -> Option<bool> {
        let f = self.regexps.get(name)?;
        if s.len() > MEMO_MAX_LEN {
            return Some(f.is_match(s));
        }
        Some(MEMO.with_borrow_mut(|memo| memo.answer(f.id, s, || f.is_match(s))))
    }

    /// Whether a loaded `regexp` file is matched as one set (not each regex in turn).
    #[cfg(test)]
    pub(crate) fn regexp_is_set(&self, name: &str) -> Option<bool> {
        self.regexps.get(name).map(|f| f.set.is_some())
    }

    /// The patterns of a `regexp` file.
    pub fn regexp_patterns(&self, name: &str) -> Option<&[String]> {
        self.regexps.get(name).map(|f| f.patterns.as_slice())
    }

    /// The `tag` of the first row of a `map` file matching `haystack`: `equals` rows first,
    /// then `contains` rows (in file order), then `regex` rows. `None` if not loaded.
    pub fn lookup(&self, name: &str, haystack: &str) -> Option<String> {
        let m = self.maps.get(name)?;
        let tag = |row: usize| {
            m.rows
                .get(row)
                .and_then(|r| r.get("tag"))
                .cloned()
                .unwrap_or_default()
        };
        if let Some(&row) = m.equals.get(haystack) {
            return Some(tag(row));
        }
        // Leftmost-first semantics: the earliest match position wins, ties go to file order.
        let best = m
            .contains
            .iter()
            .filter_map(|(p, row)| haystack.find(p.as_str()).map(|pos| (pos, *row)))
            .min_by_key(|(pos, _)| *pos);
        if let Some((_, row)) = best {
            return Some(tag(row));
        }
        for (re, row) in &m.regexes {
            if re.is_match(haystack) {
                return Some(tag(*row));
            }
        }
        Some(String::new())
    }

    /// The rows of a `map` file, each a map of its JSON fields.
    pub fn map_rows(&self, name: &str) -> Option<&[HashMap<String, String>]> {
        self.maps.get(name).map(|m| m.rows.as_slice())
    }
}

fn parse_map_file(name: &str, text: &str) -> Result<MapFile, DataError> {
    let mut m = MapFile::default();
    for (n, l) in data_lines(text) {
        let err = |message: String| DataError::Map {
            file: name.to_owned(),
            line: n,
            message,
        };
        let rec: HashMap<String, String> =
            serde_json::from_str(l).map_err(|e| err(e.to_string()))?;
        for field in ["pattern", "tag", "type"] {
            if rec.get(field).is_none_or(String::is_empty) {
                return Err(err(format!("missing mandatory '{field}' field")));
            }
        }
        let row = m.rows.len();
        let pattern = rec.get("pattern").cloned().unwrap_or_default();
        match rec.get("type").map(String::as_str) {
            Some("equals") => {
                m.equals.insert(pattern, row);
            }
            Some("contains") => m.contains.push((pattern, row)),
            // CrowdSec only logs invalid regexes of map files and skips them.
            Some("regex") => {
                if let Ok(re) = crate::expr::go_regex::compile(&pattern) {
                    m.regexes.push((re, row));
                }
            }
            other => {
                return Err(err(format!(
                    "unknown entry type '{}' (supported: equals, contains, regex)",
                    other.unwrap_or_default()
                )));
            }
        }
        m.rows.push(rec);
    }
    Ok(m)
}

/// Registers the data-file helpers over `data`.
pub(crate) fn register(f: &mut Functions, data: &Arc<DataFiles>) {
    let d = Arc::clone(data);
    f.register(
        "File",
        Arity::Exact(1),
        native(move |a| {
            let name = arg_str("File", a, 0)?;
            Ok(str_list(d.lines(name).unwrap_or_default().iter().cloned()))
        }),
    );
    let d = Arc::clone(data);
    f.register(
        "RegexpInFile",
        Arity::Exact(2),
        native(move |a| {
            let (s, name) = (
                arg_str("RegexpInFile", a, 0)?,
                arg_str("RegexpInFile", a, 1)?,
            );
            Ok(Value::Bool(d.regexp_match(name, s).unwrap_or(false)))
        }),
    );
    let d = Arc::clone(data);
    f.register(
        "LookupFile",
        Arity::Exact(2),
        native(move |a| {
            let (s, name) = (arg_str("LookupFile", a, 0)?, arg_str("LookupFile", a, 1)?);
            Ok(Value::string(d.lookup(name, s).unwrap_or_default()))
        }),
    );
    let d = Arc::clone(data);
    f.register(
        "FileMap",
        Arity::Exact(1),
        native(move |a| {
            let name = arg_str("FileMap", a, 0)?;
            let rows = d.map_rows(name).unwrap_or_default();
            Ok(Value::List(
                rows.iter()
                    .map(|r| {
                        Value::Map(
                            r.iter()
                                .map(|(k, v)| (k.clone(), Value::string(v.clone())))
                                .collect(),
                        )
                    })
                    .collect(),
            ))
        }),
    );
}
