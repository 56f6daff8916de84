//! The assets page: balances, pending items, holds and the withdrawal form.

use super::api::*;
use crate::error::AppError;
use crate::http::csrf::{CsrfForm, CsrfToken};
use crate::http::session::{Authenticated, PageUser};
use crate::layout::layout;
use crate::views::NoticeQuery;
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
        Err(err) => return views::error_page(&err, Some(layout(state, Some(user), csrf).await)),
    };
    let (message, help, status) = views::error_parts(error);
    let page = AssetsPage {
        layout: layout(state, Some(user), csrf).await,
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
