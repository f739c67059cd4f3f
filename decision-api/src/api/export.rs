//! `GET /v1/decisions/export?format=plain|nftables|ipset|nginx` (bouncer key); the formats
//! are described in the crate documentation.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;

use super::{AppState, message, query_pairs};
use crate::godur;
use crate::store::Store;
use crate::store::filter::DecisionFilter;
use crate::store::index::parse_net;
use crate::store::record::DecisionRecord;

/// Export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Plain,
    Nftables,
    Ipset,
    Nginx,
}

fn safe_name(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 31
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Active IP/range decisions matching `f`, one per value (the longest), by value order of
/// first appearance.
fn collect(store: &Store, f: &DecisionFilter) -> Vec<(Arc<DecisionRecord>, IpNet)> {
    let mut best: foldhash::HashMap<IpNet, Arc<DecisionRecord>> = foldhash::HashMap::default();
    for d in store.query_decisions(f) {
        let Some(net) = parse_net(&d.value) else {
            continue;
        };
        match best.get(&net) {
            Some(o) if o.until_ms >= d.until_ms => {}
            _ => {
                best.insert(net, d);
            }
        }
    }
    let mut v: Vec<(Arc<DecisionRecord>, IpNet)> = best.into_iter().map(|(n, d)| (d, n)).collect();
    v.sort_by_key(|(d, _)| d.id);
    v
}

fn render(
    format: Format,
    items: &[(Arc<DecisionRecord>, IpNet)],
    table: &str,
    set: &str,
    now: i64,
) -> String {
    let mut out = String::with_capacity(items.len() * 32 + 256);
    let secs = |d: &DecisionRecord| ((d.until_ms - now) / 1000).max(1);
    match format {
        Format::Plain => {
            for (_, n) in items {
                let _ = writeln!(out, "{}", display(n));
            }
        }
        Format::Nginx => {
            for (_, n) in items {
                let _ = writeln!(out, "deny {};", display(n));
            }
        }
        Format::Ipset => {
            let _ = writeln!(
                out,
                "create {set}-v4 hash:net family inet timeout 0 maxelem 4194304 -exist"
            );
            let _ = writeln!(
                out,
                "create {set}-v6 hash:net family inet6 timeout 0 maxelem 4194304 -exist"
            );
            for (d, n) in items {
                let fam = if matches!(n, IpNet::V4(_)) {
                    "v4"
                } else {
                    "v6"
                };
                let _ = writeln!(
                    out,
                    "add {set}-{fam} {} timeout {} -exist",
                    display(n),
                    secs(d)
                );
            }
        }
        Format::Nftables => {
            let _ = writeln!(out, "#!/usr/sbin/nft -f");
            let _ = writeln!(out, "add table inet {table}");
            for (fam, ty) in [("v4", "ipv4_addr"), ("v6", "ipv6_addr")] {
                let _ = writeln!(
                    out,
                    "add set inet {table} {set}_{fam} {{ type {ty}; flags interval, timeout; }}"
                );
                let _ = writeln!(out, "flush set inet {table} {set}_{fam}");
            }
            for (fam, want_v4) in [("v4", true), ("v6", false)] {
                let elems: Vec<String> = items
                    .iter()
                    .filter(|(_, n)| matches!(n, IpNet::V4(_)) == want_v4)
                    .map(|(d, n)| format!("{} timeout {}s", display(n), secs(d)))
                    .collect();
                for chunk in elems.chunks(500) {
                    let _ = writeln!(
                        out,
                        "add element inet {table} {set}_{fam} {{ {} }}",
                        chunk.join(", ")
                    );
                }
            }
        }
    }
    out
}

/// Host addresses print without their `/32` or `/128`.
fn display(n: &IpNet) -> String {
    if n.prefix_len() == n.max_prefix_len() {
        n.addr().to_string()
    } else {
        n.to_string()
    }
}

/// `GET /v1/decisions/export`.
pub(crate) async fn export(State(st): State<AppState>, req: Request) -> Response {
    if let Err(r) = super::bouncer::auth(&st, &req) {
        return r;
    }
    let pairs = match query_pairs(&req) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let format = match get("format").unwrap_or("plain") {
        "plain" | "" => Format::Plain,
        "nftables" | "nft" => Format::Nftables,
        "ipset" => Format::Ipset,
        "nginx" => Format::Nginx,
        other => {
            return message(
                StatusCode::BAD_REQUEST,
                format!("unknown export format '{other}' (plain, nftables, ipset, nginx)"),
            );
        }
    };
    let table = get("table").unwrap_or("hivewall");
    let set = get("set").unwrap_or("hivewall");
    if !safe_name(table) || !safe_name(set) {
        return message(
            StatusCode::BAD_REQUEST,
            "table and set must be 1-31 characters of [A-Za-z0-9_-]",
        );
    }
    let mut f = match DecisionFilter::from_query(&pairs) {
        Ok(f) => f,
        Err(e) => return message(StatusCode::BAD_REQUEST, e.0),
    };
    if !pairs.iter().any(|(k, _)| k == "scopes" || k == "scope") {
        f.scopes = vec!["ip".to_string(), "range".to_string()];
    }
    let (table, set) = (table.to_string(), set.to_string());
    let store = st.store.clone();
    let text = tokio::task::spawn_blocking(move || {
        let items = collect(&store, &f);
        render(format, &items, &table, &set, godur::now_ms())
    })
    .await;
    match text {
        Ok(t) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], t).into_response(),
        Err(e) => message(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
