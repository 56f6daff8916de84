//! The password-reset and recovery pages.

use crate::error::HttpStatus;
use crate::http::csrf::{CsrfForm, CsrfToken};
use crate::http::session::MaybePageUser;
use crate::layout::{layout, signed_out_layout};
use crate::views::{self, Layout};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use offboard_app::recovery;
use offboard_app::AppState;
use serde::Deserialize;
use utoipa::ToSchema;
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
        layout: layout(&state, user.as_ref(), &csrf).await,
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
        layout: layout(&state, user.as_ref(), &csrf).await,
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
        layout: signed_out_layout(&state, &csrf),
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
        layout: signed_out_layout(&state, &csrf),
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
        layout: signed_out_layout(&state, &csrf),
        email: form.email.trim().to_owned(),
        stage: stage.into(),
        error,
        error_help: help,
    };
    views::render_with_status(status, &page)
}
