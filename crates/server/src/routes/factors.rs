//! JSON API for verification factors: authenticator, phone, codes (API.md "Accounts").

use crate::error::ErrorKind;
use crate::error::{ApiResult, AppError, ErrorBody};
use crate::http::json::ApiJson;
use crate::http::session::ApiUser;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use offboard_app::audit;
use offboard_app::factors::{self, FactorCodes};
use offboard_app::AppState;
use offboard_core::{totp, Channel, PhoneNumber, Purpose};
use offboard_store::StoreError;
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
    let setup = begin_totp(&state, &user.account).await?;
    Ok(Json(setup))
}

pub async fn begin_totp(
    state: &AppState,
    account: &offboard_store::AccountRow,
) -> Result<TotpSetup, AppError> {
    let secret = totp::generate_secret();
    let uri = totp::otpauth_uri(&secret, &account.email).map_err(AppError::internal)?;
    let sealed = totp::seal_secret(&state.config.keys.secrets, &account.id.to_string(), &secret);
    match state.store.begin_totp(account.id, &sealed, state.now()).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            return Err(AppError::conflict(
                "An authenticator is already bound. Remove it first (with codes from every factor) to bind a new one.",
            )
            .with_help(factors::HELP_AUTHENTICATOR))
        }
        Err(other) => return Err(other.into()),
    }
    audit::user(state, Some(account.id), "totp_setup_started", None).await;
    Ok(TotpSetup {
        secret,
        otpauth_uri: uri,
    })
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
    factors::check_totp(
        &state,
        user.account.id,
        Purpose::FactorSetup,
        &req.code,
        true,
        true,
    )
    .await?;
    audit::user(&state, Some(user.account.id), "totp_bound", None).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct FactorCodesRequest {
    /// Always required: 6 digits (spaces are ignored).
    #[schema(pattern = r"^\s*([0-9]\s*){6}$", example = "123456")]
    pub email_code: Option<String>,
    /// Required when a phone is bound.
    #[schema(pattern = r"^\s*([0-9]\s*){6}$", example = "123456")]
    pub sms_code: Option<String>,
    /// Required when an authenticator is bound.
    #[schema(pattern = r"^\s*([0-9]\s*){6}$", example = "123456")]
    pub totp_code: Option<String>,
}

impl From<FactorCodesRequest> for FactorCodes {
    fn from(r: FactorCodesRequest) -> Self {
        FactorCodes {
            email_code: r.email_code,
            sms_code: r.sms_code,
            totp_code: r.totp_code,
        }
    }
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
    remove_totp(&state, &user.account, req.into()).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn remove_totp(
    state: &AppState,
    account: &offboard_store::AccountRow,
    codes: FactorCodes,
) -> Result<(), AppError> {
    if !factors::bound_factors(state, account).await?.totp {
        return Err(AppError::new(
            ErrorKind::NotFound,
            "not_found",
            "No authenticator is bound to this account.",
        ));
    }
    factors::verify_all(state, account, Purpose::Unbind, None, &codes).await?;
    state.store.remove_totp(account.id, state.now()).await?;
    audit::user(state, Some(account.id), "totp_removed", None).await;
    Ok(())
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
    let resend_after = begin_phone(&state, &user.account, &req.phone).await?;
    Ok((StatusCode::ACCEPTED, Json(CodeSent { resend_after })).into_response())
}

pub async fn begin_phone(
    state: &AppState,
    account: &offboard_store::AccountRow,
    phone: &str,
) -> Result<i64, AppError> {
    let phone = PhoneNumber::parse(phone)
        .map_err(|e| AppError::validation("phone", e).with_help(factors::HELP_SMS_MISSING))?;
    if account.phone.is_some() {
        return Err(AppError::conflict(
            "A phone is already bound. Remove it first to bind another number.",
        ));
    }
    // R9: a phone of a recently deleted account waits out the re-registration period.
    let hash = offboard_app::tombstones::hash(
        state.config.keys.blind_index.clone(),
        "phone",
        phone.as_str(),
    );
    offboard_app::tombstones::check(state, "phone number", &hash).await?;
    factors::send_code(
        state,
        account,
        Purpose::PhoneBinding,
        Channel::Sms,
        None,
        Some(&phone),
    )
    .await
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
    confirm_phone(&state, &user.account, &req.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn confirm_phone(
    state: &AppState,
    account: &offboard_store::AccountRow,
    code: &str,
) -> Result<(), AppError> {
    let check = factors::check_code(
        state,
        account.id,
        Purpose::PhoneBinding,
        Channel::Sms,
        None,
        code,
        true,
    )
    .await?;
    let phone = check
        .destination
        .as_deref()
        .and_then(|p| PhoneNumber::parse(p).ok())
        .ok_or_else(|| AppError::internal("phone binding code without its number"))?;
    match state.store.set_phone(account.id, &phone, state.now()).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            return Err(AppError::conflict(
                "This number is already bound to another account. Use another number.",
            ))
        }
        Err(other) => return Err(other.into()),
    }
    audit::user(state, Some(account.id), "phone_bound", None).await;
    Ok(())
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
    remove_phone(&state, &user.account, req.into()).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn remove_phone(
    state: &AppState,
    account: &offboard_store::AccountRow,
    codes: FactorCodes,
) -> Result<(), AppError> {
    if account.phone.is_none() {
        return Err(AppError::new(
            ErrorKind::NotFound,
            "not_found",
            "No phone is bound to this account.",
        ));
    }
    factors::verify_all(state, account, Purpose::Unbind, None, &codes).await?;
    state.store.clear_phone(account.id, state.now()).await?;
    audit::user(state, Some(account.id), "phone_removed", None).await;
    Ok(())
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
    let resend_after = send_action_code(&state, &user.account, &req.channel, &req.purpose).await?;
    Ok((StatusCode::ACCEPTED, Json(CodeSent { resend_after })).into_response())
}

pub async fn send_action_code(
    state: &AppState,
    account: &offboard_store::AccountRow,
    channel: &str,
    purpose: &str,
) -> Result<i64, AppError> {
    let channel = Channel::parse(channel)
        .ok_or_else(|| AppError::validation("channel", "must be \"email\" or \"sms\""))?;
    let purpose = match Purpose::parse(purpose) {
        Some(p @ (Purpose::Withdrawal | Purpose::Unbind)) => p,
        _ => {
            return Err(AppError::validation(
                "purpose",
                "must be \"withdrawal\" or \"unbind\"",
            ))
        }
    };
    factors::send_code(state, account, purpose, channel, None, None).await
}
