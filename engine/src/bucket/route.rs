//! The detector split in two for the distributed processor: [`Detector::route`] runs where
//! lines are parsed and says which buckets an event goes to (the scenarios whose filter
//! matches, with their `groupby` value); [`Detector::process_routed`] runs on the partition
//! that owns those buckets and pours the event into them only. Together they do what
//! [`Detector::process`] does in one place.

use std::borrow::Cow;

use compact_str::CompactString;

use crate::event::{Event, ExpectMode};
use crate::expr::{Object, Value};

use super::config::BucketKind;
use super::detector::{Detector, Outcome, PourError, compact, settle};
use super::prepared::Lazy;
use super::queue::EventForms;
use super::stamp::Stamp;
use super::state::BucketKey;
use super::store::BucketStore;

/// Where an event goes: (scenario index in the set, `groupby` value) pairs, in the order the
/// scenarios are loaded, and the error that stopped routing, if any (as in CrowdSec, a filter
/// or `groupby` error stops the pouring of the event; the routes before it stand).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Routes {
    /// The buckets, in scenario order.
    pub to: Vec<(usize, CompactString)>,
    /// The error that stopped routing.
    pub error: Option<PourError>,
}

impl<S: BucketStore> Detector<S> {
    /// The buckets `evt` goes to. Writes that filters ask for (`evt.SetMeta(..)`) are applied
    /// to `evt`, as later scenarios and the buckets would see them.
    pub fn route(&self, evt: &mut Event) -> Routes {
        let mut out = Routes::default();
        let scenarios = std::sync::Arc::clone(self.scenarios());
        // Copied only when a filter writes to it (as in `Detector::pour`).
        let orig: &Event = evt;
        let mut cur = Cow::Borrowed(orig);
        for (idx, sc) in scenarios.iter().enumerate() {
            let verdict = sc.filter.eval_bool(&[Value::Obj(&*cur as &dyn Object)]);
            settle(&mut cur, orig);
            let e: &Event = &cur;
            match verdict {
                Ok(true) => {}
                Ok(false) => continue,
                Err(err) => {
                    out.error = Some(PourError {
                        scenario: sc.name().to_string(),
                        message: format!("failed parsing: {err}"),
                    });
                    break;
                }
            }
            let group = match &sc.groupby {
                None => CompactString::default(),
                Some(p) => match p.eval(&[Value::Obj(e as &dyn Object)]) {
                    Ok(Value::Str(s)) => compact(s),
                    Ok(other) => {
                        out.error = Some(PourError {
                            scenario: sc.name().to_string(),
                            message: format!("groupby wrong type: {}", other.type_name()),
                        });
                        break;
                    }
                    Err(err) => {
                        out.error = Some(PourError {
                            scenario: sc.name().to_string(),
                            message: format!("failed groupby: {err}"),
                        });
                        break;
                    }
                },
            };
            if e.expect_mode == ExpectMode::TimeMachine
                && e.marshaled_time.is_empty()
                && sc.kind != BucketKind::Trigger
            {
                continue;
            }
            out.to.push((idx, group));
        }
        if let Cow::Owned(e) = cur {
            *evt = e;
        }
        out
    }

    /// Advances time to the event's and pours it into the buckets `routes` names (no filter or
    /// `groupby` evaluated again), then pours the overflows that ask for it as
    /// [`Detector::process`] does. Routes naming a scenario index past the set are ignored.
    pub fn process_routed(&mut self, evt: &Event, routes: &[(usize, CompactString)]) -> Outcome {
        let mut outcome = Outcome::default();
        let Some((t, forms)) = Self::event_stamp(evt) else {
            return outcome;
        };
        outcome.signals = self.advance(t);
        let first = outcome.signals.len();
        self.pour_routed(evt, t, forms, routes, &mut outcome);
        self.reprocess(t, first, &mut outcome);
        outcome
    }

    fn pour_routed(
        &mut self,
        evt: &Event,
        t: Stamp,
        mut forms: EventForms,
        routes: &[(usize, CompactString)],
        outcome: &mut Outcome,
    ) {
        let scenarios = std::sync::Arc::clone(self.scenarios());
        let mut src = Lazy::new(evt, &mut forms);
        for (idx, group) in routes {
            let Some(sc) = scenarios.get(*idx) else {
                continue;
            };
            let key = BucketKey {
                scenario: u32::try_from(*idx).unwrap_or(u32::MAX),
                group: group.clone(),
            };
            self.pour_one(sc, key, &mut src, t, &mut outcome.signals);
            outcome.poured = true;
        }
    }
}
