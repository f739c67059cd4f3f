//! The handlers: CAPI's request and response shapes, Go-style `{"message": ...}` errors.

// Helpers return the ready error `Response`; boxing it would buy nothing per request.
#![allow(clippy::result_large_err)]

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use wire::signal::{SIGNAL_VERSION, Signal};

use super::watchers::RegisterError;
use super::{App, now, save_watchers, stream};
use crate::duration::format_rfc3339;
use crate::rule::{Outcome, Rejected};

type AppState = State<Arc<App>>;

/// Signals one request may carry (CrowdSec sends 50).
const MAX_SIGNALS_PER_REQUEST: usize = 10_000;

/// The lock, even if a handler panicked while holding it (the state is still consistent:
/// the rule never leaves it half-changed across a panic-free section).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(crate) fn message(status: StatusCode, text: impl Into<String>) -> Response {
    json(status, &serde_json::json!({ "message": text.into() }))
}

pub(crate) fn json<T: serde::Serialize>(status: StatusCode, v: &T) -> Response {
    match serde_json::to_vec(v) {
        Ok(b) => (
            status,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            b,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Response> {
    serde_json::from_slice(body)
        .map_err(|e| message(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")))
}

/// The watcher of the request's bearer token (401 otherwise).
pub(crate) fn auth(app: &App, headers: &HeaderMap) -> Result<String, Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .ok_or_else(|| message(StatusCode::UNAUTHORIZED, "missing bearer token"))?;
    match app.tokens.verify(token.trim()) {
        Some(id) if lock(&app.watchers).exists(&id) => Ok(id),
        _ => Err(message(
            StatusCode::UNAUTHORIZED,
            "invalid or expired token",
        )),
    }
}

macro_rules! try_resp {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

pub(crate) fn router(app: Arc<App>, max_body: usize) -> Router {
    let mut r = Router::new();
    for v in ["/v2", "/v3"] {
        r = r
            .route(&format!("{v}/watchers"), post(register).delete(unregister))
            .route(&format!("{v}/watchers/login"), post(login))
            .route(&format!("{v}/signals"), post(signals))
            .route(&format!("{v}/metrics"), post(metrics))
            .route(&format!("{v}/metrics/"), post(metrics));
    }
    r.route("/v2/decisions/stream", get(stream::stream_v2))
        .route("/v3/decisions/stream", get(stream::stream_v3))
        .route("/hivewall/v1/stats", get(stats))
        .route("/health", get(|| async { StatusCode::OK }))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(app)
}

#[derive(Deserialize)]
struct Credentials {
    #[serde(default)]
    machine_id: String,
    #[serde(default)]
    password: String,
}

async fn register(State(app): AppState, body: Bytes) -> Response {
    let c: Credentials = try_resp!(parse(&body));
    if !app.open_registration && !lock(&app.watchers).exists(&c.machine_id) {
        return message(StatusCode::FORBIDDEN, "registration is closed");
    }
    let added = lock(&app.watchers).register(&c.machine_id, &c.password, now());
    match added {
        Ok(new) => {
            if new {
                let app2 = app.clone();
                match tokio::task::spawn_blocking(move || save_watchers(&app2)).await {
                    Ok(Ok(())) => tracing::info!(watcher = %c.machine_id, "watcher registered"),
                    Ok(Err(e)) => return message(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
                    Err(e) => return message(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
                }
            }
            message(StatusCode::OK, "OK")
        }
        Err(RegisterError::Exists) => {
            message(StatusCode::FORBIDDEN, "machine_id already registered")
        }
        Err(RegisterError::Full) => message(StatusCode::FORBIDDEN, "no room for more watchers"),
        Err(RegisterError::Invalid(why)) => message(StatusCode::BAD_REQUEST, why),
    }
}

async fn unregister(State(app): AppState, headers: HeaderMap) -> Response {
    let id = try_resp!(auth(&app, &headers));
    lock(&app.watchers).remove(&id);
    let app2 = app.clone();
    match tokio::task::spawn_blocking(move || save_watchers(&app2)).await {
        Ok(Ok(())) => message(StatusCode::OK, "OK"),
        Ok(Err(e)) => message(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => message(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn login(State(app): AppState, body: Bytes) -> Response {
    let c: Credentials = try_resp!(parse(&body));
    if !lock(&app.watchers).check(&c.machine_id, &c.password) {
        return message(StatusCode::FORBIDDEN, "invalid machine_id or password");
    }
    match app.tokens.issue(&c.machine_id, now()) {
        Ok((token, exp)) => json(
            StatusCode::OK,
            &serde_json::json!({ "code": 200, "expire": format_rfc3339(exp), "token": token }),
        ),
        Err(e) => message(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// The fields of CAPI's `AddSignalsRequestItem` the consensus keeps (the rest is ignored:
/// message, context, decisions, scenario hash/version/trust, source AS and geo).
#[derive(Deserialize)]
struct CapiSignal {
    #[serde(default)]
    scenario: String,
    #[serde(default)]
    source: Option<CapiSource>,
    #[serde(default)]
    start_at: String,
    #[serde(default)]
    stop_at: String,
}

#[derive(Deserialize)]
struct CapiSource {
    #[serde(default)]
    scope: String,
    #[serde(default)]
    value: String,
}

/// The metric label of what became of a signal.
pub(crate) fn outcome_label(r: &Result<Outcome, Rejected>) -> &'static str {
    match r {
        Ok(Outcome::Listed) => "listed",
        Ok(Outcome::Counted) => "counted",
        Ok(Outcome::Allowlisted) => "allowlisted",
        Ok(Outcome::Reserved) => "reserved",
        Ok(Outcome::Stale) => "stale",
        Ok(Outcome::Refused(_)) => "refused",
        Err(Rejected::Future) => "future",
        Err(_) => "malformed",
    }
}

async fn signals(State(app): AppState, headers: HeaderMap, body: Bytes) -> Response {
    let id = try_resp!(auth(&app, &headers));
    let items: Vec<CapiSignal> = try_resp!(parse(&body));
    if items.len() > MAX_SIGNALS_PER_REQUEST {
        return message(
            StatusCode::BAD_REQUEST,
            format!("more than {MAX_SIGNALS_PER_REQUEST} signals"),
        );
    }
    let at = now();
    let mut s = lock(&app.shared);
    let (mut ok, mut bad) = (0u64, 0u64);
    for item in items {
        let source = item.source.unwrap_or(CapiSource {
            scope: String::new(),
            value: String::new(),
        });
        let sig = Signal {
            v: SIGNAL_VERSION,
            reporter: id.clone(),
            scenario: item.scenario,
            scope: source.scope,
            value: source.value,
            first_seen: item.start_at,
            last_seen: item.stop_at,
            events: 1,
        };
        let label = outcome_label(&s.consensus.observe_signal(&sig, at));
        if matches!(label, "malformed" | "future") {
            bad += 1
        } else {
            ok += 1
        }
        metrics::counter!("hivewall_consensus_signals_total", "outcome" => label).increment(1);
    }
    drop(s);
    tracing::debug!(watcher = %id, ok, bad, "signals");
    message(StatusCode::OK, "OK")
}

async fn metrics(State(app): AppState, headers: HeaderMap, _body: Bytes) -> Response {
    try_resp!(auth(&app, &headers));
    message(StatusCode::OK, "OK")
}

async fn stats(State(app): AppState) -> Response {
    let s = lock(&app.shared);
    let c = &s.consensus;
    let body = serde_json::json!({
        "reporters": c.reporters().len(),
        "tallied": c.tallied(),
        "listed": c.feed().active_len(),
        "stats": c.stats(),
    });
    drop(s);
    json(StatusCode::OK, &body)
}
