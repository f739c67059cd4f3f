//! expr-lang's lowercase builtins that take plain (eagerly evaluated) arguments.
//!
//! Closure builtins (`all`, `filter`, `map`, ...) are handled by the compiler and evaluator.
//! `now` and `date` are deliberately absent: the engine never reads the wall clock.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::eval::{Fail, elements, member};
use super::functions::Arity;
use super::ops::parse_duration;
use super::value::Value;

/// A builtin implementation.
pub(crate) type BuiltinFn = for<'a> fn(&[Value<'a>]) -> Result<Value<'a>, String>;

/// Finds a builtin by name: its canonical name, arity and implementation.
pub(crate) fn lookup(name: &str) -> Option<(&'static str, Arity, BuiltinFn)> {
    use Arity::*;
    let (n, a, f): (&'static str, Arity, BuiltinFn) = match name {
        "len" => ("len", Exact(1), len),
        "abs" => ("abs", Exact(1), abs),
        "int" => ("int", Exact(1), int),
        "float" => ("float", Exact(1), float),
        "string" => ("string", Exact(1), string),
        "type" => ("type", Exact(1), type_of),
        "trim" => ("trim", Range(1, 2), trim),
        "trimPrefix" => ("trimPrefix", Exact(2), trim_prefix),
        "trimSuffix" => ("trimSuffix", Exact(2), trim_suffix),
        "upper" => ("upper", Exact(1), |a| {
            Ok(Value::string(s(a, 0)?.to_uppercase()))
        }),
        "lower" => ("lower", Exact(1), |a| {
            Ok(Value::string(s(a, 0)?.to_lowercase()))
        }),
        "split" => ("split", Range(2, 3), |a| split(a, false)),
        "splitAfter" => ("splitAfter", Range(2, 3), |a| split(a, true)),
        "replace" => ("replace", Exact(3), |a| {
            Ok(Value::string(s(a, 0)?.replace(s(a, 1)?, s(a, 2)?)))
        }),
        "repeat" => ("repeat", Exact(2), repeat),
        "indexOf" => ("indexOf", Exact(2), |a| {
            Ok(Value::Int(s(a, 0)?.find(s(a, 1)?).map_or(-1, |i| i as i64)))
        }),
        "lastIndexOf" => ("lastIndexOf", Exact(2), |a| {
            Ok(Value::Int(
                s(a, 0)?.rfind(s(a, 1)?).map_or(-1, |i| i as i64),
            ))
        }),
        "hasPrefix" => ("hasPrefix", Exact(2), |a| {
            Ok(Value::Bool(s(a, 0)?.starts_with(s(a, 1)?)))
        }),
        "hasSuffix" => ("hasSuffix", Exact(2), |a| {
            Ok(Value::Bool(s(a, 0)?.ends_with(s(a, 1)?)))
        }),
        "join" => ("join", Range(1, 2), join),
        "keys" => ("keys", Exact(1), keys),
        "values" => ("values", Exact(1), values),
        "first" => ("first", Exact(1), |a| first_last(a, false)),
        "last" => ("last", Exact(1), |a| first_last(a, true)),
        "min" => ("min", AtLeast(1), |a| min_max(a, std::cmp::Ordering::Less)),
        "max" => ("max", AtLeast(1), |a| {
            min_max(a, std::cmp::Ordering::Greater)
        }),
        "toJSON" => ("toJSON", Exact(1), to_json),
        "fromJSON" => ("fromJSON", Exact(1), from_json),
        "toBase64" => ("toBase64", Exact(1), |a| {
            Ok(Value::string(b64_encode(s(a, 0)?.as_bytes())))
        }),
        "fromBase64" => ("fromBase64", Exact(1), from_base64),
        "duration" => ("duration", Exact(1), |a| {
            parse_duration(s(a, 0)?).map(Value::Duration)
        }),
        "get" => ("get", Exact(2), get),
        "reverse" => ("reverse", Exact(1), reverse),
        "concat" => ("concat", AtLeast(1), concat),
        _ => return None,
    };
    Some((n, a, f))
}

fn fail_msg(f: Fail) -> String {
    match f {
        Fail::Msg(m) => m,
        Fail::Nil => "nil".to_string(),
    }
}

fn s<'b>(a: &'b [Value<'_>], i: usize) -> Result<&'b str, String> {
    match a.get(i) {
        Some(Value::Str(s)) => Ok(s),
        Some(other) => Err(format!(
            "argument {} must be string, got {}",
            i + 1,
            other.type_name()
        )),
        None => Err(format!("missing argument {}", i + 1)),
    }
}

fn arg<'b, 'a>(a: &'b [Value<'a>], i: usize) -> Result<&'b Value<'a>, String> {
    a.get(i)
        .ok_or_else(|| format!("missing argument {}", i + 1))
}

fn len<'a>(a: &[Value<'a>]) -> Result<Value<'a>, String> {
    let n = match arg(a, 0)? {
        Value::Str(s) => s.len(),
        Value::List(l) => l.len(),
        Value::Map(m) => m.len(),
        Value::Obj(o) => match o.len() {
            Some(n) => n,
            None => return Err(format!("invalid argument for len (type {})", o.type_name())),
        },
        other => {
            return Err(format!(
                "invalid argument for len (type {})",
                other.type_name()
            ));
        }
    };
    Ok(Value::Int(n as i64))
}

fn abs<'a>(a: &[Value<'a>]) -> Result<Value<'a>, String> {
    match arg(a, 0)? {
        Value::Int(i) => Ok(Value::Int(i.wrapping_abs())),
        Value::Float(f) => Ok(Value::Float(f.abs())),
        other => Err(format!(
            "invalid argument for abs (type {})",
            other.type_name()
        )),
    }
}

fn int<'a>(a: &[Value<'a>]) -> Result<Value<'a>, String> {
    match arg(a, 0)? {
        Value::Int(i) => Ok(Value::Int(*i)),
        Value::Float(f) => Ok(Value::Int(*f as i64)),
        Value::Duration(d) => Ok(Value::Int(*d)),
        Value::Str(s) => s
            .parse::<i64>()
            .map(Value::Int)
            .map_err(|_| format!("strconv.Atoi: parsing {s:?}: invalid syntax")),
        other => Err(format!("invalid operation: int({})", other.type_name())),
    }
}

fn float<'a>(a: &[Value<'a>]) -> Result<Value<'a>, String> {
    match arg(a, 0)? {
        Value::Int(i) => Ok(Value::Float(*i as f64)),
        Value::Float(f) => Ok(Value::Float(*f)),
        Value::Str(s) => s
            .parse::<f64>()
            .map(Value::Float)
            .map_err(|_| format!("strconv.ParseFloat: parsing {s:?}: invalid syntax")),
        other => Err(format!("invalid operation: float({})", other.type_name())),
    }
}

fn string<'a>(a: &[Value<'a>]) -> Result<Value<'a>, String> {
    match arg(a, 0)? {
        Value::Str(s) => Ok(Value::Str(s.clone())),
        other => Ok(Value::string(other.go_string().into_owned())),
    }
}

fn type_of<'a>(a: &[Value<'a>]) -> Result<Value<'a>, String> {
    let t = match arg(a, 0)? {
        Value::Nil => "nil",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float",
        Value::Str(_) => "string",
        Value::List(_) => "array",
        Value::Map(_) => "map",
        Value::Obj(o) if o.type_name().starts_with('[') => "array",
        Value::Obj(o) if o.type_name().starts_with("map[") => "map",
        Value::Obj(o) => o.type_name(),
        Value::Time(_) => "time.Time",
        Value::Duration(_) => "time.Duration",
    };
    Ok(Value::str(t))
}

/// Keeps a borrowed string borrowed when the result is a sub-slice of it.
fn sub<'a>(v: &Value<'a>, f: impl FnOnce(&str) -> &str) -> Value<'a> {
    match v {
        Value::Str(Cow::Borrowed(b)) => Value::str(f(b)),
        Value::Str(Cow::Owned(o)) => Value::string(f(o).to_string()),
        _ => Value::Nil,
    }
}

fn trim<'a>(a: &[Value<'a>]) -> Result<Value<'a>, String> {
    s(a, 0)?;
    if a.len() == 2 {
        let cut: Vec<char> = s(a, 1)?.chars().collect();
        return Ok(sub(&a[0], |x| x.trim_matches(|c| cut.contains(&c))));
    }
    Ok(sub(&a[0], str::trim))
}

fn trim_prefix<'a>(a: &[Value<'a>]) -> Result<Value<'a>, String> {
    let p = s(a, 1)?.to_string();
    s(a, 0)?;
    Ok(sub(&a[0], |x| x.strip_prefix(p.as_str()).unwrap_or(x)))
}

fn trim_suffix<'a>(a: &[Value<'a>]) -> Result<Value<'a>, String> {
    let p = s(a, 1)?.to_string();
    s(a, 0)?;
    Ok(sub(&a[0], |x| x.strip_suffix(p.as_str()).unwrap_or(x)))
}

fn split<'a>(a: &[Value<'a>], after: bool) -> Result<Value<'a>, String> {
    let (text, sep) = (s(a, 0)?, s(a, 1)?);
    let n = match a.get(2) {
        Some(Value::Int(n)) => *n,
        Some(other) => return Err(format!("argument 3 must be int, got {}", other.type_name())),
        None => -1,
    };
    if n == 0 {
        return Ok(Value::List(Vec::new()));
    }
    let mut parts: Vec<String> = Vec::new();
    if sep.is_empty() {
        parts = text.chars().map(String::from).collect();
    } else {
        let mut rest = text;
        while n < 0 || (parts.len() as i64) < n - 1 {
            match rest.find(sep) {
                Some(i) => {
                    let end = if after { i + sep.len() } else { i };
                    parts.push(rest[..end].to_string());
                    rest = &rest[i + sep.len()..];
                }
                None => break,
            }
        }
        parts.push(rest.to_string());
    }
    if n > 0 && sep.is_empty() && parts.len() as i64 > n {
        let tail: String = parts.split_off(n as usize - 1).concat();
        parts.push(tail);
    }
    Ok(Value::List(parts.into_iter().map(Value::string).collect()))
}

fn repeat<'a>(a: &[Value<'a>]) -> Result<Value<'a>, String> {
    let text = s(a, 0)?;
    match arg(a, 1)? {
        Value::Int(n) if *n >= 0 && (*n as u128) * (text.len() as u128) <= 100_000_000 => {
            Ok(Value::string(text.repeat(*n as usize)))
        }
        Value::Int(_) => Err("invalid repeat count".to_string()),
        other => Err(format!("argument 2 must be int, got {}", other.type_name())),
    }
}

fn join<'a>(a: &[Value<'a>]) -> Result<Value<'a>, String> {
    let sep = if a.len() > 1 { s(a, 1)? } else { "" };
    let items = elements(arg(a, 0)?.clone(), "join").map_err(fail_msg)?;
    let mut out = String::new();
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        match v {
            Value::Str(x) => out.push_str(x),
            other => {
                return Err(format!(
                    "join: element must be string, got {}",
                    other.type_name()
                ));
            }
        }
    }
    Ok(Value::string(out))
}

fn as_map<'a>(v: &Value<'a>, what: &str) -> Result<Vec<(String, Value<'a>)>, String> {
    match v {
        Value::Map(m) => Ok(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        Value::Obj(o) if o.type_name().starts_with("map[") => Ok(o
            .keys()
            .into_iter()
            .map(|k| {
                let v = o.member(&k).unwrap_or(Value::Nil);
                (k.into_owned(), v)
            })
            .collect()),
        other => Err(format!("{what}: expected map, got {}", other.type_name())),
    }
}

fn keys<'a>(a: &[Value<'a>]) -> Result<Value<'a>, String> {
    let m = as_map(arg(a, 0)?, "keys")?;
    Ok(Value::List(
        m.into_iter().map(|(k, _)| Value::string(k)).collect(),
    ))
}

fn values<'a>(a: &[Value<'a>]) -> Result<Value<'a>, String> {
    let m = as_map(arg(a, 0)?, "values")?;
    Ok(Value::List(m.into_iter().map(|(_, v)| v).collect()))
}

fn first_last<'a>(a: &[Value<'a>], last: bool) -> Result<Value<'a>, String> {
    let v = arg(a, 0)?.clone();
    if matches!(v, Value::Nil) {
        return Ok(Value::Nil);
    }
    let mut items = elements(v, "first/last").map_err(fail_msg)?;
    Ok(if last {
        items.pop()
    } else {
        items.into_iter().next()
    }
    .unwrap_or(Value::Nil))
}

fn min_max<'a>(a: &[Value<'a>], want: std::cmp::Ordering) -> Result<Value<'a>, String> {
    let items = if a.len() == 1 && !matches!(a[0], Value::Int(_) | Value::Float(_)) {
        elements(a[0].clone(), "min/max").map_err(fail_msg)?
    } else {
        a.to_vec()
    };
    let mut best: Option<Value<'a>> = None;
    for v in items {
        if v.as_f64().is_none() {
            return Err(format!("invalid argument (type {})", v.type_name()));
        }
        best = match best {
            Some(b) if v.go_cmp(&b) != Some(want) => Some(b),
            _ => Some(v),
        };
    }
    Ok(best.unwrap_or(Value::Nil))
}

fn to_json<'a>(a: &[Value<'a>]) -> Result<Value<'a>, String> {
    serde_json::to_string_pretty(&arg(a, 0)?.to_json())
        .map(Value::string)
        .map_err(|e| e.to_string())
}

/// An owned value tree from parsed JSON.
pub(crate) fn json_owned(j: serde_json::Value) -> Value<'static> {
    match j {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Float(i as f64),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::string(s),
        serde_json::Value::Array(a) => Value::List(a.into_iter().map(json_owned).collect()),
        serde_json::Value::Object(m) => Value::Map(
            m.into_iter()
                .map(|(k, v)| (k, json_owned(v)))
                .collect::<BTreeMap<_, _>>(),
        ),
    }
}

fn from_json<'a>(a: &[Value<'a>]) -> Result<Value<'a>, String> {
    serde_json::from_str(s(a, 0)?)
        .map(json_owned)
        .map_err(|e| e.to_string())
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn b64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn from_base64<'a>(a: &[Value<'a>]) -> Result<Value<'a>, String> {
    let text = s(a, 0)?.trim_end_matches('=');
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.bytes() {
        let v = B64
            .iter()
            .position(|&x| x == c)
            .ok_or("illegal base64 data")? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    String::from_utf8(out)
        .map(Value::string)
        .map_err(|_| "decoded data is not UTF-8".to_string())
}

fn get<'a>(a: &[Value<'a>]) -> Result<Value<'a>, String> {
    let (obj, key) = (arg(a, 0)?.clone(), arg(a, 1)?);
    match (obj, key) {
        (Value::Nil, _) => Ok(Value::Nil),
        (o, Value::Str(k)) => Ok(member(o, k).unwrap_or(Value::Nil)),
        (o, Value::Int(i)) => {
            let items = elements(o, "get").map_err(fail_msg)?;
            let i = if *i < 0 { *i + items.len() as i64 } else { *i };
            Ok(usize::try_from(i)
                .ok()
                .and_then(|i| items.get(i).cloned())
                .unwrap_or(Value::Nil))
        }
        _ => Ok(Value::Nil),
    }
}

fn reverse<'a>(a: &[Value<'a>]) -> Result<Value<'a>, String> {
    let mut items = elements(arg(a, 0)?.clone(), "reverse").map_err(fail_msg)?;
    items.reverse();
    Ok(Value::List(items))
}

fn concat<'a>(a: &[Value<'a>]) -> Result<Value<'a>, String> {
    let mut out = Vec::new();
    for v in a {
        out.extend(elements(v.clone(), "concat").map_err(fail_msg)?);
    }
    Ok(Value::List(out))
}
