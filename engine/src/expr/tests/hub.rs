//! Every expression in the CrowdSec hub must parse.

use std::path::{Path, PathBuf};

use crate::expr::parser::parse;

const KEYS: &[&str] = &[
    "filter",
    "expression",
    "groupby",
    "distinct",
    "cancel_on",
    "condition",
    "scope_expression",
    "meta_expression",
];

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
}

fn collect(v: &serde_json::Value, key: Option<&str>, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                collect(v, Some(k), out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect(x, key, out)),
        serde_json::Value::String(s) if key.is_some_and(|k| KEYS.contains(&k)) => {
            out.push(s.clone())
        }
        _ => {}
    }
}

/// Every expression of the hub's parsers, scenarios and postoverflows, and every line of
/// its tests' assert files, with the file it comes from; and how many files were read.
pub(crate) fn hub_expressions() -> (Vec<(String, String)>, usize) {
    let hub_dir = crate::testdata::shared("crowdsec/hub");
    let hub = hub_dir.as_path();
    let mut files = Vec::new();
    for sub in ["parsers", "scenarios", "postoverflows"] {
        walk(&hub.join(sub), &mut files);
    }
    let mut exprs = Vec::new();
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text).unwrap_or_default();
        let mut found = Vec::new();
        for d in &docs {
            collect(d, None, &mut found);
        }
        exprs.extend(found.into_iter().map(|e| (f.display().to_string(), e)));
    }
    if let Ok(rd) = std::fs::read_dir(hub.join(".tests")) {
        for d in rd.flatten() {
            for name in ["parser.assert", "scenario.assert"] {
                if let Ok(text) = std::fs::read_to_string(d.path().join(name)) {
                    for line in text.lines().filter(|l| !l.trim().is_empty()) {
                        exprs.push((d.path().join(name).display().to_string(), line.to_string()));
                    }
                }
            }
        }
    }
    (exprs, files.len())
}

#[test]
fn all_hub_expressions_parse() {
    let (exprs, files) = hub_expressions();
    let asserts = exprs.iter().filter(|(f, _)| f.ends_with(".assert")).count();
    let mut failed = Vec::new();
    for (file, e) in &exprs {
        if let Err(err) = parse(e) {
            failed.push(format!("{file}: {e:?}: {} at {}", err.msg, err.col + 1));
        }
    }
    eprintln!(
        "hub: {} files, {} expressions ({} assert lines), {} failed",
        files,
        exprs.len(),
        asserts,
        failed.len()
    );
    for f in failed.iter().take(30) {
        eprintln!("  {f}");
    }
    assert!(
        failed.is_empty(),
        "{} hub expressions failed to parse",
        failed.len()
    );
}
