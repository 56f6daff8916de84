//! The freeze over the JSON API: by an alert's link (no sign-in) or by the signed-in owner.

use crate::error::{ApiResult, ErrorBody};
use crate::http::json::ApiJson;
use crate::http::session::ApiUser;
use axum::extract::State;
use axum::Json;
use offboard_app::freeze::{self, Frozen};
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
