//! The assets page: balances, pending items, holds and the withdrawal form.

use super::api::*;
use crate::error::AppError;
use crate::http::csrf::{CsrfForm, CsrfToken};
use crate::http::session::{Authenticated, PageUser};
use crate::layout::layout;
use crate::views::{self, Layout};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use offboard_app::factors::{self};
use offboard_app::ledger;
use offboard_app::AppState;
use serde::Deserialize;
use utoipa::ToSchema;
#[derive(Debug, Clone)]
pub struct BalanceView {
    pub asset: String,
    pub amount: String,
}

/// An asset of the withdraw form, with what "Max" fills in (its whole balance).
#[derive(Debug, Clone)]
pub struct AssetChoice {
    pub code: String,
    pub max: Option<String>,
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
    pub assets: Vec<AssetChoice>,
    pub needs_sms: bool,
    pub needs_totp: bool,
    /// A passkey is bound: the form asks it too (R16).
    pub needs_passkey: bool,
    /// After a withdrawal: at the top of the page.
    pub notice: Option<String>,
    /// After a code was sent: beside the code buttons.
    pub code_notice: Option<String>,
    pub email_wait: i64,
    pub sms_wait: i64,
    pub error: Option<String>,
    pub error_help: Option<String>,
    /// A code request refused (too soon, not sent): beside the code buttons.
    pub code_error: Option<String>,
    pub field_errors: views::FieldErrors,
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

/// `GET /assets`: a notice after a form succeeded, and the asset to withdraw (the
/// deletion's assets step links here with the asset that still blocks).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct AssetsQuery {
    pub notice: Option<String>,
    /// Preselects the withdraw form's asset, e.g. `BTC`.
    pub asset: Option<String>,
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
    /// Filled by the page's passkey script: the ceremony and the assertion (JSON).
    #[serde(default)]
    #[schema(nullable = false)]
    pub passkey_ceremony: Option<String>,
    #[serde(default)]
    #[schema(nullable = false)]
    pub passkey_credential: Option<String>,
}

/// What the page answers a refused form with, and where it shows.
enum Refusal<'a> {
    Withdrawal(&'a AppError),
    CodeRequest(&'a AppError),
}

fn balance_views(holdings: &offboard_core::money::Holdings) -> Vec<BalanceView> {
    holdings
        .balances
        .iter()
        .map(|b| BalanceView {
            asset: b.asset.clone(),
            amount: b.amount.normalize().to_string(),
        })
        .collect()
}

fn pending_views(holdings: &offboard_core::money::Holdings) -> Vec<PendingView> {
    holdings
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
        .collect()
}

/// Every configured asset, with its whole balance for "Max" when there is one.
fn asset_choices(state: &AppState, holdings: &offboard_core::money::Holdings) -> Vec<AssetChoice> {
    state
        .config
        .assets
        .codes()
        .map(|code| AssetChoice {
            code: code.to_owned(),
            max: holdings
                .balances
                .iter()
                .find(|b| b.asset == code && !b.amount.is_zero())
                .map(|b| b.amount.normalize().to_string()),
        })
        .collect()
}

async fn render_assets(
    state: &AppState,
    user: &Authenticated,
    csrf: &CsrfToken,
    notice: Option<&str>,
    refusal: Option<Refusal<'_>>,
    form: &WithdrawForm,
) -> Response {
    // A code request's refusal shows beside the code buttons, not in the form.
    let (error, code_request) = match refusal {
        Some(Refusal::Withdrawal(e)) => (Some(e), false),
        Some(Refusal::CodeRequest(e)) => (Some(e), true),
        None => (None, false),
    };
    let loaded = async {
        let holdings = ledger::holdings(state, user.account.id).await?;
        let bound = factors::current_factors(state, &user.account).await?;
        Ok::<_, AppError>((holdings, bound))
    }
    .await;
    let (email_wait, sms_wait) =
        views::code_waits(state, user.account.id, offboard_core::Purpose::Withdrawal).await;
    let (holdings, bound) = match loaded {
        Ok(v) => v,
        Err(err) => return views::error_page(&err, Some(layout(state, Some(user), csrf).await)),
    };
    let (message, help, status) = views::error_parts(error);
    let page = AssetsPage {
        layout: layout(state, Some(user), csrf).await,
        balances: balance_views(&holdings),
        pending: pending_views(&holdings),
        holds: holdings
            .holds
            .iter()
            .map(|h| HoldView {
                kind: h.kind.clone(),
                reference: h.reference.clone(),
            })
            .collect(),
        assets: asset_choices(state, &holdings),
        needs_sms: bound.sms,
        needs_totp: bound.totp,
        needs_passkey: bound.passkey,
        notice: notice
            .filter(|n| !n.starts_with("code_sent"))
            .and_then(notice_text)
            .map(str::to_owned),
        code_notice: notice
            .filter(|n| n.starts_with("code_sent"))
            .and_then(notice_text)
            .map(str::to_owned),
        email_wait,
        sms_wait,
        field_errors: views::FieldErrors::of(error),
        code_error: message.clone().filter(|_| code_request),
        error: message.filter(|_| !code_request),
        error_help: help,
        form_asset: form.asset.clone(),
        form_amount: form.amount.clone(),
        form_address: form.address.clone(),
    };
    views::render_with_status(status, &page)
}

#[utoipa::path(get, path = "/assets", tag = "pages", operation_id = "page_assets", params(AssetsQuery), security(("session_cookie" = [])),
    responses((status = 200, description = "balances, pending items, holds and the withdraw form", content_type = "text/html"),
        (status = 503, description = "the asset source did not answer", content_type = "text/html")))]
pub async fn assets_page(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    Query(q): Query<AssetsQuery>,
) -> Response {
    let form = WithdrawForm {
        asset: q.asset.unwrap_or_default(),
        ..WithdrawForm::default()
    };
    render_assets(&state, &user, &csrf, q.notice.as_deref(), None, &form).await
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
        passkey: views::passkey_from_form(
            form.passkey_ceremony.as_deref(),
            form.passkey_credential.as_deref(),
        ),
    };
    match request_withdrawal(&state, &user, &req).await {
        // An explicit fragment: the browser would otherwise keep the form's `#withdraw`
        // and scroll past the notice at the top.
        Ok(_) => Redirect::to("/assets?notice=withdrawal_requested#main").into_response(),
        Err(err) => {
            let refusal = Some(Refusal::Withdrawal(&err));
            render_assets(&state, &user, &csrf, None, refusal, &form).await
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CodeChannelForm {
    #[serde(default)]
    #[schema(value_type = crate::vocabulary::ChannelName)]
    pub channel: String,
    /// The asset chosen in the withdraw form, kept across the code request.
    #[serde(default)]
    #[schema(nullable = false)]
    pub asset: Option<String>,
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
            // The asset goes back into the query only as a known asset code.
            let asset = form
                .asset
                .as_deref()
                .filter(|a| state.config.assets.codes().any(|c| c == *a))
                .map(|a| format!("&asset={a}"))
                .unwrap_or_default();
            Redirect::to(&format!("/assets?notice=code_sent_{which}{asset}#withdraw"))
                .into_response()
        }
        Err(err) => {
            let kept = WithdrawForm {
                asset: form.asset.unwrap_or_default(),
                ..WithdrawForm::default()
            };
            let refusal = Some(Refusal::CodeRequest(&err));
            render_assets(&state, &user, &csrf, None, refusal, &kept).await
        }
    }
}
