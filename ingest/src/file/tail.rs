//! Following one file: read what was appended, notice rename rotation (the path now names
//! another inode: finish the old file, then read the new one from its start) and copytruncate
//! (the file became shorter than what was read: start again at 0), resume from checkpoints.

use std::io::SeekFrom;
use std::os::unix::fs::MetadataExt;
use std::time::Instant;

use tokio::fs::File;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::sync::CancellationToken;

use super::{GONE_AFTER, IDLE_POLL, QUIET_AFTER, Start};
use crate::lines::{Emitter, Line, Splitter};
use crate::{FileConfig, Mode};

const CHUNK: usize = 64 * 1024;

/// A file's identity: device and inode.
type Ident = (u64, u64);

/// Parses a file checkpoint position, `<dev>:<inode>:<offset>`.
pub(crate) fn parse_position(s: &str) -> Option<(Ident, u64)> {
    let mut it = s.splitn(3, ':');
    let dev = it.next()?.parse().ok()?;
    let ino = it.next()?.parse().ok()?;
    let off = it.next()?.parse().ok()?;
    Some(((dev, ino), off))
}

/// The open file of a tailer.
struct Open {
    file: File,
    ident: Ident,
    /// Bytes read from the file (the splitter may hold the end of them).
    read_pos: u64,
}

/// Follows one path.
pub(super) struct Tailer {
    path: String,
    key: String,
    mode: Mode,
    poll: std::time::Duration,
    splitter: Splitter,
    out: Emitter,
    token: CancellationToken,
    buf: Vec<u8>,
}

/// Why reading stopped.
enum Stop {
    /// The channel is closed or the source was cancelled.
    Shutdown,
}

impl Tailer {
    pub(super) fn new(
        path: String,
        key: String,
        cfg: &FileConfig,
        out: Emitter,
        token: CancellationToken,
    ) -> Self {
        Tailer {
            path,
            key,
            mode: cfg.mode,
            poll: cfg.poll_interval,
            splitter: Splitter::new(cfg.max_line_bytes),
            out,
            token,
            buf: vec![0; CHUNK],
        }
    }

    /// Follows the file until cancelled, or until it is read (`cat`) or gone for good.
    /// Returns the path, so the discovery loop can forget it.
    pub(super) async fn run(mut self, start: Start, position: Option<String>) -> String {
        match self.open(start, position.as_deref()).await {
            Ok(open) => {
                let _ = self.follow(open).await;
            }
            Err(e) => tracing::warn!(file = %self.path, error = %e, "cannot open file"),
        }
        self.report();
        self.path
    }

    async fn open(&mut self, start: Start, position: Option<&str>) -> std::io::Result<Open> {
        let mut file = File::open(&self.path).await?;
        let meta = file.metadata().await?;
        let ident = (meta.dev(), meta.ino());
        let size = meta.len();
        let resume = position.and_then(parse_position);
        let offset = match resume {
            // The same file: resume, unless it was truncated meanwhile.
            Some((id, off)) if id == ident => {
                if off <= size {
                    off
                } else {
                    0
                }
            }
            // Another file at the path: ours was rotated away while we were down.
            Some(_) => 0,
            None => match start {
                Start::Beginning => 0,
                Start::End => last_line_start(&mut file, size).await?,
            },
        };
        file.seek(SeekFrom::Start(offset)).await?;
        tracing::info!(file = %self.path, offset, "following file");
        Ok(Open {
            file,
            ident,
            read_pos: offset,
        })
    }

    async fn follow(&mut self, mut open: Open) -> Result<(), Stop> {
        let mut missing_since: Option<Instant> = None;
        // When the file last grew (or following began).
        let mut grew = Instant::now();
        loop {
            if self.read_available(&mut open).await? {
                grew = Instant::now();
            }
            // copytruncate: the file is now shorter than what we read.
            if let Ok(meta) = open.file.metadata().await
                && meta.len() < open.read_pos
            {
                tracing::info!(file = %self.path, "file truncated, reading it again from the start");
                self.splitter.reset();
                open.read_pos = 0;
                if open.file.seek(SeekFrom::Start(0)).await.is_err() {
                    return Ok(());
                }
                continue;
            }
            match tokio::fs::metadata(&self.path).await {
                Ok(meta) if (meta.dev(), meta.ino()) != open.ident => {
                    // Rotated: finish the old file, then take the new one from its start.
                    self.read_available(&mut open).await?;
                    self.finish(&open).await?;
                    match self.open(Start::Beginning, None).await {
                        Ok(new) => {
                            tracing::info!(file = %self.path, "file rotated");
                            open = new;
                            missing_since = None;
                            continue;
                        }
                        Err(e) => {
                            tracing::debug!(file = %self.path, error = %e, "rotated file not readable yet");
                        }
                    }
                }
                Ok(_) => missing_since = None,
                Err(_) => {
                    let since = *missing_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= GONE_AFTER {
                        self.read_available(&mut open).await?;
                        self.finish(&open).await?;
                        tracing::info!(file = %self.path, "file gone, no longer followed");
                        return Ok(());
                    }
                }
            }
            if self.mode == Mode::Cat {
                self.finish(&open).await?;
                return Ok(());
            }
            let wait = if grew.elapsed() >= QUIET_AFTER {
                self.poll.max(IDLE_POLL)
            } else {
                self.poll
            };
            tokio::select! {
                () = self.token.cancelled() => return Err(Stop::Shutdown),
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Reads to the current end of the file, sending every complete line; whether it read
    /// anything.
    async fn read_available(&mut self, open: &mut Open) -> Result<bool, Stop> {
        let mut lines = Vec::new();
        let mut read = false;
        loop {
            let n = match open.file.read(&mut self.buf).await {
                Ok(0) => {
                    self.report();
                    return Ok(read);
                }
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(file = %self.path, error = %e, "read error");
                    return Ok(read);
                }
            };
            read = true;
            self.splitter
                .feed(&self.buf[..n], open.read_pos, &mut lines);
            open.read_pos += n as u64;
            for line in lines.drain(..) {
                self.send(line, open.ident).await?;
            }
        }
    }

    /// The file will not grow any more: its unterminated last line is a line.
    async fn finish(&mut self, open: &Open) -> Result<(), Stop> {
        if self.splitter.has_partial()
            && let Some(line) = self.splitter.finish(open.read_pos)
        {
            self.send(line, open.ident).await?;
        }
        Ok(())
    }

    async fn send(&mut self, line: Line, ident: Ident) -> Result<(), Stop> {
        let checkpoint = wire::Checkpoint {
            key: self.key.clone(),
            position: format!("{}:{}:{}", ident.0, ident.1, line.end),
        };
        if self
            .out
            .send(line.text, &self.path, Some(checkpoint), &self.token)
            .await
        {
            Ok(())
        } else {
            Err(Stop::Shutdown)
        }
    }

    fn report(&mut self) {
        let (t, i) = (self.splitter.truncated, self.splitter.invalid_utf8);
        if t + i > 0 {
            tracing::warn!(file = %self.path, truncated = t, invalid_utf8 = i, "lines repaired");
        }
        self.out.count_repairs(t, i);
        self.splitter.truncated = 0;
        self.splitter.invalid_utf8 = 0;
    }
}

/// Where the last line of a file starts (just after the last newline within the last chunk),
/// so that a tail that starts while a line is being written reads that line whole.
async fn last_line_start(file: &mut File, size: u64) -> std::io::Result<u64> {
    if size == 0 {
        return Ok(0);
    }
    let from = size.saturating_sub(CHUNK as u64);
    file.seek(SeekFrom::Start(from)).await?;
    let mut tail = vec![0; (size - from) as usize];
    file.read_exact(&mut tail).await?;
    Ok(match tail.iter().rposition(|b| *b == b'\n') {
        Some(i) => from + i as u64 + 1,
        None if from == 0 => 0,
        None => size,
    })
}
