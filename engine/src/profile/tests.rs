//! Profile tests: matching, break/continue, scope and duration overrides.

use std::sync::Arc;

use super::*;
use crate::bucket::Source;
use crate::expr::functions::{Functions, HelperContext};

fn alert(scope: &str, value: &str, remediation: bool) -> Alert {
    Alert {
        scenario: "hivewall/ssh-bf".into(),
        remediation,
        events_count: 6,
        source: Source {
            scope: scope.into(),
            value: value.into(),
            ..Source::default()
        },
        ..Alert::default()
    }
}

fn profiles(yaml: &str) -> Profiles {
    Profiles::parse(
        yaml,
        "test",
        Arc::new(Functions::crowdsec(HelperContext::default())),
    )
    .unwrap()
}

const DEFAULT: &str = r#"
name: default_ip_remediation
filters:
 - Alert.Remediation == true && Alert.GetScope() == "Ip"
decisions:
 - type: ban
   duration: 4h
on_success: break
---
name: default_range_remediation
filters:
 - Alert.Remediation == true && Alert.GetScope() == "Range"
decisions:
 - type: ban
   duration: 4h
on_success: break
"#;

#[test]
fn ip_alert_gets_a_4h_ban_on_its_source() {
    let d = profiles(DEFAULT).decide(&alert("Ip", "192.0.2.7", true));
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].kind.as_str(), d[0].duration.as_str()), ("ban", "4h"));
    assert_eq!(
        (d[0].scope.as_str(), d[0].value.as_str()),
        ("Ip", "192.0.2.7")
    );
    assert_eq!(d[0].origin, "crowdsec");
    assert_eq!(d[0].scenario, "hivewall/ssh-bf");
}

#[test]
fn no_remediation_no_decision() {
    assert!(
        profiles(DEFAULT)
            .decide(&alert("Ip", "192.0.2.7", false))
            .is_empty()
    );
}

#[test]
fn range_alert_matches_the_second_profile() {
    let d = profiles(DEFAULT).decide(&alert("Range", "192.0.2.0/24", true));
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].value, "192.0.2.0/24");
}

#[test]
fn duration_expr_and_scope_override() {
    let p = profiles(
        r#"
name: escalate
filters: ["Alert.GetScenario() contains 'ssh'"]
decisions: [{type: captcha, scope: Range, duration: 1h}]
duration_expr: Sprintf('%dh', Alert.GetEventsCount() * 2)
"#,
    );
    let d = p.decide(&alert("Ip", "192.0.2.7", true));
    assert_eq!(d[0].duration, "12h");
    assert_eq!(d[0].scope, "Range");
    assert_eq!(d[0].kind, "captcha");
}

#[test]
fn first_matching_profile_sets_decisions_even_with_continue() {
    let p = profiles(
        r#"
name: a
filters: ["true"]
decisions: [{type: ban, duration: 1h}]
on_success: continue
---
name: b
filters: ["true"]
decisions: [{type: captcha, duration: 2h}]
"#,
    );
    let d = p.decide(&alert("Ip", "192.0.2.7", true));
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].kind, "ban");
}

#[test]
fn bad_values_are_errors() {
    let f = Arc::new(Functions::crowdsec(HelperContext::default()));
    let e = Profiles::parse("name: x\non_success: maybe\n", "p.yaml", f.clone()).unwrap_err();
    assert!(e.to_string().contains("on_success"), "{e}");
    let e = Profiles::parse(
        "name: x\ndecisions: [{type: ban, duration: soon}]\n",
        "p.yaml",
        f.clone(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("soon"), "{e}");
    let e = Profiles::parse("name: x\nfilterz: []\n", "p.yaml", f).unwrap_err();
    assert!(e.to_string().contains("filterz"), "{e}");
}

#[test]
fn days_are_accepted_in_durations() {
    assert_eq!(
        parse_duration_with_days("1d12h").unwrap(),
        36 * 3_600_000_000_000
    );
    assert!(parse_duration_with_days("xd").is_err());
}

#[test]
fn decision_history_lengthens_bans_of_repeat_offenders() {
    let history = Arc::new(MemoryHistory::default());
    let mut f = Functions::crowdsec(HelperContext::default());
    register_history(&mut f, history.clone());
    let p = Profiles::parse(
        "name: repeat\nfilters: [Alert.Remediation == true]\ndecisions: [{type: ban, duration: 4h}]\n\
         duration_expr: Sprintf('%dh', (GetDecisionsCount(Alert.GetValue()) + 1) * 4)\n\
         on_success: break\n",
        "p.yaml",
        Arc::new(f),
    )
    .unwrap();
    let mut durations = Vec::new();
    for _ in 0..3 {
        let d = p.decide(&alert("Ip", "192.0.2.8", true));
        durations.push(d[0].duration.clone());
        history.record(&d[0].value, 0);
    }
    assert_eq!(durations, ["4h", "8h", "12h"]);
    // Another address has no history.
    assert_eq!(p.decide(&alert("Ip", "192.0.2.9", true))[0].duration, "4h");
}

#[test]
fn decisions_since_count_only_recent_ones() {
    let h = MemoryHistory::default();
    let hour = 3_600_000_000_000_i64;
    h.record("192.0.2.1", 0);
    h.record("192.0.2.1", 10 * hour);
    h.set_now(11 * hour);
    assert_eq!(h.count("192.0.2.1"), 2);
    assert_eq!(h.count_since("192.0.2.1", 2 * hour), 1);
    assert_eq!(h.count_since("192.0.2.1", 12 * hour), 2);
}

#[test]
fn active_decisions_are_those_not_expired() {
    let h = MemoryHistory::default();
    let min = 60_000_000_000_i64;
    h.record_decision("192.0.2.1", 0, 60 * min);
    h.record_decision("192.0.2.1", 10 * min, 5 * min);
    h.set_now(12 * min);
    assert_eq!(h.active_count("192.0.2.1"), 2);
    assert_eq!(h.active_time_left("192.0.2.1"), 48 * min);
    h.set_now(20 * min);
    assert_eq!(h.active_count("192.0.2.1"), 1);
    h.set_now(60 * min);
    assert_eq!(h.active_count("192.0.2.1"), 0);
    assert_eq!(h.active_time_left("192.0.2.1"), 0);
    assert_eq!(h.active_time_left("192.0.2.9"), 0);
}

#[test]
fn history_helpers_in_expressions() {
    let h = Arc::new(MemoryHistory::default());
    let hour = 3_600_000_000_000_i64;
    h.record_decision("192.0.2.1", 0, 4 * hour);
    h.record_decision("192.0.2.1", -3 * 24 * hour, hour);
    h.set_now(hour);
    let mut f = Functions::crowdsec(HelperContext::default());
    register_history(&mut f, h);
    let c = crate::expr::Compiler::new(Arc::new(f), &[]);
    let eval = |src: &str| {
        c.compile(src)
            .unwrap()
            .eval(&[])
            .unwrap()
            .go_string()
            .into_owned()
    };
    assert_eq!(eval("GetActiveDecisionsCount('192.0.2.1')"), "1");
    assert_eq!(eval("GetActiveDecisionsTimeLeft('192.0.2.1')"), "3h0m0s");
    assert_eq!(
        eval("GetActiveDecisionsTimeLeft('192.0.2.1') > duration('2h')"),
        "true"
    );
    assert_eq!(eval("GetActiveDecisionsTimeLeft('192.0.2.2')"), "0s");
    // Days are accepted; a bad duration counts 0, as in CrowdSec (logged, not an error).
    assert_eq!(eval("GetDecisionsSinceCount('192.0.2.1', '7d')"), "2");
    assert_eq!(eval("GetDecisionsSinceCount('192.0.2.1', '2h')"), "1");
    assert_eq!(eval("GetDecisionsSinceCount('192.0.2.1', 'soon')"), "0");
}
