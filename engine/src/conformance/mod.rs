//! Loading parity with CrowdSec: the rules by which CrowdSec refuses content at start-up, and
//! how hivewall reports them.
//!
//! CrowdSec stops at start-up on content that hivewall's engine could run anyway (a grok
//! pattern used before the line that defines it, a static that only sets `enriched`, a stash
//! without `ttl`, `evt.Foo` for a field its `Event` does not have, ...). Content written with
//! hivewall must keep working when it goes back to CrowdSec or to the hub, so the loaders read
//! it as CrowdSec does by default ([`Reading::Strict`]): what CrowdSec refuses is an error naming
//! `file:line` and CrowdSec's own reason. [`Reading::Lenient`] keeps hivewall's wider reading
//! (patterns resolved wherever they are defined, ...) and turns those refusals into warnings.
//!
//! [`lint`] checks a configuration directory or a hub checkout without running anything and
//! lists every problem as a [`Finding`] of a [`Rule`]; with [`CrowdsecVersion::V1_4`] it also
//! lists what CrowdSec 1.4 (Debian stable's 1.4.6) lacks (see [`v14`]).

mod event_fields;
mod lint;
mod locate;
#[cfg(test)]
mod tests;
pub mod v14;
mod version;

pub use event_fields::{EVENT_METHODS, no_field_message, unknown_event_member};
pub use lint::{LintTarget, lint};
pub use locate::{at_line, line_of, locate_after, yaml_at};
pub use version::{FormatCheck, ItemKind, check_format};

use serde::Serialize;

/// How content is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub enum Reading {
    /// As current CrowdSec reads it: what it refuses at start-up is an error, what it skips is
    /// skipped (the default).
    #[default]
    Strict,
    /// hivewall's wider reading: what CrowdSec would refuse is loaded anyway when hivewall can
    /// make sense of it, and reported as a warning.
    Lenient,
}

impl Reading {
    /// Whether CrowdSec's refusals are errors.
    pub fn is_strict(self) -> bool {
        self == Reading::Strict
    }
}

/// The CrowdSec release whose loading rules to check against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub enum CrowdsecVersion {
    /// Current CrowdSec (v1.7, master).
    #[default]
    Current,
    /// CrowdSec 1.4 (Debian 12's 1.4.6): current rules plus what 1.4 lacks.
    V1_4,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// CrowdSec refuses to start (or skips the item, for 1.4 gaps that make it refuse).
    Error,
    /// CrowdSec starts, but logs it and loads something other than what the file says.
    Warning,
}

/// One rule of CrowdSec's loading, each with a fixture and a test (see `docs/conformance.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// A grok reference to a pattern not defined yet: pattern files load in name order, lines
    /// in file order, then parsers' `pattern_syntax` in load order and key order.
    PatternUndefined,
    /// A pattern file defines a name that exists already.
    PatternDuplicate,
    /// A pattern whose regular expression does not compile.
    PatternRegex,
    /// YAML that CrowdSec's strict decoder refuses: unknown key, duplicate key, wrong type,
    /// bad syntax.
    Yaml,
    /// An expression that does not compile: syntax, unknown helper, wrong argument count.
    Expression,
    /// An expression reading `evt.X` where X is no field or method of CrowdSec's `Event`.
    EventField,
    /// A parser's grok names a pattern that does not exist, or its inline pattern does not
    /// compile.
    Grok,
    /// A parser node CrowdSec refuses: empty node, bad `onsuccess`, grok without `apply_on`
    /// or `expression`, static without target or value, stash without name, key, value or ttl.
    Node,
    /// A whitelist address or range that does not parse.
    Whitelist,
    /// A scenario CrowdSec refuses: nameless, no filter, unknown type, capacity, durations,
    /// scope, expressions of `distinct`, `cancel_on`, `condition`...
    Scenario,
    /// `format:` that is not a version (refused), or outside what CrowdSec supports (skipped).
    Format,
    /// Two local items of one kind with the same name: CrowdSec loads only the last one.
    DuplicateName,
    /// A data file that cannot be read: CrowdSec logs it and goes on (lookups find nothing).
    DataFile,
    /// `profiles.yaml` CrowdSec refuses: unknown key, bad `on_success`/`on_failure`, filter
    /// or duration that does not compile, no profile at all.
    Profile,
    /// CrowdSec 1.4: a helper function it does not have (`ReplaceAll`, `Split`, ...).
    V14Helper,
    /// CrowdSec 1.4: a scenario label whose value is a list or a map (1.4 labels are strings).
    V14Labels,
    /// CrowdSec 1.4: a key it does not know (`stash`, `condition`, `bayesian_*`, data `ttl`...).
    V14Key,
    /// CrowdSec 1.4: an `Event` field or method it does not have (`evt.Unmarshaled`, ...).
    V14EventField,
    /// CrowdSec 1.4: a `format:` above what it supports (parsers 2.0, scenarios below 3.0).
    V14Format,
    /// CrowdSec 1.4: expression syntax its expr 1.9 does not parse (`??`, `?.`, `let`, `|`).
    V14Syntax,
}

impl Rule {
    /// Every rule, in the order of `docs/conformance.md`.
    pub const ALL: &'static [Rule] = &[
        Rule::PatternUndefined,
        Rule::PatternDuplicate,
        Rule::PatternRegex,
        Rule::Yaml,
        Rule::Expression,
        Rule::EventField,
        Rule::Grok,
        Rule::Node,
        Rule::Whitelist,
        Rule::Scenario,
        Rule::Format,
        Rule::DuplicateName,
        Rule::DataFile,
        Rule::Profile,
        Rule::V14Helper,
        Rule::V14Labels,
        Rule::V14Key,
        Rule::V14EventField,
        Rule::V14Format,
        Rule::V14Syntax,
    ];

    /// The rule's short name, as `hivewall lint` prints it.
    pub fn id(self) -> &'static str {
        match self {
            Rule::PatternUndefined => "pattern-undefined",
            Rule::PatternDuplicate => "pattern-duplicate",
            Rule::PatternRegex => "pattern-regex",
            Rule::Yaml => "yaml",
            Rule::Expression => "expression",
            Rule::EventField => "event-field",
            Rule::Grok => "grok",
            Rule::Node => "node",
            Rule::Whitelist => "whitelist",
            Rule::Scenario => "scenario",
            Rule::Format => "format",
            Rule::DuplicateName => "duplicate-name",
            Rule::DataFile => "data-file",
            Rule::Profile => "profile",
            Rule::V14Helper => "v1.4-helper",
            Rule::V14Labels => "v1.4-labels",
            Rule::V14Key => "v1.4-key",
            Rule::V14EventField => "v1.4-event-field",
            Rule::V14Format => "v1.4-format",
            Rule::V14Syntax => "v1.4-syntax",
        }
    }

    /// Whether the rule is about CrowdSec 1.4 only.
    pub fn is_v14(self) -> bool {
        self.id().starts_with("v1.4-")
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// One problem found in content.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Finding {
    /// The rule it breaks.
    pub rule: Rule,
    /// Whether CrowdSec refuses to start on it.
    pub severity: Severity,
    /// `file:line` (or the file alone when the line cannot be told).
    pub location: String,
    /// CrowdSec's reason, in its words where it has some.
    pub message: String,
}

impl Finding {
    /// An error finding.
    pub fn error(rule: Rule, location: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            rule,
            severity: Severity::Error,
            location: location.into(),
            message: message.into(),
        }
    }

    /// A warning finding.
    pub fn warning(rule: Rule, location: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(rule, location, message)
        }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        if !self.location.is_empty() {
            write!(f, "{}: ", self.location)?;
        }
        write!(f, "{level}[{}]: {}", self.rule, self.message)
    }
}

/// The findings of one [`lint`] run, in load order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Everything found.
    pub findings: Vec<Finding>,
    /// Files read: pattern files, parsers, postoverflows, scenarios, profiles.
    pub files: usize,
}

impl Report {
    /// Number of findings CrowdSec would refuse to start on.
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count()
    }

    /// Number of warnings.
    pub fn warnings(&self) -> usize {
        self.findings.len() - self.errors()
    }
}
