//! What a stranger can do to the server with sockets alone: open many connections and send the
//! request head byte by byte (slowloris), or trickle a body. Each such connection is cut after
//! the header timeout or answered 408 after the request timeout, the number open never passes
//! the cap, and `/healthz` answers throughout. Its own test binary with one test, as the count of
//! open connections is one per process.

mod common;

use common::TestApp;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CAP: usize = 64;

fn limits() -> web::server::Limits {
    web::server::Limits {
        max_connections: CAP,
        header_read_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(3),
    }
}

/// A connection that has sent part of a request head and then goes quiet.
async fn half_open(app: &TestApp) -> TcpStream {
    let addr = app.base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: vm\r\nX-Slow: ")
        .await
        .unwrap();
    s
}

/// Whether the server has closed (or answered and closed) this connection.
async fn closed_by_server(s: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 512];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // a 408 before the close
        }
    }
}

#[tokio::test]
async fn slow_headers_are_cut_and_healthz_answers() {
    let app = TestApp::spawn_limited(limits()).await;
    let client = reqwest::Client::new();

    // Under the cap: the server answers /healthz while the slow connections still hang.
    let mut slow = Vec::new();
    for _ in 0..CAP - 8 {
        slow.push(half_open(&app).await);
    }
    let health = client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    for s in slow.iter_mut() {
        assert!(
            !closed_by_server(s, Duration::from_millis(1)).await,
            "a slow connection was still open when /healthz answered"
        );
    }
    // Each is cut once the header timeout passes (hyper's default would keep it 30 s or more).
    for s in slow.iter_mut() {
        assert!(
            closed_by_server(s, Duration::from_secs(8)).await,
            "a connection that never finished its request head was not cut"
        );
    }

    // Over the cap: three times as many half-open connections as allowed. The server keeps at
    // most CAP open, the rest wait in the accept queue, and /healthz is answered once the header
    // timeout frees the slots, not when the client gives up.
    let mut flood = Vec::new();
    for _ in 0..3 * CAP {
        flood.push(half_open(&app).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fresh = reqwest::Client::new();
    let health = tokio::time::timeout(
        Duration::from_secs(20),
        fresh.get(app.url("/healthz")).send(),
    )
    .await
    .expect("/healthz answered under a flood of half-open connections")
    .unwrap();
    assert_eq!(health.status(), 200);
    let open = web::server::open_connections();
    assert!(open <= CAP, "{open} connections open, the cap is {CAP}");
    drop(flood);
}
