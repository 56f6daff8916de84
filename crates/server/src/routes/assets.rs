//! Assets for the account holder: balances, pending items and holds, withdrawals (with a
//! code from every bound factor), the statement export, and the assets page.

use crate::error::ApiError;
use crate::error::ErrorKind;
use crate::error::{ApiResult, AppError, ErrorBody};
use crate::http::csrf::{CsrfForm, CsrfToken};
use crate::http::fields::{amount_field, asset_field};
use crate::http::json::ApiJson;
use crate::http::session::{ApiUser, Authenticated, PageUser};
use crate::layout::layout;
use crate::views::NoticeQuery;
use crate::views::{self, Layout};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use offboard_app::audit;
use offboard_app::factors::{self, FactorCodes};
use offboard_app::ledger;
use offboard_app::AppState;
use offboard_core::money::Holdings;
use offboard_core::Purpose;
use offboard_store::{AccountRow, WithdrawalOutcome};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(my_assets))
        .routes(routes!(withdraw))
        .routes(routes!(export))
        .routes(routes!(assets_page))
        .routes(routes!(withdraw_submit))
        .routes(routes!(codes_submit))
}

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
    account: &AccountRow,
    req: &WithdrawalRequest,
) -> Result<String, AppError> {
    if !matches!(
        state.config.asset_source,
        offboard_app::config::AssetSourceConfig::Embedded
    ) {
        return Err(AppError::conflict(
            "Withdrawals are made on the exchange itself; this server reads balances from it.",
        ));
    }
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
            Ok(withdrawal_id)
        }
        WithdrawalOutcome::InsufficientFunds { available } => Err(insufficient(&asset, available)),
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
        (status = 409, description = "`insufficient_funds` with `available`; `conflict` when balances come from the host platform (withdraw there)", body = ErrorBody),
        (status = 422, description = "`validation_error`: asset, amount, address, or a missing code", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many wrong codes in the last hour", body = ErrorBody)))]
pub async fn withdraw(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(req): ApiJson<WithdrawalRequest>,
) -> ApiResult<Response> {
    let id = request_withdrawal(&state, &user.account, &req).await?;
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

// ----- the assets page -----

#[derive(Debug, Clone)]
pub struct BalanceView {
    pub asset: String,
    pub amount: String,
}

#[derive(Debug, Clone)]
pub struct PendingView {
    pub kind_label: String,
    pub id: String,
    pub asset: String,
    pub amount: String,
}

#[derive(Debug, Clone)]
pub struct HoldView {
    pub kind: String,
    pub reference: String,
}

#[derive(Template)]
#[template(path = "assets.html")]
pub struct AssetsPage {
    pub layout: Layout,
    pub balances: Vec<BalanceView>,
    pub pending: Vec<PendingView>,
    pub holds: Vec<HoldView>,
    pub assets: Vec<String>,
    pub needs_sms: bool,
    pub needs_totp: bool,
    pub notice: Option<String>,
    pub error: Option<String>,
    pub error_help: Option<String>,
    pub form_asset: String,
    pub form_amount: String,
    pub form_address: String,
}

fn notice_text(key: &str) -> Option<&'static str> {
    Some(match key {
        "withdrawal_requested" => {
            "Your withdrawal is on its way. It shows under Pending until the exchange sends it."
        }
        "code_sent_email" => "We emailed you a code. It works for 10 minutes.",
        "code_sent_sms" => "We texted you a code. It works for 10 minutes.",
        _ => return None,
    })
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct WithdrawForm {
    #[serde(default)]
    pub asset: String,
    #[serde(default)]
    #[schema(pattern = r"^[0-9]+(\.[0-9]+)?$", example = "0.25")]
    pub amount: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    #[schema(nullable = false, pattern = r"^\s*([0-9]\s*){6}$", example = "123456")]
    pub email_code: Option<String>,
    #[serde(default)]
    #[schema(nullable = false, pattern = r"^\s*([0-9]\s*){6}$", example = "123456")]
    pub sms_code: Option<String>,
    #[serde(default)]
    #[schema(nullable = false, pattern = r"^\s*([0-9]\s*){6}$", example = "123456")]
    pub totp_code: Option<String>,
}

async fn render_assets(
    state: &AppState,
    user: &Authenticated,
    csrf: &CsrfToken,
    notice: Option<&str>,
    error: Option<&AppError>,
    form: &WithdrawForm,
) -> Response {
    let loaded = async {
        let holdings = ledger::holdings(state, user.account.id).await?;
        let bound = factors::bound_factors(state, &user.account).await?;
        Ok::<_, AppError>((holdings, bound))
    }
    .await;
    let (holdings, bound) = match loaded {
        Ok(v) => v,
        Err(err) => return views::error_page(&err, Some(layout(state, Some(user), csrf))),
    };
    let (message, help, status) = views::error_parts(error);
    let page = AssetsPage {
        layout: layout(state, Some(user), csrf),
        balances: holdings
            .balances
            .iter()
            .map(|b| BalanceView {
                asset: b.asset.clone(),
                amount: b.amount.normalize().to_string(),
            })
            .collect(),
        pending: holdings
            .pending
            .iter()
            .map(|p| PendingView {
                kind_label: if p.kind == "deposit" {
                    "Deposit".to_owned()
                } else {
                    "Withdrawal".to_owned()
                },
                id: p.id.clone(),
                asset: p.asset.clone(),
                amount: p.amount.normalize().to_string(),
            })
            .collect(),
        holds: holdings
            .holds
            .iter()
            .map(|h| HoldView {
                kind: h.kind.clone(),
                reference: h.reference.clone(),
            })
            .collect(),
        assets: state.config.assets.codes().map(str::to_owned).collect(),
        needs_sms: bound.sms,
        needs_totp: bound.totp,
        notice: notice.and_then(notice_text).map(str::to_owned),
        error: message,
        error_help: help,
        form_asset: form.asset.clone(),
        form_amount: form.amount.clone(),
        form_address: form.address.clone(),
    };
    views::render_with_status(status, &page)
}

#[utoipa::path(get, path = "/assets", tag = "pages", operation_id = "page_assets", params(NoticeQuery), security(("session_cookie" = [])),
    responses((status = 200, description = "balances, pending items, holds and the withdraw form", content_type = "text/html"),
        (status = 503, description = "the asset source did not answer", content_type = "text/html")))]
pub async fn assets_page(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    Query(q): Query<NoticeQuery>,
) -> Response {
    render_assets(
        &state,
        &user,
        &csrf,
        q.notice.as_deref(),
        None,
        &WithdrawForm::default(),
    )
    .await
}

#[utoipa::path(post, path = "/assets/withdraw", tag = "pages", operation_id = "page_withdraw_submit", security(("session_cookie" = [])),
    request_body(content = WithdrawForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "requested"),
        (status = 400, description = "the page with the error: a code is wrong, expired, used or exhausted", content_type = "text/html"),
        (status = 409, description = "the page: insufficient funds, or balances come from the host platform", content_type = "text/html"),
        (status = 422, description = "the page naming the field to fix", content_type = "text/html"),
        (status = 429, description = "the page: too many wrong codes", content_type = "text/html"),
        (status = 503, description = "the asset source did not answer", content_type = "text/html")))]
pub async fn withdraw_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<WithdrawForm>,
) -> Response {
    let req = WithdrawalRequest {
        asset: form.asset.clone(),
        amount: serde_json::Value::String(form.amount.clone()),
        address: form.address.clone(),
        email_code: form.email_code.clone(),
        sms_code: form.sms_code.clone(),
        totp_code: form.totp_code.clone(),
    };
    match request_withdrawal(&state, &user.account, &req).await {
        Ok(_) => Redirect::to("/assets?notice=withdrawal_requested").into_response(),
        Err(err) => render_assets(&state, &user, &csrf, None, Some(&err), &form).await,
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CodeChannelForm {
    #[serde(default)]
    #[schema(value_type = crate::vocabulary::ChannelName)]
    pub channel: String,
}

#[utoipa::path(post, path = "/assets/codes", tag = "pages", operation_id = "page_assets_codes_submit", security(("session_cookie" = [])),
    request_body(content = CodeChannelForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "sent"),
        (status = 422, description = "the page: an unknown channel, or `sms` without a bound phone", content_type = "text/html"),
        (status = 429, description = "the page with the wait", content_type = "text/html"),
        (status = 503, description = "the page: the code could not be sent, or the asset source did not answer", content_type = "text/html")))]
pub async fn codes_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<CodeChannelForm>,
) -> Response {
    match offboard_app::bindings::send_action_code(
        &state,
        &user.account,
        &form.channel,
        "withdrawal",
    )
    .await
    {
        Ok(_) => {
            let which = if form.channel == "sms" {
                "sms"
            } else {
                "email"
            };
            Redirect::to(&format!("/assets?notice=code_sent_{which}#withdraw")).into_response()
        }
        Err(err) => {
            render_assets(
                &state,
                &user,
                &csrf,
                None,
                Some(&err),
                &WithdrawForm::default(),
            )
            .await
        }
    }
}
