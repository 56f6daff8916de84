//! The deletion journey as web pages (Security → Delete), one page per step.

use crate::error::{AppError, HttpStatus};
use crate::http::cookies;
use crate::http::csrf::{CsrfForm, CsrfToken, EmptyForm};
use crate::http::session::{Authenticated, PageUser};
use crate::layout::layout;
use crate::views::{self, Layout};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use offboard_app::deletion::{self};
use offboard_app::factors::FactorCodes;
use offboard_app::AppState;
use offboard_core::deletion::{Request, Step};
use offboard_core::money::{BlockerAction, BlockerKind};
use serde::Deserialize;
use utoipa::ToSchema;

use super::templates::{
    steps, BlockerView, DeleteOverviewPage, DeletionAssetsPage, DeletionDonePage,
    DeletionExpiredPage, DeletionIdentityPage, DeletionNotesPage, DeletionVerifyPage, FlowExpiry,
};
/// An expired flow (R2): the account was not deleted, and the person may start again.
async fn expired_page(
    state: &AppState,
    user: &Authenticated,
    csrf: &CsrfToken,
    err: &AppError,
) -> Response {
    let mut page_layout = layout(state, Some(user), csrf).await;
    page_layout.deletion_underway = None;
    let page = DeletionExpiredPage {
        layout: page_layout,
        message: err.message.clone(),
    };
    views::render_with_status(err.status(), &page)
}

/// Renders the page of the flow's current step, with an optional error or notice.
async fn render_step(
    state: &AppState,
    user: &Authenticated,
    csrf: &CsrfToken,
    flow_id: &str,
    error: Option<&AppError>,
    notice: Option<&str>,
    submitted: Option<&FactorCodes>,
) -> Response {
    let flow = match load_view(state, user, flow_id).await {
        Ok(flow) => flow,
        Err(err) if err.code == "flow_expired" => {
            return expired_page(state, user, csrf, &err).await
        }
        Err(err) => return views::error_page(&err, Some(layout(state, Some(user), csrf).await)),
    };
    // The flow's own pages need no banner leading back into it.
    let mut page_layout = layout(state, Some(user), csrf).await;
    page_layout.deletion_underway = None;
    let page = StepPage {
        layout: page_layout,
        error,
        expiry: FlowExpiry::of(&flow, state.now()),
    };
    match flow.step {
        Step::Notes => notes_page(page, &flow),
        Step::Assets => assets_page(page, &flow),
        Step::Verification => verify_page(state, user, page, &flow, notice, submitted).await,
        Step::Identity => identity_page(page, &flow),
        Step::Deleted => Redirect::to("/").into_response(),
    }
}

async fn load_view(
    state: &AppState,
    user: &Authenticated,
    flow_id: &str,
) -> Result<deletion::Flow, AppError> {
    let live = deletion::load(state, user, flow_id, Request::View).await?;
    deletion::view(state, user, &live.flow, live.step).await
}

/// What every step's page shares.
struct StepPage<'a> {
    layout: Layout,
    error: Option<&'a AppError>,
    expiry: FlowExpiry,
}

fn notes_page(page: StepPage<'_>, flow: &deletion::Flow) -> Response {
    let (message, help, status) = views::error_parts(page.error);
    views::render_with_status(
        status,
        &DeletionNotesPage {
            layout: page.layout,
            flow_id: flow.id.clone(),
            steps: steps(Step::Notes),
            expiry: page.expiry,
            captcha: flow
                .captcha
                .as_ref()
                .and_then(|c| serde_json::to_string(c).ok()),
            cooloff_until: flow.cooloff_until.map(views::human_time),
            error: message,
            error_help: help,
        },
    )
}

fn blocker_view(blocker: &offboard_core::money::Blocker) -> BlockerView {
    let (action, url) = deletion::blocker_action(blocker);
    BlockerView {
        kind_label: match blocker.kind {
            BlockerKind::Balance => "Balance",
            BlockerKind::PendingDeposit => "Pending deposit",
            BlockerKind::PendingWithdrawal => "Pending withdrawal",
            BlockerKind::Hold => "Hold",
        }
        .to_owned(),
        detail: [
            blocker.amount.clone(),
            blocker.asset.clone(),
            blocker.reference.clone(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" "),
        action_label: match action {
            BlockerAction::Withdraw => "Withdraw",
            BlockerAction::Wait => "See pending items",
            BlockerAction::CloseOnExchange => "Close it on the exchange",
        }
        .to_owned(),
        action_href: url.unwrap_or_else(|| deletion::HELP_ASSETS.to_owned()),
    }
}

fn assets_page(page: StepPage<'_>, flow: &deletion::Flow) -> Response {
    let (message, help, status) = views::error_parts(page.error);
    views::render_with_status(
        status,
        &DeletionAssetsPage {
            layout: page.layout,
            flow_id: flow.id.clone(),
            steps: steps(Step::Assets),
            expiry: page.expiry,
            blockers: flow.blocking.iter().map(blocker_view).collect(),
            error: message,
            error_help: help,
        },
    )
}

async fn verify_page(
    state: &AppState,
    user: &Authenticated,
    page: StepPage<'_>,
    flow: &deletion::Flow,
    notice: Option<&str>,
    submitted: Option<&FactorCodes>,
) -> Response {
    let (message, help, status) = views::error_parts(page.error);
    let field_errors = views::FieldErrors::of(page.error);
    // A code that was not at fault is still good (nothing was used up): keep it.
    let keep =
        |field: &str, value: Option<&String>| value.filter(|_| !field_errors.has(field)).cloned();
    let kept = FactorCodes {
        email_code: keep("email_code", submitted.and_then(|c| c.email_code.as_ref())),
        sms_code: keep("sms_code", submitted.and_then(|c| c.sms_code.as_ref())),
        totp_code: keep("totp_code", submitted.and_then(|c| c.totp_code.as_ref())),
        // An assertion works once: the page asks the passkey again.
        passkey: None,
    };
    let (email_wait, sms_wait) =
        views::code_waits(state, user.account.id, offboard_core::Purpose::Deletion).await;
    views::render_with_status(
        status,
        &DeletionVerifyPage {
            layout: page.layout,
            flow_id: flow.id.clone(),
            steps: steps(Step::Verification),
            expiry: page.expiry,
            email: user.account.email.clone(),
            phone: user
                .account
                .phone
                .as_deref()
                .and_then(|p| offboard_core::PhoneNumber::parse(p).ok())
                .map(|p| p.masked())
                .filter(|_| flow.factors.sms),
            needs_totp: flow.factors.totp,
            needs_passkey: flow.factors.passkey,
            email_wait,
            sms_wait,
            notice: notice.map(str::to_owned),
            error: message,
            error_help: help,
            field_errors,
            kept,
        },
    )
}

fn identity_page(page: StepPage<'_>, flow: &deletion::Flow) -> Response {
    let (message, help, status) = views::error_parts(page.error);
    let attempts_left = page
        .error
        .and_then(|e| e.detail_u64("attempts_left"))
        .and_then(|v| u32::try_from(v).ok());
    views::render_with_status(
        status,
        &DeletionIdentityPage {
            layout: page.layout,
            flow_id: flow.id.clone(),
            steps: steps(Step::Identity),
            expiry: page.expiry,
            method_password: flow.identity_method == deletion::IdentityMethod::Password,
            attempts_left,
            error: message,
            error_help: help,
        },
    )
}

/// The steps of account deletion (PRODUCT.md "The deletion journey").
pub const DELETION_STEPS: [&str; 5] = [
    "Read the notes and risk warnings",
    "Withdraw every remaining asset",
    "Confirm with a code from every two-factor method",
    "Enter the ID number from your identity verification",
    "Account deleted",
];

/// Security → Delete, before anything starts: what deleting involves, and whether it
/// can start now.
async fn overview(
    state: &AppState,
    user: &Authenticated,
    csrf: &CsrfToken,
    refusal: Option<&AppError>,
) -> Response {
    let cooloff = match deletion::cooloff_until(state, user.account.id).await {
        Ok(until) => until,
        Err(err) => return views::error_page(&err, Some(layout(state, Some(user), csrf).await)),
    };
    let mut page_layout = layout(state, Some(user), csrf).await;
    // The page's own button continues a deletion under way; no banner above it.
    let underway = page_layout.deletion_underway.take();
    let (message, help, status) = views::error_parts(refusal);
    views::render_with_status(
        status,
        &DeleteOverviewPage {
            layout: page_layout,
            steps: &DELETION_STEPS,
            cooloff_until: cooloff.map(views::When::at),
            continue_href: underway.as_ref().map(|u| u.href.clone()),
            continue_step: underway.map(|u| u.step),
            error: message.filter(|_| refusal.is_some_and(|r| r.code != "deletion_cool_off")),
            error_help: help.filter(|_| refusal.is_some_and(|r| r.code != "deletion_cool_off")),
        },
    )
}

#[utoipa::path(get, path = "/security/delete", tag = "pages", operation_id = "page_delete_overview", security(("session_cookie" = [])),
    responses((status = 200, description = "what deleting the account involves, and whether it can start now", content_type = "text/html")))]
pub async fn page_overview(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
) -> Response {
    overview(&state, &user, &csrf, None).await
}

/// Security → Delete: starts or resumes the flow and shows its current step.
#[utoipa::path(post, path = "/security/delete", tag = "pages", operation_id = "page_deletion_start_submit", security(("session_cookie" = [])),
    request_body(content = EmptyForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "to the flow's current step"),
        (status = 403, description = "the overview: the 24-hour cool-off runs, so no deletion was started", content_type = "text/html"),
        (status = 503, description = "the asset source did not answer", content_type = "text/html")))]
pub async fn page_start(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    CsrfForm(_form): CsrfForm<EmptyForm>,
) -> Response {
    // R12: during the 24-hour pause no flow is created; the overview says until when.
    match deletion::cooloff_until(&state, user.account.id).await {
        Ok(Some(until)) => {
            let refusal = deletion::cool_off(until);
            return overview(&state, &user, &csrf, Some(&refusal)).await;
        }
        Ok(None) => {}
        Err(err) => return views::error_page(&err, Some(layout(&state, Some(&user), &csrf).await)),
    }
    match deletion::start(&state, &user).await {
        Ok((flow, _)) => Redirect::to(&format!("/deletion/{}", flow.id)).into_response(),
        Err(err) => views::error_page(&err, Some(layout(&state, Some(&user), &csrf).await)),
    }
}

#[utoipa::path(get, path = "/deletion/{id}", tag = "pages", operation_id = "page_deletion", params(("id" = String, Path, format = "uuid", description = "The flow's id")), security(("session_cookie" = [])),
    responses((status = 200, description = "the page of the current step", content_type = "text/html"),
        (status = 303, description = "a finished deletion: to the home page"),
        (status = 404, description = "no deletion of this session at this id", content_type = "text/html"),
        (status = 410, description = "the deletion expired", content_type = "text/html"),
        (status = 503, description = "the asset source did not answer", content_type = "text/html")))]
pub async fn page_flow(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    Path(id): Path<String>,
) -> Response {
    render_step(&state, &user, &csrf, &id, None, None, None).await
}

/// After a POST: on success show the flow's page (303), on a wrong step go to the
/// current one, on another error show the current page with it.
async fn after(
    state: &AppState,
    user: &Authenticated,
    csrf: &CsrfToken,
    id: &str,
    result: Result<(), AppError>,
    notice: Option<&str>,
    submitted: Option<&FactorCodes>,
) -> Response {
    match result {
        Ok(()) if notice.is_none() => Redirect::to(&format!("/deletion/{id}")).into_response(),
        Ok(()) => render_step(state, user, csrf, id, None, notice, None).await,
        Err(err)
            if err.code == "wrong_step"
                || err.code == "flow_expired"
                || err.code == "not_found" =>
        {
            if err.code == "wrong_step" {
                Redirect::to(&format!("/deletion/{id}")).into_response()
            } else if err.code == "flow_expired" {
                expired_page(state, user, csrf, &err).await
            } else {
                views::error_page(&err, Some(layout(state, Some(user), csrf).await))
            }
        }
        Err(err) => render_step(state, user, csrf, id, Some(&err), None, submitted).await,
    }
}

#[derive(Deserialize, ToSchema)]
pub struct ConfirmForm {
    #[serde(default)]
    #[schema(nullable = false)]
    pub acknowledged: Option<String>,
    #[serde(default)]
    #[schema(nullable = false)]
    pub captcha: Option<String>,
}

#[utoipa::path(post, path = "/deletion/{id}/confirm", tag = "pages", operation_id = "page_deletion_confirm_submit", params(("id" = String, Path, format = "uuid", description = "The flow's id")), security(("session_cookie" = [])),
    request_body(content = ConfirmForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "done, or the flow is at another step: to its current page"),
        (status = 404, description = "no deletion of this session at this id", content_type = "text/html"),
        (status = 410, description = "the deletion expired", content_type = "text/html"),
        (status = 400, description = "the notes page: the captcha is missing or wrong", content_type = "text/html"),
        (status = 403, description = "the notes page: the 24-hour cool-off is running", content_type = "text/html"),
        (status = 422, description = "the notes page: the notes were not acknowledged", content_type = "text/html"),
        (status = 503, description = "the asset source did not answer", content_type = "text/html")))]
pub async fn page_confirm(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ConfirmForm>,
) -> Response {
    let result = async {
        let live = deletion::load(&state, &user, &id, Request::Confirm).await?;
        let ack = matches!(form.acknowledged.as_deref(), Some("true" | "on" | "yes"));
        deletion::confirm(&state, &user, &live, ack, form.captcha.as_deref())
            .await
            .map(|_| ())
    }
    .await;
    after(&state, &user, &csrf, &id, result, None, None).await
}

#[utoipa::path(post, path = "/deletion/{id}/assets", tag = "pages", operation_id = "page_deletion_assets_submit", params(("id" = String, Path, format = "uuid", description = "The flow's id")), security(("session_cookie" = [])),
    request_body(content = EmptyForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "done, or the flow is at another step: to its current page"),
        (status = 404, description = "no deletion of this session at this id", content_type = "text/html"),
        (status = 410, description = "the deletion expired", content_type = "text/html"),
        (status = 409, description = "the assets page: something still blocks", content_type = "text/html"),
        (status = 503, description = "the asset source did not answer", content_type = "text/html")))]
pub async fn page_assets(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    Path(id): Path<String>,
    CsrfForm(_form): CsrfForm<EmptyForm>,
) -> Response {
    let result = async {
        let live = deletion::load(&state, &user, &id, Request::CheckAssets).await?;
        deletion::check_assets(&state, &user, &live)
            .await
            .map(|_| ())
    }
    .await;
    after(&state, &user, &csrf, &id, result, None, None).await
}

#[derive(Deserialize, ToSchema)]
pub struct ChannelForm {
    #[serde(default)]
    #[schema(value_type = crate::vocabulary::ChannelName)]
    pub channel: String,
}

#[utoipa::path(post, path = "/deletion/{id}/codes", tag = "pages", operation_id = "page_deletion_codes_submit", params(("id" = String, Path, format = "uuid", description = "The flow's id")), security(("session_cookie" = [])),
    request_body(content = ChannelForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "the step page saying the code was sent", content_type = "text/html"),
        (status = 303, description = "done, or the flow is at another step: to its current page"),
        (status = 404, description = "no deletion of this session at this id", content_type = "text/html"),
        (status = 410, description = "the deletion expired", content_type = "text/html"),
        (status = 422, description = "the verification page: an unknown channel, or `sms` without a phone", content_type = "text/html"),
        (status = 429, description = "the verification page with the wait", content_type = "text/html"),
        (status = 503, description = "the code could not be sent", content_type = "text/html")))]
pub async fn page_codes(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ChannelForm>,
) -> Response {
    let result = async {
        let live = deletion::load(&state, &user, &id, Request::SendCode).await?;
        deletion::send_code(&state, &user, &live, &form.channel)
            .await
            .map(|_| ())
    }
    .await;
    let notice = if form.channel == "sms" {
        "We texted you a deletion code. It works for 10 minutes."
    } else {
        "We emailed you a deletion code. It works for 10 minutes."
    };
    let notice = result.is_ok().then_some(notice);
    after(&state, &user, &csrf, &id, result, notice, None).await
}

#[derive(Deserialize, ToSchema)]
pub struct VerifyForm {
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

#[utoipa::path(post, path = "/deletion/{id}/verify", tag = "pages", operation_id = "page_deletion_verify_submit", params(("id" = String, Path, format = "uuid", description = "The flow's id")), security(("session_cookie" = [])),
    request_body(content = VerifyForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "done, or the flow is at another step: to its current page"),
        (status = 404, description = "no deletion of this session at this id", content_type = "text/html"),
        (status = 410, description = "the deletion expired", content_type = "text/html"),
        (status = 400, description = "the verification page: a code is wrong, expired, used or exhausted", content_type = "text/html"),
        (status = 422, description = "the verification page: a code is missing", content_type = "text/html"),
        (status = 429, description = "the verification page: too many wrong codes", content_type = "text/html")))]
pub async fn page_verify(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<VerifyForm>,
) -> Response {
    let passkey = views::passkey_from_form(
        form.passkey_ceremony.as_deref(),
        form.passkey_credential.as_deref(),
    );
    let codes = FactorCodes {
        email_code: form.email_code,
        sms_code: form.sms_code,
        totp_code: form.totp_code,
        passkey: passkey.map(|p| p.proof(&user)),
    };
    let result = async {
        let live = deletion::load(&state, &user, &id, Request::Verify).await?;
        deletion::verify(&state, &user, &live, &codes)
            .await
            .map(|_| ())
    }
    .await;
    after(&state, &user, &csrf, &id, result, None, Some(&codes)).await
}

#[derive(Deserialize, ToSchema)]
pub struct IdentityForm {
    #[serde(default)]
    #[schema(nullable = false)]
    pub id_number: Option<String>,
    #[serde(default)]
    #[schema(nullable = false, format = Password)]
    pub password: Option<String>,
}

#[utoipa::path(post, path = "/deletion/{id}/identity", tag = "pages", operation_id = "page_deletion_identity_submit", params(("id" = String, Path, format = "uuid", description = "The flow's id")), security(("session_cookie" = [])),
    request_body(content = IdentityForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "the Deleted page; the session cookie is removed", content_type = "text/html"),
        (status = 303, description = "done, or the flow is at another step: to its current page"),
        (status = 404, description = "no deletion of this session at this id", content_type = "text/html"),
        (status = 410, description = "the deletion expired", content_type = "text/html"),
        (status = 400, description = "the identity page: the number does not match", content_type = "text/html"),
        (status = 409, description = "the assets page: a deposit landed meanwhile", content_type = "text/html"),
        (status = 422, description = "the identity page: the number (or password) is missing", content_type = "text/html"),
        (status = 423, description = "the identity page: locked after 5 wrong answers", content_type = "text/html"),
        (status = 503, description = "the asset source did not answer", content_type = "text/html")))]
pub async fn page_identity(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<IdentityForm>,
) -> Response {
    let result = async {
        let live = deletion::load(&state, &user, &id, Request::SubmitIdentity).await?;
        deletion::submit_identity(
            &state,
            &user,
            &live,
            form.id_number.as_deref(),
            form.password.as_deref(),
        )
        .await
    }
    .await;
    match result {
        Ok(done) => {
            let page = DeletionDonePage {
                layout: Layout {
                    csrf: csrf.0.clone(),
                    dev_mode: state.config.is_dev(),
                    ..Layout::default()
                },
                steps: steps(Step::Deleted),
                deleted_at: views::When::at(done.deleted_at),
                reregister_after: views::When::at(done.reregister_after),
                passkey_ids: done.passkey_ids.join(" "),
                rp_id: state.config.passkeys.rp_id.clone(),
            };
            let mut response = views::render(&page);
            let secure = !state.config.is_dev();
            let removal = cookies::removal(cookies::session_cookie_name(secure), secure);
            if let Ok(value) = HeaderValue::from_str(&removal.to_string()) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        Err(err) => after(&state, &user, &csrf, &id, Err(err), None, None).await,
    }
}
