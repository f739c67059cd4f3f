//! Alerts and their decisions onto the bus.

use engine::pipeline::AlertRecord;
use rdkafka::producer::FutureRecord;
use server_common::kafka::FutureProducer;
use sha2::{Digest, Sha256};

use super::detect::DetectStats;
use super::{BusConfig, BusError, kafka};

/// A decision's stable uuid: the same alert (scenario, source, first and last event) gives
/// the same uuid, so an alert emitted again after a crash rewrites its record.
fn decision_uuid(a: &wire::Alert, d: &wire::Decision, i: usize) -> String {
    let mut h = Sha256::new();
    for part in [
        a.scenario.as_str(),
        a.source.scope.as_str(),
        a.source.value.as_str(),
        a.start_at.as_str(),
        a.stop_at.as_str(),
        d.kind.as_str(),
        &i.to_string(),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let b = h.finalize();
    format!(
        "{}-{}-{}-{}-{}",
        hex(&b[0..4]),
        hex(&b[4..6]),
        hex(&b[6..8]),
        hex(&b[8..10]),
        hex(&b[10..16])
    )
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Queues the alerts and their decisions.
pub(super) fn emit(
    producer: &FutureProducer,
    cfg: &BusConfig,
    alerts: Vec<AlertRecord>,
    pending: &mut Vec<server_common::kafka::DeliveryFuture>,
    stats: &mut DetectStats,
) -> Result<(), BusError> {
    let now = chrono::Utc::now();
    for a in alerts.into_iter().filter(|a| !a.whitelisted) {
        let mut alert = a.alert;
        alert.decisions = a.decisions;
        let body = serde_json::to_vec(&alert).unwrap_or_default();
        let key = format!("{}:{}", alert.scenario, alert.source.value);
        let rec = FutureRecord::to(&cfg.alerts_topic).key(&key).payload(&body);
        pending.push(
            producer
                .send_result(rec)
                .map_err(|(e, _)| kafka("queueing an alert")(e))?,
        );
        stats.alerts += 1;
        if let Some(out) = &cfg.signals
            && let Some(signal) = wire::signal::Signal::from_alert(&alert, &out.reporter)
        {
            let body = signal.encode();
            let rec = FutureRecord::to(&out.topic)
                .key(&signal.value)
                .payload(&body);
            pending.push(
                producer
                    .send_result(rec)
                    .map_err(|(e, _)| kafka("queueing a signal")(e))?,
            );
            stats.signals += 1;
        }
        for (i, d) in alert.decisions.iter().enumerate() {
            let ns = engine::profile::parse_duration_with_days(&d.duration).unwrap_or(0);
            let until = now + chrono::Duration::nanoseconds(ns);
            let r = wire::bus::DecisionRecord {
                v: wire::bus::DECISION_VERSION,
                uuid: decision_uuid(&alert, d, i),
                decision: d.clone(),
                until: until.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                created_at: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                alert_uuid: None,
            };
            let body = serde_json::to_vec(&r).unwrap_or_default();
            let key = wire::bus::decision_key(&d.scope, &d.value);
            let rec = FutureRecord::to(&cfg.decisions_topic)
                .key(&key)
                .payload(&body);
            pending.push(
                producer
                    .send_result(rec)
                    .map_err(|(e, _)| kafka("queueing a decision")(e))?,
            );
            stats.decisions += 1;
        }
    }
    Ok(())
}
