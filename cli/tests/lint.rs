//! `hivewall lint` as a user runs it: on hivewall's own content (what the test command checks),
//! on a configuration CrowdSec refuses, and against CrowdSec 1.4.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn lint(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hivewall"))
        .arg("lint")
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn hivewall_content_is_clean_for_current_crowdsec() {
    let dir = repo().join("scenarios");
    let out = lint(&[dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout(&out), "");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("0 errors, 0 warnings"), "{err}");
}

#[test]
fn lint_1_4_lists_what_debian_stable_lacks() {
    let dir = repo().join("scenarios");
    let out = lint(&["--crowdsec-version", "1.4", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 9, "{text}");
    assert!(
        lines[0].ends_with(
            "parsers/s02-enrich/http.yaml:33: error[v1.4-helper]: unknown func ReplaceAll"
        ),
        "{text}"
    );
    let labels = lines
        .iter()
        .filter(|l| l.contains("error[v1.4-labels]"))
        .count();
    assert_eq!(labels, 8, "{text}");
}

#[test]
fn out_of_order_patterns_fail_the_lint_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("patterns")).unwrap();
    std::fs::create_dir_all(dir.join("parsers/s01-parse")).unwrap();
    // As hivewall's own files were: a file using a pattern of a file loaded after it.
    std::fs::write(
        dir.join("patterns/hivewall-http"),
        "HW_HTTP_DATE %{HW_MONTH_ABBR}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("patterns/hivewall-syslog"),
        "HW_MONTH_ABBR (?:Jan|Feb)\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("parsers/s01-parse/p.yaml"),
        "name: t/p\ndescription: d\ngrok:\n  pattern: '%{WORD:w}'\n  apply_on: Line.Raw\n",
    )
    .unwrap();
    let out = lint(&["--json", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let f: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(f["rule"], "pattern-undefined");
    assert_eq!(f["severity"], "error");
    let at = format!("{}:1", dir.join("patterns/hivewall-http").display());
    assert_eq!(f["location"], at.as_str());
    assert_eq!(
        f["message"],
        "failed to load pattern hivewall-http: the 'HW_MONTH_ABBR' pattern doesn't exist"
    );
}
