//! Statics written directly ([`Static::apply`]'s constant and lone-field shapes) change an
//! event exactly as the same statics evaluated as expressions.

use std::sync::Arc;

use proptest::prelude::*;

use super::Static;
use crate::clock::FixedClock;
use crate::event::Event;
use crate::expr::functions::{Functions, HelperContext};
use crate::parser::config::StaticConfig;
use crate::parser::enrich::EnrichCtx;

/// Values of every field a lone-field static may read (some empty, some shared by maps).
fn event(variant: u8) -> Event {
    let mut e = Event::default();
    if variant == 2 {
        return e;
    }
    let v = if variant == 0 { "one" } else { "" };
    // Keys past the 15 bytes a key's tag holds, one of them sharing the other's tag.
    for (k, val) in [
        ("a", "pa"),
        ("b", v),
        ("long_key_name", "plong"),
        ("a_much_longer_key_name", "plonger"),
    ] {
        e.parsed.insert(k, val);
    }
    for (k, val) in [("a", "ma"), ("c", "mc")] {
        e.meta.insert(k, val);
    }
    e.enriched.insert("a", v);
    e.line.raw = "raw line".into();
    e.line.src = Arc::from("/var/log/x.log");
    e.line.module = Arc::from(v);
    e.line.labels = Arc::new([("type", "syslog")].into_iter().collect());
    e.str_time = "Dec  2 04:12:20".into();
    e.marshaled_time = "2026-12-02T04:12:20Z".into();
    e
}

const SOURCES: &[(&str, &str)] = &[
    ("value", "constant"),
    ("expression", "evt.Parsed.a"),
    ("expression", "evt.Parsed.b"),
    ("expression", "evt.Parsed.long_key_name"),
    ("expression", "evt.Parsed.a_much_longer_key_name"),
    ("expression", "evt.Parsed.a_much_longer_key_namf"),
    ("expression", "evt.Parsed.missing"),
    ("expression", "evt.Meta.a"),
    ("expression", "evt.Meta.c"),
    ("expression", "evt.Enriched.a"),
    ("expression", "evt.Line.Labels.type"),
    ("expression", "evt.Line.Raw"),
    ("expression", "evt.Line.Src"),
    ("expression", "evt.Line.Module"),
    ("expression", "evt.StrTime"),
    ("expression", "evt.MarshaledTime"),
    ("expression", "evt.Parsed.a + evt.Meta.c"),
];

const TARGETS: &[(&str, &str)] = &[
    ("parsed", "a"),
    ("parsed", "new"),
    ("meta", "a"),
    ("meta", "long_key_name"),
    ("enriched", "a"),
    ("target", "evt.StrTime"),
    ("target", "evt.MarshaledTime"),
    ("target", "evt.StrTimeFormat"),
    ("target", "evt.WhitelistReason"),
    ("method", "ParseDate"),
];

fn compile(target: usize, source: usize) -> Static {
    let (tk, tv) = TARGETS[target];
    let (sk, sv) = SOURCES[source];
    let mut c = StaticConfig::default();
    match tk {
        "parsed" => c.parsed = tv.into(),
        "meta" => c.meta = tv.into(),
        "enriched" => c.enriched = tv.into(),
        "method" => c.method = tv.into(),
        _ => c.target = tv.into(),
    }
    match sk {
        "value" => c.value = sv.into(),
        _ => c.expression = sv.into(),
    }
    let functions = Arc::new(Functions::crowdsec(HelperContext::default()));
    let compiler = crate::event::compiler(functions, &["evt"]);
    Static::compile(&c, &compiler, &ectx()).expect("static compiles")
}

fn ectx() -> EnrichCtx {
    EnrichCtx::new(Arc::new(FixedClock(chrono::DateTime::UNIX_EPOCH)))
}

#[test]
fn most_statics_of_the_hub_shapes_are_direct() {
    let (mut direct, mut all) = (0, 0);
    for t in 0..TARGETS.len() {
        for s in 0..SOURCES.len() {
            let st = compile(t, s);
            all += 1;
            direct += usize::from(st.apply_direct(&mut event(0), &ectx()));
        }
    }
    // Map targets (5) × sources other than the sum (16), but for the 17 that read the map
    // they write (evaluated); text-field targets (4) and the enricher (1) × the 15 lone
    // fields, but for the 2 that copy a text field onto itself (evaluated).
    assert_eq!((direct, all), (5 * 16 - 17 + 5 * 15 - 2, 10 * 17));
}

proptest! {
    /// Any sequence of statics gives the same event applied directly or evaluated.
    #[test]
    fn direct_statics_write_what_evaluated_statics_write(
        seq in prop::collection::vec((0..TARGETS.len(), 0..SOURCES.len()), 1..12),
        variant in 0..3u8,
    ) {
        let cx = ectx();
        let (mut fast, mut slow) = (event(variant), event(variant));
        for &(t, s) in &seq {
            let st = compile(t, s);
            st.apply(&mut fast, &cx).unwrap();
            st.apply_evaluated(&mut slow, &cx).unwrap();
        }
        prop_assert_eq!(format!("{fast:?}"), format!("{slow:?}"));
    }
}
