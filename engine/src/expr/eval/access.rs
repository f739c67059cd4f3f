//! Value access with Go semantics: members, indexes, slices and the elements of iterables.

use std::borrow::Cow;

use super::{Fail, R, fail};
use crate::expr::value::Value;

/// `obj.name` / `obj["name"]` with Go semantics.
pub(crate) fn member<'a>(obj: Value<'a>, name: &str) -> R<'a> {
    if let Value::Obj(o) = obj {
        obj.discard();
        return match o.member(name) {
            Some(v) => Ok(v),
            None if o.type_name().starts_with("map[") => Ok(Value::Nil),
            None => fail(format!("cannot fetch {name} from {}", o.type_name())),
        };
    }
    match obj {
        Value::Map(mut m) => Ok(m.remove(name).unwrap_or(Value::Nil)),
        other => fail(format!("cannot fetch {name} from {}", other.type_name())),
    }
}

fn norm_index(i: i64, len: usize) -> Option<usize> {
    let i = if i < 0 { i.checked_add(len as i64)? } else { i };
    usize::try_from(i).ok().filter(|&i| i < len)
}

pub(super) fn index<'a>(obj: Value<'a>, idx: Value<'a>) -> R<'a> {
    let i = match &idx {
        Value::Str(s) => return member(obj, s),
        Value::Int(i) => *i,
        Value::Float(f) => *f as i64,
        other => {
            if let Value::Map(_) = obj {
                return Ok(Value::Nil);
            }
            return fail(format!(
                "cannot use {} as index to {}",
                other.type_name(),
                obj.type_name()
            ));
        }
    };
    let out_of_range =
        |len: usize| fail(format!("index out of range: {i} (array length is {len})"));
    match obj {
        Value::List(mut l) => match norm_index(i, l.len()) {
            Some(k) => Ok(l.swap_remove(k)),
            None => out_of_range(l.len()),
        },
        Value::Str(s) => match norm_index(i, s.len()) {
            Some(k) => Ok(Value::Int(i64::from(s.as_bytes()[k]))),
            None => out_of_range(s.len()),
        },
        Value::Obj(o) => match o.index(i) {
            Some(v) => Ok(v),
            None if o.type_name().starts_with("map[") => Ok(Value::Nil),
            None => out_of_range(o.len().unwrap_or(0)),
        },
        Value::Map(_) => Ok(Value::Nil),
        other => fail(format!("cannot fetch {i} from {}", other.type_name())),
    }
}

/// The elements of something iterable (lists and list-like host objects).
pub(crate) fn elements<'a>(v: Value<'a>, what: &str) -> Result<Vec<Value<'a>>, Fail> {
    match v {
        Value::List(l) => Ok(l),
        Value::Obj(o) if o.type_name().starts_with('[') => {
            let n = o.len().unwrap_or(0);
            Ok((0..n as i64)
                .map(|i| o.index(i).unwrap_or(Value::Nil))
                .collect())
        }
        Value::Obj(o) => match o.to_value() {
            Value::List(l) => Ok(l),
            other => fail(format!("{what}: cannot iterate over {}", other.type_name())),
        },
        other => fail(format!("{what}: cannot iterate over {}", other.type_name())),
    }
}

pub(super) fn slice<'a>(obj: Value<'a>, from: Option<i64>, to: Option<i64>) -> R<'a> {
    let bounds = |len: usize| {
        let clamp = |x: i64| -> usize {
            let x = if x < 0 { x + len as i64 } else { x };
            x.clamp(0, len as i64) as usize
        };
        let a = from.map_or(0, clamp);
        let b = to.map_or(len, clamp);
        (a, b.max(a))
    };
    match obj {
        Value::Str(s) => {
            let (a, b) = bounds(s.len());
            Ok(match s {
                Cow::Borrowed(s) => match s.get(a..b) {
                    Some(sub) => Value::str(sub),
                    None => {
                        Value::string(String::from_utf8_lossy(&s.as_bytes()[a..b]).into_owned())
                    }
                },
                Cow::Owned(s) => {
                    Value::string(String::from_utf8_lossy(&s.as_bytes()[a..b]).into_owned())
                }
            })
        }
        Value::Nil => fail("cannot slice <nil>".to_string()),
        other => {
            let mut l = elements(other, "slice")?;
            let (a, b) = bounds(l.len());
            l.truncate(b);
            Ok(Value::List(l.split_off(a)))
        }
    }
}
