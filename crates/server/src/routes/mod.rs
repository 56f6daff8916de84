//! The router: every route is registered through utoipa-axum so `/api/openapi.json`
//! is generated from the same list the server serves.

pub mod admin;
pub mod api;
pub mod assets;
pub mod compliance;
pub mod console;
pub mod contact;
pub mod deletion;
pub mod dev;
pub mod factors;
pub mod freeze;
pub mod health;
pub mod identity;
pub mod pages;
pub mod passkeys;
pub mod recovery;
pub mod security;
pub mod support;
pub mod webhooks;

use crate::error::ApiError;
use crate::http::{csrf, guard, MAX_BODY_BYTES};
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::Router;
use offboard_app::AppState;
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
        .layer(middleware::from_fn({
            let timeout = state.config.connections.body_timeout;
            move |req, next| crate::http::serve::read_body_in_time(timeout, req, next)
        }))
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
        .layer(middleware::from_fn(
            crate::http::text::refuse_control_characters,
        ))
        // The span names the method and path only: query strings carry emails and phone
        // numbers (support search, the dev outbox) and never reach a log.
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// The span of one request: its method and path only. Query strings carry emails and
/// phone numbers (support search, the dev outbox) and never reach a log, at any level.
pub fn request_span<B>(req: &axum::http::Request<B>) -> tracing::Span {
    tracing::info_span!("request", method = %req.method(), path = req.uri().path())
}

/// Routes with their OpenAPI descriptions. Dev routes exist only in dev mode.
pub fn openapi_router(state: &AppState) -> OpenApiRouter<AppState> {
    let mut router = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(api::routes())
        .merge(factors::routes())
        .merge(pages::routes())
        .merge(security::routes())
        .merge(passkeys::routes())
        .merge(health::routes())
        .merge(identity::routes())
        .merge(assets::routes())
        .merge(admin::routes())
        .merge(compliance::routes())
        .merge(deletion::routes())
        .merge(recovery::routes())
        .merge(freeze::routes())
        .merge(support::routes())
        .merge(contact::routes())
        .merge(console::routes())
        .merge(webhooks::routes());
    if state.config.is_dev() {
        router = router.merge(dev::routes());
    }
    router
}

async fn not_found(req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        ApiError::not_found().into_response()
    } else {
        crate::views::status_page(
            StatusCode::NOT_FOUND,
            "Page not found",
            "There is no page at this address.",
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::ErrorKind::Other)?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn request_logs_never_hold_the_query_string() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let req = axum::http::Request::get(
                "/api/v1/support/accounts?email=alice.secret%40example.com&phone=%2B447911123456",
            )
            .body(())
            .unwrap_or_default();
            let span = super::request_span(&req);
            let _entered = span.enter();
            tracing::debug!("started processing request");
        });
        let text =
            String::from_utf8_lossy(&captured.0.lock().map(|b| b.clone()).unwrap_or_default())
                .into_owned();
        assert!(text.contains("/api/v1/support/accounts"), "{text}");
        assert!(!text.contains("alice"), "{text}");
        assert!(!text.contains("447911123456"), "{text}");
    }
}
