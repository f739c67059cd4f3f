//! Routing then pouring on partitions gives the alerts of one detector: the property the
//! distributed processor rests on.

use std::path::Path;
use std::sync::Arc;

use chrono::{TimeZone, Utc};

use super::{Detector, SignalKind, Stamp};
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
                a.alert.as_ref().map_or(0, |x| x.events_count as usize),
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
        let mut per_part: Vec<Vec<(usize, String)>> = vec![Vec::new(); N];
        for (idx, group) in routes.to {
            let key = if group.is_empty() {
                scenarios.get(idx).unwrap().name().to_string()
            } else {
                group.clone()
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
