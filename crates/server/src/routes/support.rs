//! The Support API (API.md, R11): agents log in with a password and an authenticator,
//! find accounts, run assisted recovery, unlock the identity step and record a changed
//! document number. Every action needs a reason and is audited as `agent:<id>`. No
//! route here deletes an account, and no answer carries a secret, a code, a token of
//! someone else or a whole document number.

use crate::error::{ApiResult, AppError, ErrorBody};
use crate::factors;
use crate::http::json::ApiJson;
use crate::identity::{self, IdentitySubmission};
use crate::notify::Email;
use crate::state::AppState;
use crate::support::{self, parse_reason, reason_detail, reason_of, AgentAuth};
use crate::views;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use offboard_core::identity::{DocumentNumber, IdentityStatus};
use offboard_core::{AccountId, Channel, EmailAddress, PhoneNumber, Purpose};
use offboard_store::{AccountRow, AccountStatus};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
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
    pub email: String,
    pub password: String,
    /// The 6-digit code of the agent's authenticator; each code is accepted once.
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
#[utoipa::path(post, path = "/api/v1/support/login", tag = "support", request_body = AgentLogin,
    responses((status = 200, body = AgentToken), (status = 401, description = "`unauthorized`, the same for every failure", body = ErrorBody)))]
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
    pub email: Option<String>,
    /// The account's phone in E.164.
    pub phone: Option<String>,
    pub account_id: Option<String>,
    /// A document number (any spacing or case), looked up by blind index: the answer is
    /// the accounts verified with it (empty = no match); the number is never shown back.
    pub document_number: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IdentitySummary {
    /// `none`, `pending`, `approved` or `rejected`.
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountSummary {
    pub account_id: String,
    /// `active` or `deleted`.
    pub status: String,
    /// Bound factors: `email`, `sms`, `totp`.
    pub factors: Vec<String>,
    pub identity: IdentitySummary,
    /// The step of a deletion in progress, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_deletion_step: Option<String>,
    /// RFC 3339; present while the identity step is locked after wrong answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_locked_until: Option<String>,
}

async fn summary(state: &AppState, account: &AccountRow) -> ApiResult<AccountSummary> {
    let active = account.status == AccountStatus::Active;
    let factors = if active {
        factors::bound_factors(state, account).await?.names()
    } else {
        Vec::new()
    };
    let open_deletion_step = if active {
        state
            .store
            .live_flow(account.id)
            .await?
            .map(|f| f.step.as_str().to_owned())
    } else {
        None
    };
    let now = state.now();
    let (failures, last) = state.store.identity_failures(account.id, now).await?;
    let identity_locked_until =
        offboard_core::deletion::identity_locked_until(failures, last, now).map(views::rfc3339);
    Ok(AccountSummary {
        account_id: account.id.to_string(),
        status: match account.status {
            AccountStatus::Active => "active",
            AccountStatus::Deleted => "deleted",
        }
        .to_owned(),
        factors,
        identity: IdentitySummary {
            status: identity::status_str(state, account.id).await?.to_owned(),
        },
        open_deletion_step,
        identity_locked_until,
    })
}

/// Finds an account by exactly one of `email`, `phone`, `account_id` or
/// `document_number` (blind index: match / no match). Answers a list (empty when nothing
/// matches) without any secret or document number.
#[utoipa::path(get, path = "/api/v1/support/accounts", tag = "support", params(AccountQuery),
    responses((status = 200, body = [AccountSummary]), (status = 401, body = ErrorBody),
        (status = 422, description = "`validation_error`: give exactly one of email, phone, account_id", body = ErrorBody)))]
pub async fn search_accounts(
    State(state): State<AppState>,
    agent: AgentAuth,
    Query(q): Query<AccountQuery>,
) -> ApiResult<Json<Vec<AccountSummary>>> {
    let given = [&q.email, &q.phone, &q.account_id, &q.document_number]
        .iter()
        .filter(|v| v.is_some())
        .count();
    if given != 1 {
        return Err(AppError::validation(
            "query",
            "give exactly one of email, phone, account_id or document_number",
        ));
    }
    if let Some(number) = &q.document_number {
        let number = offboard_core::identity::DocumentNumber::parse(number)
            .map_err(|e| AppError::validation("document_number", e))?;
        let index = crate::identity::document_index(&state, &number);
        let mut out = Vec::new();
        for id in state.store.accounts_by_document_index(&index).await? {
            if let Some(account) = state.store.get_account(id).await? {
                support::audit(
                    &state,
                    Some(account.id),
                    &agent.actor(),
                    "support_document_search_match",
                    None,
                )
                .await;
                out.push(summary(&state, &account).await?);
            }
        }
        return Ok(Json(out));
    }
    let account = if let Some(email) = &q.email {
        let email = EmailAddress::parse(email).map_err(|e| AppError::validation("email", e))?;
        state.store.find_account_by_email(&email).await?
    } else if let Some(phone) = &q.phone {
        let phone = PhoneNumber::parse(phone).map_err(|e| AppError::validation("phone", e))?;
        match state.store.find_account_id_by_phone(phone.as_str()).await? {
            Some(id) => state.store.get_account(id).await?,
            None => None,
        }
    } else {
        match q.account_id.as_deref().map(str::parse::<AccountId>) {
            Some(Ok(id)) => state.store.get_account(id).await?,
            _ => None,
        }
    };
    let mut out = Vec::new();
    if let Some(account) = account {
        support::audit(
            &state,
            Some(account.id),
            &agent.actor(),
            "support_account_viewed",
            None,
        )
        .await;
        out.push(summary(&state, &account).await?);
    }
    Ok(Json(out))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryItem {
    pub id: String,
    /// The account behind the email, if there is one.
    pub account_id: Option<String>,
    pub email: String,
    pub message: String,
    /// `match`, `mismatch` or `not_given`: the typed ID number itself is never kept.
    pub id_number_check: String,
    /// RFC 3339.
    pub created_at: String,
}

/// Open recovery requests, oldest first.
#[utoipa::path(get, path = "/api/v1/support/recovery", tag = "support",
    responses((status = 200, body = [RecoveryItem]), (status = 401, body = ErrorBody)))]
pub async fn open_recovery(
    State(state): State<AppState>,
    _agent: AgentAuth,
) -> ApiResult<Json<Vec<RecoveryItem>>> {
    let rows = state.store.list_open_recovery().await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| RecoveryItem {
                id: r.id,
                account_id: r.account_id.map(|a| a.to_string()),
                email: r.email,
                message: r.message,
                id_number_check: r.id_number_check,
                created_at: views::rfc3339(r.created_at),
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReasonRequest {
    /// Why the agent takes this action (1 to 1000 characters); kept in the audit log.
    pub reason: String,
}

fn request_not_found() -> AppError {
    AppError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "There is no recovery request with this id.",
    )
}

fn request_decided() -> AppError {
    AppError::conflict("This recovery request was already decided; reload the open requests.")
}

/// Approves a recovery request: the authenticator and phone are removed, every session
/// ends, a password-reset code goes to the account's email and deletion waits 24 hours.
/// The owner then logs in and acts alone. For an account holding assets a `lead` is
/// needed.
#[utoipa::path(post, path = "/api/v1/support/recovery/{id}/approve", tag = "support",
    params(("id" = String, Path, description = "The recovery request's id")),
    request_body = ReasonRequest,
    responses((status = 204, description = "approved"), (status = 401, body = ErrorBody),
        (status = 403, description = "`forbidden`: the account holds assets and needs a lead", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "`conflict`: already decided, or no active account behind the request", body = ErrorBody),
        (status = 422, description = "`validation_error`: a reason is required", body = ErrorBody)))]
pub async fn approve_recovery(
    State(state): State<AppState>,
    agent: AgentAuth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ReasonRequest>,
) -> ApiResult<StatusCode> {
    let reason = parse_reason(&req.reason)?;
    let request = state
        .store
        .recovery_request(&id)
        .await?
        .ok_or_else(request_not_found)?;
    if request.status != "open" {
        return Err(request_decided());
    }
    let account = match request.account_id {
        Some(account_id) => state.store.get_account(account_id).await?,
        None => None,
    };
    let Some(account) = account.filter(|a| a.status == AccountStatus::Active) else {
        return Err(AppError::conflict(
            "No active account uses this email; reject the request instead.",
        ));
    };
    let holdings = crate::ledger::holdings(&state, account.id).await?;
    let holds_assets = holdings.balances.iter().any(|b| b.amount > Decimal::ZERO)
        || !holdings.holds.is_empty()
        || !holdings.pending.is_empty();
    if holds_assets && !agent.is_lead() {
        return Err(AppError::forbidden(
            "This account holds assets: a lead must approve its recovery.",
        ));
    }
    let now = state.now();
    if !state
        .store
        .decide_recovery_request(&id, true, &agent.agent.id, reason, now)
        .await?
    {
        return Err(request_decided());
    }
    state.store.remove_totp(account.id, now).await?;
    state.store.clear_phone(account.id, now).await?;
    state.store.delete_sessions_of(account.id).await?;
    state
        .store
        .set_cooloff_until(account.id, now + offboard_core::deletion::COOL_OFF)
        .await?;
    let actor = agent.actor();
    let detail = reason_detail(Some(&format!("request={id}")), reason);
    support::audit(
        &state,
        Some(account.id),
        &actor,
        "support_recovery_approved",
        Some(&detail),
    )
    .await;
    if let Err(err) = factors::send_code(
        &state,
        &account,
        Purpose::PasswordReset,
        Channel::Email,
        None,
        None,
    )
    .await
    {
        // The owner can ask for a reset code themselves once the wait is over.
        tracing::info!(code = err.code, "recovery: password reset code not sent");
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Rejects a recovery request; the requester is told by email, with the reason.
#[utoipa::path(post, path = "/api/v1/support/recovery/{id}/reject", tag = "support",
    params(("id" = String, Path, description = "The recovery request's id")),
    request_body = ReasonRequest,
    responses((status = 204, description = "rejected"), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "`conflict`: already decided", body = ErrorBody),
        (status = 422, description = "`validation_error`: a reason is required", body = ErrorBody)))]
pub async fn reject_recovery(
    State(state): State<AppState>,
    agent: AgentAuth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ReasonRequest>,
) -> ApiResult<StatusCode> {
    let reason = parse_reason(&req.reason)?;
    let request = state
        .store
        .recovery_request(&id)
        .await?
        .ok_or_else(request_not_found)?;
    let now = state.now();
    if request.status != "open"
        || !state
            .store
            .decide_recovery_request(&id, false, &agent.agent.id, reason, now)
            .await?
    {
        return Err(request_decided());
    }
    let detail = reason_detail(Some(&format!("request={id}")), reason);
    support::audit(
        &state,
        request.account_id,
        &agent.actor(),
        "support_recovery_rejected",
        Some(&detail),
    )
    .await;
    let body = format!(
        "We could not approve your account recovery request.\n\nReason: {reason}\n\nIf you can add information that helps us check it is you (for example the ID number you verified with), send a new request from the \"Cannot log in\" help page."
    );
    let email = Email {
        to: &request.email,
        subject: "Your account recovery request was not approved",
        body: &body,
        html: None,
        code: None,
    };
    if let Err(err) = state.notifier.send_email(email, now).await {
        tracing::warn!(%err, "could not send the recovery rejection");
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn active_account(state: &AppState, account_id: &str) -> ApiResult<AccountRow> {
    let id: AccountId = account_id
        .parse()
        .map_err(|_| identity::no_such_account())?;
    match state.store.get_account(id).await? {
        Some(account) if account.status == AccountStatus::Active => Ok(account),
        Some(_) => Err(AppError::new(
            StatusCode::CONFLICT,
            "account_deleted",
            "This account is deleted; nothing about it can change.",
        )),
        None => Err(identity::no_such_account()),
    }
}

/// Unlocks the identity step after too many wrong answers (R6): the failures are
/// forgotten.
#[utoipa::path(post, path = "/api/v1/support/accounts/{account_id}/identity-unlock", tag = "support",
    params(("account_id" = String, Path, description = "The account's id")),
    request_body = ReasonRequest,
    responses((status = 204, description = "unlocked"), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "`account_deleted`", body = ErrorBody),
        (status = 422, description = "`validation_error`: a reason is required", body = ErrorBody)))]
pub async fn identity_unlock(
    State(state): State<AppState>,
    agent: AgentAuth,
    Path(account_id): Path<String>,
    ApiJson(req): ApiJson<ReasonRequest>,
) -> ApiResult<StatusCode> {
    let reason = parse_reason(&req.reason)?;
    let account = active_account(&state, &account_id).await?;
    state.store.clear_identity_failures(account.id).await?;
    support::audit(
        &state,
        Some(account.id),
        &agent.actor(),
        "support_identity_unlocked",
        Some(&reason_detail(None, reason)),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct DocumentChange {
    /// The new number as printed on the document. Stored encrypted, never returned.
    pub document_number: String,
    /// Why (e.g. "passport renewed, checked on video call"); kept in the audit log.
    pub reason: String,
}

impl std::fmt::Debug for DocumentChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DocumentChange(***)")
    }
}

/// Records a changed document number for a verified account. The new number is
/// approved; the earlier approved numbers stay valid for the identity check.
#[utoipa::path(post, path = "/api/v1/support/accounts/{account_id}/document-change", tag = "support",
    params(("account_id" = String, Path, description = "The account's id")),
    request_body = DocumentChange,
    responses((status = 204, description = "recorded"), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`conflict`: no identity on file; `account_deleted`", body = ErrorBody),
        (status = 422, description = "`validation_error` naming the field", body = ErrorBody)))]
pub async fn document_change(
    State(state): State<AppState>,
    agent: AgentAuth,
    Path(account_id): Path<String>,
    ApiJson(req): ApiJson<DocumentChange>,
) -> ApiResult<StatusCode> {
    let reason = parse_reason(&req.reason)?;
    let number = DocumentNumber::parse(&req.document_number).map_err(|e| {
        AppError::validation("document_number", e).with_help(identity::HELP_UNIQUE_ID)
    })?;
    let account = active_account(&state, &account_id).await?;
    let Some(current) = state.store.identity(account.id).await? else {
        return Err(AppError::conflict(
            "This account has no identity on file; the owner verifies first.",
        ));
    };
    let submission = IdentitySubmission {
        document_type: current.document_type,
        number,
        country: current.country,
        expires_on: current.expires_on,
    };
    let actor = agent.actor();
    identity::submit(
        &state,
        account.id,
        &submission,
        &actor,
        IdentityStatus::Approved,
        Some(reason),
    )
    .await?;
    support::audit(
        &state,
        Some(account.id),
        &actor,
        "support_document_changed",
        Some(&reason_detail(None, reason)),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Everything that happened to this account...
    pub account_id: Option<String>,
    /// ...or everything this agent (email) did.
    pub agent: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditItem {
    /// RFC 3339.
    pub at: String,
    pub action: String,
    /// The account the entry concerns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The agent's email, on support actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The agent's reason, on support actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The account's audit log, oldest first. Support actions name the agent and reason.
#[utoipa::path(get, path = "/api/v1/support/audit", tag = "support", params(AuditQuery),
    responses((status = 200, body = [AuditItem]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn audit_log(
    State(state): State<AppState>,
    _agent: AgentAuth,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<Vec<AuditItem>>> {
    let records: Vec<(Option<String>, offboard_store::AuditRecord)> =
        match (&q.account_id, &q.agent) {
            (Some(account), None) => {
                let id: AccountId = account.parse().map_err(|_| identity::no_such_account())?;
                if state.store.get_account(id).await?.is_none() {
                    return Err(identity::no_such_account());
                }
                state
                    .store
                    .audit_of_account(id)
                    .await?
                    .into_iter()
                    .map(|r| (Some(account.clone()), r))
                    .collect()
            }
            (None, Some(email)) => {
                let Some(agent) = state
                    .store
                    .find_agent_by_email(&email.trim().to_lowercase())
                    .await?
                else {
                    return Err(AppError::not_found());
                };
                state
                    .store
                    .audit_of_actor(&format!("agent:{}", agent.id))
                    .await?
            }
            _ => {
                return Err(AppError::validation(
                    "query",
                    "give exactly one of account_id or agent",
                ))
            }
        };
    let mut emails: HashMap<String, Option<String>> = HashMap::new();
    let mut out = Vec::with_capacity(records.len());
    for (account_id, record) in records {
        let (agent, reason) = match record.actor.strip_prefix("agent:") {
            Some(agent_id) => {
                if !emails.contains_key(agent_id) {
                    let email = state.store.get_agent(agent_id).await?.map(|a| a.email);
                    emails.insert(agent_id.to_owned(), email);
                }
                let email = emails.get(agent_id).cloned().flatten();
                let reason = record
                    .detail
                    .as_deref()
                    .and_then(reason_of)
                    .map(str::to_owned);
                (email, reason)
            }
            None => (None, None),
        };
        out.push(AuditItem {
            at: views::rfc3339(record.at),
            action: record.action,
            agent,
            reason,
            account_id,
        });
    }
    Ok(Json(out))
}
