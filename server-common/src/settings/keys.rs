//! Text-level helpers of the parse step: CrowdSec's environment expansion and the list of
//! keys a file sets that hivewall does not read.

use serde_json::Value;

/// Replaces `${VAR}` and `$VAR` with the variable's value, as CrowdSec's `StrictExpand`
/// does: a variable that is not set is left as written, and `$` not followed by a name or a
/// closed `${...}` stays literal. Unlike CrowdSec, substituted values are not scanned again.
pub fn expand_env(text: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match (consumed > 0).then(|| env(name)).flatten() {
            Some(value) => {
                out.push_str(&value);
                rest = &after[consumed..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The dotted keys present in `doc` that no entry of `used` covers, shallowest first: an
/// unused section is reported once, not key by key.
pub(super) fn unused_keys(doc: &Value, used: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    if let Value::Object(map) = doc {
        walk(map, "", used, &mut out);
    }
    out
}

fn walk(map: &serde_json::Map<String, Value>, prefix: &str, used: &[&str], out: &mut Vec<String>) {
    for (key, value) in map {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        if used.contains(&path.as_str()) {
            continue;
        }
        let is_parent = used.iter().any(|u| {
            u.strip_prefix(path.as_str())
                .is_some_and(|tail| tail.starts_with('.'))
        });
        match value {
            Value::Object(inner) if is_parent => walk(inner, &path, used, out),
            // An empty or null parent section sets nothing.
            Value::Null if is_parent => {}
            _ => out.push(path),
        }
    }
}
