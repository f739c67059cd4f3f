//! Loading parity with CrowdSec, one fixture per rule (`tests/fixtures/lint/<rule>/`, each a
//! small configuration directory with one problem).
//!
//! For each rule: `lint` reports it with CrowdSec's reason at the right `file:line`; loading a
//! pipeline (strict by default) refuses it the same way where CrowdSec refuses to start; the
//! lenient reading loads what hivewall can run and warns. The reasons expected here are the
//! ones a current CrowdSec (built from a88b497) and Debian's 1.4.6 printed on the same fixtures
//! (`docs/conformance.md`, "Loading parity").

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use engine::clock::FixedClock;
use engine::conformance::{CrowdsecVersion, LintTarget, Reading, Rule, Severity, lint};
use engine::pipeline::{Pipeline, Setup};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lint")
        .join(name)
}

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock(
        Utc.with_ymd_and_hms(2026, 3, 14, 9, 0, 0).unwrap(),
    ))
}

fn setup(name: &str, reading: Reading) -> Setup {
    let dir = fixture(name);
    let mut s = Setup::installed(&dir, dir.join("data")).unwrap();
    s.reading = reading;
    s
}

/// One expected finding: fixture, CrowdSec version, rule, severity, where (file relative to the
/// fixture and line), and a piece of CrowdSec's own message.
struct Case {
    fixture: &'static str,
    version: CrowdsecVersion,
    rule: Rule,
    severity: Severity,
    at: &'static str,
    reason: &'static str,
}

const fn case(
    fixture: &'static str,
    rule: Rule,
    severity: Severity,
    at: &'static str,
    reason: &'static str,
) -> Case {
    let version = if fixture.as_bytes()[0] == b'v' {
        CrowdsecVersion::V1_4
    } else {
        CrowdsecVersion::Current
    };
    Case {
        fixture,
        version,
        rule,
        severity,
        at,
        reason,
    }
}

use Severity::{Error, Warning};

const CASES: &[Case] = &[
    case(
        "pattern-undefined",
        Rule::PatternUndefined,
        Error,
        "patterns/fixture-a:2",
        "the 'FIX_WORD' pattern doesn't exist",
    ),
    case(
        "pattern-undefined-line-order",
        Rule::PatternUndefined,
        Error,
        "patterns/fixture:2",
        "the 'FIX_WORD' pattern doesn't exist",
    ),
    case(
        "pattern-syntax-order",
        Rule::PatternUndefined,
        Error,
        "parsers/s01-parse/fixture.yaml:5",
        "the 'FIX_WORD' pattern doesn't exist",
    ),
    case(
        "pattern-duplicate",
        Rule::PatternDuplicate,
        Error,
        "patterns/fixture-b:2",
        "the pattern already exist",
    ),
    case(
        "pattern-regex",
        Rule::PatternRegex,
        Error,
        "patterns/fixture:2",
        "error parsing regexp: ",
    ),
    case(
        "yaml-unknown-field",
        Rule::Yaml,
        Error,
        "parsers/s01-parse/fixture.yaml:3",
        "unknown field `filtre`",
    ),
    case(
        "yaml-duplicate-key",
        Rule::Yaml,
        Error,
        "parsers/s01-parse/fixture.yaml:4",
        "duplicate mapping key: filter",
    ),
    case(
        "expression",
        Rule::Expression,
        Error,
        "parsers/s01-parse/fixture.yaml:3",
        "NoSuchHelper",
    ),
    case(
        "event-field",
        Rule::EventField,
        Error,
        "parsers/s01-parse/fixture.yaml:3",
        "type pipeline.Event has no field Parssed",
    ),
    case(
        "event-field-scenario",
        Rule::EventField,
        Error,
        "scenarios/fixture.yaml:4",
        "invalid filter 'evt.Metas.source_ip != ''': type pipeline.Event has no field Metas",
    ),
    case(
        "grok",
        Rule::Grok,
        Error,
        "parsers/s01-parse/fixture.yaml:5",
        "unable to find grok \"FIX_NO_SUCH_PATTERN\": pattern doesn't exist",
    ),
    case(
        "node-empty",
        Rule::Node,
        Error,
        "parsers/s01-parse/fixture.yaml:1",
        "Node is empty",
    ),
    case(
        "node-static-target",
        Rule::Node,
        Error,
        "parsers/s01-parse/fixture.yaml:8",
        "static 0: at least one of meta/event/target must be set",
    ),
    case(
        "node-stash-ttl",
        Rule::Node,
        Error,
        "parsers/s01-parse/fixture.yaml:8",
        "stash fixture_cache: while parsing stash ttl: time: invalid duration \"\"",
    ),
    case(
        "node-stash-size",
        Rule::Node,
        Error,
        "parsers/s01-parse/fixture.yaml:8",
        "gcache: Cache size <= 0",
    ),
    case(
        "whitelist",
        Rule::Whitelist,
        Error,
        "parsers/s02-enrich/fixture.yaml:6",
        "parsing whitelist: ParseAddr(\"192.0.2.300\")",
    ),
    case(
        "scenario",
        Rule::Scenario,
        Error,
        "scenarios/fixture.yaml:1",
        "leaky bucket: leakspeed is required",
    ),
    case(
        "format-invalid",
        Rule::Format,
        Error,
        "scenarios/fixture.yaml:2",
        "failed to check version: failed to parse 'not-a-version': malformed version",
    ),
    case(
        "format-skipped",
        Rule::Format,
        Warning,
        "scenarios/fixture.yaml:2",
        "can't load fixture/format-skipped : 4 doesn't satisfy scenario format >= 1.0, <= 3.0, skip",
    ),
    case(
        "duplicate-name",
        Rule::DuplicateName,
        Warning,
        "scenarios/fixture-a.yaml",
        "multiple scenarios named fixture/dup: ignoring ",
    ),
    case(
        "data-file",
        Rule::DataFile,
        Warning,
        "",
        "fixture-missing.txt",
    ),
    case(
        "profile",
        Rule::Profile,
        Error,
        "profiles.yaml",
        "on_success",
    ),
    case(
        "v1.4-helper",
        Rule::V14Helper,
        Error,
        "parsers/s02-enrich/fixture.yaml:6",
        "unknown func ReplaceAll",
    ),
    case(
        "v1.4-labels",
        Rule::V14Labels,
        Error,
        "scenarios/fixture.yaml:10",
        "cannot unmarshal !!seq into string",
    ),
    case(
        "v1.4-key",
        Rule::V14Key,
        Error,
        "parsers/s02-enrich/fixture.yaml:7",
        "field stash not found in type parser.Node",
    ),
    case(
        "v1.4-event-field",
        Rule::V14EventField,
        Error,
        "parsers/s02-enrich/fixture.yaml:6",
        "type *types.Event has no field Unmarshaled",
    ),
    case(
        "v1.4-format",
        Rule::V14Format,
        Warning,
        "scenarios/fixture.yaml:1",
        "3.0 doesn't satisfy scenario format >= 1.0, < 3.0, skip",
    ),
    case(
        "v1.4-syntax",
        Rule::V14Syntax,
        Error,
        "parsers/s02-enrich/fixture.yaml:6",
        "unexpected token Operator(\"?\")",
    ),
];

#[test]
fn every_rule_has_a_fixture() {
    for rule in Rule::ALL {
        assert!(
            CASES.iter().any(|c| c.rule == *rule),
            "no fixture for rule {rule}"
        );
    }
}

#[test]
fn lint_reports_each_rule_as_crowdsec_does() {
    for c in CASES {
        let dir = fixture(c.fixture);
        let target = LintTarget::detect(&dir, None, None);
        let report = lint(&target, c.version).unwrap();
        assert_eq!(
            report.findings.len(),
            1,
            "{}: one finding expected, got {:#?}",
            c.fixture,
            report.findings
        );
        let f = &report.findings[0];
        assert_eq!(
            (f.rule, f.severity),
            (c.rule, c.severity),
            "{}: {f}",
            c.fixture
        );
        let at = if c.at.is_empty() {
            String::new()
        } else {
            dir.join(c.at).display().to_string()
        };
        assert_eq!(f.location, at, "{}: {f}", c.fixture);
        assert!(
            f.message.contains(c.reason),
            "{}: {:?} does not say {:?}",
            c.fixture,
            f.message,
            c.reason
        );
        // CrowdSec names the pattern file it stopped at.
        if f.location.contains("/patterns/") {
            let file =
                c.at.trim_start_matches("patterns/")
                    .split(':')
                    .next()
                    .unwrap();
            let prefix = format!("failed to load pattern {file}: ");
            assert!(f.message.starts_with(&prefix), "{}: {f}", c.fixture);
        }
    }
}

#[test]
fn the_1_4_rules_are_silent_for_current_crowdsec() {
    for c in CASES.iter().filter(|c| c.rule.is_v14()) {
        let target = LintTarget::detect(&fixture(c.fixture), None, None);
        let report = lint(&target, CrowdsecVersion::Current).unwrap();
        assert!(
            report.findings.is_empty(),
            "{}: {:#?}",
            c.fixture,
            report.findings
        );
    }
}

#[test]
fn loading_refuses_what_crowdsec_refuses_at_start() {
    let refused = CASES
        .iter()
        .filter(|c| c.severity == Error && !c.rule.is_v14() && c.rule != Rule::Profile);
    for c in refused {
        let err = Pipeline::load(&setup(c.fixture, Reading::Strict), clock())
            .err()
            .unwrap_or_else(|| panic!("{}: loaded", c.fixture))
            .to_string();
        assert!(err.contains(c.reason), "{}: {err}", c.fixture);
        let at = fixture(c.fixture).join(c.at).display().to_string();
        assert!(err.contains(&at), "{}: {err} does not name {at}", c.fixture);
    }
    // Profiles are read by the same load.
    let err = Pipeline::load(&setup("profile", Reading::Strict), clock()).unwrap_err();
    assert!(err.to_string().contains("on_success"), "{err}");
}

#[test]
fn lenient_reading_loads_what_hivewall_can_run_and_warns() {
    let lenient = [
        "pattern-undefined",
        "pattern-undefined-line-order",
        "pattern-syntax-order",
        "event-field",
        "event-field-scenario",
        "node-static-target",
        "node-stash-ttl",
        "node-stash-size",
        "format-invalid",
    ];
    for name in lenient {
        let c = CASES.iter().find(|c| c.fixture == name).unwrap();
        let p = Pipeline::load(&setup(name, Reading::Lenient), clock())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            p.warnings.iter().any(|w| w.contains(c.reason)),
            "{name}: {:#?}",
            p.warnings
        );
    }
}

#[test]
fn lenient_reading_still_fails_on_what_hivewall_cannot_run() {
    for name in [
        "yaml-unknown-field",
        "expression",
        "grok",
        "node-empty",
        "scenario",
    ] {
        assert!(
            Pipeline::load(&setup(name, Reading::Lenient), clock()).is_err(),
            "{name}"
        );
    }
}

#[test]
fn what_crowdsec_skips_is_skipped() {
    // Two scenarios named fixture/dup: CrowdSec keeps the last file (capacity 5).
    let p = Pipeline::load(&setup("duplicate-name", Reading::Strict), clock()).unwrap();
    let scenarios = p.detector().scenarios();
    assert_eq!(scenarios.len(), 1);
    let sc = scenarios.iter().next().unwrap();
    assert_eq!((sc.name(), sc.config.capacity), ("fixture/dup", 5));
    assert!(sc.file.ends_with("fixture-b.yaml"));
    assert!(
        p.warnings.iter().any(|w| w.contains("ignoring")),
        "{:?}",
        p.warnings
    );
    // format: 4.0 is skipped with an error log, not refused.
    let p = Pipeline::load(&setup("format-skipped", Reading::Strict), clock()).unwrap();
    assert!(p.detector().scenarios().is_empty());
    // ... and loaded by the lenient reading.
    let p = Pipeline::load(&setup("format-skipped", Reading::Lenient), clock()).unwrap();
    assert_eq!(p.detector().scenarios().len(), 1);
    // A missing data file is logged by CrowdSec, which goes on.
    let p = Pipeline::load(&setup("data-file", Reading::Strict), clock()).unwrap();
    assert_eq!(p.detector().scenarios().len(), 1);
}

fn repo_scenarios() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

#[test]
fn hivewall_content_loads_in_current_crowdsec() {
    let target = LintTarget::detect(&repo_scenarios(), None, None);
    assert!(matches!(target, LintTarget::ConfigDir { .. }));
    let report = lint(&target, CrowdsecVersion::Current).unwrap();
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    // The hub layout of the same files (symlinks), with the patterns beside it.
    let target = LintTarget::detect(&repo_scenarios().join("hub"), None, None);
    assert!(matches!(target, LintTarget::Hub { .. }));
    let report = lint(&target, CrowdsecVersion::Current).unwrap();
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
}

#[test]
fn hivewall_content_lists_the_1_4_gaps() {
    let target = LintTarget::detect(&repo_scenarios(), None, None);
    let report = lint(&target, CrowdsecVersion::V1_4).unwrap();
    let count = |rule| report.findings.iter().filter(|f| f.rule == rule).count();
    // ReplaceAll in the http enricher; a list-valued `classification` in each of 8 scenarios.
    assert_eq!(count(Rule::V14Helper), 1, "{:#?}", report.findings);
    assert_eq!(count(Rule::V14Labels), 8, "{:#?}", report.findings);
    assert_eq!(report.findings.len(), 9, "{:#?}", report.findings);
    assert!(report.findings[0].message.contains("ReplaceAll"));
}

#[test]
fn the_hub_loads_strictly() {
    let hub = engine::testdata::shared("crowdsec/hub");
    assert!(hub.is_dir(), "hub snapshot missing at {}", hub.display());
    let report = lint(
        &LintTarget::detect(&hub, None, None),
        CrowdsecVersion::Current,
    )
    .unwrap();
    assert_eq!(report.errors(), 0, "{:#?}", report.findings);
    assert!(report.files > 900, "{}", report.files);
}
