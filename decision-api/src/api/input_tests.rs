//! Bad input: wrong or missing credentials, bad parameters, malformed and huge bodies (in
//! process), and slow clients over a real socket (the header read timeout of `run`).

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::tests::{ALERT, TestResult, app, app_with, call, js, login};
use crate::ApiConfig;
use crate::store::Store;

/// Request headers of a case.
type Headers<'a> = &'a [(&'a str, &'a str)];

const BOUNCER_ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/decisions?ip=192.0.2.7"),
    ("HEAD", "/v1/decisions"),
    ("GET", "/v1/decisions/stream?startup=true"),
    ("HEAD", "/v1/decisions/stream"),
    ("GET", "/v1/decisions/export"),
];

const WATCHER_ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/heartbeat"),
    ("GET", "/v1/alerts"),
    ("POST", "/v1/alerts"),
    ("DELETE", "/v1/alerts"),
    ("GET", "/v1/alerts/1"),
    ("DELETE", "/v1/alerts/1"),
    ("DELETE", "/v1/decisions?ip=192.0.2.7"),
    ("DELETE", "/v1/decisions/1"),
    ("DELETE", "/v1/watchers"),
];

#[tokio::test]
async fn wrong_or_missing_credentials_are_403_for_bouncers_401_for_watchers() -> TestResult {
    let app = app()?;
    let key = app.store.add_bouncer("fw", None)?;
    let token = login(&app).await?;
    let forged = {
        // A well-formed token signed with another secret.
        let other = tempfile::tempdir()?;
        let other = Store::open(other.path())?;
        let claims = serde_json::json!({"id": "w1", "exp": 4_102_444_800_i64, "orig_iat": 0});
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(other.jwt_secret()),
        )?
    };
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &serde_json::json!({"id": "w1", "exp": 1_000_000_i64, "orig_iat": 0}),
        &jsonwebtoken::EncodingKey::from_secret(app.store.jwt_secret()),
    )?;
    let bearer_forged = format!("Bearer {forged}");
    let bearer_expired = format!("Bearer {expired}");
    let bouncer_bad: &[&[(&str, &str)]] = &[
        &[],
        &[("X-Api-Key", "")],
        &[("X-Api-Key", "not-a-key")],
        &[("X-Api-Key", &key[..key.len() - 1])],
        // A watcher's token is no bouncer key.
        &[("Authorization", &token)],
    ];
    for (method, uri) in BOUNCER_ROUTES {
        for headers in bouncer_bad {
            let (s, b) = call(&app, method, uri, headers, vec![]).await?;
            assert_eq!(s, StatusCode::FORBIDDEN, "{method} {uri} {headers:?}");
            if *method != "HEAD" {
                assert_eq!(js(&b), serde_json::json!({"message": "access forbidden"}));
            }
        }
        let (s, _) = call(&app, method, uri, &[("X-Api-Key", &key)], vec![]).await?;
        assert_eq!(s, StatusCode::OK, "{method} {uri} with the key");
    }
    let watcher_bad: &[&[(&str, &str)]] = &[
        &[],
        &[("Authorization", "")],
        &[("Authorization", "Basic dzE6c2VjcmV0")],
        &[("Authorization", "Bearer ")],
        &[("Authorization", "Bearer not.a.jwt")],
        &[("Authorization", &bearer_forged)],
        &[("Authorization", &bearer_expired)],
        // A bouncer's key is no watcher token.
        &[("X-Api-Key", &key)],
    ];
    for (method, uri) in WATCHER_ROUTES {
        for headers in watcher_bad {
            let (s, b) = call(&app, method, uri, headers, b"[]".to_vec()).await?;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{method} {uri} {headers:?}");
            let v = js(&b);
            assert_eq!(v["code"], 401, "{method} {uri}: {v}");
            assert!(v["message"].is_string(), "{v}");
        }
    }
    let (s, b) = call(&app, "GET", "/v1/heartbeat", &[], vec![]).await?;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(js(&b)["code"], 401);
    let (s, b) = call(
        &app,
        "GET",
        "/v1/alerts",
        &[("Authorization", &bearer_expired)],
        vec![],
    )
    .await?;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(js(&b)["message"], "Token is expired");
    // Login: wrong password, unknown or unvalidated machine, garbage bodies: 401.
    app.store.add_machine("pending", "secretpassword", false)?;
    for body in [
        r#"{"machine_id":"w1","password":"wrong"}"#,
        r#"{"machine_id":"nobody","password":"secretpassword"}"#,
        r#"{"machine_id":"pending","password":"secretpassword"}"#,
        r#"{"machine_id":"","password":""}"#,
        r#"{"machine_id":"w1"}"#,
        "{",
        "",
    ] {
        let (s, b) = call(&app, "POST", "/v1/watchers/login", &[], body.into()).await?;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(js(&b)["code"], 401, "{body}");
    }
    // The token of a deleted machine stops working.
    let (s, _) = call(
        &app,
        "GET",
        "/v1/heartbeat",
        &[("Authorization", &token)],
        vec![],
    )
    .await?;
    assert_eq!(s, StatusCode::OK);
    app.store.delete_machine("w1")?;
    let (s, _) = call(
        &app,
        "GET",
        "/v1/heartbeat",
        &[("Authorization", &token)],
        vec![],
    )
    .await?;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    Ok(())
}

#[tokio::test]
async fn bad_parameters_are_400() -> TestResult {
    let app = app()?;
    let key = app.store.add_bouncer("fw", None)?;
    let token = login(&app).await?;
    let k = [("X-Api-Key", key.as_str())];
    let t = [("Authorization", token.as_str())];
    let cases: &[(&str, &str, Headers)] = &[
        ("GET", "/v1/decisions?ip=garbage", &k),
        ("GET", "/v1/decisions?ip=1.2.3.4.5", &k),
        ("GET", "/v1/decisions?range=10.0.0.0/33", &k),
        ("GET", "/v1/decisions?contains=maybe", &k),
        ("GET", "/v1/decisions?ip=%ZZ", &k),
        ("GET", "/v1/decisions/stream?ip=garbage", &k),
        ("GET", "/v1/decisions/export?format=xml", &k),
        ("GET", "/v1/decisions/export?ip=garbage", &k),
        ("GET", "/v1/alerts?since=yesterday", &t),
        ("GET", "/v1/alerts?limit=-x", &t),
        ("GET", "/v1/alerts?ip=::zz", &t),
        ("GET", "/v1/alerts?has_active_decision=perhaps", &t),
        ("GET", "/v1/alerts/abc", &t),
        ("GET", "/v1/alerts/99999999999999999999999", &t),
        ("DELETE", "/v1/alerts/1.5", &t),
        ("DELETE", "/v1/alerts?until=soon", &t),
        ("DELETE", "/v1/decisions?range=1.2.3.4/99", &t),
        ("DELETE", "/v1/decisions/-", &t),
    ];
    for (method, uri, headers) in cases {
        let (s, b) = call(&app, method, uri, headers, vec![]).await?;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{method} {uri}: {}", js(&b));
        assert!(js(&b)["message"].is_string(), "{method} {uri}: {}", js(&b));
    }
    Ok(())
}

#[tokio::test]
async fn malformed_and_huge_bodies_are_rejected_and_nothing_is_lost() -> TestResult {
    let cfg = ApiConfig {
        max_body_bytes: 64 * 1024,
        ..ApiConfig::default()
    };
    let app = app_with(&cfg, None)?;
    let key = app.store.add_bouncer("fw", None)?;
    let token = login(&app).await?;
    let auth = [("Authorization", token.as_str())];
    let (s, _) = call(&app, "POST", "/v1/alerts", &auth, ALERT.into()).await?;
    assert_eq!(s, StatusCode::CREATED);

    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let bad: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"   ".to_vec(),
        b"null".to_vec(),
        b"{}".to_vec(),
        b"[{]".to_vec(),
        b"[1, 2]".to_vec(),
        b"[{\"decisions\": 5}]".to_vec(),
        b"[{\"decisions\":[{\"duration\":\"zz\",\"value\":\"192.0.2.8\"}]}]".to_vec(),
        ALERT.as_bytes()[..ALERT.len() / 2].to_vec(),
        vec![0xff, 0xfe, b'[', b']'],
        deep.as_bytes()[..60_000].to_vec(),
    ];
    for body in bad {
        let show = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
        let (s, b) = call(&app, "POST", "/v1/alerts", &auth, body).await?;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{show}: {}", js(&b));
        assert!(js(&b)["message"].is_string(), "{show}");
    }
    for (uri, headers) in [
        ("/v1/watchers", &[][..]),
        ("/v1/usage-metrics", &[("X-Api-Key", key.as_str())][..]),
    ] {
        let (s, _) = call(&app, "POST", uri, headers, b"{\"a\":".to_vec()).await?;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{uri}");
    }
    // Beyond the limit: 413, whether the length is announced or not.
    let huge = vec![b'['; 65 * 1024];
    let (s, b) = call(&app, "POST", "/v1/alerts", &auth, huge.clone()).await?;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{}", js(&b));
    let chunks = huge
        .chunks(4096)
        .map(|c| Ok::<_, std::io::Error>(bytes::Bytes::copy_from_slice(c)))
        .collect::<Vec<_>>();
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/v1/alerts")
        .header("Authorization", token.as_str())
        .body(axum::body::Body::from_stream(futures_util::stream::iter(
            chunks,
        )))?;
    let resp = tower::ServiceExt::oneshot(app.router.clone(), req).await?;
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let (s, _) = call(&app, "POST", "/v1/watchers", &[], huge).await?;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);

    // Nothing lost, nothing half-stored, and the API still works.
    let (s, b) = call(
        &app,
        "GET",
        "/v1/decisions?ip=192.0.2.7",
        &[("X-Api-Key", &key)],
        vec![],
    )
    .await?;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(js(&b)[0]["value"], "192.0.2.7");
    let (_, b) = call(
        &app,
        "GET",
        "/v1/decisions?ip=192.0.2.8",
        &[("X-Api-Key", &key)],
        vec![],
    )
    .await?;
    assert_eq!(b, b"null");
    let (_, b) = call(&app, "GET", "/v1/alerts", &auth, vec![]).await?;
    assert_eq!(js(&b).as_array().map(Vec::len), Some(1), "{}", js(&b));
    let (s, _) = call(&app, "POST", "/v1/alerts", &auth, ALERT.into()).await?;
    assert_eq!(s, StatusCode::CREATED);
    Ok(())
}

/// A running `crate::run` on a free port with `header_read_timeout`.
struct Server {
    _dir: tempfile::TempDir,
    addr: std::net::SocketAddr,
    key: String,
    token: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<Result<(), crate::ApiError>>,
}

async fn start(header_read_timeout: Duration) -> Result<Server, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    let key = store.add_bouncer("fw", None)?;
    let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = probe.local_addr()?;
    drop(probe);
    let cfg = ApiConfig {
        listen: addr,
        header_read_timeout,
        ..ApiConfig::default()
    };
    let token = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(crate::run(cfg, store, None, None, token.clone()));
    for _ in 0..100 {
        if TcpStream::connect(addr).await.is_ok() {
            return Ok(Server {
                _dir: dir,
                addr,
                key,
                token,
                task,
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err("server did not start".into())
}

/// One whole request/response on a fresh connection; the status line.
async fn get_status(addr: std::net::SocketAddr, key: &str) -> Result<String, std::io::Error> {
    let mut c = TcpStream::connect(addr).await?;
    let req = format!(
        "GET /v1/decisions?ip=192.0.2.1 HTTP/1.1\r\nHost: x\r\nX-Api-Key: {key}\r\nConnection: close\r\n\r\n"
    );
    c.write_all(req.as_bytes()).await?;
    let mut resp = Vec::new();
    c.read_to_end(&mut resp).await?;
    let text = String::from_utf8_lossy(&resp).into_owned();
    Ok(text.lines().next().unwrap_or_default().to_string())
}

/// Reads until EOF or reset; how long it took, and what came (None when still open at `max`).
async fn wait_closed(c: &mut TcpStream, max: Duration) -> Option<(Duration, Vec<u8>)> {
    let t0 = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at((t0 + max).into(), c.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some((t0.elapsed(), got)),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test]
async fn slow_clients_are_cut_off_and_others_are_served_meanwhile() -> TestResult {
    let timeout = Duration::from_millis(800);
    let srv = start(timeout).await?;
    let head = format!(
        "GET /v1/decisions HTTP/1.1\r\nHost: x\r\nX-Api-Key: {}\r\nX-Pad: {}\r\n\r\n",
        srv.key,
        "a".repeat(200)
    );
    // Trickles the head one byte every 20 ms (about 5 s in all): never done in time.
    let trickler = {
        let addr = srv.addr;
        let head = head.clone();
        tokio::spawn(async move {
            let mut c = TcpStream::connect(addr).await?;
            let t0 = Instant::now();
            for b in head.as_bytes() {
                if c.write_all(&[*b]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let closed = wait_closed(&mut c, Duration::from_secs(3)).await;
            Ok::<_, std::io::Error>((t0.elapsed(), closed))
        })
    };
    // A client that connects and says nothing, and one stuck in HTTP/2's preface.
    let mut silent = TcpStream::connect(srv.addr).await?;
    let mut h2 = TcpStream::connect(srv.addr).await?;
    h2.write_all(b"PRI * HTTP/2.0\r\n").await?;
    // Meanwhile others are served, quickly.
    for _ in 0..10 {
        let t = Instant::now();
        let status = get_status(srv.addr, &srv.key).await?;
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(
            t.elapsed() < Duration::from_millis(500),
            "{:?}",
            t.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (elapsed, got) = wait_closed(&mut silent, Duration::from_secs(5))
        .await
        .ok_or("the silent connection is still open")?;
    assert!(
        elapsed < timeout + Duration::from_millis(700),
        "{elapsed:?}"
    );
    assert!(
        got.is_empty() || got.starts_with(b"HTTP/1.1 408"),
        "{got:?}"
    );
    let (elapsed, _) = wait_closed(&mut h2, Duration::from_secs(5))
        .await
        .ok_or("the half HTTP/2 preface connection is still open")?;
    assert!(
        elapsed < timeout + Duration::from_millis(700),
        "{elapsed:?}"
    );
    let (took, closed) = trickler.await??;
    let (_, got) = closed.ok_or("the trickling connection is still open")?;
    // Cut off long before its head was complete, and never answered 200.
    assert!(took < Duration::from_secs(4), "{took:?}");
    assert!(!String::from_utf8_lossy(&got).contains(" 200 "), "{got:?}");
    // A kept-alive connection idle after its response is closed too.
    let mut kept = TcpStream::connect(srv.addr).await?;
    let req = head.replace("X-Pad", "X-Other");
    kept.write_all(req.as_bytes()).await?;
    let mut buf = [0u8; 1024];
    let n = kept.read(&mut buf).await?;
    assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK"));
    wait_closed(&mut kept, timeout * 3)
        .await
        .ok_or("the idle kept-alive connection is still open")?;
    assert_eq!(get_status(srv.addr, &srv.key).await?, "HTTP/1.1 200 OK");
    srv.token.cancel();
    tokio::time::timeout(Duration::from_secs(5), srv.task).await???;
    Ok(())
}

#[tokio::test]
async fn shutdown_is_prompt_with_idle_and_slow_connections_open() -> TestResult {
    let srv = start(Duration::from_secs(30)).await?;
    // An idle kept-alive connection (after a response) and one half-way through a head.
    let mut kept = TcpStream::connect(srv.addr).await?;
    let req = format!(
        "GET /v1/decisions HTTP/1.1\r\nHost: x\r\nX-Api-Key: {}\r\n\r\n",
        srv.key
    );
    kept.write_all(req.as_bytes()).await?;
    let mut buf = [0u8; 1024];
    let n = kept.read(&mut buf).await?;
    assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK"));
    let mut half = TcpStream::connect(srv.addr).await?;
    half.write_all(b"GET /v1/decisions HTTP/1.1\r\nHost")
        .await?;
    // A request in flight (its body half sent) is finished and answered.
    let mut busy = TcpStream::connect(srv.addr).await?;
    let body = br#"{"machine_id":"late","password":"secretpassword"}"#;
    let head = format!(
        "POST /v1/watchers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    busy.write_all(head.as_bytes()).await?;
    busy.write_all(&body[..10]).await?;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t0 = Instant::now();
    srv.token.cancel();
    tokio::time::sleep(Duration::from_millis(200)).await;
    busy.write_all(&body[10..]).await?;
    let (_, answer) = wait_closed(&mut busy, Duration::from_secs(3))
        .await
        .ok_or("the in-flight connection was not closed after its answer")?;
    assert!(
        answer.starts_with(b"HTTP/1.1 201"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    tokio::time::timeout(Duration::from_secs(5), srv.task).await???;
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    assert!(
        wait_closed(&mut kept, Duration::from_secs(1))
            .await
            .is_some()
    );
    assert!(
        wait_closed(&mut half, Duration::from_secs(1))
            .await
            .is_some()
    );
    assert!(TcpStream::connect(srv.addr).await.is_err());
    Ok(())
}
