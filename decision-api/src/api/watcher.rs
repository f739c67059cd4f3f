//! Watcher routes (machine JWT): registration, login, heartbeat, alerts, decision deletion.

use axum::extract::{Path, Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::{
    AppState, client_ip, empty_ok, json, message, parse_json, query_pairs, read_body, store_error,
    user_agent,
};
use crate::godur;
use crate::model::{self, LoginResponse, WatcherLogin, WatcherRegistration};
use crate::store::filter::{AlertFilter, DecisionFilter};

/// JWT claims, as gin-jwt writes them for CrowdSec.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    id: String,
    exp: i64,
    orig_iat: i64,
}

fn unauthorized(text: &str) -> Response {
    json(
        StatusCode::UNAUTHORIZED,
        &serde_json::json!({ "code": 401, "message": text }),
    )
}

/// The machine id from the request's bearer token, or gin-jwt's 401.
pub(crate) fn auth(st: &AppState, req: &Request) -> Result<String, Response> {
    let h = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if h.is_empty() {
        return Err(unauthorized("auth header is empty"));
    }
    let Some(token) = h
        .strip_prefix("Bearer ")
        .or_else(|| h.strip_prefix("bearer "))
    else {
        return Err(unauthorized("auth header is invalid"));
    };
    let mut v = Validation::new(Algorithm::HS256);
    v.leeway = 0;
    v.required_spec_claims = ["exp".to_string()].into_iter().collect();
    let data = jsonwebtoken::decode::<Claims>(
        token.trim(),
        &DecodingKey::from_secret(st.store.jwt_secret()),
        &v,
    )
    .map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::ExpiredSignature => unauthorized("Token is expired"),
        _ => unauthorized("signature is invalid"),
    })?;
    if !st.store.machine_exists(&data.claims.id) {
        return Err(unauthorized("machine not found"));
    }
    Ok(data.claims.id)
}

macro_rules! try_resp {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

/// `POST /v1/watchers`: registers an unvalidated machine (201).
pub(crate) async fn register(State(st): State<AppState>, req: Request) -> Response {
    let body = try_resp!(read_body(req, st.max_body).await);
    let input: WatcherRegistration = try_resp!(parse_json(&body));
    if input.machine_id.is_empty() || input.password.is_empty() {
        return message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation failure list:\nmachine_id in body is required\npassword in body is required",
        );
    }
    match st
        .store
        .add_machine(&input.machine_id, &input.password, false)
    {
        Ok(()) => StatusCode::CREATED.into_response(),
        Err(e) => store_error(&e),
    }
}

/// `DELETE /v1/watchers`: the machine deletes itself (204).
pub(crate) async fn delete_self(State(st): State<AppState>, req: Request) -> Response {
    let id = try_resp!(auth(&st, &req));
    match st.store.delete_machine(&id) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => store_error(&e),
    }
}

/// `POST /v1/watchers/login`: a JWT for a validated machine.
pub(crate) async fn login(State(st): State<AppState>, req: Request) -> Response {
    let ip = client_ip(&req);
    let ua = user_agent(req.headers());
    let body = try_resp!(read_body(req, st.max_body).await);
    let input: WatcherLogin = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return unauthorized(&format!("missing: {e}")),
    };
    if input.machine_id.is_empty() || input.password.is_empty() {
        return unauthorized("missing Username or Password");
    }
    if let Err(e) = st.store.login_machine(
        &input.machine_id,
        &input.password,
        &ip,
        &ua,
        &input.scenarios,
    ) {
        return unauthorized(&e.to_string());
    }
    let now = godur::now_ms() / 1000;
    let ttl = i64::try_from(st.jwt_ttl.as_secs()).unwrap_or(3600).max(1);
    let claims = Claims {
        id: input.machine_id,
        exp: now + ttl,
        orig_iat: now,
    };
    match jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(st.store.jwt_secret()),
    ) {
        Ok(token) => json(
            StatusCode::OK,
            &LoginResponse {
                code: 200,
                expire: godur::rfc3339_ms((now + ttl) * 1000),
                token,
            },
        ),
        Err(e) => message(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// `GET/HEAD /v1/heartbeat`.
pub(crate) async fn heartbeat(State(st): State<AppState>, req: Request) -> Response {
    let id = try_resp!(auth(&st, &req));
    let _ = st.store.heartbeat_machine(&id);
    empty_ok()
}

/// `POST /v1/alerts`: stores alerts (profiles for decision-less ones); 201 with ids as strings.
pub(crate) async fn create_alerts(State(st): State<AppState>, req: Request) -> Response {
    let id = try_resp!(auth(&st, &req));
    let body = try_resp!(read_body(req, st.max_body).await);
    let alerts: Vec<model::Alert> = try_resp!(parse_json(&body));
    if let Some(rep) = &st.replica {
        return match rep.publish_alerts(alerts, st.profiler.as_deref()).await {
            Ok(ids) => json(
                StatusCode::CREATED,
                &ids.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ),
            Err(e) => crate::bus::stream::unavailable(&e),
        };
    }
    let store = st.store.clone();
    let profiler = st.profiler.clone();
    let res = tokio::task::spawn_blocking(move || {
        store.push_model_alerts(&id, alerts, profiler.as_deref())
    })
    .await;
    match res {
        Ok(Ok(ids)) => json(
            StatusCode::CREATED,
            &ids.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ),
        Ok(Err(e)) => store_error(&e),
        Err(e) => message(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// `GET/HEAD /v1/alerts`.
pub(crate) async fn find_alerts(State(st): State<AppState>, req: Request) -> Response {
    try_resp!(auth(&st, &req));
    let pairs = try_resp!(query_pairs(&req));
    let f = match AlertFilter::from_query(&pairs) {
        Ok(f) => f,
        Err(e) => return message(StatusCode::BAD_REQUEST, e.0),
    };
    let head = req.method() == Method::HEAD;
    let store = st.store.clone();
    match tokio::task::spawn_blocking(move || store.list_alerts(&f)).await {
        Ok(Ok(_)) if head => empty_ok(),
        Ok(Ok(page)) => json(StatusCode::OK, &page),
        Ok(Err(e)) => store_error(&e),
        Err(e) => message(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

fn parse_id(raw: &str, what: &str) -> Result<i64, Response> {
    raw.parse::<i64>().map_err(|_| {
        message(
            StatusCode::BAD_REQUEST,
            format!("{what} must be valid integer"),
        )
    })
}

/// `GET/HEAD /v1/alerts/{alert_id}`.
pub(crate) async fn get_alert(
    State(st): State<AppState>,
    Path(raw): Path<String>,
    req: Request,
) -> Response {
    try_resp!(auth(&st, &req));
    let id = try_resp!(parse_id(&raw, "alert_id"));
    match st.store.get_alert(id) {
        Ok(_) if req.method() == Method::HEAD => empty_ok(),
        Ok(a) => json(StatusCode::OK, &a),
        Err(e) => store_error(&e),
    }
}

/// `DELETE /v1/alerts`.
pub(crate) async fn delete_alerts(State(st): State<AppState>, req: Request) -> Response {
    try_resp!(auth(&st, &req));
    let pairs = try_resp!(query_pairs(&req));
    let f = match AlertFilter::from_query(&pairs) {
        Ok(f) => f,
        Err(e) => return message(StatusCode::BAD_REQUEST, e.0),
    };
    if st.replica.is_some() {
        return super::admin_routes::replica_alerts_read_only();
    }
    let store = st.store.clone();
    match tokio::task::spawn_blocking(move || store.delete_alerts(&f)).await {
        Ok(Ok(n)) => json(
            StatusCode::OK,
            &serde_json::json!({ "nbDeleted": n.to_string() }),
        ),
        Ok(Err(e)) => store_error(&e),
        Err(e) => message(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// `DELETE /v1/alerts/{alert_id}`.
pub(crate) async fn delete_alert(
    State(st): State<AppState>,
    Path(raw): Path<String>,
    req: Request,
) -> Response {
    try_resp!(auth(&st, &req));
    let id = try_resp!(parse_id(&raw, "alert_id"));
    if st.replica.is_some() {
        return super::admin_routes::replica_alerts_read_only();
    }
    match st.store.delete_alert(id) {
        Ok(n) => json(
            StatusCode::OK,
            &serde_json::json!({ "nbDeleted": n.to_string() }),
        ),
        Err(e) => store_error(&e),
    }
}

/// `DELETE /v1/decisions`.
pub(crate) async fn delete_decisions(State(st): State<AppState>, req: Request) -> Response {
    try_resp!(auth(&st, &req));
    let pairs = try_resp!(query_pairs(&req));
    let f = match DecisionFilter::from_delete_query(&pairs) {
        Ok(f) => f,
        Err(e) => return message(StatusCode::BAD_REQUEST, e.0),
    };
    if let Some(rep) = &st.replica {
        let found = st.store.query_decisions(&f);
        return match rep.publish_deletions(&found).await {
            Ok(n) => json(
                StatusCode::OK,
                &serde_json::json!({ "nbDeleted": n.to_string() }),
            ),
            Err(e) => crate::bus::stream::unavailable(&e),
        };
    }
    let store = st.store.clone();
    match tokio::task::spawn_blocking(move || store.delete_decisions(&f)).await {
        Ok(Ok(v)) => json(
            StatusCode::OK,
            &serde_json::json!({ "nbDeleted": v.len().to_string() }),
        ),
        Ok(Err(e)) => store_error(&e),
        Err(e) => message(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// `DELETE /v1/decisions/{decision_id}`.
pub(crate) async fn delete_decision(
    State(st): State<AppState>,
    Path(raw): Path<String>,
    req: Request,
) -> Response {
    try_resp!(auth(&st, &req));
    let id = try_resp!(parse_id(&raw, "decision_id"));
    if let Some(rep) = &st.replica
        && let Some(d) = st.store.live_decision(id)
    {
        return match rep.publish_deletions(&[d]).await {
            Ok(n) => json(
                StatusCode::OK,
                &serde_json::json!({ "nbDeleted": n.to_string() }),
            ),
            Err(e) => crate::bus::stream::unavailable(&e),
        };
    }
    match st.store.delete_decision(id) {
        Ok(n) => json(
            StatusCode::OK,
            &serde_json::json!({ "nbDeleted": n.to_string() }),
        ),
        Err(e) => store_error(&e),
    }
}
