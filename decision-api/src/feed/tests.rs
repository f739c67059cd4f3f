//! The feed against a small CAPI stub (axum on 127.0.0.1, CrowdSec 1.4.6's `/v2` shapes),
//! with a real store and the real Local API serving bouncers.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::client::{CapiClient, ClientError};
use super::merge::COMMUNITY_SCOPE;
use super::signals::{PushSettings, SignalQueue, push_loop};
use super::{Applied, Feed, FeedConfig, FeedConfigError, Target, pull_once};
use crate::store::Store;
use crate::{ApiConfig, ApiMode};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const SCENARIO: &str = "hivewall/consensus:crowdsecurity/ssh-bf";

/// What the stub saw and will answer.
#[derive(Default)]
struct StubState {
    /// The token it accepts now.
    valid: Mutex<String>,
    logins: AtomicUsize,
    /// Answers of the next pulls (then empty changes).
    script: Mutex<VecDeque<Value>>,
    /// `startup` of each pull.
    pulls: Mutex<Vec<bool>>,
    /// Accepted signal requests.
    signals: Mutex<Vec<Vec<Value>>>,
    /// Signal requests to answer 500.
    fail_signals: AtomicUsize,
    /// Signal requests to answer 400.
    refuse_signals: AtomicUsize,
}

struct Stub {
    state: Arc<StubState>,
    url: String,
    stop: CancellationToken,
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn authorized(s: &StubState, headers: &HeaderMap) -> bool {
    let want = format!("Bearer {}", lock(&s.valid));
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == want && want != "Bearer ")
}

async fn login(State(s): State<Arc<StubState>>, Json(body): Json<Value>) -> Response {
    if body["machine_id"] != "w1" || body["password"] != "pw" {
        return (StatusCode::FORBIDDEN, Json(json!({"message": "bad login"}))).into_response();
    }
    let n = s.logins.fetch_add(1, Ordering::SeqCst) + 1;
    let token = format!("tok{n}");
    *lock(&s.valid) = token.clone();
    Json(json!({"code": 200, "expire": "2099-01-01T00:00:00Z", "token": token})).into_response()
}

async fn stream(
    State(s): State<Arc<StubState>>,
    headers: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    if !authorized(&s, &headers) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"message": "token"}))).into_response();
    }
    let startup = q.iter().any(|(k, v)| k == "startup" && v == "true");
    lock(&s.pulls).push(startup);
    let answer = lock(&s.script)
        .pop_front()
        .unwrap_or_else(|| json!({"new": null, "deleted": null}));
    Json(answer).into_response()
}

async fn signals(
    State(s): State<Arc<StubState>>,
    headers: HeaderMap,
    Json(body): Json<Vec<Value>>,
) -> Response {
    if !authorized(&s, &headers) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"message": "token"}))).into_response();
    }
    let take = |c: &AtomicUsize| {
        c.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    };
    if take(&s.fail_signals) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "down").into_response();
    }
    if take(&s.refuse_signals) {
        return (StatusCode::BAD_REQUEST, Json(json!({"message": "bad"}))).into_response();
    }
    lock(&s.signals).push(body);
    Json(json!({"message": "OK"})).into_response()
}

async fn serve(router: axum::Router) -> Result<(String, CancellationToken), std::io::Error> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let stop = CancellationToken::new();
    let s = stop.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(s.cancelled_owned())
            .await;
    });
    Ok((format!("http://{addr}"), stop))
}

async fn stub() -> Result<Stub, std::io::Error> {
    let state = Arc::new(StubState::default());
    let router = axum::Router::new()
        .route("/v2/watchers/login", post(login))
        .route("/v2/decisions/stream", get(stream))
        .route("/v2/signals", post(signals))
        .with_state(state.clone());
    let (url, stop) = serve(router).await?;
    Ok(Stub { state, url, stop })
}

impl Stub {
    fn script(&self, answer: Value) {
        lock(&self.state.script).push_back(answer);
    }

    fn client(&self) -> Result<CapiClient, FeedConfigError> {
        CapiClient::new(&FeedConfig::new(&self.url, "w1", "pw"))
    }
}

fn dec(scope: &str, value: &str, duration: &str) -> Value {
    json!({"duration": duration, "origin": "CAPI", "scenario": SCENARIO, "scope": scope,
           "type": "ban", "value": value})
}

/// The real Local API over `store`, with one bouncer.
struct Lapi {
    url: String,
    key: String,
    http: reqwest::Client,
    _stop: StopOnDrop,
}

struct StopOnDrop(CancellationToken);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

impl Lapi {
    async fn start(store: &Store) -> Result<Lapi, Box<dyn std::error::Error>> {
        let key = store.add_bouncer("fw", None)?;
        let router = crate::router(store.clone(), None, &ApiConfig::default(), None);
        let (url, stop) = serve(router).await?;
        Ok(Lapi {
            url,
            key,
            http: reqwest::Client::new(),
            _stop: StopOnDrop(stop),
        })
    }

    async fn get(&self, path: &str) -> Result<Value, Box<dyn std::error::Error>> {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .header("X-Api-Key", &self.key)
            .send()
            .await?;
        Ok(r.json().await?)
    }
}

/// (value, id) of the CAPI decisions in a stream answer's `part`.
fn capi(v: &Value, part: &str) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = v[part]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["origin"] == "CAPI")
        .map(|d| {
            assert_eq!(d["scenario"], SCENARIO, "{d}");
            (
                d["value"].as_str().unwrap_or("").to_string(),
                d["id"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    out.sort();
    out
}

fn local(store: &Store, ip: &str) -> Result<(), crate::StoreError> {
    let req = crate::admin::AddDecisionRequest {
        value: ip.into(),
        scope: "Ip".into(),
        kind: "ban".into(),
        duration: "4h".into(),
        reason: String::new(),
        origin: String::new(),
    };
    store.add_decision(&req).map(|_| ())
}

/// A startup pull lists the feed as CAPI decisions that bouncers get on the stream and on
/// `?ip=`, beside a local decision on the same address; later pulls extend (same id) and
/// delete (the bouncer gets the deletion).
#[tokio::test]
async fn feed_decisions_reach_bouncers_with_their_changes() -> TestResult {
    let stub = stub().await?;
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    local(&store, "192.0.2.1")?;
    let lapi = Lapi::start(&store).await?;
    let client = stub.client()?;
    let target = Target::Embedded(store.clone());

    stub.script(json!({"new": [dec("Ip", "192.0.2.1", "23h59m58s"),
                               dec("Range", "198.51.100.0/24", "12h"),
                               dec("Ip", "2001:db8::7", "1h"),
                               dec("Ip", "", "1h"), dec("Ip", "192.0.2.9", "soon")],
                       "deleted": null}));
    let a = pull_once(&client, &target, true).await?;
    assert_eq!((a.added, a.removed, a.skipped), (3, 0, 2));
    let first = lapi.get("/v1/decisions/stream?startup=true").await?;
    let listed = capi(&first, "new");
    let values: Vec<&str> = listed.iter().map(|(v, _)| v.as_str()).collect();
    assert_eq!(values, ["192.0.2.1", "198.51.100.0/24", "2001:db8::7"]);
    let by_ip = lapi.get("/v1/decisions?ip=192.0.2.1").await?;
    let origins: Vec<&str> = by_ip
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["origin"].as_str())
        .collect();
    assert_eq!(origins.len(), 2, "{by_ip}");
    assert!(
        origins.contains(&"CAPI") && origins.contains(&"cscli"),
        "{by_ip}"
    );
    let in_range = lapi.get("/v1/decisions?ip=198.51.100.77").await?;
    assert_eq!(in_range[0]["origin"], "CAPI", "{in_range}");
    // Filed under one community alert, as CrowdSec files a pull.
    let id = listed[0].1;
    let rec = store.live_decision(id).ok_or("no decision")?;
    let alert = store.get_alert(rec.alert_id)?;
    assert_eq!(alert.source.scope, COMMUNITY_SCOPE);
    assert_eq!(alert.decisions.len(), 3);

    stub.script(json!({"new": [dec("Ip", "192.0.2.1", "47h")],
                       "deleted": [dec("Ip", "2001:db8::7", "0s")]}));
    let a = pull_once(&client, &target, false).await?;
    assert_eq!((a.added, a.updated, a.removed), (0, 1, 1));
    let delta = lapi.get("/v1/decisions/stream").await?;
    assert_eq!(capi(&delta, "new"), [listed[0].clone()]);
    assert_eq!(capi(&delta, "deleted"), [listed[2].clone()]);
    let extended = lapi.get("/v1/decisions?ip=192.0.2.1&origins=CAPI").await?;
    let left = extended[0]["duration"].as_str().unwrap_or("");
    assert!(left.starts_with("46h59m"), "{extended}");
    assert_eq!(lapi.get("/v1/decisions?ip=2001:db8::7").await?, Value::Null);
    assert_eq!(*lock(&stub.state.pulls), [true, false]);
    Ok(())
}

/// After a restart the startup pull reconciles: what the feed no longer lists is removed,
/// what it still lists keeps its id (no duplicate), local decisions are untouched; the same
/// pull again writes nothing.
#[tokio::test]
async fn a_restart_reconciles_without_duplicates() -> TestResult {
    let stub = stub().await?;
    let dir = tempfile::tempdir()?;
    let kept_id = {
        let store = Store::open(dir.path())?;
        local(&store, "192.0.2.1")?;
        stub.script(json!({"new": [dec("Ip", "192.0.2.1", "20h"), dec("Ip", "192.0.2.2", "20h")]}));
        pull_once(&stub.client()?, &Target::Embedded(store.clone()), true).await?;
        super::merge::current(&store)
            .iter()
            .find(|d| d.value == "192.0.2.2")
            .map(|d| d.id)
            .ok_or("not stored")?
    };
    let store = Store::open(dir.path())?;
    let lapi = Lapi::start(&store).await?;
    let before = lapi.get("/v1/decisions/stream?startup=true").await?;
    let target = Target::Embedded(store.clone());
    let restart = json!({"new": [dec("Ip", "192.0.2.2", "20h"), dec("Ip", "192.0.2.3", "5h")]});
    stub.script(restart.clone());
    let a = pull_once(&stub.client()?, &target, true).await?;
    assert_eq!(
        (a.added, a.updated, a.removed, a.unchanged),
        (1, 0, 1, 1),
        "{a:?}"
    );
    let now: Vec<(String, i64)> = super::merge::current(&store)
        .iter()
        .map(|d| (d.value.clone(), d.id))
        .collect();
    assert_eq!(now.len(), 2, "{now:?}");
    assert!(now.contains(&("192.0.2.2".into(), kept_id)), "{now:?}");
    // The bouncer had the CAPI decision on .1 (20h, longer than the local 4h); it is removed,
    // but the local decision still bans .1, so the stream sends no deletion that would make
    // the bouncer unban it.
    assert!(
        capi(&before, "new").iter().any(|(v, _)| v == "192.0.2.1"),
        "{before}"
    );
    let delta = lapi.get("/v1/decisions/stream").await?;
    assert_eq!(
        capi(&delta, "deleted"),
        Vec::<(String, i64)>::new(),
        "{delta}"
    );
    let local_left = lapi.get("/v1/decisions?ip=192.0.2.1").await?;
    assert_eq!(local_left[0]["origin"], "cscli", "{local_left}");
    assert_eq!(local_left.as_array().map(Vec::len), Some(1));

    let seq = store.last_seq();
    stub.script(restart);
    let a = pull_once(&stub.client()?, &target, true).await?;
    assert_eq!(
        a,
        Applied {
            unchanged: 2,
            ..Applied::default()
        }
    );
    assert_eq!(store.last_seq(), seq, "an unchanged feed writes nothing");
    Ok(())
}

/// A token the feed no longer accepts is renewed once; bad credentials are an error.
#[tokio::test]
async fn an_expired_token_is_renewed() -> TestResult {
    let stub = stub().await?;
    let client = stub.client()?;
    client.pull(true).await?;
    *lock(&stub.state.valid) = "rotated".into();
    client.pull(false).await?;
    assert_eq!(stub.state.logins.load(Ordering::SeqCst), 2);
    let bad = CapiClient::new(&FeedConfig::new(&stub.url, "w1", "wrong"))?;
    match bad.pull(true).await {
        Err(ClientError::Status { status: 403, .. }) => {}
        other => return Err(format!("expected a 403, got {other:?}").into()),
    }
    assert_eq!(lock(&stub.state.pulls).len(), 2);
    Ok(())
}

#[test]
fn credentials_and_urls_are_checked() {
    let f = |url: &str, login: &str, pw: &str| FeedConfig::new(url, login, pw).validate();
    assert_eq!(
        f("http://127.0.0.1:8090/", "", ""),
        Err(FeedConfigError::NotRegistered)
    );
    assert_eq!(
        f("http://127.0.0.1:8090/", "w", ""),
        Err(FeedConfigError::NotRegistered)
    );
    assert!(matches!(
        f("https://api.crowdsec.net/", "w", "p"),
        Err(FeedConfigError::Url { .. })
    ));
    assert!(matches!(f("", "w", "p"), Err(FeedConfigError::Url { .. })));
    assert!(matches!(
        f("127.0.0.1:8090", "w", "p"),
        Err(FeedConfigError::Url { .. })
    ));
    assert_eq!(f("http://127.0.0.1:8090", "w", "p"), Ok(()));
    let mut c = FeedConfig::new("http://h/", "w", "p");
    c.pull_interval = Duration::ZERO;
    assert_eq!(c.validate(), Err(FeedConfigError::Zero("pull_interval")));
    let base = super::config::base_url("http://h:1/feed?x=1").map(|u| u.to_string());
    assert_eq!(base.as_deref(), Ok("http://h:1/feed/"));
    assert!(Feed::new(FeedConfig::new("http://h/", "", "")).is_err());
}

fn alert(scope: &str, value: &str) -> wire::Alert {
    wire::Alert {
        scenario: "crowdsecurity/ssh-bf".into(),
        message: "secret message".into(),
        events_count: 6,
        start_at: "2026-01-01T00:00:00Z".into(),
        stop_at: "2026-01-01T00:00:02Z".into(),
        source: wire::Source {
            scope: scope.into(),
            value: value.into(),
            ip: value.into(),
            ..wire::Source::default()
        },
        ..wire::Alert::default()
    }
}

/// Signals are queued without waiting (oldest dropped and counted past the bound), sent in
/// batches, sent again after a failure, dropped when refused; only the minimal record leaves.
#[tokio::test]
async fn signals_are_bounded_batched_and_retried() -> TestResult {
    let stub = stub().await?;
    let queue = SignalQueue::new(3, "w1");
    let mut simulated = alert("Ip", "192.0.2.50");
    simulated.simulated = true;
    let mut alerts: Vec<wire::Alert> = (1..=5)
        .map(|i| alert("Ip", &format!("192.0.2.{i}")))
        .collect();
    alerts.push(simulated);
    alerts.push(alert("username", "root"));
    assert_eq!(queue.offer(&alerts), 5);
    assert_eq!((queue.len(), queue.dropped()), (3, 2));

    stub.state.fail_signals.store(1, Ordering::SeqCst);
    let stop = CancellationToken::new();
    let settings = PushSettings {
        batch: 2,
        linger: Duration::ZERO,
        retry_min: Duration::from_millis(50),
        retry_max: Duration::from_millis(200),
    };
    let pusher = tokio::spawn(push_loop(
        Arc::new(stub.client()?),
        queue.clone(),
        settings,
        stop.clone(),
    ));
    let sent = |n: usize| {
        lock(&stub.state.signals)
            .iter()
            .map(Vec::len)
            .sum::<usize>()
            >= n
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !sent(3) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let got = lock(&stub.state.signals).clone();
    let sizes: Vec<usize> = got.iter().map(Vec::len).collect();
    assert_eq!(sizes, [2, 1], "{got:?}");
    let values: Vec<&str> = got
        .iter()
        .flatten()
        .filter_map(|s| s["source"]["value"].as_str())
        .collect();
    assert_eq!(values, ["192.0.2.3", "192.0.2.4", "192.0.2.5"]);
    let first = &got[0][0];
    assert_eq!(first["scenario"], "crowdsecurity/ssh-bf");
    assert_eq!(first["message"], "");
    assert_eq!(first["source"]["ip"], "192.0.2.3");
    assert_eq!(first["start_at"], "2026-01-01T00:00:00Z");

    // A refused batch is dropped, not sent again: the next signal goes out alone.
    stub.state.refuse_signals.store(1, Ordering::SeqCst);
    queue.offer(&[alert("Ip", "192.0.2.6"), alert("Ip", "192.0.2.7")]);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while stub.state.refuse_signals.load(Ordering::SeqCst) > 0
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    queue.offer(&[alert("Ip", "192.0.2.8")]);
    while !sent(4) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let got = lock(&stub.state.signals).clone();
    let sizes: Vec<usize> = got.iter().map(Vec::len).collect();
    assert_eq!(sizes, [2, 1, 1], "{got:?}");
    assert_eq!(got[2][0]["source"]["value"], "192.0.2.8");
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(2), pusher).await??;
    Ok(())
}

/// The spawned subscription pulls the whole feed, then the changes on its interval, and
/// stops on shutdown.
#[tokio::test]
async fn the_subscription_pulls_on_its_interval() -> TestResult {
    let stub = stub().await?;
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    stub.script(json!({"new": [dec("Ip", "192.0.2.1", "1h")]}));
    stub.script(json!({"deleted": [dec("Ip", "192.0.2.1", "0s")]}));
    let mut cfg = FeedConfig::new(&stub.url, "w1", "pw");
    cfg.pull_interval = Duration::from_millis(50);
    let feed = Feed::new(cfg)?;
    assert!(feed.signals().is_none());
    let stop = CancellationToken::new();
    let task = feed.spawn(store.clone(), &ApiMode::Embedded, stop.clone());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while lock(&stub.state.pulls).len() < 3 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(2), task).await??;
    let pulls = lock(&stub.state.pulls).clone();
    assert!(
        pulls.len() >= 3 && pulls[0] && !pulls[1] && !pulls[2],
        "{pulls:?}"
    );
    assert!(super::merge::current(&store).is_empty());
    let f = crate::DecisionFilter::from_query(&[("ip".into(), "192.0.2.1".into())])?;
    assert!(store.query_decisions(&f).is_empty());
    Ok(())
}
