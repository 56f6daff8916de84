//! Server-rendered pages: home, sign-up, login, logout, security, the delete entry.

use crate::error::ApiError;
use crate::error::AppError;
use crate::error::HttpStatus;
use crate::help;
use crate::http::client::ClientAddr;
use crate::http::cookies;
use crate::http::csrf::{CsrfForm, CsrfToken, EmptyForm};
use crate::http::session::MaybePageUser;
use crate::layout::{layout, signed_out_layout};
use crate::views::{self, HomePage, LoginPage, SignupPage};
use crate::views::{HelpIndexPage, HelpTopicPage};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::SameSite;
use offboard_app::accounts;
use offboard_app::AppState;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(home))
        .routes(routes!(signup_page, signup_submit))
        .routes(routes!(login_page, login_submit))
        .routes(routes!(login_passkey_submit))
        .routes(routes!(logout_submit))
        .routes(routes!(help_index))
        .routes(routes!(help_topic))
        .routes(routes!(stylesheet))
        .routes(routes!(captcha_js))
        .routes(routes!(captcha_worker_js))
        .routes(routes!(countdown_js))
        .routes(routes!(page_js))
        .routes(routes!(passkey_js))
}

/// Sets the session cookie and sends the browser on (303 See Other after a POST).
fn signed_in_redirect(state: &AppState, token: String, to: &str) -> Response {
    let secure = !state.config.is_dev();
    let cookie = cookies::build(
        cookies::session_cookie_name(secure),
        token,
        secure,
        SameSite::Lax,
    );
    let mut response = Redirect::to(to).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[utoipa::path(get, path = "/", tag = "pages", operation_id = "page_home", security((), ("session_cookie" = [])),
    responses((status = 200, description = "home page", content_type = "text/html")))]
pub async fn home(
    State(state): State<AppState>,
    MaybePageUser(user): MaybePageUser,
    csrf: CsrfToken,
) -> Response {
    views::render(&HomePage {
        layout: layout(&state, user.as_ref(), &csrf).await,
    })
}

#[utoipa::path(get, path = "/signup", tag = "pages", operation_id = "page_signup",
    responses((status = 200, description = "sign-up form", content_type = "text/html")))]
pub async fn signup_page(State(state): State<AppState>, csrf: CsrfToken) -> Response {
    views::render(&SignupPage {
        layout: signed_out_layout(&state, &csrf),
        email: String::new(),
        email_error: None,
        password_error: None,
        form_error: None,
    })
}

#[derive(Deserialize, ToSchema)]
pub struct SignupForm {
    #[serde(default)]
    #[schema(format = Email)]
    pub email: String,
    #[serde(default)]
    #[schema(format = Password)]
    pub password: String,
}

#[utoipa::path(post, path = "/signup", tag = "pages", operation_id = "page_signup_submit",
    request_body(content = SignupForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "signed up and in (the session cookie is set); to the security page"),
        (status = 403, description = "the form again: the email belonged to a recently deleted account", content_type = "text/html"),
        (status = 409, description = "the form again: the email is already registered", content_type = "text/html"),
        (status = 422, description = "the form again, with errors", content_type = "text/html")))]
pub async fn signup_submit(
    State(state): State<AppState>,
    csrf: CsrfToken,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<SignupForm>,
) -> Response {
    let result = async {
        let id = accounts::signup(&state, &form.email, &form.password).await?;
        let token = offboard_app::sessions::start_session(
            &state,
            id,
            crate::http::session::user_agent(&headers),
        )
        .await?;
        offboard_app::audit::user(&state, Some(id), "login", Some("after sign-up")).await;
        Ok::<_, AppError>(token)
    }
    .await;
    match result {
        Ok(token) => signed_in_redirect(&state, token, "/security"),
        Err(err) if err.status().is_client_error() => {
            let field = err
                .details
                .get("field")
                .and_then(|f| f.as_str())
                .unwrap_or("");
            let message = Some(err.message.clone());
            let page = SignupPage {
                layout: signed_out_layout(&state, &csrf),
                email: form.email.trim().to_owned(),
                email_error: (field == "email").then(|| message.clone()).flatten(),
                password_error: (field == "password").then(|| message.clone()).flatten(),
                form_error: (field != "email" && field != "password")
                    .then_some(message)
                    .flatten(),
            };
            views::render_with_status(err.status(), &page)
        }
        Err(err) => views::error_page(&err, Some(signed_out_layout(&state, &csrf))),
    }
}

#[utoipa::path(get, path = "/login", tag = "pages", operation_id = "page_login",
    responses((status = 200, description = "login form", content_type = "text/html")))]
pub async fn login_page(State(state): State<AppState>, csrf: CsrfToken) -> Response {
    views::render(&LoginPage {
        layout: signed_out_layout(&state, &csrf),
        email: String::new(),
        error: None,
        needs_totp: false,
        passkey_step: None,
    })
}

#[derive(Deserialize, ToSchema)]
pub struct LoginForm {
    #[serde(default)]
    #[schema(format = Email)]
    pub email: String,
    #[serde(default)]
    #[schema(format = Password)]
    pub password: String,
    /// Only needed when an authenticator is bound.
    #[serde(default)]
    #[schema(nullable = false, pattern = r"^\s*([0-9]\s*){6}$", example = "123456")]
    pub totp_code: Option<String>,
}

#[utoipa::path(post, path = "/login", tag = "pages", operation_id = "page_login_submit",
    request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "logged in (the session cookie is set); to the security page"),
        (status = 400, description = "the form again: a wrong authenticator code", content_type = "text/html"),
        (status = 401, description = "the form again, with the error (throttling adds `Retry-After`)", content_type = "text/html",
            headers(("Retry-After" = u64, description = "seconds to wait, when throttled"))),
        (status = 429, description = "the form again: too many wrong authenticator codes", content_type = "text/html")))]
pub async fn login_submit(
    State(state): State<AppState>,
    csrf: CsrfToken,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Response {
    match accounts::login(
        &state,
        &form.email,
        &form.password,
        form.totp_code.as_deref(),
        &addr,
        crate::http::session::user_agent(&headers),
    )
    .await
    {
        Ok(done) => signed_in_redirect(&state, done.token, "/security"),
        Err(err) if err.status().is_client_error() => {
            let mut message = err.message.clone();
            if let Some(secs) = err.retry_after {
                message.push_str(&format!(
                    " Too many attempts: wait {secs} seconds before the next one."
                ));
            }
            let needs_totp = err.code == "totp_required"
                || err.details.get("totp_allowed") == Some(&serde_json::Value::Bool(true));
            if err.code == "totp_required" {
                message.push_str(" Type your password again together with the code.");
            }
            // The second step's challenge, for the page's passkey button.
            let passkey_step = (err.code == "passkey_required")
                .then(|| err.details.get("passkey").map(|p| p.to_string()))
                .flatten();
            let page = LoginPage {
                layout: signed_out_layout(&state, &csrf),
                email: form.email.trim().to_owned(),
                error: Some(message),
                needs_totp,
                passkey_step,
            };
            let mut response = views::render_with_status(err.status(), &page);
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

/// What the login page's passkey script sends: the ceremony and the assertion (JSON).
#[derive(Deserialize, ToSchema)]
pub struct PasskeyLoginForm {
    #[serde(default)]
    pub ceremony: String,
    #[serde(default)]
    pub credential: String,
}

#[utoipa::path(post, path = "/login/passkey", tag = "pages", operation_id = "page_login_passkey_submit",
    request_body(content = PasskeyLoginForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "signed in (the session cookie is set); to the security page"),
        (status = 400, description = "the login page: the passkey request expired, was used, or did not verify", content_type = "text/html"),
        (status = 401, description = "the login page: the passkey is not registered here (removed, or the account was deleted)", content_type = "text/html"),
        (status = 422, description = "the login page: no assertion was sent", content_type = "text/html")))]
pub async fn login_passkey_submit(
    State(state): State<AppState>,
    csrf: CsrfToken,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    CsrfForm(form): CsrfForm<PasskeyLoginForm>,
) -> Response {
    let credential = serde_json::from_str(&form.credential).unwrap_or(serde_json::Value::Null);
    let user_agent = crate::http::session::user_agent(&headers);
    match offboard_app::passkeys::finish_sign_in(
        &state,
        &form.ceremony,
        &credential,
        user_agent,
        &addr,
    )
    .await
    {
        Ok(done) => signed_in_redirect(&state, done.token, "/security"),
        Err(err) if err.status().is_client_error() => {
            let page = LoginPage {
                layout: signed_out_layout(&state, &csrf),
                email: String::new(),
                error: Some(err.message.clone()),
                needs_totp: false,
                passkey_step: None,
            };
            views::render_with_status(err.status(), &page)
        }
        Err(err) => views::error_page(&err, Some(signed_out_layout(&state, &csrf))),
    }
}

#[utoipa::path(post, path = "/logout", tag = "pages", operation_id = "page_logout_submit", security((), ("session_cookie" = [])),
    request_body(content = EmptyForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "logged out (the session cookie is removed); to the home page")))]
pub async fn logout_submit(
    State(state): State<AppState>,
    MaybePageUser(user): MaybePageUser,
    CsrfForm(_form): CsrfForm<EmptyForm>,
) -> Response {
    if let Some(user) = user {
        if let Err(err) = state.store.delete_session(&user.token_hash).await {
            return views::error_page(&err.into(), None);
        }
        offboard_app::audit::user(&state, Some(user.account.id), "logout", None).await;
    }
    let secure = !state.config.is_dev();
    let removal = cookies::removal(cookies::session_cookie_name(secure), secure);
    let mut response = Redirect::to("/").into_response();
    if let Ok(value) = HeaderValue::from_str(&removal.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[utoipa::path(get, path = "/help", tag = "pages", operation_id = "page_help", security((), ("session_cookie" = [])),
    responses((status = 200, description = "the help centre", content_type = "text/html")))]
pub async fn help_index(
    State(state): State<AppState>,
    MaybePageUser(user): MaybePageUser,
    csrf: CsrfToken,
) -> Response {
    views::render(&HelpIndexPage {
        layout: layout(&state, user.as_ref(), &csrf).await,
        topics: help::TOPICS,
    })
}

#[utoipa::path(get, path = "/help/{slug}", tag = "pages", operation_id = "page_help_topic", security((), ("session_cookie" = [])),
    params(("slug" = String, Path, description = "topic, e.g. `cannot-log-in`")),
    responses((status = 200, description = "one help topic", content_type = "text/html"), (status = 404, description = "no such topic", content_type = "text/html")))]
pub async fn help_topic(
    State(state): State<AppState>,
    MaybePageUser(user): MaybePageUser,
    csrf: CsrfToken,
    Path(slug): Path<String>,
) -> Response {
    let layout = layout(&state, user.as_ref(), &csrf).await;
    let Some(index) = help::TOPICS.iter().position(|t| t.slug == slug) else {
        return views::error_page(&ApiError::not_found().with_help("/help"), Some(layout));
    };
    // Neighbours in the list are the closest topics (the list follows the journey).
    let related = [index.checked_sub(1), Some(index + 1)]
        .into_iter()
        .flatten()
        .filter_map(|i| help::TOPICS.get(i))
        .collect();
    views::render(&HelpTopicPage {
        layout,
        topic: &help::TOPICS[index],
        related,
        contact: help::contact_link(&slug),
    })
}

const APP_CSS: &str = include_str!("../../static/app.css");

#[utoipa::path(get, path = "/static/app.css", tag = "pages", operation_id = "static_app_css",
    responses((status = 200, description = "the stylesheet", content_type = "text/css")))]
pub async fn stylesheet() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        APP_CSS,
    )
        .into_response()
}

const CAPTCHA_JS: &str = include_str!("../../static/captcha.js");
const CAPTCHA_WORKER_JS: &str = include_str!("../../static/captcha-worker.js");
const COUNTDOWN_JS: &str = include_str!("../../static/countdown.js");
const PAGE_JS: &str = include_str!("../../static/page.js");
const PASSKEY_JS: &str = include_str!("../../static/passkey.js");

fn script(body: &'static str) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// Solves the deletion captcha in a Web Worker (R3).
#[utoipa::path(get, path = "/static/captcha.js", tag = "pages", operation_id = "static_captcha_js",
    responses((status = 200, description = "script", content_type = "text/javascript")))]
pub async fn captcha_js() -> Response {
    script(CAPTCHA_JS)
}

#[utoipa::path(get, path = "/static/captcha-worker.js", tag = "pages", operation_id = "static_captcha_worker_js",
    responses((status = 200, description = "script", content_type = "text/javascript")))]
pub async fn captcha_worker_js() -> Response {
    script(CAPTCHA_WORKER_JS)
}

/// The visible cooldown of "Get code" buttons.
#[utoipa::path(get, path = "/static/countdown.js", tag = "pages", operation_id = "static_countdown_js",
    responses((status = 200, description = "script", content_type = "text/javascript")))]
pub async fn countdown_js() -> Response {
    script(COUNTDOWN_JS)
}

/// What every page enhances in the browser: local times beside UTC, the deletion's idle
/// warning, the withdraw form's "Max". Pages work without it.
#[utoipa::path(get, path = "/static/page.js", tag = "pages", operation_id = "static_page_js",
    responses((status = 200, description = "script", content_type = "text/javascript")))]
pub async fn page_js() -> Response {
    script(PAGE_JS)
}

/// The passkey ceremonies of the pages (R16): adding one, signing in, confirming an
/// action, and the Deleted page's signal that the credentials are gone.
#[utoipa::path(get, path = "/static/passkey.js", tag = "pages", operation_id = "static_passkey_js",
    responses((status = 200, description = "script", content_type = "text/javascript")))]
pub async fn passkey_js() -> Response {
    script(PASSKEY_JS)
}
