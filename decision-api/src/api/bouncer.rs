//! Bouncer routes (`X-Api-Key`): `GET/HEAD /v1/decisions`, `GET/HEAD /v1/decisions/stream`,
//! `POST /v1/usage-metrics`.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{AppState, client_ip, empty_ok, message, query_pairs, read_body, user_agent};
use crate::godur;
use crate::store::filter::DecisionFilter;
use crate::store::record::BouncerRecord;
use crate::store::{StreamKind, StreamWriter};

/// The bouncer behind the request's `X-Api-Key`, or CrowdSec's 403.
pub(crate) fn auth(st: &AppState, req: &Request) -> Result<BouncerRecord, Response> {
    let key = req
        .headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    st.store
        .authenticate_bouncer(key.trim())
        .ok_or_else(|| message(StatusCode::FORBIDDEN, "access forbidden"))
}

/// [`auth`], and on a replica, after reading the bouncers topic when the key is unknown.
async fn auth_any(st: &AppState, key: &str) -> Result<BouncerRecord, Response> {
    match &st.replica {
        Some(r) => crate::bus::stream::auth(r, key).await,
        None => st
            .store
            .authenticate_bouncer(key)
            .ok_or_else(|| message(StatusCode::FORBIDDEN, "access forbidden")),
    }
}

/// `GET/HEAD /v1/decisions`.
pub(crate) async fn get_decisions(State(st): State<AppState>, req: Request) -> Response {
    let key = crate::bus::stream::api_key(&req);
    let b = match auth_any(&st, &key).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let pairs = match query_pairs(&req) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let f = match DecisionFilter::from_query(&pairs) {
        Ok(f) => f,
        Err(e) => return message(StatusCode::BAD_REQUEST, e.0),
    };
    let found = st.store.query_decisions(&f);
    if found.is_empty() {
        metrics::counter!("hivewall_bouncer_lookups_total", "result" => "empty").increment(1);
    } else {
        metrics::counter!("hivewall_bouncer_lookups_total", "result" => "hit").increment(1);
    }
    if req.method() == Method::HEAD {
        return empty_ok();
    }
    let _ = st
        .store
        .touch_bouncer(&b.name, &client_ip(&req), &user_agent(req.headers()), None);
    // CrowdSec answers `null` when nothing matches.
    let now = godur::now_ns();
    let mut out = Vec::with_capacity(64 + found.len() * 160);
    if found.is_empty() {
        out.extend_from_slice(b"null");
    } else {
        out.push(b'[');
        for (i, d) in found.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            d.write_bouncer_json(now, &mut out);
        }
        out.push(b']');
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        out,
    )
        .into_response()
}

/// `GET/HEAD /v1/decisions/stream`.
pub(crate) async fn stream(State(st): State<AppState>, req: Request) -> Response {
    if let Some(r) = &st.replica {
        return crate::bus::stream::stream(r, req).await;
    }
    let b = match auth(&st, &req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if req.method() == Method::HEAD {
        // As CrowdSec: no body, and the cursor is left alone.
        return empty_ok();
    }
    let pairs = match query_pairs(&req) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut f = match DecisionFilter::from_query(&pairs) {
        Ok(f) => f,
        Err(e) => return message(StatusCode::BAD_REQUEST, e.0),
    };
    if !pairs.iter().any(|(k, _)| k == "scopes" || k == "scope") {
        f.scopes = vec!["ip".to_string(), "range".to_string()];
    }
    let startup = pairs.iter().any(|(k, v)| k == "startup" && v == "true");
    // A cursor from the future (store recreated) cannot be trusted: resend everything.
    let kind = if startup || b.cursor > st.store.last_seq() {
        StreamKind::Startup
    } else {
        StreamKind::Delta { cursor: b.cursor }
    };
    let ip = client_ip(&req);
    let ua = user_agent(req.headers());
    let writer = StreamWriter::new(st.store.clone(), kind, f);
    let store = st.store.clone();
    let name = b.name.clone();
    // Pages are produced on demand; the cursor moves only once the last page was produced.
    let body = futures_util::stream::unfold(Some(writer), move |state| {
        let store = store.clone();
        let name = name.clone();
        let ip = ip.clone();
        let ua = ua.clone();
        async move {
            let mut w = state?;
            match w.next_chunk() {
                Some(chunk) => Some((
                    Ok::<_, std::convert::Infallible>(bytes::Bytes::from(chunk)),
                    Some(w),
                )),
                None => {
                    if let Err(e) = store.touch_bouncer(&name, &ip, &ua, Some(w.snapshot())) {
                        tracing::warn!(bouncer = %name, error = %e, "saving stream cursor failed");
                    }
                    None
                }
            }
        }
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response()
}

/// `POST /v1/usage-metrics`: accepted and dropped (bouncer key or watcher token).
pub(crate) async fn usage_metrics(State(st): State<AppState>, req: Request) -> Response {
    let ok_bouncer = auth(&st, &req).is_ok();
    let ok_watcher = super::watcher::auth(&st, &req).is_ok();
    if !ok_bouncer && !ok_watcher {
        return message(StatusCode::UNAUTHORIZED, "not allowed");
    }
    let body = match read_body(req, st.max_body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    if let Err(r) = super::parse_json::<serde_json::Value>(&body) {
        return r;
    }
    (
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        "{}",
    )
        .into_response()
}
