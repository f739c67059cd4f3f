//! `hivewall replay` accounts for every line: the outcomes in its summary add up to the line
//! count, on real logs with repaired (invalid UTF-8, overlong) lines mixed in.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The number written just before `label` in `text` (`"12 poured"` → 12).
fn count(text: &str, label: &str) -> u64 {
    let at = text
        .find(&format!(" {label}"))
        .unwrap_or_else(|| panic!("no {label:?} in {text:?}"));
    let digits: String = text[..at]
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no count before {label:?} in {text:?}"))
}

/// Replays `log` with hivewall's own content; returns the summary line.
fn replay(log: &Path, log_type: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_hivewall"))
        .args(["replay", "--json", "--type", log_type, "--config-dir"])
        .arg(repo().join("scenarios"))
        .arg(log)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    stderr
        .lines()
        .find(|l| l.contains(" lines in "))
        .unwrap_or_else(|| panic!("no summary in {stderr}"))
        .to_string()
}

fn check(log: &[u8], log_type: &str, want_lines: u64) -> String {
    let dir = std::env::temp_dir().join(format!("hivewall-acct-{log_type}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("input.log");
    std::fs::write(&path, log).unwrap();
    let s = replay(&path, log_type);
    let _ = std::fs::remove_dir_all(&dir);
    let lines = count(&s, "lines in");
    assert_eq!(lines, want_lines, "{s}");
    let dropped = count(&s, "dropped");
    let outcomes = [
        "unparsed",
        "parse errors",
        "whitelisted",
        "unpoured",
        "pour errors",
    ];
    let sum: u64 = outcomes.iter().map(|o| count(&s, o)).sum();
    assert_eq!(sum, dropped, "{s}");
    assert_eq!(count(&s, "poured,") + dropped, lines, "{s}");
    s
}

fn with_bad_lines(mut log: Vec<u8>) -> (Vec<u8>, u64) {
    if !log.ends_with(b"\n") {
        log.push(b'\n');
    }
    log.extend_from_slice(
        b"Mar 14 09:26:53 web1 sshd[2211]: Invalid user \xff\xfe from 192.0.2.9\n",
    );
    log.extend_from_slice(&vec![b'x'; (1 << 20) + 10]);
    log.push(b'\n');
    let lines = log.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count() as u64;
    (log, lines)
}

#[test]
fn replay_summary_accounts_for_every_line_of_an_auth_log() {
    let auth = std::fs::read(repo().join("samples/auth.log")).unwrap();
    let (log, lines) = with_bad_lines(auth);
    let s = check(&log, "syslog", lines);
    assert_eq!(count(&s, "too large"), 1, "{s}");
    assert_eq!(count(&s, "invalid UTF-8"), 1, "{s}");
    assert_eq!(count(&s, "whitelisted"), 2, "{s}");
    assert!(count(&s, "unparsed") >= 2, "{s}");
}

#[test]
fn replay_summary_accounts_for_every_line_of_an_nginx_log() {
    let nginx = std::fs::read(repo().join("scenarios/tests/nginx-logs/nginx-logs.log")).unwrap();
    let (log, lines) = with_bad_lines(nginx);
    let s = check(&log, "nginx", lines);
    assert!(count(&s, "poured,") > 0, "{s}");
}
