//! The HTTP server loop (issue 13, item 5): axum's `serve` has no header timeout and no
//! connection cap, so a client that sends its headers or body a byte a minute could
//! hold a connection for as long as it liked, and many such clients the whole server.
//! Here hyper closes a connection whose headers do not arrive within the header timeout,
//! [`read_body_in_time`] answers 408 to a body that does not, and a semaphore caps the
//! connections served at once (the rest wait in the kernel's listen backlog).

use crate::http::MAX_BODY_BYTES;
use axum::extract::{ConnectInfo, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use offboard_app::config::ConnectionLimits;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// How long in-flight requests may take to finish after shutdown was asked for.
const DRAIN: Duration = Duration::from_secs(30);

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting and lets
/// the connections in hand finish (up to [`DRAIN`]).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.header_timeout))
        .keep_alive_timeout(limits.header_timeout);
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A free slot first, then the next connection: over the cap, clients wait in
        // the backlog instead of being accepted and starved.
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = hyper_util::service::TowerToHyperService::new(
            app.clone().layer(axum::Extension(ConnectInfo(peer))),
        );
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // Errors here are the client's (reset, timeout); nothing to report.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain period; closing them");
    }
    Ok(())
}

/// Middleware: reads a request's body within `timeout` (408 if the client stalls),
/// before any extractor waits on it. Bodies are capped at [`MAX_BODY_BYTES`] anyway, so
/// reading them whole here costs nothing extra.
pub async fn read_body_in_time(timeout: Duration, req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let (parts, body) = req.into_parts();
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, MAX_BODY_BYTES)).await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        Ok(Err(_)) => refusal(
            api,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "The request body is larger than 1 MiB, or it broke off. Send less.",
        ),
        Err(_) => refusal(
            api,
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "The request body did not arrive in time. Send it again.",
        ),
    }
}

fn refusal(api: bool, status: StatusCode, code: &'static str, message: &str) -> Response {
    let mut response = if api {
        // Statuses of the connection, not of the application: the body is shaped here.
        let err = crate::error::AppError::new(
            crate::error::ErrorKind::BadRequest,
            code,
            message.to_owned(),
        );
        (status, axum::Json(crate::error::ErrorBody::of(&err))).into_response()
    } else {
        crate::views::status_page(status, "The request did not arrive", message)
    };
    // The rest of a stalled body would be read as the next request: close instead.
    response.headers_mut().insert(
        axum::http::header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    response
}
