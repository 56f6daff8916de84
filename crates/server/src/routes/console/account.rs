//! One account: its summary and audit log, unlocking the identity step and recording a
//! changed document.

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
use offboard_app::support::{self, AccountLookup, AuditScope, DocumentChangeInput};
use offboard_app::AppState;
use offboard_core::identity::DocumentType;
use serde::Deserialize;
use utoipa::ToSchema;

/// Renders an account's page, with a notice or a refused form. An id that names no
/// account gets a 404 page that says so.
pub(super) async fn render_account(
    state: &AppState,
    agent: &AgentAuth,
    csrf: &CsrfToken,
    account_id: &str,
    notice: Option<&str>,
    error: Option<FormError>,
    status: StatusCode,
) -> Response {
    let page_layout = signed_out_layout(state, csrf);
    let loaded = async {
        let lookup = AccountLookup::AccountId(account_id.to_owned());
        let Some(summary) = support::find_accounts(state, agent, &lookup)
            .await?
            .into_iter()
            .next()
        else {
            return Err(offboard_app::identity::no_such_account());
        };
        let identity = state.store.identity(summary.account_id).await?;
        let entries = support::audit_entries(
            state,
            agent,
            &AuditScope::Account(summary.account_id.to_string()),
        )
        .await?;
        Ok::<_, AppError>((summary, identity, entries))
    }
    .await;
    let (summary, identity, entries) = match loaded {
        Ok(loaded) => loaded,
        Err(err) => return views::error_page(&err, Some(page_layout)),
    };
    let current_type = identity.as_ref().map(|i| i.document_type);
    let page = AccountPage {
        layout: page_layout,
        agent: AgentView::of(agent),
        section: "search",
        account: SummaryView::of(&summary),
        has_identity: identity.is_some(),
        document_types: DocumentType::ALL
            .iter()
            .map(|t| DocumentTypeOption {
                value: t.as_str(),
                title: t.title(),
                selected: Some(*t) == current_type,
            })
            .collect(),
        country: identity
            .as_ref()
            .map(|i| i.country.as_str().to_owned())
            .unwrap_or_default(),
        entries: entries.into_iter().map(AuditView::of).collect(),
        notice: notice.and_then(notice_text),
        error,
    };
    views::render_with_status(status, &page)
}

/// After an action: to the account page with a notice, or the page again with the
/// refusal. Failures on our side get the plain error page.
pub(super) async fn after_account_action(
    state: &AppState,
    agent: &AgentAuth,
    csrf: &CsrfToken,
    account_id: &str,
    form: &str,
    result: Result<(), AppError>,
    notice: &str,
) -> Response {
    match result {
        Ok(()) => see_other(&account_url(account_id, notice)),
        Err(err) if err.status().is_client_error() => {
            let error = FormError::new(form, "", &err);
            render_account(
                state,
                agent,
                csrf,
                account_id,
                None,
                Some(error),
                err.status(),
            )
            .await
        }
        Err(err) => views::error_page(&err, Some(signed_out_layout(state, csrf))),
    }
}

#[utoipa::path(get, path = "/support/accounts/{account_id}", tag = "console", operation_id = "console_account", security(("agent_cookie" = [])),
    params(("account_id" = String, Path, description = "The account's id"), ConsoleNoticeQuery),
    responses((status = 200, description = "the account's summary, its audit log and the support forms", content_type = "text/html"),
        (status = 404, description = "no account with this id", content_type = "text/html")))]
pub async fn account_page(
    State(state): State<AppState>,
    PageAgent(agent): PageAgent,
    csrf: CsrfToken,
    Path(account_id): Path<String>,
    Query(q): Query<ConsoleNoticeQuery>,
) -> Response {
    render_account(
        &state,
        &agent,
        &csrf,
        &account_id,
        q.notice.as_deref(),
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize, ToSchema)]
pub struct ReasonForm {
    /// Why the agent takes this action (1 to 1000 characters); kept in the audit log.
    #[serde(default)]
    pub reason: String,
}

#[utoipa::path(post, path = "/support/accounts/{account_id}/identity-unlock", tag = "console", operation_id = "console_identity_unlock_submit", security(("agent_cookie" = [])),
    params(("account_id" = String, Path, description = "The account's id")),
    request_body(content = ReasonForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "unlocked; to the account page"),
        (status = 422, description = "the account page with what to fix (a reason is required)", content_type = "text/html"),
        (status = 404, description = "no account with this id", content_type = "text/html"),
        (status = 409, description = "the account is deleted", content_type = "text/html")))]
pub async fn unlock_submit(
    State(state): State<AppState>,
    PageAgent(agent): PageAgent,
    csrf: CsrfToken,
    Path(account_id): Path<String>,
    CsrfForm(form): CsrfForm<ReasonForm>,
) -> Response {
    let result = support::unlock_identity(&state, &agent, &account_id, &form.reason).await;
    after_account_action(
        &state,
        &agent,
        &csrf,
        &account_id,
        "unlock",
        result,
        "unlocked",
    )
    .await
}

#[derive(Deserialize, ToSchema)]
pub struct DocumentChangeForm {
    /// `id_card`, `passport` or `drivers_licence`.
    #[serde(default)]
    pub document_type: String,
    /// The new number as printed on the document. Stored encrypted, never shown.
    #[serde(default)]
    pub document_number: String,
    /// Two-letter code of the issuing country.
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub reason: String,
}

#[utoipa::path(post, path = "/support/accounts/{account_id}/document-change", tag = "console", operation_id = "console_document_change_submit", security(("agent_cookie" = [])),
    params(("account_id" = String, Path, description = "The account's id")),
    request_body(content = DocumentChangeForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "recorded; to the account page"),
        (status = 422, description = "the account page naming the field to fix", content_type = "text/html"),
        (status = 404, description = "no account with this id", content_type = "text/html"),
        (status = 409, description = "no identity on file, or the account is deleted", content_type = "text/html"),
        (status = 403, description = "the account page: the number belonged to a recently deleted account", content_type = "text/html")))]
pub async fn document_change_submit(
    State(state): State<AppState>,
    PageAgent(agent): PageAgent,
    csrf: CsrfToken,
    Path(account_id): Path<String>,
    CsrfForm(form): CsrfForm<DocumentChangeForm>,
) -> Response {
    let change = DocumentChangeInput {
        document_type: Some(&form.document_type),
        document_number: &form.document_number,
        country: Some(&form.country),
        reason: &form.reason,
    };
    let result = support::change_document(&state, &agent, &account_id, &change).await;
    after_account_action(
        &state,
        &agent,
        &csrf,
        &account_id,
        "document",
        result,
        "document_changed",
    )
    .await
}
