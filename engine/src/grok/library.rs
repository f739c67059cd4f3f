//! The named-pattern library and grok expansion, following grokky (CrowdSec's grok engine).
//!
//! Expansion mirrors grokky exactly, including its quirks:
//! - only `%{NAME}` and `%{NAME:field}` with ASCII word characters are references; anything
//!   else (`%{INT:bytes:int}`, `%{DATA:a-b}`) stays in the regex as literal text;
//! - each reference becomes a capturing group; a field is addressed by group number, computed
//!   by counting `(` in the literal text between references with grokky's own approximate rule
//!   (so a field can be bound to the group grokky would bind it to, even when that is off);
//! - regex named groups are never fields; unnamed references contribute their inner fields;
//! - for a duplicate field, a field named at the top level beats one from inside a reference,
//!   and among equals the last one wins.

use std::collections::HashMap;
use std::path::Path;
use std::sync::LazyLock;

use foldhash::HashMap as FastMap;
use regex::Regex;

use super::base::BASE_PATTERNS;
use super::translate::translate;
use super::{Grok, GrokError};

/// Grok reference syntax, as grokky matches it: `%{NAME}` or `%{NAME:field}`.
static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"%\{([0-9A-Za-z_]+)(?::([0-9A-Za-z_]+))?\}").unwrap_or_else(|_| unreachable!())
});
/// grokky's count of non-capturing openings `(?flags:`.
static NON_CAP_LEFT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\(\?[imsU\-]*:").unwrap_or_else(|_| unreachable!()));
/// grokky's count of flag groups; note the optional `(`, which grokky has too.
static NON_CAP_FLAGS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\(?[imsU\-]+\)").unwrap_or_else(|_| unreachable!()));
/// A pattern-file line: a word name, blanks, then the pattern.
static LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([0-9A-Za-z_]+)[\t\n\x0C\r ]+(.+)$").unwrap_or_else(|_| unreachable!())
});

/// The files of a patterns directory CrowdSec reads, in name order: no subdirectory, no name
/// with a dot.
fn pattern_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, GrokError> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
        let entry = entry.map_err(|e| io_error(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type().map_err(|e| io_error(dir, e))?.is_dir();
        if !name.contains('.') && !is_dir {
            files.push((name, entry.path()));
        }
    }
    files.sort();
    Ok(files.into_iter().map(|(_, p)| p).collect())
}

fn io_error(path: &Path, e: std::io::Error) -> GrokError {
    GrokError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Whether a pattern's regex compiles, each reference standing for a group (a referenced
/// pattern was checked when it was added, and a valid regex is valid inside a group). Only the
/// syntax is checked: the tiny size limit stops the compiler right after parsing.
fn check_syntax(pattern: &str) -> Result<(), String> {
    let bare = REFERENCE.replace_all(pattern, "()");
    let t = translate(&bare)?;
    match regex::RegexBuilder::new(&t.regex).size_limit(1).build() {
        Ok(_) | Err(regex::Error::CompiledTooBig(_)) => Ok(()),
        Err(e) => {
            // regex prints the pattern, a caret line and "error: why": keep the why.
            let text = e.to_string();
            let why = text
                .lines()
                .find_map(|l| l.strip_prefix("error: "))
                .unwrap_or(&text)
                .to_string();
            Err(format!("{why}: `{pattern}`"))
        }
    }
}

/// A set of named grok patterns, starting with grokky's built-in base patterns.
#[derive(Debug, Clone)]
pub struct PatternLibrary {
    patterns: FastMap<String, String>,
}

impl Default for PatternLibrary {
    fn default() -> Self {
        Self::new()
    }
}

/// One expanded pattern: Go regex text, field → group number, and group count.
#[derive(Debug, Clone)]
struct Expanded {
    regex: String,
    fields: HashMap<String, usize>,
    groups: usize,
}

/// grokky's approximate count of capturing groups in literal regex text.
fn cap_count(s: &str) -> isize {
    let opens = s.matches('(').count() as isize;
    let non_cap = NON_CAP_LEFT.find_iter(s).count() as isize;
    let flags = NON_CAP_FLAGS.find_iter(s).count() as isize;
    let escaped = s.matches(r"\(").count() as isize;
    opens - non_cap - flags - escaped
}

impl PatternLibrary {
    /// A library holding grokky's base patterns (`USERNAME`, `IP`, `SYSLOGBASE`, ...), as
    /// CrowdSec starts with.
    pub fn new() -> Self {
        let patterns = BASE_PATTERNS
            .iter()
            .map(|(n, p)| ((*n).to_string(), (*p).to_string()))
            .collect();
        Self { patterns }
    }

    /// A library with no pattern at all.
    pub fn empty() -> Self {
        Self {
            patterns: FastMap::default(),
        }
    }

    /// Number of named patterns.
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// Whether the library has no pattern.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Loads every file of a patterns directory (CrowdSec format), in name order, skipping
    /// subdirectories and names containing a dot, as CrowdSec does. Lines that are not
    /// `NAME pattern` (comments, blanks) are ignored. Defining a name twice is an error, as in
    /// CrowdSec; errors name file:line. References are resolved at [`Self::compile`], wherever
    /// they are defined (hivewall's lenient reading; see [`Self::load_dir_checked`]).
    pub fn load_dir(&mut self, dir: &Path) -> Result<(), GrokError> {
        match self
            .load_dir_checked(dir)?
            .into_iter()
            .find(|p| matches!(p, GrokError::Duplicate { .. }))
        {
            Some(dup) => Err(dup),
            None => Ok(()),
        }
    }

    /// Loads a patterns directory as CrowdSec's grok library does, one pattern at a time:
    /// files in name order, lines in file order, each pattern checked as it is added (its
    /// references must name patterns defined before it, its regex must compile; a name defined
    /// twice keeps its first definition). Returns every problem CrowdSec would stop at, in
    /// order (CrowdSec stops at the first); the patterns are added anyway, so that one problem
    /// does not hide the next. `Err` only when the directory cannot be read.
    pub fn load_dir_checked(&mut self, dir: &Path) -> Result<Vec<GrokError>, GrokError> {
        let mut problems = Vec::new();
        for path in pattern_files(dir)? {
            let text = std::fs::read_to_string(&path).map_err(|e| io_error(&path, e))?;
            // Go's bufio.Scanner: lines end at \n, and a \r before it is dropped.
            for (n, line) in text.split('\n').enumerate() {
                let line = line.strip_suffix('\r').unwrap_or(line);
                let Some(caps) = LINE.captures(line) else {
                    continue;
                };
                let (name, pattern) = (&caps[1], &caps[2]);
                let location = format!("{}:{}", path.display(), n + 1);
                match self.check_new(name, pattern, &location) {
                    Ok(()) => {}
                    Err(e @ GrokError::Duplicate { .. }) => {
                        problems.push(e);
                        continue;
                    }
                    Err(e) => problems.push(e),
                }
                self.patterns.insert(name.to_string(), pattern.to_string());
            }
        }
        Ok(problems)
    }

    /// Adds a pattern as CrowdSec adds a parser's `pattern_syntax` entry: `Ok(false)` (nothing
    /// added) when the name exists already (CrowdSec warns and keeps the first), an error when
    /// it refers to a pattern not defined yet or does not compile. `location` names it in
    /// errors.
    pub fn add_checked(
        &mut self,
        name: &str,
        pattern: &str,
        location: &str,
    ) -> Result<bool, GrokError> {
        match self.check_new(name, pattern, location) {
            Ok(()) => {
                self.add(name, pattern);
                Ok(true)
            }
            Err(GrokError::Duplicate { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// grokky's `Add` checks, without adding: a new name, references to existing patterns only,
    /// a regex that compiles.
    fn check_new(&self, name: &str, pattern: &str, location: &str) -> Result<(), GrokError> {
        if self.patterns.contains_key(name) {
            return Err(GrokError::Duplicate {
                location: location.to_string(),
                name: name.to_string(),
            });
        }
        if let Some(missing) = REFERENCE
            .captures_iter(pattern)
            .map(|c| c[1].to_string())
            .find(|r| !self.patterns.contains_key(r))
        {
            return Err(GrokError::NotYetDefined {
                location: location.to_string(),
                name: missing,
            });
        }
        check_syntax(pattern).map_err(|message| GrokError::InvalidPattern {
            location: location.to_string(),
            name: name.to_string(),
            message,
        })
    }

    /// Adds or overrides one named pattern (a parser's `pattern_syntax` entries).
    ///
    /// Note: CrowdSec shares one library between all parsers and keeps the *first*
    /// definition of a name (it warns and ignores later ones); see [`Self::add_if_absent`].
    pub fn add(&mut self, name: &str, pattern: &str) {
        self.patterns.insert(name.to_string(), pattern.to_string());
    }

    /// Adds a named pattern only if the name is not defined yet (CrowdSec's `pattern_syntax`
    /// behaviour). Returns whether it was added.
    pub fn add_if_absent(&mut self, name: &str, pattern: &str) -> bool {
        if self.patterns.contains_key(name) {
            return false;
        }
        self.add(name, pattern);
        true
    }

    /// The names of all patterns, in no particular order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.patterns.keys().map(String::as_str)
    }

    /// The raw text of a named pattern.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.patterns.get(name).map(String::as_str)
    }

    /// Expands `%{NAME}` / `%{NAME:field}`, translates to Rust syntax and compiles once.
    pub fn compile(&self, pattern: &str) -> Result<Grok, GrokError> {
        if pattern.is_empty() {
            return Err(GrokError::Empty);
        }
        let mut memo = HashMap::new();
        let exp = self.expand(pattern, None, &mut Vec::new(), &mut memo)?;
        Grok::build(pattern, None, exp.regex, exp.fields, exp.groups)
    }

    /// Compiles the named pattern itself (a parser's `grok: {name: ...}`), like grokky's `Get`.
    pub fn compile_named(&self, name: &str) -> Result<Grok, GrokError> {
        let text = self.get(name).ok_or_else(|| GrokError::UnknownPattern {
            name: name.to_string(),
            within: None,
        })?;
        let mut memo = HashMap::new();
        let exp = self.expand(text, Some(name), &mut vec![name.to_string()], &mut memo)?;
        Grok::build(text, Some(name), exp.regex, exp.fields, exp.groups)
    }

    fn expand(
        &self,
        expr: &str,
        name: Option<&str>,
        stack: &mut Vec<String>,
        memo: &mut HashMap<String, Expanded>,
    ) -> Result<Expanded, GrokError> {
        let translate_err = |regex: &str, message: String| GrokError::Regex {
            name: name.unwrap_or("<inline>").to_string(),
            regex: regex.to_string(),
            message,
        };
        let refs: Vec<_> = REFERENCE.captures_iter(expr).collect();
        if refs.is_empty() {
            let t = translate(expr).map_err(|m| translate_err(expr, m))?;
            return Ok(Expanded {
                regex: expr.to_string(),
                fields: HashMap::new(),
                groups: t.groups,
            });
        }
        let mut top = Vec::new();
        for c in &refs {
            let sub = &c[1];
            if !self.patterns.contains_key(sub) {
                return Err(GrokError::UnknownPattern {
                    name: sub.to_string(),
                    within: name.map(str::to_string),
                });
            }
            top.push(c.get(2).map_or("", |m| m.as_str()));
        }
        let mut fields = HashMap::new();
        let mut order: isize = 1;
        let mut res = String::with_capacity(expr.len() * 4);
        let mut last = 0;
        for c in &refs {
            let whole = c.get(0).map_or(0..0, |m| m.range());
            let literal = &expr[last..whole.start];
            last = whole.end;
            order += cap_count(literal);
            let sub_name = &c[1];
            let sub = self.expand_named(sub_name, stack, memo)?;
            res.push_str(literal);
            res.push('(');
            res.push_str(&sub.regex);
            res.push(')');
            if let Some(field) = c.get(2) {
                fields.insert(field.as_str().to_string(), order);
            }
            for (k, v) in &sub.fields {
                if !top.contains(&k.as_str()) {
                    fields.insert(k.clone(), order + *v as isize);
                }
            }
            order += sub.groups as isize + 1;
        }
        res.push_str(&expr[last..]);
        let t = translate(&res).map_err(|m| translate_err(&res, m))?;
        let fields = fields
            .into_iter()
            .filter_map(|(k, v)| usize::try_from(v).ok().map(|v| (k, v)))
            .collect();
        Ok(Expanded {
            regex: res,
            fields,
            groups: t.groups,
        })
    }

    fn expand_named(
        &self,
        name: &str,
        stack: &mut Vec<String>,
        memo: &mut HashMap<String, Expanded>,
    ) -> Result<Expanded, GrokError> {
        if let Some(e) = memo.get(name) {
            return Ok(e.clone());
        }
        if stack.iter().any(|s| s == name) {
            let mut chain = stack.clone();
            chain.push(name.to_string());
            return Err(GrokError::Recursive {
                chain: chain.join(" -> "),
            });
        }
        let text = self.get(name).ok_or_else(|| GrokError::UnknownPattern {
            name: name.to_string(),
            within: None,
        })?;
        stack.push(name.to_string());
        let exp = self.expand(text, Some(name), stack, memo);
        stack.pop();
        let exp = exp?;
        memo.insert(name.to_string(), exp.clone());
        Ok(exp)
    }
}
