//! What CrowdSec 1.4 (Debian 12's 1.4.6) lacks, checked on the files' text.
//!
//! Content current CrowdSec loads can still stop 1.4.6 at start-up: its strict YAML decoder
//! does not know keys added since (`stash`, `condition`, `bayesian_*`, the regexp cache keys of
//! `data`, `on_error`), its scenario labels are strings only (a list value such as
//! `classification: [attack.T1110]` is refused), its expressions (expr 1.9) have fewer helpers
//! (no `ReplaceAll`, `Split`, `IsIPV4`, ...), fewer `Event` fields (no `Unmarshaled`) and no
//! `??`, `let` or pipes; and it skips parsers of `format: 3.0`. The lists below are read from
//! CrowdSec's v1.4.6 tag (`pkg/exprhelpers/exprlib.go`, `pkg/types/event.go`,
//! `pkg/parser/node.go`, `pkg/leakybucket/manager_load.go`, `pkg/csconfig/profiles.go`) and
//! expr v1.9.0's parser.

use std::path::Path;

use serde_json::Value;

use super::event_fields::{EVENT_METHODS_V14, is_field_v14};
use super::locate::{at_line, line_of, locate_after};
use super::version::{FormatCheck, ItemKind, check_format};
use super::{CrowdsecVersion, Finding, Rule};

/// The helpers of CrowdSec 1.4.6 (`GetExprEnv`) and the builtins of expr 1.9.
pub const HELPERS_V14: &[&str] = &[
    "Atof",
    "JsonExtract",
    "JsonExtractUnescape",
    "JsonExtractLib",
    "JsonExtractSlice",
    "JsonExtractObject",
    "ToJsonString",
    "File",
    "RegexpInFile",
    "Upper",
    "Lower",
    "IpInRange",
    "TimeNow",
    "ParseUri",
    "PathUnescape",
    "QueryUnescape",
    "PathEscape",
    "QueryEscape",
    "XMLGetAttributeValue",
    "XMLGetNodeValue",
    "IpToRange",
    "IsIPV6",
    "LookupHost",
    "GetDecisionsCount",
    "GetDecisionsSinceCount",
    "Sprintf",
    "len",
    "all",
    "none",
    "any",
    "one",
    "filter",
    "map",
    "count",
];

/// Keys of a 1.4.6 parser node.
const NODE_KEYS: &[&str] = &[
    "format",
    "debug",
    "profiling",
    "name",
    "author",
    "description",
    "references",
    "stage",
    "onsuccess",
    "filter",
    "nodes",
    "pattern_syntax",
    "grok",
    "statics",
    "whitelist",
    "data",
];
const GROK_KEYS: &[&str] = &["apply_on", "name", "pattern", "expression", "statics"];
const STATIC_KEYS: &[&str] = &[
    "target",
    "parsed",
    "meta",
    "enriched",
    "value",
    "expression",
    "method",
];
const WHITELIST_KEYS: &[&str] = &["reason", "ip", "cidr", "expression"];
const DATA_KEYS: &[&str] = &["source_url", "dest_file", "type"];
/// Keys of a 1.4.6 scenario (`BucketFactory`).
const SCENARIO_KEYS: &[&str] = &[
    "format",
    "author",
    "description",
    "references",
    "type",
    "name",
    "capacity",
    "leakspeed",
    "duration",
    "filter",
    "groupby",
    "distinct",
    "debug",
    "labels",
    "blackhole",
    "reprocess",
    "cache_size",
    "profiling",
    "overflow_filter",
    "scope",
    "data",
    "cancel_on",
    "version",
    "simulated",
];
const PROFILE_KEYS: &[&str] = &[
    "name",
    "debug",
    "filters",
    "decisions",
    "duration_expr",
    "on_success",
    "on_failure",
    "notifications",
];

/// Reads every YAML document of a file (nothing when it does not decode: the current-version
/// rules report that).
fn documents(path: &Path) -> Option<(String, Vec<Value>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let docs: Vec<Option<Value>> = serde_saphyr::from_multiple(&text).ok()?;
    Some((text, docs.into_iter().flatten().collect()))
}

struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
    out: &'a mut Vec<Finding>,
}

impl Ctx<'_> {
    fn at(&self, needle: &str) -> String {
        at_line(self.path, line_of(self.text, needle))
    }

    fn keys(&mut self, v: &Value, allowed: &[&str], go_type: &str) {
        let Some(map) = v.as_object() else { return };
        for k in map.keys().filter(|k| !allowed.contains(&k.as_str())) {
            let at = self.at(&format!("{k}:"));
            self.out.push(Finding::error(
                Rule::V14Key,
                at,
                format!("field {k} not found in type {go_type}"),
            ));
        }
    }

    fn expression(&mut self, src: &str, evt: bool) {
        let from = line_of(self.text, src).unwrap_or(1);
        let at = at_line(self.path, locate_after(self.text, src, from));
        for (rule, message) in check_expression(src, evt) {
            self.out.push(Finding::error(rule, at.clone(), message));
        }
    }

    fn format(&mut self, v: &Value, kind: ItemKind, name: &str) {
        let format = v.get("format").map(scalar).unwrap_or_default();
        if let FormatCheck::Skipped(why) = check_format(&format, kind, CrowdsecVersion::V1_4) {
            let at = self.at("format:");
            self.out.push(Finding::warning(
                Rule::V14Format,
                at,
                format!("{name} : {why}"),
            ));
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn str_of<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

fn items<'v>(v: &'v Value, key: &str) -> impl Iterator<Item = &'v Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

/// A parser or postoverflow file.
pub fn check_parser_file(path: &Path, out: &mut Vec<Finding>) {
    let Some((text, docs)) = documents(path) else {
        return;
    };
    let mut cx = Ctx {
        path,
        text: &text,
        out,
    };
    for d in &docs {
        let name = str_of(d, "name").unwrap_or_default();
        cx.format(d, ItemKind::Parser, name);
        node(&mut cx, d);
    }
}

fn node(cx: &mut Ctx<'_>, n: &Value) {
    cx.keys(n, NODE_KEYS, "parser.Node");
    if let Some(f) = str_of(n, "filter") {
        cx.expression(f, true);
    }
    if let Some(g) = n.get("grok") {
        cx.keys(g, GROK_KEYS, "types.GrokPattern");
        if let Some(e) = str_of(g, "expression") {
            cx.expression(e, true);
        }
        statics(cx, g);
    }
    statics(cx, n);
    if let Some(w) = n.get("whitelist") {
        cx.keys(w, WHITELIST_KEYS, "parser.Whitelist");
        for e in items(w, "expression").filter_map(Value::as_str) {
            cx.expression(e, true);
        }
    }
    for d in items(n, "data") {
        cx.keys(d, DATA_KEYS, "types.DataSource");
    }
    for child in items(n, "nodes") {
        node(cx, child);
    }
}

fn statics(cx: &mut Ctx<'_>, parent: &Value) {
    for s in items(parent, "statics") {
        cx.keys(s, STATIC_KEYS, "types.ExtraField");
        if let Some(e) = str_of(s, "expression") {
            cx.expression(e, true);
        }
    }
}

/// A scenario file.
pub fn check_scenario_file(path: &Path, out: &mut Vec<Finding>) {
    let Some((text, docs)) = documents(path) else {
        return;
    };
    let mut cx = Ctx {
        path,
        text: &text,
        out,
    };
    for d in &docs {
        let name = str_of(d, "name").unwrap_or_default();
        cx.format(d, ItemKind::Scenario, name);
        cx.keys(d, SCENARIO_KEYS, "leakybucket.BucketFactory");
        for key in [
            "filter",
            "groupby",
            "distinct",
            "overflow_filter",
            "cancel_on",
        ] {
            if let Some(e) = str_of(d, key) {
                cx.expression(e, true);
            }
        }
        if let Some(e) = d.get("scope").and_then(|s| str_of(s, "expression")) {
            cx.expression(e, true);
        }
        for data in items(d, "data") {
            cx.keys(data, DATA_KEYS, "types.DataSource");
        }
        let labels = d
            .get("labels")
            .and_then(Value::as_object)
            .into_iter()
            .flatten();
        for (k, v) in labels {
            let kind = match v {
                Value::Array(_) => "!!seq",
                Value::Object(_) => "!!map",
                _ => continue,
            };
            let at = cx.at(&format!("{k}:"));
            cx.out.push(Finding::error(
                Rule::V14Labels,
                at,
                format!("label {k}: yaml: unmarshal errors: cannot unmarshal {kind} into string"),
            ));
        }
    }
}

/// `profiles.yaml`.
pub fn check_profiles_file(path: &Path, out: &mut Vec<Finding>) {
    let Some((text, docs)) = documents(path) else {
        return;
    };
    let mut cx = Ctx {
        path,
        text: &text,
        out,
    };
    for d in &docs {
        cx.keys(d, PROFILE_KEYS, "csconfig.ProfileCfg");
        for f in items(d, "filters").filter_map(Value::as_str) {
            cx.expression(f, false);
        }
        if let Some(e) = str_of(d, "duration_expr") {
            cx.expression(e, false);
        }
    }
}

/// Problems expr 1.9 with CrowdSec 1.4.6's helpers would have compiling `src`; `evt` when the
/// expression runs on an event (`evt.X` is then checked against 1.4.6's `Event`).
pub fn check_expression(src: &str, evt: bool) -> Vec<(Rule, String)> {
    const KEYWORDS: &[&str] = &[
        "not",
        "in",
        "and",
        "or",
        "matches",
        "contains",
        "startsWith",
        "endsWith",
        "true",
        "false",
        "nil",
    ];
    let mut out = Vec::new();
    let chars: Vec<char> = src.chars().collect();
    let next_non_blank = |mut j: usize| {
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        chars.get(j).copied()
    };
    let mut prev_sig: Option<char> = None;
    let mut prev_ident = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' || c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            prev_sig = Some(c);
            prev_ident.clear();
            continue;
        }
        if c == '`' {
            out.push((
                Rule::V14Syntax,
                "unrecognized character: U+0060 '`' (expr 1.9 has no raw strings)".to_string(),
            ));
            break;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let ident: String = chars[start..i].iter().collect();
            let member = prev_sig == Some('.');
            let call = next_non_blank(i) == Some('(');
            if matches!(ident.as_str(), "let" | "if")
                && !member
                && next_non_blank(i).is_some_and(|c| c.is_alphabetic() || c == '(')
            {
                out.push((Rule::V14Syntax, format!("`{ident}` is newer than expr 1.9")));
            } else if member && evt && prev_ident == "evt" {
                if !is_field_v14(&ident) && !EVENT_METHODS_V14.contains(&ident.as_str()) {
                    out.push((
                        Rule::V14EventField,
                        format!("type *types.Event has no field {ident}"),
                    ));
                }
            } else if call
                && !member
                && !KEYWORDS.contains(&ident.as_str())
                && !HELPERS_V14.contains(&ident.as_str())
            {
                out.push((Rule::V14Helper, format!("unknown func {ident}")));
            }
            // `evt` counts as the object of a member access only when it is not one itself.
            prev_ident = if member && ident == "evt" {
                String::new()
            } else {
                ident
            };
            prev_sig = Some('a');
            continue;
        }
        if c == '?' && chars.get(i + 1) == Some(&'?') {
            out.push((
                Rule::V14Syntax,
                "unexpected token Operator(\"?\") (expr 1.9 has no `??`)".to_string(),
            ));
            i += 2;
            continue;
        }
        if c == '|' {
            if chars.get(i + 1) == Some(&'|') {
                i += 2;
                prev_sig = Some('|');
                prev_ident.clear();
                continue;
            }
            out.push((
                Rule::V14Syntax,
                "unexpected token Operator(\"|\") (expr 1.9 has no pipes)".to_string(),
            ));
        }
        if !c.is_whitespace() {
            prev_sig = Some(c);
            if c != '.' {
                prev_ident.clear();
            }
        }
        i += 1;
    }
    out.dedup();
    out
}
