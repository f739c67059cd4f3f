//! Against a real Apache Kafka broker (KRaft, one node, on 127.0.0.1), started by
//! `docker/kafka/kafka.sh` when `HIVEWALL_KAFKA_BROKERS` does not name one. These tests fail,
//! never skip, when no broker can be had. Replicas are real: a RocksDB store in a tempdir and
//! the API served by [`crate::run`] on an ephemeral port, reached over HTTP.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::record::decision_id;
use super::{BusConfig, Replica};
use crate::admin::ADMIN_KEY_HEADER;
use crate::{ApiConfig, ApiMode, Store, godur};

fn brokers() -> String {
    server_common::testing::kafka_brokers()
}

/// A fresh compacted topic with `partitions` partitions.
async fn topic(brokers: &str, prefix: &str, partitions: i32) -> String {
    let name = format!(
        "{prefix}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .unwrap();
    let res = admin
        .create_topics(
            &[NewTopic::new(&name, partitions, TopicReplication::Fixed(1))
                .set("cleanup.policy", "compact")],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
        )
        .await
        .unwrap();
    assert!(res.iter().all(|r| r.is_ok()), "creating {name}: {res:?}");
    name
}

/// The two topics of one test, and a producer writing as the processor would.
struct Topics {
    cfg: BusConfig,
    producer: FutureProducer,
}

impl Topics {
    async fn new(decision_partitions: i32) -> Topics {
        let brokers = brokers();
        let mut cfg = BusConfig::new(&brokers);
        cfg.decisions_topic = topic(&brokers, "decisions-test", decision_partitions).await;
        cfg.bouncers_topic = topic(&brokers, "bouncers-test", 1).await;
        let producer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("partitioner", "murmur2_random")
            .set("linger.ms", "5")
            .create()
            .unwrap();
        Topics { cfg, producer }
    }

    /// Produces a decision on `ip` (uuid `uuid`) ending `until_ms`; returns its key.
    async fn decide(&self, ip: &str, uuid: &str, until_ms: i64) -> String {
        let scope = if ip.contains('/') { "Range" } else { "Ip" };
        let rec = wire::bus::DecisionRecord {
            v: 1,
            uuid: uuid.to_string(),
            decision: wire::Decision {
                duration: "4h".into(),
                origin: "crowdsec".into(),
                scenario: "crowdsecurity/ssh-bf".into(),
                scope: scope.into(),
                kind: "ban".into(),
                value: ip.into(),
                simulated: false,
            },
            until: godur::rfc3339_ms(until_ms),
            created_at: godur::rfc3339_ms(godur::now_ms()),
            alert_uuid: None,
        };
        let key = wire::bus::decision_key(scope, ip);
        self.send(&key, Some(&serde_json::to_vec(&rec).unwrap()))
            .await;
        key
    }

    async fn send(&self, key: &str, value: Option<&[u8]>) {
        let mut r: FutureRecord<'_, str, [u8]> =
            FutureRecord::to(&self.cfg.decisions_topic).key(key);
        if let Some(v) = value {
            r = r.payload(v);
        }
        self.producer
            .send(r, Duration::from_secs(10))
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }

    async fn tombstone(&self, ip: &str) {
        self.send(&wire::bus::decision_key("Ip", ip), None).await;
    }
}

/// A replica served by [`crate::run`] on 127.0.0.1.
struct Node {
    _dir: tempfile::TempDir,
    replica: Replica,
    addr: SocketAddr,
    admin_key: String,
    token: CancellationToken,
    server: tokio::task::JoinHandle<Result<(), crate::ApiError>>,
}

impl Node {
    async fn start(cfg: &BusConfig, name: &str) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("api")).unwrap();
        let admin_key = store.admin_key(&dir.path().join("admin.key")).unwrap();
        let token = CancellationToken::new();
        let mut cfg = cfg.clone();
        cfg.client_id = format!("hivewall-api-{name}");
        let replica = Replica::start(cfg, store.clone(), token.child_token())
            .await
            .unwrap()
            .unwrap();
        assert!(
            replica.wait_ready(Duration::from_secs(30)).await,
            "{name} loads"
        );
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let api = ApiConfig {
            listen: addr,
            mode: ApiMode::Replica(replica.clone()),
            shutdown_grace: Duration::from_secs(1),
            ..ApiConfig::default()
        };
        let server = tokio::spawn(crate::run(api, store, None, None, token.child_token()));
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Node {
            _dir: dir,
            replica,
            addr,
            admin_key,
            token,
            server,
        }
    }

    async fn stop(self) {
        self.token.cancel();
        self.server.await.unwrap().unwrap();
        assert!(self.replica.wait_stopped(Duration::from_secs(5)).await);
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("http://{}{path}", self.addr);
        let method = method.to_string();
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        tokio::task::spawn_blocking(move || {
            let mut req = ureq::request(&method, &url).timeout(Duration::from_secs(20));
            for (k, v) in &headers {
                req = req.set(k, v);
            }
            let resp = match body {
                Some(b) => req.send_json(b),
                None => req.call(),
            };
            let resp = match resp {
                Ok(r) | Err(ureq::Error::Status(_, r)) => r,
                Err(e) => panic!("{method} {url}: {e}"),
            };
            let status = resp.status();
            let text = resp.into_string().unwrap();
            (
                status,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            )
        })
        .await
        .unwrap()
    }

    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let path = format!("{}{path}", crate::admin::ADMIN_PREFIX);
        let key = self.admin_key.clone();
        self.call(method, &path, &[(ADMIN_KEY_HEADER, &key)], body)
            .await
    }

    /// `GET /v1/decisions/stream` as bouncer `key`.
    async fn pull(&self, key: &str, startup: bool) -> (u16, Value) {
        let path = format!("/v1/decisions/stream?startup={startup}");
        self.call("GET", &path, &[("X-Api-Key", key)], None).await
    }
}

fn values(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| d["value"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Records written before the replica starts — decisions, a tombstone, an expired decision,
/// one of an unknown version and one that is not JSON — are read from offset 0: `?ip=`
/// answers what is in force with the id derived from the record, and a startup stream holds
/// exactly those decisions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn materializes_from_offset_zero() {
    let t = Topics::new(3).await;
    let later = godur::now_ms() + 3_600_000;
    let k1 = t.decide("192.0.2.1", "u-1", later).await;
    t.decide("10.0.0.0/8", "u-2", later).await;
    t.decide("192.0.2.3", "u-3", later).await;
    t.tombstone("192.0.2.3").await;
    t.decide("192.0.2.4", "u-4", godur::now_ms() - 1000).await;
    let v9 = br#"{"v":9,"uuid":"u-5","future":true}"#;
    t.send(&wire::bus::decision_key("Ip", "192.0.2.5"), Some(v9))
        .await;
    t.send("ip:192.0.2.6", Some(b"not json")).await;

    let node = Node::start(&t.cfg, "a").await;
    let (s, b) = node
        .admin(
            "POST",
            "/bouncers",
            Some(serde_json::json!({"name": "fw", "key": "fw-key-123456"})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let bouncer = [("X-Api-Key", "fw-key-123456")];
    let (s, b) = node
        .call("GET", "/v1/decisions?ip=192.0.2.1", &bouncer, None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(values(&b), ["192.0.2.1"]);
    assert_eq!(b[0]["id"], decision_id(&k1, "u-1"));
    let (_, b) = node
        .call("GET", "/v1/decisions?ip=10.20.30.40", &bouncer, None)
        .await;
    assert_eq!(values(&b), ["10.0.0.0/8"]);
    for gone in ["192.0.2.3", "192.0.2.4", "192.0.2.5", "192.0.2.6"] {
        let (s, b) = node
            .call("GET", &format!("/v1/decisions?ip={gone}"), &bouncer, None)
            .await;
        assert_eq!((s, &b), (200, &Value::Null), "{gone}");
    }
    let (s, b) = node.pull("fw-key-123456", true).await;
    assert_eq!(s, 200);
    assert_eq!(values(&b["new"]), ["10.0.0.0/8", "192.0.2.1"]);
    assert_eq!(values(&b["deleted"]), Vec::<String>::new());
    // The operator's listing (alerts with active decisions) shows them too.
    let (s, b) = node
        .admin("GET", "/alerts?has_active_decision=true", None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(b.as_array().map(Vec::len), Some(2), "{b}");
    node.stop().await;
}

/// What a bouncer holds (value → decision id), applying each pull as a bouncer would, and
/// asserting that nothing is added twice and nothing it lacks is deleted.
#[derive(Default)]
struct Bouncer {
    held: BTreeMap<String, i64>,
    new: usize,
    deleted: usize,
}

impl Bouncer {
    fn apply(&mut self, body: &Value, from: &str) {
        for d in body["deleted"].as_array().into_iter().flatten() {
            let v = d["value"].as_str().unwrap();
            let had = self.held.remove(v);
            assert_eq!(
                had,
                d["id"].as_i64(),
                "{from}: deleted {v} it does not hold"
            );
            self.deleted += 1;
        }
        for d in body["new"].as_array().into_iter().flatten() {
            let v = d["value"].as_str().unwrap().to_string();
            let id = d["id"].as_i64().unwrap();
            assert!(
                self.held.insert(v.clone(), id).is_none(),
                "{from}: {v} sent twice"
            );
            self.new += 1;
        }
    }
}

type Want = BTreeMap<String, i64>;

/// Pulls until the bouncer holds `want` (the replicas may still be reading), alternating
/// between `nodes`; at most 5 s.
async fn settle(b: &mut Bouncer, nodes: &[&Node], key: &str, want: &Want, turn: &mut usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let node = nodes[*turn % nodes.len()];
        *turn += 1;
        let (s, body) = node.pull(key, false).await;
        assert_eq!(s, 200, "{body}");
        b.apply(&body, &node.addr.to_string());
        if b.held == *want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "bouncer holds {:?}, want {want:?}",
            b.held
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One bouncer, two replicas. Decisions are produced (some by the processor, some added and
/// deleted by an operator through either replica) between pulls that alternate between the
/// replicas: every decision reaches the bouncer once, every deletion and expiry once. Then
/// one replica stops and the bouncer carries on with the other, nothing missed or doubled;
/// and a replica started late, rebuilt from offset 0, answers the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alternating_replicas_deliver_each_change_once() {
    let t = Topics::new(4).await;
    let a = Node::start(&t.cfg, "a").await;
    let b = Node::start(&t.cfg, "b").await;
    // Registered on one replica, used on the other.
    let (s, body) = a
        .admin("POST", "/bouncers", Some(serde_json::json!({"name": "fw"})))
        .await;
    assert_eq!(s, 201, "{body}");
    let key = body["key"].as_str().unwrap().to_string();
    let mut bouncer = Bouncer::default();
    let (s, body) = b.pull(&key, true).await;
    assert_eq!(s, 200, "{body}");
    bouncer.apply(&body, "b");

    let later = godur::now_ms() + 3_600_000;
    let mut want = Want::new();
    let mut turn = 0;
    let nodes = [&a, &b];
    for round in 0..6 {
        for i in 0..5 {
            let ip = format!("198.51.100.{}", round * 10 + i);
            let uuid = format!("r{round}-{i}");
            let k = t.decide(&ip, &uuid, later).await;
            want.insert(ip, decision_id(&k, &uuid));
        }
        if round > 0 {
            // The processor lifts one decision of the previous round...
            let ip = format!("198.51.100.{}", (round - 1) * 10);
            t.tombstone(&ip).await;
            want.remove(&ip);
            // ...and replaces another (a new uuid on the same key): deleted then new.
            let ip = format!("198.51.100.{}", (round - 1) * 10 + 1);
            let uuid = format!("again-{round}");
            let k = t.decide(&ip, &uuid, later).await;
            want.insert(ip, decision_id(&k, &uuid));
            // ...and decides a shorter one on a third: the longer one stays, nothing is sent.
            let ip = format!("198.51.100.{}", (round - 1) * 10 + 2);
            t.decide(&ip, &format!("shorter-{round}"), later - 600_000)
                .await;
        }
        // An operator adds through one replica and deletes through the other.
        let ip = format!("203.0.113.{round}");
        let (s, r) = nodes[round % 2]
            .admin(
                "POST",
                "/decisions",
                Some(serde_json::json!({"value": ip, "duration": "1h"})),
            )
            .await;
        assert_eq!(s, 201, "{r}");
        want.insert(ip, r["alert_id"].as_i64().unwrap());
        if round > 1 {
            let ip = format!("203.0.113.{}", round - 2);
            let (s, r) = nodes[(round + 1) % 2]
                .admin("DELETE", &format!("/decisions?ip={ip}"), None)
                .await;
            assert_eq!((s, &r["deleted"]), (200, &Value::from(1)), "{r}");
            want.remove(&ip);
        }
        // Pull right away from the next replica (it may not have read everything yet), then
        // until the bouncer is up to date.
        let node = nodes[turn % 2];
        turn += 1;
        let (s, body) = node.pull(&key, false).await;
        assert_eq!(s, 200, "{body}");
        bouncer.apply(&body, "round");
        settle(&mut bouncer, &nodes, &key, &want, &mut turn).await;
    }
    // A decision that ends between pulls is deleted once.
    let k = t
        .decide("192.0.2.200", "short", godur::now_ms() + 1500)
        .await;
    want.insert("192.0.2.200".into(), decision_id(&k, "short"));
    settle(&mut bouncer, &nodes, &key, &want, &mut turn).await;
    tokio::time::sleep(Duration::from_millis(1600)).await;
    want.remove("192.0.2.200");
    settle(&mut bouncer, &nodes, &key, &want, &mut turn).await;
    let (adds, dels) = (bouncer.new, bouncer.deleted);
    // 30 processor + 6 operator + 5 replacements + 1 short decisions were sent once each (the
    // 5 shorter ones never); 5 lifted, 4 operator deletions, 5 replaced and 1 expired were
    // deleted once each.
    assert_eq!((adds, dels), (42, 15));
    assert!(turn > 12, "pulls alternated: {turn}");

    // Replica a dies; the bouncer carries on with b.
    let last_a = a.replica.positions();
    a.stop().await;
    let k = t.decide("192.0.2.201", "after-a", later).await;
    want.insert("192.0.2.201".into(), decision_id(&k, "after-a"));
    t.tombstone("198.51.100.52").await;
    want.remove("198.51.100.52");
    settle(&mut bouncer, &[&b], &key, &want, &mut turn).await;
    assert_eq!((bouncer.new - adds, bouncer.deleted - dels), (1, 1));
    assert!(b.replica.positions().iter().sum::<i64>() > last_a.iter().sum::<i64>());

    // A replica started now rebuilds from offset 0 and answers the same.
    let c = Node::start(&t.cfg, "c").await;
    let all_b = b
        .call("GET", "/v1/decisions", &[("X-Api-Key", &key)], None)
        .await;
    let all_c = c
        .call("GET", "/v1/decisions", &[("X-Api-Key", &key)], None)
        .await;
    assert_eq!(all_b.0, 200);
    let pairs = |v: &Value| -> Want {
        v.as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["value"].as_str().unwrap().to_string(),
                    d["id"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(pairs(&all_b.1), want);
    assert_eq!(pairs(&all_c.1), want);
    // It knows the bouncer and its cursor: nothing to send.
    let (s, body) = c.pull(&key, false).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        (values(&body["new"]), values(&body["deleted"])),
        (vec![], vec![])
    );
    let (s, body) = c.pull(&key, true).await;
    assert_eq!(s, 200);
    assert_eq!(
        values(&body["new"]),
        want.keys().cloned().collect::<Vec<_>>()
    );
    b.stop().await;
    c.stop().await;
}

/// How fast a replica loads the topic from offset 0 (`HIVEWALL_BENCH_RECORDS`, default 20k
/// records over 4 partitions); prints records/s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn materialize_rate() {
    let n: usize = std::env::var("HIVEWALL_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let t = Topics::new(4).await;
    let later = godur::now_ms() + 3_600_000;
    let mut futs = Vec::with_capacity(n);
    for i in 0..n {
        let ip = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        let rec = serde_json::json!({
            "v": 1, "uuid": format!("bench-{i}"),
            "decision": {"duration": "1h", "origin": "crowdsec", "scenario": "crowdsecurity/ssh-bf",
                         "scope": "Ip", "type": "ban", "value": ip, "simulated": false},
            "until": godur::rfc3339_ms(later), "created_at": godur::rfc3339_ms(godur::now_ms()),
        });
        let key = wire::bus::decision_key("Ip", &ip);
        let value = serde_json::to_vec(&rec).unwrap();
        let r = FutureRecord::to(&t.cfg.decisions_topic)
            .key(&key)
            .payload(&value);
        futs.push(t.producer.send_result(r).map_err(|(e, _)| e).unwrap());
    }
    for f in futs {
        f.await.unwrap().map_err(|(e, _)| e).unwrap();
    }
    let start = Instant::now();
    let node = Node::start(&t.cfg, "bench").await;
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(node.replica.store().active_count(), n);
    eprintln!(
        "materialized {n} records in {secs:.2} s: {:.0} records/s",
        n as f64 / secs
    );
    node.stop().await;
}
