use std::time::Duration;

use super::*;

#[test]
fn cancelling_the_root_cancels_children_but_not_the_reverse() {
    let shutdown = Shutdown::new();
    let (a, b) = (shutdown.child(), shutdown.child());
    a.cancel();
    assert!(a.is_cancelled() && !b.is_cancelled() && !shutdown.is_cancelled());
    let grandchild = b.child_token();
    shutdown.cancel();
    assert!(b.is_cancelled() && grandchild.is_cancelled() && shutdown.token().is_cancelled());
}

#[tokio::test]
async fn wait_for_signal_returns_when_cancelled_elsewhere() {
    let shutdown = Shutdown::new();
    let waiting = tokio::spawn(shutdown.wait_for_signal());
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!waiting.is_finished());
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(2), waiting)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn sigterm_cancels_the_root_token() {
    let shutdown = Shutdown::new();
    let child = shutdown.child();
    // Handlers are installed by this call, before the signal is sent.
    let waiting = tokio::spawn(shutdown.wait_for_signal());
    let status = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    tokio::time::timeout(Duration::from_secs(5), child.cancelled())
        .await
        .unwrap();
    waiting.await.unwrap();
    assert!(shutdown.is_cancelled());
}

#[tokio::test]
async fn join_with_deadline_reports_tasks_that_do_not_stop() {
    let shutdown = Shutdown::new();
    let token = shutdown.child();
    let polite = tokio::spawn(async move {
        token.cancelled().await;
        7
    });
    let stuck = tokio::spawn(async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        0
    });
    let broken = tokio::spawn(async { panic!("boom") });
    shutdown.cancel();
    let started = std::time::Instant::now();
    let report = join_with_deadline(
        vec![
            ("polite".into(), polite),
            ("stuck".into(), stuck),
            ("broken".into(), broken),
        ],
        Duration::from_millis(200),
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(report.finished, vec![("polite".to_owned(), 7)]);
    assert_eq!(report.unfinished, vec!["stuck".to_owned()]);
    assert_eq!(report.failed, vec!["broken".to_owned()]);
    assert!(!report.all_finished());
}
