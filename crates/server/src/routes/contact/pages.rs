//! The contact form (`/support/contact`) and the person's requests below it.

use crate::error::AppError;
use crate::error::HttpStatus;
use crate::http::csrf::{CsrfTextForm, CsrfToken};
use crate::http::session::{Authenticated, PageUser};
use crate::layout::layout;
use crate::views::{self, FieldErrors, Layout, When};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use offboard_app::support::{self, ContactRequest};
use offboard_app::AppState;
use offboard_core::support::{SupportRequestStatus, SupportTopic, MAX_OPEN_SUPPORT_REQUESTS};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Clone)]
pub struct TopicOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

#[derive(Debug, Clone)]
pub struct RequestView {
    pub topic: &'static str,
    pub message: String,
    pub status: &'static str,
    pub answered: bool,
    pub created: When,
    pub answered_at: Option<When>,
    pub answer: Option<String>,
}

impl RequestView {
    fn of(r: ContactRequest) -> Self {
        RequestView {
            topic: r.topic.label(),
            message: r.message,
            status: r.status.label(),
            answered: r.status == SupportRequestStatus::Answered,
            created: When::at(r.created_at),
            answered_at: r.answered_at.map(When::at),
            answer: r.answer,
        }
    }
}

#[derive(Template)]
#[template(path = "contact.html")]
pub struct ContactPage {
    pub layout: Layout,
    pub topics: Vec<TopicOption>,
    pub message: String,
    pub notice: Option<&'static str>,
    pub error: Option<String>,
    pub field_errors: FieldErrors,
    pub requests: Vec<RequestView>,
    /// Three requests wait already: the form says so before anyone types.
    pub at_limit: bool,
    pub limit: u32,
}

impl ContactPage {
    /// A topic is chosen (from the link or the form sent), so the placeholder is not.
    fn any_selected(&self) -> bool {
        self.topics.iter().any(|t| t.selected)
    }
}

/// `GET /support/contact`: the topic to preselect (the help pages link with it) and a
/// notice after a request was sent.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ContactQuery {
    /// `document_changed`, `identity_locked` or `other`; anything else selects nothing.
    pub topic: Option<String>,
    /// One of the page's fixed keys; never echoed as text.
    pub notice: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ContactForm {
    #[serde(default)]
    #[schema(example = "document_changed")]
    pub topic: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub message: String,
}

fn notice_text(key: &str) -> Option<&'static str> {
    match key {
        "sent" => Some("Your request is with our support team. We answer by email, and the answer shows here too."),
        _ => None,
    }
}

/// The text typed back into the form: as sent, less the control characters that cannot
/// be sent (they are invisible; the error says they were taken out).
fn typed_back(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t' | '\r'))
        .collect()
}

async fn render(
    state: &AppState,
    user: &Authenticated,
    csrf: &CsrfToken,
    topic: Option<SupportTopic>,
    message: String,
    notice: Option<&'static str>,
    error: Option<&AppError>,
) -> Response {
    let page_layout = layout(state, Some(user), csrf).await;
    let requests = match support::my_requests(state, user).await {
        Ok(requests) => requests,
        Err(err) => return views::error_page(&err, Some(page_layout)),
    };
    let open = requests
        .iter()
        .filter(|r| r.status == SupportRequestStatus::Open)
        .count();
    let status = error.map(|e| e.status()).unwrap_or(StatusCode::OK);
    let page = ContactPage {
        layout: page_layout,
        topics: SupportTopic::ALL
            .into_iter()
            .map(|t| TopicOption {
                value: t.as_str(),
                label: t.label(),
                selected: Some(t) == topic,
            })
            .collect(),
        message,
        notice,
        error: error.map(|e| e.message.clone()),
        field_errors: FieldErrors::of(error),
        requests: requests.into_iter().map(RequestView::of).collect(),
        at_limit: open >= MAX_OPEN_SUPPORT_REQUESTS as usize,
        limit: MAX_OPEN_SUPPORT_REQUESTS,
    };
    views::render_with_status(status, &page)
}

#[utoipa::path(get, path = "/support/contact", tag = "pages", operation_id = "page_contact", params(ContactQuery), security(("session_cookie" = [])),
    responses((status = 200, description = "the contact form with the topic chosen, and your requests", content_type = "text/html"),
        (status = 303, description = "not signed in: to the login page")))]
pub async fn contact_page(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    Query(q): Query<ContactQuery>,
) -> Response {
    let topic = q.topic.as_deref().and_then(SupportTopic::parse);
    let notice = q.notice.as_deref().and_then(notice_text);
    render(&state, &user, &csrf, topic, String::new(), notice, None).await
}

#[utoipa::path(post, path = "/support/contact", tag = "pages", operation_id = "page_contact_submit", security(("session_cookie" = [])),
    request_body(content = ContactForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "sent; to your requests with a notice"),
        (status = 409, description = "the form again: 3 requests already wait for support", content_type = "text/html"),
        (status = 422, description = "the form again with the field marked: no topic, or a message that is empty, too long or holds a control character", content_type = "text/html")))]
pub async fn contact_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    CsrfTextForm(form): CsrfTextForm<ContactForm>,
) -> Response {
    match support::open_request(&state, &user, &form.topic, &form.message).await {
        Ok(_) => Redirect::to("/support/contact?notice=sent#your-requests").into_response(),
        Err(err) if err.status().is_client_error() => {
            let topic = SupportTopic::parse(form.topic.trim());
            let message = typed_back(&form.message);
            render(&state, &user, &csrf, topic, message, None, Some(&err)).await
        }
        Err(err) => views::error_page(&err, Some(layout(&state, Some(&user), &csrf).await)),
    }
}
