//! Pouring what a parser prepared ([`Detector::prepare`], [`Detector::process_prepared`]) does
//! what pouring the event does: same signals in the same order, same buckets, for scenarios
//! that read the event in every way a pour can (`distinct`, `cancel_on`, `condition`, whole
//! queued events, triggers, counters).

use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::event::{Event, StrMap};
use crate::expr::functions::{Functions, HelperContext};

const SCENARIOS: &[&str] = &[
    "type: leaky\nname: t/distinct\ndescription: d\nfilter: 'true'\ngroupby: evt.Meta.source_ip\ncapacity: 2\nleakspeed: 1s\ndistinct: evt.Meta.user\n",
    "type: leaky\nname: t/cancel\ndescription: d\nfilter: 'true'\ngroupby: evt.Meta.source_ip\ncapacity: 3\nleakspeed: 1s\ncancel_on: evt.Meta.user == 'root'\n",
    "type: conditional\nname: t/cond\ndescription: d\nfilter: 'true'\ngroupby: evt.Meta.source_ip\ncapacity: -1\nleakspeed: 1m\ncondition: len(queue.Queue) >= 2 && evt.Meta.user != 'admin'\n",
    "type: leaky\nname: t/whole\ndescription: d\nfilter: evt.Meta.user != ''\ngroupby: evt.Meta.user\ncapacity: 2\nleakspeed: 2s\noverflow_filter: len(queue.Queue) >= 0\n",
    "type: trigger\nname: t/trigger\ndescription: d\nfilter: evt.Meta.user == 'admin'\ngroupby: evt.Meta.source_ip\n",
    "type: counter\nname: t/counter\ndescription: d\nfilter: 'true'\ncapacity: -1\nduration: 3s\n",
];

fn scenarios() -> Arc<ScenarioSet> {
    let f = Arc::new(Functions::crowdsec(HelperContext::default()));
    let configs = SCENARIOS
        .iter()
        .map(|y| {
            (
                ScenarioFile::new("t.yaml"),
                serde_saphyr::from_str(y).unwrap(),
            )
        })
        .collect();
    Arc::new(ScenarioSet::from_configs(configs, &f).unwrap())
}

fn event(ip: &str, user: &str, ms: i64) -> Event {
    let t = Stamp {
        nanos: 1_577_872_800_000_000_000 + ms * 1_000_000,
        offset: 0,
    };
    let mut meta: StrMap = [("source_ip", ip)].into_iter().collect();
    if !user.is_empty() {
        meta.insert("user", user);
    }
    Event {
        meta,
        enriched: [("IsoCode", "FR")].into_iter().collect(),
        marshaled_time: t.marshal(),
        ..Event::default()
    }
}

/// The buckets of `d`, as stored, sorted (with the `distinct` elements seen, a hash set
/// stored in its own order, sorted too).
fn buckets(d: &Detector) -> Vec<String> {
    let mut out = Vec::new();
    d.store().for_each(&mut |k, b, deadline| {
        let mut json = serde_json::to_value(b).unwrap();
        if let Some(serde_json::Value::Array(seen)) = json.get_mut("u") {
            seen.sort_by_key(|v| v.to_string());
        }
        out.push(format!("{k:?} {deadline} {json}"));
    });
    out.sort();
    out
}

proptest! {
    #[test]
    fn prepared_pours_do_what_the_event_does(
        evs in proptest::collection::vec((0i64..900, 0usize..3, 0usize..4), 1..60)
    ) {
        let set = scenarios();
        prop_assert!(set.iter().any(|sc| sc.keep_events));
        let ips = ["1.1.1.1", "2.2.2.2", "::1"];
        let users = ["", "root", "admin", "bob"];
        let mut one: Detector = Detector::new(Arc::clone(&set));
        let mut shard: Detector = Detector::new(Arc::clone(&set));
        let router: Detector = Detector::new(Arc::clone(&set));
        let (mut t, mut want, mut got) = (0, Vec::new(), Vec::new());
        for (gap, ip, user) in evs {
            t += gap;
            let e = event(ips[ip], users[user], t);
            want.extend(one.process(&e).signals);
            let mut routed = e.clone();
            let routes = router.route(&mut routed);
            prop_assert!(routes.error.is_none());
            let at = Detector::<MemoryStore>::event_time(&routed).unwrap();
            let (payload, prepared) = router.prepare(&routed, routes.to);
            let out = shard.process_prepared(&payload, at, &prepared, &|_| true);
            got.extend(out.signals.into_iter().map(|(_, s)| s));
        }
        // Then past every bucket's end: the counter always overflows, the rest leak out.
        let end = Detector::<MemoryStore>::event_time(&event("1.1.1.1", "", t + 600_000)).unwrap();
        prop_assert_eq!(buckets(&shard), buckets(&one));
        want.extend(one.advance(end));
        got.extend(shard.advance_shard(end).into_iter().map(|(_, s)| s));
        prop_assert!(want.iter().any(|s| s.alert().is_some()));
        prop_assert_eq!(got, want);
        prop_assert_eq!(buckets(&shard), buckets(&one));
    }
}
