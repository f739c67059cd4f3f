//! The HTTP side: CrowdSec's Local API routes and hivewall's administration routes.

// Helpers return the ready error `Response` to send; boxing it would buy nothing per request.
#![allow(clippy::result_large_err)]

mod admin_routes;
mod bouncer;
mod export;
#[cfg(test)]
mod input_tests;
mod serve;
#[cfg(test)]
mod tests;
mod watcher;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use tokio_util::sync::CancellationToken;

use crate::MetricsRender;
use crate::config::{ApiConfig, ApiError, ApiMode};
use crate::store::{AlertProfiler, Store, StoreError};

/// What every handler sees.
#[derive(Clone)]
pub(crate) struct AppState {
    pub store: Store,
    pub profiler: Option<Arc<dyn AlertProfiler>>,
    pub metrics_render: Option<MetricsRender>,
    pub max_body: usize,
    pub jwt_ttl: std::time::Duration,
    /// The distributed mode's replica: writes go to its topics (`None`: the store).
    pub replica: Option<crate::bus::Replica>,
}

/// `{"message": ...}` with `status`, CrowdSec's error shape.
pub(crate) fn message(status: StatusCode, text: impl Into<String>) -> Response {
    json(status, &serde_json::json!({ "message": text.into() }))
}

/// A JSON answer.
pub(crate) fn json<T: serde::Serialize>(status: StatusCode, v: &T) -> Response {
    match serde_json::to_vec(v) {
        Ok(b) => (
            status,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            b,
        )
            .into_response(),
        Err(e) => message(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// Maps a store error to CrowdSec's status codes.
pub(crate) fn store_error(e: &StoreError) -> Response {
    let status = match e {
        StoreError::Invalid(_) => StatusCode::BAD_REQUEST,
        StoreError::NotFound(_) => StatusCode::NOT_FOUND,
        StoreError::Exists(_) => StatusCode::FORBIDDEN,
        _ => {
            tracing::error!(error = %e, "store failure");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    message(status, e.to_string())
}

/// The query string as pairs (400 on malformed encoding).
pub(crate) fn query_pairs(req: &Request) -> Result<Vec<(String, String)>, Response> {
    match req.uri().query() {
        None | Some("") => Ok(Vec::new()),
        Some(_) => axum::extract::Query::<Vec<(String, String)>>::try_from_uri(req.uri())
            .map(|q| q.0)
            .map_err(|e| message(StatusCode::BAD_REQUEST, e.body_text())),
    }
}

/// Reads the whole body (413 beyond the limit, 400 when it breaks off).
pub(crate) async fn read_body(req: Request, limit: usize) -> Result<bytes::Bytes, Response> {
    let too_big = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64);
    if too_big {
        return Err(message(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large",
        ));
    }
    axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|e| {
            if format!("{e:?}").contains("LengthLimit") || e.to_string().contains("length limit") {
                message(StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
            } else {
                message(
                    StatusCode::BAD_REQUEST,
                    format!("unable to read request body: {e}"),
                )
            }
        })
}

/// Parses a JSON body with a Go-like message on failure (400).
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| {
        let text = if body.iter().all(u8::is_ascii_whitespace) {
            "EOF".to_string()
        } else {
            format!("invalid character in JSON body: {e}")
        };
        message(StatusCode::BAD_REQUEST, text)
    })
}

/// The peer's IP (empty when unknown, e.g. in-process tests).
pub(crate) fn client_ip(req: &Request) -> String {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default()
}

pub(crate) fn user_agent(headers: &HeaderMap) -> String {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

async fn count_requests(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().to_string();
    let resp = next.run(req).await;
    metrics::counter!(
        "hivewall_api_requests_total",
        "route" => route,
        "method" => method,
        "status" => resp.status().as_u16().to_string()
    )
    .increment(1);
    resp
}

async fn metrics_handler(State(st): State<AppState>) -> Response {
    let text = st.metrics_render.as_ref().map(|f| f()).unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

async fn not_found() -> Response {
    message(StatusCode::NOT_FOUND, "404 page not found")
}

async fn method_not_allowed(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED
        && resp.headers().get(header::CONTENT_TYPE).is_none()
    {
        let mut r = message(StatusCode::METHOD_NOT_ALLOWED, "405 method not allowed");
        if let Some(allow) = resp.headers().get(header::ALLOW) {
            r.headers_mut().insert(header::ALLOW, allow.clone());
        }
        return r;
    }
    resp
}

/// The Local API and administration routes over `store`.
pub fn router(
    store: Store,
    profiler: Option<Arc<dyn AlertProfiler>>,
    cfg: &ApiConfig,
    metrics_render: Option<MetricsRender>,
) -> Router {
    let state = AppState {
        store,
        profiler,
        metrics_render,
        max_body: cfg.max_body_bytes,
        jwt_ttl: cfg.jwt_ttl,
        replica: match &cfg.mode {
            ApiMode::Embedded => None,
            ApiMode::Replica(r) => Some(r.clone()),
        },
    };
    let lapi = Router::new()
        .route(
            "/v1/decisions",
            get(bouncer::get_decisions)
                .head(bouncer::get_decisions)
                .delete(watcher::delete_decisions),
        )
        .route(
            "/v1/decisions/stream",
            get(bouncer::stream).head(bouncer::stream),
        )
        .route("/v1/decisions/export", get(export::export))
        .route(
            "/v1/decisions/{decision_id}",
            delete(watcher::delete_decision),
        )
        .route("/v1/usage-metrics", post(bouncer::usage_metrics))
        .route(
            "/v1/watchers",
            post(watcher::register).delete(watcher::delete_self),
        )
        .route("/v1/watchers/login", post(watcher::login))
        .route(
            "/v1/heartbeat",
            get(watcher::heartbeat).head(watcher::heartbeat),
        )
        .route(
            "/v1/alerts",
            post(watcher::create_alerts)
                .get(watcher::find_alerts)
                .head(watcher::find_alerts)
                .delete(watcher::delete_alerts),
        )
        .route(
            "/v1/alerts/{alert_id}",
            get(watcher::get_alert)
                .head(watcher::get_alert)
                .delete(watcher::delete_alert),
        )
        .route("/metrics", get(metrics_handler));
    let admin = admin_routes::routes();
    lapi.merge(admin)
        .fallback(not_found)
        .layer(middleware::from_fn(method_not_allowed))
        .route_layer(middleware::from_fn(count_requests))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            cfg.request_timeout,
        ))
        .layer(tower::limit::ConcurrencyLimitLayer::new(
            cfg.max_concurrency.max(1),
        ))
        .with_state(state)
}

/// Binds `cfg.listen` and serves the Local API until `shutdown` is cancelled, then shuts
/// down gracefully (open connections get `cfg.shutdown_grace`). A client must send its request
/// headers within `cfg.header_read_timeout` or its connection is closed. Also sweeps expired
/// decisions every `cfg.sweep_interval`.
pub async fn run(
    cfg: ApiConfig,
    store: Store,
    profiler: Option<Arc<dyn AlertProfiler>>,
    metrics_render: Option<MetricsRender>,
    shutdown: CancellationToken,
) -> Result<(), ApiError> {
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|source| ApiError::Bind {
            addr: cfg.listen,
            source,
        })?;
    let addr = listener.local_addr().unwrap_or(cfg.listen);
    tracing::info!(%addr, "local API listening");
    let sweeper = {
        let store = store.clone();
        let token = shutdown.child_token();
        let every = cfg.sweep_interval.max(std::time::Duration::from_millis(50));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = token.cancelled() => break,
                    _ = tick.tick() => {
                        let s = store.clone();
                        match tokio::task::spawn_blocking(move || s.sweep()).await {
                            Ok(Err(e)) => tracing::warn!(error = %e, "decision sweep failed"),
                            Err(e) => tracing::warn!(error = %e, "decision sweep panicked"),
                            Ok(Ok(_)) => {}
                        }
                    }
                }
            }
        })
    };
    let app = router(store, profiler, &cfg, metrics_render);
    let timeouts = serve::ServeTimeouts {
        header_read: cfg.header_read_timeout,
        shutdown_grace: cfg.shutdown_grace,
    };
    serve::serve(listener, app, timeouts, shutdown.clone()).await;
    shutdown.cancel();
    let _ = sweeper.await;
    Ok(())
}

/// An empty 200 (HEAD answers).
pub(crate) fn empty_ok() -> Response {
    (StatusCode::OK, Body::empty()).into_response()
}
