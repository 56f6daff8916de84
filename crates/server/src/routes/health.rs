use crate::error::ApiError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use offboard_app::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

/// Prometheus metrics (text exposition). Needs the admin token, like the admin API:
/// route names and queue sizes are for operators only.
#[utoipa::path(get, path = "/metrics", tag = "operations", operation_id = "ops_metrics",
    security(("admin_token" = [])),
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"),
        (status = 401, description = "`unauthorized`: no or wrong admin token", body = crate::error::ErrorBody),
        (status = 404, description = "`not_found`: no admin token is configured", body = crate::error::ErrorBody)))]
pub async fn metrics(State(state): State<AppState>, _: crate::http::admin::AdminAuth) -> Response {
    let body = crate::metrics::render(&state).await;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        body,
    )
        .into_response()
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", operation_id = "ops_healthz",
    responses((status = 200, description = "up: `ok`", body = String, content_type = "text/plain")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// The database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations", operation_id = "ops_readyz",
    responses((status = 200, description = "ready: `ready`", body = String, content_type = "text/plain"),
        (status = 503, description = "`internal_error`: the database does not answer", body = crate::error::ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(err) => {
            let mut response = ApiError::internal(err).into_response();
            *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            response
        }
    }
}
