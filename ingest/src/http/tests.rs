//! The http datasource on a real socket, with a minimal HTTP/1.1 client.

use std::collections::HashMap;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{parse_acquis, run};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Sends one request and returns the status code.
async fn request(port: u16, method: &str, headers: &[(&str, &str)], body: &str) -> u16 {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut req = format!(
        "{method} /push HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.unwrap();
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp).await;
    resp.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

async fn start(yaml: &str, cap: usize) -> (mpsc::Receiver<wire::SourcedLine>, CancellationToken) {
    let cfg = parse_acquis(yaml, "t").unwrap();
    let (tx, rx) = mpsc::channel(cap);
    let token = CancellationToken::new();
    tokio::spawn(run(cfg, HashMap::new(), tx, token.clone()));
    tokio::time::sleep(Duration::from_millis(100)).await;
    (rx, token)
}

fn drain(rx: &mut mpsc::Receiver<wire::SourcedLine>) -> Vec<String> {
    let mut v = Vec::new();
    while let Ok(l) = rx.try_recv() {
        v.push(l.line.raw);
    }
    v
}

#[tokio::test]
async fn push_with_header_key() {
    let port = free_port();
    let (mut rx, token) = start(
        &format!(
            "source: http\nlisten_addr: 127.0.0.1:{port}\npath: /push\nauth_type: headers\nheaders:\n  key: s3cret\nmax_body_size: 200\nlabels:\n  type: nginx\n"
        ),
        64,
    )
    .await;
    let key = [("key", "s3cret")];
    // No key, wrong key: 401, nothing read.
    assert_eq!(request(port, "POST", &[], "{\"a\":1}").await, 401);
    assert_eq!(
        request(port, "POST", &[("key", "nope")], "{\"a\":1}").await,
        401
    );
    assert!(drain(&mut rx).is_empty());
    // JSON values, one line each, as their JSON text.
    assert_eq!(
        request(
            port,
            "POST",
            &key,
            "{\"msg\": \"one\"}\n{\"msg\":\"two\"}\n\"three\"\n"
        )
        .await,
        200
    );
    let got = drain(&mut rx);
    assert_eq!(
        got,
        ["{\"msg\": \"one\"}", "{\"msg\":\"two\"}", "\"three\""]
    );
    // Plain lines.
    assert_eq!(
        request(
            port,
            "POST",
            &[("key", "s3cret"), ("Content-Type", "text/plain")],
            "l1\nl2\n"
        )
        .await,
        200
    );
    assert_eq!(drain(&mut rx), ["l1", "l2"]);
    // Broken JSON declared as JSON: 400 and nothing sent.
    assert_eq!(
        request(
            port,
            "POST",
            &[("key", "s3cret"), ("Content-Type", "application/json")],
            "{\"a\":1}\n{broken"
        )
        .await,
        400
    );
    assert!(drain(&mut rx).is_empty());
    // Too large.
    assert_eq!(request(port, "POST", &key, &"x".repeat(300)).await, 413);
    // GET with the key answers 200 (CrowdSec's health check).
    assert_eq!(request(port, "GET", &key, "").await, 200);
    assert!(drain(&mut rx).is_empty());
    token.cancel();
}

#[tokio::test]
async fn basic_auth_and_answer_after_the_lines_are_queued() {
    let port = free_port();
    let (mut rx, token) = start(
        &format!(
            "source: http\nlisten_addr: 127.0.0.1:{port}\npath: /push\nauth_type: basic_auth\nbasic_auth:\n  username: u\n  password: p\nlabels:\n  type: nginx\n"
        ),
        1,
    )
    .await;
    // base64("u:p") = dTpw
    assert_eq!(
        request(port, "POST", &[("Authorization", "Basic dTp4")], "1").await,
        401
    );
    // Channel of 1: the answer waits until the consumer made room for all three lines.
    let push = tokio::spawn(async move {
        request(port, "POST", &[("Authorization", "Basic dTpw")], "1 2 3").await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!push.is_finished(), "answered before the lines were queued");
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(rx.recv().await.unwrap().line.raw);
    }
    assert_eq!(got, ["1", "2", "3"]);
    assert_eq!(push.await.unwrap(), 200);
    token.cancel();
}
