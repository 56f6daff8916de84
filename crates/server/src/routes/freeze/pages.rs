//! The freeze pages: the confirmation an alert's link opens, and the Security page's
//! freeze button. Both end on the same "frozen" page, signed out.

use crate::http::csrf::{CsrfForm, CsrfToken, EmptyForm};
use crate::http::session::PageUser;
use crate::layout::signed_out_layout;
use crate::views::{self, Layout};
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use offboard_app::freeze::{self, Frozen};
use offboard_app::AppState;

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
