//! Alert context: hub context files evaluated on the queue of overflowing buckets.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::context::{ContextConfig, MAX_VALUE_LEN, truncate};
use super::*;
use crate::event::{Event, StrMap};
use crate::expr::functions::{Functions, HelperContext};

fn hub_context(name: &str) -> PathBuf {
    crate::testdata::shared(&format!("crowdsec/hub/contexts/crowdsecurity/{name}.yaml"))
}

fn functions() -> Arc<Functions> {
    Arc::new(Functions::crowdsec(HelperContext::default()))
}

/// The context of the given hub items, merged as CrowdSec does.
fn config(items: &[&str]) -> (ContextConfig, Vec<String>) {
    let mut cfg = ContextConfig::default();
    let mut warnings = Vec::new();
    for i in items {
        cfg.add_item(&hub_context(i), &mut warnings).unwrap();
    }
    (cfg, warnings)
}

/// A set of one scenario (YAML text) with the context `cfg`.
fn set_with(yaml: &str, cfg: &ContextConfig) -> (Arc<ScenarioSet>, Vec<String>) {
    let sc: ScenarioConfig = serde_saphyr::from_str(yaml).unwrap();
    let f = functions();
    let mut warnings = Vec::new();
    let ctx = AlertContext::compile(cfg, &f, &mut warnings).unwrap();
    let set = ScenarioSet::from_configs(vec![(ScenarioFile::new("t.yaml"), sc)], &f)
        .unwrap()
        .with_context(ctx.map(Arc::new));
    (Arc::new(set), warnings)
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

/// The meta of every alert raised by `events`, as (key, value) pairs.
fn alert_meta(set: &Arc<ScenarioSet>, events: &[Event]) -> Vec<Vec<(String, String)>> {
    let mut d = Detector::new(set.clone());
    let mut out = Vec::new();
    for e in events {
        for s in d.process(e).signals {
            if let Some(a) = s.alert().and_then(|a| a.alert()) {
                out.push(
                    a.meta
                        .iter()
                        .map(|m| (m.key.clone(), m.value.clone()))
                        .collect(),
                );
            }
        }
    }
    out
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const LEAKY: &str = "type: leaky\nname: t/http\ndescription: d\nfilter: 'true'\ngroupby: evt.Meta.source_ip\ncapacity: 2\nleakspeed: 10s\n";

#[test]
fn hub_http_context_fills_the_alert_meta() {
    let (cfg, warnings) = config(&["http_base", "bf_base"]);
    assert!(warnings.is_empty(), "{warnings:?}");
    let (set, warnings) = set_with(LEAKY, &cfg);
    assert!(warnings.is_empty(), "{warnings:?}");
    // The context reads only `Meta`: buckets keep compact events.
    assert!(!set.get(0).unwrap().keep_events);
    let req = |path: &str, status: &str, ms| {
        evt(
            &[
                ("source_ip", "192.0.2.1"),
                ("http_path", path),
                ("http_verb", "GET"),
                ("http_status", status),
                ("http_user_agent", "curl/8.0 <x&y>"),
            ],
            &[],
            ms,
        )
    };
    let events = [
        req("/admin", "404", 0),
        req("/.env", "404", 1),
        req("/admin", "200", 2),
    ];
    assert_eq!(
        alert_meta(&set, &events),
        vec![pairs(&[
            ("method", r#"["GET"]"#),
            ("status", r#"["404","200"]"#),
            ("target_uri", r#"["/admin","/.env"]"#),
            // Go's JSON escapes HTML characters.
            ("user_agent", r#"["curl/8.0 \u003cx\u0026y\u003e"]"#),
        ])]
    );
}

#[test]
fn context_reading_parsed_fields_keeps_whole_events() {
    let (cfg, _) = config(&["firewall_base", "suricata_base"]);
    let (set, _) = set_with(LEAKY, &cfg);
    assert!(set.get(0).unwrap().keep_events);
    let pkt = |port: &str, ms| {
        evt(
            &[("source_ip", "192.0.2.2"), ("service", "tcp")],
            &[("dst_port", port), ("suricata_alert_signature", "ET SCAN")],
            ms,
        )
    };
    let events = [pkt("22", 0), pkt("23", 1), pkt("22", 2)];
    assert_eq!(
        alert_meta(&set, &events),
        vec![pairs(&[
            ("alert_signature", r#"["ET SCAN"]"#),
            ("dst_port", r#"["tcp:22","tcp:23"]"#),
        ])]
    );
}

#[test]
fn appsec_context_loads_and_reads_empty_rule_and_request_outside_appsec() {
    let (cfg, _) = config(&["appsec_base"]);
    let (set, warnings) = set_with(LEAKY, &cfg);
    // `JA4H(req)` is an AppSec helper hivewall does not have: left out, with a warning.
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("ja4h") && warnings[0].contains("JA4H"),
        "{warnings:?}"
    );
    assert!(!set.get(0).unwrap().keep_events);
    let e = |ms| {
        evt(
            &[
                ("source_ip", "192.0.2.3"),
                ("rule_name", "crowdsecurity/vpatch-x"),
                ("target_uri", "/x"),
            ],
            &[],
            ms,
        )
    };
    assert_eq!(
        alert_meta(&set, &[e(0), e(1), e(2)]),
        vec![pairs(&[
            ("rules", r#"["crowdsecurity/vpatch-x"]"#),
            ("target_uri", r#"["/x"]"#),
        ])]
    );
}

#[test]
fn values_keep_queue_order_types_and_the_length_bound() {
    let dir = tempfile::tempdir().unwrap();
    let console = dir.path().join("context.yaml");
    std::fs::write(
        &console,
        "n:\n  - len(evt.Meta.word)\nwords:\n  - Split(evt.Meta.words, ',')\nflag:\n  - evt.Meta.word == 'b'\n  - evt.Meta.word == 'zz'\nword:\n  - evt.Meta.word\n",
    )
    .unwrap();
    let mut cfg = ContextConfig::default();
    cfg.add_console_file(&console).unwrap();
    cfg.value_length = 12;
    let (set, _) = set_with(LEAKY, &cfg);
    let e = |w: &str, ws: &str, ms| {
        evt(
            &[("source_ip", "192.0.2.4"), ("word", w), ("words", ws)],
            &[],
            ms,
        )
    };
    // The queue holds capacity + 1 = 3 events at overflow.
    let events = [e("ccc", "x,,y", 0), e("b", "y,z", 1), e("ccc", "", 2)];
    assert_eq!(
        alert_meta(&set, &events),
        vec![pairs(&[
            // `false` is a zero value (skipped), `true` is printed.
            ("flag", r#"["true"]"#),
            ("n", r#"["3","1"]"#),
            ("word", r#"["ccc","b"]"#),
            // Lists of strings give one value per element, empty ones dropped; x, y and z
            // make 13 bytes of JSON, past the bound of 12: the last value is dropped.
            ("words", r#"["x","y"]"#),
        ])]
    );
}

#[test]
fn truncation_follows_crowdsec() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(truncate(s(&["a", "b"]), 100), r#"["a","b"]"#);
    assert_eq!(truncate(s(&["a", "b", "c"]), 8), r#"["a"]"#);
    // A single value too long is halved (in bytes) and marked with "...", until it fits.
    assert_eq!(
        truncate(s(&["0123456789abcdefghij"]), 20),
        r#"["0123456789..."]"#
    );
    // Cutting inside a UTF-8 sequence leaves an invalid byte, which Go's JSON writes as
    // U+FFFD.
    let cut_inside = format!("{}é{}", "a".repeat(14), "b".repeat(14));
    assert_eq!(
        truncate(vec![cut_inside], 30),
        format!(r#"["{}\ufffd..."]"#, "a".repeat(14))
    );
    // HTML characters take 6 bytes each once escaped.
    assert_eq!(truncate(s(&["<<", "a"]), 20), r#"["\u003c\u003c","a"]"#);
    assert_eq!(truncate(s(&["<<", "a"]), 19), r#"["\u003c\u003c"]"#);
    // A bound nothing fits in ends rather than looping (CrowdSec never returns there).
    assert_eq!(truncate(s(&["abcdef"]), 3), r#"["abc..."]"#);
    assert_eq!(MAX_VALUE_LEN, 4000);
}

#[test]
fn files_merge_without_repeats_and_bad_expressions_fail_the_load() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| -> PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let item = write(
        "item.yaml",
        "# hub metadata beside the context is ignored\nauthor: me\ncontext:\n  uri:\n    - evt.Meta.http_path\n",
    );
    let console = write(
        "console.yaml",
        "uri:\n  - evt.Meta.http_path\n  - evt.Meta.uri\nempty:\n",
    );
    let nothing = write("nothing.yaml", "author: me\n");
    let mut cfg = ContextConfig::default();
    let mut warnings = Vec::new();
    cfg.add_item(&item, &mut warnings).unwrap();
    cfg.add_item(&nothing, &mut warnings).unwrap();
    cfg.add_console_file(&console).unwrap();
    cfg.add_console_file(&write("blank.yaml", "")).unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("nothing.yaml"));
    let uri: Vec<(&str, &Path)> = cfg.keys["uri"]
        .iter()
        .map(|c| (c.expression.as_str(), c.file.as_path()))
        .collect();
    assert_eq!(
        uri,
        vec![
            ("evt.Meta.http_path", item.as_path()),
            ("evt.Meta.uri", console.as_path())
        ]
    );
    assert!(cfg.keys["empty"].is_empty());

    let bad = write("bad.yaml", "context:\n  broken:\n    - evt.Meta.x +\n");
    let mut cfg = ContextConfig::default();
    cfg.add_item(&bad, &mut warnings).unwrap();
    let err = AlertContext::compile(&cfg, &functions(), &mut warnings).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("bad.yaml") && msg.contains("broken"), "{msg}");
    // A context with no expression compiles to nothing: alerts keep an empty meta.
    let empty = ContextConfig::default();
    assert!(
        AlertContext::compile(&empty, &functions(), &mut warnings)
            .unwrap()
            .is_none()
    );
    let bad_yaml = write("bad_yaml.yaml", "context: [1, 2\n");
    assert!(
        ContextConfig::default()
            .add_item(&bad_yaml, &mut warnings)
            .is_err()
    );
}

#[test]
fn every_hub_context_item_loads() {
    let dir = crate::testdata::shared("crowdsec/hub/contexts/crowdsecurity");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 9, "{files:?}");
    let mut cfg = ContextConfig::default();
    let mut warnings = Vec::new();
    for f in &files {
        cfg.add_item(f, &mut warnings).unwrap();
    }
    let ctx = AlertContext::compile(&cfg, &functions(), &mut warnings)
        .unwrap()
        .unwrap();
    // Only the JA4H expression of appsec_base is left out.
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(ctx.needs_full_events());
}
