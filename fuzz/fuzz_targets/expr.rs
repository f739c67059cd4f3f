//! The expression language end to end: arbitrary text is lexed, parsed, compiled against
//! CrowdSec's helpers (with small data files loaded) and evaluated on a sample sshd event.
//! Any panic is a bug: errors must come back as `Err`.

#![no_main]

use std::sync::{Arc, OnceLock};

use chrono::{FixedOffset, TimeZone};
use engine::event::{Acquisition, Event, ExpectMode};
use engine::expr::functions::{DataFiles, DataKind, Functions, HelperContext};
use engine::expr::{Compiler, Value};
use libfuzzer_sys::fuzz_target;

struct Fixture {
    compiler: Compiler,
    raw: Compiler,
    evt: Event,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut data = DataFiles::new();
        let _ = data.load_str("ips.txt", "192.0.2.7\n10.0.0.1\n", DataKind::String);
        let _ = data.load_str("bad_ua.txt", "^curl/.*\nnikto\n", DataKind::Regexp);
        let _ = data.load_str(
            "map.json",
            r#"{"pattern":"/wp-admin","tag":"wordpress","type":"equals"}"#,
            DataKind::Map,
        );
        let ctx = HelperContext {
            data: Arc::new(data),
            ..HelperContext::default()
        };
        let functions = Arc::new(Functions::crowdsec(ctx));
        let acq = Acquisition::new("/var/log/auth.log", "file", "syslog", []);
        let mut evt = acq.event(
            "Jan  2 15:04:05 host sshd[42]: Failed password for root from 192.0.2.7 port 22 ssh2"
                .into(),
            ExpectMode::TimeMachine,
        );
        for (k, v) in [
            ("program", "sshd"),
            ("sshd_client_ip", "192.0.2.7"),
            ("sshd_invalid_user", "root"),
            ("timestamp", "Jan  2 15:04:05"),
            ("json", r#"{"a":{"b":[1,2.5,"x"]},"n":null}"#),
        ] {
            evt.parsed.insert(k, v);
        }
        for (k, v) in [("source_ip", "192.0.2.7"), ("log_type", "ssh_failed-auth")] {
            evt.meta.insert(k, v);
        }
        evt.enriched.insert("IsoCode", "FR");
        evt.time = FixedOffset::east_opt(3600)
            .and_then(|o| o.with_ymd_and_hms(2024, 1, 2, 15, 4, 5).single());
        evt.str_time = "Jan  2 15:04:05".into();
        Fixture {
            compiler: Compiler::new(functions.clone(), &["evt"]),
            raw: Compiler::new(functions, &["evt"]).with_optimizations(false),
            evt,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let f = fixture();
    for c in [&f.compiler, &f.raw] {
        if let Ok(p) = c.compile(src) {
            if let Ok(v) = p.eval(&[Value::Obj(&f.evt)]) {
                let _ = v.go_string();
                let _ = v.to_json();
            }
            let _ = p.eval_bool(&[Value::Obj(&f.evt)]);
        }
    }
});
