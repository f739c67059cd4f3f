//! `source: syslog`: a syslog server on UDP and TCP (RFC 6587 framing: octet counting or one
//! message per line). Each message is parsed as RFC 3164 or RFC 5424 and rebuilt into the line
//! CrowdSec's datasource emits; messages neither parser accepts are counted and dropped, as
//! CrowdSec drops them. CrowdSec listens on UDP only; TCP is hivewall's addition.

mod parse;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;

use metrics::counter;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::SyslogConfig;
use crate::lines::Emitter;

/// Runs the server until `token` is cancelled.
pub(crate) async fn run(
    cfg: &SyslogConfig,
    out: Emitter,
    token: CancellationToken,
) -> Result<(), String> {
    let addr = SocketAddr::new(cfg.addr, cfg.port);
    let mut set = JoinSet::new();
    if cfg.udp {
        let sock = UdpSocket::bind(addr)
            .await
            .map_err(|e| format!("listening on udp {addr}: {e}"))?;
        set.spawn(udp(sock, cfg.clone(), out.clone(), token.clone()));
    }
    if cfg.tcp {
        let l = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("listening on tcp {addr}: {e}"))?;
        set.spawn(tcp(l, cfg.clone(), out.clone(), token.clone()));
    }
    tracing::info!(%addr, udp = cfg.udp, tcp = cfg.tcp, "syslog server listening");
    let mut first_err = Ok(());
    while let Some(r) = set.join_next().await {
        if let Ok(Err(e)) = r
            && first_err.is_ok()
        {
            first_err = Err(e);
            token.cancel();
        }
    }
    first_err
}

/// Turns one message into a line and sends it; `false` when the source must stop.
async fn handle(
    msg: &[u8],
    client: &str,
    cfg: &SyslogConfig,
    out: &Emitter,
    token: &CancellationToken,
) -> bool {
    let ty = out.type_label();
    counter!("hivewall_syslog_messages_total", "type" => ty.clone()).increment(1);
    let msg = &msg[..msg.len().min(cfg.max_message_len)];
    match parse::to_line(msg, cfg.disable_rfc_parser, chrono::Utc::now()) {
        Ok(line) => out.send(line, client, None, token).await,
        Err(e) => {
            counter!("hivewall_syslog_unparsed_total", "type" => ty).increment(1);
            tracing::debug!(client, error = %e, raw = %String::from_utf8_lossy(msg), "syslog message dropped");
            true
        }
    }
}

async fn udp(
    sock: UdpSocket,
    cfg: SyslogConfig,
    out: Emitter,
    token: CancellationToken,
) -> Result<(), String> {
    // One byte more than allowed, so that longer datagrams are seen (and cut) rather than
    // silently shortened by the kernel.
    let mut buf = vec![0u8; cfg.max_message_len + 1];
    loop {
        let (n, peer) = tokio::select! {
            () = token.cancelled() => return Ok(()),
            r = sock.recv_from(&mut buf) => r.map_err(|e| format!("udp receive: {e}"))?,
        };
        if !handle(&buf[..n], &peer.ip().to_string(), &cfg, &out, &token).await {
            return Ok(());
        }
    }
}

async fn tcp(
    l: TcpListener,
    cfg: SyslogConfig,
    out: Emitter,
    token: CancellationToken,
) -> Result<(), String> {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            () = token.cancelled() => break,
            r = l.accept() => match r {
                Ok((stream, peer)) => {
                    conns.spawn(connection(stream, peer, cfg.clone(), out.clone(), token.clone()));
                }
                Err(e) => tracing::warn!(error = %e, "syslog tcp accept failed"),
            },
            Some(_) = conns.join_next() => {}
        }
    }
    conns.shutdown().await;
    Ok(())
}

/// One TCP client: frames are octet-counted (`LEN SP MSG`) when they start with a digit,
/// newline-terminated otherwise (RFC 6587).
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    cfg: SyslogConfig,
    out: Emitter,
    token: CancellationToken,
) {
    let client = peer.ip().to_string();
    let mut r = BufReader::new(stream);
    let max = cfg.max_message_len;
    loop {
        let first = tokio::select! {
            () = token.cancelled() => return,
            b = r.fill_buf() => match b {
                Ok([]) | Err(_) => return,
                Ok(b) => b[0],
            },
        };
        let msg = if first.is_ascii_digit() {
            let mut len = Vec::new();
            if r.read_until(b' ', &mut len).await.is_err() {
                return;
            }
            let Some(n) = std::str::from_utf8(len.trim_ascii_end())
                .ok()
                .and_then(|s| s.parse::<usize>().ok())
            else {
                tracing::debug!(%client, "bad syslog octet count, closing");
                return;
            };
            let mut msg = vec![0; n.min(max)];
            if r.read_exact(&mut msg).await.is_err() {
                return;
            }
            // Skip what does not fit.
            let skip = (n - msg.len()) as u64;
            if skip > 0
                && tokio::io::copy(&mut (&mut r).take(skip), &mut tokio::io::sink())
                    .await
                    .is_err()
            {
                return;
            }
            msg
        } else {
            let mut msg = Vec::new();
            match (&mut r)
                .take(max as u64 + 1)
                .read_until(b'\n', &mut msg)
                .await
            {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if msg.last() != Some(&b'\n') && msg.len() > max {
                // Too long: drop the rest of the line.
                let mut rest = Vec::new();
                loop {
                    rest.clear();
                    match (&mut r).take(64 * 1024).read_until(b'\n', &mut rest).await {
                        Ok(0) | Err(_) => break,
                        Ok(_) if rest.last() == Some(&b'\n') => break,
                        Ok(_) => {}
                    }
                }
            }
            let end = msg.strip_suffix(b"\n").map_or(msg.len(), <[u8]>::len);
            msg.truncate(end);
            if msg.last() == Some(&b'\r') {
                msg.pop();
            }
            msg
        };
        if !handle(&msg, &client, &cfg, &out, &token).await {
            return;
        }
    }
}
