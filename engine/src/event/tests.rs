//! Tests of the event setters seen from expressions (`evt.SetMeta`, `evt.SetParsed`).

use std::sync::Arc;

use super::{Acquisition, Event, ExpectMode, WriteTarget};
use crate::expr::functions::{Functions, HelperContext};
use crate::expr::{Compiler, Value};

fn compiler() -> Compiler {
    Compiler::new(
        Arc::new(Functions::crowdsec(HelperContext::default())),
        &["evt"],
    )
}

/// Evaluates `src` on `evt`, then applies its writes as the parser does.
fn run(src: &str, evt: &mut Event) -> Result<String, String> {
    let p = compiler().compile(src).map_err(|e| e.to_string())?;
    let out = p
        .eval(&[Value::Obj(&*evt)])
        .map(|v| format!("{v:?}"))
        .map_err(|e| e.to_string());
    evt.apply_writes();
    out
}

#[test]
fn set_meta_and_set_parsed_return_true_and_write_after_evaluation() {
    let mut e = Event::default();
    assert_eq!(
        run("evt.SetMeta('cve', 'CVE-2021-3129')", &mut e),
        Ok("true".into())
    );
    assert_eq!(e.get_meta("cve"), "CVE-2021-3129");
    assert_eq!(
        run("evt.SetParsed('k', Upper('v'))", &mut e),
        Ok("true".into())
    );
    assert_eq!(e.parsed.get("k"), Some("V"));
    // Later writes of the same key win, in order.
    run("evt.SetMeta('a', '1') && evt.SetMeta('a', '2')", &mut e).unwrap();
    assert_eq!(e.get_meta("a"), "2");
    assert!(!e.writes.is_dirty());
}

#[test]
fn get_meta_sees_a_write_of_the_same_expression() {
    let mut e = Event::default();
    e.meta.insert("k", "old");
    let out = run(
        "evt.SetMeta('k', 'new') && evt.GetMeta('k') == 'new'",
        &mut e,
    );
    assert_eq!(out, Ok("true".into()));
    // Documented difference: the map itself shows the write once the expression is over.
    let out = run("evt.SetMeta('k', 'newer') && evt.Meta.k == 'new'", &mut e);
    assert_eq!(out, Ok("true".into()));
    assert_eq!(e.get_meta("k"), "newer");
}

#[test]
fn setters_in_conditions_and_closures() {
    let mut e = Event::default();
    e.meta.insert("http_path", "/_ignition/execute-solution");
    let src = r#"any(['{"uri":"/nope","cve":"A"}', '{"uri":"/_ignition","cve":"B"}'],
        { evt.Meta.http_path contains JsonExtract(#, "uri") ? evt.SetMeta("cve", JsonExtract(#, "cve")) : false })"#;
    assert_eq!(run(src, &mut e), Ok("true".into()));
    assert_eq!(e.get_meta("cve"), "B");
    let src = "if evt.Meta.http_path startsWith '/x' { evt.SetMeta('t', 'x') } else { let y = 'z'; evt.SetMeta('t', y) }";
    assert_eq!(run(src, &mut e), Ok("true".into()));
    assert_eq!(e.get_meta("t"), "z");
}

#[test]
fn setters_refuse_what_is_not_two_strings() {
    let mut e = Event::default();
    for src in [
        "evt.SetMeta('k', 1)",
        "evt.SetMeta('k')",
        "evt.SetParsed(nil, 'v')",
    ] {
        let err = run(src, &mut e).unwrap_err();
        assert!(err.contains("takes two strings"), "{src}: {err}");
    }
    assert!(e.meta.is_empty() && e.parsed.is_empty());
}

#[test]
fn pending_writes_survive_a_clone_and_apply_once() {
    let e = Event::default();
    e.writes.push(WriteTarget::Meta, "k", "v");
    let mut c = e.clone();
    assert!(c.writes.is_dirty());
    c.apply_writes();
    assert_eq!(c.get_meta("k"), "v");
    assert_eq!(e.writes.take().len(), 1);
    assert!(e.writes.take().is_empty());
}

/// A line parsed by our own parsers (syslog, sshd, dates, GeoIP-free enrichers) becomes a
/// record and comes back as the same event: the JSON dumps CrowdSec's tools compare match.
#[test]
fn events_survive_their_bus_record() {
    use crate::event::{Acquisition, ExpectMode, event_to_json};
    use crate::pipeline::{Pipeline, Setup};
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let setup = Setup::installed(&repo.join("scenarios"), repo.join("scenarios/data")).unwrap();
    let clock = Arc::new(crate::clock::FixedClock(
        chrono::DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z")
            .unwrap()
            .to_utc(),
    ));
    let p = Pipeline::load(&setup, clock).unwrap();
    let acq = Acquisition::new("/var/log/auth.log", "file", "syslog", [("host", "web1")]);
    let mut e = acq.event(
        "Jun  1 10:00:00 web1 sshd[42]: Failed password for invalid user admin from 198.51.100.7 port 50000 ssh2".into(),
        ExpectMode::TimeMachine,
    );
    e.line.time = chrono::DateTime::parse_from_rfc3339("2026-06-01T10:00:00.123456Z").ok();
    e.unmarshaled
        .insert("k", serde_json::json!({"a": [1, 2.5, "x"]}));
    assert!(p.parsers().parse(&mut e, None).unwrap());
    assert_eq!(e.meta.get("source_ip"), Some("198.51.100.7"));
    e.time = chrono::DateTime::parse_from_rfc3339("2026-06-01T10:00:00.5+02:00").ok();
    let routes = [("crowdsecurity/ssh-bf", "198.51.100.7")];
    let mut body = Vec::new();
    e.encode_body(&mut body);
    let mut bytes = Vec::new();
    wire::event::encode_record(&mut bytes, Some((1, 7, 0)), &routes, &body);
    let mut json = None;
    let back = wire::event::decode_event(Some(&bytes), &mut json).unwrap();
    assert_eq!(back.routes, routes);
    assert_eq!(back.origin, Some((1, 7, 0)));
    let e2 = Event::from_body(&back.body).unwrap();
    assert_eq!(event_to_json(&e2), event_to_json(&e));
    assert_eq!(e2.time, e.time);
    assert_eq!(
        e2.parsed.iter().collect::<Vec<_>>(),
        e.parsed.iter().collect::<Vec<_>>()
    );

    // The same event as an older build wrote it (version 1, JSON) reads the same.
    let v1 = v1_record(&e);
    let text = serde_json::to_vec(&v1).unwrap();
    let mut json = None;
    let back = wire::event::decode_event(Some(&text), &mut json).unwrap();
    let e1 = Event::from_body(&back.body).unwrap();
    assert_eq!(event_to_json(&e1), event_to_json(&e));

    let mut bad = v1.clone();
    bad.time = Some("yesterday".into());
    let text = serde_json::to_vec(&bad).unwrap();
    let mut json = None;
    let back = wire::event::decode_event(Some(&text), &mut json).unwrap();
    assert!(matches!(
        Event::from_body(&back.body),
        Err(super::RecordError::Time { field: "time", .. })
    ));
    let mut json = None;
    let mut body = wire::event::decode_event(Some(&bytes), &mut json)
        .unwrap()
        .body;
    body.unmarshaled = "[1]".into();
    assert_eq!(
        Event::from_body(&body).err(),
        Some(super::RecordError::Unmarshaled)
    );
    body.unmarshaled = "".into();
    body.time = Some(wire::event::EventTime::Unix {
        secs: 0,
        nanos: 0,
        offset: 90_000,
    });
    assert!(Event::from_body(&body).is_err());
}

/// The version 1 (JSON) record of an event, as builds before the binary record wrote it.
fn v1_record(e: &Event) -> wire::EventRecord {
    let time = |t: &chrono::DateTime<chrono::FixedOffset>| {
        t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    };
    let map = |m: &super::StrMap| {
        m.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    wire::EventRecord {
        v: wire::EVENT_JSON_VERSION,
        routes: vec![],
        origin: None,
        line: wire::RawLine {
            raw: e.line.raw.clone(),
            src: e.line.src.to_string(),
            module: e.line.module.to_string(),
            labels: map(&e.line.labels),
            time: e.line.time.as_ref().map(time),
        },
        line_process: e.line.process,
        expect_mode: 2,
        stage: e.stage.to_string(),
        whitelisted: e.whitelisted,
        parsed: map(&e.parsed),
        enriched: map(&e.enriched),
        meta: map(&e.meta),
        unmarshaled: e.unmarshaled.snapshot(),
        time: e.time.as_ref().map(time),
        str_time: e.str_time.clone(),
        str_time_format: e.str_time_format.clone(),
        marshaled_time: e.marshaled_time.clone(),
        process: e.process,
    }
}

/// Member chains resolved at compile time ([`super::resolve_field`]) read exactly what the
/// same chains read member by member: every hub expression (and chains of every kind the
/// resolver knows, missing keys, chains it does not know, errors) on a filled event.
#[test]
fn resolved_fields_read_what_member_chains_read() {
    use crate::expr::compile::Ir;
    let functions = Arc::new(Functions::crowdsec(HelperContext::default()));
    let plain = Compiler::new(functions.clone(), &["evt"]);
    let resolved = Compiler::new(functions, &["evt"]).with_fields("evt", super::resolve_field);
    // Sets Parsed and Meta entries of an event.
    let fill = |e: &mut Event, parsed: &[(&str, &str)], meta: &[(&str, &str)]| {
        parsed.iter().for_each(|(k, v)| e.parsed.insert(k, v));
        meta.iter().for_each(|(k, v)| e.meta.insert(k, v));
    };
    let mut e = Event::default();
    fill(
        &mut e,
        &[
            ("program", "sshd"),
            ("sshd_client_ip", "192.0.2.7"),
            ("request", "/a/b.php?x=1"),
            ("static_ressource", "false"),
            ("http_status", "404"),
        ],
        &[
            ("log_type", "ssh_failed-auth"),
            ("service", "http"),
            ("source_ip", "192.0.2.7"),
            ("http_status", "404"),
            ("http_path", "/wp-login.php"),
        ],
    );
    e.enriched.insert("IsoCode", "FR");
    e.line.raw = "Dec  2 04:12:20 host sshd[1]: Failed password".into();
    e.line.labels = Arc::new([("type", "syslog")].into_iter().collect());
    e.line.src = Arc::from("/var/log/auth.log");
    e.line.module = Arc::from("file");
    e.str_time = "Dec  2 04:12:20".into();
    // The same event with the values filters look for swapped for others, and an empty one:
    // predicates ([`crate::expr::pred`]) must take every branch.
    let mut other = e.clone();
    fill(
        &mut other,
        &[
            ("program", "sshd-session"),
            ("static_ressource", "true"),
            ("http_status", "200"),
            ("verb", "POST"),
        ],
        &[
            ("log_type", "http_access-log"),
            ("service", "ssh"),
            ("http_status", "403"),
            ("http_verb", "GET"),
        ],
    );
    other.line.labels = Arc::new([("type", "unifi")].into_iter().collect());
    other.str_time = String::new();
    other.marshaled_time = "2024-12-02T04:12:20Z".into();
    let events = [e, other, Event::default()];
    let own = [
        "evt.Meta.log_type == 'ssh_failed-auth'",
        "evt.Meta.missing",
        "evt.Parsed.program in ['sshd', 'sshd-session']",
        "evt.Enriched.IsoCode + evt.Enriched.none",
        "evt.Line.Labels.type != 'syslog'",
        "evt.Line.Raw",
        "evt.Line.Labels",
        "evt.Meta",
        "evt.Meta.log_type.x",
        "evt.Parsed?.program",
        "evt.Line.Src",
        "any(['sshd', 'x'], {evt.Parsed.program == #})",
        "map(['log_type', 'service'], {evt.Meta[#]})",
        "len(evt.Meta.http_path) + len(evt.Line.Raw)",
        "evt.StrTime != '' && evt.Line.Module == 'file'",
        "evt.MarshaledTime == '' || not (evt.Line.Src in ['/var/log/auth.log'])",
        "evt.Line.Labels.type not in ['syslog', 'unifi']",
        "evt.Meta.log_type == 'x' && evt.Meta.missing.y == 'z'",
        "evt.Parsed.program == 'sshd' || evt.Meta.service in ['ssh', 1]",
        "evt.Parsed.request contains '.php' && evt.Meta.http_path startsWith '/wp'",
        "evt.Line.Raw endsWith 'password' || evt.Parsed.request matches '^/a/[a-z]'",
        "evt.Meta.log_type == 'ssh_failed-auth' && len(evt.Parsed.request) > 3",
        "evt.Meta.log_type == 'http_access-log' && Upper(evt.Parsed.verb) == 'POST'",
        "evt.Parsed.program == 'sshd-session' || len(evt.Meta.http_path) > 3",
        "evt.Meta.service == 'http' && evt.Meta.missing.x == 'y' && evt.Parsed.program == 'sshd'",
        "not (evt.Meta.service == 'http' && len(evt.Line.Raw) > 1)",
        "evt.Meta.http_status in ['404', '403', '502'] ? 'false' : 'true'",
        "Upper(evt.Parsed.verb) in ['POST', 'PUT'] ? 'write' : 'read'",
        "evt.Meta.missing.x == 'y' ? 'a' : 'b'",
        "evt.Parsed.program == 'sshd' ? 'ssh' : 1",
    ];
    let (hub, _) = crate::expr::tests::hub::hub_expressions();
    let exprs: Vec<&str> = own
        .iter()
        .copied()
        .chain(hub.iter().map(|(_, s)| s.as_str()))
        .collect();
    let show = |r: Result<Value<'_>, crate::expr::EvalError>| match r {
        Ok(v) => format!("{v:?}"),
        Err(err) => format!("error: {}", err.message),
    };
    let (mut compiled, mut with_field, mut preds, mut choices) = (0, 0, 0, 0);
    for src in exprs {
        let (Ok(a), Ok(b)) = (plain.compile(src), resolved.compile(src)) else {
            assert_eq!(
                plain.compile(src).is_ok(),
                resolved.compile(src).is_ok(),
                "{src}"
            );
            continue;
        };
        compiled += 1;
        let mut has = false;
        find_field(&b.inner.ir, &mut has);
        with_field += usize::from(has);
        preds += usize::from(b.inner.pred.is_some());
        choices += usize::from(b.inner.choice.is_some());
        for e in &events {
            let mut evt = e.clone();
            let x = show(a.eval(&[Value::Obj(&evt)]));
            let y = show(b.eval(&[Value::Obj(&evt)]));
            assert_eq!(x, y, "{src}");
            evt.apply_writes();
        }
    }
    assert!(preds > 1000, "only {preds} expressions are predicates");
    assert!(choices >= 3, "only {choices} expressions are choices");
    assert!(compiled > 500, "only {compiled} expressions compiled");
    assert!(
        with_field > 300,
        "only {with_field} expressions read a resolved field"
    );

    fn find_field(ir: &Ir, found: &mut bool) {
        if matches!(ir, Ir::Field { .. }) {
            *found = true;
        }
        crate::expr::optimize::children(ir, &mut |c| find_field(c, found));
    }
}

/// Events read through one cache get their own source, module, labels and stage, and share
/// them with the event before when they are the same.
#[test]
fn a_body_cache_shares_only_equal_parts() {
    use crate::event::{BodyCache, event_to_json};
    use wire::event::EventBody;
    let body = |src, labels: Vec<(&'static str, &'static str)>, stage| EventBody {
        src,
        module: "file",
        labels,
        stage,
        raw: "x",
        ..EventBody::default()
    };
    let a = body("/a", vec![("type", "syslog")], "s01-parse");
    let b = body("/b", vec![("type", "syslog"), ("host", "h")], "s02-enrich");
    let c = body("/b", vec![("type", "nginx")], "s02-enrich");
    let mut cache = BodyCache::default();
    let read = |b: &EventBody, cache: &mut BodyCache| Event::from_body_with(b, cache).unwrap();
    let (ea, eb, eb2, ec, ea2) = (
        read(&a, &mut cache),
        read(&b, &mut cache),
        read(&b, &mut cache),
        read(&c, &mut cache),
        read(&a, &mut cache),
    );
    for (e, want) in [(&ea, &a), (&eb, &b), (&eb2, &b), (&ec, &c), (&ea2, &a)] {
        let fresh = Event::from_body(want).unwrap();
        assert_eq!(event_to_json(e), event_to_json(&fresh));
        assert_eq!(
            (&*e.line.src, &*e.stage, &*e.line.module),
            (want.src, want.stage, "file")
        );
        assert!(e.line.labels.iter().eq(want.labels.iter().copied()));
    }
    assert!(Arc::ptr_eq(&eb.line.labels, &eb2.line.labels));
    assert!(Arc::ptr_eq(&eb.line.src, &eb2.line.src) && Arc::ptr_eq(&eb.stage, &ec.stage));
    assert!(!Arc::ptr_eq(&eb.line.labels, &ec.line.labels));
}

/// Records decoded into the last event's memory read exactly as decoded fresh, whether the
/// next one has more keys, fewer, other ones or shorter texts; the memory is taken over.
#[test]
fn records_decoded_into_the_last_events_memory_read_as_fresh_ones() {
    use crate::event::{BodyCache, event_to_json};
    use wire::event::EventBody;
    let long = EventBody {
        src: "/var/log/auth.log",
        module: "file",
        labels: vec![("type", "syslog")],
        stage: "s01-parse",
        raw: "Dec  4 12:00:00 host sshd[1]: Failed password for root from 192.0.2.1 port 22",
        parsed: vec![("program", "sshd"), ("message", "Failed password for root")],
        enriched: vec![("MarshaledTime", "2026-12-04T12:00:00Z")],
        meta: vec![("source_ip", "192.0.2.1"), ("log_type", "ssh_failed-auth")],
        str_time: "Dec  4 12:00:00",
        str_time_format: "Jan _2 15:04:05",
        marshaled_time: "2026-12-04T12:00:00Z",
        ..EventBody::default()
    };
    let short = EventBody {
        raw: "x",
        parsed: vec![("program", "cron")],
        enriched: vec![],
        meta: vec![("log_type", "other"), ("user", "bob"), ("service", "cron")],
        str_time: "",
        marshaled_time: "2026",
        ..long.clone()
    };
    let (mut cache, mut spare) = (BodyCache::default(), Event::default());
    for (i, body) in [&long, &short, &long, &long, &short]
        .into_iter()
        .enumerate()
    {
        let reused = Event::from_body_reusing(body, &mut cache, &mut spare).unwrap();
        let fresh = Event::from_body(body).unwrap();
        assert_eq!(event_to_json(&reused), event_to_json(&fresh), "record {i}");
        assert!(
            spare.parsed.is_empty() && spare.line.raw.is_empty(),
            "taken"
        );
        spare = reused;
    }
    // The second long record went into the first one's memory: its raw line did not grow.
    let cap = spare.line.raw.capacity();
    let again = Event::from_body_reusing(&long, &mut cache, &mut spare).unwrap();
    assert_eq!(again.line.raw.capacity(), cap);
}

#[test]
fn a_refilled_event_is_a_fresh_event_of_its_line() {
    use crate::event::{EventType, event_to_json};
    let first = Acquisition::new("/var/log/a.log", "file", "syslog", [("env", "prod")]);
    let acq = Acquisition::new("/var/log/b.log", "journalctl", "nginx", []);
    let mut evt = first.event(
        "an old line, longer than the new one".into(),
        ExpectMode::Live,
    );
    // Every field away from a fresh event's value.
    evt.kind = EventType::Overflow;
    evt.whitelisted = true;
    evt.whitelist_reason = "a whitelist".into();
    evt.stage = Arc::from("s01-parse");
    evt.line.time = chrono::DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z").ok();
    evt.line.process = true;
    evt.parsed.insert("program", "sshd");
    evt.enriched.insert("MarshaledTime", "2026-12-04T10:00:00Z");
    evt.meta.insert("source_ip", "192.0.2.1");
    evt.unmarshaled.insert("k", serde_json::json!({"a": 1}));
    evt.time = evt.line.time;
    evt.str_time = "Dec  4 10:00:00".into();
    evt.str_time_format = "Jan _2 15:04:05".into();
    evt.marshaled_time = "2026-12-04T10:00:00Z".into();
    evt.process = false;
    evt.overflow = Some(Box::default());
    evt.writes.push(WriteTarget::Meta, "k", "v");

    for (n, mode) in [ExpectMode::TimeMachine, ExpectMode::Live]
        .into_iter()
        .enumerate()
    {
        acq.refill(&mut evt, "the new line", mode);
        let fresh = acq.event("the new line".into(), mode);
        assert_eq!(event_to_json(&evt), event_to_json(&fresh), "refill {n}");
        assert!(
            evt.overflow.is_none() && !evt.writes.is_dirty(),
            "refill {n}"
        );
        assert!(evt.stage.is_empty() && evt.process && !evt.line.process);
        // This source's names, not counted again on the next refill.
        assert!(Arc::ptr_eq(&evt.line.src, &acq.src) && Arc::ptr_eq(&evt.line.labels, &acq.labels));
        assert!(Arc::ptr_eq(&evt.line.module, &acq.module));
        // The maps' memory stays as spare slots, the texts' as capacity: writing a time of
        // the same length allocates nothing.
        assert!(evt.parsed.is_empty() && evt.meta.is_empty());
        assert!(evt.marshaled_time.capacity() >= "2026-12-04T10:00:00Z".len());
        evt.parsed.insert("program", "nginx");
        evt.stage = Arc::from("s02-enrich");
    }
}
