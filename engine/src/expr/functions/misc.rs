//! Miscellaneous helpers: numbers, globbing, base64, maps, lists and times.

use chrono::{DateTime, FixedOffset};

use super::convert::{arg, arg_f64, arg_int, arg_str, arg_str_list, type_error};
use super::json::to_go_json;
use super::{Arity, Functions, native};
use crate::expr::value::Value;

/// Registers the miscellaneous helpers.
pub(crate) fn register(f: &mut Functions) {
    f.register(
        "Atof",
        Arity::Exact(1),
        native(|a| Ok(Value::Float(go_atof(arg_str("Atof", a, 0)?)))),
    );
    f.register(
        "Distance",
        Arity::Exact(4),
        native(|a| {
            let mut c = [0.0; 4];
            for (i, name) in ["lat1", "long1", "lat2", "long2"].iter().enumerate() {
                let s = arg_str("Distance", a, i)?;
                c[i] = parse_go_float(s)
                    .ok_or_else(|| format!("Distance: {name} is not a float: {s:?}"))?;
            }
            Ok(Value::Float(distance_km(c[0], c[1], c[2], c[3])))
        }),
    );
    f.register(
        "Match",
        Arity::Exact(2),
        native(|a| {
            Ok(Value::Bool(glob_match(
                arg_str("Match", a, 0)?,
                arg_str("Match", a, 1)?,
            )))
        }),
    );
    f.register(
        "B64Decode",
        Arity::Exact(1),
        native(|a| {
            let bytes =
                b64_decode(arg_str("B64Decode", a, 0)?).ok_or("B64Decode: illegal base64 data")?;
            Ok(Value::string(String::from_utf8_lossy(&bytes).into_owned()))
        }),
    );
    f.register(
        "ToString",
        Arity::Exact(1),
        native(|a| {
            Ok(match arg("ToString", a, 0)? {
                Value::Str(s) => Value::Str(s.clone()),
                _ => Value::str(""),
            })
        }),
    );
    f.register(
        "KeyExists",
        Arity::Exact(2),
        native(|a| {
            let key = arg_str("KeyExists", a, 0)?;
            match arg("KeyExists", a, 1)? {
                Value::Map(m) => Ok(Value::Bool(m.contains_key(key))),
                Value::Obj(o) => Ok(Value::Bool(o.keys().iter().any(|k| k == key))),
                Value::Nil => Ok(Value::Bool(false)),
                other => Err(type_error("KeyExists", 1, "a map", other)),
            }
        }),
    );
    f.register(
        "LogInfo",
        Arity::AtLeast(1),
        native(|a| {
            arg_str("LogInfo", a, 0)?;
            Ok(Value::Bool(true))
        }),
    );
    f.register(
        "FloatApproxEqual",
        Arity::Exact(2),
        native(|a| {
            let (x, y) = (
                arg_f64("FloatApproxEqual", a, 0)?,
                arg_f64("FloatApproxEqual", a, 1)?,
            );
            Ok(Value::Bool((x - y).abs() < 1e-6))
        }),
    );
    f.register(
        "ParseUnixTime",
        Arity::Exact(1),
        native(|a| {
            let s = arg_str("ParseUnixTime", a, 0)?;
            parse_unix(s)
                .map(Value::Time)
                .ok_or_else(|| format!("unable to parse {s} as unix timestamp"))
        }),
    );
    f.register(
        "ParseUnix",
        Arity::Exact(1),
        native(|a| {
            let s = arg_str("ParseUnix", a, 0)?;
            Ok(Value::string(
                parse_unix(s)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .unwrap_or_default(),
            ))
        }),
    );
    f.register(
        "Get",
        Arity::Exact(2),
        native(|a| {
            let list = arg_str_list("Get", a, 0)?;
            let i = arg_int("Get", a, 1)?;
            let i = usize::try_from(i).map_err(|_| format!("Get: index out of range [{i}]"))?;
            Ok(Value::string(list.get(i).cloned().unwrap_or_default()))
        }),
    );
    f.register(
        "Flatten",
        Arity::AtLeast(0),
        native(|a| {
            let mut out = Vec::new();
            flatten(a, &mut out);
            Ok(Value::List(out))
        }),
    );
    f.register(
        "Distinct",
        Arity::AtLeast(1),
        native(|a| match arg("Distinct", a, 0)? {
            Value::List(l) => Ok(Value::List(distinct(l.clone()))),
            Value::Obj(o) => match o.to_value() {
                Value::List(l) => Ok(Value::List(
                    distinct(l).into_iter().map(Value::into_owned).collect(),
                )),
                _ => Ok(Value::Nil),
            },
            _ => Ok(Value::Nil),
        }),
    );
    f.register(
        "FlattenDistinct",
        Arity::AtLeast(0),
        native(|a| {
            let mut out = Vec::new();
            flatten(a, &mut out);
            Ok(Value::List(distinct(out)))
        }),
    );
    f.register(
        "AverageInterval",
        Arity::Exact(1),
        native(|a| {
            let times = sorted_times("AverageInterval", a, "an average interval")?;
            let total: i64 = times
                .windows(2)
                .map(|w| interval_ns(w[0], w[1]))
                .fold(0i64, i64::saturating_add);
            Ok(Value::Duration(total / (times.len() as i64 - 1)))
        }),
    );
    f.register(
        "MedianInterval",
        Arity::Exact(1),
        native(|a| {
            let times = sorted_times("MedianInterval", a, "a median")?;
            let mut iv: Vec<i64> = times.windows(2).map(|w| interval_ns(w[0], w[1])).collect();
            iv.sort_unstable();
            let n = iv.len();
            Ok(Value::Duration(if n % 2 == 1 {
                iv[n / 2]
            } else {
                iv[n / 2 - 1].saturating_add(iv[n / 2]) / 2
            }))
        }),
    );
}

fn interval_ns(a: DateTime<FixedOffset>, b: DateTime<FixedOffset>) -> i64 {
    (b - a).num_nanoseconds().unwrap_or(i64::MAX)
}

fn sorted_times(
    func: &str,
    a: &[Value<'_>],
    what: &str,
) -> Result<Vec<DateTime<FixedOffset>>, String> {
    let v = arg(func, a, 0)?;
    let owned;
    let items = match v {
        Value::List(l) => l.as_slice(),
        Value::Obj(o) => {
            owned = o.to_value();
            match &owned {
                Value::List(l) => l.as_slice(),
                _ => return Err(format!("{func} expects a slice of times")),
            }
        }
        _ => return Err(format!("{func} expects a slice of times")),
    };
    let mut times = items
        .iter()
        .enumerate()
        .map(|(i, t)| match t {
            Value::Time(t) => Ok(*t),
            _ => Err(format!("element at index {i} is not a time.Time")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if times.len() < 2 {
        return Err(format!("need at least two times to calculate {what}"));
    }
    times.sort();
    Ok(times)
}

fn flatten<'a>(items: &[Value<'a>], out: &mut Vec<Value<'a>>) {
    for v in items {
        match v {
            Value::List(l) => flatten(l, out),
            Value::Obj(o) => match o.to_value() {
                Value::List(l) => flatten(
                    &l.into_iter().map(Value::into_owned).collect::<Vec<_>>(),
                    out,
                ),
                _ => out.push(v.clone()),
            },
            _ => out.push(v.clone()),
        }
    }
}

fn distinct(items: Vec<Value<'_>>) -> Vec<Value<'_>> {
    let mut seen = foldhash::HashSet::default();
    items
        .into_iter()
        .filter(|v| {
            let key = format!(
                "{}:{}",
                v.type_name(),
                to_go_json(v).unwrap_or_else(|| format!("{v:?}"))
            );
            seen.insert(key)
        })
        .collect()
}

/// Go's `strconv.ParseFloat(s, 64)`: `None` on a syntax error; out-of-range values give
/// ±Inf as Go does.
pub fn parse_go_float(s: &str) -> Option<f64> {
    let t = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = t.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return s.parse().ok();
    }
    if t.is_empty()
        || !t
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    s.parse().ok()
}

/// CrowdSec's `Atof`: `0.0` when the string is not a number.
pub fn go_atof(s: &str) -> f64 {
    parse_go_float(s).unwrap_or(0.0)
}

/// Great-circle distance in km, as CrowdSec's `Distance` (0 if either point is `0,0`).
pub fn distance_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    if (lat1 == 0.0 && lon1 == 0.0) || (lat2 == 0.0 && lon2 == 0.0) {
        return 0.0;
    }
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dlat = p2 - p1;
    let dlon = lon2.to_radians() - lon1.to_radians();
    let a = (dlat / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dlon / 2.0).sin().powi(2);
    let c = 2.0 * a.sqrt().atan2((1.0 - a).sqrt());
    c * 6371.0
}

/// CrowdSec's `Match(pattern, name)`: a byte-wise glob where `*` matches any run of bytes and
/// `?` one byte. Quirk kept from Go: against an empty name only `""` and `"*"` match.
/// Runs in `O(len(pattern) * len(name))`.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    // row[j] = Match(p[i..], n[j..]) for the current i, computed from i = len(p) down to 0.
    let mut row: Vec<bool> = (0..=n.len()).map(|j| j == n.len()).collect();
    for i in (0..p.len()).rev() {
        let mut cur = vec![false; n.len() + 1];
        cur[n.len()] = i + 1 == p.len() && p[i] == b'*';
        if p[i] == b'*' {
            // any k >= j with row[k]; suffix OR, excluding the empty-name rule at len.
            let mut any = row[n.len()];
            for j in (0..n.len()).rev() {
                any |= row[j];
                cur[j] = any;
            }
        } else {
            for j in 0..n.len() {
                cur[j] = (p[i] == b'?' || p[i] == n[j]) && row[j + 1];
            }
        }
        row = cur;
    }
    row[0]
}

/// Go's `base64.StdEncoding.DecodeString` (padding required; `\r` and `\n` ignored).
pub fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let clean: Vec<u8> = s.bytes().filter(|c| *c != b'\r' && *c != b'\n').collect();
    if !clean.len().is_multiple_of(4) {
        return None;
    }
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(clean.len() / 4 * 3);
    let chunks = clean.chunks(4).collect::<Vec<_>>();
    for (ci, ch) in chunks.iter().enumerate() {
        let pads = ch.iter().rev().take_while(|c| **c == b'=').count();
        if pads > 2 || (pads > 0 && ci + 1 != chunks.len()) {
            return None;
        }
        let mut acc = 0u32;
        for &c in &ch[..4 - pads] {
            acc = acc << 6 | val(c)?;
        }
        acc <<= 6 * pads as u32;
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - pads]);
    }
    Some(out)
}

/// CrowdSec's `ParseUnixTime`: seconds since the epoch (anything after a `.` ignored), must be
/// positive. Returned in UTC.
pub fn parse_unix(s: &str) -> Option<DateTime<FixedOffset>> {
    let secs: i64 = s.split('.').next()?.parse().ok()?;
    if secs <= 0 {
        return None;
    }
    DateTime::from_timestamp(secs, 0).map(|t| t.fixed_offset())
}
