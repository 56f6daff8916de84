//! Balances, withdrawals and the statement over the JSON API.

use crate::error::ApiError;
use crate::error::ErrorKind;
use crate::error::{ApiResult, AppError, ErrorBody};
use crate::http::fields::{amount_field, asset_field};
use crate::http::json::ApiJson;
use crate::http::session::ApiUser;
use crate::views::{self};
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use offboard_app::alerts::AlertKind;
use offboard_app::audit;
use offboard_app::factors::{self, FactorCodes};
use offboard_app::ledger;
use offboard_app::AppState;
use offboard_core::money::Holdings;
use offboard_core::Purpose;
use offboard_store::WithdrawalOutcome;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceOut {
    #[schema(example = "BTC")]
    pub asset: String,
    /// Decimal string.
    #[schema(example = "0.25")]
    pub amount: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HoldOut {
    pub hold_id: String,
    pub kind: String,
    pub reference: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PendingOut {
    /// `deposit` or `withdrawal`.
    #[schema(value_type = crate::vocabulary::PendingKind)]
    pub kind: String,
    pub id: String,
    pub asset: String,
    /// Decimal string.
    pub amount: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssetsResponse {
    pub balances: Vec<BalanceOut>,
    pub holds: Vec<HoldOut>,
    pub pending: Vec<PendingOut>,
}

impl From<Holdings> for AssetsResponse {
    fn from(h: Holdings) -> Self {
        Self {
            balances: h
                .balances
                .into_iter()
                .map(|b| BalanceOut {
                    asset: b.asset,
                    amount: b.amount.normalize().to_string(),
                })
                .collect(),
            holds: h
                .holds
                .into_iter()
                .map(|x| HoldOut {
                    hold_id: x.hold_id,
                    kind: x.kind,
                    reference: x.reference,
                })
                .collect(),
            pending: h
                .pending
                .into_iter()
                .map(|p| PendingOut {
                    kind: p.kind,
                    id: p.id,
                    asset: p.asset,
                    amount: p.amount.normalize().to_string(),
                })
                .collect(),
        }
    }
}

/// Balances, holds and pending items, from the configured asset source.
#[utoipa::path(get, path = "/api/v1/me/assets", tag = "assets", operation_id = "assets_get", security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 200, body = AssetsResponse), (status = 401, body = ErrorBody), (status = 503, description = "`asset_source_unavailable`", body = ErrorBody)))]
pub async fn my_assets(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Json<AssetsResponse>> {
    let holdings = ledger::holdings(&state, user.account.id).await?;
    Ok(Json(holdings.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct WithdrawalRequest {
    /// An asset code the exchange holds, e.g. `BTC` (any case).
    #[schema(example = "BTC")]
    pub asset: String,
    /// Decimal string (a JSON number is refused), more than 0, at most the asset's decimals.
    #[schema(value_type = String, pattern = r"^[0-9]+(\.[0-9]+)?$", example = "0.25")]
    pub amount: serde_json::Value,
    /// The destination address for the asset.
    pub address: String,
    /// Always required: 6 digits (spaces are ignored), purpose `withdrawal`.
    #[schema(pattern = r"^\s*([0-9]\s*){6}$", example = "123456")]
    pub email_code: Option<String>,
    /// Required when a phone is bound.
    #[schema(pattern = r"^\s*([0-9]\s*){6}$", example = "123456")]
    pub sms_code: Option<String>,
    /// Required when an authenticator is bound.
    #[schema(pattern = r"^\s*([0-9]\s*){6}$", example = "123456")]
    pub totp_code: Option<String>,
    /// Required when a passkey is bound: the assertion for a challenge of purpose
    /// `withdrawal` (`POST /api/v1/me/passkeys/challenge`).
    #[serde(default)]
    #[schema(nullable = false)]
    pub passkey: Option<crate::wire::PasskeyAssertion>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WithdrawalResponse {
    #[schema(format = "uuid")]
    pub withdrawal_id: String,
    /// Always `pending` on creation.
    #[schema(example = "pending")]
    pub status: String,
}

/// Validates, checks the balance, verifies every bound factor (codes of purpose
/// `withdrawal`), then reserves the funds in one locked transaction.
pub async fn request_withdrawal(
    state: &AppState,
    user: &offboard_app::sessions::Authenticated,
    req: &WithdrawalRequest,
) -> Result<String, AppError> {
    let account = &user.account;
    if !matches!(
        state.config.asset_source,
        offboard_app::config::AssetSourceConfig::Embedded
    ) {
        return Err(AppError::conflict(
            "Withdrawals are made on the exchange itself; this server reads balances from it.",
        ));
    }
    ledger::ensure_can_withdraw(state, account).await?;
    let asset = asset_field(state, &req.asset)?;
    let amount = amount_field(state, &asset, &req.amount)?;
    let address = req.address.trim();
    state
        .config
        .assets
        .validate_address(&asset, address)
        .map_err(|e| AppError::validation("address", e))?;
    // Check the balance before spending the user's codes; the locked transaction below
    // checks it again.
    let available = state
        .store
        .holdings(account.id)
        .await?
        .balances
        .into_iter()
        .find(|b| b.asset == asset)
        .map(|b| b.amount)
        .unwrap_or_default();
    if available < amount {
        return Err(insufficient(&asset, available));
    }
    let codes = FactorCodes {
        email_code: req.email_code.clone(),
        sms_code: req.sms_code.clone(),
        totp_code: req.totp_code.clone(),
        passkey: req.passkey.clone().map(|p| p.proof(user)),
    };
    factors::verify_all(state, account, Purpose::Withdrawal, None, &codes).await?;
    match state
        .store
        .request_withdrawal(account.id, &asset, amount, address, state.now())
        .await?
    {
        WithdrawalOutcome::Requested { withdrawal_id } => {
            audit::user(
                state,
                Some(account.id),
                "withdrawal_requested",
                Some(&format!("asset={asset} amount={amount}")),
            )
            .await;
            offboard_app::alerts::send(state, account, AlertKind::WithdrawalRequested).await;
            Ok(withdrawal_id)
        }
        WithdrawalOutcome::InsufficientFunds { available } => Err(insufficient(&asset, available)),
        // Frozen or held meanwhile (checked again under the ledger lock).
        WithdrawalOutcome::Frozen => Err(offboard_app::freeze::frozen_error()),
        WithdrawalOutcome::Held => Err(ledger::withdrawals_paused()),
    }
}

fn insufficient(asset: &str, available: rust_decimal::Decimal) -> AppError {
    AppError::new(
        ErrorKind::Conflict,
        "insufficient_funds",
        format!(
            "You have {} {asset} available, less than this withdrawal.",
            available.normalize()
        ),
    )
    .with("available", available.normalize().to_string())
}

/// Withdraws to an outside address. Needs a code for every bound factor.
#[utoipa::path(post, path = "/api/v1/me/withdrawals", tag = "assets", operation_id = "assets_withdraw", request_body = WithdrawalRequest,
    security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 201, body = WithdrawalResponse),
        (status = 400, description = "`invalid_code` / `code_expired` / `code_used` / `code_exhausted`, with `factor`", body = ErrorBody),
        (status = 403, description = "`account_frozen`: the account is frozen (R17)", body = ErrorBody),
        (status = 409, description = "`insufficient_funds` with `available`; `withdrawals_paused`: a hold stops withdrawals; `conflict` when balances come from the host platform (withdraw there)", body = ErrorBody),
        (status = 422, description = "`validation_error`: asset, amount, address, or a missing code", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many wrong codes in the last hour", body = ErrorBody)))]
pub async fn withdraw(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(req): ApiJson<WithdrawalRequest>,
) -> ApiResult<Response> {
    let id = request_withdrawal(&state, &user, &req).await?;
    Ok((
        StatusCode::CREATED,
        Json(WithdrawalResponse {
            withdrawal_id: id,
            status: "pending".to_owned(),
        }),
    )
        .into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ExportQuery {
    /// `json` (default) or `csv`.
    #[param(value_type = Option<crate::vocabulary::ExportFormat>)]
    pub format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Statement {
    pub account: StatementAccount,
    pub balances: Vec<BalanceOut>,
    pub deposits: Vec<StatementLine>,
    pub withdrawals: Vec<StatementLine>,
    #[schema(format = DateTime)]
    pub generated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatementAccount {
    #[schema(format = "uuid")]
    pub account_id: String,
    #[schema(format = Email)]
    pub email: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatementLine {
    #[schema(format = "uuid")]
    pub id: String,
    pub asset: String,
    /// Decimal string.
    pub amount: String,
    pub status: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Withdrawals only: the destination address.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub address: Option<String>,
}

/// The account's statement: balances, deposits and withdrawals (JSON or CSV). Offered
/// again before deletion, because afterwards it is gone.
#[utoipa::path(get, path = "/api/v1/me/export", tag = "assets", operation_id = "assets_export", params(ExportQuery),
    security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 200, description = "the statement as a download: JSON by default, CSV (`type,id,asset,amount,status,created_at,address`) with `?format=csv`",
            content((Statement = "application/json"), (String = "text/csv")),
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"offboard-statement.json\"` (or `.csv`)"))),
        (status = 422, description = "`validation_error`: `format` is neither `json` nor `csv`", body = ErrorBody)))]
pub async fn export(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<ExportQuery>,
) -> ApiResult<Response> {
    let account = &user.account;
    let holdings = state.store.holdings(account.id).await?;
    let deposits = state.store.deposits_of(account.id).await?;
    let withdrawals = state.store.withdrawals_of(account.id).await?;
    let statement = Statement {
        account: StatementAccount {
            account_id: account.id.to_string(),
            email: account.email.clone(),
            created_at: views::rfc3339(account.created_at),
        },
        balances: AssetsResponse::from(holdings).balances,
        deposits: deposits
            .into_iter()
            .map(|d| StatementLine {
                id: d.id,
                asset: d.asset,
                amount: d.amount.normalize().to_string(),
                status: d.status,
                created_at: views::rfc3339(d.created_at),
                address: None,
            })
            .collect(),
        withdrawals: withdrawals
            .into_iter()
            .map(|w| StatementLine {
                id: w.id,
                asset: w.asset,
                amount: w.amount.normalize().to_string(),
                status: w.status,
                created_at: views::rfc3339(w.created_at),
                address: Some(w.address),
            })
            .collect(),
        generated_at: views::rfc3339(state.now()),
    };
    audit::user(&state, Some(account.id), "statement_exported", None).await;
    match q.format.as_deref().unwrap_or("json") {
        "json" => Ok((
            [(
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"offboard-statement.json\"",
            )],
            Json(statement),
        )
            .into_response()),
        "csv" => Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"offboard-statement.csv\"",
                ),
            ],
            statement_csv(&statement),
        )
            .into_response()),
        _ => Err(ApiError::validation(
            "format",
            "must be \"json\" or \"csv\"",
        )),
    }
}

/// One row per line, RFC 4180 quoting. Hand-written: five fixed columns do not need a
/// CSV crate, and every field is quoted so commas or quotes in addresses stay safe.
fn statement_csv(s: &Statement) -> String {
    fn q(field: &str) -> String {
        // Leading =, +, -, @ would run as a formula in a spreadsheet: prefix a quote.
        let safe = if field.starts_with(['=', '+', '-', '@']) {
            format!("'{field}")
        } else {
            field.to_owned()
        };
        format!("\"{}\"", safe.replace('"', "\"\""))
    }
    let mut out = String::from("type,id,asset,amount,status,created_at,address\r\n");
    for b in &s.balances {
        out.push_str(
            &[
                q("balance"),
                q(""),
                q(&b.asset),
                q(&b.amount),
                q(""),
                q(&s.generated_at),
                q(""),
            ]
            .join(","),
        );
        out.push_str("\r\n");
    }
    for (kind, lines) in [("deposit", &s.deposits), ("withdrawal", &s.withdrawals)] {
        for l in lines {
            let address = l.address.clone().unwrap_or_default();
            out.push_str(
                &[
                    q(kind),
                    q(&l.id),
                    q(&l.asset),
                    q(&l.amount),
                    q(&l.status),
                    q(&l.created_at),
                    q(&address),
                ]
                .join(","),
            );
            out.push_str("\r\n");
        }
    }
    out
}
