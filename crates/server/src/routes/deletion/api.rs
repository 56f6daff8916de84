//! The deletion journey over the JSON API (API.md "Deletion flow").

use crate::error::{ApiResult, ErrorBody};
use crate::http::json::ApiJson;
use crate::http::session::{ApiUser, Authenticated};
use crate::views::{self};
use crate::wire::FlowView;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use offboard_app::deletion::{self, LiveFlow};
use offboard_app::factors::FactorCodes;
use offboard_app::AppState;
use offboard_core::deletion::{Request, Step};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

async fn flow_json(
    state: &AppState,
    user: &Authenticated,
    live: &LiveFlow,
    step: Step,
) -> ApiResult<Json<FlowView>> {
    let flow = state
        .store
        .flow(&live.flow.id)
        .await?
        .unwrap_or_else(|| live.flow.clone());
    Ok(Json(deletion::view(state, user, &flow, step).await?.into()))
}

/// Starts the deletion, or returns the live flow of this session (API.md: 201 either way;
/// the flow's `step` shows where it stands).
#[utoipa::path(post, path = "/api/v1/deletion", tag = "deletion", operation_id = "deletion_start", security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 201, description = "the flow at `notes`, or the live flow of this account", body = FlowView), (status = 401, body = ErrorBody),
        (status = 503, description = "`asset_source_unavailable`", body = ErrorBody)))]
pub async fn api_start(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Response> {
    let (flow, _created) = deletion::start(&state, &user).await?;
    let view = deletion::view(&state, &user, &flow, flow.step).await?;
    Ok((StatusCode::CREATED, Json(FlowView::from(view))).into_response())
}

/// The flow, with what blocks it and the factors it will ask for.
#[utoipa::path(get, path = "/api/v1/deletion/{id}", tag = "deletion", operation_id = "deletion_get", params(("id" = String, Path, format = "uuid", description = "The flow's id")), security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 200, body = FlowView), (status = 404, description = "`not_found`: no deletion of this session at this id", body = ErrorBody),
        (status = 410, description = "`flow_expired`", body = ErrorBody),
        (status = 503, description = "`asset_source_unavailable`", body = ErrorBody)))]
pub async fn api_get(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<FlowView>> {
    let live = deletion::load(&state, &user, &id, Request::View).await?;
    flow_json(&state, &user, &live, live.step).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ConfirmRequest {
    /// Must be `true`: the person read the notes and understands deletion is permanent.
    pub acknowledged: bool,
    /// Base64 of the solved ALTCHA JSON, when the flow shows a captcha.
    pub captcha: Option<String>,
}

/// Notes: acknowledge (and solve the captcha if asked). Moves to `assets` if anything
/// blocks, else to `verification`.
#[utoipa::path(post, path = "/api/v1/deletion/{id}/confirm", tag = "deletion", operation_id = "deletion_confirm", params(("id" = String, Path, format = "uuid", description = "The flow's id")), request_body = ConfirmRequest,
    security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 200, description = "the flow at `assets` (if anything blocks) or `verification`", body = FlowView),
        (status = 400, description = "`captcha_required` / `captcha_invalid`", body = ErrorBody),
        (status = 403, description = "`deletion_cool_off` with `allowed_from`: 24 hours after a password reset, factor reset or recovery", body = ErrorBody),
        (status = 404, description = "`not_found`: no deletion of this session at this id", body = ErrorBody),
        (status = 409, description = "`wrong_step` with `step`: the flow is at another step", body = ErrorBody),
        (status = 410, description = "`flow_expired`: idle too long; start again", body = ErrorBody),
        (status = 422, description = "`validation_error`: `acknowledged` is not `true`", body = ErrorBody),
        (status = 503, description = "`asset_source_unavailable`", body = ErrorBody)))]
pub async fn api_confirm(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ConfirmRequest>,
) -> ApiResult<Json<FlowView>> {
    let live = deletion::load(&state, &user, &id, Request::Confirm).await?;
    let next = deletion::confirm(
        &state,
        &user,
        &live,
        req.acknowledged,
        req.captcha.as_deref(),
    )
    .await?;
    flow_json(&state, &user, &live, next).await
}

/// Assets: re-checks; moves on when nothing blocks.
#[utoipa::path(post, path = "/api/v1/deletion/{id}/assets", tag = "deletion", operation_id = "deletion_assets", params(("id" = String, Path, format = "uuid", description = "The flow's id")), security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 200, description = "the flow at `verification`", body = FlowView),
        (status = 404, description = "`not_found`: no deletion of this session at this id", body = ErrorBody),
        (status = 409, description = "`assets_remaining` with `blocking`, or `wrong_step` with `step`", body = ErrorBody),
        (status = 410, description = "`flow_expired`", body = ErrorBody),
        (status = 503, description = "`asset_source_unavailable`", body = ErrorBody)))]
pub async fn api_assets(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<FlowView>> {
    let live = deletion::load(&state, &user, &id, Request::CheckAssets).await?;
    let next = deletion::check_assets(&state, &user, &live).await?;
    flow_json(&state, &user, &live, next).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChannelRequest {
    /// `email` or `sms`.
    #[schema(value_type = crate::vocabulary::ChannelName)]
    pub channel: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResendAfter {
    /// Seconds until another code may be requested.
    pub resend_after: i64,
}

/// Verification: sends a deletion code (purpose `deletion`, bound to this flow).
#[utoipa::path(post, path = "/api/v1/deletion/{id}/codes", tag = "deletion", operation_id = "deletion_codes", params(("id" = String, Path, format = "uuid", description = "The flow's id")), request_body = ChannelRequest,
    security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 202, body = ResendAfter),
        (status = 404, description = "`not_found`: no deletion of this session at this id", body = ErrorBody),
        (status = 409, description = "`wrong_step` with `step`: the flow is at another step", body = ErrorBody),
        (status = 410, description = "`flow_expired`: idle too long; start again", body = ErrorBody),
        (status = 422, description = "`validation_error`: an unknown channel, or `sms` without a bound phone", body = ErrorBody),
        (status = 429, description = "`resend_too_soon` (with `retry_after`) / `rate_limited`", body = ErrorBody),
        (status = 503, description = "`delivery_failed`", body = ErrorBody)))]
pub async fn api_codes(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ChannelRequest>,
) -> ApiResult<Response> {
    let live = deletion::load(&state, &user, &id, Request::SendCode).await?;
    let resend_after = deletion::send_code(&state, &user, &live, &req.channel).await?;
    Ok((StatusCode::ACCEPTED, Json(ResendAfter { resend_after })).into_response())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct VerifyRequest {
    /// Always required: 6 digits (spaces are ignored), purpose `deletion`.
    #[schema(pattern = r"^\s*([0-9]\s*){6}$", example = "123456")]
    pub email_code: Option<String>,
    /// Required when a phone is bound.
    #[schema(pattern = r"^\s*([0-9]\s*){6}$", example = "123456")]
    pub sms_code: Option<String>,
    /// Required when an authenticator is bound.
    #[schema(pattern = r"^\s*([0-9]\s*){6}$", example = "123456")]
    pub totp_code: Option<String>,
    /// Required when a passkey is bound: the assertion for a challenge of purpose
    /// `deletion` (`POST /api/v1/me/passkeys/challenge`).
    #[serde(default)]
    #[schema(nullable = false)]
    pub passkey: Option<crate::wire::PasskeyAssertion>,
}

/// Verification: a code for every bound factor, and a passkey assertion when one is bound.
#[utoipa::path(post, path = "/api/v1/deletion/{id}/verify", tag = "deletion", operation_id = "deletion_verify", params(("id" = String, Path, format = "uuid", description = "The flow's id")), request_body = VerifyRequest,
    security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 200, description = "the flow at `identity`", body = FlowView),
        (status = 400, description = "`invalid_code` / `code_expired` / `code_used` / `code_exhausted`, with `factor`; `passkey_ceremony_unknown` / `passkey_invalid` / `passkey_cloned` for the passkey", body = ErrorBody),
        (status = 404, description = "`not_found`: no deletion of this session at this id", body = ErrorBody),
        (status = 409, description = "`wrong_step` with `step`: the flow is at another step", body = ErrorBody),
        (status = 410, description = "`flow_expired`: idle too long; start again", body = ErrorBody),
        (status = 422, description = "`validation_error`: a code of a bound factor is missing or not 6 digits", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many wrong codes in the last hour", body = ErrorBody)))]
pub async fn api_verify(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<VerifyRequest>,
) -> ApiResult<Json<FlowView>> {
    let live = deletion::load(&state, &user, &id, Request::Verify).await?;
    let codes = FactorCodes {
        email_code: req.email_code,
        sms_code: req.sms_code,
        totp_code: req.totp_code,
        passkey: req.passkey.map(|p| p.proof(&user)),
    };
    let next = deletion::verify(&state, &user, &live, &codes).await?;
    flow_json(&state, &user, &live, next).await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IdentityRequest {
    /// The ID number from the original identity verification (any spacing or case).
    pub id_number: Option<String>,
    /// Instead, for accounts that never completed identity verification.
    #[schema(format = Password)]
    pub password: Option<String>,
}

/// Identity: the last step. On success the account is deleted in one transaction.
#[utoipa::path(post, path = "/api/v1/deletion/{id}/identity", tag = "deletion", operation_id = "deletion_identity", params(("id" = String, Path, format = "uuid", description = "The flow's id")), request_body = IdentityRequest,
    security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 200, description = "deleted: the flow at `deleted` with `deleted_at` and `reregister_after`", body = FlowView),
        (status = 400, description = "`identity_mismatch` with `attempts_left` and `field`", body = ErrorBody),
        (status = 503, description = "`unavailable` with `Retry-After`: a password answer met a full hashing queue; no try was charged", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds to wait before sending it again"))),
        (status = 404, description = "`not_found`: no deletion of this session at this id", body = ErrorBody),
        (status = 409, description = "`assets_remaining` with `blocking` (a deposit landed), or `wrong_step` with `step`", body = ErrorBody),
        (status = 410, description = "`flow_expired`", body = ErrorBody),
        (status = 422, description = "`validation_error`: `id_number` (or `password`, for accounts without a verified identity) is required", body = ErrorBody),
        (status = 423, description = "`identity_locked` with `locked_until`: 5 wrong answers", body = ErrorBody),
        (status = 503, description = "`asset_source_unavailable`", body = ErrorBody)))]
pub async fn api_identity(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<IdentityRequest>,
) -> ApiResult<Json<FlowView>> {
    let live = deletion::load(&state, &user, &id, Request::SubmitIdentity).await?;
    let identity_method = if req.password.is_some() && req.id_number.is_none() {
        "password"
    } else {
        "id_number"
    };
    let done = deletion::submit_identity(
        &state,
        &user,
        &live,
        req.id_number.as_deref(),
        req.password.as_deref(),
    )
    .await?;
    Ok(Json(FlowView {
        id: live.flow.id.clone(),
        step: Step::Deleted.as_str().to_owned(),
        expires_at: views::rfc3339(done.deleted_at),
        captcha: None,
        blocking: Vec::new(),
        factors: Vec::new(),
        identity_method: identity_method.to_owned(),
        deleted_at: Some(views::rfc3339(done.deleted_at)),
        reregister_after: Some(views::rfc3339(done.reregister_after)),
        cooloff_until: None,
    }))
}
