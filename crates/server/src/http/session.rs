//! Sessions: one store of sessions serves the web cookie and the API bearer token.
//! Tokens carry 256 random bits and only their SHA-256 is stored.

use crate::error::AppError;
use crate::http::cookies;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use offboard_core::crypto::{random_token, token_hash};
use offboard_core::session::SessionVerdict;
use offboard_core::AccountId;
use offboard_store::{AccountRow, NewSession, SessionKind};

/// A request made within a live session.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub account: AccountRow,
    pub token_hash: String,
}

/// Creates a session and returns the token to hand to the client (once).
pub async fn start_session(
    state: &AppState,
    account_id: AccountId,
    headers: &HeaderMap,
) -> Result<String, AppError> {
    let token = random_token();
    let hash = token_hash(&token);
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(200).collect::<String>());
    state
        .store
        .create_session(NewSession {
            token_hash: &hash,
            account_id,
            kind: SessionKind::User,
            now: state.now(),
            user_agent: user_agent.as_deref(),
        })
        .await?;
    Ok(token)
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Finds the session of the request, from the bearer token if one is sent, otherwise
/// from the session cookie. Expired sessions are deleted on sight.
pub async fn authenticate(
    parts: &Parts,
    state: &AppState,
) -> Result<Option<Authenticated>, AppError> {
    let token = match bearer(parts) {
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
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    let hash = token_hash(&token);
    let Some((session, account)) = state
        .store
        .find_session_with_account(&hash, SessionKind::User)
        .await?
    else {
        return Ok(None);
    };
    let now = state.now();
    match state
        .config
        .session_policy
        .judge(session.created_at, session.last_seen_at, now)
    {
        SessionVerdict::Valid { touch } => {
            if touch {
                state.store.touch_session(&hash, now).await?;
            }
        }
        SessionVerdict::IdleExpired | SessionVerdict::AbsoluteExpired => {
            state.store.delete_session(&hash).await?;
            return Ok(None);
        }
    }
    Ok(Some(Authenticated {
        account,
        token_hash: hash,
    }))
}

/// API routes: a live session or 401 `unauthorized`.
#[derive(Debug, Clone)]
pub struct ApiUser(pub Authenticated);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(parts, state)
            .await?
            .map(ApiUser)
            .ok_or_else(AppError::unauthorized)
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
