//! The router: every route is registered through utoipa-axum so `/api/openapi.json`
//! is generated from the same list the server serves.

pub mod admin;
pub mod api;
pub mod assets;
pub mod console;
pub mod deletion;
pub mod dev;
pub mod factors;
pub mod health;
pub mod identity;
pub mod pages;
pub mod recovery;
pub mod security;
pub mod support;
pub mod webhooks;

use crate::error::AppError;
use crate::http::{csrf, guard, MAX_BODY_BYTES};
use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(
    info(title = "offboard", description = "Self-hosted accounts with safe, self-service account deletion."),
    components(schemas(crate::error::ErrorBody)),
    tags(
        (name = "accounts", description = "Sign-up, login, sessions"),
        (name = "factors", description = "Two-factor verification: codes, authenticator, phone"),
        (name = "pages", description = "Server-rendered web pages (HTML)"),
        (name = "deletion", description = "The account deletion journey (PRODUCT.md R1-R10)"),
        (name = "identity", description = "Identity (KYC) records"),
        (name = "admin", description = "Host/admin API (bearer OFFBOARD_ADMIN_TOKEN)"),
        (name = "support", description = "Support API for agents (bearer token from support login)"),
        (name = "console", description = "The support console's pages (HTML, agent cookie)"),
        (name = "assets", description = "Balances, withdrawals, statement"),
        (name = "dev", description = "Dev mode only; 404 in production"),
        (name = "operations", description = "Health and API description"),
    )
)]
pub struct ApiDoc;

/// The full application router with its middleware.
pub fn router(state: AppState) -> Router {
    crate::metrics::handle();
    let (router, openapi) = openapi_router(&state).split_for_parts();
    let openapi = std::sync::Arc::new(crate::openapi::finish(openapi, state.config.is_dev()));
    router
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let doc = openapi.clone();
                async move { axum::Json((*doc).clone()) }
            }),
        )
        // After routing, so requests are counted under their route template.
        .route_layer(middleware::from_fn(crate::metrics::track_requests))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            csrf::ensure_csrf_cookie,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::cross_site_guard,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::security_headers,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Routes with their OpenAPI descriptions. Dev routes exist only in dev mode.
pub fn openapi_router(state: &AppState) -> OpenApiRouter<AppState> {
    let mut router = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(api::routes())
        .merge(factors::routes())
        .merge(pages::routes())
        .merge(security::routes())
        .merge(health::routes())
        .merge(identity::routes())
        .merge(assets::routes())
        .merge(admin::routes())
        .merge(deletion::routes())
        .merge(recovery::routes())
        .merge(support::routes())
        .merge(console::routes())
        .merge(webhooks::routes());
    if state.config.is_dev() {
        router = router.merge(dev::routes());
    }
    router
}

async fn not_found(req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        AppError::not_found().into_response()
    } else {
        crate::views::status_page(
            StatusCode::NOT_FOUND,
            "Page not found",
            "There is no page at this address.",
        )
    }
}
