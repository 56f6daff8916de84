//! The freeze over the JSON API: by an alert's link (no sign-in) or by the signed-in owner.

use crate::error::{ApiResult, ErrorBody};
use crate::http::client::ClientAddr;
use crate::http::json::ApiJson;
use crate::http::session::ApiUser;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use offboard_app::factors::FactorCodes;
use offboard_app::freeze::{self, Frozen};
use offboard_app::unfreeze;
use offboard_app::AppState;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct FreezeLinkRequest {
    /// The account id from the alert's link (`/freeze/{account_id}/{token}`).
    #[schema(format = "uuid")]
    pub account_id: String,
    /// The token from the alert's link.
    pub token: String,
}

impl std::fmt::Debug for FreezeLinkRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FreezeLinkRequest(***)")
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FreezeResponse {
    #[schema(format = "uuid")]
    pub account_id: String,
    /// Always `true`: the account is frozen now.
    pub frozen: bool,
    /// It was frozen before this request (nothing else changed).
    pub already_frozen: bool,
    /// Pending withdrawals this freeze cancelled; their funds are back in the balance.
    pub cancelled_withdrawals: Vec<String>,
}

impl From<Frozen> for FreezeResponse {
    fn from(f: Frozen) -> Self {
        Self {
            account_id: f.account_id.to_string(),
            frozen: true,
            already_frozen: f.already,
            cancelled_withdrawals: f.cancelled_withdrawals,
        }
    }
}

/// "This wasn't me": freezes the account with the one-time link of a security alert. No
/// sign-in needed. Every session and API token is revoked, pending withdrawals are
/// cancelled and refunded, and `account.frozen` goes to webhooks.
#[utoipa::path(post, path = "/api/v1/freeze", tag = "accounts", operation_id = "accounts_freeze_by_link", request_body = FreezeLinkRequest,
    responses((status = 200, description = "frozen (or found frozen); the link is spent", body = FreezeResponse),
        (status = 404, description = "`freeze_link_invalid`: no such link for this account", body = ErrorBody),
        (status = 409, description = "`freeze_link_used`: each link works once", body = ErrorBody),
        (status = 410, description = "`freeze_link_expired`: links work for 7 days", body = ErrorBody)))]
pub async fn freeze_by_link(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<FreezeLinkRequest>,
) -> ApiResult<Json<FreezeResponse>> {
    let frozen = freeze::freeze_by_link(&state, &req.account_id, &req.token).await?;
    Ok(Json(frozen.into()))
}

/// The signed-in owner freezes the account (this session ends with every other).
#[utoipa::path(post, path = "/api/v1/me/freeze", tag = "accounts", operation_id = "accounts_freeze_mine",
    security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 200, description = "frozen; every session and API token is revoked", body = FreezeResponse),
        (status = 401, body = ErrorBody)))]
pub async fn freeze_mine(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Json<FreezeResponse>> {
    let frozen = freeze::freeze_by_owner(&state, &user, "via=api").await?;
    Ok(Json(frozen.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct UnfreezeCodeRequest {
    #[schema(format = Email)]
    pub email: String,
    #[schema(format = Password)]
    pub password: String,
    /// `email`, or `sms` (to the bound phone).
    #[schema(value_type = crate::vocabulary::ChannelName)]
    pub channel: String,
}

impl std::fmt::Debug for UnfreezeCodeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UnfreezeCodeRequest(***)")
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CodeSent {
    /// Seconds until another code may be asked for.
    pub retry_after: i64,
}

/// Sends a code of purpose `unfreeze` to the frozen account's email or bound phone, once
/// the password verified and 24 hours have passed since the freeze.
#[utoipa::path(post, path = "/api/v1/unfreeze/codes", tag = "accounts", operation_id = "accounts_unfreeze_code", request_body = UnfreezeCodeRequest,
    responses((status = 202, description = "the code is on its way", body = CodeSent),
        (status = 401, description = "`unauthorized`: the same answer as a failed login", body = ErrorBody),
        (status = 403, description = "`unfreeze_too_early` with `allowed_from`", body = ErrorBody),
        (status = 409, description = "`not_frozen`", body = ErrorBody),
        (status = 422, description = "`validation_error`: `channel`, or `sms` with no phone bound", body = ErrorBody),
        (status = 429, description = "`resend_too_soon` / `rate_limited`", body = ErrorBody)))]
pub async fn unfreeze_code(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<UnfreezeCodeRequest>,
) -> ApiResult<(StatusCode, Json<CodeSent>)> {
    let retry_after =
        unfreeze::send_code(&state, &req.email, &req.password, &req.channel, &addr).await?;
    Ok((StatusCode::ACCEPTED, Json(CodeSent { retry_after })))
}

#[derive(Deserialize, ToSchema)]
pub struct UnfreezeRequest {
    #[schema(format = Email)]
    pub email: String,
    #[schema(format = Password)]
    pub password: String,
    /// Always required (purpose `unfreeze`).
    #[schema(pattern = r"^\s*([0-9]\s*){6}$")]
    pub email_code: Option<String>,
    /// Required when a phone is bound.
    #[schema(pattern = r"^\s*([0-9]\s*){6}$")]
    pub sms_code: Option<String>,
    /// Required when an authenticator is bound.
    #[schema(pattern = r"^\s*([0-9]\s*){6}$")]
    pub totp_code: Option<String>,
    /// The number of the document of the approved identity verification.
    pub id_number: Option<String>,
}

impl std::fmt::Debug for UnfreezeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UnfreezeRequest(***)")
    }
}

/// The owner lifts the freeze, 24 hours after it began, with the password, a code from
/// every bound factor and the ID number. Deletion then waits 24 hours.
#[utoipa::path(post, path = "/api/v1/unfreeze", tag = "accounts", operation_id = "accounts_unfreeze", request_body = UnfreezeRequest,
    responses((status = 204, description = "unfrozen; sign in again"),
        (status = 400, description = "`invalid_code` / `code_expired` / `code_used` with `factor`; `identity_mismatch`", body = ErrorBody),
        (status = 401, description = "`unauthorized`: the same answer as a failed login", body = ErrorBody),
        (status = 403, description = "`unfreeze_too_early` with `allowed_from`", body = ErrorBody),
        (status = 409, description = "`not_frozen`; `identity_required`: no approved identity, ask support", body = ErrorBody),
        (status = 422, description = "`validation_error`: a missing code or `id_number`", body = ErrorBody),
        (status = 423, description = "`identity_locked`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody)))]
pub async fn unfreeze_mine(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<UnfreezeRequest>,
) -> ApiResult<StatusCode> {
    let codes = FactorCodes {
        email_code: req.email_code,
        sms_code: req.sms_code,
        totp_code: req.totp_code,
        // No passkey ceremony can begin without a session yet, so an account with a
        // passkey cannot pass "every bound factor" here and unfreezes through support's
        // recovery instead (fails closed; docs/security.md).
        passkey: None,
    };
    unfreeze::unfreeze(
        &state,
        unfreeze::OwnerUnfreeze {
            email: &req.email,
            password: &req.password,
            codes,
            id_number: req.id_number.as_deref(),
            client_addr: &addr,
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
