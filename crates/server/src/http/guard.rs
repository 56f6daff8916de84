//! Response headers for every answer, and the cross-site guard: the second CSRF layer,
//! which refuses state-changing requests that a browser marks as coming from another
//! site (`Sec-Fetch-Site`) or whose `Origin` is not this server. Clients that send
//! neither header (curl, mobile apps with bearer tokens) are not affected.

use crate::error::ApiError;
use crate::views;
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use offboard_app::AppState;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub async fn cross_site_guard(
    State(_state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        if let Some(reason) = cross_site_reason(&req) {
            tracing::warn!(
                reason,
                path = req.uri().path(),
                "refused a cross-site request"
            );
            return if req.uri().path().starts_with("/api/") {
                ApiError::forbidden("Requests from other sites are refused.").into_response()
            } else {
                views::status_page(
                    StatusCode::FORBIDDEN,
                    "Request refused",
                    "This form was sent from another site. Open offboard directly and try again.",
                )
            };
        }
    }
    next.run(req).await
}

fn cross_site_reason(req: &Request) -> Option<&'static str> {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if !matches!(site, "same-origin" | "none") {
            return Some("sec-fetch-site");
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
        if origin == "null" || origin_host.is_empty() || !origin_host.eq_ignore_ascii_case(host) {
            return Some("origin");
        }
    }
    None
}

/// Security headers on every response; `no-store` on everything but static assets, so
/// no authenticated page or API answer lingers in a shared cache or the back button.
pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let is_static = req.uri().path().starts_with("/static/");
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let mut set = |name: HeaderName, value: &'static str| {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    set(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::REFERRER_POLICY, "same-origin");
    set(
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=()",
    );
    set(
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    if !is_static {
        set(header::CACHE_CONTROL, "no-store");
    }
    if !state.config.is_dev() {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        );
    }
    response
}
