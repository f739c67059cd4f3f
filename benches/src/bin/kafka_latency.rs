//! End-to-end latency of the distributed mode, from the produce of the line that makes a
//! bucket overflow to the decision record on `hivewall.decisions`, with a processor running
//! on the same broker (`benches/kafka/run.sh` starts it).
//!
//! For SECONDS, every 10 ms: background lines (failed logins of addresses seen once, which
//! are parsed and poured but never overflow) at RATE lines/s, and a new attacker every
//! 100 ms that fails 7 logins 10 ms apart (`hivewall/ssh-bf`: capacity 6). The latency of an
//! attacker is the time from the produce call of its 7th line to the arrival of its first
//! decision record (the invalid-user logins may also fire other scenarios later). Prints
//! `attackers decided p50_ms p99_ms max_ms`.
//!
//!   kafka_latency BROKERS LINES_TOPIC DECISIONS_TOPIC RATE SECONDS

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

type Sent = Arc<Mutex<HashMap<String, Instant>>>;

fn line(src: &str, ip: &str, n: u64) -> Vec<u8> {
    let now = chrono::Utc::now();
    let raw = format!(
        "{} {src} sshd[{n}]: Failed password for invalid user u{} from {ip} port {} ssh2",
        now.format("%b %e %H:%M:%S"),
        n % 97,
        40000 + n % 20000
    );
    wire::bus::encode_line(&wire::RawLine {
        raw,
        src: format!("/var/log/{src}/auth.log"),
        module: "file".into(),
        labels: [("type".to_string(), "syslog".to_string())].into(),
        time: None,
    })
}

/// An address outside the ranges our whitelists skip (CGNAT space, 100.64.0.0/10).
fn ip(prefix: u8, i: u64) -> String {
    format!("100.{}.{}.{}", 64 + prefix, (i >> 8) & 255, i & 255)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, brokers, lines, decisions, rate, secs] = args.as_slice() else {
        return Err("usage: kafka_latency BROKERS LINES_TOPIC DECISIONS_TOPIC RATE SECONDS".into());
    };
    let rate: u64 = rate.parse()?;
    let secs: u64 = secs.parse()?;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "5")
        .create()?;
    // The decisions reader: every partition from its end, before anything is produced.
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "kafka-latency")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "5")
        .create()?;
    let meta = consumer.fetch_metadata(Some(decisions), Duration::from_secs(10))?;
    let mut tpl = TopicPartitionList::new();
    for t in meta.topics() {
        for p in t.partitions() {
            let (_, high) =
                consumer.fetch_watermarks(decisions, p.id(), Duration::from_secs(10))?;
            tpl.add_partition_offset(decisions, p.id(), Offset::Offset(high))?;
        }
    }
    consumer.assign(&tpl)?;
    let sent: Sent = Arc::default();
    // (latency ms, when the overflowing line was sent, s after the start)
    let seen = Arc::new(Mutex::new(Vec::<(f64, f64)>::new()));
    let start = Instant::now();
    let reader = {
        let (sent, seen) = (Arc::clone(&sent), Arc::clone(&seen));
        tokio::spawn(async move {
            loop {
                let Ok(Ok(m)) =
                    tokio::time::timeout(Duration::from_secs(15), consumer.recv()).await
                else {
                    return;
                };
                let at = Instant::now();
                let Some(rec) = m
                    .payload()
                    .and_then(|p| serde_json::from_slice::<wire::bus::DecisionRecord>(p).ok())
                else {
                    continue;
                };
                let t0 = sent
                    .lock()
                    .ok()
                    .and_then(|mut s| s.remove(&rec.decision.value));
                if let (Some(t0), Ok(mut seen)) = (t0, seen.lock()) {
                    seen.push((
                        at.duration_since(t0).as_secs_f64() * 1000.0,
                        t0.duration_since(start).as_secs_f64(),
                    ));
                }
            }
        })
    };
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let (mut n, mut bg, mut attackers) = (0u64, 0u64, 0u64);
    let mut active: Vec<(u64, u32)> = Vec::new();
    while start.elapsed() < Duration::from_secs(secs) {
        tick.tick().await;
        let due = rate * start.elapsed().as_millis() as u64 / 1000;
        while bg < due {
            let host = format!("bg{}", bg % 16);
            let body = line(&host, &ip(1, bg), n);
            let key = format!("/var/log/{host}/auth.log");
            let _ = producer.send_result(FutureRecord::to(lines).key(&key).payload(&body));
            bg += 1;
            n += 1;
        }
        if start.elapsed().as_millis() as u64 / 100 >= attackers {
            active.push((attackers, 0));
            attackers += 1;
        }
        for (a, k) in &mut active {
            let host = format!("web{}", *a % 8);
            let addr = ip(2, *a);
            let body = line(&host, &addr, n);
            let key = format!("/var/log/{host}/auth.log");
            if producer
                .send_result(FutureRecord::to(lines).key(&key).payload(&body))
                .is_ok()
                && *k == 6
                && let Ok(mut s) = sent.lock()
            {
                s.insert(addr, Instant::now());
            }
            *k += 1;
            n += 1;
        }
        active.retain(|(_, k)| *k < 7);
    }
    let _ = reader.await;
    let timed = seen.lock().map(|s| s.clone()).unwrap_or_default();
    // Where the slow ones are: the first seconds include the services' start-up on a fresh
    // broker (group joins, the transaction log's creation at the first claim).
    let mut slow = timed.clone();
    slow.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (ms, at) in slow.iter().take(5) {
        eprintln!("kafka_latency: {ms:.1} ms for an attacker sent at {at:.1} s");
    }
    let mut lat: Vec<f64> = timed.iter().map(|(ms, _)| *ms).collect();
    lat.sort_by(f64::total_cmp);
    let mut later: Vec<f64> = timed
        .iter()
        .filter(|(_, at)| *at >= 5.0)
        .map(|(ms, _)| *ms)
        .collect();
    later.sort_by(f64::total_cmp);
    if let Some(p99) = later.get((later.len() as f64 * 0.99) as usize) {
        eprintln!(
            "kafka_latency: attackers sent after the first 5 s: {} decided, p50 {:.1} ms, p99 {p99:.1} ms",
            later.len(),
            later[later.len() / 2]
        );
    }
    let pct = |q: f64| lat.get(((lat.len() as f64 * q) as usize).min(lat.len().saturating_sub(1)));
    println!(
        "{attackers} {} {:.1} {:.1} {:.1}",
        lat.len(),
        pct(0.5).copied().unwrap_or(f64::NAN),
        pct(0.99).copied().unwrap_or(f64::NAN),
        lat.last().copied().unwrap_or(f64::NAN)
    );
    Ok(())
}
