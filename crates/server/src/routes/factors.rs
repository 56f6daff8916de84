//! JSON API for verification factors: authenticator, phone, codes (API.md "Accounts").

use crate::error::{ApiResult, ErrorBody};
use crate::http::json::ApiJson;
use crate::http::session::ApiUser;
use crate::wire::FactorCodesRequest;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use offboard_app::bindings;
use offboard_app::factors;
use offboard_app::AppState;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(totp_begin, totp_remove))
        .routes(routes!(totp_confirm))
        .routes(routes!(phone_begin, phone_remove))
        .routes(routes!(phone_confirm))
        .routes(routes!(request_code))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotpSetup {
    /// Base32 secret, not active until confirmed.
    pub secret: String,
    /// `otpauth://totp/...`, for authenticator apps (also shown as a QR code).
    #[schema(format = "uri")]
    pub otpauth_uri: String,
}

/// Begins binding an authenticator. Returns the secret (also shown as a QR code on the
/// security page); nothing changes until a first code confirms it.
#[utoipa::path(post, path = "/api/v1/me/totp", tag = "factors", operation_id = "factors_totp_begin",
    security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 200, body = TotpSetup), (status = 409, description = "`conflict`: an authenticator is already bound", body = ErrorBody)))]
pub async fn totp_begin(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Json<TotpSetup>> {
    let setup = bindings::begin_totp(&state, &user.account).await?;
    Ok(Json(TotpSetup {
        secret: setup.secret,
        otpauth_uri: setup.otpauth_uri,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CodeRequest {
    /// 6 digits (spaces are ignored).
    #[schema(pattern = r"^\s*([0-9]\s*){6}$", example = "123456")]
    pub code: String,
}

/// Confirms the authenticator with its first code; from now on logins ask for it.
#[utoipa::path(post, path = "/api/v1/me/totp/confirm", tag = "factors", operation_id = "factors_totp_confirm", request_body = CodeRequest,
    security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 204, description = "bound"),
        (status = 400, description = "`invalid_code`: the code is wrong, or no setup is under way", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many wrong codes in the last hour", body = ErrorBody)))]
pub async fn totp_confirm(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(req): ApiJson<CodeRequest>,
) -> ApiResult<StatusCode> {
    factors::confirm_authenticator(&state, user.account.id, &req.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes the authenticator; needs a code from every bound factor (purpose `unbind`).
#[utoipa::path(delete, path = "/api/v1/me/totp", tag = "factors", operation_id = "factors_totp_remove", request_body = FactorCodesRequest,
    security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 204, description = "removed"),
        (status = 400, description = "`invalid_code` / `code_expired` / `code_used` / `code_exhausted`, with `factor`", body = ErrorBody),
        (status = 404, description = "`not_found`: no authenticator is bound", body = ErrorBody),
        (status = 422, description = "`validation_error`: a code of a bound factor is missing or not 6 digits", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many wrong codes in the last hour", body = ErrorBody)))]
pub async fn totp_remove(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(req): ApiJson<FactorCodesRequest>,
) -> ApiResult<StatusCode> {
    bindings::remove_totp(&state, &user.account, req.codes(&user)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PhoneRequest {
    /// E.164, e.g. `+447911123456` (spaces and dashes are accepted).
    #[schema(example = "+447911123456")]
    pub phone: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CodeSent {
    /// Seconds until another code may be requested.
    pub resend_after: i64,
}

/// Sends an SMS code (purpose `phone_binding`) to the phone to bind.
#[utoipa::path(post, path = "/api/v1/me/phone", tag = "factors", operation_id = "factors_phone_begin", request_body = PhoneRequest,
    security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 202, body = CodeSent),
        (status = 403, description = "`reregistration_blocked` with `allowed_from`: the number belonged to a recently deleted account", body = ErrorBody),
        (status = 409, description = "`conflict`: a phone is already bound", body = ErrorBody),
        (status = 422, description = "`validation_error`: not a phone number", body = ErrorBody),
        (status = 429, description = "`resend_too_soon` (with `retry_after`) / `rate_limited`", body = ErrorBody),
        (status = 503, description = "`delivery_failed`: the SMS provider did not take the message", body = ErrorBody)))]
pub async fn phone_begin(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(req): ApiJson<PhoneRequest>,
) -> ApiResult<Response> {
    let resend_after = bindings::begin_phone(&state, &user.account, &req.phone).await?;
    Ok((StatusCode::ACCEPTED, Json(CodeSent { resend_after })).into_response())
}

/// Confirms the phone with the SMS code; the phone is then bound.
#[utoipa::path(post, path = "/api/v1/me/phone/confirm", tag = "factors", operation_id = "factors_phone_confirm", request_body = CodeRequest,
    security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 204, description = "bound"),
        (status = 400, description = "`invalid_code` / `code_expired` / `code_used` / `code_exhausted`", body = ErrorBody),
        (status = 409, description = "`conflict`: the number is bound to another account", body = ErrorBody),
        (status = 422, description = "`validation_error`: the code is not 6 digits", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many wrong codes in the last hour", body = ErrorBody)))]
pub async fn phone_confirm(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(req): ApiJson<CodeRequest>,
) -> ApiResult<StatusCode> {
    bindings::confirm_phone(&state, &user.account, &req.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes the phone; needs a code from every bound factor (purpose `unbind`).
#[utoipa::path(delete, path = "/api/v1/me/phone", tag = "factors", operation_id = "factors_phone_remove", request_body = FactorCodesRequest,
    security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 204, description = "removed"),
        (status = 400, description = "`invalid_code` / `code_expired` / `code_used` / `code_exhausted`, with `factor`", body = ErrorBody),
        (status = 404, description = "`not_found`: no phone is bound", body = ErrorBody),
        (status = 422, description = "`validation_error`: a code of a bound factor is missing or not 6 digits", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many wrong codes in the last hour", body = ErrorBody)))]
pub async fn phone_remove(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(req): ApiJson<FactorCodesRequest>,
) -> ApiResult<StatusCode> {
    bindings::remove_phone(&state, &user.account, req.codes(&user)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SendCodeRequest {
    /// `email` or `sms`.
    #[schema(value_type = crate::vocabulary::ChannelName)]
    pub channel: String,
    /// `withdrawal` or `unbind` (deletion codes come from the deletion flow).
    #[schema(value_type = crate::vocabulary::ActionPurpose)]
    pub purpose: String,
}

/// Sends an email or SMS code for an action that needs every bound factor.
#[utoipa::path(post, path = "/api/v1/me/codes", tag = "factors", operation_id = "factors_send_code", request_body = SendCodeRequest,
    security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 202, body = CodeSent), (status = 422, description = "`validation_error`: an unknown channel or purpose, or `sms` without a bound phone", body = ErrorBody),
        (status = 429, description = "`resend_too_soon` (with `retry_after`) or `rate_limited`", body = ErrorBody),
        (status = 503, description = "`delivery_failed`", body = ErrorBody)))]
pub async fn request_code(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(req): ApiJson<SendCodeRequest>,
) -> ApiResult<Response> {
    let resend_after =
        bindings::send_action_code(&state, &user.account, &req.channel, &req.purpose).await?;
    Ok((StatusCode::ACCEPTED, Json(CodeSent { resend_after })).into_response())
}
