//! Grok: arbitrary pattern text through the Go RE2 → Rust regex translation and grok
//! compilation (with the hub's pattern library), and arbitrary lines matched by the hub's
//! named patterns.
//!
//! Input: first byte = mode. Mode even: the rest is a grok pattern (translated and compiled,
//! then matched against a fixed line). Mode odd: the next byte picks a hub pattern name and
//! the rest is the line it matches.

#![no_main]

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use engine::grok::{Grok, PatternLibrary};
use libfuzzer_sys::fuzz_target;

struct Fixture {
    lib: PatternLibrary,
    names: Vec<String>,
    compiled: Mutex<HashMap<usize, Option<Grok>>>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut lib = PatternLibrary::new();
        let dir = engine::testdata::shared("crowdsec/patterns");
        lib.load_dir(&dir).expect("hub patterns load");
        let mut names: Vec<String> = lib.names().map(str::to_string).collect();
        names.sort();
        Fixture {
            lib,
            names,
            compiled: Mutex::new(HashMap::new()),
        }
    })
}

const LINE: &str =
    "Jan  2 15:04:05 host sshd[42]: Failed password for root from 192.0.2.7 port 22 ssh2";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let f = fixture();
    if mode % 2 == 0 {
        let Ok(pattern) = std::str::from_utf8(rest) else {
            return;
        };
        let _ = engine::grok::translate::translate(pattern);
        if let Ok(g) = f.lib.compile(pattern) {
            g.captures(LINE, |_, _| {});
            g.captures(pattern, |_, _| {});
        }
    } else {
        let Some((&pick, line)) = rest.split_first() else {
            return;
        };
        let line = String::from_utf8_lossy(line);
        let idx = usize::from(pick) * f.names.len() / 256;
        let grok = {
            let mut cache = f.compiled.lock().unwrap_or_else(|e| e.into_inner());
            cache
                .entry(idx)
                .or_insert_with(|| f.lib.compile_named(&f.names[idx]).ok())
                .clone()
        };
        if let Some(g) = grok {
            g.captures(&line, |_, _| {});
        }
    }
});
