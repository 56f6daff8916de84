//! The host/admin API for the ledger (API.md "Host / admin API"): deposits with
//! `Idempotency-Key`, withdrawal outcomes, holds. Bearer `OFFBOARD_ADMIN_TOKEN`.

use crate::error::ApiError;
use crate::error::ErrorKind;
use crate::error::{ApiResult, AppError, ErrorBody};
use crate::http::admin::AdminAuth;
use crate::http::fields::{amount_field, asset_field};
use crate::http::json::ApiJson;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use offboard_app::audit;
use offboard_app::AppState;
use offboard_core::actor::Actor;
use offboard_core::AccountId;
use offboard_store::{DepositOutcome, SettleOutcome, SettledBy, Settlement};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(deposit))
        .routes(routes!(complete_withdrawal))
        .routes(routes!(fail_withdrawal))
        .routes(routes!(add_hold))
        .routes(routes!(release_hold))
}

fn account_id(text: &str) -> Result<AccountId, AppError> {
    text.parse().map_err(|_| {
        AppError::new(
            ErrorKind::NotFound,
            "not_found",
            "There is no account with this id.",
        )
    })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DepositRequest {
    /// An asset code the exchange holds, e.g. `BTC` (any case).
    #[schema(example = "BTC")]
    pub asset: String,
    /// Decimal string, e.g. `"0.25"` (a JSON number is refused), more than 0.
    #[schema(value_type = String, pattern = r"^[0-9]+(\.[0-9]+)?$", example = "0.25")]
    pub amount: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DepositResponse {
    #[schema(format = "uuid")]
    pub deposit_id: String,
}

/// Credits a deposit. A retry with the same `Idempotency-Key` credits once and answers
/// the same `deposit_id`. For a deleted account the amount is held as unclaimed (R4).
#[utoipa::path(post, path = "/api/v1/admin/accounts/{account_id}/deposits", tag = "admin", operation_id = "admin_deposit", request_body = DepositRequest,
    security(("admin_token" = [])),
    params(("account_id" = String, Path, format = "uuid", description = "The account's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 200 visible characters; a retry with the same key credits once and answers the same `deposit_id`")),
    responses((status = 201, description = "credited (or the earlier answer to the same `Idempotency-Key`)", body = DepositResponse),
        (status = 404, description = "`not_found`: no account with this id", body = ErrorBody),
        (status = 409, description = "`account_deleted` with `deposit_id` (held as unclaimed), or `conflict`: the idempotency key was used for another deposit", body = ErrorBody),
        (status = 422, description = "`validation_error`: asset, amount or `Idempotency-Key`", body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn deposit(
    State(state): State<AppState>,
    _admin: AdminAuth,
    Path(account): Path<String>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<DepositRequest>,
) -> ApiResult<Response> {
    let account_id = account_id(&account)?;
    let asset = asset_field(&state, &req.asset)?;
    let amount = amount_field(&state, &asset, &req.amount)?;
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => {
            let text = v
                .to_str()
                .ok()
                .map(str::trim)
                .filter(|k| !k.is_empty() && k.len() <= 200);
            Some(
                text.ok_or_else(|| {
                    ApiError::validation("Idempotency-Key", "must be 1 to 200 visible characters")
                })?
                .to_owned(),
            )
        }
    };
    let outcome = state
        .store
        .deposit(account_id, &asset, amount, key.as_deref(), state.now())
        .await?;
    match outcome {
        DepositOutcome::Credited { deposit_id } => {
            audit::by(
                &state,
                &Actor::Admin,
                Some(account_id),
                "deposit_credited",
                Some(&format!("asset={asset} amount={amount}")),
            )
            .await;
            Ok((StatusCode::CREATED, Json(DepositResponse { deposit_id })).into_response())
        }
        DepositOutcome::Repeated { deposit_id } => {
            Ok((StatusCode::CREATED, Json(DepositResponse { deposit_id })).into_response())
        }
        DepositOutcome::KeyReused => Err(ApiError::conflict(
            "This Idempotency-Key was already used for a different deposit.",
        )),
        DepositOutcome::NoSuchAccount => Err(ApiError::new(
            ErrorKind::NotFound,
            "not_found",
            "There is no account with this id.",
        )),
        DepositOutcome::AccountDeleted { deposit_id } => {
            audit::by(
                &state,
                &Actor::Admin,
                None,
                "deposit_unclaimed",
                Some(&format!(
                    "deposit={deposit_id} asset={asset} amount={amount}"
                )),
            )
            .await;
            Err(ApiError::new(
                ErrorKind::Conflict,
                "account_deleted",
                "This account is deleted. The deposit was not credited; it is held as unclaimed for support.",
            )
            .with("deposit_id", deposit_id))
        }
    }
}

async fn settle(state: &AppState, id: &str, how: Settlement) -> ApiResult<StatusCode> {
    let admin = Actor::Admin.to_string();
    let by = SettledBy {
        actor: &admin,
        note: "",
    };
    match state
        .store
        .settle_withdrawal(id, how, state.now(), &by)
        .await?
    {
        SettleOutcome::Done => Ok(StatusCode::NO_CONTENT),
        SettleOutcome::NotFound => Err(ApiError::new(
            ErrorKind::NotFound,
            "not_found",
            "There is no withdrawal with this id.",
        )),
        SettleOutcome::AlreadySettled { status } => Err(ApiError::conflict(format!(
            "This withdrawal is already {status}; a settled withdrawal never changes."
        ))
        .with("status", status)),
    }
}

/// Marks a pending withdrawal as sent.
#[utoipa::path(post, path = "/api/v1/admin/withdrawals/{withdrawal_id}/complete", tag = "admin", operation_id = "admin_withdrawal_complete",
    security(("admin_token" = [])),
    params(("withdrawal_id" = String, Path, format = "uuid")),
    responses((status = 204, description = "completed"), (status = 404, description = "`not_found`: no withdrawal with this id", body = ErrorBody),
        (status = 409, description = "`conflict` with `status`: already settled", body = ErrorBody)))]
pub async fn complete_withdrawal(
    State(state): State<AppState>,
    _admin: AdminAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    settle(&state, &id, Settlement::Complete).await
}

/// Marks a pending withdrawal as failed; the funds return to the balance.
#[utoipa::path(post, path = "/api/v1/admin/withdrawals/{withdrawal_id}/fail", tag = "admin", operation_id = "admin_withdrawal_fail",
    security(("admin_token" = [])),
    params(("withdrawal_id" = String, Path, format = "uuid")),
    responses((status = 204, description = "failed, funds returned"), (status = 404, description = "`not_found`: no withdrawal with this id", body = ErrorBody),
        (status = 409, description = "`conflict` with `status`: already settled", body = ErrorBody)))]
pub async fn fail_withdrawal(
    State(state): State<AppState>,
    _admin: AdminAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    settle(&state, &id, Settlement::Fail).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct HoldRequest {
    /// `order`, `bot`, or another kind the host uses: 1 to 40 letters, digits, `-` or `_`.
    #[schema(pattern = r"^\s*[A-Za-z0-9_-]{1,40}\s*$", example = "order")]
    pub kind: String,
    /// The host's reference, 1 to 200 characters (e.g. the order number).
    #[schema(min_length = 1, max_length = 200)]
    pub reference: String,
    /// Also stop withdrawals while the hold stands (they answer `withdrawals_paused`).
    #[serde(default)]
    pub blocks_withdrawals: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HoldResponse {
    #[schema(format = "uuid")]
    pub hold_id: String,
}

/// Reports something that keeps the account's assets busy (an open order, a bot, ...).
#[utoipa::path(post, path = "/api/v1/admin/accounts/{account_id}/holds", tag = "admin", operation_id = "admin_hold_add", request_body = HoldRequest,
    security(("admin_token" = [])),
    params(("account_id" = String, Path, format = "uuid", description = "The account's id")),
    responses((status = 201, body = HoldResponse), (status = 404, description = "`not_found`: no account with this id", body = ErrorBody),
        (status = 422, description = "`validation_error`: `kind` or `reference`", body = ErrorBody)))]
pub async fn add_hold(
    State(state): State<AppState>,
    _admin: AdminAuth,
    Path(account): Path<String>,
    ApiJson(req): ApiJson<HoldRequest>,
) -> ApiResult<Response> {
    let account_id = account_id(&account)?;
    let kind = req.kind.trim();
    if kind.is_empty()
        || kind.len() > 40
        || !kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(ApiError::validation(
            "kind",
            "1 to 40 letters, digits, '-' or '_' (e.g. order, bot)",
        ));
    }
    let reference = req.reference.trim();
    if reference.is_empty() || reference.chars().count() > 200 {
        return Err(ApiError::validation("reference", "1 to 200 characters"));
    }
    match state
        .store
        .add_hold_blocking(
            account_id,
            kind,
            reference,
            req.blocks_withdrawals,
            state.now(),
        )
        .await?
    {
        Some(hold_id) => {
            audit::by(
                &state,
                &Actor::Admin,
                Some(account_id),
                "hold_added",
                Some(&format!("kind={kind}")),
            )
            .await;
            Ok((StatusCode::CREATED, Json(HoldResponse { hold_id })).into_response())
        }
        None => Err(ApiError::new(
            ErrorKind::NotFound,
            "not_found",
            "There is no account with this id.",
        )),
    }
}

/// Releases a hold (the order closed, the bot stopped).
#[utoipa::path(delete, path = "/api/v1/admin/holds/{hold_id}", tag = "admin", operation_id = "admin_hold_release",
    security(("admin_token" = [])),
    params(("hold_id" = String, Path, format = "uuid")),
    responses((status = 204, description = "released"), (status = 404, description = "`not_found`: no hold with this id", body = ErrorBody)))]
pub async fn release_hold(
    State(state): State<AppState>,
    _admin: AdminAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    if state.store.release_hold(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(
            ErrorKind::NotFound,
            "not_found",
            "There is no hold with this id.",
        ))
    }
}
