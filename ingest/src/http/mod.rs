//! `source: http` (CrowdSec 1.6's http datasource): clients POST a body of JSON values (each
//! value becomes one line, its JSON text as `raw`, as CrowdSec does) or, with
//! `Content-Type: text/plain` (hivewall), plain lines. The answer is sent only once every line
//! of the body is on the channel, so a 200 means "accepted"; a bad key gets 401, a body over
//! `max_body_size` 413, a body that is not JSON 400 (and nothing of it is sent).

#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use base64::Engine;
use tokio_util::sync::CancellationToken;

use crate::lines::Emitter;
use crate::{HttpAuth, HttpConfig};

struct Shared {
    cfg: HttpConfig,
    out: Emitter,
    token: CancellationToken,
}

/// Serves pushes until `token` is cancelled.
pub(crate) async fn run(
    cfg: &HttpConfig,
    out: Emitter,
    token: CancellationToken,
) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(&cfg.listen_addr)
        .await
        .map_err(|e| format!("listening on {}: {e}", cfg.listen_addr))?;
    tracing::info!(addr = %cfg.listen_addr, path = %cfg.path, "http datasource listening");
    let shared = Arc::new(Shared {
        cfg: cfg.clone(),
        out,
        token: token.clone(),
    });
    let app = Router::new().route(&cfg.path, any(push)).with_state(shared);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(token.cancelled_owned())
    .await
    .map_err(|e| format!("http server: {e}"))
}

fn status(code: StatusCode, text: &'static str) -> Response {
    (code, text).into_response()
}

async fn push(
    State(s): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !authorized(&s.cfg.auth, &headers) {
        tracing::warn!(client = %peer, "http datasource: unauthorized request");
        return status(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    match method {
        Method::GET | Method::HEAD => return status(StatusCode::OK, "OK"),
        Method::POST => {}
        _ => return status(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed"),
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > s.cfg.max_body_size) {
        return status(StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large");
    }
    if headers
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes() != b"identity")
    {
        return status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Encoding not supported",
        );
    }
    let bytes = match axum::body::to_bytes(body, s.cfg.max_body_size).await {
        Ok(b) => b,
        Err(_) => return status(StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large"),
    };
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let lines = if ctype.starts_with("text/plain") {
        plain_lines(&bytes, &s.out)
    } else {
        match json_values(&bytes) {
            Ok(v) => v,
            Err(_) if !ctype.contains("json") => plain_lines(&bytes, &s.out),
            Err(e) => {
                tracing::warn!(client = %peer, error = %e, "http datasource: body is not JSON");
                return status(StatusCode::BAD_REQUEST, "Bad Request");
            }
        }
    };
    let src = peer.ip().to_string();
    for line in lines {
        if !s.out.send(line, &src, None, &s.token).await {
            return status(StatusCode::SERVICE_UNAVAILABLE, "Shutting down");
        }
    }
    let code = StatusCode::from_u16(s.cfg.status_code).unwrap_or(StatusCode::OK);
    let mut resp = status(code, "OK");
    for (k, v) in &s.cfg.custom_headers {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::from_str(v)) {
            resp.headers_mut().insert(k, v);
        }
    }
    resp
}

fn authorized(auth: &HttpAuth, headers: &HeaderMap) -> bool {
    match auth {
        HttpAuth::Headers(want) => want.iter().all(|(k, v)| {
            headers
                .get(k.as_str())
                .is_some_and(|got| got.as_bytes() == v.as_bytes())
        }),
        HttpAuth::Basic { username, password } => {
            let Some(given) = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Basic "))
            else {
                return false;
            };
            let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(given.trim()) else {
                return false;
            };
            decoded == format!("{username}:{password}").as_bytes()
        }
    }
}

/// The JSON values of a body, each as its own text (CrowdSec keeps the raw JSON).
fn json_values(body: &[u8]) -> Result<Vec<String>, serde_json::Error> {
    let mut out = Vec::new();
    let mut stream =
        serde_json::Deserializer::from_slice(body).into_iter::<serde::de::IgnoredAny>();
    let mut start = 0;
    while let Some(v) = stream.next() {
        v?;
        let end = stream.byte_offset();
        let text = String::from_utf8_lossy(&body[start..end])
            .trim()
            .to_string();
        out.push(text);
        start = end;
    }
    Ok(out)
}

fn plain_lines(body: &[u8], out: &Emitter) -> Vec<String> {
    body.split(|b| *b == b'\n')
        .map(|l| crate::lines::repair(l, usize::MAX, out))
        .filter(|l| !l.is_empty())
        .collect()
}
