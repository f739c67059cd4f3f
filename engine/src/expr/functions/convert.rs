//! Argument extraction and Go-style conversions shared by the helpers.
//!
//! Helpers receive already-evaluated [`Value`]s. These functions check the types a Go helper
//! signature would demand and produce the error messages returned to the evaluator; they also
//! render values the way Go's `fmt` package does (`%v`), and turn JSON into the values Go's
//! `encoding/json` would produce (every number is a `float64`).

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::expr::value::Value;

/// Error message for an argument of the wrong type.
pub fn type_error(func: &str, idx: usize, want: &str, got: &Value<'_>) -> String {
    format!(
        "{func}: argument {} must be {want}, got {}",
        idx + 1,
        got.type_name()
    )
}

/// Fetches argument `idx`, failing with a clear message when it is missing.
pub fn arg<'v, 'a>(func: &str, args: &'v [Value<'a>], idx: usize) -> Result<&'v Value<'a>, String> {
    args.get(idx)
        .ok_or_else(|| format!("{func}: missing argument {}", idx + 1))
}

/// Argument `idx` as a string (Go `string` parameter).
pub fn arg_str<'v, 'a>(func: &str, args: &'v [Value<'a>], idx: usize) -> Result<&'v str, String> {
    match arg(func, args, idx)? {
        Value::Str(s) => Ok(s),
        other => Err(type_error(func, idx, "a string", other)),
    }
}

/// Argument `idx` as the string `Cow` itself, so results can borrow from host data.
pub fn arg_cow<'v, 'a>(
    func: &str,
    args: &'v [Value<'a>],
    idx: usize,
) -> Result<&'v Cow<'a, str>, String> {
    match arg(func, args, idx)? {
        Value::Str(s) => Ok(s),
        other => Err(type_error(func, idx, "a string", other)),
    }
}

/// Argument `idx` as a Go `int`.
pub fn arg_int(func: &str, args: &[Value<'_>], idx: usize) -> Result<i64, String> {
    match arg(func, args, idx)? {
        Value::Int(i) => Ok(*i),
        other => Err(type_error(func, idx, "an int", other)),
    }
}

/// Argument `idx` as a Go `float64` (ints are widened, as expr-lang does for literals).
pub fn arg_f64(func: &str, args: &[Value<'_>], idx: usize) -> Result<f64, String> {
    match arg(func, args, idx)? {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        other => Err(type_error(func, idx, "a float64", other)),
    }
}

/// Argument `idx` as a Go `[]string`: a list (or list-like object) whose items are all strings.
pub fn arg_str_list(func: &str, args: &[Value<'_>], idx: usize) -> Result<Vec<String>, String> {
    let v = arg(func, args, idx)?;
    let owned;
    let items = match v {
        Value::List(l) => l.as_slice(),
        Value::Obj(o) => {
            owned = o.to_value();
            match &owned {
                Value::List(l) => l.as_slice(),
                _ => return Err(type_error(func, idx, "a []string", v)),
            }
        }
        Value::Nil => &[],
        _ => return Err(type_error(func, idx, "a []string", v)),
    };
    items
        .iter()
        .map(|item| match item {
            Value::Str(s) => Ok(s.to_string()),
            other => Err(format!(
                "{func}: argument {} must be a []string, found an item of type {}",
                idx + 1,
                other.type_name()
            )),
        })
        .collect()
}

/// Builds a string result that borrows from `orig` when `orig` borrows from host data.
///
/// `f` must return a sub-slice of its argument (e.g. a trim), which is always the case for the
/// callers; if it does not, the result is copied.
pub fn sub_str<'a>(orig: &Cow<'a, str>, f: impl for<'s> FnOnce(&'s str) -> &'s str) -> Value<'a> {
    match orig {
        Cow::Borrowed(s) => Value::Str(Cow::Borrowed(f(s))),
        Cow::Owned(s) => Value::string(f(s).to_owned()),
    }
}

/// `f(orig)` as a string value, where `None` means "the same text as `orig`": then a borrowed
/// argument stays borrowed (no copy, no allocation), as most strings pass these helpers
/// unchanged (`Lower` of a lowercase path, `ReplaceAll` of a text without the pattern).
pub fn unchanged_or<'a>(orig: &Cow<'a, str>, f: impl FnOnce(&str) -> Option<String>) -> Value<'a> {
    match f(orig) {
        Some(changed) => Value::string(changed),
        None => Value::Str(orig.clone()),
    }
}

/// A list of strings as a [`Value::List`].
pub fn str_list<'a, I, S>(items: I) -> Value<'a>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Value::List(items.into_iter().map(|s| Value::string(s.into())).collect())
}

/// A number as an `f64`, if it is one.
pub fn as_f64(v: &Value<'_>) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// Converts JSON into the value Go's `json.Unmarshal` into `interface{}` yields: numbers become
/// `float64`, objects `map[string]interface{}`, arrays `[]interface{}`.
pub fn json_to_go_value(j: &serde_json::Value) -> Value<'static> {
    match j {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(s) => Value::string(s.clone()),
        serde_json::Value::Array(a) => Value::List(a.iter().map(json_to_go_value).collect()),
        serde_json::Value::Object(m) => Value::Map(
            m.iter()
                .map(|(k, v)| (k.clone(), json_to_go_value(v)))
                .collect::<BTreeMap<_, _>>(),
        ),
    }
}

/// Shortest round-trip decimal digits of a finite, non-zero `|f|` and its decimal exponent
/// (`d.ddd × 10^exp`).
fn shortest_digits(f: f64) -> (String, i32) {
    let sci = format!("{:e}", f.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    (digits, exp.parse().unwrap_or(0))
}

fn special_float(f: f64) -> Option<String> {
    if f.is_nan() {
        Some("NaN".into())
    } else if f.is_infinite() {
        Some(if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        })
    } else if f == 0.0 {
        Some(if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        })
    } else {
        None
    }
}

/// Formats a float like Go's `strconv.FormatFloat(f, 'g', -1, 64)`, which is what `%v` and
/// `fmt.Sprint` print: shortest digits, exponent form when the exponent is < -4 or >= 6
/// (so `1e6` prints `1e+06` and `123456` prints `123456`).
pub fn go_float_g(f: f64) -> String {
    go_float_shortest(f, 6, 2)
}

/// Formats a float the way Go's `encoding/json` does (`1e+21` and up, or below `1e-6`, use an
/// exponent; otherwise plain decimal without a trailing `.0`).
pub fn go_json_float(f: f64) -> String {
    if f != 0.0 && (f.abs() < 1e-6 || f.abs() >= 1e21) {
        let mut s = go_float_shortest(f, 0, 1);
        if s.contains('e') {
            // Go json trims "e-07" to "e-7".
            s = s.replace("e-0", "e-").replace("e+0", "e+");
        }
        return s;
    }
    go_float_shortest(f, i32::MAX, 2)
}

/// Shortest formatting: exponent form when `exp < -4 || exp >= threshold`; the exponent is
/// printed with at least `exp_digits` digits.
fn go_float_shortest(f: f64, threshold: i32, exp_digits: usize) -> String {
    if let Some(s) = special_float(f) {
        return s;
    }
    let (digits, exp) = shortest_digits(f);
    let mut out = String::new();
    if f < 0.0 {
        out.push('-');
    }
    if exp < -4 || exp >= threshold {
        push_exp_form(&mut out, &digits, exp, exp_digits);
    } else {
        push_plain(&mut out, &digits, exp);
    }
    out
}

fn push_exp_form(out: &mut String, digits: &str, exp: i32, exp_digits: usize) {
    let (first, rest) = digits.split_at(1.min(digits.len()));
    out.push_str(first);
    if !rest.is_empty() {
        out.push('.');
        out.push_str(rest);
    }
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs().to_string();
    for _ in e.len()..exp_digits {
        out.push('0');
    }
    out.push_str(&e);
}

fn push_plain(out: &mut String, digits: &str, exp: i32) {
    if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let int_len = usize::try_from(exp).unwrap_or(0) + 1;
        if digits.len() <= int_len {
            out.push_str(digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
}
