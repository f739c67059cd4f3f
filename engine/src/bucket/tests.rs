//! Unit and property tests of the bucket engine, and loading of the whole hub.

use std::path::PathBuf;
use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::event::{Event, StrMap};
use crate::expr::functions::{Functions, HelperContext};

fn set(yaml: &str) -> Arc<ScenarioSet> {
    let cfg: ScenarioConfig = serde_saphyr::from_str(yaml).unwrap();
    let f = Arc::new(Functions::crowdsec(HelperContext::default()));
    Arc::new(ScenarioSet::from_configs(vec![(ScenarioFile::new("t.yaml"), cfg)], &f).unwrap())
}

fn evt(ip: &str, secs: i64) -> Event {
    let t = Stamp {
        nanos: 1_577_872_800_000_000_000 + secs * 1_000_000,
        offset: 0,
    };
    Event {
        meta: [("source_ip", ip)].into_iter().collect::<StrMap>(),
        marshaled_time: t.marshal(),
        ..Event::default()
    }
}

/// Alerts (scenario, count) from processing `events` (times in ms) then advancing by `tail` ms.
fn alerts(set: &Arc<ScenarioSet>, events: &[(&str, i64)], tail: i64) -> Vec<(String, i32)> {
    let mut d = Detector::new(set.clone());
    let mut out = Vec::new();
    let mut last = 0;
    for (ip, ms) in events {
        out.extend(d.process(&evt(ip, *ms)).signals);
        last = last.max(*ms);
    }
    let end = Detector::<MemoryStore>::event_time(&evt("1.1.1.1", last + tail)).unwrap();
    out.extend(d.advance(end));
    out.iter()
        .filter_map(|s| s.alert().and_then(|a| a.alert()))
        .map(|a| (a.source.value.clone(), a.events_count))
        .collect()
}

const LEAKY: &str = "type: leaky\nname: t/leaky\ndescription: d\nfilter: 'true'\ngroupby: evt.Meta.source_ip\ncapacity: 3\nleakspeed: 1s\n";

#[test]
fn leaky_overflows_on_capacity_plus_one() {
    let s = set(LEAKY);
    let burst: Vec<(&str, i64)> = (0..4).map(|i| ("1.2.3.4", i)).collect();
    assert_eq!(alerts(&s, &burst, 0), vec![("1.2.3.4".to_string(), 4)]);
    let slow: Vec<(&str, i64)> = (0..10).map(|i| ("1.2.3.4", i * 1000)).collect();
    assert!(alerts(&s, &slow, 0).is_empty());
}

#[test]
fn leaky_underflows_after_lifetime() {
    let s = set(LEAKY);
    let mut d = Detector::new(s);
    d.process(&evt("1.2.3.4", 0));
    assert_eq!(d.store().len(), 1);
    // Lifetime is (capacity + 1) * leakspeed = 4s; strictly after it the bucket dies.
    let sig = d.advance(Detector::<MemoryStore>::event_time(&evt("x", 4000)).unwrap());
    assert!(sig.is_empty());
    let sig = d.advance(Detector::<MemoryStore>::event_time(&evt("x", 4001)).unwrap());
    assert_eq!(sig[0].kind, SignalKind::Underflow);
    assert!(d.store().is_empty());
}

#[test]
fn trigger_overflows_each_event() {
    let s = set(
        "type: trigger\nname: t/trig\ndescription: d\nfilter: 'true'\ngroupby: evt.Meta.source_ip\n",
    );
    let a = alerts(&s, &[("1.2.3.4", 0), ("1.2.3.4", 1)], 0);
    assert_eq!(a.len(), 2);
}

#[test]
fn counter_fires_at_duration_with_count() {
    let s = set(
        "type: counter\nname: t/c\ndescription: d\nfilter: 'true'\ngroupby: evt.Meta.source_ip\ncapacity: -1\nduration: 10s\n",
    );
    let ev: Vec<(&str, i64)> = (0..5).map(|i| ("1.2.3.4", i * 1000)).collect();
    assert!(alerts(&s, &ev, 5000).is_empty());
    assert_eq!(alerts(&s, &ev, 6001), vec![("1.2.3.4".to_string(), 5)]);
}

#[test]
fn blackhole_silences_partition() {
    let s = set(&format!("{LEAKY}blackhole: 1m\n"));
    let ev: Vec<(&str, i64)> = (0..8).map(|i| ("1.2.3.4", i)).collect();
    assert_eq!(alerts(&s, &ev, 0).len(), 1);
}

#[test]
fn distinct_ignores_repeats() {
    let s = set(&format!("{LEAKY}distinct: evt.Meta.source_ip\n"));
    let ev: Vec<(&str, i64)> = (0..8).map(|i| ("1.2.3.4", i)).collect();
    assert!(alerts(&s, &ev, 0).is_empty());
}

#[test]
fn conditional_and_cancel() {
    let s = set(
        "type: conditional\nname: t/cond\ndescription: d\nfilter: 'true'\ngroupby: evt.Meta.source_ip\ncapacity: -1\nleakspeed: 1m\ncondition: len(queue.Queue) >= 3\n",
    );
    assert_eq!(
        alerts(&s, &[("1.2.3.4", 0), ("1.2.3.4", 1), ("1.2.3.4", 2)], 0),
        vec![("1.2.3.4".to_string(), 3)]
    );
    let s = set(&format!(
        "{LEAKY}cancel_on: evt.Meta.source_ip == '9.9.9.9'\n"
    ));
    let mut d = Detector::new(s);
    d.process(&evt("9.9.9.9", 0));
    let out = d.process(&evt("9.9.9.9", 1));
    assert_eq!(out.signals[0].kind, SignalKind::Cancelled);
}

#[test]
fn invalid_configs_are_rejected() {
    let f = Arc::new(Functions::crowdsec(HelperContext::default()));
    for (yaml, why) in [
        (
            "type: leaky\nname: a\ndescription: d\nfilter: 'true'\ncapacity: 0\nleakspeed: 1s\n",
            "capacity",
        ),
        (
            "type: leaky\nname: a\ndescription: d\nfilter: 'true'\ncapacity: 2\n",
            "leakspeed",
        ),
        (
            "type: counter\nname: a\ndescription: d\nfilter: 'true'\ncapacity: -1\n",
            "duration",
        ),
        (
            "type: trigger\nname: a\ndescription: d\nfilter: 'true'\ncapacity: 1\n",
            "capacity",
        ),
        (
            "type: nope\nname: a\ndescription: d\nfilter: 'true'\n",
            "type",
        ),
        ("type: trigger\nname: a\ndescription: d\n", "filter"),
        ("type: trigger\nname: a\nfilter: 'true'\n", "description"),
    ] {
        let cfg: ScenarioConfig = serde_saphyr::from_str(yaml).unwrap();
        let err = ScenarioSet::from_configs(vec![(ScenarioFile::new("x"), cfg)], &f).unwrap_err();
        assert!(err.to_string().contains(why), "{err}");
    }
    let err = serde_saphyr::from_str::<ScenarioConfig>("name: a\nbogus: 1\n").unwrap_err();
    assert!(err.to_string().contains("bogus"), "{err}");
}

#[test]
fn bucket_state_roundtrips_and_is_small() {
    let s = set(LEAKY);
    let mut d = Detector::new(s);
    d.process(&evt("1.2.3.4", 0));
    let mut seen = None;
    d.store().for_each(&mut |_, b, _| seen = Some(b.clone()));
    let b = seen.unwrap();
    let json = serde_json::to_string(&b).unwrap();
    let back: Bucket = serde_json::from_str(&json).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    let (bytes, n) = memory_usage(d.store());
    assert_eq!(n, 1);
    eprintln!(
        "bucket: {bytes} bytes in memory, {} serialized",
        serialized_size(&b)
    );
    assert!(bytes < 4096, "{bytes}");
    assert!(serialized_size(&b) < 512, "{json}");
}

proptest! {
    #[test]
    fn leaky_never_overflows_below_capacity(gaps in proptest::collection::vec(0i64..5000, 0..3)) {
        // Capacity 3: three events or fewer can never overflow, whatever their spacing.
        let s = set(LEAKY);
        let mut t = 0;
        let ev: Vec<(&str, i64)> = gaps.iter().map(|g| { t += g; ("1.2.3.4", t) }).collect();
        prop_assert!(alerts(&s, &ev, 0).is_empty());
    }

    #[test]
    fn replay_is_deterministic(gaps in proptest::collection::vec((0i64..3000, 0usize..3), 0..40)) {
        let s = set(&format!("{LEAKY}blackhole: 5s\n"));
        let ips = ["1.1.1.1", "2.2.2.2", "3.3.3.3"];
        let mut t = 0;
        let ev: Vec<(&str, i64)> = gaps.iter().map(|(g, i)| { t += g; (ips[*i], t) }).collect();
        prop_assert_eq!(alerts(&s, &ev, 100_000), alerts(&s, &ev, 100_000));
    }
}

fn yaml_files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
}

#[test]
fn hub_scenarios_load() {
    let mut files = Vec::new();
    yaml_files(
        &crate::testdata::shared("crowdsec/hub/scenarios"),
        &mut files,
    );
    files.sort();
    let opts = ScenarioLoadOptions {
        limiter: Default::default(),
        data_dir: crate::testdata::shared("crowdsec/data"),
        ..Default::default()
    };
    let mut failures = Vec::new();
    let mut loaded = 0;
    for f in &files {
        match ScenarioSet::load(&[ScenarioFile::new(f)], &opts) {
            Ok(s) => loaded += s.len(),
            Err(e) => failures.push(e.to_string()),
        }
    }
    eprintln!(
        "hub: {loaded} scenarios loaded from {} files, {} failing",
        files.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// An event with enrichments, a parser's timestamp text `ts` (possibly not in Go's canonical
/// form) and extra fields a compact queue drops.
fn rich_evt(ip: &str, ms: i64, ts: &str) -> Event {
    let mut e = evt(ip, ms);
    e.meta.insert("log_type", "x");
    e.meta.insert("timestamp", ts);
    e.enriched = [("IsoCode", "FR"), ("ASNumber", "42"), ("IsInEU", "true")]
        .into_iter()
        .collect();
    e.parsed = [("program", "sshd")].into_iter().collect();
    e.line.raw = format!("line from {ip}");
    if !ts.is_empty() {
        e.marshaled_time = ts.to_string();
    }
    e
}

fn signals(set: &Arc<ScenarioSet>, events: &[Event]) -> (Vec<Signal>, Vec<String>) {
    let mut d = Detector::new(set.clone());
    let mut out = Vec::new();
    for e in events {
        out.extend(d.process(e).signals);
    }
    let mut stored = Vec::new();
    d.store().for_each(&mut |_, b, _| {
        let json = serde_json::to_string(b).unwrap();
        let mut back: Bucket = serde_json::from_str(&json).unwrap();
        // serde_json does not read every f64 back exactly (no `float_roundtrip`); the limiter's
        // tokens are not what this test is about.
        back.limiter = b.limiter;
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
        let sc = set.get(0).unwrap();
        let alert = super::alert::new_alert(sc, &back, "k".into(), Stamp::default());
        stored.push(format!("{alert:?}"));
    });
    stored.sort();
    (out, stored)
}

proptest! {
    #[test]
    fn compact_queue_gives_the_same_alerts(
        evs in proptest::collection::vec((0i64..800, 0usize..3, 0usize..4), 0..30)
    ) {
        let compact = set(LEAKY);
        // Reading `queue` makes the scenario keep whole events; the filter is always true.
        let full = set(&format!("{LEAKY}overflow_filter: len(queue.Queue) >= 0\n"));
        prop_assert!(!compact.get(0).unwrap().keep_events);
        prop_assert!(full.get(0).unwrap().keep_events);
        let ips = ["1.1.1.1", "2.2.2.2", "::1"];
        let stamps = ["", "2020-01-01T10:00:00.5+02:00", "2020-01-01T08:00:00.500Z", "garbage"];
        let mut t = 0;
        let events: Vec<Event> = evs
            .iter()
            .map(|(g, i, s)| {
                t += g;
                rich_evt(ips[*i], t, stamps[*s])
            })
            .collect();
        prop_assert_eq!(signals(&compact, &events), signals(&full, &events));
    }
}

/// A scenario filter's `evt.SetMeta(..)` reaches the bucket (the alert's event meta) and the
/// filters of later scenarios, and leaves the caller's event untouched.
#[test]
fn filter_set_meta_reaches_bucket_and_later_scenarios() {
    let first = "type: trigger\nname: t/a\ndescription: d\nfilter: evt.SetMeta('cve', 'CVE-1') && evt.SetParsed('p', 'x')\ngroupby: evt.Meta.source_ip\n";
    let second = "type: trigger\nname: t/b\ndescription: d\nfilter: evt.Meta.cve == 'CVE-1' && evt.Parsed.p == 'x'\ngroupby: evt.Meta.source_ip\n";
    let cfgs = [first, second]
        .iter()
        .enumerate()
        .map(|(i, y)| {
            let cfg: ScenarioConfig = serde_saphyr::from_str(y).unwrap();
            (ScenarioFile::new(format!("t{i}.yaml")), cfg)
        })
        .collect();
    let f = Arc::new(Functions::crowdsec(HelperContext::default()));
    let s = Arc::new(ScenarioSet::from_configs(cfgs, &f).unwrap());
    let mut d = Detector::new(s);
    let e = evt("1.2.3.4", 0);
    let out = d.process(&e);
    let alerts: Vec<_> = out
        .signals
        .iter()
        .filter_map(|s| s.alert().and_then(|a| a.alert()))
        .collect();
    assert_eq!(alerts.len(), 2, "both triggers fire");
    for a in alerts {
        let meta = &a.events[0].meta;
        assert!(
            meta.iter().any(|m| m.key == "cve" && m.value == "CVE-1"),
            "{meta:?}"
        );
    }
    assert_eq!(e.get_meta("cve"), "");
    assert!(!e.writes.is_dirty());
}

proptest! {
    /// An alert's sources hold each address's last event's enrichments and range: the events
    /// skipped for repeating the one before them change nothing, and every other is read.
    #[test]
    fn alert_sources_are_each_address_last_event(
        evs in proptest::collection::vec((0usize..2, 0usize..2, 0usize..2, 0usize..2), 1..12)
    ) {
        let s = set(
            "type: leaky\nname: t/all\ndescription: d\nfilter: 'true'\ngroupby: \"'all'\"\ncapacity: 20\nleakspeed: 10s\n",
        );
        let ips = ["1.1.1.1", "2.2.2.2"];
        let (ccs, asns, ranges) = (["FR", "DE"], ["1", "2"], ["", "1.1.0.0/16"]);
        let mut d = Detector::new(s.clone());
        for (i, (ip, cc, asn, range)) in evs.iter().enumerate() {
            let mut e = evt(ips[*ip], i64::try_from(i).unwrap());
            e.enriched = [("IsoCode", ccs[*cc]), ("ASNumber", asns[*asn])].into_iter().collect();
            if !ranges[*range].is_empty() {
                e.meta.insert("SourceRange", ranges[*range]);
            }
            d.process(&e);
        }
        let mut want = std::collections::BTreeMap::new();
        for (ip, cc, asn, range) in &evs {
            let range = if ranges[*range].is_empty() { "" } else { "1.1.0.0/16" };
            want.insert(ips[*ip].to_string(), (ccs[*cc].to_string(), asns[*asn].to_string(), range.to_string()));
        }
        let mut got = std::collections::BTreeMap::new();
        d.store().for_each(&mut |_, b, _| {
            let (ra, err) = super::alert::new_alert(s.get(0).unwrap(), b, "k".into(), Stamp::default());
            assert!(err.is_none(), "{err:?}");
            for (k, v) in &ra.sources {
                got.insert(k.clone(), (v.cn.clone(), v.as_number.clone(), v.range.clone()));
            }
        });
        prop_assert_eq!(got, want);
    }
}
