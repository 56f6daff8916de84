//! The contact queue (issue 15): open requests from signed-in people, each with an
//! answer form; an answer is emailed and the request marked answered, audited with the
//! agent as actor (R11, R14).

use super::models::*;
use crate::error::AppError;
use crate::error::HttpStatus;
use crate::http::agent::{AgentAuth, PageAgent};
use crate::http::csrf::{CsrfTextForm, CsrfToken};
use crate::layout::signed_out_layout;
use crate::views::{self, Layout, When};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use offboard_app::support::{self, ContactRequest};
use offboard_app::AppState;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Clone)]
pub(super) struct ContactView {
    id: String,
    account_id: String,
    topic: &'static str,
    message: String,
    created: When,
}

impl ContactView {
    fn of(r: ContactRequest) -> Self {
        ContactView {
            id: r.id,
            account_id: r.account_id.to_string(),
            topic: r.topic.label(),
            message: r.message,
            created: When::at(r.created_at),
        }
    }
}

/// A refused answer: the request it was for, why, and the text typed (kept).
#[derive(Debug, Clone)]
pub(super) struct AnswerError {
    id: String,
    message: String,
    draft: String,
}

#[derive(Template)]
#[template(path = "console_contact.html")]
pub(super) struct ContactQueuePage {
    layout: Layout,
    agent: AgentView,
    section: &'static str,
    requests: Vec<ContactView>,
    notice: Option<&'static str>,
    error: Option<AnswerError>,
}

impl ContactQueuePage {
    /// The answer form of this request was refused.
    fn failed(&self, id: &str) -> bool {
        self.error.as_ref().is_some_and(|e| e.id == id)
    }

    /// What the agent typed into this request's answer, if it was refused.
    fn draft(&self, id: &str) -> &str {
        match &self.error {
            Some(e) if e.id == id => &e.draft,
            _ => "",
        }
    }
}

fn contact_notice(key: &str) -> Option<&'static str> {
    match key {
        "answered" => Some(
            "Answer sent. It is on its way to the account's email, and the request left the queue.",
        ),
        _ => None,
    }
}

async fn render_queue(
    state: &AppState,
    agent: &AgentAuth,
    csrf: &CsrfToken,
    notice: Option<&str>,
    error: Option<AnswerError>,
    status: StatusCode,
) -> Response {
    let page_layout = signed_out_layout(state, csrf);
    let requests = match support::open_contact_requests(state).await {
        Ok(requests) => requests,
        Err(err) => return views::error_page(&err, Some(page_layout)),
    };
    views::render_with_status(
        status,
        &ContactQueuePage {
            layout: page_layout,
            agent: AgentView::of(agent),
            section: "contact",
            requests: requests.into_iter().map(ContactView::of).collect(),
            notice: notice.and_then(contact_notice),
            error,
        },
    )
}

#[utoipa::path(get, path = "/support/contact-requests", tag = "console", operation_id = "console_contact_requests", security(("agent_cookie" = [])), params(ConsoleNoticeQuery),
    responses((status = 200, description = "open contact requests, oldest first, each with an answer form", content_type = "text/html")))]
pub async fn contact_queue_page(
    State(state): State<AppState>,
    PageAgent(agent): PageAgent,
    csrf: CsrfToken,
    Query(q): Query<ConsoleNoticeQuery>,
) -> Response {
    render_queue(
        &state,
        &agent,
        &csrf,
        q.notice.as_deref(),
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize, ToSchema)]
pub struct AnswerForm {
    /// Emailed to the account holder (1 to 2000 characters).
    #[serde(default)]
    pub answer: String,
}

#[utoipa::path(post, path = "/support/contact-requests/{id}/answer", tag = "console", operation_id = "console_contact_answer_submit", security(("agent_cookie" = [])),
    params(("id" = String, Path, description = "The contact request's id")),
    request_body(content = AnswerForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "answered and emailed; to the queue"),
        (status = 404, description = "the queue again: no such request", content_type = "text/html"),
        (status = 409, description = "the queue again: already answered", content_type = "text/html"),
        (status = 422, description = "the queue again with the answer marked: empty, too long or holding a control character", content_type = "text/html")))]
pub async fn answer_submit(
    State(state): State<AppState>,
    PageAgent(agent): PageAgent,
    csrf: CsrfToken,
    Path(id): Path<String>,
    CsrfTextForm(form): CsrfTextForm<AnswerForm>,
) -> Response {
    let result: Result<(), AppError> =
        support::answer_request(&state, &agent, &id, &form.answer).await;
    match result {
        Ok(()) => see_other("/support/contact-requests?notice=answered"),
        Err(err) if err.status().is_client_error() => {
            let error = AnswerError {
                id: id.clone(),
                message: err.message.clone(),
                draft: form
                    .answer
                    .chars()
                    .filter(|c| !c.is_control() || matches!(c, '\n' | '\t' | '\r'))
                    .collect(),
            };
            render_queue(&state, &agent, &csrf, None, Some(error), err.status()).await
        }
        Err(err) => views::error_page(&err, Some(signed_out_layout(&state, &csrf))),
    }
}
