//! The feed as CAPI's decisions stream: the v2 shape CrowdSec 1.4.6 reads (LAPI decisions
//! with origin `CAPI`) and the v3 shape of `centralapi_swagger.yaml` (grouped by scenario).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;

use super::routes::{auth, json, lock};
use super::{App, now};
use crate::rule::{FeedItem, Pull};

/// A decision as CrowdSec's `models.Decision`.
#[derive(Serialize)]
struct Decision<'a> {
    duration: String,
    origin: &'static str,
    scenario: &'a str,
    scope: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    value: String,
}

fn duration(item: &FeedItem, now: i64) -> String {
    wire::format_go_duration(i128::from((item.until - now).max(0)) * 1_000_000_000)
}

fn decision(item: &FeedItem, now: i64) -> Decision<'_> {
    Decision {
        duration: duration(item, now),
        origin: "CAPI",
        scenario: &item.scenario,
        scope: item.target.scope(),
        kind: "ban",
        value: item.target.to_string(),
    }
}

/// This watcher's changes: the whole feed with `startup=true` (or on its first pull), else
/// since its cursor; its cursor moves on.
fn pull(app: &App, watcher: &str, query: &[(String, String)]) -> (Pull, i64) {
    let startup = query.iter().any(|(k, v)| k == "startup" && v == "true");
    let at = now();
    let mut s = lock(&app.shared);
    s.consensus.advance(at);
    let cursor = if startup {
        None
    } else {
        s.cursors.get(watcher).copied()
    };
    let p = s.consensus.pull(cursor);
    s.cursors.insert(watcher.to_string(), p.cursor);
    (p, at)
}

/// `GET /v2/decisions/stream`.
pub(crate) async fn stream_v2(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let id = match auth(&app, &headers) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let (p, at) = pull(&app, &id, &q);
    let new: Vec<Decision<'_>> = p.new.iter().map(|i| decision(i, at)).collect();
    let deleted: Vec<Decision<'_>> = p
        .deleted
        .iter()
        .map(|i| Decision {
            duration: "0s".into(),
            ..decision(i, at)
        })
        .collect();
    json(
        StatusCode::OK,
        &serde_json::json!({ "new": new, "deleted": deleted }),
    )
}

/// `GET /v3/decisions/stream`.
pub(crate) async fn stream_v3(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let id = match auth(&app, &headers) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let (p, at) = pull(&app, &id, &q);
    let mut new: BTreeMap<(&str, &str), Vec<serde_json::Value>> = BTreeMap::new();
    for i in &p.new {
        new.entry((i.scenario.as_str(), i.target.scope()))
            .or_default()
            .push(
                serde_json::json!({ "value": i.target.to_string(), "duration": duration(i, at) }),
            );
    }
    let mut deleted: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for i in &p.deleted {
        deleted
            .entry(i.target.scope())
            .or_default()
            .push(i.target.to_string());
    }
    let new: Vec<_> = new
        .into_iter()
        .map(|((scenario, scope), decisions)| {
            serde_json::json!({ "scenario": scenario, "scope": scope, "decisions": decisions })
        })
        .collect();
    let deleted: Vec<_> = deleted
        .into_iter()
        .map(|(scope, decisions)| serde_json::json!({ "scope": scope, "decisions": decisions }))
        .collect();
    json(
        StatusCode::OK,
        &serde_json::json!({ "new": new, "deleted": deleted, "links": { "blocklists": [] } }),
    )
}
