//! For people who cannot log in (API.md): password reset by email code, and the recovery
//! request that goes to support — as JSON API and as pages. Every answer is the same
//! whether or not the account exists (no enumeration).

use crate::error::HttpStatus;
use crate::error::{ApiResult, ErrorBody};
use crate::http::csrf::{CsrfForm, CsrfToken};
use crate::http::json::ApiJson;
use crate::http::session::MaybePageUser;
use crate::layout::layout;
use crate::views::{self, Layout};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use offboard_app::recovery;
use offboard_app::AppState;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(password_reset))
        .routes(routes!(password_reset_confirm))
        .routes(routes!(recovery))
        .routes(routes!(recovery_page, recovery_submit))
        .routes(routes!(reset_page, reset_submit))
        .routes(routes!(reset_confirm_submit))
}

// ---------------------------------------------------------------- JSON API

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetRequest {
    #[schema(format = Email, example = "me@example.com")]
    pub email: String,
}

/// Sends a password-reset code by email if the account exists. Always 202.
#[utoipa::path(post, path = "/api/v1/password-reset", tag = "accounts", operation_id = "accounts_password_reset", request_body = ResetRequest,
    responses((status = 202, description = "a code is on its way if the account exists"),
        (status = 422, description = "`validation_error`: not an email address", body = ErrorBody)))]
pub async fn password_reset(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ResetRequest>,
) -> ApiResult<StatusCode> {
    recovery::request_reset(&state, &req.email).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, ToSchema)]
pub struct ResetConfirm {
    #[schema(format = Email, example = "me@example.com")]
    pub email: String,
    /// The emailed code: 6 digits (spaces are ignored).
    #[schema(pattern = r"^\s*([0-9]\s*){6}$", example = "123456")]
    pub code: String,
    /// 10 to 256 characters, not one character repeated.
    #[schema(format = Password, min_length = 10, max_length = 256)]
    pub new_password: String,
}

impl std::fmt::Debug for ResetConfirm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResetConfirm(***)")
    }
}

/// Sets a new password with the emailed code; all sessions are revoked.
#[utoipa::path(post, path = "/api/v1/password-reset/confirm", tag = "accounts", operation_id = "accounts_password_reset_confirm", request_body = ResetConfirm,
    responses((status = 204, description = "password changed, sessions revoked"), (status = 400, description = "`invalid_code` (the same for every failure)", body = ErrorBody),
        (status = 422, description = "`validation_error`: email, code format or new password", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many wrong codes in the last hour", body = ErrorBody)))]
pub async fn password_reset_confirm(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ResetConfirm>,
) -> ApiResult<StatusCode> {
    recovery::confirm_reset(&state, &req.email, &req.code, &req.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct RecoveryRequest {
    #[schema(format = Email, example = "me@example.com")]
    pub email: String,
    /// What happened, for support (1 to 2000 characters).
    #[schema(min_length = 1, max_length = 2000)]
    pub message: String,
    /// The ID number from identity verification, if the person has it.
    pub id_number: Option<String>,
}

impl std::fmt::Debug for RecoveryRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryRequest(***)")
    }
}

/// Asks support to help someone who cannot log in. Always 202; support sees whether the
/// ID number matched, never the number itself.
#[utoipa::path(post, path = "/api/v1/recovery", tag = "accounts", operation_id = "accounts_recovery_request", request_body = RecoveryRequest,
    responses((status = 202, description = "received"),
        (status = 422, description = "`validation_error`: `email` or `message`", body = ErrorBody)))]
pub async fn recovery(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RecoveryRequest>,
) -> ApiResult<StatusCode> {
    recovery::submit_recovery(&state, &req.email, &req.message, req.id_number.as_deref()).await?;
    Ok(StatusCode::ACCEPTED)
}

// ---------------------------------------------------------------- pages

#[derive(Template)]
#[template(path = "recovery.html")]
pub struct RecoveryPage {
    pub layout: Layout,
    pub email: String,
    pub message: String,
    pub error: Option<String>,
    pub error_field: String,
    pub sent: bool,
}

#[utoipa::path(get, path = "/recovery", tag = "pages", operation_id = "page_recovery", security((), ("session_cookie" = [])),
    responses((status = 200, description = "the recovery request form", content_type = "text/html")))]
pub async fn recovery_page(
    State(state): State<AppState>,
    MaybePageUser(user): MaybePageUser,
    csrf: CsrfToken,
) -> Response {
    let page = RecoveryPage {
        layout: layout(&state, user.as_ref(), &csrf),
        email: String::new(),
        message: String::new(),
        error: None,
        error_field: String::new(),
        sent: false,
    };
    views::render(&page)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RecoveryForm {
    #[serde(default)]
    #[schema(format = Email)]
    pub email: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    #[schema(nullable = false)]
    pub id_number: Option<String>,
}

#[utoipa::path(post, path = "/recovery", tag = "pages", operation_id = "page_recovery_submit", security((), ("session_cookie" = [])),
    request_body(content = RecoveryForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "received (the same for every email)", content_type = "text/html"), (status = 422, description = "the form with the error", content_type = "text/html")))]
pub async fn recovery_submit(
    State(state): State<AppState>,
    MaybePageUser(user): MaybePageUser,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<RecoveryForm>,
) -> Response {
    let result = recovery::submit_recovery(
        &state,
        &form.email,
        &form.message,
        form.id_number.as_deref(),
    )
    .await;
    let (error, field, status) = match &result {
        Ok(()) => (None, String::new(), StatusCode::OK),
        Err(err) => (
            Some(err.message.clone()),
            err.details
                .get("field")
                .and_then(|f| f.as_str())
                .unwrap_or("")
                .to_owned(),
            err.status(),
        ),
    };
    let page = RecoveryPage {
        layout: layout(&state, user.as_ref(), &csrf),
        email: form.email.trim().to_owned(),
        message: form.message.clone(),
        error,
        error_field: field,
        sent: result.is_ok(),
    };
    views::render_with_status(status, &page)
}

#[derive(Template)]
#[template(path = "password_reset.html")]
pub struct ResetPage {
    pub layout: Layout,
    pub email: String,
    /// `request`, `confirm` or `done`.
    pub stage: String,
    pub error: Option<String>,
    pub error_help: Option<String>,
}

#[utoipa::path(get, path = "/password-reset", tag = "pages", operation_id = "page_password_reset",
    responses((status = 200, description = "ask for a reset code", content_type = "text/html")))]
pub async fn reset_page(State(state): State<AppState>, csrf: CsrfToken) -> Response {
    views::render(&ResetPage {
        layout: layout(&state, None, &csrf),
        email: String::new(),
        stage: "request".into(),
        error: None,
        error_help: None,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetForm {
    #[serde(default)]
    #[schema(format = Email)]
    pub email: String,
}

#[utoipa::path(post, path = "/password-reset", tag = "pages", operation_id = "page_password_reset_submit",
    request_body(content = ResetForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "enter the code and a new password (the same for every email)", content_type = "text/html"),
        (status = 422, description = "the form again: not an email address", content_type = "text/html")))]
pub async fn reset_submit(
    State(state): State<AppState>,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<ResetForm>,
) -> Response {
    let (stage, error, help, status) = match recovery::request_reset(&state, &form.email).await {
        Ok(()) => ("confirm", None, None, StatusCode::OK),
        Err(err) => (
            "request",
            Some(err.message.clone()),
            err.help.map(str::to_owned),
            err.status(),
        ),
    };
    let page = ResetPage {
        layout: layout(&state, None, &csrf),
        email: form.email.trim().to_owned(),
        stage: stage.into(),
        error,
        error_help: help,
    };
    views::render_with_status(status, &page)
}

#[derive(Deserialize, ToSchema)]
pub struct ResetConfirmForm {
    #[serde(default)]
    #[schema(format = Email)]
    pub email: String,
    #[serde(default)]
    #[schema(pattern = r"^\s*([0-9]\s*){6}$", example = "123456")]
    pub code: String,
    #[serde(default)]
    #[schema(format = Password)]
    pub new_password: String,
}

#[utoipa::path(post, path = "/password-reset/confirm", tag = "pages", operation_id = "page_password_reset_confirm_submit",
    request_body(content = ResetConfirmForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "password changed", content_type = "text/html"), (status = 400, description = "the form with the error: the code is wrong, used or expired", content_type = "text/html"),
        (status = 422, description = "the form with the error: email, code format or new password", content_type = "text/html"),
        (status = 429, description = "the form: too many wrong codes", content_type = "text/html")))]
pub async fn reset_confirm_submit(
    State(state): State<AppState>,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<ResetConfirmForm>,
) -> Response {
    let (stage, error, help, status) =
        match recovery::confirm_reset(&state, &form.email, &form.code, &form.new_password).await {
            Ok(()) => ("done", None, None, StatusCode::OK),
            Err(err) => (
                "confirm",
                Some(err.message.clone()),
                err.help.map(str::to_owned),
                err.status(),
            ),
        };
    let page = ResetPage {
        layout: layout(&state, None, &csrf),
        email: form.email.trim().to_owned(),
        stage: stage.into(),
        error,
        error_help: help,
    };
    views::render_with_status(status, &page)
}
