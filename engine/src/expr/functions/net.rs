//! IP and URL helpers: `IpInRange`, `IpToRange`, `IsIP*`, `ParseUri`, `ParseQuery`,
//! `ExtractQueryParam` and the `*Escape`/`*Unescape` family.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::convert::{arg_cow, arg_str, str_list, unchanged_or};
use super::{Arity, Functions, native};
use crate::expr::value::Value;

/// Registers the network and URL helpers.
pub(crate) fn register(f: &mut Functions) {
    f.register(
        "IpInRange",
        Arity::Exact(2),
        native(|a| {
            Ok(Value::Bool(ip_in_range(
                arg_str("IpInRange", a, 0)?,
                arg_str("IpInRange", a, 1)?,
            )))
        }),
    );
    f.register(
        "IpToRange",
        Arity::Exact(2),
        native(|a| {
            Ok(Value::string(
                ip_to_range(arg_str("IpToRange", a, 0)?, arg_str("IpToRange", a, 1)?)
                    .unwrap_or_default(),
            ))
        }),
    );
    f.register(
        "IsIP",
        Arity::Exact(1),
        native(|a| Ok(Value::Bool(parse_go_ip(arg_str("IsIP", a, 0)?).is_some()))),
    );
    f.register(
        "IsIPV4",
        Arity::Exact(1),
        native(|a| {
            Ok(Value::Bool(matches!(
                parse_go_ip(arg_str("IsIPV4", a, 0)?),
                Some(IpAddr::V4(_))
            )))
        }),
    );
    f.register(
        "IsIPV6",
        Arity::Exact(1),
        native(|a| {
            Ok(Value::Bool(matches!(
                parse_go_ip(arg_str("IsIPV6", a, 0)?),
                Some(IpAddr::V6(_))
            )))
        }),
    );
    f.register(
        "PathEscape",
        Arity::Exact(1),
        native(|a| {
            Ok(Value::string(go_escape(
                arg_str("PathEscape", a, 0)?,
                false,
            )))
        }),
    );
    f.register(
        "QueryEscape",
        Arity::Exact(1),
        native(|a| {
            Ok(Value::string(go_escape(
                arg_str("QueryEscape", a, 0)?,
                true,
            )))
        }),
    );
    f.register(
        "PathUnescape",
        Arity::Exact(1),
        native(|a| {
            // Nothing to unescape: the same text (no copy of a borrowed argument).
            Ok(unchanged_or(arg_cow("PathUnescape", a, 0)?, |s| {
                if !s.contains('%') {
                    return None;
                }
                Some(go_unescape(s, false).unwrap_or_else(|| s.to_owned()))
            }))
        }),
    );
    f.register(
        "QueryUnescape",
        Arity::Exact(1),
        native(|a| {
            // Nothing to unescape: the same text (no copy of a borrowed argument).
            Ok(unchanged_or(arg_cow("QueryUnescape", a, 0)?, |s| {
                if !s.contains(['%', '+']) {
                    return None;
                }
                Some(go_unescape(s, true).unwrap_or_else(|| s.to_owned()))
            }))
        }),
    );
    f.register(
        "ParseUri",
        Arity::Exact(1),
        native(|a| Ok(values_map(parse_uri(arg_str("ParseUri", a, 0)?)))),
    );
    f.register(
        "ParseQuery",
        Arity::Exact(1),
        native(|a| Ok(values_map(parse_query_lax(arg_str("ParseQuery", a, 0)?)))),
    );
    f.register(
        "ExtractQueryParam",
        Arity::Exact(2),
        native(|a| {
            let (uri, param) = (
                arg_str("ExtractQueryParam", a, 0)?,
                arg_str("ExtractQueryParam", a, 1)?,
            );
            let values = match uri.split_once('?') {
                Some((_, q)) if !q.is_empty() => {
                    parse_query_lax(q).remove(param).unwrap_or_default()
                }
                _ => Vec::new(),
            };
            Ok(str_list(values))
        }),
    );
}

fn values_map(m: BTreeMap<String, Vec<String>>) -> Value<'static> {
    Value::Map(m.into_iter().map(|(k, v)| (k, str_list(v))).collect())
}

/// Go's `net.ParseIP`, with IPv4-mapped IPv6 addresses reported as IPv4 (Go's `To4`).
pub fn parse_go_ip(s: &str) -> Option<IpAddr> {
    match s.parse::<IpAddr>().ok()? {
        IpAddr::V6(v6) => Some(match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        }),
        v4 => Some(v4),
    }
}

/// CrowdSec's `IpInRange`: false when either side does not parse.
pub fn ip_in_range(ip: &str, range: &str) -> bool {
    let (Some(ip), Ok(net)) = (parse_go_ip(ip), range.parse::<ipnet::IpNet>()) else {
        return false;
    };
    match (net, ip) {
        (ipnet::IpNet::V4(n), IpAddr::V4(a)) => n.contains(&a),
        (ipnet::IpNet::V6(n), IpAddr::V6(a)) => n.contains(&a),
        (ipnet::IpNet::V6(n), IpAddr::V4(a)) => n.contains(&a.to_ipv6_mapped()),
        _ => false,
    }
}

/// CrowdSec's `IpToRange`: the network of `ip` with a prefix of `cidr` bits (`"24"` or
/// `"/24"`), e.g. `192.168.1.0/24`; `None` on bad input.
pub fn ip_to_range(ip: &str, cidr: &str) -> Option<String> {
    let cidr = cidr.strip_prefix('/').unwrap_or(cidr);
    let bits: i64 = cidr.strip_prefix('+').unwrap_or(cidr).parse().ok()?;
    let bits = u8::try_from(bits).ok()?;
    let ip = ip.split_once('%').map_or(ip, |(a, _)| a);
    let net = match ip.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => ipnet::IpNet::V4(ipnet::Ipv4Net::new(a, bits).ok()?.trunc()),
        IpAddr::V6(a) => ipnet::IpNet::V6(ipnet::Ipv6Net::new(a, bits).ok()?.trunc()),
    };
    Some(format!("{}/{}", net.network(), bits))
}

/// Go's `url.QueryEscape` (`query == true`, space becomes `+`) or `url.PathEscape`.
pub fn go_escape(s: &str, query: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        let keep = c.is_ascii_alphanumeric()
            || matches!(c, b'-' | b'_' | b'.' | b'~')
            || (!query && matches!(c, b'$' | b'&' | b'+' | b':' | b'=' | b'@'));
        if keep {
            out.push(c as char);
        } else if query && c == b' ' {
            out.push('+');
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(c >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(c & 15)]));
        }
    }
    out
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Go's `url.QueryUnescape` (`query == true`, `+` becomes a space) or `url.PathUnescape`;
/// `None` on a malformed `%` escape.
pub fn go_unescape(s: &str, query: bool) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hi = hex(*b.get(i + 1)?)?;
                let lo = hex(*b.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' if query => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Lenient unescape of CrowdSec's WAF query parser: bad `%` escapes are kept as is.
fn lax_unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'+' {
            out.push(b' ');
        } else if c == b'%' && i + 2 < b.len() {
            match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 3;
                    continue;
                }
                _ => out.push(c),
            }
        } else {
            out.push(c);
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// CrowdSec's `ParseQuery`: splits on `&`, keeps `;` in values, never fails.
pub fn parse_query_lax(q: &str) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        m.entry(lax_unescape(k)).or_default().push(lax_unescape(v));
    }
    m
}

/// Go's `url.ParseQuery`; `None` when any pair is malformed (a `;` or a bad escape).
pub fn parse_query_strict(q: &str) -> Option<BTreeMap<String, Vec<String>>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut ok = true;
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        if pair.contains(';') {
            ok = false;
            continue;
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match (go_unescape(k, true), go_unescape(v, true)) {
            (Some(k), Some(v)) => m.entry(k).or_default().push(v),
            _ => ok = false,
        }
    }
    ok.then_some(m)
}

/// CrowdSec's `ParseUri`: the query parameters of a URI, empty when the URI or its query does
/// not parse (as Go's `url.Parse` + `url.ParseQuery`).
pub fn parse_uri(uri: &str) -> BTreeMap<String, Vec<String>> {
    if uri.bytes().any(|c| c < 0x20 || c == 0x7f) {
        return BTreeMap::new();
    }
    let uri = uri.split_once('#').map_or(uri, |(u, _)| u);
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    if go_unescape(path.replace('+', "%2B").as_str(), false).is_none() {
        return BTreeMap::new();
    }
    parse_query_strict(query).unwrap_or_default()
}
