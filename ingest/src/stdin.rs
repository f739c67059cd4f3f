//! `source: stdin` (hivewall only): lines from standard input until end of file.

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::sync::CancellationToken;

use crate::lines::{Emitter, Splitter};

/// Reads `input` to its end (or until cancelled), sending each line.
pub(crate) async fn run(
    mut input: impl AsyncRead + Unpin,
    max_line_bytes: usize,
    out: Emitter,
    token: CancellationToken,
) -> Result<(), String> {
    let mut splitter = Splitter::new(max_line_bytes);
    let mut buf = vec![0; 64 * 1024];
    let mut pos = 0u64;
    let mut lines = Vec::new();
    loop {
        let n = tokio::select! {
            () = token.cancelled() => return Ok(()),
            r = input.read(&mut buf) => r.map_err(|e| format!("reading stdin: {e}"))?,
        };
        if n == 0 {
            break;
        }
        splitter.feed(&buf[..n], pos, &mut lines);
        pos += n as u64;
        for l in lines.drain(..) {
            if !out.send(l.text, "stdin", None, &token).await {
                return Ok(());
            }
        }
    }
    if let Some(l) = splitter.finish(pos) {
        out.send(l.text, "stdin", None, &token).await;
    }
    out.count_repairs(splitter.truncated, splitter.invalid_utf8);
    Ok(())
}

#[cfg(test)]
mod tests {
    use tokio::sync::mpsc;
    use tokio_util::sync::CancellationToken;

    use crate::SourceConfig;
    use crate::lines::Emitter;

    #[tokio::test]
    async fn reads_to_the_end_including_an_unterminated_last_line() {
        let (tx, mut rx) = mpsc::channel(1);
        let out = Emitter::new(&SourceConfig::stdin("syslog"), tx);
        let input: &[u8] = b"first\r\n\nsecond\nlast";
        let h = tokio::spawn(super::run(input, 1024, out, CancellationToken::new()));
        let mut got = Vec::new();
        while let Some(l) = rx.recv().await {
            assert_eq!(
                (l.line.src.as_str(), l.line.module.as_str()),
                ("stdin", "stdin")
            );
            assert_eq!(l.line.labels["type"], "syslog");
            got.push(l.line.raw);
        }
        assert_eq!(got, ["first", "second", "last"]);
        h.await.unwrap().unwrap();
    }
}
