//! Which session a request belongs to: the bearer token if one is sent, otherwise the
//! session cookie; [`offboard_app::sessions`] checks it. The extractors here give routes
//! a live session or the right refusal (401 for the API, the login page for pages).

use crate::error::{ApiError, AppError};
use crate::http::cookies;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use offboard_app::{sessions, AppState};

pub use offboard_app::sessions::Authenticated;

/// The user agent a request names, for the session record (R3's known device).
pub fn user_agent(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
}

/// The bearer token of an `Authorization` header, if one is sent. The one parser for
/// user and agent tokens alike.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Finds the session of the request, from the bearer token if one is sent, otherwise
/// from the session cookie.
pub async fn authenticate(
    parts: &Parts,
    state: &AppState,
) -> Result<Option<Authenticated>, AppError> {
    let token = match bearer(&parts.headers) {
        Some(token) => token.to_owned(),
        None => {
            let jar = CookieJar::from_headers(&parts.headers);
            let name = cookies::session_cookie_name(!state.config.is_dev());
            match jar.get(name) {
                Some(cookie) => cookie.value().to_owned(),
                None => return Ok(None),
            }
        }
    };
    sessions::authenticate(state, &token).await
}

/// API routes: a live session or 401 `unauthorized`.
#[derive(Debug, Clone)]
pub struct ApiUser(pub Authenticated);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(parts, state)
            .await?
            .map(ApiUser)
            .ok_or_else(ApiError::unauthorized)
    }
}

/// Pages: a live session, or a redirect to the login page.
#[derive(Debug, Clone)]
pub struct PageUser(pub Authenticated);

pub struct LoginRedirect(Response);

impl IntoResponse for LoginRedirect {
    fn into_response(self) -> Response {
        self.0
    }
}

impl FromRequestParts<AppState> for PageUser {
    type Rejection = LoginRedirect;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match authenticate(parts, state).await {
            Ok(Some(auth)) => Ok(PageUser(auth)),
            Ok(None) => Err(LoginRedirect(Redirect::to("/login").into_response())),
            Err(err) => Err(LoginRedirect(crate::views::error_page(&err, None))),
        }
    }
}

/// Pages open to everyone that look different when signed in.
#[derive(Debug, Clone)]
pub struct MaybePageUser(pub Option<Authenticated>);

impl FromRequestParts<AppState> for MaybePageUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(parts, state)
            .await
            .map(MaybePageUser)
            .map_err(|err| crate::views::error_page(&err, None))
    }
}
