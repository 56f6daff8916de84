//! Prometheus metrics (`GET /metrics`, admin token): requests by route and status with
//! latencies, deletion step transitions and failures by reason, codes sent by channel,
//! jobs by state and outcome, and webhook lag. Counters live in the process-wide
//! `metrics` recorder; job and webhook figures are read from the store at scrape time,
//! so every instance reports the same cluster-wide queue.

use crate::error::ErrorCode;
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use offboard_app::AppState;
use std::sync::OnceLock;
use std::time::Instant;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder once per process (tests start many apps in one process).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ])
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => Some(handle),
                Err(err) => {
                    tracing::warn!(%err, "metrics recorder not installed");
                    None
                }
            }
        })
        .as_ref()
}

/// Counts and times every request under its route template (never the raw path, whose
/// ids would make the label set unbounded).
pub async fn track_requests(matched: Option<MatchedPath>, req: Request, next: Next) -> Response {
    let route = matched
        .as_ref()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("offboard_http_requests_total", "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("offboard_http_request_duration_seconds", "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    if route.contains("/deletion") {
        if let Some(code) = response.extensions().get::<ErrorCode>() {
            metrics::counter!("offboard_deletion_failures_total", "reason" => code.0).increment(1);
        }
    }
    response
}

/// The text exposition: the process counters plus the store's queue figures.
pub async fn render(state: &AppState) -> String {
    let now = state.now();
    match state.store.job_counts().await {
        Ok(counts) => {
            for (label, n) in [
                ("queued", counts.queued),
                ("running", counts.running),
                ("done", counts.done),
                ("dead", counts.dead),
            ] {
                metrics::gauge!("offboard_jobs", "state" => label).set(n as f64);
            }
        }
        Err(err) => tracing::warn!(%err, "job counts unavailable for /metrics"),
    }
    match state.store.oldest_pending_delivery().await {
        Ok(oldest) => {
            let lag = oldest.map_or(0.0, |at| (now - at).as_seconds_f64().max(0.0));
            metrics::gauge!("offboard_webhook_lag_seconds").set(lag);
        }
        Err(err) => tracing::warn!(%err, "webhook lag unavailable for /metrics"),
    }
    handle().map(|h| h.render()).unwrap_or_default()
}
