//! `GET /v1/decisions/stream` on a replica: the change between the bouncer's saved cursor
//! and this replica's position, with the new cursor acknowledged by the brokers before the
//! body ends (a body cut short leaves the old cursor, and the bouncer is sent it again).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::view::{Cursor, Delta};
use super::{BusError, Replica};
use crate::api::{client_ip, empty_ok, message, query_pairs, user_agent};
use crate::godur;
use crate::store::filter::DecisionFilter;
use crate::store::record::{BouncerRecord, DecisionRecord};

/// Decisions written per body chunk.
const PAGE: usize = 2000;

/// A 503 telling the bouncer to retry (CrowdSec bouncers retry on their next tick).
pub(crate) fn unavailable(e: &BusError) -> Response {
    let status = match e {
        BusError::Store(s) => return crate::api::store_error(s),
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    let mut r = message(status, e.to_string());
    r.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    r
}

/// The request's `X-Api-Key`, trimmed.
pub(crate) fn api_key(req: &Request) -> String {
    req.headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The bouncer owning `key`; when unknown here, after reading the bouncers topic up to its
/// end (it may have just been registered on another replica).
pub(crate) async fn auth(replica: &Replica, key: &str) -> Result<BouncerRecord, Response> {
    let store = replica.store();
    if let Some(b) = store.authenticate_bouncer(key) {
        return Ok(b);
    }
    if key.is_empty() {
        return Err(message(StatusCode::FORBIDDEN, "access forbidden"));
    }
    replica.sync_bouncers().await.map_err(|e| unavailable(&e))?;
    store
        .authenticate_bouncer(key)
        .ok_or_else(|| message(StatusCode::FORBIDDEN, "access forbidden"))
}

/// The bouncer's cursor, once this replica has read the decisions topic up to it; `None`
/// for a first pull or a cursor from before the topic was recreated (startup then).
async fn cursor_of(replica: &Replica, name: &str) -> Result<Option<Cursor>, BusError> {
    replica.sync_bouncers().await?;
    let saved = replica.state().cursors.get(name).cloned();
    let Some(c) = saved else {
        return Ok(None);
    };
    let wait = replica.config().catch_up_wait;
    if replica
        .wait_until(wait, |r| r.state().view.covers(&c))
        .await
    {
        return Ok(Some(c));
    }
    let high = replica.high_watermarks(true).await?;
    let high_d = high.first().cloned().unwrap_or_default();
    let beyond = c
        .offsets
        .iter()
        .enumerate()
        .any(|(p, o)| *o > high_d.get(p).copied().unwrap_or(0));
    if beyond {
        tracing::warn!(bouncer = %name, "cursor beyond the decisions topic (recreated?): full resend");
        return Ok(None);
    }
    Err(BusError::Behind)
}

/// `GET/HEAD /v1/decisions/stream` in the distributed mode.
pub(crate) async fn stream(replica: &Replica, req: Request) -> Response {
    let b = match auth(replica, &api_key(&req)).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    if req.method() == Method::HEAD {
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
    let from = if startup {
        None
    } else {
        match cursor_of(replica, &b.name).await {
            Ok(c) => c,
            Err(e) => return unavailable(&e),
        }
    };
    let delta = {
        let st = replica.state();
        st.view.delta(from.as_ref(), godur::now_ms(), &f)
    };
    metrics::counter!("hivewall_stream_decisions_total", "kind" => "new")
        .increment(delta.new.len() as u64);
    metrics::counter!("hivewall_stream_decisions_total", "kind" => "deleted")
        .increment(delta.deleted.len() as u64);
    let ua = user_agent(req.headers());
    let (kind, version) = ua.split_once('/').unwrap_or((&ua, ""));
    let bouncer = BouncerRecord {
        ip: client_ip(&req),
        kind: kind.to_string(),
        version: version.to_string(),
        last_pull_ms: Some(godur::now_ms()),
        ..b
    };
    body(replica.clone(), bouncer, delta)
}

/// Where the body writer stands.
struct Writer {
    replica: Replica,
    bouncer: Option<BouncerRecord>,
    delta: Delta,
    now_ns: i128,
    /// 0: opening, 1: new, 2: deleted, 3: saving the cursor, 4: done.
    phase: u8,
    pos: usize,
}

fn page(list: &[Arc<DecisionRecord>], pos: &mut usize, now_ns: i128, out: &mut Vec<u8>) -> bool {
    let end = (*pos + PAGE).min(list.len());
    for (i, r) in list[*pos..end].iter().enumerate() {
        if *pos + i > 0 {
            out.push(b',');
        }
        r.write_bouncer_json(now_ns, out);
    }
    *pos = end;
    end == list.len()
}

fn body(replica: Replica, bouncer: BouncerRecord, delta: Delta) -> Response {
    let w = Writer {
        replica,
        bouncer: Some(bouncer),
        delta,
        now_ns: godur::now_ns(),
        phase: 0,
        pos: 0,
    };
    let stream = futures_util::stream::unfold(w, |mut w| async move {
        let mut out = Vec::new();
        match w.phase {
            0 => {
                out.extend_from_slice(b"{\"new\":[");
                w.phase = 1;
            }
            1 => {
                if page(&w.delta.new, &mut w.pos, w.now_ns, &mut out) {
                    out.extend_from_slice(b"],\"deleted\":[");
                    w.phase = 2;
                    w.pos = 0;
                }
            }
            2 => {
                if page(&w.delta.deleted, &mut w.pos, w.now_ns, &mut out) {
                    out.extend_from_slice(b"]}");
                    w.phase = 3;
                }
            }
            3 => {
                w.phase = 4;
                let cursor = std::mem::take(&mut w.delta.cursor);
                let b = w.bouncer.take()?;
                let name = b.name.clone();
                if let Err(e) = w.replica.save_cursor(b, cursor).await {
                    // Cut the body short: the bouncer drops it and pulls again from its
                    // old cursor.
                    tracing::warn!(bouncer = %name, error = %e, "saving the stream cursor failed");
                    return Some((Err(std::io::Error::other(e.to_string())), w));
                }
                return None;
            }
            _ => return None,
        }
        Some((Ok(bytes::Bytes::from(out)), w))
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response()
}
