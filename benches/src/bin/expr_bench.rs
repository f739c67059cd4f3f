//! Expression micro benchmark: the hub's data-file scenario filters, evaluated against events
//! parsed from a real nginx log, with the compiler's optimizations on and off. Also checks
//! that both give the same result on every event.
//!
//! `cargo run --release -p benches --bin expr_bench -- --config-dir C/config --log ngx.log
//! [--data-dir ../shared/crowdsec/data] [--lines 2000] [--iters 5]`
//!
//! `--config-dir` is an installed CrowdSec configuration (its parsers turn the log into events);
//! data files named by `File(...)` are looked up in `--data-dir` and its subdirectories.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use engine::clock::FixedClock;
use engine::event::{Acquisition, ExpectMode};
use engine::expr::functions::{DataFiles, DataKind, Functions, HelperContext};
use engine::expr::{Compiler, Value};
use engine::pipeline::{Pipeline, Setup};

/// The hub filters measured (scenario filters looping over data files, and a few plain ones).
const EXPRS: &[&str] = &[
    r#"evt.Meta.log_type in ["http_access-log", "http_error-log"]"#,
    r#"any(File("sensitive_data.txt"), { evt.Parsed.request endsWith #})"#,
    r#"any(File("backdoors.txt"), { evt.Parsed.file_name == #})"#,
    r#"any(File("http_path_traversal.txt"),{evt.Meta.http_path contains #})"#,
    r#"any(File("admin_interfaces.txt"), { Lower(evt.Meta.http_path) contains #})"#,
    r#"any(File("sqli_probe_patterns.txt"), {Upper(evt.Parsed.http_args) contains Upper(#)})"#,
    r#"any(File("xss_probe_patterns.txt"), {Upper(evt.Parsed.http_args) contains Upper(#)})"#,
    r#"any(File("sqli_probe_patterns.txt"), {Upper(QueryUnescape(evt.Meta.http_args)) contains Upper(#)})"#,
    r#"any(File("log4j2_cve_2021_44228.txt"), { Upper(evt.Parsed.http_user_agent) contains Upper(#)})"#,
    r#"any(File("jira_cve_2021-26086.txt"), {Upper(evt.Meta.http_path) contains Upper(#)})"#,
    r#"any(File("trendy_cves_uris.json"), { evt.Meta.http_path contains JsonExtract(#, "uri") ? JsonExtract(#, "cve") != "" : false })"#,
    r#"RegexpInFile(evt.Parsed.http_user_agent, "bad_user_agents.regex.txt")"#,
    r#"evt.Meta.log_type == 'http_access-log' && Upper(evt.Parsed.http_args) contains 'AUTHOR='"#,
];

/// Finds `name` in `dir` or one of its direct subdirectories.
fn find_data(dir: &Path, name: &str) -> Option<PathBuf> {
    let direct = dir.join(name);
    if direct.is_file() {
        return Some(direct);
    }
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path().join(name))
        .find(|p| p.is_file())
}

fn load_data(dir: &Path) -> Result<DataFiles, Box<dyn std::error::Error>> {
    let mut d = DataFiles::new();
    let mut names: Vec<(&str, DataKind)> = vec![("bad_user_agents.regex.txt", DataKind::Regexp)];
    for e in EXPRS {
        let mut rest = *e;
        while let Some(i) = rest.find("File(\"") {
            let after = &rest[i + 6..];
            let Some(end) = after.find('"') else { break };
            names.push((&after[..end], DataKind::String));
            rest = &after[end..];
        }
    }
    for (name, kind) in names {
        match find_data(dir, name) {
            Some(p) => d.load_str(name, &std::fs::read_to_string(p)?, kind)?,
            None => eprintln!(
                "warning: data file {name} not found under {}",
                dir.display()
            ),
        }
    }
    Ok(d)
}

fn show(r: &Result<Value<'_>, engine::expr::EvalError>) -> String {
    match r {
        Ok(v) => format!("{v:?}"),
        Err(e) => format!("error: {}", e.message),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = PathBuf::from(benches::arg("--config-dir").ok_or("--config-dir is required")?);
    let log = PathBuf::from(benches::arg("--log").ok_or("--log is required")?);
    let data_dir = PathBuf::from(
        benches::arg("--data-dir").unwrap_or_else(|| "../shared/crowdsec/data".to_string()),
    );
    let max_lines: usize = benches::arg("--lines").map_or(Ok(2000), |s| s.parse())?;
    let iters: usize = benches::arg("--iters").map_or(Ok(5), |s| s.parse())?;

    let setup = Setup::installed(&config, data_dir.clone())?;
    let clock = Arc::new(FixedClock(
        chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default(),
    ));
    let pipeline = Pipeline::load(&setup, clock)?;
    let source = Acquisition::new(&log.display().to_string(), "file", "nginx", []);
    let mut events = Vec::new();
    for raw in std::fs::read_to_string(&log)?.lines().take(max_lines) {
        let mut evt = source.event(raw.to_string(), ExpectMode::TimeMachine);
        if pipeline.parsers().parse(&mut evt, None).unwrap_or(false) {
            events.push(evt);
        }
    }
    println!("{} parsed events, {iters} passes each", events.len());

    let functions = Arc::new(Functions::crowdsec(HelperContext {
        data: Arc::new(load_data(&data_dir)?),
        stash: Arc::default(),
    }));
    let fast = Compiler::new(functions.clone(), &["evt"]);
    let slow = Compiler::new(functions, &["evt"]).with_optimizations(false);
    let (mut total_fast, mut total_slow) = (0.0, 0.0);
    for src in EXPRS {
        let (pf, ps) = (fast.compile(src)?, slow.compile(src)?);
        let mut hits = 0usize;
        for e in &events {
            let vars = [Value::Obj(e)];
            let (a, b) = (show(&pf.eval(&vars)), show(&ps.eval(&vars)));
            if a != b {
                return Err(format!("{src}: optimized {a} != generic {b}").into());
            }
            hits += usize::from(a == "true");
        }
        let time = |p: &engine::expr::Program| {
            let start = Instant::now();
            for _ in 0..iters {
                for e in &events {
                    let vars = [Value::Obj(e)];
                    std::hint::black_box(p.eval(&vars).is_ok());
                }
            }
            start.elapsed().as_secs_f64() * 1e9 / (iters * events.len().max(1)) as f64
        };
        let (tf, ts) = (time(&pf), time(&ps));
        total_fast += tf;
        total_slow += ts;
        println!(
            "{tf:9.0} ns  {ts:9.0} ns  x{:<6.1} {hits:5} true  {}",
            ts / tf,
            src.chars().take(90).collect::<String>()
        );
    }
    println!(
        "{total_fast:9.0} ns  {total_slow:9.0} ns  x{:.1}  all (optimized, generic)",
        total_slow / total_fast
    );
    Ok(())
}
