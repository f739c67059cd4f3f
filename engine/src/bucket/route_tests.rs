//! Routing then pouring on partitions gives the alerts of one detector: the property the
//! distributed processor rests on.

use std::path::Path;
use std::sync::Arc;

use chrono::{TimeZone, Utc};

use super::{BucketStore, Detector, SignalKind, Stamp};
use crate::clock::FixedClock;
use crate::event::{Acquisition, ExpectMode};
use crate::pipeline::{Pipeline, Setup};

/// An auth log: failed logins from 40 addresses over 40 users, one line every 0.5 to 3 s,
/// with some addresses far busier than others (brute forces, slow ones, user enumeration).
fn auth_log(n: usize) -> Vec<String> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut t = Utc.with_ymd_and_hms(2026, 6, 1, 10, 0, 0).unwrap();
    (0..n)
        .map(|i| {
            t += chrono::Duration::milliseconds(500 + (next() % 2500) as i64);
            let r = next();
            // Address popularity: the low ones send most lines.
            let ip = (r % 40).min(r % 7 + (r >> 8) % 40);
            let user = (r >> 16) % 40;
            format!(
                "{} web1 sshd[{i}]: Failed password for invalid user u{user} from 198.51.100.{ip} port {} ssh2",
                t.format("%b %e %H:%M:%S"),
                40000 + i
            )
        })
        .collect()
}

/// Overflows as (time, scenario, group, events count), sorted.
type Overflows = Vec<(i64, String, String, usize)>;

fn overflows(signals: Vec<super::Signal>, scenarios: &super::ScenarioSet, out: &mut Overflows) {
    for s in signals {
        if let SignalKind::Overflow(a) = &s.kind {
            let name = scenarios.get(s.scenario).map(|sc| sc.name().to_string());
            out.push((
                s.at.nanos,
                name.unwrap_or_default(),
                s.group.to_string(),
                a.alert().map_or(0, |x| x.events_count as usize),
            ));
        }
    }
}

#[test]
fn routed_partitions_give_the_alerts_of_one_detector() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let setup = Setup::installed(&repo.join("scenarios"), repo.join("scenarios/data")).unwrap();
    let clock = Arc::new(FixedClock(
        Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap(),
    ));
    let p = Pipeline::load(&setup, clock).unwrap();
    let scenarios = Arc::clone(p.detector().scenarios());
    let acq = Acquisition::new("/var/log/auth.log", "file", "syslog", std::iter::empty());

    let mut one: Detector = Detector::new(Arc::clone(&scenarios));
    let router: Detector = Detector::new(Arc::clone(&scenarios));
    const N: usize = 4;
    let mut parts: Vec<Detector> = (0..N)
        .map(|_| Detector::new(Arc::clone(&scenarios)))
        .collect();
    let (mut want, mut got) = (Overflows::new(), Overflows::new());
    let mut last = None;
    let mut routed_to_several = 0;
    for raw in auth_log(6000) {
        let mut e = acq.event(raw, ExpectMode::TimeMachine);
        if !p.parsers().parse(&mut e, None).unwrap() {
            continue;
        }
        overflows(one.process(&e).signals, &scenarios, &mut want);
        let routes = router.route(&mut e);
        assert!(routes.error.is_none());
        let mut per_part: Vec<Vec<(usize, compact_str::CompactString)>> = vec![Vec::new(); N];
        for (idx, group) in routes.to {
            let key = if group.is_empty() {
                scenarios.get(idx).unwrap().name().to_string()
            } else {
                group.to_string()
            };
            let h = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            });
            per_part[(h % N as u64) as usize].push((idx, group));
        }
        routed_to_several += usize::from(per_part.iter().filter(|r| !r.is_empty()).count() > 1);
        for (d, r) in parts.iter_mut().zip(&per_part) {
            if !r.is_empty() {
                overflows(d.process_routed(&e, r).signals, &scenarios, &mut got);
            }
        }
        last = Detector::<super::MemoryStore>::event_time(&e);
    }
    // The end of the log: every detector's time moves past the longest bucket.
    let end = Stamp {
        nanos: last.unwrap().nanos + 86_400_000_000_000,
        offset: 0,
    };
    overflows(one.advance(end), &scenarios, &mut want);
    for d in &mut parts {
        overflows(d.advance(end), &scenarios, &mut got);
    }
    want.sort();
    got.sort();
    assert!(
        want.len() > 20,
        "the log should overflow often: {}",
        want.len()
    );
    assert_eq!(got, want);
    // Our ssh scenarios all group by address, so an event lands on one partition.
    assert_eq!(routed_to_several, 0);
}

/// The events of [`auth_log`] parsed once (shared by the property cases).
fn parsed_events() -> &'static (Arc<super::ScenarioSet>, Vec<crate::event::Event>) {
    static E: std::sync::OnceLock<(Arc<super::ScenarioSet>, Vec<crate::event::Event>)> =
        std::sync::OnceLock::new();
    E.get_or_init(|| {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let setup = Setup::installed(&repo.join("scenarios"), repo.join("scenarios/data")).unwrap();
        let clock = Arc::new(FixedClock(
            Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap(),
        ));
        let p = Pipeline::load(&setup, clock).unwrap();
        let acq = Acquisition::new("/var/log/auth.log", "file", "syslog", std::iter::empty());
        // Plus one relentless address (every other line), whose brute forces overflow again
        // within their blackhole.
        let lines = auth_log(1500).into_iter().enumerate().flat_map(|(i, l)| {
            let extra = (i % 2 == 0).then(|| {
                let cut = l.find(" from ").unwrap_or(l.len());
                format!("{} from 192.0.2.250 port 22 ssh2", &l[..cut])
            });
            std::iter::once(l).chain(extra)
        });
        let events = lines
            .filter_map(|raw| {
                let mut e = acq.event(raw, ExpectMode::TimeMachine);
                p.parsers().parse(&mut e, None).unwrap().then_some(e)
            })
            .collect();
        (Arc::clone(p.detector().scenarios()), events)
    })
}

/// Stores a detector as the processor does (every bucket with its deadline as JSON, and the
/// detector's own state) and builds a new one from what was stored.
fn store_and_restore(d: &Detector, scenarios: &Arc<super::ScenarioSet>) -> Detector {
    let mut stored: Vec<(super::BucketKey, Vec<u8>, i64)> = Vec::new();
    d.store().for_each(&mut |k, b, deadline| {
        stored.push((k.clone(), serde_json::to_vec(b).unwrap(), deadline));
    });
    let state = serde_json::to_vec(&d.state()).unwrap();
    let mut store = super::MemoryStore::new();
    for (k, b, deadline) in stored {
        store.put(k, serde_json::from_slice(&b).unwrap(), deadline);
    }
    let mut back = Detector::with_store(Arc::clone(scenarios), store);
    back.restore_state(serde_json::from_slice(&state).unwrap());
    back
}

fn run_all(
    d: &mut Detector,
    events: &[crate::event::Event],
    s: &super::ScenarioSet,
    out: &mut Overflows,
) {
    for e in events {
        overflows(d.process(e).signals, s, out);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(12))]

    /// Stopping after any event, storing the buckets, restoring them and going on gives the
    /// alerts of an uninterrupted run (blackholes and time included).
    #[test]
    fn stopping_anywhere_and_restoring_changes_no_alert(stop in 0usize..2250, stop2 in 0usize..2250) {
        let (scenarios, events) = parsed_events();
        let (a, b) = (stop.min(events.len()), stop2.min(events.len()));
        let (first, second) = (a.min(b), a.max(b));
        let mut want = Overflows::new();
        let mut one: Detector = Detector::new(Arc::clone(scenarios));
        let mut blackholed = 0;
        for e in events.iter() {
            let signals = one.process(e).signals;
            blackholed += signals.iter().filter(|s| matches!(s.kind, SignalKind::Blackholed)).count();
            overflows(signals, scenarios, &mut want);
        }
        // The log makes blackholes matter: some overflows fall inside one.
        proptest::prop_assert!(blackholed > 0, "no overflow was blackholed");

        let mut got = Overflows::new();
        let mut d: Detector = Detector::new(Arc::clone(scenarios));
        run_all(&mut d, &events[..first], scenarios, &mut got);
        let mut d = store_and_restore(&d, scenarios);
        run_all(&mut d, &events[first..second], scenarios, &mut got);
        let mut d = store_and_restore(&d, scenarios);
        run_all(&mut d, &events[second..], scenarios, &mut got);
        proptest::prop_assert!(!want.is_empty());
        proptest::prop_assert_eq!(got, want);
    }
}
