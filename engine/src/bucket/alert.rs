//! Building the alert of an overflowing bucket (Go `NewAlert` and its helpers).

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::event::{Event, EventType};
use crate::expr::Value;
use crate::expr::ops::format_duration;

use super::config::{SCOPE_IP, SCOPE_RANGE};
use super::overflow::{Alert, AlertEvent, MetaItem, RuntimeAlert, Source};
use super::queue::{Queued, SOURCE_ENRICHMENTS};
use super::scenario::Scenario;
use super::stamp::Stamp;
use super::state::Bucket;

/// Evaluates the scope expression: its string value, or `""`.
fn scope_value(sc: &Scenario, evt: &Queued) -> Result<Option<String>, String> {
    let Some(p) = &sc.scope_filter else {
        return Ok(None);
    };
    let v = p
        .eval(&[Value::Obj(evt.as_object())])
        .map_err(|e| format!("while running scope filter: {e}"))?;
    Ok(Some(v.as_str().map(str::to_string).unwrap_or_default()))
}

/// Go `SourceFromEvent`.
fn sources_of(sc: &Scenario, evt: &Queued) -> Result<BTreeMap<String, Source>, String> {
    let scope = sc.config.scope.kind();
    let mut out = BTreeMap::new();
    if evt.is_overflow() {
        let Some(ovf) = evt.overflow() else {
            return Ok(out);
        };
        for (k, v) in &ovf.sources {
            if v.scope == scope {
                out.insert(k.clone(), v.clone());
                continue;
            }
            if scope != SCOPE_RANGE || v.scope != SCOPE_IP {
                continue;
            }
            let mut src = Source {
                scope: scope.to_string(),
                value: v.range.clone(),
                ..v.clone()
            };
            src.ip = String::new();
            if let Some(val) = scope_value(sc, evt)? {
                src.value = val;
            }
            if !src.value.is_empty() {
                out.insert(src.value.clone(), src);
            }
        }
        return Ok(out);
    }
    match scope {
        SCOPE_IP | SCOPE_RANGE => {
            let Some(ip) = evt.meta("source_ip") else {
                return Err(format!(
                    "scope is {scope} but Meta[source_ip] doesn't exist"
                ));
            };
            if ip.parse::<IpAddr>().is_err() {
                return Err(format!("scope is {scope} but '{ip}' isn't a valid ip"));
            }
            let mut src = Source {
                ip: ip.to_string(),
                scope: scope.to_string(),
                ..Source::default()
            };
            if let Some(v) = evt
                .enriched("ASNumber")
                .or_else(|| evt.enriched("ASNNumber"))
            {
                src.as_number = v.to_string();
            }
            if let Some(v) = evt.enriched("IsoCode") {
                src.cn = v.to_string();
            }
            if let Some(v) = evt.enriched("ASNOrg") {
                src.as_name = v.to_string();
            }
            if let Some(v) = evt.enriched("Latitude") {
                src.latitude = v.parse::<f32>().unwrap_or(0.0);
            }
            if let Some(v) = evt.enriched("Longitude") {
                src.longitude = v.parse::<f32>().unwrap_or(0.0);
            }
            if let Some(v) = evt.meta("SourceRange").filter(|v| !v.is_empty()) {
                let net: ipnet::IpNet = v
                    .parse()
                    .map_err(|_| format!("declared range {v} of {} can't be parsed", src.ip))?;
                src.range = net.trunc().to_string();
            }
            src.value = if scope == SCOPE_IP {
                src.ip.clone()
            } else {
                match scope_value(sc, evt)? {
                    Some(v) => v,
                    None => src.range.clone(),
                }
            };
            out.insert(src.value.clone(), src);
        }
        _ => {
            let Some(value) = scope_value(sc, evt)? else {
                return Err("empty scope information".into());
            };
            out.insert(
                value.clone(),
                Source {
                    value,
                    scope: scope.to_string(),
                    ..Source::default()
                },
            );
        }
    }
    Ok(out)
}

/// Whether [`sources_of`] gives `b` what it gave `a`: an `Ip` scope (no expression to
/// evaluate), neither an overflow, and the same text in every field it reads.
fn same_ip_source(sc: &Scenario, a: &Queued, b: &Queued) -> bool {
    sc.config.scope.kind() == SCOPE_IP
        && !a.is_overflow()
        && !b.is_overflow()
        && ["source_ip", "SourceRange"]
            .iter()
            .all(|k| a.meta(k) == b.meta(k))
        && SOURCE_ENRICHMENTS
            .iter()
            .all(|k| a.enriched(k) == b.enriched(k))
}

/// Go `EventsFromQueue`: each event's sorted meta and timestamp.
fn events_of(b: &Bucket) -> Vec<AlertEvent> {
    b.queue
        .events
        .iter()
        // Go skips events whose Meta map is nil: overflow events have none.
        .filter(|e| !(e.is_overflow() && e.meta_is_empty()))
        .map(|e| AlertEvent {
            timestamp: e.timestamp(),
            meta: e
                .meta_sorted()
                .into_iter()
                .map(|(k, v)| MetaItem {
                    key: k.to_string(),
                    value: v.to_string(),
                })
                .collect(),
        })
        .collect()
}

/// Go `NewAlert`: the runtime alert of `b` overflowing at `ovflw`. On error (an event without a
/// usable source), the alert carries only its map key, as in CrowdSec, and the error is returned
/// alongside.
pub fn new_alert(
    sc: &Scenario,
    b: &Bucket,
    mapkey: String,
    ovflw: Stamp,
) -> (RuntimeAlert, Option<String>) {
    let mut ra = RuntimeAlert {
        mapkey,
        labels: sc.labels(),
        ..RuntimeAlert::default()
    };
    let first = b.first_ts.unwrap_or_default();
    let last = b.last_ts.unwrap_or_default();
    let mut sources = BTreeMap::new();
    let mut source_type = String::new();
    let mut last_source: Option<&Queued> = None;
    for e in &b.queue.events {
        // Most events of a bucket come from one address: an event whose source fields are the
        // last one's gives the same source again, which the map already holds.
        if last_source.is_some_and(|l| same_ip_source(sc, l, e)) {
            continue;
        }
        last_source = Some(e);
        let srcs = match sources_of(sc, e) {
            Ok(s) => s,
            Err(err) => {
                return (
                    ra,
                    Some(format!(
                        "unable to collect sources from bucket: while extracting scope from bucket {}: {err}",
                        sc.name()
                    )),
                );
            }
        };
        for (k, s) in srcs {
            if source_type.is_empty() {
                source_type = s.scope.clone();
            }
            if s.scope != source_type {
                return (
                    ra,
                    Some(format!(
                        "unable to collect sources from bucket: event has multiple source types : {} != {source_type}",
                        s.scope
                    )),
                );
            }
            sources.insert(k, s);
        }
    }
    let source_str = match sources.len() {
        0 => "UNKNOWN".to_string(),
        1 => sources.keys().next().cloned().unwrap_or_default(),
        n => format!("{n} sources"),
    };
    let count = i32::try_from(b.total_count).unwrap_or(i32::MAX);
    let base = Alert {
        scenario: sc.name().to_string(),
        scenario_hash: sc.hash.clone(),
        scenario_version: sc.version.clone(),
        message: format!(
            "{source_type} {source_str} performed '{}' ({} events over {}) at {}",
            sc.name(),
            b.total_count,
            format_duration(ovflw.nanos.saturating_sub(first.nanos)),
            last.go_string()
        ),
        events_count: count,
        start_at: first.marshal(),
        stop_at: ovflw.marshal(),
        capacity: i32::try_from(sc.config.capacity).unwrap_or(i32::MAX),
        leakspeed: format_duration(sc.leakspeed),
        simulated: sc.simulated,
        events: events_of(b),
        remediation: false,
        source: Source::default(),
        // Go `alertcontext.EventToContext` over the whole queue.
        meta: sc.context.as_ref().map_or_else(Vec::new, |c| {
            c.meta(b.queue.events.iter().map(Queued::as_object))
        }),
        kind: "crowdsec".to_string(),
        decisions: Vec::new(),
    };
    // One alert a source, the last one moved rather than copied (nearly always the only one).
    let mut base = Some(base);
    let mut left = sources.len();
    for src in sources.values() {
        left -= 1;
        let mut a = match (left, base.take()) {
            (0, Some(b)) => b,
            (_, Some(b)) => {
                let a = b.clone();
                base = Some(b);
                a
            }
            (_, None) => break,
        };
        a.source = src.clone();
        a.remediation = sc.remediation;
        ra.api_alerts.push(a);
    }
    ra.sources = sources;
    ra.reprocess = sc.config.reprocess;
    (ra, None)
}

/// The event CrowdSec makes of an overflow (for `reprocess`): type overflow, the alert, and
/// the overflow time as its time.
pub fn overflow_event(alert: RuntimeAlert, ovflw: Stamp) -> Event {
    overflow_event_of(Box::new(alert), ovflw)
}

/// [`overflow_event`] of an alert already boxed.
pub fn overflow_event_of(alert: Box<RuntimeAlert>, ovflw: Stamp) -> Event {
    Event {
        kind: EventType::Overflow,
        marshaled_time: ovflw.marshal(),
        time: Some(ovflw.to_time()),
        overflow: Some(alert),
        ..Event::default()
    }
}
