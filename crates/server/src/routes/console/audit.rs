//! What one agent did, from the audit log.

use super::models::*;
use crate::error::HttpStatus;
use crate::http::agent::PageAgent;
use crate::http::csrf::CsrfToken;
use crate::layout::signed_out_layout;
use crate::views::{self};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use offboard_app::support::{self, AuditScope};
use offboard_app::AppState;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
pub struct ConsoleAuditQuery {
    /// The agent (email) whose actions to list; the signed-in agent when left out.
    pub agent: Option<String>,
}

#[utoipa::path(get, path = "/support/audit", tag = "console", operation_id = "console_audit", security(("agent_cookie" = [])), params(ConsoleAuditQuery),
    responses((status = 200, description = "everything one agent did, oldest first", content_type = "text/html"),
        (status = 404, description = "the page again: no agent with this email", content_type = "text/html")))]
pub async fn audit_page(
    State(state): State<AppState>,
    PageAgent(agent): PageAgent,
    csrf: CsrfToken,
    Query(q): Query<ConsoleAuditQuery>,
) -> Response {
    let subject = given(q.agent)
        .map(|e| e.trim().to_lowercase())
        .unwrap_or_else(|| agent.agent.email.clone());
    let page_layout = signed_out_layout(&state, &csrf);
    let (entries, error, status) =
        match support::audit_entries(&state, &agent, &AuditScope::Agent(subject.clone())).await {
            Ok(entries) => (entries, None, StatusCode::OK),
            Err(err) if err.status().is_client_error() => {
                (Vec::new(), Some(err.message.clone()), err.status())
            }
            Err(err) => return views::error_page(&err, Some(page_layout)),
        };
    views::render_with_status(
        status,
        &AuditPage {
            layout: page_layout,
            agent: AgentView::of(&agent),
            section: "audit",
            subject,
            entries: entries.into_iter().map(AuditView::of).collect(),
            error,
        },
    )
}
