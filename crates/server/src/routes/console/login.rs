//! Console login and logout: password and authenticator, one answer for every failure.

use super::models::*;
use crate::error::HttpStatus;
use crate::http::agent::MaybePageAgent;
use crate::http::client::ClientAddr;
use crate::http::cookies;
use crate::http::csrf::{CsrfForm, CsrfToken, EmptyForm};
use crate::layout::signed_out_layout;
use crate::views::{self};
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum_extra::extract::cookie::SameSite;
use offboard_app::support::{self};
use offboard_app::AppState;
use serde::Deserialize;
use utoipa::ToSchema;

#[utoipa::path(get, path = "/support/login", tag = "console", operation_id = "console_login", security((), ("agent_cookie" = [])), params(ConsoleNoticeQuery),
    responses((status = 200, description = "the support console's login form", content_type = "text/html"),
        (status = 303, description = "already signed in as an agent: to the console")))]
pub async fn login_page(
    State(state): State<AppState>,
    MaybePageAgent(agent): MaybePageAgent,
    csrf: CsrfToken,
    Query(q): Query<ConsoleNoticeQuery>,
) -> Response {
    if agent.is_some() {
        return see_other("/support");
    }
    views::render(&LoginPage {
        layout: signed_out_layout(&state, &csrf),
        email: String::new(),
        error: None,
        notice: q.notice.as_deref().and_then(notice_text),
    })
}

#[derive(Deserialize, ToSchema)]
pub struct ConsoleLoginForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
    /// The 6-digit code of the agent's authenticator app.
    #[serde(default)]
    pub totp_code: String,
}

#[utoipa::path(post, path = "/support/login", tag = "console", operation_id = "console_login_submit",
    request_body(content = ConsoleLoginForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "signed in: the agent session cookie is set; to the console"),
        (status = 401, description = "the form again with one message for every failure (throttling adds `Retry-After`)", content_type = "text/html",
            headers(("Retry-After" = u64, description = "seconds to wait, when throttled")))))]
pub async fn login_submit(
    State(state): State<AppState>,
    csrf: CsrfToken,
    ClientAddr(addr): ClientAddr,
    CsrfForm(form): CsrfForm<ConsoleLoginForm>,
) -> Response {
    match support::login(&state, &form.email, &form.password, &form.totp_code, &addr).await {
        Ok(token) => {
            let secure = !state.config.is_dev();
            // Strict: the console is never entered from a link on another site, so
            // the agent cookie need not travel on any cross-site request at all.
            let cookie = cookies::build(
                cookies::agent_session_cookie_name(secure),
                token,
                secure,
                SameSite::Strict,
            );
            let mut response = see_other("/support");
            if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        Err(err) if err.status().is_client_error() => {
            let mut message = LOGIN_FAILED.to_owned();
            if let Some(secs) = err.retry_after {
                message.push_str(&format!(
                    " Too many attempts: wait {secs} seconds before the next one."
                ));
            }
            let page = LoginPage {
                layout: signed_out_layout(&state, &csrf),
                email: form.email.trim().to_owned(),
                error: Some(message),
                notice: None,
            };
            let mut response = views::render_with_status(StatusCode::UNAUTHORIZED, &page);
            if let Some(secs) = err.retry_after {
                if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            response
        }
        Err(err) => views::error_page(&err, Some(signed_out_layout(&state, &csrf))),
    }
}

#[utoipa::path(post, path = "/support/logout", tag = "console", operation_id = "console_logout_submit", security((), ("agent_cookie" = [])),
    request_body(content = EmptyForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "the agent session ended; to the console's login page")))]
pub async fn logout_submit(
    State(state): State<AppState>,
    MaybePageAgent(agent): MaybePageAgent,
    CsrfForm(_form): CsrfForm<EmptyForm>,
) -> Response {
    if let Some(agent) = agent {
        if let Err(err) = support::logout(&state, &agent).await {
            return views::error_page(&err, None);
        }
    }
    let secure = !state.config.is_dev();
    let removal = cookies::removal(cookies::agent_session_cookie_name(secure), secure);
    let mut response = see_other("/support/login?notice=logged_out");
    if let Ok(value) = HeaderValue::from_str(&removal.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
