//! Which support agent a request comes from: the API's bearer token, or the console's
//! own cookie (never the user's cookie or a bearer header, so no user credential opens
//! the console). [`offboard_app::support::agent_session`] checks the token for both.

use crate::error::{ApiError, AppError, ErrorKind};
use crate::http::cookies;
use crate::http::session::bearer;
use crate::views;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
pub use offboard_app::support::AgentAuth;
use offboard_app::{support, AppState};

/// Support API routes: a live agent session from the bearer token, or 401.
#[derive(Debug, Clone)]
pub struct ApiAgent(pub AgentAuth);

impl FromRequestParts<AppState> for ApiAgent {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let unauthorized = || {
            ApiError::new(
                ErrorKind::Unauthenticated,
                "unauthorized",
                "Sign in to the support console first: this request needs a valid agent session.",
            )
        };
        let token = bearer(&parts.headers).ok_or_else(unauthorized)?;
        support::agent_session(state, token)
            .await?
            .map(ApiAgent)
            .ok_or_else(unauthorized)
    }
}

/// The agent behind the console's cookie. Only the agent cookie is read, never the
/// user's session cookie or a bearer header, so no user credential opens the console.
async fn agent_from_cookie(parts: &Parts, state: &AppState) -> Result<Option<AgentAuth>, AppError> {
    let jar = CookieJar::from_headers(&parts.headers);
    let name = cookies::agent_session_cookie_name(!state.config.is_dev());
    match jar.get(name) {
        Some(cookie) => support::agent_session(state, cookie.value()).await,
        None => Ok(None),
    }
}

/// Console pages: a live agent session from the agent cookie, or a redirect to the
/// console's login page.
#[derive(Debug, Clone)]
pub struct PageAgent(pub AgentAuth);

impl FromRequestParts<AppState> for PageAgent {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match agent_from_cookie(parts, state).await {
            Ok(Some(agent)) => Ok(PageAgent(agent)),
            Ok(None) => Err(Redirect::to(support::CONSOLE_LOGIN_PATH).into_response()),
            Err(err) => Err(views::error_page(&err, None)),
        }
    }
}

/// Console pages open without a session (login, logout) that act on one if present.
#[derive(Debug, Clone)]
pub struct MaybePageAgent(pub Option<AgentAuth>);

impl FromRequestParts<AppState> for MaybePageAgent {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        agent_from_cookie(parts, state)
            .await
            .map(MaybePageAgent)
            .map_err(|err| views::error_page(&err, None))
    }
}
