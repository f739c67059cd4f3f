//! Translation of Go (RE2) regular-expression syntax into syntax the Rust `regex` crate accepts
//! with the same meaning.
//!
//! The two dialects are close; the differences handled here are:
//! - Perl classes `\d \w \s` (and negations) are ASCII-only in Go, Unicode in Rust: they become
//!   explicit ASCII classes. `\b`/`\B` become `(?-u:\b)`/`(?-u:\B)`.
//! - `\Q...\E` literal quoting is expanded into escaped literals.
//! - Named groups (`(?P<n>...)`, `(?<n>...)`) become plain capturing groups: grok fields are
//!   addressed by group number, so names are never needed and duplicates cannot clash.
//! - Escaped punctuation (`\/`, `\<`, `\@`, ...) becomes a hex escape Rust accepts.
//! - Octal escapes (`\123`) become hex escapes.
//! - A `{` that does not start a valid repetition is a literal in Go; it is escaped.
//! - Inside `[...]`, `[`, `&`, `~` and `-` are literals in Go but set operators in Rust: they are
//!   escaped.
//!
//! Group numbering is preserved exactly: every capturing group of the input is a capturing group
//! of the output, in the same order, and no capturing group is added.

use std::fmt::Write as _;

/// The result of translating one Go regular expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translated {
    /// The Rust `regex` syntax.
    pub regex: String,
    /// The number of capturing groups (Go's `NumSubexp`).
    pub groups: usize,
}

const DIGIT: &str = "0-9";
const WORD: &str = "0-9A-Za-z_";
const SPACE: &str = r"\t\n\x0C\r ";

/// Translates a Go RE2 regular expression. Errors carry a short description of the problem.
pub fn translate(src: &str) -> Result<Translated, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len() + 16);
    let mut groups = 0usize;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                i = escape_outside(&chars, i + 1, &mut out)?;
                continue;
            }
            '[' => {
                i = class(&chars, i, &mut out)?;
                continue;
            }
            '(' => {
                if chars.get(i + 1) == Some(&'?') {
                    let rest: String = chars[i + 2..chars.len().min(i + 4)].iter().collect();
                    if rest.starts_with("P<") || rest.starts_with('<') {
                        let start = if rest.starts_with("P<") { i + 4 } else { i + 3 };
                        let close = chars[start..]
                            .iter()
                            .position(|&c| c == '>')
                            .ok_or_else(|| "unterminated group name".to_string())?;
                        let name = &chars[start..start + close];
                        if name.is_empty() || !name.iter().all(|c| c.is_alphanumeric() || *c == '_')
                        {
                            return Err(format!(
                                "invalid capture group name `{}`",
                                name.iter().collect::<String>()
                            ));
                        }
                        groups += 1;
                        out.push('(');
                        i = start + close + 1;
                        continue;
                    }
                    out.push_str("(?");
                    i += 2;
                    continue;
                }
                groups += 1;
                out.push('(');
            }
            '{' => match repetition(&chars, i) {
                Some(end) => {
                    out.extend(&chars[i..end]);
                    i = end;
                    continue;
                }
                None => out.push_str(r"\{"),
            },
            '}' => out.push_str(r"\}"),
            _ => out.push(c),
        }
        i += 1;
    }
    Ok(Translated { regex: out, groups })
}

/// If a valid Go repetition `{n}`, `{n,}` or `{n,m}` starts at `i`, returns the index after it.
fn repetition(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i + 1;
    let digits = |j: &mut usize| {
        let s = *j;
        while chars.get(*j).is_some_and(char::is_ascii_digit) {
            *j += 1;
        }
        let n: String = chars[s..*j].iter().collect();
        n.parse::<u32>().ok()
    };
    let lo = digits(&mut j)?;
    let mut hi = Some(lo);
    if chars.get(j) == Some(&',') {
        j += 1;
        hi = if chars.get(j) == Some(&'}') {
            None
        } else {
            Some(digits(&mut j)?)
        };
    }
    if chars.get(j) != Some(&'}') || lo > 1000 || hi.is_some_and(|h| h > 1000 || h < lo) {
        return None;
    }
    Some(j + 1)
}

fn hex(out: &mut String, c: char) {
    let _ = write!(out, "\\x{{{:X}}}", c as u32);
}

/// Reads an octal escape starting at `i` (first digit already known to be octal).
fn octal(chars: &[char], mut i: usize) -> (char, usize) {
    let mut v = 0u32;
    let start = i;
    while i < chars.len() && i - start < 3 && ('0'..='7').contains(&chars[i]) {
        v = v * 8 + (chars[i] as u32 - '0' as u32);
        i += 1;
    }
    (char::from_u32(v).unwrap_or('\0'), i)
}

/// Translates an escape outside a class; `i` points after the backslash. Returns the next index.
fn escape_outside(chars: &[char], i: usize, out: &mut String) -> Result<usize, String> {
    let Some(&c) = chars.get(i) else {
        return Err("trailing backslash at end of expression".into());
    };
    match c {
        'd' => out.push_str("[0-9]"),
        'D' => out.push_str("[^0-9]"),
        'w' => out.push_str("[0-9A-Za-z_]"),
        'W' => out.push_str("[^0-9A-Za-z_]"),
        's' => out.push_str(r"[\t\n\x0C\r ]"),
        'S' => out.push_str(r"[^\t\n\x0C\r ]"),
        'b' => out.push_str(r"(?-u:\b)"),
        'B' => out.push_str(r"(?-u:\B)"),
        'Q' => {
            let mut j = i + 1;
            while j < chars.len() {
                if chars[j] == '\\' && chars.get(j + 1) == Some(&'E') {
                    return Ok(j + 2);
                }
                literal(out, chars[j]);
                j += 1;
            }
            return Ok(j);
        }
        'E' => {}
        'C' => out.push_str("(?s:.)"),
        '0'..='7' => {
            if c != '0' && !chars.get(i + 1).is_some_and(|d| ('0'..='7').contains(d)) {
                return Err(format!("invalid escape sequence `\\{c}` (backreference)"));
            }
            let (ch, j) = octal(chars, i);
            hex(out, ch);
            return Ok(j);
        }
        'p' | 'P' | 'x' => return copy_braced(chars, i, out),
        'a' | 'f' | 't' | 'n' | 'r' | 'v' | 'A' | 'z' => {
            out.push('\\');
            out.push(c);
        }
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => hex(out, c),
        _ => return Err(format!("invalid escape sequence `\\{c}`")),
    }
    Ok(i + 1)
}

/// Copies `\p{..}`/`\pN`/`\x{..}`/`\xHH` verbatim (same syntax in both dialects).
fn copy_braced(chars: &[char], i: usize, out: &mut String) -> Result<usize, String> {
    out.push('\\');
    out.push(chars[i]);
    if chars.get(i + 1) == Some(&'{') {
        let close = chars[i + 1..]
            .iter()
            .position(|&c| c == '}')
            .ok_or_else(|| "unterminated `{` in escape".to_string())?;
        out.extend(&chars[i + 1..=i + 1 + close]);
        return Ok(i + 2 + close);
    }
    let n = if chars[i] == 'x' { 2 } else { 1 };
    if i + 1 + n > chars.len() {
        return Err("truncated escape sequence".into());
    }
    out.extend(&chars[i + 1..i + 1 + n]);
    Ok(i + 1 + n)
}

/// Emits one literal character so that it is a literal both inside and outside a class.
fn literal(out: &mut String, c: char) {
    if c.is_ascii_punctuation() || c == ' ' || c.is_control() {
        hex(out, c);
    } else {
        out.push(c);
    }
}

/// One item of a bracket class.
enum Item {
    Char(char),
    Set(String),
}

/// Translates a bracket class starting at `start` (`[`). Returns the index after the `]`.
fn class(chars: &[char], start: usize, out: &mut String) -> Result<usize, String> {
    let mut i = start + 1;
    out.push('[');
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    let mut first = true;
    loop {
        let Some(&c) = chars.get(i) else {
            return Err("missing closing `]` of character class".into());
        };
        if c == ']' && !first {
            out.push(']');
            return Ok(i + 1);
        }
        first = false;
        let (item, next) = class_item(chars, i)?;
        i = next;
        let Item::Char(lo) = item else {
            if let Item::Set(s) = item {
                out.push_str(&s);
            }
            continue;
        };
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|&c| c != ']') {
            let (hi, next) = class_item(chars, i + 1)?;
            let Item::Char(hi) = hi else {
                return Err("invalid character class range".into());
            };
            if hi < lo {
                return Err(format!("invalid character class range `{lo}-{hi}`"));
            }
            literal(out, lo);
            out.push('-');
            literal(out, hi);
            i = next;
        } else {
            literal(out, lo);
        }
    }
}

fn class_item(chars: &[char], i: usize) -> Result<(Item, usize), String> {
    let c = chars[i];
    if c == '[' && chars.get(i + 1) == Some(&':') {
        let rest: String = chars[i..chars.len().min(i + 14)].iter().collect();
        // The closing `:]` is looked for after the opening `[:` (as Go does: in `[:]` the
        // colon is not both), so `[[:]` is a class of `[` and `:`.
        if let Some(end) = rest.get(2..).and_then(|r| r.find(":]")).map(|e| e + 2) {
            let name = rest[2..end].trim_start_matches('^');
            const NAMES: [&str; 14] = [
                "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print",
                "punct", "space", "upper", "word", "xdigit",
            ];
            if NAMES.contains(&name) {
                let len = rest[..end + 2].chars().count();
                return Ok((Item::Set(rest[..end + 2].to_string()), i + len));
            }
            return Err(format!(
                "invalid character class range `{}`",
                &rest[..end + 2]
            ));
        }
    }
    if c != '\\' {
        return Ok((Item::Char(c), i + 1));
    }
    let Some(&e) = chars.get(i + 1) else {
        return Err("trailing backslash at end of expression".into());
    };
    let set = |s: &str| Ok((Item::Set(s.to_string()), i + 2));
    match e {
        'd' => set(DIGIT),
        'w' => set(WORD),
        's' => set(SPACE),
        'D' => set(&format!("[^{DIGIT}]")),
        'W' => set(&format!("[^{WORD}]")),
        'S' => set(&format!("[^{SPACE}]")),
        'a' => Ok((Item::Char('\x07'), i + 2)),
        'f' => Ok((Item::Char('\x0C'), i + 2)),
        't' => Ok((Item::Char('\t'), i + 2)),
        'n' => Ok((Item::Char('\n'), i + 2)),
        'r' => Ok((Item::Char('\r'), i + 2)),
        'v' => Ok((Item::Char('\x0B'), i + 2)),
        '0'..='7' => {
            let (ch, j) = octal(chars, i + 1);
            Ok((Item::Char(ch), j))
        }
        'x' => {
            let mut tmp = String::new();
            let j = copy_braced(chars, i + 1, &mut tmp)?;
            let digits = tmp[2..].trim_start_matches('{').trim_end_matches('}');
            let ch = u32::from_str_radix(digits, 16)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| format!("invalid escape sequence `{tmp}`"))?;
            Ok((Item::Char(ch), j))
        }
        'p' | 'P' => {
            let mut tmp = String::new();
            let j = copy_braced(chars, i + 1, &mut tmp)?;
            Ok((Item::Set(tmp), j))
        }
        e if e.is_ascii() && !e.is_ascii_alphanumeric() => Ok((Item::Char(e), i + 2)),
        _ => Err(format!("invalid escape sequence `\\{e}`")),
    }
}
