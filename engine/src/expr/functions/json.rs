//! JSON helpers: `JsonExtract*` (a lenient path lookup over the raw text, like the `jsonparser`
//! Go library CrowdSec uses), `ToJsonString` (Go's `json.Marshal`) and `UnmarshalJSON`.

use std::fmt::Write as _;

use super::convert::{arg, arg_cow, arg_str, json_to_go_value};
use super::{Arity, Functions, native};
use crate::expr::value::Value;

/// The type of a JSON value found by [`json_get`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    /// A string; the raw text is between the quotes, still escaped.
    String,
    /// A number; the raw text is the number literal.
    Number,
    /// An object; the raw text includes the braces.
    Object,
    /// An array; the raw text includes the brackets.
    Array,
    /// `true` or `false`.
    Boolean,
    /// `null`.
    Null,
}

/// Registers the JSON helpers.
pub(crate) fn register(f: &mut Functions) {
    f.register(
        "JsonExtract",
        Arity::Exact(2),
        native(|a| {
            let path = split_path(arg_str("JsonExtract", a, 1)?);
            let blob = arg_cow("JsonExtract", a, 0)?;
            Ok(raw_result(blob, &path))
        }),
    );
    f.register(
        "JsonExtractLib",
        Arity::AtLeast(1),
        native(|a| {
            let path = variadic_path("JsonExtractLib", a)?;
            let blob = arg_cow("JsonExtractLib", a, 0)?;
            Ok(raw_result(blob, &path))
        }),
    );
    f.register(
        "JsonExtractUnescape",
        Arity::AtLeast(1),
        native(|a| {
            let path = variadic_path("JsonExtractUnescape", a)?;
            let blob = arg_str("JsonExtractUnescape", a, 0)?;
            let keys: Vec<&str> = path.iter().map(String::as_str).collect();
            Ok(match json_get(blob, &keys) {
                Some((raw, JsonKind::String)) => {
                    Value::string(unescape_json_str(raw).unwrap_or_default())
                }
                _ => Value::str(""),
            })
        }),
    );
    f.register(
        "JsonExtractSlice",
        Arity::Exact(2),
        native(|a| {
            let v = typed_extract(
                arg_str("JsonExtractSlice", a, 0)?,
                arg_str("JsonExtractSlice", a, 1)?,
                JsonKind::Array,
            );
            Ok(v.unwrap_or(Value::List(Vec::new())))
        }),
    );
    f.register(
        "JsonExtractObject",
        Arity::Exact(2),
        native(|a| {
            let v = typed_extract(
                arg_str("JsonExtractObject", a, 0)?,
                arg_str("JsonExtractObject", a, 1)?,
                JsonKind::Object,
            );
            Ok(v.unwrap_or(Value::Map(Default::default())))
        }),
    );
    f.register(
        "ToJsonString",
        Arity::Exact(1),
        native(|a| {
            Ok(Value::string(
                to_go_json(arg("ToJsonString", a, 0)?).unwrap_or_default(),
            ))
        }),
    );
    f.register(
        "UnmarshalJSON",
        Arity::Exact(3),
        native(|a| {
            let src = arg_str("UnmarshalJSON", a, 0)?;
            arg_str("UnmarshalJSON", a, 2)?;
            let j = unmarshal_json(src).map_err(|e| format!("UnmarshalJSON: {e}"))?;
            Ok(json_to_go_value(&j))
        }),
    );
}

/// Parses a JSON document the way CrowdSec's `UnmarshalJSON` does before storing it.
///
/// Convert the result with [`super::convert::json_to_go_value`] to get Go's view of it (all
/// numbers `float64`).
pub fn unmarshal_json(s: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(s).map_err(|e| e.to_string())
}

/// CrowdSec's `JsonExtract` path syntax: `a.b[0].c`, split on dots, `[N]` being an array index.
pub fn split_path(target: &str) -> Vec<String> {
    let t = if target.starts_with('[') {
        target.to_owned()
    } else {
        target.replace('[', ".[")
    };
    t.split('.').map(str::to_owned).collect()
}

fn variadic_path(func: &str, a: &[Value<'_>]) -> Result<Vec<String>, String> {
    (1..a.len())
        .map(|i| arg_str(func, a, i).map(str::to_owned))
        .collect()
}

fn raw_result<'a>(blob: &std::borrow::Cow<'a, str>, path: &[String]) -> Value<'a> {
    let keys: Vec<&str> = path.iter().map(String::as_str).collect();
    match blob {
        std::borrow::Cow::Borrowed(b) => match json_get(b, &keys) {
            Some((raw, _)) => Value::str(raw),
            None => Value::str(""),
        },
        std::borrow::Cow::Owned(b) => match json_get(b, &keys) {
            Some((raw, _)) => Value::string(raw.to_owned()),
            None => Value::str(""),
        },
    }
}

fn typed_extract(blob: &str, target: &str, kind: JsonKind) -> Option<Value<'static>> {
    let path = split_path(target);
    let keys: Vec<&str> = path.iter().map(String::as_str).collect();
    let (raw, k) = json_get(blob, &keys)?;
    if k != kind {
        return None;
    }
    let j: serde_json::Value = serde_json::from_str(raw).ok()?;
    Some(json_to_go_value(&j))
}

/// Unescapes the inside of a JSON string literal.
pub fn unescape_json_str(raw: &str) -> Option<String> {
    if !raw.contains('\\') {
        return Some(raw.to_owned());
    }
    serde_json::from_str(&format!("\"{raw}\"")).ok()
}

/// Looks `path` up in the JSON text `data` without parsing more than needed, returning the
/// raw text of the value found (strings without their quotes, still escaped) and its kind.
/// Object keys match members by name (first occurrence), `[N]` keys index arrays.
pub fn json_get<'s>(data: &'s str, path: &[&str]) -> Option<(&'s str, JsonKind)> {
    let b = data.as_bytes();
    let mut i = skip_ws(b, 0);
    for key in path {
        match b.get(i)? {
            b'{' => i = find_member(data, i, key)?,
            b'[' => {
                let idx: usize = key.strip_prefix('[')?.strip_suffix(']')?.parse().ok()?;
                i = find_element(b, i, idx)?;
            }
            _ => return None,
        }
    }
    let end = value_end(b, i)?;
    let raw = data.get(i..end)?;
    let kind = match b.get(i)? {
        b'"' => return Some((data.get(i + 1..end - 1)?, JsonKind::String)),
        b'{' => JsonKind::Object,
        b'[' => JsonKind::Array,
        b't' | b'f' => JsonKind::Boolean,
        b'n' => JsonKind::Null,
        _ => JsonKind::Number,
    };
    Some((raw, kind))
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// `i` is at `{`; returns the start of the value of member `key`.
fn find_member(data: &str, i: usize, key: &str) -> Option<usize> {
    let b = data.as_bytes();
    let mut i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return None;
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let kend = string_end(b, i)?;
        let raw_key = data.get(i + 1..kend - 1)?;
        i = skip_ws(b, kend);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        let matches = if raw_key.contains('\\') {
            unescape_json_str(raw_key).as_deref() == Some(key)
        } else {
            raw_key == key
        };
        if matches {
            return Some(i);
        }
        i = skip_ws(b, value_end(b, i)?);
        match b.get(i)? {
            b',' => i = skip_ws(b, i + 1),
            _ => return None,
        }
    }
}

/// `i` is at `[`; returns the start of element `idx`.
fn find_element(b: &[u8], i: usize, idx: usize) -> Option<usize> {
    let mut i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b']') {
        return None;
    }
    let mut n = 0;
    loop {
        if n == idx {
            return Some(i);
        }
        i = skip_ws(b, value_end(b, i)?);
        match b.get(i)? {
            b',' => i = skip_ws(b, i + 1),
            _ => return None,
        }
        n += 1;
    }
}

/// `i` is at `"`; returns the index just past the closing quote.
fn string_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        match b.get(j)? {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
}

/// Returns the index just past the value starting at `i`.
fn value_end(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => string_end(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match b.get(j)? {
                    b'"' => {
                        j = string_end(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while let Some(c) = b.get(j) {
                if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    break;
                }
                j += 1;
            }
            let tok = b.get(i..j)?;
            let ok = matches!(tok, b"true" | b"false" | b"null")
                || (!tok.is_empty()
                    && tok.iter().all(|c| {
                        c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E')
                    }));
            ok.then_some(j)
        }
    }
}

/// Encodes a value as Go's `json.Marshal` does (sorted map keys, HTML-safe escaping, floats
/// without a trailing `.0`). `None` where Go fails (NaN or infinite floats).
pub fn to_go_json(v: &Value<'_>) -> Option<String> {
    let mut out = String::new();
    write_json(&mut out, v)?;
    Some(out)
}

fn write_json(out: &mut String, v: &Value<'_>) -> Option<()> {
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Duration(i) => out.push_str(&i.to_string()),
        Value::Float(f) => {
            if !f.is_finite() {
                return None;
            }
            out.push_str(&super::convert::go_json_float(*f));
        }
        Value::Str(s) => write_json_str(out, s),
        Value::Time(t) => {
            write_json_str(out, &t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        }
        Value::List(l) => {
            out.push('[');
            for (n, item) in l.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_json(out, item)?;
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (n, (k, item)) in m.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_json_str(out, k);
                out.push(':');
                write_json(out, item)?;
            }
            out.push('}');
        }
        Value::Obj(o) => write_json(out, &o.to_value())?,
    }
    Some(())
}

/// Writes a JSON string literal with Go's escaping rules.
pub fn write_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
