//! The rest `(C.*?)(L[^L]*$|$)`, optional, after a cut at the last delimiter: a name and its
//! extension, found without a regex.
//!
//! CrowdSec's `http-logs` splits each request path as `%{DIR}(%{FILE}%{EXT})?` with
//! `FILE = [^/].*?` and `EXT = \.[^.]*$|$`. After the cut at the last `/` (see
//! [`super::last`]) the rest ran as a regex of its own, through the bounded backtracker: the
//! largest part of that node's cost on every HTTP line. Its shape decides the answer, for a
//! rest `r` starting at the cut:
//! - the group needs a first character in `C`; then the lazy `.*?` (no newline) stops at the
//!   first position where an alternative of the extension matches;
//! - `L[^L]*$` matches only at the last `L` of the text (`[^L]` takes newlines, `$` is the
//!   end of the text), `$` only at the end;
//! - so the name ends at the last `L` after the first character, if the lazy part reaches it
//!   (no newline before it), else at the end of the text if no newline comes before it, and
//!   otherwise the group does not take part and the rest matches empty at the cut.

use regex_automata::util::primitives::NonMaxUsize;
use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// The rest `(?:(C.*?)(L[^L]*$|$))?`, each of its two groups capturing or not.
#[derive(Debug)]
pub(super) struct Ext {
    /// `C`, the first character's class (Unicode ranges).
    first: Box<[(char, char)]>,
    /// `L`, an ASCII byte other than a newline.
    byte: u8,
    /// Whether the name and the extension are capturing groups (numbered in that order).
    name_group: bool,
    ext_group: bool,
}

/// The shape above in `rest` (the items after the cut), if it has it.
pub(super) fn build(rest: &[Hir]) -> Option<Ext> {
    let [opt] = rest else {
        return None;
    };
    let HirKind::Repetition(r) = opt.kind() else {
        return None;
    };
    if !(r.min == 0 && r.max == Some(1) && r.greedy) {
        return None;
    }
    let HirKind::Concat(parts) = r.sub.kind() else {
        return None;
    };
    // A name that is no group is flattened into the concatenation: `C`, `.*?`, extension.
    let (name_group, first, ext) = match &parts[..] {
        [name, ext] => {
            let (captured, name) = uncapture(name);
            let HirKind::Concat(items) = name.kind() else {
                return None;
            };
            (captured, name_parts(items)?, ext)
        }
        [_, _, ext] => (false, name_parts(&parts[..2])?, ext),
        _ => return None,
    };
    let (ext_group, ext) = uncapture(ext);
    let byte = ext_byte(ext)?;
    Some(Ext {
        first,
        byte,
        name_group,
        ext_group,
    })
}

/// Whether `h` is a capturing group, and what it holds.
fn uncapture(h: &Hir) -> (bool, &Hir) {
    match h.kind() {
        HirKind::Capture(c) => (true, &c.sub),
        _ => (false, h),
    }
}

/// `C` of `C.*?` (a Unicode class, then a lazy `.` without newlines).
fn name_parts(items: &[Hir]) -> Option<Box<[(char, char)]>> {
    let [class, any] = items else {
        return None;
    };
    let HirKind::Class(Class::Unicode(c)) = class.kind() else {
        return None;
    };
    let HirKind::Repetition(r) = any.kind() else {
        return None;
    };
    (r.min == 0 && r.max.is_none() && !r.greedy && is_all_but(&r.sub, '\n'))
        .then(|| c.ranges().iter().map(|r| (r.start(), r.end())).collect())
}

/// `L` of `L[^L]*$|$`.
fn ext_byte(h: &Hir) -> Option<u8> {
    let HirKind::Alternation(alts) = h.kind() else {
        return None;
    };
    let [with, end] = &alts[..] else {
        return None;
    };
    if *end.kind() != HirKind::Look(Look::End) {
        return None;
    }
    let HirKind::Concat(items) = with.kind() else {
        return None;
    };
    let [lit, others, end] = &items[..] else {
        return None;
    };
    let HirKind::Literal(l) = lit.kind() else {
        return None;
    };
    let &[byte] = &l.0[..] else {
        return None;
    };
    let HirKind::Repetition(r) = others.kind() else {
        return None;
    };
    let ok = byte.is_ascii()
        && byte != b'\n'
        && r.min == 0
        && r.max.is_none()
        && r.greedy
        && is_all_but(&r.sub, char::from(byte))
        && *end.kind() == HirKind::Look(Look::End);
    ok.then_some(byte)
}

/// Whether `h` is the class of every character but `x` (an ASCII character other than NUL).
fn is_all_but(h: &Hir, x: char) -> bool {
    let HirKind::Class(Class::Unicode(c)) = h.kind() else {
        return false;
    };
    if x == '\0' || !x.is_ascii() {
        return false;
    }
    let (before, after) = (char::from(x as u8 - 1), char::from(x as u8 + 1));
    let r: Vec<(char, char)> = c.ranges().iter().map(|r| (r.start(), r.end())).collect();
    r == [('\0', before), (after, char::MAX)]
}

impl Ext {
    /// Groups of the rest: slots it fills after the whole match's two.
    pub(super) fn groups(&self) -> usize {
        usize::from(self.name_group) + usize::from(self.ext_group)
    }

    /// Fills `rest` as the rest's own regex, anchored at `cut`, would: the whole match's
    /// span, then the name's and the extension's (those that capture). The rest always
    /// matches.
    pub(super) fn fill(&self, text: &str, cut: usize, rest: &mut [Option<NonMaxUsize>]) {
        let len = text.len();
        let b = text.as_bytes();
        let name_end = text
            .get(cut..)
            .and_then(|r| r.chars().next())
            .and_then(|ch| {
                let in_class = self.first.iter().any(|(lo, hi)| (*lo..=*hi).contains(&ch));
                if !in_class {
                    return None;
                }
                let body = cut + ch.len_utf8();
                let newline = memchr::memchr(b'\n', &b[body..]).map_or(len, |i| body + i);
                match memchr::memrchr(self.byte, &b[body..]) {
                    Some(i) if body + i <= newline => Some(body + i),
                    _ => (newline == len).then_some(len),
                }
            });
        rest.iter_mut().for_each(|s| *s = None);
        let mut set = |i: usize, s: usize, e: usize| {
            if let Some(pair) = rest.get_mut(2 * i..2 * i + 2) {
                pair[0] = NonMaxUsize::new(s);
                pair[1] = NonMaxUsize::new(e);
            }
        };
        let Some(p) = name_end else {
            set(0, cut, cut);
            return;
        };
        set(0, cut, len);
        let mut g = 1;
        if self.name_group {
            set(g, cut, p);
            g += 1;
        }
        if self.ext_group {
            set(g, p, len);
        }
    }
}
