//! The accept loop: hyper's server (HTTP/1.1, and HTTP/2 with prior knowledge) with the
//! timeouts `axum::serve` lacks, and graceful shutdown.
//!
//! - A client must send its request headers within `header_read_timeout` of the connection's
//!   start (or of the previous response on a kept-alive connection), else the connection is
//!   closed: hyper's HTTP/1 `header_read_timeout` once the protocol is known, and the same
//!   deadline on the bytes hyper-util reads to tell HTTP/1 from HTTP/2 before that.
//! - At shutdown the listener closes; connections without a request in flight (idle, or still
//!   sending a head) close at once, the others finish their current request (its response
//!   body included) and close; those still open after `shutdown_grace` are dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// HTTP/2's connection preface; a connection whose first bytes differ from it is HTTP/1.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Timeouts of the accept loop.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServeTimeouts {
    pub header_read: Duration,
    pub shutdown_grace: Duration,
}

/// Serves `app` on `listener` until `shutdown` is cancelled, then shuts down gracefully.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    timeouts: ServeTimeouts,
    shutdown: CancellationToken,
) {
    let header_read = timeouts.header_read.max(Duration::from_millis(1));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(20)));
    let tracker = TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and the like: wait a little instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(Duration::from_millis(100)) => continue,
                    }
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let busy = Arc::new(AtomicUsize::new(0));
        let service = {
            let app = app.clone();
            let busy = busy.clone();
            hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                let guard = InFlight::new(busy.clone());
                let app = app.clone();
                async move {
                    let resp = app.oneshot(req.map(Body::new)).await?;
                    // In flight until its body is written (or dropped).
                    Ok::<_, std::convert::Infallible>(resp.map(|b| {
                        Body::new(b.map_frame(move |f| {
                            let _ = &guard;
                            f
                        }))
                    }))
                }
            })
        };
        let builder = builder.clone();
        let shutdown = shutdown.clone();
        tracker.spawn(async move {
            // Bytes still unknown after the deadline: a client too slow to say anything.
            let known = tokio::select! {
                () = shutdown.cancelled() => return,
                k = protocol_known(&stream, header_read) => k,
            };
            if !known {
                tracing::debug!(%peer, "no request head before the header read timeout");
                return;
            }
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            let ended = tokio::select! {
                r = conn.as_mut() => r,
                () = shutdown.cancelled() => {
                    if busy.load(Ordering::Acquire) == 0 {
                        return;
                    }
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracker.close();
    if tokio::time::timeout(timeouts.shutdown_grace, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(grace = ?timeouts.shutdown_grace, "connections still open at shutdown were dropped");
    }
}

/// Counts a request of a connection as in flight while alive.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn new(count: Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        InFlight(count)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Waits (at most `deadline`) until the first bytes on `stream` tell HTTP/1 from HTTP/2: they
/// differ from HTTP/2's preface, or hold all of it. False on timeout, EOF or error.
async fn protocol_known(stream: &TcpStream, deadline: Duration) -> bool {
    let probe = async {
        let mut buf = [0u8; H2_PREFACE.len()];
        loop {
            let n = match stream.peek(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => n,
            };
            if n == buf.len() || buf[..n] != H2_PREFACE[..n] {
                return true;
            }
            // A prefix of the preface: wait for more bytes (peek returns at once otherwise).
            let _ = stream.readable().await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(deadline, probe).await.unwrap_or(false)
}
