//! The support console (R11, R15): server-rendered pages for agents. Agents log in with
//! password + authenticator into a session cookie of their own, find accounts, work the
//! recovery queue, unlock the identity step, record a changed document number and read
//! the audit log. Every action calls the same function in [`offboard_app::support`] as the
//! Support API, so both refuse, audit and answer alike; the pages only translate forms
//! and render results. No page shows a secret, code, token or whole document number,
//! and no route here deletes an account (R1).

use crate::error::ApiError;
use crate::error::AppError;
use crate::error::HttpStatus;
use crate::http::agent::{AgentAuth, MaybePageAgent, PageAgent};
use crate::http::client::ClientAddr;
use crate::http::cookies;
use crate::http::csrf::{CsrfForm, CsrfToken, EmptyForm};
use crate::layout::layout;
use crate::views::{self, Layout};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::SameSite;
use offboard_app::support::{
    self, AccountLookup, AccountSummary, AuditItem, AuditScope, DocumentChangeInput, RecoveryItem,
};
use offboard_app::AppState;
use offboard_core::clock::rfc3339;
use offboard_core::identity::DocumentType;
use offboard_core::identity::IdentityStatus;
use offboard_core::AccountId;
use offboard_store::AccountStatus;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login_page, login_submit))
        .routes(routes!(logout_submit))
        .routes(routes!(search_page, document_search_submit))
        .routes(routes!(account_page))
        .routes(routes!(unlock_submit))
        .routes(routes!(document_change_submit))
        .routes(routes!(recovery_page))
        .routes(routes!(approve_submit))
        .routes(routes!(reject_submit))
        .routes(routes!(audit_page))
}

/// The one message for every failed console login (unknown agent, wrong password,
/// missing, wrong or reused code, disabled agent), so the page tells nothing apart.
const LOGIN_FAILED: &str = "Those sign-in details were not accepted. Check your email address and password, wait for a fresh code in your authenticator app, and try again.";

// ---------- Page models ----------

/// The signed-in agent, for the console's navigation.
#[derive(Debug, Clone)]
struct AgentView {
    email: String,
    role: &'static str,
    is_lead: bool,
}

impl AgentView {
    fn of(agent: &AgentAuth) -> Self {
        Self {
            email: agent.agent.email.clone(),
            role: agent.agent.role.as_str(),
            is_lead: agent.is_lead(),
        }
    }
}

/// An account summary as the console shows it: the API's fields, in words.
#[derive(Debug, Clone)]
struct SummaryView {
    account_id: String,
    status: String,
    active: bool,
    factors: Vec<&'static str>,
    identity_status: &'static str,
    open_deletion_step: Option<String>,
    identity_locked_until: Option<String>,
}

impl SummaryView {
    fn of(summary: &AccountSummary) -> Self {
        let mut factors = Vec::new();
        if let Some(bound) = summary.factors {
            factors.push("Email codes");
            if bound.sms {
                factors.push("SMS codes");
            }
            if bound.totp {
                factors.push("Authenticator app");
            }
        }
        Self {
            account_id: summary.account_id.to_string(),
            status: crate::wire::account_status_name(summary.status).to_owned(),
            active: summary.status == AccountStatus::Active,
            factors,
            identity_status: match summary.identity {
                Some(IdentityStatus::Pending) => "Pending review",
                Some(IdentityStatus::Approved) => "Approved",
                Some(IdentityStatus::Rejected) => "Rejected",
                None => "Not verified",
            },
            open_deletion_step: summary
                .open_deletion_step
                .map(|step| step.as_str().to_owned()),
            identity_locked_until: summary.identity_locked_until.map(rfc3339),
        }
    }
}

#[derive(Debug, Clone)]
struct AuditView {
    at: String,
    action: String,
    account_id: Option<String>,
    agent: Option<String>,
    reason: Option<String>,
}

impl AuditView {
    fn of(item: AuditItem) -> Self {
        Self {
            at: rfc3339(item.at),
            action: item.action,
            account_id: item.account_id,
            agent: item.agent,
            reason: item.reason,
        }
    }
}

/// A refused form, shown at the top of the page and tied to the field at fault.
#[derive(Debug, Clone, Default)]
struct FormError {
    /// Which form failed: `search`, `document_search`, `unlock`, `document`, or the
    /// recovery request's id.
    form: String,
    /// The field at fault (`reason`, `document_number`, ...), or empty.
    field: String,
    /// For the recovery queue: `approve` or `reject`.
    action: String,
    message: String,
    help: Option<String>,
}

impl FormError {
    fn new(form: &str, action: &str, err: &AppError) -> Self {
        Self {
            form: form.to_owned(),
            field: err
                .details
                .get("field")
                .and_then(|f| f.as_str())
                .unwrap_or("")
                .to_owned(),
            action: action.to_owned(),
            message: err.message.clone(),
            help: err.help.map(str::to_owned),
        }
    }

    fn is(&self, form: &str, field: &str) -> bool {
        self.form == form && self.field == field
    }

    fn is_action(&self, form: &str, action: &str) -> bool {
        self.form == form && self.action == action
    }
}

#[derive(Template)]
#[template(path = "console_login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    error: Option<String>,
    notice: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "console_search.html")]
struct SearchPage {
    layout: Layout,
    agent: AgentView,
    section: &'static str,
    email: String,
    phone: String,
    account_id: String,
    /// A search by email, phone or id ran (results may be empty).
    searched: bool,
    results: Vec<SummaryView>,
    /// A document-number search ran: the accounts it matches (empty = no match).
    document_matches: Option<Vec<String>>,
    error: Option<FormError>,
}

impl SearchPage {
    /// The template marks this field invalid and points it at the error.
    fn invalid(&self, form: &str, field: &str) -> bool {
        self.error.as_ref().is_some_and(|e| e.is(form, field))
    }
}

#[derive(Debug, Clone)]
struct DocumentTypeOption {
    value: &'static str,
    title: &'static str,
    selected: bool,
}

#[derive(Template)]
#[template(path = "console_account.html")]
struct AccountPage {
    layout: Layout,
    agent: AgentView,
    section: &'static str,
    account: SummaryView,
    /// An identity is on file, so a changed document can be recorded.
    has_identity: bool,
    document_types: Vec<DocumentTypeOption>,
    country: String,
    entries: Vec<AuditView>,
    notice: Option<&'static str>,
    error: Option<FormError>,
}

impl AccountPage {
    /// The template marks this field invalid and points it at the error.
    fn invalid(&self, form: &str, field: &str) -> bool {
        self.error.as_ref().is_some_and(|e| e.is(form, field))
    }
}

#[derive(Debug, Clone)]
struct RecoveryView {
    id: String,
    account_id: Option<String>,
    email: String,
    message: String,
    check_label: &'static str,
    check_class: &'static str,
    created_at: String,
}

impl RecoveryView {
    fn of(item: RecoveryItem) -> Self {
        let (check_label, check_class) = match item.id_number_check.as_str() {
            "match" => (
                "The ID number given matches the account's document",
                "badge badge-accent",
            ),
            "mismatch" => (
                "The ID number given does not match the account's document",
                "badge badge-danger",
            ),
            _ => ("No ID number was given", "badge"),
        };
        Self {
            id: item.id,
            account_id: item.account_id.map(|a| a.to_string()),
            email: item.email,
            message: item.message,
            check_label,
            check_class,
            created_at: rfc3339(item.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "console_recovery.html")]
struct RecoveryPage {
    layout: Layout,
    agent: AgentView,
    section: &'static str,
    requests: Vec<RecoveryView>,
    notice: Option<&'static str>,
    error: Option<FormError>,
}

impl RecoveryPage {
    /// The reason field of this request's approve or reject form was refused.
    fn failed(&self, id: &str, action: &str) -> bool {
        self.error.as_ref().is_some_and(|e| e.is_action(id, action))
    }
}

#[derive(Template)]
#[template(path = "console_audit.html")]
struct AuditPage {
    layout: Layout,
    agent: AgentView,
    section: &'static str,
    /// The agent whose actions are listed.
    subject: String,
    entries: Vec<AuditView>,
    error: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ConsoleNoticeQuery {
    /// One of a fixed set of keys; never echoed as text.
    pub notice: Option<String>,
}

fn notice_text(key: &str) -> Option<&'static str> {
    Some(match key {
        "logged_out" => "You are logged out of the support console.",
        "unlocked" => "The identity step is unlocked. The owner can enter their ID number again.",
        "document_changed" => "The new document number is recorded. The earlier number keeps working for the identity step.",
        "approved" => "Recovery approved. The account's authenticator and phone were removed, its sessions ended and a password-reset code went to its email. The owner can delete the account only after a 24-hour wait.",
        "rejected" => "Recovery rejected. Your reason was emailed to the requester.",
        _ => return None,
    })
}

/// A form field as typed; a blank field counts as not given (a browser sends them all).
fn given(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Where a successful action on an account returns. The id is re-formatted from its
/// parsed form, so nothing the client typed reaches the Location header.
fn account_url(account_id: &str, notice: &str) -> String {
    match account_id.trim().parse::<AccountId>() {
        Ok(id) => format!("/support/accounts/{id}?notice={notice}"),
        Err(_) => "/support".to_owned(),
    }
}

// ---------- Login and logout ----------

#[utoipa::path(get, path = "/support/login", tag = "console", operation_id = "console_login", security((), ("agent_cookie" = [])), params(ConsoleNoticeQuery),
    responses((status = 200, description = "the support console's login form", content_type = "text/html"),
        (status = 303, description = "already signed in as an agent: to the console")))]
pub async fn login_page(
    State(state): State<AppState>,
    MaybePageAgent(agent): MaybePageAgent,
    csrf: CsrfToken,
    Query(q): Query<ConsoleNoticeQuery>,
) -> Response {
    if agent.is_some() {
        return see_other("/support");
    }
    views::render(&LoginPage {
        layout: layout(&state, None, &csrf),
        email: String::new(),
        error: None,
        notice: q.notice.as_deref().and_then(notice_text),
    })
}

#[derive(Deserialize, ToSchema)]
pub struct ConsoleLoginForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
    /// The 6-digit code of the agent's authenticator app.
    #[serde(default)]
    pub totp_code: String,
}

#[utoipa::path(post, path = "/support/login", tag = "console", operation_id = "console_login_submit",
    request_body(content = ConsoleLoginForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "signed in: the agent session cookie is set; to the console"),
        (status = 401, description = "the form again with one message for every failure (throttling adds `Retry-After`)", content_type = "text/html",
            headers(("Retry-After" = u64, description = "seconds to wait, when throttled")))))]
pub async fn login_submit(
    State(state): State<AppState>,
    csrf: CsrfToken,
    ClientAddr(addr): ClientAddr,
    CsrfForm(form): CsrfForm<ConsoleLoginForm>,
) -> Response {
    match support::login(&state, &form.email, &form.password, &form.totp_code, &addr).await {
        Ok(token) => {
            let secure = !state.config.is_dev();
            // Strict: the console is never entered from a link on another site, so
            // the agent cookie need not travel on any cross-site request at all.
            let cookie = cookies::build(
                cookies::agent_session_cookie_name(secure),
                token,
                secure,
                SameSite::Strict,
            );
            let mut response = see_other("/support");
            if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        Err(err) if err.status().is_client_error() => {
            let mut message = LOGIN_FAILED.to_owned();
            if let Some(secs) = err.retry_after {
                message.push_str(&format!(
                    " Too many attempts: wait {secs} seconds before the next one."
                ));
            }
            let page = LoginPage {
                layout: layout(&state, None, &csrf),
                email: form.email.trim().to_owned(),
                error: Some(message),
                notice: None,
            };
            let mut response = views::render_with_status(StatusCode::UNAUTHORIZED, &page);
            if let Some(secs) = err.retry_after {
                if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            response
        }
        Err(err) => views::error_page(&err, Some(layout(&state, None, &csrf))),
    }
}

#[utoipa::path(post, path = "/support/logout", tag = "console", operation_id = "console_logout_submit", security((), ("agent_cookie" = [])),
    request_body(content = EmptyForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "the agent session ended; to the console's login page")))]
pub async fn logout_submit(
    State(state): State<AppState>,
    MaybePageAgent(agent): MaybePageAgent,
    CsrfForm(_form): CsrfForm<EmptyForm>,
) -> Response {
    if let Some(agent) = agent {
        if let Err(err) = support::logout(&state, &agent).await {
            return views::error_page(&err, None);
        }
    }
    let secure = !state.config.is_dev();
    let removal = cookies::removal(cookies::agent_session_cookie_name(secure), secure);
    let mut response = see_other("/support/login?notice=logged_out");
    if let Ok(value) = HeaderValue::from_str(&removal.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

// ---------- Search ----------

#[derive(Debug, Deserialize, IntoParams)]
pub struct ConsoleSearchQuery {
    /// The account's email address.
    pub email: Option<String>,
    /// The account's phone, international format.
    pub phone: Option<String>,
    pub account_id: Option<String>,
}

struct SearchForm {
    email: String,
    phone: String,
    account_id: String,
}

fn search_page_model(
    state: &AppState,
    agent: &AgentAuth,
    csrf: &CsrfToken,
    form: SearchForm,
) -> SearchPage {
    SearchPage {
        layout: layout(state, None, csrf),
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

fn render_search_error(page: SearchPage, err: &AppError) -> Response {
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

// ---------- One account ----------

/// Renders an account's page, with a notice or a refused form. An id that names no
/// account gets a 404 page that says so.
async fn render_account(
    state: &AppState,
    agent: &AgentAuth,
    csrf: &CsrfToken,
    account_id: &str,
    notice: Option<&str>,
    error: Option<FormError>,
    status: StatusCode,
) -> Response {
    let page_layout = layout(state, None, csrf);
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
        let entries =
            support::audit_entries(state, &AuditScope::Account(summary.account_id.to_string()))
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
async fn after_account_action(
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
        Err(err) => views::error_page(&err, Some(layout(state, None, csrf))),
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

// ---------- Recovery queue ----------

async fn render_recovery(
    state: &AppState,
    agent: &AgentAuth,
    csrf: &CsrfToken,
    notice: Option<&str>,
    error: Option<FormError>,
    status: StatusCode,
) -> Response {
    let page_layout = layout(state, None, csrf);
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

async fn after_recovery_action(
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
        Err(err) => views::error_page(&err, Some(layout(state, None, csrf))),
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

// ---------- Audit per agent ----------

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
    let page_layout = layout(&state, None, &csrf);
    let (entries, error, status) =
        match support::audit_entries(&state, &AuditScope::Agent(subject.clone())).await {
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
