//! Administration routes for the `hivewall` CLI (`/hivewall/admin/v1/...`), authenticated
//! by the `X-Hivewall-Admin-Key` header; types in [`crate::admin`].

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};

use super::{AppState, json, message, parse_json, query_pairs, read_body, store_error};
use crate::admin::{
    ADMIN_KEY_HEADER, AddBouncerRequest, AddBouncerResponse, AddDecisionRequest,
    AddDecisionsResponse, AddMachineRequest, DeleteResponse,
};
use crate::bus::stream::unavailable;
use crate::godur;
use crate::store::filter::{AlertFilter, DecisionFilter};

macro_rules! try_resp {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

fn check(st: &AppState, req: &Request) -> Result<(), Response> {
    let key = req
        .headers()
        .get(ADMIN_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if st.store.check_admin_key(key.trim()) {
        Ok(())
    } else {
        Err(message(StatusCode::UNAUTHORIZED, "invalid admin key"))
    }
}

/// Adds manual decisions through the decisions topic (distributed mode).
async fn publish_manual(rep: &crate::bus::Replica, reqs: &[AddDecisionRequest]) -> Response {
    let alert = match crate::admin::manual_alert(reqs) {
        Ok(a) => a,
        Err(e) => return store_error(&e),
    };
    match rep.publish_alerts(vec![alert], None).await {
        Ok(ids) => json(
            StatusCode::CREATED,
            &AddDecisionsResponse {
                alert_id: ids.first().copied().unwrap_or(0),
                added: reqs.len(),
            },
        ),
        Err(e) => unavailable(&e),
    }
}

/// Alerts of a replica are derived from the decisions topic: delete decisions instead.
pub(crate) fn replica_alerts_read_only() -> Response {
    message(
        StatusCode::BAD_REQUEST,
        "alerts cannot be deleted in the distributed mode: delete their decisions instead",
    )
}

fn deleted(n: usize) -> Response {
    json(StatusCode::OK, &DeleteResponse { deleted: n })
}

async fn list_decisions(State(st): State<AppState>, req: Request) -> Response {
    try_resp!(check(&st, &req));
    let pairs = try_resp!(query_pairs(&req));
    let mut f = match DecisionFilter::from_query(&pairs) {
        Ok(f) => f,
        Err(e) => return message(StatusCode::BAD_REQUEST, e.0),
    };
    f.include_simulated = true;
    let now = godur::now_ns();
    let out: Vec<_> = st
        .store
        .query_decisions(&f)
        .iter()
        .map(|d| d.to_model(now))
        .collect();
    json(StatusCode::OK, &out)
}

async fn add_decision(State(st): State<AppState>, req: Request) -> Response {
    try_resp!(check(&st, &req));
    let body = try_resp!(read_body(req, st.max_body).await);
    let r: AddDecisionRequest = try_resp!(parse_json(&body));
    if let Some(rep) = &st.replica {
        return publish_manual(rep, std::slice::from_ref(&r)).await;
    }
    match st.store.add_decision(&r) {
        Ok(v) => json(StatusCode::CREATED, &v),
        Err(e) => store_error(&e),
    }
}

async fn import_decisions(State(st): State<AppState>, req: Request) -> Response {
    try_resp!(check(&st, &req));
    let body = try_resp!(read_body(req, st.max_body).await);
    let r: Vec<AddDecisionRequest> = try_resp!(parse_json(&body));
    if let Some(rep) = &st.replica {
        return publish_manual(rep, &r).await;
    }
    let store = st.store.clone();
    match tokio::task::spawn_blocking(move || store.import_decisions(&r)).await {
        Ok(Ok(v)) => json(StatusCode::CREATED, &v),
        Ok(Err(e)) => store_error(&e),
        Err(e) => message(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn delete_decisions(State(st): State<AppState>, req: Request) -> Response {
    try_resp!(check(&st, &req));
    let pairs = try_resp!(query_pairs(&req));
    let f = match DecisionFilter::from_delete_query(&pairs) {
        Ok(f) => f,
        Err(e) => return message(StatusCode::BAD_REQUEST, e.0),
    };
    if let Some(rep) = &st.replica {
        let found = st.store.query_decisions(&f);
        return match rep.publish_deletions(&found).await {
            Ok(n) => deleted(n),
            Err(e) => unavailable(&e),
        };
    }
    match st.store.delete_decisions(&f) {
        Ok(v) => deleted(v.len()),
        Err(e) => store_error(&e),
    }
}

async fn delete_decision(
    State(st): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    try_resp!(check(&st, &req));
    let Ok(id) = id.parse::<i64>() else {
        return message(StatusCode::BAD_REQUEST, "decision_id must be valid integer");
    };
    if let Some(rep) = &st.replica
        && let Some(d) = st.store.live_decision(id)
    {
        return match rep.publish_deletions(&[d]).await {
            Ok(n) => deleted(n),
            Err(e) => unavailable(&e),
        };
    }
    match st.store.delete_decision(id) {
        Ok(n) => deleted(n),
        Err(e) => store_error(&e),
    }
}

async fn list_alerts(State(st): State<AppState>, req: Request) -> Response {
    try_resp!(check(&st, &req));
    let pairs = try_resp!(query_pairs(&req));
    let f = match AlertFilter::from_query(&pairs) {
        Ok(f) => f,
        Err(e) => return message(StatusCode::BAD_REQUEST, e.0),
    };
    match st.store.list_alerts(&f) {
        Ok(v) => json(StatusCode::OK, &v),
        Err(e) => store_error(&e),
    }
}

async fn get_alert(State(st): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    try_resp!(check(&st, &req));
    let Ok(id) = id.parse::<i64>() else {
        return message(StatusCode::BAD_REQUEST, "alert_id must be valid integer");
    };
    match st.store.get_alert(id) {
        Ok(v) => json(StatusCode::OK, &v),
        Err(e) => store_error(&e),
    }
}

async fn delete_alerts(State(st): State<AppState>, req: Request) -> Response {
    try_resp!(check(&st, &req));
    let pairs = try_resp!(query_pairs(&req));
    let f = match AlertFilter::from_query(&pairs) {
        Ok(f) => f,
        Err(e) => return message(StatusCode::BAD_REQUEST, e.0),
    };
    if st.replica.is_some() {
        return replica_alerts_read_only();
    }
    match st.store.delete_alerts(&f) {
        Ok(n) => deleted(n),
        Err(e) => store_error(&e),
    }
}

async fn delete_alert(
    State(st): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    try_resp!(check(&st, &req));
    let Ok(id) = id.parse::<i64>() else {
        return message(StatusCode::BAD_REQUEST, "alert_id must be valid integer");
    };
    if st.replica.is_some() {
        return replica_alerts_read_only();
    }
    match st.store.delete_alert(id) {
        Ok(n) => deleted(n),
        Err(e) => store_error(&e),
    }
}

async fn list_bouncers(State(st): State<AppState>, req: Request) -> Response {
    try_resp!(check(&st, &req));
    if let Some(rep) = &st.replica
        && let Err(e) = rep.sync_bouncers().await
    {
        return unavailable(&e);
    }
    json(StatusCode::OK, &st.store.list_bouncers())
}

async fn add_bouncer(State(st): State<AppState>, req: Request) -> Response {
    try_resp!(check(&st, &req));
    let body = try_resp!(read_body(req, st.max_body).await);
    let r: AddBouncerRequest = try_resp!(parse_json(&body));
    if let Some(rep) = &st.replica {
        return match rep.register_bouncer(&r.name, r.key).await {
            Ok(key) => json(
                StatusCode::CREATED,
                &AddBouncerResponse { name: r.name, key },
            ),
            Err(e) => unavailable(&e),
        };
    }
    match st.store.add_bouncer(&r.name, r.key) {
        Ok(key) => json(
            StatusCode::CREATED,
            &AddBouncerResponse { name: r.name, key },
        ),
        Err(e) => store_error(&e),
    }
}

async fn delete_bouncer(
    State(st): State<AppState>,
    Path(name): Path<String>,
    req: Request,
) -> Response {
    try_resp!(check(&st, &req));
    if let Some(rep) = &st.replica {
        return match rep.delete_bouncer(&name).await {
            Ok(()) => deleted(1),
            Err(e) => unavailable(&e),
        };
    }
    match st.store.delete_bouncer(&name) {
        Ok(()) => deleted(1),
        Err(e) => store_error(&e),
    }
}

async fn list_machines(State(st): State<AppState>, req: Request) -> Response {
    try_resp!(check(&st, &req));
    json(StatusCode::OK, &st.store.list_machines())
}

async fn add_machine(State(st): State<AppState>, req: Request) -> Response {
    try_resp!(check(&st, &req));
    let body = try_resp!(read_body(req, st.max_body).await);
    let r: AddMachineRequest = try_resp!(parse_json(&body));
    match st
        .store
        .add_machine(&r.machine_id, &r.password, r.validated)
    {
        Ok(()) => json(StatusCode::CREATED, &DeleteResponse { deleted: 0 }),
        Err(e) => store_error(&e),
    }
}

async fn validate_machine(
    State(st): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    try_resp!(check(&st, &req));
    match st.store.validate_machine(&id) {
        Ok(()) => deleted(0),
        Err(e) => store_error(&e),
    }
}

async fn delete_machine(
    State(st): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    try_resp!(check(&st, &req));
    match st.store.delete_machine(&id) {
        Ok(()) => deleted(1),
        Err(e) => store_error(&e),
    }
}

async fn metrics(State(st): State<AppState>, req: Request) -> Response {
    try_resp!(check(&st, &req));
    let text = st.metrics_render.as_ref().map(|f| f()).unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

pub(crate) fn routes() -> Router<AppState> {
    let p = |s: &str| format!("{}{s}", crate::admin::ADMIN_PREFIX);
    Router::new()
        .route(
            &p("/decisions"),
            get(list_decisions)
                .post(add_decision)
                .delete(delete_decisions),
        )
        .route(&p("/decisions/import"), post(import_decisions))
        .route(&p("/decisions/{id}"), delete(delete_decision))
        .route(&p("/alerts"), get(list_alerts).delete(delete_alerts))
        .route(&p("/alerts/{id}"), get(get_alert).delete(delete_alert))
        .route(&p("/bouncers"), get(list_bouncers).post(add_bouncer))
        .route(&p("/bouncers/{name}"), delete(delete_bouncer))
        .route(&p("/machines"), get(list_machines).post(add_machine))
        .route(&p("/machines/{id}/validate"), post(validate_machine))
        .route(&p("/machines/{id}"), delete(delete_machine))
        .route(&p("/metrics"), get(metrics))
}
