//! `format:` of parsers and scenarios against the versions CrowdSec supports.
//!
//! CrowdSec reads `format` with hashicorp's go-version and checks it against a constraint
//! (`>= 1.0, <= 3.0` for both parsers and scenarios today; 1.4 had `>= 1.0, <= 2.0` for
//! parsers and `>= 1.0, < 3.0` for scenarios). A value that is not a version stops the load
//! ("failed to check version"); a version outside the range makes CrowdSec skip the item with
//! an error in its log.

use super::CrowdsecVersion;

/// What CrowdSec does with a `format:` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatCheck {
    /// Supported: the item loads.
    Supported,
    /// A version outside the supported range: CrowdSec skips the item (the message says why).
    Skipped(String),
    /// Not a version: CrowdSec refuses to start.
    Invalid(String),
}

/// Which kind of item the format belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// A parser or postoverflow node.
    Parser,
    /// A scenario.
    Scenario,
}

/// Checks `format` (empty: `1.0`, as CrowdSec assumes) of an item of `kind` for `version`.
pub fn check_format(format: &str, kind: ItemKind, version: CrowdsecVersion) -> FormatCheck {
    let format = if format.trim().is_empty() {
        "1.0"
    } else {
        format
    };
    let Some(v) = parse(format) else {
        return FormatCheck::Invalid(format!(
            "failed to check version: failed to parse '{format}': malformed version: {format}"
        ));
    };
    let (constraint, max, inclusive) = match (kind, version) {
        (ItemKind::Parser, CrowdsecVersion::Current) => (">= 1.0, <= 3.0", [3, 0], true),
        (ItemKind::Scenario, CrowdsecVersion::Current) => (">= 1.0, <= 3.0", [3, 0], true),
        (ItemKind::Parser, CrowdsecVersion::V1_4) => (">= 1.0, <= 2.0", [2, 0], true),
        (ItemKind::Scenario, CrowdsecVersion::V1_4) => (">= 1.0, < 3.0", [3, 0], false),
    };
    let max = Parsed {
        segments: max.to_vec(),
        pre: false,
    };
    let min = Parsed {
        segments: vec![1, 0],
        pre: false,
    };
    let upper = match v.cmp_to(&max) {
        std::cmp::Ordering::Less => true,
        std::cmp::Ordering::Equal => inclusive,
        std::cmp::Ordering::Greater => false,
    };
    // go-version: a pre-release never satisfies a constraint without one.
    let ok = !v.pre && v.cmp_to(&min) != std::cmp::Ordering::Less && upper;
    if ok {
        FormatCheck::Supported
    } else {
        let what = match kind {
            ItemKind::Parser => "parser",
            ItemKind::Scenario => "scenario",
        };
        FormatCheck::Skipped(format!(
            "{format} doesn't satisfy {what} format {constraint}, skip"
        ))
    }
}

struct Parsed {
    segments: Vec<u64>,
    pre: bool,
}

impl Parsed {
    fn cmp_to(&self, other: &Parsed) -> std::cmp::Ordering {
        let n = self.segments.len().max(other.segments.len());
        for i in 0..n {
            let a = self.segments.get(i).copied().unwrap_or(0);
            let b = other.segments.get(i).copied().unwrap_or(0);
            if a != b {
                return a.cmp(&b);
            }
        }
        std::cmp::Ordering::Equal
    }
}

/// go-version's `NewVersion`, enough for formats: `v?N(.N)*` then `-pre` and/or `+meta`.
fn parse(s: &str) -> Option<Parsed> {
    let s = s.trim();
    let s = s.strip_prefix('v').unwrap_or(s);
    let (s, _meta) = s.split_once('+').unwrap_or((s, ""));
    let (nums, pre) = match s.find(|c: char| c == '-' || c.is_ascii_alphabetic()) {
        Some(i) => (&s[..i], !s[i..].trim_start_matches('-').is_empty()),
        None => (s, false),
    };
    let segments = nums
        .split('.')
        .map(|p| p.parse::<u64>().ok())
        .collect::<Option<Vec<_>>>()?;
    if segments.is_empty() {
        return None;
    }
    Some(Parsed { segments, pre })
}
