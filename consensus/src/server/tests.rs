//! The endpoint on a real socket, with CrowdSec 1.4.6's request shapes.

use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::config::SeedConfig;

const SEEDS: [&str; 3] = ["seedaaaa", "seedbbbb", "seedcccc"];

struct Server {
    url: String,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), ServerError>>,
    http: reqwest::Client,
}

/// Seeds the operator vouches for, each credited 20 confirmations.
pub(super) fn seeds(ids: &[&str]) -> Vec<SeedConfig> {
    ids.iter()
        .map(|s| SeedConfig {
            reporter: s.to_string(),
            confirmed: 20.0,
        })
        .collect()
}

async fn start(dir: &std::path::Path) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut cfg = ServerConfig::new(addr, dir.to_path_buf());
    cfg.consensus.seeds = seeds(&SEEDS);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(serve(listener, cfg, cancel.clone()));
    let s = Server {
        url: format!("http://{addr}"),
        cancel,
        task,
        http: reqwest::Client::new(),
    };
    for _ in 0..100 {
        if s.http.get(format!("{}/health", s.url)).send().await.is_ok() {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("server did not answer");
}

impl Server {
    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut req = self.http.post(format!("{}{path}", self.url)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// Registers (idempotent) and logs in; the token.
    async fn login(&self, id: &str) -> String {
        let creds = json!({ "machine_id": id, "password": format!("pw-{id}") });
        assert_eq!(self.post("/v2/watchers", None, creds.clone()).await.0, 200);
        let (status, body) = self
            .post("/v2/watchers/login", None, json!({ "machine_id": id, "password": format!("pw-{id}"), "scenarios": ["crowdsecurity/ssh-bf"] }))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["code"], 200);
        assert!(chrono::DateTime::parse_from_rfc3339(body["expire"].as_str().unwrap()).is_ok());
        body["token"].as_str().unwrap().to_string()
    }

    async fn stop(self) {
        self.cancel.cancel();
        self.task.await.unwrap().unwrap();
    }
}

/// A signal as CrowdSec 1.4.6's `apic` sends one (`alertToSignal`).
fn crowdsec_signal(ip: &str) -> Value {
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    json!({
        "message": format!("Ip {ip} performed 'crowdsecurity/ssh-bf' (6 events over 2s) at {now}"),
        "scenario": "crowdsecurity/ssh-bf",
        "scenario_hash": "4441dcff07020f6690d998b7101e642359ba405c2abb83565bbbdcee36de280f",
        "scenario_version": "0.1",
        "scenario_trust": "certified",
        "source": { "scope": "Ip", "value": ip, "ip": ip, "as_name": "SOME-AS", "cn": "FR", "latitude": 48.8, "longitude": 2.3 },
        "start_at": now, "stop_at": now, "created_at": now, "machine_id": "agent-host-1",
    })
}

#[tokio::test]
async fn watchers_push_signals_and_pull_the_feed() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path()).await;
    let puller = s.login("crowdsecpuller").await;
    // Bad credentials, missing or forged tokens.
    let (st, _) = s
        .post(
            "/v2/watchers/login",
            None,
            json!({ "machine_id": "crowdsecpuller", "password": "nope" }),
        )
        .await;
    assert_eq!(st, 403);
    let (st, _) = s
        .post(
            "/v2/watchers",
            None,
            json!({ "machine_id": "crowdsecpuller", "password": "other" }),
        )
        .await;
    assert_eq!(st, 403, "someone else's machine_id");
    assert_eq!(
        s.post("/v2/signals", None, json!([crowdsec_signal("45.130.0.7")]))
            .await
            .0,
        401
    );
    assert_eq!(
        s.get("/v2/decisions/stream?startup=true", &format!("{puller}x"))
            .await
            .0,
        401
    );
    assert_eq!(
        s.post("/v2/signals", Some(&puller), json!({"not": "a list"}))
            .await
            .0,
        400
    );

    // The first pull: an empty feed.
    let (st, body) = s.get("/v2/decisions/stream?startup=true", &puller).await;
    assert_eq!((st, body), (200, json!({ "new": [], "deleted": [] })));
    // The puller alone (a new reporter) reports an address: nothing is listed.
    assert_eq!(
        s.post(
            "/v2/signals",
            Some(&puller),
            json!([crowdsec_signal("45.130.0.7")])
        )
        .await
        .0,
        200
    );
    assert_eq!(
        s.get("/v2/decisions/stream", &puller).await.1,
        json!({ "new": [], "deleted": [] })
    );
    // Three seeded reporters report it too: it is in the next pull, once.
    for seed in SEEDS {
        let t = s.login(seed).await;
        let body = json!([crowdsec_signal("45.130.0.7"), crowdsec_signal("10.0.0.1")]);
        assert_eq!(s.post("/v2/signals", Some(&t), body).await.0, 200);
    }
    let (_, body) = s.get("/v2/decisions/stream", &puller).await;
    let new = body["new"].as_array().unwrap();
    assert_eq!(new.len(), 1, "{body}");
    let d = &new[0];
    assert_eq!(
        (
            &d["origin"],
            &d["scope"],
            &d["type"],
            &d["value"],
            &d["scenario"]
        ),
        (
            &json!("CAPI"),
            &json!("Ip"),
            &json!("ban"),
            &json!("45.130.0.7"),
            &json!("hivewall/consensus:crowdsecurity/ssh-bf")
        )
    );
    let dur = d["duration"].as_str().unwrap();
    assert!(dur.starts_with("23h59m") || dur == "24h0m0s", "{dur}");
    assert_eq!(
        s.get("/v2/decisions/stream", &puller).await.1,
        json!({ "new": [], "deleted": [] })
    );
    // startup=true sends everything again; v3 groups by scenario.
    assert_eq!(
        s.get("/v2/decisions/stream?startup=true", &puller).await.1["new"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (_, v3) = s.get("/v3/decisions/stream?startup=true", &puller).await;
    assert_eq!(
        v3["new"][0]["scenario"],
        "hivewall/consensus:crowdsecurity/ssh-bf"
    );
    assert_eq!(v3["new"][0]["decisions"][0]["value"], "45.130.0.7");
    // Metrics are accepted (1.4.6 posts to `/v2/metrics/`).
    let m = json!({ "apil_version": "v1.4.6", "machines": [], "bouncers": [] });
    assert_eq!(s.post("/v2/metrics/", Some(&puller), m).await.0, 200);
    let stats: Value = s
        .http
        .get(format!("{}/hivewall/v1/stats", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (stats["listed"].clone(), stats["stats"]["reserved"].clone()),
        (json!(1), json!(3))
    );
    s.stop().await;
}

#[tokio::test]
async fn watchers_feed_and_tallies_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path()).await;
    let puller = s.login("crowdsecpuller").await;
    let tokens = [
        s.login(SEEDS[0]).await,
        s.login(SEEDS[1]).await,
        s.login(SEEDS[2]).await,
    ];
    for t in &tokens {
        s.post(
            "/v2/signals",
            Some(t),
            json!([crowdsec_signal("45.130.0.8")]),
        )
        .await;
    }
    // A second target with two of the three reports so far.
    for t in &tokens[..2] {
        s.post(
            "/v2/signals",
            Some(t),
            json!([crowdsec_signal("45.130.0.9")]),
        )
        .await;
    }
    assert_eq!(
        s.get("/v2/decisions/stream?startup=true", &puller).await.1["new"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    s.stop().await;
    assert!(dir.path().join("state.json").exists() && dir.path().join("watchers.json").exists());

    let s = start(dir.path()).await;
    // The old token still works (same key), the cursor was kept: nothing new.
    assert_eq!(
        s.get("/v2/decisions/stream", &puller).await.1,
        json!({ "new": [], "deleted": [] })
    );
    // The registration was kept: the same password logs in, another does not register it.
    let (st, _) = s
        .post(
            "/v2/watchers",
            None,
            json!({ "machine_id": "crowdsecpuller", "password": "x" }),
        )
        .await;
    assert_eq!(st, 403);
    // The pending tally goes on: the third report lists the second target.
    s.post(
        "/v2/signals",
        Some(&tokens[2]),
        json!([crowdsec_signal("45.130.0.9")]),
    )
    .await;
    let (_, body) = s.get("/v2/decisions/stream", &puller).await;
    assert_eq!(body["new"][0]["value"], "45.130.0.9", "{body}");
    s.stop().await;
}
