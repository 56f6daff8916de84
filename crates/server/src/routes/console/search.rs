//! Finding accounts by email, phone, id or document number (blind index only).

use super::models::*;
use crate::error::ApiError;
use crate::error::AppError;
use crate::error::HttpStatus;
use crate::http::agent::{AgentAuth, PageAgent};
use crate::http::csrf::{CsrfForm, CsrfToken};
use crate::layout::signed_out_layout;
use crate::views::{self};
use axum::extract::{Query, State};
use axum::response::Response;
use offboard_app::support::{self, AccountLookup};
use offboard_app::AppState;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
pub struct ConsoleSearchQuery {
    /// The account's email address.
    pub email: Option<String>,
    /// The account's phone, international format.
    pub phone: Option<String>,
    pub account_id: Option<String>,
}

pub(super) struct SearchForm {
    pub(super) email: String,
    pub(super) phone: String,
    pub(super) account_id: String,
}

pub(super) fn search_page_model(
    state: &AppState,
    agent: &AgentAuth,
    csrf: &CsrfToken,
    form: SearchForm,
) -> SearchPage {
    SearchPage {
        layout: signed_out_layout(state, csrf),
        agent: AgentView::of(agent),
        section: "search",
        email: form.email,
        phone: form.phone,
        account_id: form.account_id,
        searched: false,
        results: Vec::new(),
        document_matches: None,
        error: None,
    }
}

pub(super) fn render_search_error(page: SearchPage, err: &AppError) -> Response {
    if err.status().is_server_error() {
        return views::error_page(err, Some(page.layout));
    }
    let status = err.status();
    let page = SearchPage {
        error: Some(FormError::new(
            if err.details.get("field").and_then(|f| f.as_str()) == Some("document_number") {
                "document_search"
            } else {
                "search"
            },
            "",
            err,
        )),
        ..page
    };
    views::render_with_status(status, &page)
}

/// Find an account by email, phone or id (a document number is searched with the POST
/// form below, so the number never appears in a URL, a log line or the history).
#[utoipa::path(get, path = "/support", tag = "console", operation_id = "console_search", security(("agent_cookie" = [])), params(ConsoleSearchQuery),
    responses((status = 200, description = "the search form and its results", content_type = "text/html"),
        (status = 422, description = "the form again with what to fix", content_type = "text/html")))]
pub async fn search_page(
    State(state): State<AppState>,
    PageAgent(agent): PageAgent,
    csrf: CsrfToken,
    Query(q): Query<ConsoleSearchQuery>,
) -> Response {
    let (email, phone, account_id) = (given(q.email), given(q.phone), given(q.account_id));
    let page = search_page_model(
        &state,
        &agent,
        &csrf,
        SearchForm {
            email: email.clone().unwrap_or_default().trim().to_owned(),
            phone: phone.clone().unwrap_or_default().trim().to_owned(),
            account_id: account_id.clone().unwrap_or_default().trim().to_owned(),
        },
    );
    let count = [&email, &phone, &account_id]
        .iter()
        .filter(|v| v.is_some())
        .count();
    if count == 0 {
        return views::render(&page);
    }
    if count > 1 {
        let err = ApiError::validation(
            "query",
            "fill in only one of email, phone or account ID, then search again",
        );
        return render_search_error(page, &err);
    }
    let found = async {
        let lookup = AccountLookup::exactly_one(email, phone, account_id, None)?;
        support::find_accounts(&state, &agent, &lookup).await
    }
    .await;
    match found {
        Ok(found) => views::render(&SearchPage {
            searched: true,
            results: found.iter().map(SummaryView::of).collect(),
            ..page
        }),
        Err(err) => render_search_error(page, &err),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct DocumentSearchForm {
    /// Any spacing or case; compared by blind index and never shown back.
    #[serde(default)]
    pub document_number: String,
}

/// Searches by document number (blind index). The page answers only "matches account X"
/// or "no match"; the number is not repeated anywhere on it.
#[utoipa::path(post, path = "/support", tag = "console", operation_id = "console_document_search_submit", security(("agent_cookie" = [])),
    request_body(content = DocumentSearchForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "the accounts the number matches, or no match", content_type = "text/html"),
        (status = 422, description = "the form again with what to fix", content_type = "text/html")))]
pub async fn document_search_submit(
    State(state): State<AppState>,
    PageAgent(agent): PageAgent,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<DocumentSearchForm>,
) -> Response {
    let page = search_page_model(
        &state,
        &agent,
        &csrf,
        SearchForm {
            email: String::new(),
            phone: String::new(),
            account_id: String::new(),
        },
    );
    let lookup = AccountLookup::DocumentNumber(form.document_number);
    match support::find_accounts(&state, &agent, &lookup).await {
        Ok(found) => views::render(&SearchPage {
            document_matches: Some(
                found
                    .into_iter()
                    .map(|s| s.account_id.to_string())
                    .collect(),
            ),
            ..page
        }),
        Err(err) => render_search_error(page, &err),
    }
}
