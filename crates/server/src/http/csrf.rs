//! CSRF protection for the HTML forms: a double-submit token. Every page response makes
//! sure the browser holds a random token in an HttpOnly, SameSite=Strict cookie
//! (`__Host-` outside dev, so no subdomain can plant one); every form repeats it in a
//! hidden `csrf_token` field; a POST whose field does not match the cookie (compared in
//! constant time) is refused with 403. The Origin/Sec-Fetch-Site guard in
//! [`super::guard`] is the second layer.

use crate::http::cookies;
use crate::views;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum_extra::extract::cookie::{CookieJar, SameSite};
use offboard_app::AppState;
use offboard_core::crypto::{constant_time_eq, random_token};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::convert::Infallible;

/// The token of this request's browser, for rendering into forms.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// Middleware: read the CSRF cookie, or mint one and set it on the response.
pub async fn ensure_csrf_cookie(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let secure = !state.config.is_dev();
    let name = cookies::csrf_cookie_name(secure);
    let existing = CookieJar::from_headers(req.headers())
        .get(name)
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == 43);
    let (token, fresh) = match existing {
        Some(token) => (token, false),
        None => (random_token(), true),
    };
    req.extensions_mut().insert(CsrfToken(token.clone()));
    let mut response = next.run(req).await;
    if fresh {
        let cookie = cookies::build(name, token, secure, SameSite::Strict);
        if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<CsrfToken>()
            .cloned()
            .unwrap_or_else(|| CsrfToken(String::new())))
    }
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf_token: String,
}

/// A URL-encoded form whose `csrf_token` matched the cookie.
pub struct CsrfForm<T>(pub T);

impl<T> FromRequest<AppState> for CsrfForm<T>
where
    T: DeserializeOwned,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        read_form(req, state, true).await.map(CsrfForm)
    }
}

/// A URL-encoded form whose `csrf_token` matched the cookie, with its control characters
/// left for the service to judge: for free-text forms whose service refuses them itself
/// (`offboard_core::support::SupportText`), so the page can mark the field and keep the
/// rest of what was typed instead of answering a bare error page.
pub struct CsrfTextForm<T>(pub T);

impl<T> FromRequest<AppState> for CsrfTextForm<T>
where
    T: DeserializeOwned,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        read_form(req, state, false).await.map(CsrfTextForm)
    }
}

/// The CSRF check and the form's decoding; `refuse_controls` refuses control
/// characters in any field with an error page (see [`crate::http::text`]).
async fn read_form<T: DeserializeOwned>(
    req: Request,
    state: &AppState,
    refuse_controls: bool,
) -> Result<T, Response> {
    let expected = req
        .extensions()
        .get::<CsrfToken>()
        .map(|t| t.0.clone())
        .unwrap_or_default();
    let bytes = axum::body::Bytes::from_request(req, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                views::status_page(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Too much data",
                    "The form sent more than 1 MiB. Send less and try again.",
                )
            } else {
                views::status_page(
                    StatusCode::BAD_REQUEST,
                    "Unreadable form",
                    "The form could not be read. Reload the page and try again.",
                )
            }
        })?;
    let sent = serde_urlencoded::from_bytes::<CsrfField>(&bytes)
        .map(|f| f.csrf_token)
        .unwrap_or_default();
    if expected.is_empty()
        || sent.is_empty()
        || !constant_time_eq(sent.as_bytes(), expected.as_bytes())
    {
        return Err(views::status_page(
            StatusCode::FORBIDDEN,
            "This form has expired",
            "For your safety the form could not be accepted. Reload the page and submit it again.",
        ));
    }
    let pairs = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes).map_err(|_| {
        views::status_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Unreadable form",
            "The form could not be read. Reload the page and try again.",
        )
    })?;
    if let Some(field) =
        crate::http::text::refused_in_pairs(&pairs, true).filter(|_| refuse_controls)
    {
        return Err(views::status_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Unreadable form",
            &format!(
                "The field `{field}` {}. Remove them and submit again.",
                crate::http::text::REFUSED
            ),
        ));
    }
    serde_urlencoded::from_bytes::<T>(&bytes).map_err(|err| {
        views::status_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Incomplete form",
            // serde's messages may quote the value sent; keep only a missing
            // field's name.
            &match err.to_string().strip_prefix("missing field ") {
                Some(name) => format!("The form is missing the field {name}."),
                None => {
                    "A field of the form is malformed. Reload the page and try again.".to_owned()
                }
            },
        )
    })
}

/// The body of a form that carries nothing but its CSRF token (logout, "Start", "Next Step").
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct EmptyForm {}
