//! The Support API (API.md, R11): agents log in with a password and an authenticator,
//! find accounts, run assisted recovery, unlock the identity step and record a changed
//! document number. Every action needs a reason and is audited as `agent:<id>`. No
//! route here deletes an account, and no answer carries a secret, a code, a token of
//! someone else or a whole document number. The handlers only translate HTTP: the
//! actions themselves live in [`offboard_app::support`], shared with the console pages.

use crate::error::ApiError;
use crate::error::{ApiResult, ErrorBody};
use crate::http::agent::ApiAgent;
use crate::http::json::ApiJson;
use crate::wire::{AccountSummary, AuditItem, RecoveryItem};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use offboard_app::support::{self, AccountLookup, AuditScope, DocumentChangeInput};
use offboard_app::AppState;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(search_accounts))
        .routes(routes!(open_recovery))
        .routes(routes!(approve_recovery))
        .routes(routes!(reject_recovery))
        .routes(routes!(identity_unlock))
        .routes(routes!(document_change))
        .routes(routes!(audit_log))
}

#[derive(Deserialize, ToSchema)]
pub struct AgentLogin {
    #[schema(format = Email)]
    pub email: String,
    #[schema(format = Password)]
    pub password: String,
    /// The 6-digit code of the agent's authenticator; each code is accepted once.
    #[schema(pattern = r"^\s*([0-9]\s*){6}$", example = "123456")]
    pub totp_code: String,
}

impl std::fmt::Debug for AgentLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AgentLogin(***)")
    }
}

#[derive(Serialize, ToSchema)]
pub struct AgentToken {
    /// Bearer token for the Support API: 30 minutes idle, 8 hours at most.
    pub token: String,
}

/// Logs an agent in. Every failure (unknown agent, wrong password, missing, wrong or
/// replayed code, disabled agent) answers the same 401.
#[utoipa::path(post, path = "/api/v1/support/login", tag = "support", operation_id = "support_login", request_body = AgentLogin,
    responses((status = 200, body = AgentToken),
        (status = 503, description = "`unavailable` with `Retry-After`: more passwords are offered than the server hashes; nothing was done, send it again", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds to wait before sending it again"))),
        (status = 401, description = "`unauthorized`, the same for every failure (throttling adds `Retry-After`)", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds to wait, when throttled")))))]
pub async fn login(
    State(state): State<AppState>,
    crate::http::client::ClientAddr(addr): crate::http::client::ClientAddr,
    ApiJson(req): ApiJson<AgentLogin>,
) -> ApiResult<Json<AgentToken>> {
    let token = support::login(&state, &req.email, &req.password, &req.totp_code, &addr).await?;
    Ok(Json(AgentToken { token }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountQuery {
    /// The account's email address.
    #[param(format = Email)]
    pub email: Option<String>,
    /// The account's phone in E.164.
    pub phone: Option<String>,
    /// The account's id (anything else finds nothing).
    #[param(format = "uuid")]
    pub account_id: Option<String>,
    /// A document number (any spacing or case), looked up by blind index: the answer is
    /// the accounts verified with it (empty = no match); the number is never shown back.
    pub document_number: Option<String>,
}

/// Finds an account by exactly one of `email`, `phone`, `account_id` or
/// `document_number` (blind index: match / no match). Answers a list (empty when nothing
/// matches) without any secret or document number.
#[utoipa::path(get, path = "/api/v1/support/accounts", tag = "support", operation_id = "support_accounts_search", params(AccountQuery),
    security(("agent_token" = [])),
    responses((status = 200, description = "the matching accounts (empty when nothing matches)", body = [AccountSummary]), (status = 401, body = ErrorBody),
        (status = 422, description = "`validation_error`: give exactly one of email, phone, account_id or document_number, in a valid form", body = ErrorBody)))]
pub async fn search_accounts(
    State(state): State<AppState>,
    ApiAgent(agent): ApiAgent,
    Query(q): Query<AccountQuery>,
) -> ApiResult<Json<Vec<AccountSummary>>> {
    let lookup = AccountLookup::exactly_one(q.email, q.phone, q.account_id, q.document_number)?;
    let found = support::find_accounts(&state, &agent, &lookup).await?;
    Ok(Json(found.iter().map(AccountSummary::from).collect()))
}

/// Open recovery requests, oldest first.
#[utoipa::path(get, path = "/api/v1/support/recovery", tag = "support", operation_id = "support_recovery_list",
    security(("agent_token" = [])),
    responses((status = 200, body = [RecoveryItem]), (status = 401, body = ErrorBody)))]
pub async fn open_recovery(
    State(state): State<AppState>,
    _agent: ApiAgent,
) -> ApiResult<Json<Vec<RecoveryItem>>> {
    let open = support::open_recovery(&state).await?;
    Ok(Json(open.into_iter().map(RecoveryItem::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReasonRequest {
    /// Why the agent takes this action (1 to 1000 characters); kept in the audit log.
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

/// Approves a recovery request: the authenticator and phone are removed, every session
/// ends, a password-reset code goes to the account's email and deletion waits 24 hours.
/// The owner then logs in and acts alone. For an account holding assets a `lead` is
/// needed.
#[utoipa::path(post, path = "/api/v1/support/recovery/{id}/approve", tag = "support", operation_id = "support_recovery_approve",
    security(("agent_token" = [])),
    params(("id" = String, Path, format = "uuid", description = "The recovery request's id")),
    request_body = ReasonRequest,
    responses((status = 204, description = "approved"), (status = 401, body = ErrorBody),
        (status = 403, description = "`forbidden`: the account holds assets and needs a lead", body = ErrorBody),
        (status = 404, description = "`not_found`: no recovery request with this id", body = ErrorBody),
        (status = 409, description = "`conflict`: already decided, or no active account behind the request", body = ErrorBody),
        (status = 422, description = "`validation_error`: a reason is required", body = ErrorBody),
        (status = 503, description = "`asset_source_unavailable`: the account's assets could not be checked", body = ErrorBody)))]
pub async fn approve_recovery(
    State(state): State<AppState>,
    ApiAgent(agent): ApiAgent,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ReasonRequest>,
) -> ApiResult<StatusCode> {
    support::approve_recovery(&state, &agent, &id, &req.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rejects a recovery request; the requester is told by email, with the reason.
#[utoipa::path(post, path = "/api/v1/support/recovery/{id}/reject", tag = "support", operation_id = "support_recovery_reject",
    security(("agent_token" = [])),
    params(("id" = String, Path, format = "uuid", description = "The recovery request's id")),
    request_body = ReasonRequest,
    responses((status = 204, description = "rejected"), (status = 401, body = ErrorBody),
        (status = 404, description = "`not_found`: no recovery request with this id", body = ErrorBody), (status = 409, description = "`conflict`: already decided", body = ErrorBody),
        (status = 422, description = "`validation_error`: a reason is required", body = ErrorBody)))]
pub async fn reject_recovery(
    State(state): State<AppState>,
    ApiAgent(agent): ApiAgent,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ReasonRequest>,
) -> ApiResult<StatusCode> {
    support::reject_recovery(&state, &agent, &id, &req.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unlocks the identity step after too many wrong answers (R6): the failures are
/// forgotten.
#[utoipa::path(post, path = "/api/v1/support/accounts/{account_id}/identity-unlock", tag = "support", operation_id = "support_identity_unlock",
    security(("agent_token" = [])),
    params(("account_id" = String, Path, format = "uuid", description = "The account's id")),
    request_body = ReasonRequest,
    responses((status = 204, description = "unlocked"), (status = 401, body = ErrorBody),
        (status = 404, description = "`not_found`: no account with this id", body = ErrorBody), (status = 409, description = "`account_deleted`", body = ErrorBody),
        (status = 422, description = "`validation_error`: a reason is required", body = ErrorBody)))]
pub async fn identity_unlock(
    State(state): State<AppState>,
    ApiAgent(agent): ApiAgent,
    Path(account_id): Path<String>,
    ApiJson(req): ApiJson<ReasonRequest>,
) -> ApiResult<StatusCode> {
    support::unlock_identity(&state, &agent, &account_id, &req.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct DocumentChange {
    /// The new number as printed on the document. Stored encrypted, never returned.
    #[schema(example = "AB 123456")]
    pub document_number: String,
    /// Why (e.g. "passport renewed, checked on video call"); kept in the audit log.
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

impl std::fmt::Debug for DocumentChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DocumentChange(***)")
    }
}

/// Records a changed document number for a verified account. The new number is
/// approved; the earlier approved numbers stay valid for the identity check.
#[utoipa::path(post, path = "/api/v1/support/accounts/{account_id}/document-change", tag = "support", operation_id = "support_document_change",
    security(("agent_token" = [])),
    params(("account_id" = String, Path, format = "uuid", description = "The account's id")),
    request_body = DocumentChange,
    responses((status = 204, description = "recorded"), (status = 401, body = ErrorBody),
        (status = 403, description = "`reregistration_blocked` with `allowed_from`: the number belonged to a recently deleted account", body = ErrorBody),
        (status = 404, description = "`not_found`: no account with this id", body = ErrorBody),
        (status = 409, description = "`conflict`: no identity on file; `account_deleted`", body = ErrorBody),
        (status = 422, description = "`validation_error` naming the field", body = ErrorBody)))]
pub async fn document_change(
    State(state): State<AppState>,
    ApiAgent(agent): ApiAgent,
    Path(account_id): Path<String>,
    ApiJson(req): ApiJson<DocumentChange>,
) -> ApiResult<StatusCode> {
    let change = DocumentChangeInput {
        document_type: None,
        document_number: &req.document_number,
        country: None,
        reason: &req.reason,
    };
    support::change_document(&state, &agent, &account_id, &change).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Everything that happened to this account...
    #[param(format = "uuid")]
    pub account_id: Option<String>,
    /// ...or everything this agent (email) did.
    #[param(format = Email)]
    pub agent: Option<String>,
}

/// The account's audit log, oldest first. Support actions name the agent and reason.
#[utoipa::path(get, path = "/api/v1/support/audit", tag = "support", operation_id = "support_audit", params(AuditQuery),
    security(("agent_token" = [])),
    responses((status = 200, body = [AuditItem]), (status = 401, body = ErrorBody),
        (status = 404, description = "`not_found`: no such account or agent", body = ErrorBody),
        (status = 422, description = "`validation_error`: give exactly one of `account_id` or `agent`", body = ErrorBody)))]
pub async fn audit_log(
    State(state): State<AppState>,
    ApiAgent(agent): ApiAgent,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<Vec<AuditItem>>> {
    let scope = match (q.account_id, q.agent) {
        (Some(account), None) => AuditScope::Account(account),
        (None, Some(email)) => AuditScope::Agent(email),
        _ => {
            return Err(ApiError::validation(
                "query",
                "give exactly one of account_id or agent",
            ))
        }
    };
    let entries = support::audit_entries(&state, &agent, &scope).await?;
    Ok(Json(entries.into_iter().map(AuditItem::from).collect()))
}
