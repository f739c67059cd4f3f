//! The journalctl source with a fake `journalctl` script that prints JSON entries.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::entry_line;
use crate::{parse_acquis, run};

/// A fake journalctl: records its arguments, prints entries 1..=3 (or those after the cursor
/// `c<N>`), then sleeps like `--follow` would.
fn fake(dir: &Path) -> PathBuf {
    let bin = dir.join("journalctl");
    let script = format!(
        r#"#!/bin/sh
echo "$@" > {args}
start=1
prev=""
for a in "$@"; do
  if [ "$prev" = "--after-cursor" ]; then start=$(( ${{a#c}} + 1 )); fi
  prev="$a"
done
i=$start
while [ $i -le 3 ]; do
  echo '{{"__CURSOR":"c'$i'","__REALTIME_TIMESTAMP":"1700000000000000","_HOSTNAME":"host","SYSLOG_IDENTIFIER":"sshd","_PID":"42","MESSAGE":"entry '$i'"}}'
  i=$((i + 1))
done
exec sleep 30
"#,
        args = dir.join("args").display()
    );
    std::fs::write(&bin, script).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

fn cfg(bin: &Path) -> Vec<crate::SourceConfig> {
    parse_acquis(
        &format!(
            "source: journalctl\njournalctl_filter:\n  - _SYSTEMD_UNIT=ssh.service\njournalctl_bin: {}\nlabels:\n  type: syslog\n",
            bin.display()
        ),
        "t",
    )
    .unwrap()
}

fn expected(i: u32) -> String {
    let ts = chrono::DateTime::from_timestamp_micros(1_700_000_000_000_000)
        .unwrap()
        .with_timezone(&chrono::Local)
        .format("%b %d %H:%M:%S");
    format!("{ts} host sshd[42]: entry {i}")
}

async fn collect(
    sources: Vec<crate::SourceConfig>,
    checkpoints: HashMap<String, String>,
    n: usize,
) -> Vec<wire::SourcedLine> {
    let (tx, mut rx) = mpsc::channel(8);
    let token = CancellationToken::new();
    let h = tokio::spawn(run(sources, checkpoints, tx, token.clone()));
    let mut got = Vec::new();
    while got.len() < n {
        let l = tokio::time::timeout(Duration::from_secs(3), rx.recv())
            .await
            .unwrap()
            .unwrap();
        got.push(l);
    }
    token.cancel();
    h.await.unwrap().unwrap();
    got
}

#[tokio::test]
async fn lines_cursor_checkpoints_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let bin = fake(dir.path());
    let got = collect(cfg(&bin), HashMap::new(), 3).await;
    let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
    assert_eq!(
        args.trim(),
        "--follow -o json -n 0 _SYSTEMD_UNIT=ssh.service"
    );
    assert_eq!(got[0].line.raw, expected(1));
    assert_eq!(got[0].line.src, "journalctl-_SYSTEMD_UNIT=ssh.service");
    assert_eq!(got[0].line.module, "journalctl");
    let cp = got[2].checkpoint.clone().unwrap();
    assert_eq!(cp.key, "journalctl:_SYSTEMD_UNIT=ssh.service");
    assert_eq!(cp.position, "c3");

    // Resume after c1: entries 2 and 3 only.
    let cps = HashMap::from([(cp.key.clone(), "c1".to_string())]);
    let got = collect(cfg(&bin), cps, 2).await;
    let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
    assert_eq!(
        args.trim(),
        "--follow -o json --after-cursor c1 _SYSTEMD_UNIT=ssh.service"
    );
    assert_eq!(got[0].line.raw, expected(2));
    assert_eq!(got[1].line.raw, expected(3));
}

#[tokio::test]
async fn missing_journalctl_fails_that_source_only() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.log");
    std::fs::write(&log, "still read\n").unwrap();
    let mut sources = cfg(&dir.path().join("no-such-journalctl"));
    sources.extend(
        parse_acquis(
            &format!(
                "filename: {}\nmode: cat\nlabels:\n  type: syslog\n",
                log.display()
            ),
            "t",
        )
        .unwrap(),
    );
    let (tx, mut rx) = mpsc::channel(8);
    run(sources, HashMap::new(), tx, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(rx.recv().await.unwrap().line.raw, "still read");
    // Alone, it is an error naming the binary.
    let (tx, _rx) = mpsc::channel(8);
    let err = run(
        cfg(&dir.path().join("nope")),
        HashMap::new(),
        tx,
        CancellationToken::new(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn entry_line_falls_back_to_comm_and_binary_messages() {
    let e = serde_json::json!({
        "__REALTIME_TIMESTAMP": "1700000000000000",
        "_HOSTNAME": "h",
        "_COMM": "cron",
        "MESSAGE": [104, 105, 255],
    });
    let line = entry_line(&e).unwrap();
    assert!(line.ends_with(" h cron: hi\u{fffd}"), "{line}");
    assert!(entry_line(&serde_json::json!({"MESSAGE": "x"})).is_none());
}
