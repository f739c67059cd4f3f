//! `ParseKV` and `ParseKVLax`: `key=value` pairs of a log line.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::convert::arg_str;
use super::{Arity, Functions, native};
use crate::expr::value::Value;

// Go's `\s` is ASCII only, hence the explicit class.
static STRICT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"(?P<key>[^=\t\n\f\r ]+)=(?:"(?P<quoted>[^"\\]*(?:\\.[^"\\]*)*)"|(?P<value>[^=\t\n\f\r ]+)|[\t\n\f\r ]*)"#,
    )
    .ok()
});
static KEY_START: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"([a-zA-Z_][a-zA-Z0-9_.\-]*)=").ok());

/// Registers `ParseKV` and `ParseKVLax`.
pub(crate) fn register(f: &mut Functions) {
    f.register(
        "ParseKV",
        Arity::Exact(3),
        native(|a| kv_helper("ParseKV", a, false)),
    );
    f.register(
        "ParseKVLax",
        Arity::Exact(3),
        native(|a| kv_helper("ParseKVLax", a, true)),
    );
}

fn kv_helper<'a>(func: &str, a: &[Value<'a>], lax: bool) -> Result<Value<'a>, String> {
    let s = arg_str(func, a, 0)?;
    arg_str(func, a, 2)?;
    let m = parse_kv(s, lax);
    if m.is_empty() {
        return Err(format!("{func}: invalid input format"));
    }
    Ok(Value::Map(
        m.into_iter().map(|(k, v)| (k, Value::string(v))).collect(),
    ))
}

/// Parses the `key=value` pairs of `s` as CrowdSec's `ParseKV` (`lax == false`) or
/// `ParseKVLax` (`lax == true`) do. Later duplicates win.
///
/// Strict mode: values are `"quoted"` (kept raw, escapes included), bare words, or empty.
/// Lax mode: a value runs until the next `key=` that is not inside quotes; it is trimmed, and
/// when fully quoted the quotes are removed and `\"`, `\\` unescaped.
///
/// An empty result is the case where CrowdSec fails with "invalid input format".
pub fn parse_kv(s: &str, lax: bool) -> BTreeMap<String, String> {
    if lax { parse_lax(s) } else { parse_strict(s) }
}

fn parse_strict(s: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    let Some(re) = STRICT.as_ref() else { return m };
    for c in re.captures_iter(s) {
        let key = c.name("key").map_or("", |k| k.as_str());
        let value = c
            .name("quoted")
            .filter(|v| !v.as_str().is_empty())
            .or_else(|| c.name("value"))
            .map_or("", |v| v.as_str());
        m.insert(key.to_owned(), value.to_owned());
    }
    m
}

fn parse_lax(s: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    let Some(re) = KEY_START.as_ref() else {
        return m;
    };
    let starts: Vec<(usize, usize, &str)> = re
        .captures_iter(s)
        .filter_map(|c| {
            let whole = c.get(0)?;
            let key = c.get(1)?;
            (!inside_quotes(s, whole.start())).then_some((whole.start(), whole.end(), key.as_str()))
        })
        .collect();
    for (i, (_, val_start, key)) in starts.iter().enumerate() {
        let val_end = starts.get(i + 1).map_or(s.len(), |n| n.0);
        let raw = s.get(*val_start..val_end).unwrap_or("").trim();
        m.insert((*key).to_owned(), lax_value(raw));
    }
    m
}

fn lax_value(s: &str) -> String {
    let Some(body) = s.strip_prefix('"') else {
        return s.to_owned();
    };
    match body.strip_suffix('"') {
        Some(inner) if s.len() >= 2 => inner.replace("\\\\", "\\").replace("\\\"", "\""),
        _ => body.to_owned(),
    }
}

/// Whether byte position `pos` is inside a double-quoted section (unescaped quotes up to and
/// including `pos` are counted).
fn inside_quotes(s: &str, pos: usize) -> bool {
    let b = s.as_bytes();
    let mut inq = false;
    for (i, c) in b.iter().enumerate().take(pos.saturating_add(1)) {
        if *c != b'"' {
            continue;
        }
        let backslashes = b
            .get(..i)
            .unwrap_or_default()
            .iter()
            .rev()
            .take_while(|c| **c == b'\\')
            .count();
        if backslashes % 2 == 0 {
            inq = !inq;
        }
    }
    inq
}
