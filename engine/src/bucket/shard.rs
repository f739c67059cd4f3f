//! Buckets split over several detectors ("shards") by routing key, with the results of one.
//!
//! A bucket's routing key is its `groupby` value, or its scenario's name without `groupby` (the
//! processor's Kafka key); [`shard_of`] maps it to a shard with a fixed hash. Each shard is a
//! [`Detector`] over the same scenarios that is told every event time in input order
//! ([`Detector::advance_shard`] for events that pour elsewhere, [`Detector::process_shard`]
//! for its own), so its buckets leak, expire and blackhole exactly as they would in one
//! detector. Every signal comes with a [`SignalOrder`]: ordering a line's signals of all
//! shards by it gives the order one detector emits them in.

use super::detector::{Detector, MAX_REPROCESS_DEPTH, Outcome, Signal, SignalKind};
use compact_str::CompactString;

use super::prepared::{Lazy, Payload, PourSource, Prepared, PreparedRoute};
use super::queue::EventForms;
use super::stamp::Stamp;
use super::state::BucketKey;
use super::store::BucketStore;
use super::{ScenarioSet, overflow_event};
use crate::event::Event;

/// The routing key of the bucket `(scenario, group)`: the group, or the scenario's name.
pub fn routing_key<'a>(scenarios: &'a ScenarioSet, scenario: usize, group: &'a str) -> &'a str {
    if group.is_empty() {
        scenarios.get(scenario).map_or("", |s| s.name())
    } else {
        group
    }
}

/// The shard (of `shards`) owning `key`: FNV-1a, the same in every run and on every machine.
pub fn shard_of(key: &str, shards: usize) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // Fold the high bits in: FNV's low bits alone spread short keys poorly.
    ((h ^ (h >> 32)) % shards.max(1) as u64) as usize
}

/// Where a signal stands among those one detector emits for one event: first what advancing
/// time drained (by deadline, then bucket key: the store's order), then each route's pour in
/// scenario order, then reprocessed overflows depth by depth.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SignalOrder {
    /// Drained by the time advance.
    Expired {
        /// The bucket's deadline (Unix ns).
        deadline: i64,
        /// The bucket.
        key: BucketKey,
    },
    /// Caused by pouring into the event's `route`-th route (`n`-th signal of that pour).
    Poured {
        /// Index of the route in the event's routes (scenario order).
        route: u32,
        /// Index among the signals of that pour.
        n: u32,
    },
    /// Caused by pouring a `reprocess: true` overflow again.
    Reprocessed {
        /// Reprocess depth (0: an overflow of the event's own pours).
        depth: u32,
        /// The overflow poured again.
        source: Box<SignalOrder>,
        /// The scenario it was poured into.
        scenario: u32,
        /// Index among the signals of that pour.
        n: u32,
    },
}

/// What one shard did with one event.
#[derive(Debug, Default)]
pub struct ShardOutcome {
    /// Signals with their place in one detector's order.
    pub signals: Vec<(SignalOrder, Signal)>,
    /// Buckets a reprocessed overflow should have gone to that another shard owns (they were
    /// skipped: one detector would have poured them).
    pub foreign: u64,
}

impl<S: BucketStore> Detector<S> {
    /// Moves time to `now` for an event that pours into other shards (see [`Detector::advance`]).
    pub fn advance_shard(&mut self, now: Stamp) -> Vec<(SignalOrder, Signal)> {
        expired(self.advance(now))
    }

    /// [`Detector::process_routed`] for a shard: advances to `t`, pours `evt` into `routes`
    /// (index among the event's routes, scenario index, group) and pours the `reprocess`
    /// overflows again into the buckets whose key `owns` (routing as [`Detector::route`]).
    pub fn process_shard(
        &mut self,
        evt: &Event,
        t: Stamp,
        routes: &[(u32, usize, String)],
        owns: &dyn Fn(&str) -> bool,
    ) -> ShardOutcome {
        let mut forms = EventForms::new();
        self.shard_pours(t, owns, |det, scenarios, sigs, out| {
            for (route, idx, group) in routes {
                let mut src = Lazy::new(evt, &mut forms);
                let key = (*idx, group.as_str().into());
                det.pour_route(scenarios, *route, key, &mut src, t, sigs, out);
            }
        })
    }

    /// [`Detector::process_shard`] of an event prepared where it was parsed
    /// ([`Detector::prepare`]): its `payload` and the `routes` this shard owns.
    pub fn process_prepared(
        &mut self,
        payload: &Payload,
        t: Stamp,
        routes: &[PreparedRoute],
        owns: &dyn Fn(&str) -> bool,
    ) -> ShardOutcome {
        self.shard_pours(t, owns, |det, scenarios, sigs, out| {
            for route in routes {
                let mut src = Prepared { payload, route };
                let key = (route.scenario, route.group.clone());
                det.pour_route(scenarios, route.route, key, &mut src, t, sigs, out);
            }
        })
    }

    /// Pours one route (`route`-th of its event) into the bucket `(scenario index, group)`.
    #[allow(clippy::too_many_arguments)]
    fn pour_route<V: PourSource>(
        &mut self,
        scenarios: &ScenarioSet,
        route: u32,
        (idx, group): (usize, CompactString),
        src: &mut V,
        t: Stamp,
        sigs: &mut Vec<Signal>,
        out: &mut ShardOutcome,
    ) {
        let Some(sc) = scenarios.get(idx) else {
            return;
        };
        let key = BucketKey {
            scenario: u32::try_from(idx).unwrap_or(u32::MAX),
            group,
        };
        self.pour_one(sc, key, src, t, sigs);
        for (n, s) in sigs.drain(..).enumerate() {
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            out.signals.push((SignalOrder::Poured { route, n }, s));
        }
    }

    /// Advances to `t`, runs `pour` (the event's own routes), then pours the `reprocess`
    /// overflows again into the buckets whose key `owns`.
    fn shard_pours(
        &mut self,
        t: Stamp,
        owns: &dyn Fn(&str) -> bool,
        pour: impl FnOnce(&mut Self, &ScenarioSet, &mut Vec<Signal>, &mut ShardOutcome),
    ) -> ShardOutcome {
        let mut out = ShardOutcome {
            signals: expired(self.advance(t)),
            ..ShardOutcome::default()
        };
        let scenarios = std::sync::Arc::clone(self.scenarios());
        let mut sigs = Vec::new();
        pour(self, &scenarios, &mut sigs, &mut out);
        // As in `Detector::process`, what the advance drained is not poured again.
        let mut from = out.signals.iter().take_while(|s| !is_poured(&s.0)).count();
        for depth in 0..MAX_REPROCESS_DEPTH as u32 {
            let again: Vec<(SignalOrder, Event)> = out.signals[from..]
                .iter()
                .filter_map(|(o, s)| match &s.kind {
                    SignalKind::Overflow(a) if a.reprocess => {
                        Some((o.clone(), overflow_event((**a).clone(), s.at)))
                    }
                    _ => None,
                })
                .collect();
            if again.is_empty() {
                break;
            }
            from = out.signals.len();
            for (source, mut e) in again {
                let at = Self::event_time(&e).unwrap_or(t);
                let routes = self.route(&mut e);
                let mut outcome = Outcome::default();
                for (idx, group) in routes.to {
                    if !owns(routing_key(&scenarios, idx, &group)) {
                        out.foreign += 1;
                        continue;
                    }
                    let Some(sc) = scenarios.get(idx) else {
                        continue;
                    };
                    let scenario = u32::try_from(idx).unwrap_or(u32::MAX);
                    let key = BucketKey {
                        scenario,
                        group: group.clone(),
                    };
                    let mut forms = EventForms::new();
                    let mut src = Lazy::new(&e, &mut forms);
                    self.pour_one(sc, key, &mut src, at, &mut outcome.signals);
                    for (n, s) in outcome.signals.drain(..).enumerate() {
                        let order = SignalOrder::Reprocessed {
                            depth,
                            source: Box::new(source.clone()),
                            scenario,
                            n: u32::try_from(n).unwrap_or(u32::MAX),
                        };
                        out.signals.push((order, s));
                    }
                }
            }
        }
        out
    }
}

fn is_poured(o: &SignalOrder) -> bool {
    !matches!(o, SignalOrder::Expired { .. })
}

fn expired(signals: Vec<Signal>) -> Vec<(SignalOrder, Signal)> {
    signals
        .into_iter()
        .map(|s| {
            let key = BucketKey {
                scenario: u32::try_from(s.scenario).unwrap_or(u32::MAX),
                group: s.group.clone(),
            };
            let order = SignalOrder::Expired {
                deadline: s.at.nanos,
                key,
            };
            (order, s)
        })
        .collect()
}
