//! YAML configuration from bytes: parser node files (loaded and compiled by `ParserSet::load`),
//! scenario files (every document compiled as `ScenarioSet::load` does) and `profiles.yaml`.
//!
//! Input: first byte modulo 3 picks parser / scenario / profiles; the rest is the file.

#![no_main]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use engine::bucket::{Scenario, ScenarioConfig};
use engine::clock::FixedClock;
use engine::expr::functions::{Functions, HelperContext};
use engine::parser::{LoadOptions, ParserFile, ParserSet};
use engine::profile::Profiles;
use libfuzzer_sys::fuzz_target;

struct Fixture {
    dir: PathBuf,
    functions: Arc<Functions>,
    opts: LoadOptions,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("hivewall-fuzz-yaml-{}", std::process::id()));
        let patterns = dir.join("patterns");
        let data = dir.join("data");
        std::fs::create_dir_all(&patterns).expect("fuzz temp dir");
        std::fs::create_dir_all(&data).expect("fuzz temp dir");
        let now = DateTime::<Utc>::from_timestamp(1_704_207_845, 0).unwrap_or_default();
        Fixture {
            functions: Arc::new(Functions::crowdsec(HelperContext::default())),
            opts: LoadOptions {
                patterns_dir: patterns,
                data_dir: data,
                clock: Arc::new(FixedClock(now)),
            },
            dir,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let f = fixture();
    match mode % 3 {
        0 => {
            let path = f.dir.join("node.yaml");
            if std::fs::write(&path, text).is_ok() {
                let files = [ParserFile {
                    stage: "s01-parse".into(),
                    path,
                }];
                let _ = ParserSet::load(&files, &f.opts);
            }
        }
        1 => {
            let Ok(docs) = serde_saphyr::from_multiple::<Option<ScenarioConfig>>(text) else {
                return;
            };
            for cfg in docs.into_iter().flatten() {
                let _ = Scenario::compile(cfg, "fuzz.yaml".into(), &f.functions);
            }
        }
        _ => {
            let _ = Profiles::parse(text, "profiles.yaml", f.functions.clone());
        }
    }
});
