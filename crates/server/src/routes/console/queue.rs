//! The recovery queue: open requests, approve or reject with a reason.

use super::account::ReasonForm;
use super::models::*;
use crate::error::AppError;
use crate::error::HttpStatus;
use crate::http::agent::{AgentAuth, PageAgent};
use crate::http::csrf::{CsrfForm, CsrfToken};
use crate::layout::signed_out_layout;
use crate::views::{self};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use offboard_app::support::{self};
use offboard_app::AppState;

pub(super) async fn render_recovery(
    state: &AppState,
    agent: &AgentAuth,
    csrf: &CsrfToken,
    notice: Option<&str>,
    error: Option<FormError>,
    status: StatusCode,
) -> Response {
    let page_layout = signed_out_layout(state, csrf);
    let requests = match support::open_recovery(state).await {
        Ok(requests) => requests,
        Err(err) => return views::error_page(&err, Some(page_layout)),
    };
    views::render_with_status(
        status,
        &RecoveryPage {
            layout: page_layout,
            agent: AgentView::of(agent),
            section: "recovery",
            requests: requests.into_iter().map(RecoveryView::of).collect(),
            notice: notice.and_then(notice_text),
            error,
        },
    )
}

#[utoipa::path(get, path = "/support/recovery", tag = "console", operation_id = "console_recovery", security(("agent_cookie" = [])), params(ConsoleNoticeQuery),
    responses((status = 200, description = "open recovery requests with the ID-number hint and approve/reject forms", content_type = "text/html")))]
pub async fn recovery_page(
    State(state): State<AppState>,
    PageAgent(agent): PageAgent,
    csrf: CsrfToken,
    Query(q): Query<ConsoleNoticeQuery>,
) -> Response {
    render_recovery(
        &state,
        &agent,
        &csrf,
        q.notice.as_deref(),
        None,
        StatusCode::OK,
    )
    .await
}

pub(super) async fn after_recovery_action(
    state: &AppState,
    agent: &AgentAuth,
    csrf: &CsrfToken,
    id: &str,
    action: &str,
    result: Result<(), AppError>,
) -> Response {
    match result {
        Ok(()) => see_other(&format!(
            "/support/recovery?notice={}",
            if action == "approve" {
                "approved"
            } else {
                "rejected"
            }
        )),
        Err(err) if err.status().is_client_error() => {
            let error = FormError::new(id, action, &err);
            render_recovery(state, agent, csrf, None, Some(error), err.status()).await
        }
        Err(err) => views::error_page(&err, Some(signed_out_layout(state, csrf))),
    }
}

#[utoipa::path(post, path = "/support/recovery/{id}/approve", tag = "console", operation_id = "console_recovery_approve_submit", security(("agent_cookie" = [])),
    params(("id" = String, Path, description = "The recovery request's id")),
    request_body(content = ReasonForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "approved; to the queue"),
        (status = 403, description = "the queue again: the account holds assets and needs a lead", content_type = "text/html"),
        (status = 404, description = "the queue again: no such request", content_type = "text/html"),
        (status = 409, description = "the queue again: already decided, or no active account", content_type = "text/html"),
        (status = 503, description = "the account's assets could not be checked", content_type = "text/html"),
        (status = 422, description = "the queue again: a reason is required", content_type = "text/html")))]
pub async fn approve_submit(
    State(state): State<AppState>,
    PageAgent(agent): PageAgent,
    csrf: CsrfToken,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ReasonForm>,
) -> Response {
    let result = support::approve_recovery(&state, &agent, &id, &form.reason).await;
    after_recovery_action(&state, &agent, &csrf, &id, "approve", result).await
}

#[utoipa::path(post, path = "/support/recovery/{id}/reject", tag = "console", operation_id = "console_recovery_reject_submit", security(("agent_cookie" = [])),
    params(("id" = String, Path, description = "The recovery request's id")),
    request_body(content = ReasonForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "rejected and the reason emailed; to the queue"),
        (status = 404, description = "the queue again: no such request", content_type = "text/html"),
        (status = 409, description = "the queue again: already decided", content_type = "text/html"),
        (status = 422, description = "the queue again: a reason is required", content_type = "text/html")))]
pub async fn reject_submit(
    State(state): State<AppState>,
    PageAgent(agent): PageAgent,
    csrf: CsrfToken,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ReasonForm>,
) -> Response {
    let result = support::reject_recovery(&state, &agent, &id, &form.reason).await;
    after_recovery_action(&state, &agent, &csrf, &id, "reject", result).await
}
