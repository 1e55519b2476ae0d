//! The HTTP server loop, in our hands rather than `axum::serve`'s, for the limits a public
//! service needs and `axum::serve` does not offer: a connection that sends its request head too
//! slowly (or sits idle between keep-alive requests) is cut after `header_read_timeout`; a request
//! that has not been answered after `request_timeout` (a body trickled in byte by byte) gets 408;
//! and at most `max_connections` are open, beyond which new ones wait in the kernel's accept queue
//! instead of taking file descriptors the database and the panels need. Together these keep
//! thousands of half-open connections from starving everyone (`/healthz` included) for more than
//! one header timeout.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, StatusCode};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// How long a graceful shutdown waits for requests in flight before it drops them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 4096,
            header_read_timeout: Duration::from_secs(10),
            // Long enough for a receipt upload on a slow mobile line.
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// Connections open now, for `/metrics`.
static OPEN: AtomicUsize = AtomicUsize::new(0);

pub fn open_connections() -> usize {
    OPEN.load(Ordering::Relaxed)
}

/// Counts a connection for as long as it lives, and gives its slot back when it ends.
struct Slot {
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Slot {
    fn new(permit: tokio::sync::OwnedSemaphorePermit) -> Slot {
        OPEN.fetch_add(1, Ordering::Relaxed);
        Slot { _permit: permit }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then lets the requests in flight finish
/// (for up to 20 seconds). Handlers see the peer address as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http1 = hyper::server::conn::http1::Builder::new();
    http1
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before we took it: wait a
                    // little instead of spinning on the same error.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let slot = Slot::new(permit);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let call = app.clone().oneshot(req.map(Body::new));
            async move {
                match tokio::time::timeout(limits.request_timeout, call).await {
                    Ok(res) => res,
                    Err(_) => Ok(timed_out()),
                }
            }
        });
        let conn = graceful.watch(http1.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // A client that went away or was cut by a timeout is not an error of ours.
            let _ = conn.await;
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running after the shutdown grace period were dropped");
    }
}

fn timed_out() -> Response<Body> {
    let mut res = Response::new(Body::from("request timed out\n"));
    *res.status_mut() = StatusCode::REQUEST_TIMEOUT;
    res.headers_mut().insert(
        axum::http::header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    res
}
