//! The file source on real files in temporary directories.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{SourceConfig, parse_acquis, run};

fn source(yaml: &str) -> Vec<SourceConfig> {
    parse_acquis(yaml, "test").unwrap()
}

fn tail_cfg(pattern: &Path) -> Vec<SourceConfig> {
    source(&format!(
        "filename: {}\ndiscovery_poll_interval: 100ms\nlabels:\n  type: syslog\n",
        pattern.display()
    ))
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

struct Running {
    rx: mpsc::Receiver<wire::SourcedLine>,
    token: CancellationToken,
    handle: tokio::task::JoinHandle<()>,
    /// The newest checkpoint seen per key, as a processor would keep them.
    checkpoints: HashMap<String, String>,
}

impl Running {
    fn start(sources: Vec<SourceConfig>, checkpoints: HashMap<String, String>, cap: usize) -> Self {
        let (tx, rx) = mpsc::channel(cap);
        let token = CancellationToken::new();
        let t = token.clone();
        let handle = tokio::spawn(async move {
            run(sources, checkpoints, tx, t).await.unwrap();
        });
        Running {
            rx,
            token,
            handle,
            checkpoints: HashMap::new(),
        }
    }

    /// The next `n` lines' raw text, failing after `within`.
    async fn take(&mut self, n: usize, within: Duration) -> Vec<String> {
        let mut out = Vec::new();
        let deadline = tokio::time::Instant::now() + within;
        while out.len() < n {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(l)) => {
                    if let Some(c) = l.checkpoint {
                        self.checkpoints.insert(c.key, c.position);
                    }
                    out.push(l.line.raw);
                }
                _ => panic!("got {} of {n} lines: {out:?}", out.len()),
            }
        }
        out
    }

    /// Asserts nothing more arrives for a while.
    async fn quiet(&mut self) {
        if let Ok(Some(l)) = tokio::time::timeout(Duration::from_millis(300), self.rx.recv()).await
        {
            panic!("unexpected line {:?}", l.line.raw);
        }
    }

    async fn stop(self) -> HashMap<String, String> {
        self.token.cancel();
        self.handle.await.unwrap();
        self.checkpoints
    }
}

/// Waits until the tailer has opened the file (it starts at the end, so lines written before
/// are not read).
async fn settle() {
    tokio::time::sleep(Duration::from_millis(150)).await;
}

/// Appends `n` lines (`PREFIX i`) one at a time, each taken before the next is written; the
/// longest time from an append to its line.
async fn worst_append_latency(r: &mut Running, log: &Path, prefix: &str, n: usize) -> Duration {
    let mut worst = Duration::ZERO;
    for i in 0..n {
        let t0 = Instant::now();
        append(log, &format!("{prefix} {i}\n"));
        let got = r.take(1, Duration::from_secs(2)).await;
        worst = worst.max(t0.elapsed());
        assert_eq!(got, [format!("{prefix} {i}")]);
    }
    worst
}

/// A file quiet for longer than `QUIET_AFTER` is polled less often, yet its next line is seen
/// within `IDLE_POLL` (plus room for a loaded machine), and the lines after it at the fast rate
/// again.
#[tokio::test]
async fn a_quiet_file_is_still_followed_and_speeds_up_when_it_grows() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    append(&log, "old\n");
    let mut r = Running::start(tail_cfg(&log), HashMap::new(), 16);
    tokio::time::sleep(super::QUIET_AFTER + Duration::from_millis(600)).await;
    let t0 = Instant::now();
    append(&log, "after the quiet spell\n");
    assert_eq!(
        r.take(1, Duration::from_secs(3)).await,
        ["after the quiet spell"]
    );
    let first = t0.elapsed();
    assert!(
        first < Duration::from_millis(700),
        "first line after quiet took {first:?}"
    );
    let worst = worst_append_latency(&mut r, &log, "busy", 10).await;
    assert!(
        worst < Duration::from_millis(200),
        "a growing file is polled at the fast rate again: worst {worst:?}"
    );
    eprintln!("after quiet: first line in {first:?}, then worst {worst:?}");
    r.stop().await;
}

#[tokio::test]
async fn tail_starts_at_the_end_and_sees_appends_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    append(&log, "old line 1\nold line 2\n");
    let mut r = Running::start(tail_cfg(&log), HashMap::new(), 16);
    settle().await;
    let worst = worst_append_latency(&mut r, &log, "new", 20).await;
    // 25 ms polling measures ~30 ms worst here; the bound leaves room for a loaded machine.
    assert!(
        worst < Duration::from_millis(200),
        "worst append latency {worst:?}"
    );
    eprintln!("worst append-to-line latency over 20 appends: {worst:?}");
    let cps = r.stop().await;
    let key = format!("file:{}", log.display());
    let (_, off) = super::parse_position(&cps[&key]).unwrap();
    assert_eq!(off, std::fs::metadata(&log).unwrap().len());
}

#[tokio::test]
async fn partial_lines_wait_for_their_newline_and_line_fields_are_set() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.log");
    append(&log, "");
    let mut r = Running::start(tail_cfg(&log), HashMap::new(), 16);
    settle().await;
    append(&log, "hello wo");
    r.quiet().await;
    append(&log, "rld\r\n\n");
    let l = tokio::time::timeout(Duration::from_secs(2), r.rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(l.line.raw, "hello world");
    assert_eq!(l.line.src, log.display().to_string());
    assert_eq!(l.line.module, "file");
    assert_eq!(l.line.labels["type"], "syslog");
    assert!(l.line.time.is_some());
    r.quiet().await;
    r.stop().await;
}

#[tokio::test]
async fn rename_rotation_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    append(&log, "");
    let mut r = Running::start(tail_cfg(&log), HashMap::new(), 1024);
    settle().await;
    let mut want = Vec::new();
    for round in 0..3 {
        for i in 0..50 {
            let l = format!("round {round} line {i}");
            append(&log, &format!("{l}\n"));
            want.push(l);
        }
        // The last line of the old file has no newline: it still counts.
        let last = format!("round {round} unterminated");
        append(&log, &last);
        want.push(last);
        std::fs::rename(&log, dir.path().join(format!("app.log.{round}"))).unwrap();
        append(&log, &format!("round {round} first of new file\n"));
        want.push(format!("round {round} first of new file"));
        // Rotations are seconds apart in real life; give the poller a few rounds to see each.
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let got = r.take(want.len(), Duration::from_secs(5)).await;
    assert_eq!(got, want);
    r.quiet().await;
    r.stop().await;
}

#[tokio::test]
async fn copytruncate_restarts_at_zero() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    append(&log, "");
    let mut r = Running::start(tail_cfg(&log), HashMap::new(), 16);
    settle().await;
    append(
        &log,
        "a fairly long line before the truncation 1\nanother long line 2\n",
    );
    assert_eq!(r.take(2, Duration::from_secs(2)).await.len(), 2);
    // copytruncate: copy, then truncate in place; the writer goes on at the start.
    std::fs::copy(&log, dir.path().join("app.log.1")).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    settle().await;
    append(&log, "after truncate\n");
    assert_eq!(r.take(1, Duration::from_secs(2)).await, ["after truncate"]);
    r.quiet().await;
    r.stop().await;
}

#[tokio::test]
async fn checkpoint_resume_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    append(&log, "");
    let mut r = Running::start(tail_cfg(&log), HashMap::new(), 16);
    settle().await;
    append(&log, "one\ntwo\n");
    assert_eq!(r.take(2, Duration::from_secs(2)).await, ["one", "two"]);
    let cps = r.stop().await;
    // Written while hivewall was down: read on restart, from the checkpoint.
    append(&log, "three\nfour\n");
    let mut r = Running::start(tail_cfg(&log), cps.clone(), 16);
    assert_eq!(r.take(2, Duration::from_secs(2)).await, ["three", "four"]);
    r.quiet().await;
    let cps2 = r.stop().await;
    // A checkpoint for another inode (the file was rotated while down): the new file is read
    // from its start.
    std::fs::rename(&log, dir.path().join("app.log.1")).unwrap();
    append(&log, "five\n");
    let mut r = Running::start(tail_cfg(&log), cps2, 16);
    assert_eq!(r.take(1, Duration::from_secs(2)).await, ["five"]);
    r.stop().await;
}

#[tokio::test]
async fn new_files_matching_a_glob_are_picked_up_from_their_start() {
    let dir = tempfile::tempdir().unwrap();
    append(&dir.path().join("a.log"), "existing\n");
    append(&dir.path().join("skip.log"), "");
    let cfg = source(&format!(
        "filenames:\n  - {}/*.log\nexclude_regexps: ['skip']\ndiscovery_poll_interval: 100ms\nlabels:\n  type: syslog\n",
        dir.path().display()
    ));
    let mut r = Running::start(cfg, HashMap::new(), 16);
    settle().await;
    append(
        &dir.path().join("b.log"),
        "first line of b\nsecond line of b\n",
    );
    append(&dir.path().join("skip.log"), "excluded\n");
    assert_eq!(
        r.take(2, Duration::from_secs(3)).await,
        ["first line of b", "second line of b"]
    );
    append(&dir.path().join("a.log"), "appended to a\n");
    assert_eq!(r.take(1, Duration::from_secs(2)).await, ["appended to a"]);
    r.quiet().await;
    r.stop().await;
}

#[tokio::test]
async fn cat_mode_reads_everything_once_and_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.log");
    let long = "x".repeat(300);
    append(&log, &format!("one\n{long}\nbad \u{fffd}\n"));
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(b"bytes \xff\xfe\nlast")
        .unwrap();
    let cfg = source(&format!(
        "filename: {}\nmode: cat\nmax_line_bytes: 100\nlabels:\n  type: syslog\n",
        log.display()
    ));
    let (tx, mut rx) = mpsc::channel(64);
    run(cfg, HashMap::new(), tx, CancellationToken::new())
        .await
        .unwrap();
    let mut got = Vec::new();
    while let Some(l) = rx.recv().await {
        got.push(l.line.raw);
    }
    assert_eq!(
        got,
        [
            "one".to_string(),
            "x".repeat(100),
            "bad \u{fffd}".into(),
            "bytes \u{fffd}\u{fffd}".into(),
            "last".into()
        ]
    );
}

#[tokio::test]
async fn backpressure_slows_the_source_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("big.log");
    let n = 5000;
    let text: String = (0..n).map(|i| format!("line {i}\n")).collect();
    append(&log, &text);
    let cfg = source(&format!(
        "filename: {}\nmode: cat\nlabels:\n  type: syslog\n",
        log.display()
    ));
    let (tx, mut rx) = mpsc::channel(2);
    let h = tokio::spawn(run(cfg, HashMap::new(), tx, CancellationToken::new()));
    let mut i = 0;
    while let Some(l) = rx.recv().await {
        assert_eq!(l.line.raw, format!("line {i}"));
        if i % 1000 == 0 {
            // A slow consumer: the source must wait, not drop.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        i += 1;
    }
    assert_eq!(i, n);
    h.await.unwrap().unwrap();
}
