//! HTTP tests: the router in-process (`oneshot`) and over a real socket via `run`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

use crate::store::Store;
use crate::{AlertProfiler, ApiConfig, router};

pub(super) type TestResult = Result<(), Box<dyn std::error::Error>>;

pub(super) struct App {
    _dir: tempfile::TempDir,
    pub(super) store: Store,
    pub(super) router: axum::Router,
}

pub(super) fn app_with(
    cfg: &ApiConfig,
    profiler: Option<Arc<dyn AlertProfiler>>,
) -> Result<App, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    let router = router(
        store.clone(),
        profiler,
        cfg,
        Some(Arc::new(|| "hivewall_up 1\n".to_string())),
    );
    Ok(App {
        _dir: dir,
        store,
        router,
    })
}

pub(super) fn app() -> Result<App, Box<dyn std::error::Error>> {
    app_with(&ApiConfig::default(), None)
}

pub(super) async fn call(
    app: &App,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<(StatusCode, Vec<u8>), Box<dyn std::error::Error>> {
    let mut b = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let resp = app
        .router
        .clone()
        .oneshot(b.body(Body::from(body))?)
        .await?;
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await?;
    Ok((status, bytes.to_vec()))
}

pub(super) fn js(b: &[u8]) -> serde_json::Value {
    serde_json::from_slice(b).unwrap_or(serde_json::Value::String(
        String::from_utf8_lossy(b).into_owned(),
    ))
}

pub(super) async fn login(app: &App) -> Result<String, Box<dyn std::error::Error>> {
    app.store.add_machine("w1", "secretpassword", true)?;
    let body = br#"{"machine_id":"w1","password":"secretpassword","scenarios":["a/b"]}"#.to_vec();
    let (s, b) = call(
        app,
        "POST",
        "/v1/watchers/login",
        &[("user-agent", "crowdsec/v1.4.6")],
        body,
    )
    .await?;
    assert_eq!(s, StatusCode::OK);
    let v = js(&b);
    assert_eq!(v["code"], 200);
    assert!(v["expire"].as_str().is_some_and(|e| e.ends_with('Z')));
    Ok(format!(
        "Bearer {}",
        v["token"].as_str().unwrap_or_default()
    ))
}

pub(super) const ALERT: &str = r#"[{"capacity":5,"decisions":[{"duration":"4h","origin":"crowdsec","scenario":"crowdsecurity/ssh-bf","scope":"Ip","type":"ban","value":"192.0.2.7"}],"events":[{"meta":[{"key":"source_ip","value":"192.0.2.7"}],"timestamp":"2024-01-01T00:00:00Z"}],"events_count":6,"labels":null,"leakspeed":"10s","machine_id":"x","message":"m","scenario":"crowdsecurity/ssh-bf","scenario_hash":"h","scenario_version":"0.1","simulated":false,"source":{"ip":"192.0.2.7","range":"","scope":"Ip","value":"192.0.2.7"},"start_at":"2024-01-01T00:00:00Z","stop_at":"2024-01-01T00:00:05Z","uuid":"abc","meta":null}]"#;

#[tokio::test]
async fn bouncer_auth_and_null_body() -> TestResult {
    let app = app()?;
    let key = app.store.add_bouncer("fw", None)?;
    let (s, b) = call(&app, "GET", "/v1/decisions?ip=1.2.3.4", &[], vec![]).await?;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(js(&b), serde_json::json!({"message": "access forbidden"}));
    let (s, _) = call(
        &app,
        "GET",
        "/v1/decisions",
        &[("X-Api-Key", "wrongwrongwrong")],
        vec![],
    )
    .await?;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, b) = call(
        &app,
        "GET",
        "/v1/decisions?ip=1.2.3.4",
        &[("X-Api-Key", &key)],
        vec![],
    )
    .await?;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b, b"null");
    let (s, b) = call(
        &app,
        "GET",
        "/v1/decisions?ip=garbage",
        &[("X-Api-Key", &key)],
        vec![],
    )
    .await?;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(js(&b)["message"].is_string());
    Ok(())
}

#[tokio::test]
async fn watcher_alert_push_makes_decisions_visible() -> TestResult {
    let app = app()?;
    let key = app.store.add_bouncer("fw", None)?;
    let token = login(&app).await?;
    let auth = [("Authorization", token.as_str())];
    let (s, b) = call(&app, "POST", "/v1/alerts", &auth, ALERT.as_bytes().to_vec()).await?;
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    assert_eq!(js(&b), serde_json::json!(["1"]));
    let (s, b) = call(
        &app,
        "GET",
        "/v1/decisions?ip=192.0.2.7",
        &[("X-Api-Key", &key)],
        vec![],
    )
    .await?;
    assert_eq!(s, StatusCode::OK);
    let v = js(&b);
    assert_eq!(v[0]["value"], "192.0.2.7");
    assert_eq!(v[0]["type"], "ban");
    assert!(
        v[0]["duration"]
            .as_str()
            .is_some_and(|d| d.starts_with("3h59m")),
        "{v}"
    );
    // Stream: startup then empty delta, cursor kept by the bouncer.
    let (s, b) = call(
        &app,
        "GET",
        "/v1/decisions/stream?startup=true",
        &[("X-Api-Key", &key)],
        vec![],
    )
    .await?;
    assert_eq!(s, StatusCode::OK);
    let v = js(&b);
    assert_eq!(v["new"].as_array().map(Vec::len), Some(1));
    let (_, b) = call(
        &app,
        "GET",
        "/v1/decisions/stream",
        &[("X-Api-Key", &key)],
        vec![],
    )
    .await?;
    assert_eq!(js(&b), serde_json::json!({"new": [], "deleted": []}));
    // GET /v1/alerts as cscli does.
    let (s, b) = call(
        &app,
        "GET",
        "/v1/alerts?has_active_decision=true&include_capi=false&limit=50",
        &auth,
        vec![],
    )
    .await?;
    assert_eq!(s, StatusCode::OK);
    let v = js(&b);
    assert_eq!(v[0]["id"], 1);
    assert_eq!(v[0]["machine_id"], "w1");
    assert_eq!(v[0]["decisions"][0]["value"], "192.0.2.7");
    assert_eq!(v[0]["events"][0]["meta"][0]["key"], "source_ip");
    let (s, b) = call(&app, "GET", "/v1/alerts/1", &auth, vec![]).await?;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(js(&b)["scenario"], "crowdsecurity/ssh-bf");
    let (s, _) = call(&app, "GET", "/v1/alerts/99", &auth, vec![]).await?;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(&app, "GET", "/v1/alerts?bogus=1", &auth, vec![]).await?;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // Delete by filter, then the stream reports it.
    let (s, b) = call(&app, "DELETE", "/v1/decisions?ip=192.0.2.7", &auth, vec![]).await?;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(js(&b), serde_json::json!({"nbDeleted": "1"}));
    let (_, b) = call(
        &app,
        "GET",
        "/v1/decisions/stream",
        &[("X-Api-Key", &key)],
        vec![],
    )
    .await?;
    let v = js(&b);
    assert_eq!(v["deleted"][0]["value"], "192.0.2.7");
    let (s, b) = call(&app, "DELETE", "/v1/decisions/abc", &auth, vec![]).await?;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(js(&b)["message"], "decision_id must be valid integer");
    Ok(())
}

#[tokio::test]
async fn login_failures_and_registration() -> TestResult {
    let app = app()?;
    let body = br#"{"machine_id":"new","password":"pw123456"}"#.to_vec();
    let (s, _) = call(&app, "POST", "/v1/watchers", &[], body.clone()).await?;
    assert_eq!(s, StatusCode::CREATED);
    let (s, b) = call(&app, "POST", "/v1/watchers", &[], body.clone()).await?;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(
        js(&b)["message"]
            .as_str()
            .is_some_and(|m| m.contains("already exist"))
    );
    let (s, b) = call(&app, "POST", "/v1/watchers/login", &[], body.clone()).await?;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(js(&b)["message"], "machine new not validated");
    app.store.validate_machine("new")?;
    let (s, _) = call(&app, "POST", "/v1/watchers/login", &[], body).await?;
    assert_eq!(s, StatusCode::OK);
    let bad = br#"{"machine_id":"new","password":"nope"}"#.to_vec();
    let (s, b) = call(&app, "POST", "/v1/watchers/login", &[], bad).await?;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(
        js(&b),
        serde_json::json!({"code": 401, "message": "incorrect Username or Password"})
    );
    let (s, _) = call(
        &app,
        "GET",
        "/v1/heartbeat",
        &[("Authorization", "Bearer x.y.z")],
        vec![],
    )
    .await?;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = call(&app, "POST", "/v1/watchers", &[], b"{not json".to_vec()).await?;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    Ok(())
}

#[tokio::test]
async fn body_limit_and_malformed_json() -> TestResult {
    let cfg = ApiConfig {
        max_body_bytes: 1024,
        ..ApiConfig::default()
    };
    let app = app_with(&cfg, None)?;
    let token = login(&app).await?;
    let auth = [("Authorization", token.as_str())];
    let big = vec![b' '; 4096];
    let (s, _) = call(&app, "POST", "/v1/alerts", &auth, big).await?;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    let (s, b) = call(&app, "POST", "/v1/alerts", &auth, b"[{]".to_vec()).await?;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(js(&b)["message"].is_string());
    let (s, _) = call(
        &app,
        "POST",
        "/v1/alerts",
        &auth,
        br#"[{"decisions":[{"duration":"zz"}]}]"#.to_vec(),
    )
    .await?;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    Ok(())
}

struct Ban;

impl AlertProfiler for Ban {
    fn decide(&self, alert: &wire::Alert) -> Vec<wire::Decision> {
        vec![wire::Decision {
            duration: "4h".into(),
            origin: "crowdsec".into(),
            scenario: alert.scenario.clone(),
            scope: alert.source.scope.clone(),
            kind: "ban".into(),
            value: alert.source.value.clone(),
            simulated: false,
        }]
    }
}

#[tokio::test]
async fn profiler_runs_for_watcher_alerts_without_decisions() -> TestResult {
    let app = app_with(&ApiConfig::default(), Some(Arc::new(Ban)))?;
    let token = login(&app).await?;
    let body = ALERT.replace(r#""decisions":[{"duration":"4h","origin":"crowdsec","scenario":"crowdsecurity/ssh-bf","scope":"Ip","type":"ban","value":"192.0.2.7"}]"#, r#""decisions":null"#);
    let (s, _) = call(
        &app,
        "POST",
        "/v1/alerts",
        &[("Authorization", token.as_str())],
        body.into_bytes(),
    )
    .await?;
    assert_eq!(s, StatusCode::CREATED);
    let f = crate::DecisionFilter {
        value: Some("192.0.2.7".into()),
        ..crate::DecisionFilter::default()
    };
    assert_eq!(app.store.query_decisions(&f).len(), 1);
    Ok(())
}

#[tokio::test]
async fn exports_and_admin_routes() -> TestResult {
    let app = app()?;
    let key = app.store.add_bouncer("fw", None)?;
    let dir = tempfile::tempdir()?;
    let admin = app.store.admin_key(&dir.path().join("k"))?;
    let h = [(crate::admin::ADMIN_KEY_HEADER, admin.as_str())];
    let (s, _) = call(&app, "GET", "/hivewall/admin/v1/bouncers", &[], vec![]).await?;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let add = br#"{"value":"198.51.100.0/24","scope":"range","duration":"1h"}"#.to_vec();
    let (s, b) = call(&app, "POST", "/hivewall/admin/v1/decisions", &h, add).await?;
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    let imp = br#"[{"value":"203.0.113.5"},{"value":"2001:db8::5"}]"#.to_vec();
    let (s, b) = call(&app, "POST", "/hivewall/admin/v1/decisions/import", &h, imp).await?;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(js(&b)["added"], 2);
    let (_, b) = call(&app, "GET", "/hivewall/admin/v1/decisions", &h, vec![]).await?;
    assert_eq!(js(&b).as_array().map(Vec::len), Some(3));
    let (_, b) = call(
        &app,
        "GET",
        "/v1/decisions/export?format=plain",
        &[("X-Api-Key", &key)],
        vec![],
    )
    .await?;
    let text = String::from_utf8(b)?;
    assert_eq!(text, "198.51.100.0/24\n203.0.113.5\n2001:db8::5\n");
    let (_, b) = call(
        &app,
        "GET",
        "/v1/decisions/export?format=nginx",
        &[("X-Api-Key", &key)],
        vec![],
    )
    .await?;
    assert!(String::from_utf8(b)?.contains("deny 203.0.113.5;"));
    let (_, b) = call(
        &app,
        "GET",
        "/v1/decisions/export?format=ipset",
        &[("X-Api-Key", &key)],
        vec![],
    )
    .await?;
    assert!(String::from_utf8(b)?.contains("add hivewall-v6 2001:db8::5 timeout "));
    let (_, b) = call(
        &app,
        "GET",
        "/v1/decisions/export?format=nftables",
        &[("X-Api-Key", &key)],
        vec![],
    )
    .await?;
    let nft = String::from_utf8(b)?;
    assert!(
        nft.contains("add element inet hivewall hivewall_v4 { 198.51.100.0/24 timeout"),
        "{nft}"
    );
    let (s, _) = call(
        &app,
        "GET",
        "/v1/decisions/export?format=xml",
        &[("X-Api-Key", &key)],
        vec![],
    )
    .await?;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, b) = call(
        &app,
        "POST",
        "/hivewall/admin/v1/bouncers",
        &h,
        br#"{"name":"b2"}"#.to_vec(),
    )
    .await?;
    assert_eq!(s, StatusCode::CREATED);
    assert!(js(&b)["key"].as_str().is_some_and(|k| k.len() >= 16));
    let (_, b) = call(&app, "GET", "/hivewall/admin/v1/bouncers", &h, vec![]).await?;
    assert_eq!(js(&b).as_array().map(Vec::len), Some(2));
    let (s, _) = call(&app, "DELETE", "/hivewall/admin/v1/bouncers/b2", &h, vec![]).await?;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(&app, "DELETE", "/hivewall/admin/v1/bouncers/b2", &h, vec![]).await?;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(
        &app,
        "DELETE",
        "/hivewall/admin/v1/decisions?value=203.0.113.5",
        &h,
        vec![],
    )
    .await?;
    assert_eq!(s, StatusCode::OK);
    let (_, b) = call(&app, "GET", "/metrics", &[], vec![]).await?;
    assert_eq!(b, b"hivewall_up 1\n");
    Ok(())
}

#[tokio::test]
async fn real_socket_run_and_shutdown() -> TestResult {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    let key = store.add_bouncer("fw", None)?;
    let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = probe.local_addr()?;
    drop(probe);
    let cfg = ApiConfig {
        listen: addr,
        ..ApiConfig::default()
    };
    let token = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(crate::run(cfg, store.clone(), None, None, token.clone()));
    let mut conn = None;
    for _ in 0..50 {
        if let Ok(c) = tokio::net::TcpStream::connect(addr).await {
            conn = Some(c);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let mut conn = conn.ok_or("server did not start")?;
    let req = format!(
        "GET /v1/decisions/stream?startup=true HTTP/1.0\r\nHost: x\r\nX-Api-Key: {key}\r\nUser-Agent: crowdsec-firewall-bouncer/v0.0.14\r\n\r\n"
    );
    conn.write_all(req.as_bytes()).await?;
    let mut resp = Vec::new();
    conn.read_to_end(&mut resp).await?;
    let text = String::from_utf8_lossy(&resp);
    assert!(
        text.starts_with("HTTP/1.") && text.contains(" 200 "),
        "{text}"
    );
    assert!(text.ends_with(r#"{"new":[],"deleted":[]}"#), "{text}");
    let b = store.list_bouncers();
    assert_eq!(b[0].kind, "crowdsec-firewall-bouncer");
    assert_eq!(b[0].ip_address, "127.0.0.1");
    token.cancel();
    tokio::time::timeout(std::time::Duration::from_secs(5), server).await???;
    Ok(())
}
