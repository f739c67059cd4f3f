//! Store tests on a real RocksDB in a tempdir.

use std::sync::Arc;
use std::time::Duration;

use super::filter::DecisionFilter;
use super::{StreamKind, StreamWriter};
use crate::model;
use crate::{AlertProfiler, Store};

fn dec(value: &str, scope: &str, duration: &str) -> wire::Decision {
    wire::Decision {
        duration: duration.to_string(),
        origin: "crowdsec".to_string(),
        scenario: "crowdsecurity/ssh-bf".to_string(),
        scope: scope.to_string(),
        kind: "ban".to_string(),
        value: value.to_string(),
        simulated: false,
    }
}

fn alert(decisions: Vec<wire::Decision>) -> wire::Alert {
    let first = decisions.first().cloned();
    wire::Alert {
        scenario: "crowdsecurity/ssh-bf".to_string(),
        message: "test".to_string(),
        events_count: 6,
        start_at: "2024-01-01T00:00:00Z".to_string(),
        stop_at: "2024-01-01T00:00:05Z".to_string(),
        capacity: 5,
        leakspeed: "10s".to_string(),
        source: wire::Source {
            scope: first
                .as_ref()
                .map(|d| d.scope.clone())
                .unwrap_or_else(|| "Ip".to_string()),
            value: first
                .map(|d| d.value)
                .unwrap_or_else(|| "1.2.3.4".to_string()),
            ..wire::Source::default()
        },
        decisions,
        ..wire::Alert::default()
    }
}

fn ip_filter(ip: &str) -> DecisionFilter {
    DecisionFilter::from_query(&[("ip".to_string(), ip.to_string())]).unwrap_or_default()
}

fn stream_body(store: &Store, kind: StreamKind, f: DecisionFilter) -> (serde_json::Value, u64) {
    let mut w = StreamWriter::new(store.clone(), kind, f);
    let mut body = Vec::new();
    while let Some(c) = w.next_chunk() {
        body.extend(c);
    }
    (
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        w.snapshot(),
    )
}

fn values(v: &serde_json::Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| d["value"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn index_lookups_exact_range_and_v6() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    store.push_alerts(
        "m",
        vec![
            alert(vec![dec("1.2.3.4", "Ip", "4h")]),
            alert(vec![dec("10.0.0.0/8", "Range", "1h")]),
            alert(vec![dec("2001:db8::1", "Ip", "4h")]),
            alert(vec![dec("2001:db8::/32", "Range", "4h")]),
        ],
    )?;
    assert_eq!(store.query_decisions(&ip_filter("1.2.3.4")).len(), 1);
    assert_eq!(store.query_decisions(&ip_filter("1.2.3.5")).len(), 0);
    let r = store.query_decisions(&ip_filter("10.20.30.40"));
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].value, "10.0.0.0/8");
    assert_eq!(store.query_decisions(&ip_filter("2001:db8::1")).len(), 2);
    assert_eq!(store.query_decisions(&ip_filter("2001:db8::2")).len(), 1);
    assert_eq!(store.query_decisions(&ip_filter("2001:db9::1")).len(), 0);
    // contains=false: decisions inside the range.
    let f = DecisionFilter::from_query(&[
        ("range".into(), "1.0.0.0/8".into()),
        ("contains".into(), "false".into()),
    ])?;
    let r = store.query_decisions(&f);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].value, "1.2.3.4");
    // range query with contains=true: decisions containing 10.1.0.0/16.
    let f = DecisionFilter::from_query(&[("range".into(), "10.1.0.0/16".into())])?;
    assert_eq!(store.query_decisions(&f).len(), 1);
    assert!(DecisionFilter::from_query(&[("ip".into(), "not-an-ip".into())]).is_err());
    Ok(())
}

#[test]
fn expiry_hides_then_sweeps_to_deleted() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    store.push_alerts("m", vec![alert(vec![dec("5.5.5.5", "Ip", "300ms")])])?;
    let (_, cursor) = stream_body(&store, StreamKind::Startup, DecisionFilter::default());
    assert_eq!(store.query_decisions(&ip_filter("5.5.5.5")).len(), 1);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        store.query_decisions(&ip_filter("5.5.5.5")).len(),
        0,
        "hidden once past until"
    );
    assert_eq!(store.sweep()?, 1);
    let (v, _) = stream_body(
        &store,
        StreamKind::Delta { cursor },
        DecisionFilter::default(),
    );
    assert_eq!(values(&v, "deleted"), vec!["5.5.5.5"]);
    assert!(values(&v, "new").is_empty());
    assert_eq!(
        store.decisions_count("5.5.5.5"),
        1,
        "history keeps expired decisions"
    );
    Ok(())
}

#[test]
fn stream_startup_dedups_and_deltas_follow_cursor() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    store.push_alerts(
        "m",
        vec![
            alert(vec![dec("1.1.1.1", "Ip", "1h")]),
            alert(vec![dec("1.1.1.1", "Ip", "4h")]),
            alert(vec![dec("2.2.2.2", "Ip", "4h")]),
        ],
    )?;
    let (v, cursor) = stream_body(&store, StreamKind::Startup, DecisionFilter::default());
    let new = v["new"].as_array().cloned().unwrap_or_default();
    assert_eq!(new.len(), 2, "one per value: {v}");
    let d1 = new
        .iter()
        .find(|d| d["value"] == "1.1.1.1")
        .cloned()
        .unwrap_or_default();
    assert!(
        d1["duration"]
            .as_str()
            .unwrap_or_default()
            .starts_with("3h59m"),
        "longest kept: {d1}"
    );
    assert_eq!(v["deleted"], serde_json::json!([]));
    // Nothing changed: empty delta.
    let (v, c2) = stream_body(
        &store,
        StreamKind::Delta { cursor },
        DecisionFilter::default(),
    );
    assert_eq!(v, serde_json::json!({"new": [], "deleted": []}));
    assert_eq!(c2, cursor);
    // One add and one delete.
    store.push_alerts("m", vec![alert(vec![dec("3.3.3.3", "Ip", "4h")])])?;
    let del = store.delete_decisions(&DecisionFilter {
        value: Some("2.2.2.2".into()),
        ..DecisionFilter::default()
    })?;
    assert_eq!(del.len(), 1);
    let (v, c3) = stream_body(
        &store,
        StreamKind::Delta { cursor },
        DecisionFilter::default(),
    );
    assert_eq!(values(&v, "new"), vec!["3.3.3.3"]);
    assert_eq!(values(&v, "deleted"), vec!["2.2.2.2"]);
    assert!(c3 > cursor);
    // Scope filter: a Range-only stream does not see Ip decisions.
    let f = DecisionFilter {
        scopes: vec!["range".into()],
        ..DecisionFilter::default()
    };
    let (v, _) = stream_body(&store, StreamKind::Startup, f);
    assert!(values(&v, "new").is_empty());
    Ok(())
}

#[test]
fn persistence_and_cursor_across_reopen() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let key;
    {
        let store = Store::open(dir.path())?;
        key = store.add_bouncer("fw", None)?;
        store.push_alerts("m", vec![alert(vec![dec("7.7.7.7", "Ip", "4h")])])?;
        let (_, snap) = stream_body(&store, StreamKind::Startup, DecisionFilter::default());
        store.touch_bouncer(
            "fw",
            "127.0.0.1",
            "crowdsec-firewall-bouncer/v0.0.1",
            Some(snap),
        )?;
    }
    let store = Store::open(dir.path())?;
    let b = store.authenticate_bouncer(&key).ok_or("bouncer lost")?;
    assert_eq!(b.kind, "crowdsec-firewall-bouncer");
    assert_eq!(store.query_decisions(&ip_filter("7.7.7.7")).len(), 1);
    let (v, _) = stream_body(
        &store,
        StreamKind::Delta { cursor: b.cursor },
        DecisionFilter::default(),
    );
    assert!(values(&v, "new").is_empty(), "cursor persisted: {v}");
    store.push_alerts("m", vec![alert(vec![dec("8.8.8.8", "Ip", "4h")])])?;
    let (v, _) = stream_body(
        &store,
        StreamKind::Delta { cursor: b.cursor },
        DecisionFilter::default(),
    );
    assert_eq!(values(&v, "new"), vec!["8.8.8.8"]);
    // Ids keep growing after reopen.
    let alerts = store.list_alerts(&crate::AlertFilter::default())?;
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[0].id, 2);
    Ok(())
}

#[test]
fn counts_and_admin_operations() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    let req = crate::admin::AddDecisionRequest {
        value: "9.9.9.9".into(),
        scope: "ip".into(),
        kind: "ban".into(),
        duration: "1h".into(),
        reason: String::new(),
        origin: String::new(),
    };
    store.add_decision(&req)?;
    store.add_decision(&req)?;
    assert_eq!(store.decisions_count("9.9.9.9"), 2);
    assert_eq!(
        store.decisions_count_since("9.9.9.9", Duration::from_secs(60)),
        2
    );
    let d = store.query_decisions(&ip_filter("9.9.9.9"));
    assert_eq!(d[0].origin, "cscli");
    assert_eq!(d[0].scope, "Ip");
    assert!(
        store
            .add_decision(&crate::admin::AddDecisionRequest {
                value: "nope".into(),
                ..req.clone()
            })
            .is_err()
    );
    assert_eq!(store.delete_decision(d[0].id)?, 1);
    assert_eq!(store.delete_decision(d[0].id)?, 0);
    assert!(store.delete_decision(999).is_err());
    let key_file = dir.path().join("admin.key");
    let k = store.admin_key(&key_file)?;
    assert_eq!(std::fs::read_to_string(&key_file)?.trim(), k);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key_file)?.permissions().mode() & 0o777,
            0o600
        );
    }
    assert!(store.check_admin_key(&k));
    assert!(!store.check_admin_key("wrong"));
    assert_eq!(store.admin_key(&key_file)?, k, "stable");
    Ok(())
}

struct BanFourHours;

impl AlertProfiler for BanFourHours {
    fn decide(&self, alert: &wire::Alert) -> Vec<wire::Decision> {
        vec![dec(&alert.source.value, &alert.source.scope, "4h")]
    }
}

#[test]
fn profiler_applies_to_decisionless_alerts_only() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    let p: Arc<dyn AlertProfiler> = Arc::new(BanFourHours);
    let mut bare = model::Alert::from(&alert(vec![]));
    bare.source.value = "4.4.4.4".into();
    let with = model::Alert::from(&alert(vec![dec("6.6.6.6", "Ip", "1m")]));
    store.push_model_alerts("w", vec![bare, with], Some(p.as_ref()))?;
    assert_eq!(store.query_decisions(&ip_filter("4.4.4.4")).len(), 1);
    let six = store.query_decisions(&ip_filter("6.6.6.6"));
    assert_eq!(six.len(), 1);
    assert!(
        six[0].until_ms - six[0].created_ms <= 60_000,
        "watcher decision kept as sent"
    );
    Ok(())
}

/// Scale check (run by hand: `cargo test -p decision-api --release -- --ignored scale`):
/// `HIVEWALL_SCALE` decisions (default 1M), then `?ip=` latency, reopen and startup stream time.
#[test]
#[ignore = "slow; run by hand with --release"]
fn scale_lookup_and_stream() -> Result<(), Box<dyn std::error::Error>> {
    let n: u32 = std::env::var("HIVEWALL_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    {
        let store = Store::open(dir.path())?;
        let t = std::time::Instant::now();
        for chunk in (0..n).collect::<Vec<_>>().chunks(5000) {
            let alerts = chunk
                .iter()
                .map(|i| {
                    let ip = std::net::Ipv4Addr::from(0x0b00_0000 + i);
                    alert(vec![dec(&ip.to_string(), "Ip", "4h")])
                })
                .collect();
            store.push_alerts("m", alerts)?;
        }
        eprintln!("push {n}: {:?}", t.elapsed());
    }
    let t = std::time::Instant::now();
    let store = Store::open(dir.path())?;
    eprintln!("reopen: {:?}", t.elapsed());
    let mut lat = Vec::new();
    for i in 0..10_000u32 {
        let ip = std::net::Ipv4Addr::from(0x0b00_0000 + (i * 7919) % (n * 2));
        let t = std::time::Instant::now();
        let _ = store.query_decisions(&ip_filter(&ip.to_string()));
        lat.push(t.elapsed());
    }
    lat.sort();
    eprintln!(
        "?ip= p50 {:?} p99 {:?}",
        lat[lat.len() / 2],
        lat[lat.len() * 99 / 100]
    );
    let t = std::time::Instant::now();
    let mut w = StreamWriter::new(
        store.clone(),
        StreamKind::Startup,
        DecisionFilter::default(),
    );
    let mut bytes = 0usize;
    let mut biggest = 0usize;
    while let Some(c) = w.next_chunk() {
        bytes += c.len();
        biggest = biggest.max(c.len());
    }
    eprintln!(
        "startup stream: {bytes} bytes in {:?}, largest chunk {biggest}",
        t.elapsed()
    );
    assert!(lat[lat.len() * 99 / 100] < Duration::from_millis(5));
    Ok(())
}

#[test]
fn longest_per_value_follows_inserts_and_purges() {
    use super::index::Index;
    use super::record::DecisionRecord;
    let rec = |id: i64, value: &str, until_ms: i64| {
        Arc::new(DecisionRecord {
            id,
            uuid: String::new(),
            alert_id: 0,
            created_ms: 0,
            until_ms,
            scope: "Ip".into(),
            value: value.into(),
            kind: "ban".into(),
            origin: "cscli".into(),
            scenario: "test".into(),
            simulated: false,
            seq: u64::try_from(id).unwrap_or(0),
            del_seq: 0,
        })
    };
    let mut idx = Index::default();
    let (a, b, c, other) = (
        rec(1, "1.1.1.1", 1_000),
        rec(2, "1.1.1.1", 4_000),
        rec(3, "1.1.1.1", 4_000),
        rec(4, "2.2.2.2", 10),
    );
    idx.insert(a.clone());
    idx.insert(other.clone());
    assert!(idx.is_longest(&a) && idx.is_longest(&other));
    idx.insert(b.clone());
    assert!(!idx.is_longest(&a) && idx.is_longest(&b));
    // Same end: the highest id wins.
    idx.insert(c.clone());
    assert!(!idx.is_longest(&b) && idx.is_longest(&c));
    idx.purge(3);
    idx.purge(2);
    assert!(
        idx.is_longest(&a),
        "alone again once the longer ones are purged"
    );
    idx.insert(rec(5, "1.1.1.1", 2_000));
    assert!(!idx.is_longest(&a), "shadowed again by a new longer one");
    assert!(idx.is_longest(&other));
}
