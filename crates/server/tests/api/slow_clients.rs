//! Slow clients (issue 13, item 5): headers that never end and bodies that never
//! complete are cut off after the settable timeouts, and the connection cap keeps a
//! crowd of them from starving everyone else. The timeouts here are one second; the
//! bounds asserted are generous multiples of it.

use crate::both_backends;
use crate::helpers::{spawn_app_with, TestApp};
use offboard_store::Backend;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

both_backends!(
    headers_that_never_end_are_cut_off,
    a_body_that_never_completes_gets_408,
    the_connection_cap_holds_and_stalled_clients_free_their_slots,
);

const TIMEOUT: Duration = Duration::from_secs(1);

async fn app(backend: Backend, max_connections: usize) -> TestApp {
    spawn_app_with(backend, move |c| {
        c.connections.header_timeout = TIMEOUT;
        c.connections.body_timeout = TIMEOUT;
        c.connections.max_connections = max_connections;
    })
    .await
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Everything the server sends until it closes the connection (at most 10 s).
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

async fn headers_that_never_end_are_cut_off(backend: Backend) {
    let app = app(backend, 64).await;
    let mut stream = connect(&app).await;
    let started = Instant::now();
    stream
        .write_all(b"POST /api/v1/login HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .unwrap();
    read_until_closed(&mut stream).await;
    let took = started.elapsed();
    assert!(
        took < TIMEOUT * 4,
        "the connection was closed after the header timeout, not {took:?}"
    );
}

async fn a_body_that_never_completes_gets_408(backend: Backend) {
    let app = app(backend, 64).await;
    let mut stream = connect(&app).await;
    let started = Instant::now();
    stream
        .write_all(
            b"POST /api/v1/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"email\": \"slow",
        )
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream).await;
    let took = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    assert!(took < TIMEOUT * 4, "answered after {took:?}");
}

async fn the_connection_cap_holds_and_stalled_clients_free_their_slots(backend: Backend) {
    let app = app(backend, 3).await;
    // Three clients that never finish their headers take every slot.
    let mut stalled = Vec::new();
    for _ in 0..3 {
        let mut s = connect(&app).await;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        stalled.push(s);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let res = app.api.get(app.url("/healthz")).send().await.unwrap();
    let took = started.elapsed();
    assert_eq!(res.status(), 200, "served once a slot was free");
    assert!(
        took >= TIMEOUT / 2,
        "the fourth connection waited for a slot ({took:?}): the cap holds"
    );
    assert!(
        took < TIMEOUT * 5,
        "the stalled clients were cut off and freed their slots ({took:?})"
    );
    drop(stalled);
}
