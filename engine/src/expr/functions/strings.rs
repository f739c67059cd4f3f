//! Wrappers of Go's `strings` package (`Upper`, `Split`, `Trim`, ...), with Go's edge cases.

use super::convert::{arg_cow, arg_int, arg_str, arg_str_list, str_list, sub_str, unchanged_or};
use super::{Arity, Functions, native};
use crate::expr::value::Value;

/// Registers the string helpers.
pub(crate) fn register(f: &mut Functions) {
    f.register(
        "Upper",
        Arity::Exact(1),
        native(|a| {
            let s = arg_cow("Upper", a, 0)?;
            Ok(unchanged_or(s, |s| {
                // ASCII with no letter to map: the fold is the text itself.
                let same = s.is_ascii() && !s.bytes().any(|b| b.is_ascii_lowercase());
                (!same).then(|| go_upper(s))
            }))
        }),
    );
    f.register(
        "Lower",
        Arity::Exact(1),
        native(|a| {
            let s = arg_cow("Lower", a, 0)?;
            Ok(unchanged_or(s, |s| {
                // ASCII with no letter to map: the fold is the text itself.
                let same = s.is_ascii() && !s.bytes().any(|b| b.is_ascii_uppercase());
                (!same).then(|| go_lower(s))
            }))
        }),
    );
    f.register(
        "TrimSpace",
        Arity::Exact(1),
        native(|a| Ok(sub_str(arg_cow("TrimSpace", a, 0)?, str::trim))),
    );
    f.register(
        "Trim",
        Arity::Exact(2),
        native(|a| {
            let set = arg_str("Trim", a, 1)?.to_owned();
            Ok(sub_str(arg_cow("Trim", a, 0)?, |s| {
                s.trim_matches(|c| set.contains(c))
            }))
        }),
    );
    f.register(
        "TrimLeft",
        Arity::Exact(2),
        native(|a| {
            let set = arg_str("TrimLeft", a, 1)?.to_owned();
            Ok(sub_str(arg_cow("TrimLeft", a, 0)?, |s| {
                s.trim_start_matches(|c| set.contains(c))
            }))
        }),
    );
    f.register(
        "TrimRight",
        Arity::Exact(2),
        native(|a| {
            let set = arg_str("TrimRight", a, 1)?.to_owned();
            Ok(sub_str(arg_cow("TrimRight", a, 0)?, |s| {
                s.trim_end_matches(|c| set.contains(c))
            }))
        }),
    );
    f.register(
        "TrimPrefix",
        Arity::Exact(2),
        native(|a| {
            let p = arg_str("TrimPrefix", a, 1)?.to_owned();
            Ok(sub_str(arg_cow("TrimPrefix", a, 0)?, |s| {
                s.strip_prefix(p.as_str()).unwrap_or(s)
            }))
        }),
    );
    f.register(
        "TrimSuffix",
        Arity::Exact(2),
        native(|a| {
            let p = arg_str("TrimSuffix", a, 1)?.to_owned();
            Ok(sub_str(arg_cow("TrimSuffix", a, 0)?, |s| {
                s.strip_suffix(p.as_str()).unwrap_or(s)
            }))
        }),
    );
    f.register(
        "Fields",
        Arity::Exact(1),
        native(|a| {
            Ok(str_list(
                arg_str("Fields", a, 0)?
                    .split(go_is_space)
                    .filter(|s| !s.is_empty()),
            ))
        }),
    );
    f.register(
        "Index",
        Arity::Exact(2),
        native(|a| {
            let (s, sub) = (arg_str("Index", a, 0)?, arg_str("Index", a, 1)?);
            Ok(Value::Int(s.find(sub).map_or(-1, |i| i as i64)))
        }),
    );
    f.register(
        "IndexAny",
        Arity::Exact(2),
        native(|a| {
            let (s, chars) = (arg_str("IndexAny", a, 0)?, arg_str("IndexAny", a, 1)?);
            Ok(Value::Int(
                s.find(|c| chars.contains(c)).map_or(-1, |i| i as i64),
            ))
        }),
    );
    f.register(
        "Join",
        Arity::Exact(2),
        native(|a| {
            let items = arg_str_list("Join", a, 0)?;
            Ok(Value::string(items.join(arg_str("Join", a, 1)?)))
        }),
    );
    f.register(
        "Split",
        Arity::Exact(2),
        native(|a| {
            Ok(str_list(go_split(
                arg_str("Split", a, 0)?,
                arg_str("Split", a, 1)?,
                -1,
                false,
            )))
        }),
    );
    f.register(
        "SplitAfter",
        Arity::Exact(2),
        native(|a| {
            Ok(str_list(go_split(
                arg_str("SplitAfter", a, 0)?,
                arg_str("SplitAfter", a, 1)?,
                -1,
                true,
            )))
        }),
    );
    f.register(
        "SplitN",
        Arity::Exact(3),
        native(|a| {
            let n = arg_int("SplitN", a, 2)?;
            Ok(str_list(go_split(
                arg_str("SplitN", a, 0)?,
                arg_str("SplitN", a, 1)?,
                n,
                false,
            )))
        }),
    );
    f.register(
        "SplitAfterN",
        Arity::Exact(3),
        native(|a| {
            let n = arg_int("SplitAfterN", a, 2)?;
            Ok(str_list(go_split(
                arg_str("SplitAfterN", a, 0)?,
                arg_str("SplitAfterN", a, 1)?,
                n,
                true,
            )))
        }),
    );
    f.register(
        "Replace",
        Arity::Exact(4),
        native(|a| {
            let (s, old, new) = (
                arg_str("Replace", a, 0)?,
                arg_str("Replace", a, 1)?,
                arg_str("Replace", a, 2)?,
            );
            let n = arg_int("Replace", a, 3)?;
            Ok(Value::string(match usize::try_from(n) {
                Ok(n) => s.replacen(old, new, n),
                Err(_) => s.replace(old, new),
            }))
        }),
    );
    f.register(
        "ReplaceAll",
        Arity::Exact(3),
        native(|a| {
            let (s, old, new) = (
                arg_cow("ReplaceAll", a, 0)?,
                arg_str("ReplaceAll", a, 1)?,
                arg_str("ReplaceAll", a, 2)?,
            );
            // An empty `old` matches between every rune, so only a non-empty one can miss.
            Ok(unchanged_or(s, |s| {
                (old.is_empty() || s.contains(old)).then(|| s.replace(old, new))
            }))
        }),
    );
}

/// Go's `unicode.IsSpace`.
pub fn go_is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0b}' | '\u{0c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    ) || (c as u32 > 0xff && c.is_whitespace())
}

/// Go's `strings.ToUpper`: simple (one rune to one rune) case mapping.
pub fn go_upper(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_uppercase();
    }
    s.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

/// Go's `strings.ToLower`: simple (one rune to one rune) case mapping.
pub fn go_lower(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    s.chars()
        .map(|c| {
            if c == '\u{130}' {
                return 'i';
            }
            let mut low = c.to_lowercase();
            match (low.next(), low.next()) {
                (Some(l), None) => l,
                _ => c,
            }
        })
        .collect()
}

/// Go's `strings.genSplit`: `n < 0` means no limit, `n == 0` returns nothing, an empty
/// separator splits after each UTF-8 sequence, `after` keeps the separator (`SplitAfter`).
pub fn go_split(s: &str, sep: &str, n: i64, after: bool) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    let limit = usize::try_from(n).unwrap_or(usize::MAX);
    if sep.is_empty() {
        let chars: Vec<&str> = s
            .char_indices()
            .map(|(i, c)| &s[i..i + c.len_utf8()])
            .collect();
        if chars.len() <= limit {
            return chars.into_iter().map(str::to_owned).collect();
        }
        let mut out: Vec<String> = chars[..limit - 1].iter().map(|c| (*c).to_owned()).collect();
        let used: usize = out.iter().map(String::len).sum();
        out.push(s[used..].to_owned());
        return out;
    }
    let mut out = Vec::new();
    let mut rest = s;
    while out.len() + 1 < limit {
        match rest.find(sep) {
            Some(i) => {
                let end = if after { i + sep.len() } else { i };
                out.push(rest[..end].to_owned());
                rest = &rest[i + sep.len()..];
            }
            None => break,
        }
    }
    out.push(rest.to_owned());
    out
}
