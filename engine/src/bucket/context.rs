//! Alert context (CrowdSec's `alertcontext`): expressions evaluated on the events of an
//! overflowing bucket, whose values go into the alert's `meta`.
//!
//! Context comes from hub items (`contexts/*.yaml`, under a `context:` key) and from the older
//! `console/context.yaml` (the map at the top level): per key, a list of expressions over `evt`
//! (and `match`, `req`, which only AppSec fills; here they are an empty rule and an empty
//! request). Files are merged key by key, dropping repeated expressions. At overflow every
//! expression runs on every event of the bucket's queue, oldest first; each key collects the
//! distinct non-empty values in the order they were found, and becomes one meta item whose value
//! is the JSON array of those strings, cut to the maximum length (the last values dropped, a
//! single value halved with `...` until it fits). Items come sorted by key (Go's map order is
//! random).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::expr::functions::Functions;
use crate::expr::functions::json::write_json_str;
use crate::expr::{Object, Program, Value};

use super::load::LoadError;
use super::overflow::MetaItem;

/// The longest JSON text of one meta value (CrowdSec's `MaxContextValueLen`).
pub const MAX_VALUE_LEN: usize = 4000;

/// The variables of context expressions, in order.
pub const CONTEXT_VARS: &[&str] = &["evt", "match", "req"];

/// The members of a queued event that a compact event answers as a whole one would
/// ([`super::queue::CompactEvent`]): context reading only these needs no whole events.
const COMPACT_MEMBERS: &[&str] = &["Meta", "Type", "Overflow"];

/// One context expression and the file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextExpr {
    /// The expression text.
    pub expression: String,
    /// The file that declared it first.
    pub file: PathBuf,
}

/// The merged context configuration, before compilation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextConfig {
    /// Expressions per key, in the order files declared them, without repeats.
    pub keys: BTreeMap<String, Vec<ContextExpr>>,
    /// `console_context_value_length` of `config.yaml` (0: [`MAX_VALUE_LEN`]; more than it is
    /// cut to it).
    pub value_length: usize,
}

/// A hub context item: only its `context:` key matters.
#[derive(Debug, Default, Deserialize)]
struct ContextItem {
    #[serde(default)]
    context: Option<BTreeMap<String, Option<Vec<String>>>>,
}

fn read(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn yaml_error(path: &Path, e: impl std::fmt::Display) -> LoadError {
    LoadError::Yaml {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

impl ContextConfig {
    /// Whether no expression is configured.
    pub fn is_empty(&self) -> bool {
        self.keys.values().all(Vec::is_empty)
    }

    /// Merges `map` (from `file`): new keys are added, expressions already listed under a key
    /// are not repeated.
    pub fn merge(&mut self, file: &Path, map: BTreeMap<String, Option<Vec<String>>>) {
        for (key, exprs) in map {
            let list = self.keys.entry(key).or_default();
            for e in exprs.into_iter().flatten() {
                if !list.iter().any(|c| c.expression == e) {
                    list.push(ContextExpr {
                        expression: e,
                        file: file.to_path_buf(),
                    });
                }
            }
        }
    }

    /// Merges a hub context item (`contexts/<name>.yaml`: the expressions under `context:`).
    /// An item without context is a warning, as in CrowdSec.
    pub fn add_item(&mut self, path: &Path, warnings: &mut Vec<String>) -> Result<(), LoadError> {
        let text = read(path)?;
        let item: Option<ContextItem> =
            serde_saphyr::from_str(&text).map_err(|e| yaml_error(path, e))?;
        match item.and_then(|i| i.context).filter(|c| !c.is_empty()) {
            Some(map) => self.merge(path, map),
            None => warnings.push(format!(
                "{}: no context to send; context data goes under the 'context:' key",
                path.display()
            )),
        }
        Ok(())
    }

    /// Merges a console context file (`console/context.yaml`: the map at the top level; an
    /// empty file is no context).
    pub fn add_console_file(&mut self, path: &Path) -> Result<(), LoadError> {
        let text = read(path)?;
        let map: Option<BTreeMap<String, Option<Vec<String>>>> =
            serde_saphyr::from_str(&text).map_err(|e| yaml_error(path, e))?;
        self.merge(path, map.unwrap_or_default());
        Ok(())
    }
}

/// Compiled alert context, shared by every scenario.
#[derive(Debug)]
pub struct AlertContext {
    /// Programs per key, keys sorted.
    keys: Vec<(String, Vec<Program>)>,
    /// The longest JSON text of a meta value.
    max_len: usize,
    /// Whether some expression reads more of an event than a compact queued event keeps.
    full_events: bool,
}

impl AlertContext {
    /// Compiles `cfg` with `functions`; `None` when it has no expression. An expression that
    /// calls a helper hivewall does not implement (`JA4H` of AppSec requests) is left out with
    /// a warning; any other compilation error fails, as in CrowdSec.
    pub fn compile(
        cfg: &ContextConfig,
        functions: &Arc<Functions>,
        warnings: &mut Vec<String>,
    ) -> Result<Option<AlertContext>, LoadError> {
        let compiler = crate::event::compiler(functions.clone(), CONTEXT_VARS);
        let mut keys = Vec::new();
        let mut full_events = false;
        for (key, exprs) in &cfg.keys {
            let mut programs = Vec::new();
            for e in exprs {
                match compiler.compile(&e.expression) {
                    Ok(p) => {
                        full_events |= p
                            .members_read(0)
                            .is_none_or(|m| m.iter().any(|f| !COMPACT_MEMBERS.contains(&&**f)));
                        programs.push(p);
                    }
                    Err(err) if err.message.starts_with("unknown function ") => {
                        warnings.push(format!(
                            "{}: context {key:?}: {err}; this expression is left out",
                            e.file.display()
                        ));
                    }
                    Err(err) => {
                        return Err(LoadError::Context {
                            path: e.file.clone(),
                            key: key.clone(),
                            message: err.to_string(),
                        });
                    }
                }
            }
            if !programs.is_empty() {
                keys.push((key.clone(), programs));
            }
        }
        if keys.is_empty() {
            return Ok(None);
        }
        let max_len = match cfg.value_length {
            0 => MAX_VALUE_LEN,
            n => n.min(MAX_VALUE_LEN),
        };
        Ok(Some(AlertContext {
            keys,
            max_len,
            full_events,
        }))
    }

    /// Whether buckets must keep whole events for this context (an expression reads more than
    /// `Meta`, or reads the event in a way that cannot be told).
    pub fn needs_full_events(&self) -> bool {
        self.full_events
    }

    /// The meta items of an alert whose bucket holds `events` (oldest first). Evaluation
    /// errors are logged and skipped, as in CrowdSec.
    pub fn meta<'e>(&self, events: impl IntoIterator<Item = &'e dyn Object>) -> Vec<MetaItem> {
        let mut found: Vec<Found> = self.keys.iter().map(|_| Found::default()).collect();
        let rule = Value::Map(BTreeMap::new());
        for evt in events {
            let vars = [Value::Obj(evt), rule.clone(), Value::Obj(&EmptyRequest)];
            for ((key, programs), out) in self.keys.iter().zip(found.iter_mut()) {
                for p in programs {
                    match p.eval(&vars) {
                        Ok(v) => out.add_value(v),
                        Err(e) => {
                            tracing::warn!(key = %key, error = %e, "Alert context value failed.");
                        }
                    }
                }
            }
        }
        self.keys
            .iter()
            .zip(found)
            .filter(|(_, f)| !f.values.is_empty())
            .map(|((key, _), f)| MetaItem {
                key: key.clone(),
                value: truncate(f.values, self.max_len),
            })
            .collect()
    }
}

/// The distinct values found for one key, in order.
#[derive(Default)]
struct Found {
    values: Vec<String>,
    seen: HashSet<String>,
}

impl Found {
    fn push(&mut self, s: String) {
        if !s.is_empty() && !self.seen.contains(&s) {
            self.seen.insert(s.clone());
            self.values.push(s);
        }
    }

    /// Go `EvalAlertContextRules`: strings and ints (and lists of them) one by one, zero values
    /// and nil skipped, anything else as `fmt`'s `%v` prints it. (CrowdSec panics on a `true` or
    /// a non-zero float; they are printed here.)
    fn add_value(&mut self, v: Value<'_>) {
        match v {
            Value::Nil | Value::Bool(false) | Value::Duration(0) => {}
            // Go's `IsZero` of a float: all bits zero (-0.0 is printed).
            Value::Float(f) if f.to_bits() == 0 => {}
            Value::Str(s) => self.push(s.into_owned()),
            Value::Int(i) => self.push(i.to_string()),
            Value::List(l) if l.is_empty() => {}
            Value::List(l) if l.iter().all(|x| matches!(x, Value::Str(_) | Value::Int(_))) => {
                for x in l {
                    self.push(x.go_string().into_owned());
                }
            }
            other => self.push(other.go_string().into_owned()),
        }
    }
}

/// Go `TruncateContext`: the JSON array of `values`, dropping the last values while it is
/// longer than `max_len` bytes, and halving the last one (bytes, then `...`) when it is alone.
/// Stops when halving no longer shortens it (Go loops forever there).
pub fn truncate(values: Vec<String>, max_len: usize) -> String {
    let mut vals: Vec<Vec<u8>> = values.into_iter().map(String::into_bytes).collect();
    let mut ret = json_list(&vals);
    while ret.len() > max_len {
        match vals.as_mut_slice() {
            [] => break,
            [only] => {
                let mut cut = only[..only.len() / 2].to_vec();
                cut.extend_from_slice(b"...");
                if cut == *only {
                    break;
                }
                *only = cut;
            }
            _ => {
                vals.pop();
            }
        }
        ret = json_list(&vals);
    }
    ret
}

/// Go's `json.Marshal` of a `[]string` whose strings may end in a cut UTF-8 sequence (each
/// invalid byte becomes `\ufffd`).
fn json_list(vals: &[Vec<u8>]) -> String {
    let mut out = String::from("[");
    for (i, v) in vals.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        for chunk in v.utf8_chunks() {
            let mut quoted = String::new();
            write_json_str(&mut quoted, chunk.valid());
            out.push_str(&quoted[1..quoted.len() - 1]);
            for _ in chunk.invalid() {
                out.push_str("\\ufffd");
            }
        }
        out.push('"');
    }
    out.push(']');
    out
}

/// The zero `http.Request` CrowdSec gives context expressions outside AppSec.
struct EmptyRequest;

const REQUEST_FIELDS: &[&str] = &[
    "Method",
    "URL",
    "Proto",
    "ProtoMajor",
    "ProtoMinor",
    "Header",
    "ContentLength",
    "Close",
    "Host",
    "Form",
    "PostForm",
    "Trailer",
    "RemoteAddr",
    "RequestURI",
];

impl Object for EmptyRequest {
    fn type_name(&self) -> &'static str {
        "*http.Request"
    }

    fn member(&self, name: &str) -> Option<Value<'_>> {
        Some(match name {
            "Method" | "Proto" | "Host" | "RemoteAddr" | "RequestURI" => Value::str(""),
            "ProtoMajor" | "ProtoMinor" | "ContentLength" => Value::Int(0),
            "Close" => Value::Bool(false),
            "Header" | "Form" | "PostForm" | "Trailer" => Value::Map(BTreeMap::new()),
            "URL" => Value::Nil,
            _ => return None,
        })
    }

    fn keys(&self) -> Vec<std::borrow::Cow<'_, str>> {
        REQUEST_FIELDS
            .iter()
            .map(|f| std::borrow::Cow::Borrowed(*f))
            .collect()
    }

    fn call_method(&self, name: &str, args: &[Value<'_>]) -> Option<Result<Value<'_>, String>> {
        match (name, args) {
            ("UserAgent" | "Referer", []) => Some(Ok(Value::str(""))),
            ("UserAgent" | "Referer", _) => Some(Err(format!("{name} takes no argument"))),
            _ => None,
        }
    }

    fn to_value(&self) -> Value<'_> {
        Value::Map(
            REQUEST_FIELDS
                .iter()
                .filter_map(|k| self.member(k).map(|v| (k.to_string(), v)))
                .collect(),
        )
    }
}
