//! The freeze pages: the confirmation an alert's link opens, and the Security page's
//! freeze button. Both end on the same "frozen" page, signed out.

use crate::error::AppError;
use crate::http::client::ClientAddr;
use crate::http::csrf::{CsrfForm, CsrfToken, EmptyForm};
use crate::http::session::PageUser;
use crate::layout::signed_out_layout;
use crate::views::{self, Layout};
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use offboard_app::factors::FactorCodes;
use offboard_app::freeze::{self, Frozen};
use offboard_app::unfreeze;
use offboard_app::AppState;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Template)]
#[template(path = "freeze.html")]
pub struct FreezePage {
    pub layout: Layout,
    /// The form's action while asking; empty once frozen.
    pub action: String,
    pub frozen: bool,
    pub already: bool,
    pub cancelled: usize,
}

fn frozen_page(state: &AppState, csrf: &CsrfToken, done: &Frozen) -> Response {
    views::render(&FreezePage {
        layout: signed_out_layout(state, csrf),
        action: String::new(),
        frozen: true,
        already: done.already,
        cancelled: done.cancelled_withdrawals.len(),
    })
}

/// The link's page asks before it freezes: mail scanners open links, and a GET must not
/// freeze an account.
#[utoipa::path(get, path = "/freeze/{account_id}/{token}", tag = "pages", operation_id = "page_freeze_link",
    params(("account_id" = String, Path, format = "uuid"), ("token" = String, Path, description = "the alert's one-time token")),
    responses((status = 200, description = "asks to confirm the freeze", content_type = "text/html"),
        (status = 404, description = "the link is not valid", content_type = "text/html"),
        (status = 409, description = "the link was used", content_type = "text/html"),
        (status = 410, description = "the link expired", content_type = "text/html")))]
pub async fn link_page(
    State(state): State<AppState>,
    Path((account, token)): Path<(String, String)>,
    csrf: CsrfToken,
) -> Response {
    if let Err(err) = freeze::check_link(&state, &account, &token).await {
        return views::error_page(&err, Some(signed_out_layout(&state, &csrf)));
    }
    views::render(&FreezePage {
        layout: signed_out_layout(&state, &csrf),
        // Both parts passed the check: the token is one we issued.
        action: format!("/freeze/{account}/{token}"),
        frozen: false,
        already: false,
        cancelled: 0,
    })
}

#[utoipa::path(post, path = "/freeze/{account_id}/{token}", tag = "pages", operation_id = "page_freeze_link_submit",
    params(("account_id" = String, Path, format = "uuid"), ("token" = String, Path, description = "the alert's one-time token")),
    request_body(content = EmptyForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "frozen", content_type = "text/html"),
        (status = 404, description = "the link is not valid", content_type = "text/html"),
        (status = 409, description = "the link was used", content_type = "text/html"),
        (status = 410, description = "the link expired", content_type = "text/html")))]
pub async fn link_submit(
    State(state): State<AppState>,
    Path((account, token)): Path<(String, String)>,
    csrf: CsrfToken,
    CsrfForm(_form): CsrfForm<EmptyForm>,
) -> Response {
    match freeze::freeze_by_link(&state, &account, &token).await {
        Ok(done) => frozen_page(&state, &csrf, &done),
        Err(err) => views::error_page(&err, Some(signed_out_layout(&state, &csrf))),
    }
}

#[utoipa::path(post, path = "/security/freeze", tag = "pages", operation_id = "page_security_freeze_submit", security(("session_cookie" = [])),
    request_body(content = EmptyForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "frozen; this session ended with every other", content_type = "text/html")))]
pub async fn security_freeze_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    CsrfForm(_form): CsrfForm<EmptyForm>,
) -> Response {
    match freeze::freeze_by_owner(&state, &user, "via=security_page").await {
        Ok(done) => frozen_page(&state, &csrf, &done),
        Err(err) => views::error_page(&err, Some(signed_out_layout(&state, &csrf))),
    }
}

#[derive(Template)]
#[template(path = "unfreeze.html")]
pub struct UnfreezePage {
    pub layout: Layout,
    pub email: String,
    pub notice: Option<String>,
    pub error: Option<String>,
    pub error_help: Option<String>,
    pub done: bool,
}

fn unfreeze_page(
    state: &AppState,
    csrf: &CsrfToken,
    email: &str,
    outcome: Result<Option<String>, AppError>,
    done: bool,
) -> Response {
    let (error, error_help, status) = views::error_parts(outcome.as_ref().err());
    let page = UnfreezePage {
        layout: signed_out_layout(state, csrf),
        email: email.trim().to_owned(),
        notice: outcome.ok().flatten(),
        error,
        error_help,
        done,
    };
    views::render_with_status(status, &page)
}

/// The owner's way out after 24 hours (no sign-in: a frozen account has no session).
#[utoipa::path(get, path = "/unfreeze", tag = "pages", operation_id = "page_unfreeze",
    responses((status = 200, description = "the unfreeze form", content_type = "text/html")))]
pub async fn unfreeze_form(State(state): State<AppState>, csrf: CsrfToken) -> Response {
    unfreeze_page(&state, &csrf, "", Ok(None), false)
}

#[derive(Deserialize, ToSchema)]
pub struct UnfreezeCodeForm {
    #[serde(default)]
    #[schema(format = Email)]
    pub email: String,
    #[serde(default)]
    #[schema(format = Password)]
    pub password: String,
    /// `email` or `sms`.
    #[serde(default)]
    pub channel: String,
}

#[utoipa::path(post, path = "/unfreeze/codes", tag = "pages", operation_id = "page_unfreeze_code_submit",
    request_body(content = UnfreezeCodeForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "the form again: the code was sent", content_type = "text/html"),
        (status = 401, description = "the form again: the email or password is wrong", content_type = "text/html"),
        (status = 409, description = "the form again: the account is not frozen", content_type = "text/html"),
        (status = 429, description = "the form again: wait before asking again", content_type = "text/html",
            headers(("Retry-After" = u64, description = "seconds to wait")))))]
pub async fn unfreeze_code_submit(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<UnfreezeCodeForm>,
) -> Response {
    let sent = unfreeze::send_code(&state, &form.email, &form.password, &form.channel, &addr)
        .await
        .map(|_| Some("We sent you a code. It works for 10 minutes.".to_owned()));
    unfreeze_page(&state, &csrf, &form.email, sent, false)
}

#[derive(Deserialize, ToSchema)]
pub struct UnfreezeForm {
    #[serde(default)]
    #[schema(format = Email)]
    pub email: String,
    #[serde(default)]
    #[schema(format = Password)]
    pub password: String,
    #[serde(default)]
    pub email_code: Option<String>,
    #[serde(default)]
    pub sms_code: Option<String>,
    #[serde(default)]
    pub totp_code: Option<String>,
    #[serde(default)]
    pub id_number: Option<String>,
}

#[utoipa::path(post, path = "/unfreeze", tag = "pages", operation_id = "page_unfreeze_submit",
    request_body(content = UnfreezeForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "unfrozen, or the form again with the error", content_type = "text/html"),
        (status = 400, description = "the form again: a code or the ID number is wrong", content_type = "text/html"),
        (status = 401, description = "the form again: the email or password is wrong", content_type = "text/html"),
        (status = 409, description = "the form again: not frozen, or no approved identity", content_type = "text/html"),
        (status = 423, description = "the form again: the ID number check is locked", content_type = "text/html"),
        (status = 429, description = "the form again: too many wrong codes", content_type = "text/html",
            headers(("Retry-After" = u64, description = "seconds to wait")))))]
pub async fn unfreeze_submit(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<UnfreezeForm>,
) -> Response {
    let codes = FactorCodes {
        email_code: form.email_code,
        sms_code: form.sms_code,
        totp_code: form.totp_code,
        // No passkey ceremony can begin without a session yet, so an account with a
        // passkey cannot pass "every bound factor" here and unfreezes through support's
        // recovery instead (fails closed; docs/security.md).
        passkey: None,
    };
    let request = unfreeze::OwnerUnfreeze {
        email: &form.email,
        password: &form.password,
        codes,
        id_number: form.id_number.as_deref(),
        client_addr: &addr,
    };
    let result = unfreeze::unfreeze(&state, request).await;
    let done = result.is_ok();
    unfreeze_page(&state, &csrf, &form.email, result.map(|()| None), done)
}
