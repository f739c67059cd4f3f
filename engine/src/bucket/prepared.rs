//! What a pour reads of an event, taken from the event itself (`Lazy`) or prepared where the
//! event was parsed (`Prepared`), so that a shard on another thread pours it without the
//! event: the parser keeps refilling one event, warm in its own caches, and a shard reads a
//! few packed bytes instead of the event's maps.
//!
//! A pour reads an event in four ways: the form its bucket queues (the compact form or a whole
//! copy), the `distinct` element, the `cancel_on` verdict, and for `condition` and bayesian
//! expressions the event itself. The last three are expressions of the event alone, so they can
//! be evaluated before the pour: [`Detector::prepare`] does that for each route and keeps a
//! whole copy only for scenarios that need one ([`needs_event`]).

use std::borrow::Cow;
use std::sync::LazyLock;

use compact_str::CompactString;

use crate::event::Event;
use crate::expr::{Object, Program, Value};

use super::detector::Detector;
use super::queue::{CompactEvent, EventForms, Queued};
use super::scenario::Scenario;
use super::store::BucketStore;

/// What [`Detector::pour_one`] reads of the event it pours.
pub(super) trait PourSource {
    /// What the bucket queues: the whole event if `full`, else its compact form.
    fn queued(&mut self, full: bool) -> Queued;
    /// The `distinct` element (`d` is the scenario's `distinct`), `None` when it cannot be
    /// evaluated (then no check is made, as in CrowdSec).
    fn distinct<'s>(&'s self, d: &'s Program) -> Option<Cow<'s, str>>;
    /// Whether `cancel_on` (`c`) holds.
    fn cancelled(&self, c: &Program) -> bool;
    /// The event, for `condition` and bayesian expressions.
    fn event(&self) -> &Event;
}

/// The event itself, its forms made on first use.
pub(super) struct Lazy<'a> {
    evt: &'a Event,
    forms: &'a mut EventForms,
}

impl<'a> Lazy<'a> {
    pub(super) fn new(evt: &'a Event, forms: &'a mut EventForms) -> Self {
        Lazy { evt, forms }
    }
}

/// The `distinct` element of `evt` (`None`: `d` failed to evaluate; a value that is not a
/// text counts as the empty one, as in CrowdSec).
fn distinct_of<'s>(evt: &'s Event, d: &'s Program) -> Option<Cow<'s, str>> {
    let ev = Value::Obj(evt as &dyn Object);
    match d.eval(std::slice::from_ref(&ev)) {
        Ok(Value::Str(s)) => Some(s),
        Ok(_) => Some(Cow::Borrowed("")),
        Err(_) => None,
    }
}

fn cancelled_by(evt: &Event, c: &Program) -> bool {
    let ev = Value::Obj(evt as &dyn Object);
    matches!(c.eval_bool(std::slice::from_ref(&ev)), Ok(true))
}

impl PourSource for Lazy<'_> {
    fn queued(&mut self, full: bool) -> Queued {
        self.forms.queued(self.evt, full)
    }

    fn distinct<'s>(&'s self, d: &'s Program) -> Option<Cow<'s, str>> {
        distinct_of(self.evt, d)
    }

    fn cancelled(&self, c: &Program) -> bool {
        cancelled_by(self.evt, c)
    }

    fn event(&self) -> &Event {
        self.evt
    }
}

/// Whether pours into `sc` read the whole event: its buckets queue whole events, or its
/// `condition` or bayesian expressions read `evt`.
pub fn needs_event(sc: &Scenario) -> bool {
    sc.keep_events || sc.condition.is_some() || sc.config.bayesian_threshold != 0.0
}

/// What the pours of one event need of it, made by [`Detector::prepare`].
#[derive(Debug, Default)]
pub struct Payload {
    /// Its compact form, if one of its buckets queues that.
    compact: Option<CompactEvent>,
    /// A copy of it, if one of its scenarios [`needs_event`].
    whole: Option<Box<Event>>,
}

/// One route of an event, prepared: its place among the event's routes, the bucket, and the
/// results of the scenario's `distinct` and `cancel_on` on the event.
#[derive(Debug, Clone)]
pub struct PreparedRoute {
    /// Index among the event's routes.
    pub route: u32,
    /// Scenario index.
    pub scenario: usize,
    /// The bucket's group (inline when short, as addresses are: no pointer to follow on the
    /// shard's side).
    pub group: CompactString,
    /// The `distinct` element (`None`: no `distinct`, or it failed to evaluate).
    distinct: Option<Box<str>>,
    /// Whether `cancel_on` held.
    cancelled: bool,
}

/// A prepared route with its event's payload, as a pour reads it.
pub(super) struct Prepared<'a> {
    pub(super) payload: &'a Payload,
    pub(super) route: &'a PreparedRoute,
}

/// An empty event, for a [`Payload`] made without a copy (never read: [`needs_event`] decides
/// both).
static NO_EVENT: LazyLock<Event> = LazyLock::new(Event::default);

impl PourSource for Prepared<'_> {
    fn queued(&mut self, full: bool) -> Queued {
        match (full, &self.payload.whole, &self.payload.compact) {
            (true, Some(e), _) => Queued::Full(e.clone()),
            (false, _, Some(c)) => Queued::Compact(c.clone()),
            // Not made (cannot happen: `prepare` makes what every route's scenario queues).
            (true, None, _) => Queued::Full(Box::default()),
            (false, _, None) => Queued::Compact(CompactEvent::default()),
        }
    }

    fn distinct<'s>(&'s self, _: &'s Program) -> Option<Cow<'s, str>> {
        self.route.distinct.as_deref().map(Cow::Borrowed)
    }

    fn cancelled(&self, _: &Program) -> bool {
        self.route.cancelled
    }

    fn event(&self) -> &Event {
        self.payload.whole.as_deref().unwrap_or(&NO_EVENT)
    }
}

impl<S: BucketStore> Detector<S> {
    /// Prepares the pours of `evt` into `routes` (index of scenario, group; in scenario
    /// order, as [`Detector::route`] gives them), for a shard that pours without the event.
    pub fn prepare(
        &self,
        evt: &Event,
        routes: Vec<(usize, CompactString)>,
    ) -> (Payload, Vec<PreparedRoute>) {
        let scenarios = self.scenarios();
        let mut payload = Payload::default();
        let mut forms = Self::event_stamp(evt).map(|(_, f)| f);
        let mut out = Vec::with_capacity(routes.len());
        for (r, (idx, group)) in routes.into_iter().enumerate() {
            let (mut distinct, mut cancelled) = (None, false);
            if let Some(sc) = scenarios.get(idx) {
                if needs_event(sc) && payload.whole.is_none() {
                    payload.whole = Some(Box::new(evt.clone()));
                }
                if !sc.keep_events && payload.compact.is_none() {
                    let forms = forms.take().unwrap_or_default();
                    payload.compact = Some(forms.into_compact(evt));
                }
                distinct = sc
                    .distinct
                    .as_ref()
                    .and_then(|d| distinct_of(evt, d))
                    .map(|c| c.into());
                cancelled = sc.cancel_on.as_ref().is_some_and(|c| cancelled_by(evt, c));
            }
            out.push(PreparedRoute {
                route: u32::try_from(r).unwrap_or(u32::MAX),
                scenario: idx,
                group,
                distinct,
                cancelled,
            });
        }
        (payload, out)
    }
}
