//! Password reset and the recovery request over the JSON API (202 whether or not the account exists).

use crate::error::{ApiResult, ErrorBody};
use crate::http::json::ApiJson;
use axum::extract::State;
use axum::http::StatusCode;
use offboard_app::recovery;
use offboard_app::AppState;
use serde::Deserialize;
use utoipa::ToSchema;

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
