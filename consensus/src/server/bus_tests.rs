//! The bus side on a real broker: signals from `hivewall.signals` count as the HTTP ones do,
//! the feed reaches the compacted feed topic in the decisions topic's format, and the signals
//! read are committed once a snapshot holds them.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::*;

const SEEDS: [&str; 3] = ["seedaaaa", "seedbbbb", "seedcccc"];

async fn topic(brokers: &str, prefix: &str, partitions: i32, compact: bool) -> String {
    let name = format!(
        "{prefix}-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    );
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .unwrap();
    let mut t = NewTopic::new(&name, partitions, TopicReplication::Fixed(1));
    if compact {
        t = t.set("cleanup.policy", "compact");
    }
    let res = admin
        .create_topics(
            &[t],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
        )
        .await
        .unwrap();
    assert!(res.iter().all(|r| r.is_ok()), "creating {name}: {res:?}");
    name
}

fn signal(reporter: &str, ip: &str) -> Vec<u8> {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    wire::signal::Signal {
        v: wire::signal::SIGNAL_VERSION,
        reporter: reporter.into(),
        scenario: "crowdsecurity/ssh-bf".into(),
        scope: "Ip".into(),
        value: ip.into(),
        first_seen: now.clone(),
        last_seen: now,
        events: 6,
    }
    .encode()
}

/// Every record of `topic` (one partition) so far: key → value (`None`: a tombstone).
fn read_all(brokers: &str, topic: &str) -> Vec<(String, Option<Vec<u8>>)> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "feed-reader")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    c.assign(&tpl).unwrap();
    let (_, high) = c
        .fetch_watermarks(topic, 0, Duration::from_secs(10))
        .unwrap();
    let mut out = Vec::new();
    while (out.len() as i64) < high {
        match c.poll(Duration::from_secs(5)) {
            Some(Ok(m)) => out.push((
                String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned(),
                m.payload().map(<[u8]>::to_vec),
            )),
            Some(Err(e)) => panic!("reading {topic}: {e}"),
            None => panic!("{topic}: {} of {high} records read", out.len()),
        }
    }
    out
}

/// Three seeds report an address through the signals topic: it is listed and written to the
/// feed topic as a `CAPI` decision record; an address one new reporter pushes, however often,
/// is not; and once the state is written, the group's offsets cover every signal read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_from_the_topic_list_and_the_feed_reaches_its_topic() {
    let brokers = server_common::testing::kafka_brokers();
    let signals = topic(&brokers, "signals", 2, false).await;
    let feed = topic(&brokers, "feed", 1, true).await;
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut cfg = ServerConfig::new(listener.local_addr().unwrap(), dir.path().into());
    cfg.consensus.seeds = super::tests::seeds(&SEEDS);
    let group = format!("consensus-{signals}");
    cfg.bus = Some(BusConfig {
        signals_topic: signals.clone(),
        feed_topic: feed.clone(),
        group: group.clone(),
        publish_every: Duration::from_millis(200),
        ..BusConfig::new(&brokers)
    });
    let cancel = CancellationToken::new();
    let task = tokio::spawn(serve(listener, cfg, cancel.clone()));

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .create()
        .unwrap();
    let mut sent = 0;
    let mut send = |reporter: &'static str, ip: &'static str| {
        sent += 1;
        let body = signal(reporter, ip);
        let p = producer.clone();
        let topic = signals.clone();
        async move {
            p.send(
                FutureRecord::to(&topic).key(ip).payload(&body),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
        }
    };
    for _ in 0..5 {
        send("newcomer", "198.51.100.8").await;
    }
    for s in SEEDS {
        send(s, "198.51.100.7").await;
    }
    let sent = sent;

    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let records = loop {
        let records = read_all(&brokers, &feed);
        if !records.is_empty() {
            break records;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nothing on the feed topic in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(records.len(), 1, "one listing: {records:?}");
    let (key, value) = &records[0];
    assert_eq!(key, "ip:198.51.100.7");
    let rec: wire::bus::DecisionRecord = serde_json::from_slice(value.as_deref().unwrap()).unwrap();
    assert_eq!(rec.decision.origin, "CAPI");
    assert_eq!(rec.decision.value, "198.51.100.7");
    assert_eq!(rec.decision.kind, "ban");
    assert!(
        rec.decision.scenario.ends_with("crowdsecurity/ssh-bf"),
        "{rec:?}"
    );
    let until = chrono::DateTime::parse_from_rfc3339(&rec.until).unwrap();
    assert!(
        until > chrono::Utc::now() + chrono::Duration::hours(1),
        "{rec:?}"
    );

    cancel.cancel();
    task.await.unwrap().unwrap();
    // The state written at shutdown holds all `sent` signals: their offsets are committed.
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", &group)
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..2 {
        tpl.add_partition(&signals, p);
    }
    let committed = c.committed_offsets(tpl, Duration::from_secs(10)).unwrap();
    let total: i64 = committed
        .elements()
        .iter()
        .map(|e| match e.offset() {
            Offset::Offset(o) => o,
            _ => 0,
        })
        .sum();
    assert_eq!(total, sent as i64, "{committed:?}");
}
