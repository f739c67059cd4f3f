//! Go's `fmt`: `%v` rendering of values ([`go_sprint`]) and `Sprintf` with the common verbs.

use std::fmt::Write as _;

use super::convert::{arg_str, go_float_g};
use super::{Arity, Functions, native};
use crate::expr::value::Value;

/// Registers `Sprintf`.
pub(crate) fn register(f: &mut Functions) {
    f.register(
        "Sprintf",
        Arity::AtLeast(1),
        native(|a| {
            let format = arg_str("Sprintf", a, 0)?;
            Ok(Value::string(go_sprintf(
                format,
                a.get(1..).unwrap_or_default(),
            )))
        }),
    );
}

/// Renders a value as Go's `%v` does (`<nil>`, `[a b]`, `map[k:v]`, `1e+06`, ...).
pub fn go_sprint(v: &Value<'_>) -> String {
    let mut s = String::new();
    write_v(&mut s, v);
    s
}

fn write_v(out: &mut String, v: &Value<'_>) {
    match v {
        Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&go_float_g(*f)),
        Value::Str(s) => out.push_str(s),
        Value::List(l) => {
            out.push('[');
            for (n, item) in l.iter().enumerate() {
                if n > 0 {
                    out.push(' ');
                }
                write_v(out, item);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (n, (k, item)) in m.iter().enumerate() {
                if n > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_v(out, item);
            }
            out.push(']');
        }
        Value::Obj(o) => write_v(out, &o.to_value()),
        Value::Time(t) => out.push_str(&go_time_string(t)),
        Value::Duration(d) => out.push_str(&crate::expr::ops::format_duration(*d)),
    }
}

/// Go's `time.Time.String()` for a fixed offset.
pub fn go_time_string(t: &chrono::DateTime<chrono::FixedOffset>) -> String {
    let mut s = t.format("%Y-%m-%d %H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos();
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    let off = t.format("%z").to_string();
    if t.offset().local_minus_utc() == 0 {
        s.push_str(" +0000 UTC");
    } else {
        let _ = write!(s, " {off} {off}");
    }
    s
}

#[derive(Default)]
struct Spec {
    minus: bool,
    plus: bool,
    zero: bool,
    space: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

fn pad(out: &mut String, s: &str, spec: &Spec, numeric: bool) {
    let len = s.chars().count();
    let w = spec.width.unwrap_or(0);
    if len >= w {
        out.push_str(s);
        return;
    }
    let fill = w - len;
    if spec.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero && numeric {
        let (sign, digits) = match s.strip_prefix(['-', '+']) {
            Some(d) => (&s[..1], d),
            None => ("", s),
        };
        out.push_str(sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(digits);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(s);
    }
}

fn bad_verb(verb: char, v: &Value<'_>) -> String {
    format!("%!{verb}({}={})", v.type_name(), go_sprint(v))
}

fn signed(s: String, non_neg: bool, spec: &Spec) -> String {
    if non_neg && spec.plus {
        format!("+{s}")
    } else if non_neg && spec.space {
        format!(" {s}")
    } else {
        s
    }
}

fn quote(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if c.is_control() => {
                let _ = if (c as u32) < 0x100 {
                    write!(o, "\\x{:02x}", c as u32)
                } else {
                    write!(o, "\\u{:04x}", c as u32)
                };
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn format_one(verb: char, v: &Value<'_>, spec: &Spec) -> (String, bool) {
    match (verb, v) {
        ('v', Value::Float(f)) | ('g', Value::Float(f)) if spec.prec.is_none() => {
            (signed(go_float_g(*f), *f >= 0.0, spec), true)
        }
        ('v', Value::Int(i)) | ('d', Value::Int(i)) => (signed(i.to_string(), *i >= 0, spec), true),
        ('v', _) => (go_sprint(v), false),
        ('s', Value::Str(s)) => {
            let s: String = match spec.prec {
                Some(p) => s.chars().take(p).collect(),
                None => s.to_string(),
            };
            (s, false)
        }
        ('s', Value::List(_) | Value::Map(_) | Value::Obj(_)) => (go_sprint(v), false),
        ('q', Value::Str(s)) => (quote(s), false),
        ('t', Value::Bool(b)) => (b.to_string(), false),
        ('x', Value::Int(i)) => (
            signed(
                if *i < 0 {
                    format!("-{:x}", i.unsigned_abs())
                } else {
                    format!("{i:x}")
                },
                *i >= 0,
                spec,
            ),
            true,
        ),
        ('X', Value::Int(i)) => (
            signed(
                if *i < 0 {
                    format!("-{:X}", i.unsigned_abs())
                } else {
                    format!("{i:X}")
                },
                *i >= 0,
                spec,
            ),
            true,
        ),
        ('o', Value::Int(i)) => (
            if *i < 0 {
                format!("-{:o}", i.unsigned_abs())
            } else {
                format!("{i:o}")
            },
            true,
        ),
        ('b', Value::Int(i)) => (
            if *i < 0 {
                format!("-{:b}", i.unsigned_abs())
            } else {
                format!("{i:b}")
            },
            true,
        ),
        ('c', Value::Int(i)) => (
            u32::try_from(*i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}')
                .to_string(),
            false,
        ),
        ('x', Value::Str(s)) => (s.bytes().map(|b| format!("{b:02x}")).collect(), false),
        ('X', Value::Str(s)) => (s.bytes().map(|b| format!("{b:02X}")).collect(), false),
        ('f' | 'F', Value::Float(f)) => {
            let p = spec.prec.unwrap_or(6);
            (signed(format!("{f:.p$}"), *f >= 0.0, spec), true)
        }
        ('e', Value::Float(f)) => {
            let p = spec.prec.unwrap_or(6);
            let s = format!("{f:.p$e}");
            let s = match s.split_once('e') {
                Some((m, e)) => {
                    let (sign, digits) = e.strip_prefix('-').map_or(("+", e), |d| ("-", d));
                    format!("{m}e{sign}{digits:0>2}")
                }
                None => s,
            };
            (signed(s, *f >= 0.0, spec), true)
        }
        ('g', Value::Float(f)) => (signed(format!("{f}"), *f >= 0.0, spec), true),
        _ => (bad_verb(verb, v), false),
    }
}

/// Go's `fmt.Sprintf` for the verbs `%v %+v %s %q %d %t %x %X %o %b %c %f %F %e %g %%`, with
/// flags `-+0 #`, width and precision (`*` is not supported). Errors are rendered inline as
/// Go does (`%!d(string=x)`, `%!s(MISSING)`, `%!(EXTRA ...)`).
pub fn go_sprintf(format: &str, args: &[Value<'_>]) -> String {
    let mut out = String::with_capacity(format.len() + 16);
    let mut next = 0usize;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '0' => spec.zero = true,
                ' ' => spec.space = true,
                '#' => {}
                _ => break,
            }
            chars.next();
        }
        let num = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
            let mut n: Option<usize> = None;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                n = Some(
                    n.unwrap_or(0)
                        .saturating_mul(10)
                        .saturating_add(d as usize)
                        .min(1 << 16),
                );
                chars.next();
            }
            n
        };
        spec.width = num(&mut chars);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.prec = Some(num(&mut chars).unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(v) = args.get(next) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        next += 1;
        let (s, numeric) = format_one(verb, v, &spec);
        pad(&mut out, &s, &spec, numeric);
    }
    if next < args.len() {
        out.push_str("%!(EXTRA ");
        for (n, v) in args[next..].iter().enumerate() {
            if n > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "{}={}", v.type_name(), go_sprint(v));
        }
        out.push(')');
    }
    out
}
