//! Against a real broker (`crate::testing::kafka_brokers`): deliveries, the serving thread's
//! rounds when idle, the wake-up on a send, and records left queued at drop.

use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{FutureRecord, Producer};

use super::FutureProducer;

fn config(brokers: &str) -> ClientConfig {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("linger.ms", "5");
    cfg
}

async fn topic(brokers: &str) -> String {
    let name = format!("server-common-producer-{}-{}", std::process::id(), nanos());
    let admin: AdminClient<DefaultClientContext> = config(brokers).create().unwrap();
    let res = admin
        .create_topics(
            &[NewTopic::new(&name, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
        )
        .await
        .unwrap();
    assert!(res.iter().all(|r| r.is_ok()), "creating {name}: {res:?}");
    name
}

/// The time since the epoch in ns, to keep topic names apart.
fn nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

async fn send_one(p: &FutureProducer, topic: &str, payload: &str) -> i64 {
    let f = p
        .send_result(FutureRecord::<str, str>::to(topic).payload(payload))
        .map_err(|(e, _)| e)
        .expect("queued");
    let d = tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .expect("delivered in time")
        .expect("a report")
        .expect("acknowledged");
    d.offset
}

/// Records are delivered with their offsets; an idle producer's thread sleeps (about one
/// round a second, where rdkafka's polling thread never stops); a send after a while idle is
/// delivered at once, not after the thread's idle sleep.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_come_back_and_the_idle_thread_sleeps() {
    let brokers = crate::testing::kafka_brokers();
    let topic = topic(&brokers).await;
    let p: FutureProducer = config(&brokers).create().unwrap();
    for i in 0..20 {
        assert_eq!(
            send_one(&p, &topic, &format!("r{i}")).await,
            i,
            "offsets in order"
        );
    }
    // Idle: nothing in flight once every report is served.
    let deadline = Instant::now() + Duration::from_secs(10);
    while p.in_flight_count() > 0 {
        assert!(Instant::now() < deadline, "reports still unserved");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let before = p.rounds();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let idle_rounds = p.rounds() - before;
    assert!(
        idle_rounds <= 4,
        "{idle_rounds} rounds in 2.5 s idle: the thread does not sleep"
    );
    // Woken by the send: delivered well before the idle sleep (1 s) would end. The send
    // comes just after the thread went to sleep (a round began and nothing is in flight).
    let r = p.rounds();
    while p.rounds() == r {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let t0 = Instant::now();
    assert_eq!(send_one(&p, &topic, "after idle").await, 20);
    let took = t0.elapsed();
    assert!(
        took < Duration::from_millis(600),
        "delivery after idle took {took:?}: the send did not wake the thread"
    );
}

/// Records still queued when the producer is dropped (no broker answers) are reported as
/// failed: no future is left waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_queued_at_drop_are_reported_failed() {
    // Nothing listens on port 1.
    let mut cfg = config("127.0.0.1:1");
    cfg.set("message.timeout.ms", "60000");
    let p: FutureProducer = cfg.create().unwrap();
    let futures: Vec<_> = (0..5)
        .map(|i| {
            p.send_result(FutureRecord::<str, str>::to("nowhere").payload(&format!("r{i}")))
                .map_err(|(e, _)| e)
                .expect("queued")
        })
        .collect();
    drop(p);
    for f in futures {
        let got = tokio::time::timeout(Duration::from_secs(10), f)
            .await
            .expect("reported, not left waiting");
        assert!(
            matches!(got, Ok(Err(_)) | Err(_)),
            "a record sent nowhere cannot be acknowledged: {got:?}"
        );
    }
}
