//! The detector: pours events into the buckets of a scenario set and reports what overflows.
//!
//! It follows CrowdSec's replay ("time machine") mode, where bucket time is event time, with
//! CrowdSec's wall-clock timers replaced by deadlines checked by [`Detector::advance`]:
//! a leaky, conditional or bayesian bucket dies (underflow) once its lifetime has passed since
//! its last event; a counter (any bucket with `duration`) overflows once its duration has passed
//! since its first event. A deadline has passed when time is strictly after it, as in
//! CrowdSec's own expiry check on pour. Per event, the processing order is CrowdSec's: for each
//! scenario in load order, filter, groupby, then the bucket's processors (trigger, distinct,
//! cancel_on, pour, condition, bayesian) and on overflow `overflow_filter` then blackhole.

use std::borrow::Cow;
use std::sync::Arc;

use compact_str::CompactString;

use crate::event::{Event, ExpectMode};
use crate::expr::{EvalError, Object, Program, Value};

use super::ScenarioSet;
use super::alert::{new_alert, overflow_event_of};
use super::config::BucketKind;
use super::leaky::LeakyView;
use super::overflow::RuntimeAlert;
use super::prepared::{Lazy, PourSource};
use super::queue::EventForms;
use super::scenario::Scenario;
use super::stamp::Stamp;
use super::state::{Bucket, BucketKey};
use super::store::{BucketStore, MemoryStore};

/// How deep overflows with `reprocess: true` may be poured again (a guard against loops).
pub const MAX_REPROCESS_DEPTH: usize = 8;

/// How often (event time, ns) expired blackhole entries are dropped.
const BLACKHOLE_PRUNE_EVERY: i64 = 60 * 1_000_000_000;

/// What a bucket did that the caller may want to know.
#[derive(Debug, Clone, PartialEq)]
pub enum SignalKind {
    /// The bucket overflowed into an alert.
    Overflow(Box<RuntimeAlert>),
    /// The overflow was discarded by `overflow_filter`.
    Filtered,
    /// The overflow was discarded because the partition is blackholed.
    Blackholed,
    /// The overflow could not be turned into an alert (e.g. no valid source IP).
    Invalid(String),
    /// `cancel_on` matched: the bucket was destroyed.
    Cancelled,
    /// The bucket leaked empty and was destroyed.
    Underflow,
}

/// One signal, with the bucket it comes from. CrowdSec sends all of these on its overflow
/// channel; only [`SignalKind::Overflow`] carries an alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// Index of the scenario in the set.
    pub scenario: usize,
    /// The partition (`groupby` value; inline up to 24 bytes, as in [`BucketKey`]: every
    /// bucket that leaks out makes a signal).
    pub group: CompactString,
    /// The bucket's time when it happened (overflow time, deadline).
    pub at: Stamp,
    /// What happened.
    pub kind: SignalKind,
}

impl Signal {
    /// The alert, for overflows.
    pub fn alert(&self) -> Option<&RuntimeAlert> {
        match &self.kind {
            SignalKind::Overflow(a) => Some(a),
            _ => None,
        }
    }
}

/// An error evaluating a scenario's filter or groupby: CrowdSec stops pouring the event into
/// the remaining scenarios.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("scenario {scenario}: {message}")]
pub struct PourError {
    /// The scenario's name.
    pub scenario: String,
    /// What went wrong.
    pub message: String,
}

/// Result of processing one event.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Signals, in the order CrowdSec would emit them.
    pub signals: Vec<Signal>,
    /// Whether the event went into at least one bucket.
    pub poured: bool,
    /// Errors of filters and groupbys (each stopped the pouring of one event).
    pub errors: Vec<PourError>,
}

/// What a detector holds besides its buckets: its time and the blackholes of its scenarios
/// (partitions that overflowed recently and must stay quiet). Stored with the buckets, it lets
/// a restored detector go on exactly as the stored one would have.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DetectorState {
    /// The newest time buckets were moved to.
    pub time: Option<Stamp>,
    /// Blackholed partitions and when each blackhole ends (Unix ns), sorted by key.
    pub blackholes: Vec<(BucketKey, i64)>,
}

/// Pours events into buckets (Go `PourItemToHolders` and the bucket routines).
pub struct Detector<S: BucketStore = MemoryStore> {
    scenarios: Arc<ScenarioSet>,
    store: S,
    blackholes: foldhash::HashMap<BucketKey, i64>,
    last_prune: i64,
    time: Option<Stamp>,
}

impl Detector<MemoryStore> {
    /// A detector over `scenarios` with an in-memory store.
    pub fn new(scenarios: Arc<ScenarioSet>) -> Self {
        Self::with_store(scenarios, MemoryStore::new())
    }
}

impl<S: BucketStore> Detector<S> {
    /// A detector over `scenarios` keeping buckets in `store`.
    pub fn with_store(scenarios: Arc<ScenarioSet>, store: S) -> Self {
        Detector {
            scenarios,
            store,
            blackholes: foldhash::HashMap::default(),
            last_prune: i64::MIN,
            time: None,
        }
    }

    /// The scenarios.
    pub fn scenarios(&self) -> &Arc<ScenarioSet> {
        &self.scenarios
    }

    /// The bucket store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The bucket store, mutably (a persistent store flushes what changed).
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// The newest time buckets were moved to (by an event or [`Detector::advance`]).
    pub fn time(&self) -> Option<Stamp> {
        self.time
    }

    /// Number of blackholed partitions remembered.
    pub fn blackholed(&self) -> usize {
        self.blackholes.len()
    }

    /// Its state besides the buckets (see [`DetectorState`]).
    pub fn state(&self) -> DetectorState {
        let mut blackholes: Vec<(BucketKey, i64)> = self
            .blackholes
            .iter()
            .map(|(k, e)| (k.clone(), *e))
            .collect();
        blackholes.sort();
        DetectorState {
            time: self.time,
            blackholes,
        }
    }

    /// Takes back a stored [`DetectorState`] (with the buckets put back in its store).
    pub fn restore_state(&mut self, state: DetectorState) {
        self.time = state.time;
        self.blackholes = state.blackholes.into_iter().collect();
    }

    /// The time CrowdSec pours `evt` at: its `MarshaledTime`, else its `Time`.
    pub fn event_time(evt: &Event) -> Option<Stamp> {
        Self::event_stamp(evt).map(|(t, _)| t)
    }

    /// [`Self::event_time`], and the forms its buckets keep: when `MarshaledTime` is `Time`
    /// printed (nearly always), the time is read from `Time` rather than parsed, and the alert
    /// timestamp is known too.
    pub(super) fn event_stamp(evt: &Event) -> Option<(Stamp, EventForms)> {
        if !evt.marshaled_time.is_empty() {
            if let Some(t) = Stamp::printed_in(evt) {
                return Some((t, EventForms::printed(t)));
            }
            return Stamp::parse(&evt.marshaled_time).map(|t| (t, EventForms::new()));
        }
        evt.time
            .as_ref()
            .map(|t| (Stamp::from_time(t), EventForms::new()))
    }

    /// Moves time to `now`: counters whose duration ended overflow, buckets that leaked empty
    /// are destroyed, forgotten blackholes are dropped.
    pub fn advance(&mut self, now: Stamp) -> Vec<Signal> {
        if self.time.is_none_or(|t| t.nanos < now.nanos) {
            self.time = Some(now);
        }
        let mut out = Vec::new();
        for (key, b, deadline) in self.store.drain_expired(now.nanos) {
            self.expire(key, b, deadline, &mut out);
        }
        // Expired blackhole entries are harmless (they are checked against the overflow time);
        // dropping them once a minute of event time bounds memory without a scan per event.
        if now.nanos.saturating_sub(self.last_prune) >= BLACKHOLE_PRUNE_EVERY {
            self.blackholes.retain(|_, exp| *exp > now.nanos);
            self.last_prune = now.nanos;
        }
        out
    }

    fn expire(&mut self, key: BucketKey, b: Bucket, deadline: i64, out: &mut Vec<Signal>) {
        let scenarios = Arc::clone(&self.scenarios);
        let Some(sc) = scenarios.get(key.scenario as usize) else {
            return;
        };
        let offset = b.first_ts.map_or(0, |s| s.offset);
        let at = Stamp {
            nanos: deadline,
            offset,
        };
        if sc.timed_overflow {
            out.push(self.overflow(sc, key, b, at));
        } else {
            out.push(Signal {
                scenario: key.scenario as usize,
                group: key.group,
                at,
                kind: SignalKind::Underflow,
            });
        }
    }

    /// Advances time to the event's, pours it, and pours again the overflows that ask for it.
    pub fn process(&mut self, evt: &Event) -> Outcome {
        let mut outcome = Outcome::default();
        let Some((t, forms)) = Self::event_stamp(evt) else {
            return outcome;
        };
        outcome.signals = self.advance(t);
        let first = outcome.signals.len();
        self.pour_with(evt, t, forms, &mut outcome);
        self.reprocess(t, first, &mut outcome);
        outcome
    }

    /// Pours again, into every scenario, the overflows of `outcome.signals[first..]` that ask
    /// for it (`reprocess: true`), and theirs, up to a fixed depth.
    pub(super) fn reprocess(&mut self, t: Stamp, first: usize, outcome: &mut Outcome) {
        let mut depth = 0;
        let mut from = first;
        while depth < MAX_REPROCESS_DEPTH {
            // Each alert is lent to its overflow event for the pour and given back after
            // (pouring reads an event, never writes it): no copy of the alert and its events.
            let mut again: Vec<(usize, Event)> = Vec::new();
            for (i, s) in outcome.signals.iter_mut().enumerate().skip(from) {
                if matches!(&s.kind, SignalKind::Overflow(a) if a.reprocess)
                    && let SignalKind::Overflow(a) =
                        std::mem::replace(&mut s.kind, SignalKind::Cancelled)
                {
                    again.push((i, overflow_event_of(a, s.at)));
                }
            }
            if again.is_empty() {
                break;
            }
            from = outcome.signals.len();
            for (_, e) in &again {
                let at = Self::event_time(e).unwrap_or(t);
                self.pour(e, at, outcome);
            }
            for (i, e) in again {
                if let (Some(a), Some(s)) = (e.overflow, outcome.signals.get_mut(i)) {
                    s.kind = SignalKind::Overflow(a);
                }
            }
            depth += 1;
        }
    }

    /// Pours `evt` at time `t` into every scenario whose filter matches (no time advance).
    pub fn pour(&mut self, evt: &Event, t: Stamp, outcome: &mut Outcome) {
        self.pour_with(evt, t, EventForms::new(), outcome);
    }

    /// [`Self::pour`] with the event's forms (its alert timestamp, its compact form: worked
    /// out once for all the buckets that keep it).
    fn pour_with(&mut self, evt: &Event, t: Stamp, mut forms: EventForms, outcome: &mut Outcome) {
        let scenarios = Arc::clone(&self.scenarios);
        // A filter may call `evt.SetMeta(..)`: as in CrowdSec, later scenarios and the buckets
        // see the write, so the event is copied (only then) and the write applied to the copy.
        let mut cur = Cow::Borrowed(evt);
        for (idx, sc) in scenarios.iter().enumerate() {
            let env = [Value::Obj(&*cur as &dyn Object)];
            let verdict = sc.filter.eval_bool(&env);
            // Borrowed: no drop glue to call (twice a scenario a line).
            let [v] = env;
            v.discard();
            settle(&mut cur, evt);
            let evt: &Event = &cur;
            match verdict {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    outcome.errors.push(PourError {
                        scenario: sc.name().to_string(),
                        message: format!("failed parsing: {e}"),
                    });
                    return;
                }
            }
            let group = match &sc.groupby {
                None => CompactString::default(),
                Some(p) => match eval_on(p, evt) {
                    Ok(Value::Str(s)) => compact(s),
                    Ok(other) => {
                        outcome.errors.push(PourError {
                            scenario: sc.name().to_string(),
                            message: format!("groupby wrong type: {}", other.type_name()),
                        });
                        return;
                    }
                    Err(e) => {
                        outcome.errors.push(PourError {
                            scenario: sc.name().to_string(),
                            message: format!("failed groupby: {e}"),
                        });
                        return;
                    }
                },
            };
            // A replayed event whose date was never parsed has no place on the time line:
            // CrowdSec's time-machine pour refuses it, after the trigger processor has fired.
            if evt.expect_mode == ExpectMode::TimeMachine
                && evt.marshaled_time.is_empty()
                && sc.kind != BucketKind::Trigger
            {
                continue;
            }
            let key = BucketKey {
                scenario: u32::try_from(idx).unwrap_or(u32::MAX),
                group,
            };
            self.pour_one(
                sc,
                key,
                &mut Lazy::new(evt, &mut forms),
                t,
                &mut outcome.signals,
            );
            outcome.poured = true;
        }
    }

    /// Pours one event into the bucket `key` of `sc` (what the event is made of comes from
    /// `src`: the event itself, or what its parser prepared, [`super::prepared`]).
    pub(super) fn pour_one<V: PourSource>(
        &mut self,
        sc: &Scenario,
        key: BucketKey,
        src: &mut V,
        t: Stamp,
        out: &mut Vec<Signal>,
    ) {
        let mut b = match self.store.take(&key) {
            Some(b) => {
                let deadline = sc.deadline(&b);
                if b.first_ts.is_some() && t.nanos > deadline {
                    self.expire(key.clone(), b, deadline, out);
                    Bucket::new(sc)
                } else {
                    b
                }
            }
            None => Bucket::new(sc),
        };
        if sc.kind == BucketKind::Trigger {
            b.first_ts = Some(t);
            b.last_ts = Some(t);
            b.total_count = 1;
            b.queue.add(src.queued(sc.keep_events));
            out.push(self.overflow(sc, key, b, t));
            return;
        }
        if let Some(d) = &sc.distinct
            && let Some(element) = src.distinct(d)
            && !b.see(&element)
        {
            self.put_back(sc, key, b);
            return;
        }
        if let Some(c) = &sc.cancel_on
            && src.cancelled(c)
        {
            out.push(Signal {
                scenario: key.scenario as usize,
                group: key.group,
                at: t,
                kind: SignalKind::Cancelled,
            });
            return;
        }
        b.total_count += 1;
        if b.first_ts.is_none() {
            b.first_ts = Some(t);
        }
        b.last_ts = Some(t);
        let allowed = !sc.limited()
            || b.limiter
                .allow_as(sc.limiter, t.nanos, sc.rate, sc.config.capacity)
            || sc.kind == BucketKind::Conditional;
        b.queue.add(src.queued(sc.keep_events));
        let mut overflow_at = (!allowed).then_some(t);
        if let Some(c) = &sc.condition {
            if self.holds(c, src.event(), &b, &key, sc) {
                overflow_at = Some(t);
            }
        } else if sc.config.bayesian_threshold != 0.0
            && self.bayesian(sc, src.event(), &mut b, &key)
        {
            overflow_at = Some(t);
        }
        match overflow_at {
            Some(at) => out.push(self.overflow(sc, key, b, at)),
            None => self.put_back(sc, key, b),
        }
    }

    fn put_back(&mut self, sc: &Scenario, key: BucketKey, b: Bucket) {
        let deadline = sc.deadline(&b);
        self.store.put(key, b, deadline);
    }

    fn holds(
        &self,
        p: &crate::expr::Program,
        evt: &Event,
        b: &Bucket,
        key: &BucketKey,
        sc: &Scenario,
    ) -> bool {
        let leaky = LeakyView::new(sc, b, key);
        let vars = [
            Value::Obj(evt as &dyn Object),
            Value::Obj(&b.queue as &dyn Object),
            Value::Obj(&leaky as &dyn Object),
        ];
        matches!(p.eval_bool(&vars), Ok(true))
    }

    /// Go `BayesianProcessor.AfterBucketPour`: whether the posterior exceeds the threshold.
    fn bayesian(&self, sc: &Scenario, evt: &Event, b: &mut Bucket, key: &BucketKey) -> bool {
        let mut posterior = sc.config.bayesian_prior;
        let mut triggered = Vec::new();
        {
            let leaky = LeakyView::new(sc, b, key);
            let vars = [
                Value::Obj(evt as &dyn Object),
                Value::Obj(&b.queue as &dyn Object),
                Value::Obj(&leaky as &dyn Object),
            ];
            for (i, c) in sc.bayesian.iter().enumerate() {
                if c.guillotine && b.guillotines.get(i).copied().unwrap_or(false) {
                    posterior = update(posterior, c.prob_given_evil, c.prob_given_benign);
                    continue;
                }
                match c.program.eval_bool(&vars) {
                    Ok(true) => {
                        posterior = update(posterior, c.prob_given_evil, c.prob_given_benign);
                        triggered.push(i);
                    }
                    Ok(false) => {
                        posterior = update(
                            posterior,
                            1.0 - c.prob_given_evil,
                            1.0 - c.prob_given_benign,
                        );
                    }
                    Err(_) => {}
                }
            }
        }
        for i in triggered {
            if let Some(g) = b.guillotines.get_mut(i) {
                *g = true;
            }
        }
        posterior > sc.config.bayesian_threshold
    }

    /// Go `Leaky.overflow`: builds the alert, then runs `overflow_filter` and the blackhole.
    fn overflow(&mut self, sc: &Scenario, key: BucketKey, b: Bucket, at: Stamp) -> Signal {
        let mapkey = format!("{}/{}", sc.name(), key.group);
        let (alert, error) = new_alert(sc, &b, mapkey, at);
        let mut kind = match error {
            Some(e) => SignalKind::Invalid(e),
            None => SignalKind::Overflow(Box::new(alert)),
        };
        if let Some(f) = &sc.overflow_filter {
            let leaky = LeakyView::new(sc, &b, &key);
            let signal = match &kind {
                SignalKind::Overflow(a) => (**a).clone(),
                _ => RuntimeAlert::default(),
            };
            let vars = [
                Value::Nil,
                Value::Obj(&b.queue as &dyn Object),
                Value::Obj(&signal as &dyn Object),
                Value::Obj(&leaky as &dyn Object),
            ];
            if let Ok(false) = f.eval_bool(&vars) {
                kind = SignalKind::Filtered;
            }
        }
        if sc.blackhole != 0 && kind != SignalKind::Filtered {
            match self.blackholes.get(&key) {
                Some(exp) if *exp > at.nanos => kind = SignalKind::Blackholed,
                _ => {
                    self.blackholes
                        .insert(key.clone(), at.nanos.saturating_add(sc.blackhole));
                }
            }
        }
        Signal {
            scenario: key.scenario as usize,
            group: key.group,
            at,
            kind,
        }
    }
}

/// Go `updateProbability`, in float32 as CrowdSec computes it.
fn update(prior: f32, given_evil: f32, given_benign: f32) -> f32 {
    let numerator = given_evil * prior;
    let denominator = numerator + given_benign * (1.0 - prior);
    numerator / denominator
}

/// Applies the writes an expression asked for (`evt.SetMeta(..)`) to `cur`, copying the
/// poured event `orig` first if `cur` still borrows it (and clearing them there).
pub(super) fn settle<'e>(cur: &mut Cow<'e, Event>, orig: &'e Event) {
    if cur.writes.is_dirty() {
        cur.to_mut().apply_writes();
        orig.writes.take();
    }
}

/// `p` evaluated with `evt` as its environment, whose borrowed value needs no drop glue.
#[inline]
fn eval_on<'a>(p: &'a Program, evt: &'a Event) -> Result<Value<'a>, EvalError> {
    let env = [Value::Obj(evt as &dyn Object)];
    let r = p.eval(&env);
    let [v] = env;
    v.discard();
    r
}

/// A `groupby` value as a bucket key's group: inline up to 24 bytes (no allocation for an
/// address borrowed from the event), an owned text's buffer kept when longer.
pub(super) fn compact(s: Cow<'_, str>) -> CompactString {
    match s {
        Cow::Borrowed(b) => CompactString::from(b),
        Cow::Owned(o) => CompactString::from(o),
    }
}
