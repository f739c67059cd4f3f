//! The helpers that write into the event (`UnmarshalJSON`, `ParseKV`, `ParseKVLax`).
//!
//! In CrowdSec they mutate the map passed as second argument and return nil, and hub filters
//! rely on both (`UnmarshalJSON(evt.Parsed.message, evt.Unmarshaled, "x") in ["", nil]`). Here the
//! map is the event's interior-mutable `Unmarshaled`; the registry's pure versions are replaced
//! by these, which store the result through it and return nil.

use crate::event::STORE_METHOD;
use crate::expr::Value;
use crate::expr::functions::{Arity, Functions, parse_kv, unmarshal_json};

fn store<'a>(target: &Value<'a>, key: &str, value: Value<'_>) -> Result<Value<'a>, String> {
    let Value::Obj(obj) = target else {
        return Err(format!("cannot store into a {}", target.type_name()));
    };
    match obj.call_method(STORE_METHOD, &[Value::str(key), value]) {
        Some(Ok(_)) => Ok(Value::Nil),
        Some(Err(e)) => Err(e),
        None => Err(format!("cannot store into a {}", obj.type_name())),
    }
}

fn str_arg<'v>(args: &'v [Value<'_>], i: usize, f: &str) -> Result<&'v str, String> {
    match args.get(i) {
        Some(Value::Str(s)) => Ok(s),
        Some(other) => Err(format!(
            "{f}: argument {} must be a string, got {}",
            i + 1,
            other.type_name()
        )),
        None => Err(format!("{f}: missing argument {}", i + 1)),
    }
}

fn kv(args: &[Value<'_>], lax: bool, name: &str) -> Result<serde_json::Value, String> {
    let pairs = parse_kv(str_arg(args, 0, name)?, lax);
    if pairs.is_empty() {
        return Err(format!("{name}: invalid input format"));
    }
    let key = str_arg(args, 2, name)?;
    // Merge into what is already stored under the key, as Go's map writes do.
    let mut merged = match args.get(1) {
        Some(Value::Obj(o)) => match o.member(key).map(|v| v.to_json()) {
            Some(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        },
        _ => serde_json::Map::new(),
    };
    for (k, v) in pairs {
        merged.insert(k, serde_json::Value::String(v));
    }
    Ok(serde_json::Value::Object(merged))
}

/// Go decodes every JSON number into a float64; keep that, so statics print `401.000000`.
pub(crate) fn go_numbers(j: serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match j {
        J::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map(J::Number)
            .unwrap_or(J::Null),
        J::Array(a) => J::Array(a.into_iter().map(go_numbers).collect()),
        J::Object(m) => J::Object(m.into_iter().map(|(k, v)| (k, go_numbers(v))).collect()),
        other => other,
    }
}

fn json_value(j: &serde_json::Value) -> Value<'_> {
    Value::from_json(j)
}

/// Replaces the pure writing helpers of `f` with event-writing ones.
pub fn install(f: &mut Functions) {
    f.register(
        "UnmarshalJSON",
        Arity::Exact(3),
        Box::new(|args| {
            let parsed = go_numbers(unmarshal_json(str_arg(args, 0, "UnmarshalJSON")?)?);
            let key = str_arg(args, 2, "UnmarshalJSON")?;
            store(&args[1], key, json_value(&parsed))
        }),
    );
    for (name, lax) in [("ParseKV", false), ("ParseKVLax", true)] {
        f.register(
            name,
            Arity::Exact(3),
            Box::new(move |args| {
                let merged = kv(args, lax, name)?;
                let key = str_arg(args, 2, name)?;
                store(&args[1], key, json_value(&merged))
            }),
        );
    }
}
