//! Support agents (R11): their own login (password + authenticator, always), their own
//! sessions (a separate table, so an agent token never reaches a user route and a user
//! token never reaches a support route), and the audited actions they may take. Nothing
//! here deletes an account (R1).
//!
//! The actions live here, not in a route module, because two front ends call them: the
//! Support API (`routes::support`, bearer token) and the support console pages
//! (`routes::console`, agent cookie). Both must refuse, audit and answer alike.

use crate::audit;
use crate::error::{AppError, ErrorKind};
use crate::factors;
use crate::identity::{self, IdentitySubmission};
use crate::state::AppState;
use offboard_core::actor::Actor;
use offboard_core::crypto::{random_token, token_hash};
use offboard_core::deletion::RecoveryStatus;
use offboard_core::identity::{Country, DocumentNumber, DocumentType, IdentityStatus};
use offboard_core::session::SessionVerdict;
use offboard_core::{totp, AccountId, Channel, OtpCode, PhoneNumber, Purpose};
use offboard_store::{AccountRow, AccountStatus, AgentRole, AgentRow, AuditEntry};
use rust_decimal::Decimal;
use std::collections::HashMap;
use time::OffsetDateTime;

pub use crate::sessions::AGENT_SESSION_POLICY;

/// Longest reason an agent may give.
pub const MAX_REASON_CHARS: usize = 1000;

/// Where the console sends a browser without a live agent session.
pub const CONSOLE_LOGIN_PATH: &str = "/support/login";

/// A request made by a live, enabled agent.
#[derive(Debug, Clone)]
pub struct AgentAuth {
    pub agent: AgentRow,
    /// The SHA-256 of the session token, so logout can end exactly this session.
    pub token_hash: String,
}

impl AgentAuth {
    /// How the audit log and the identity history name the agent.
    pub fn actor(&self) -> Actor {
        Actor::Agent(self.agent.id.clone())
    }

    pub fn is_lead(&self) -> bool {
        self.agent.role == AgentRole::Lead
    }
}

/// The live, enabled agent behind an agent session token, or `None`. The one lookup for
/// both the API's bearer token and the console's cookie, so the two cannot drift apart:
/// it reads only the agent sessions table (a user token is unknown there), deletes an
/// expired session on sight and refuses a disabled agent.
pub async fn agent_session(state: &AppState, token: &str) -> Result<Option<AgentAuth>, AppError> {
    if token.is_empty() || token.len() > crate::sessions::MAX_TOKEN_CHARS {
        return Ok(None);
    }
    let hash = token_hash(token);
    let Some(session) = state.store.find_agent_session(&hash).await? else {
        return Ok(None);
    };
    let now = state.now();
    match AGENT_SESSION_POLICY.judge(session.created_at, session.last_seen_at, now) {
        SessionVerdict::Valid { touch } => {
            if touch {
                state.store.touch_agent_session(&hash, now).await?;
            }
        }
        SessionVerdict::IdleExpired | SessionVerdict::AbsoluteExpired => {
            state.store.delete_agent_session(&hash).await?;
            return Ok(None);
        }
    }
    match state.store.get_agent(&session.agent_id).await? {
        Some(agent) if agent.disabled_at.is_none() => Ok(Some(AgentAuth {
            agent,
            token_hash: hash,
        })),
        _ => Ok(None),
    }
}

/// Checks an agent's email, password and authenticator code. Every failure gives the
/// same 401; an unknown agent verifies a dummy hash so the timing matches. A code's
/// time step is accepted once.
pub async fn login(
    state: &AppState,
    email: &str,
    password: &str,
    totp_code: &str,
    client_addr: &str,
) -> Result<String, AppError> {
    // The canonical form agents were created with; an unparsable one fails like any
    // unknown agent.
    let email = state
        .parse_email(email)
        .map(|e| e.as_str().to_owned())
        .unwrap_or_else(|_| email.trim().to_lowercase());
    // The same store-backed throttle as user logins, under separate keys.
    let keys = &state.config.keys;
    let login_key = keys.blind_index.keyed_hash("agent-login-throttle", &email);
    let address_key = keys.blind_index.keyed_hash("address-throttle", client_addr);
    let started = state.now();
    let (attempt, failures) = state
        .store
        .begin_login_attempt(&login_key, &address_key, started)
        .await?;
    if let offboard_core::throttle::Decision::Throttled { retry_after } =
        offboard_core::throttle::decide(&failures, started)
    {
        state.store.forget_login_attempt(attempt).await?;
        return Err(AppError::login_failed()
            .retry_after(u64::try_from(retry_after.whole_seconds()).unwrap_or(1)));
    }
    let agent = state.store.find_agent_by_email(&email).await?;
    let password_ok = state
        .hashing
        .verify(agent.as_ref().map(|a| a.password_hash.as_str()), password)
        .await?;
    let Some(agent) = agent else {
        return Err(AppError::login_failed());
    };
    let now = state.now();
    let step = match (password_ok, agent.disabled_at, OtpCode::parse(totp_code)) {
        (true, None, Some(code)) => {
            let secret = totp::open_secret(&keys.secrets, &agent.id, &agent.totp_secret)
                .ok_or_else(|| {
                    AppError::internal("an agent's authenticator secret does not open")
                })?;
            totp::matching_step(&secret, &code, now, agent.totp_last_step)
                .map_err(AppError::internal)?
        }
        _ => None,
    };
    let accepted = match step {
        Some(step) => state.store.consume_agent_totp_step(&agent.id, step).await?,
        None => false,
    };
    let actor = Actor::Agent(agent.id.clone());
    if !accepted {
        audit::by(state, &actor, None, "support_login_failed", None).await;
        return Err(AppError::login_failed());
    }
    state.store.forget_login_attempt(attempt).await?;
    let token = random_token();
    state
        .store
        .create_agent_session(&token_hash(&token), &agent.id, now)
        .await?;
    audit::by(state, &actor, None, "support_login", None).await;
    Ok(token)
}

/// A reason is required for every support action: 1 to 1000 characters after trimming.
pub fn parse_reason(reason: &str) -> Result<&str, AppError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(AppError::validation(
            "reason",
            "say in 1 to 1000 characters why you take this action",
        ));
    }
    Ok(reason)
}

/// The audit detail of a support action: `reason: <text>`, optionally after a context.
pub fn reason_detail(context: Option<&str>, reason: &str) -> String {
    match context {
        Some(context) => format!("{context} reason: {reason}"),
        None => format!("reason: {reason}"),
    }
}

/// The reason recorded in an audit detail written by [`reason_detail`].
pub fn reason_of(detail: &str) -> Option<&str> {
    if let Some(rest) = detail.strip_prefix("reason: ") {
        return Some(rest);
    }
    detail.split_once(" reason: ").map(|(_, reason)| reason)
}

/// Ends an agent's session (console logout).
pub async fn logout(state: &AppState, agent: &AgentAuth) -> Result<(), AppError> {
    state.store.delete_agent_session(&agent.token_hash).await?;
    audit::by(state, &agent.actor(), None, "support_logout", None).await;
    Ok(())
}

/// What support may see of an account: no secret, code, token or document number.
#[derive(Debug, Clone)]
pub struct AccountSummary {
    pub account_id: AccountId,
    pub status: AccountStatus,
    /// Bound factors (none for a deleted account).
    pub factors: Option<factors::BoundFactors>,
    /// `None` when no identity is on file.
    pub identity: Option<IdentityStatus>,
    /// The step of a deletion in progress, if any.
    pub open_deletion_step: Option<offboard_core::deletion::Step>,
    /// Set while the identity step is locked after wrong answers.
    pub identity_locked_until: Option<OffsetDateTime>,
}

async fn summary(state: &AppState, account: &AccountRow) -> Result<AccountSummary, AppError> {
    let active = account.status == AccountStatus::Active;
    let (bound, identity) = factors::factors_and_identity(state, account).await?;
    let open_deletion_step = if active {
        state.store.live_flow(account.id).await?.map(|f| f.step)
    } else {
        None
    };
    let now = state.now();
    let (failures, last) = state.store.identity_failures(account.id, now).await?;
    Ok(AccountSummary {
        account_id: account.id,
        status: account.status,
        factors: active.then_some(bound),
        identity,
        open_deletion_step,
        identity_locked_until: offboard_core::deletion::identity_locked_until(failures, last, now),
    })
}

/// How an agent looks accounts up: by exactly one key.
#[derive(Clone)]
pub enum AccountLookup {
    Email(String),
    Phone(String),
    AccountId(String),
    /// Compared by blind index; the answer says which accounts match, never the number.
    DocumentNumber(String),
}

impl std::fmt::Debug for AccountLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AccountLookup::Email(_) => f.write_str("AccountLookup::Email(***)"),
            AccountLookup::Phone(_) => f.write_str("AccountLookup::Phone(***)"),
            AccountLookup::AccountId(id) => write!(f, "AccountLookup::AccountId({id})"),
            AccountLookup::DocumentNumber(_) => f.write_str("AccountLookup::DocumentNumber(***)"),
        }
    }
}

impl AccountLookup {
    /// Exactly one of the keys must be given, or 422.
    pub fn exactly_one(
        email: Option<String>,
        phone: Option<String>,
        account_id: Option<String>,
        document_number: Option<String>,
    ) -> Result<Self, AppError> {
        let mut given = [
            email.map(AccountLookup::Email),
            phone.map(AccountLookup::Phone),
            account_id.map(AccountLookup::AccountId),
            document_number.map(AccountLookup::DocumentNumber),
        ]
        .into_iter()
        .flatten();
        match (given.next(), given.next()) {
            (Some(lookup), None) => Ok(lookup),
            _ => Err(AppError::validation(
                "query",
                "give exactly one of email, phone, account_id or document_number",
            )),
        }
    }
}

/// Finds accounts (an empty list when nothing matches) and audits each one the agent
/// sees. A document number is compared by blind index only.
pub async fn find_accounts(
    state: &AppState,
    agent: &AgentAuth,
    lookup: &AccountLookup,
) -> Result<Vec<AccountSummary>, AppError> {
    let actor = agent.actor();
    let account = match lookup {
        AccountLookup::DocumentNumber(number) => {
            let number = DocumentNumber::parse(number)
                .map_err(|e| AppError::validation("document_number", e))?;
            let index = identity::document_index(state, &number);
            let mut out = Vec::new();
            for id in state.store.accounts_by_document_index(&index).await? {
                if let Some(account) = state.store.get_account(id).await? {
                    audit::by(
                        state,
                        &actor,
                        Some(account.id),
                        "support_document_search_match",
                        None,
                    )
                    .await;
                    out.push(summary(state, &account).await?);
                }
            }
            return Ok(out);
        }
        AccountLookup::Email(email) => {
            let email = state
                .parse_email(email)
                .map_err(|e| AppError::validation("email", e))?;
            state.store.find_account_by_email(&email).await?
        }
        AccountLookup::Phone(phone) => {
            let phone = PhoneNumber::parse(phone).map_err(|e| AppError::validation("phone", e))?;
            match state.store.find_account_id_by_phone(phone.as_str()).await? {
                Some(id) => state.store.get_account(id).await?,
                None => None,
            }
        }
        AccountLookup::AccountId(id) => match id.trim().parse::<AccountId>() {
            Ok(id) => state.store.get_account(id).await?,
            Err(_) => None,
        },
    };
    let mut out = Vec::new();
    if let Some(account) = account {
        audit::by(
            state,
            &actor,
            Some(account.id),
            "support_account_viewed",
            None,
        )
        .await;
        out.push(summary(state, &account).await?);
    }
    Ok(out)
}

/// An open recovery request as support sees it.
#[derive(Debug, Clone)]
pub struct RecoveryItem {
    pub id: String,
    /// The account behind the email, if there is one.
    pub account_id: Option<AccountId>,
    pub email: String,
    pub message: String,
    /// `match`, `mismatch` or `not_given`: the typed ID number itself is never kept.
    pub id_number_check: String,
    pub created_at: OffsetDateTime,
}

/// Open recovery requests, oldest first.
pub async fn open_recovery(state: &AppState) -> Result<Vec<RecoveryItem>, AppError> {
    let rows = state.store.list_open_recovery().await?;
    Ok(rows
        .into_iter()
        .map(|r| RecoveryItem {
            id: r.id,
            account_id: r.account_id,
            email: r.email,
            message: r.message,
            id_number_check: r.id_number_check,
            created_at: r.created_at,
        })
        .collect())
}

fn request_not_found() -> AppError {
    AppError::new(
        ErrorKind::NotFound,
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
/// needed (403 otherwise).
pub async fn approve_recovery(
    state: &AppState,
    agent: &AgentAuth,
    id: &str,
    reason: &str,
) -> Result<(), AppError> {
    let reason = parse_reason(reason)?;
    let request = state
        .store
        .recovery_request(id)
        .await?
        .ok_or_else(request_not_found)?;
    if request.status != RecoveryStatus::Open {
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
    let holdings = crate::ledger::holdings(state, account.id).await?;
    let holds_assets = holdings.balances.iter().any(|b| b.amount > Decimal::ZERO)
        || !holdings.holds.is_empty()
        || !holdings.pending.is_empty();
    if holds_assets && !agent.is_lead() {
        return Err(AppError::forbidden(
            "This account holds assets: a lead must approve its recovery.",
        ));
    }
    let now = state.now();
    // R13: downstream services learn the account changed hands (factors reset, sessions
    // revoked), say to end their own sessions. No personal data.
    let payload = serde_json::json!({"account_id": account.id.to_string(), "recovered_at": offboard_core::clock::rfc3339(now)}).to_string();
    let actor = agent.actor();
    let detail = reason_detail(Some(&format!("request={id}")), reason);
    let approval = offboard_store::RecoveryApproval {
        request_id: id,
        account_id: account.id,
        agent_id: &agent.agent.id,
        reason,
        cooloff_until: now + offboard_core::deletion::COOL_OFF,
        event_payload: &payload,
        audit: AuditEntry {
            at: now,
            account_id: Some(account.id),
            actor: &actor.to_string(),
            action: "support_recovery_approved",
            detail: Some(&detail),
        },
        now,
    };
    // All or nothing: a failure half-way must not leave the request approved with the
    // old factors still bound.
    if !state.store.approve_recovery(&approval).await? {
        return Err(request_decided());
    }
    state.job_wake.notify_one();
    if let Err(err) = factors::send_code(
        state,
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
    Ok(())
}

/// Rejects a recovery request; the requester is told by email, with the reason.
pub async fn reject_recovery(
    state: &AppState,
    agent: &AgentAuth,
    id: &str,
    reason: &str,
) -> Result<(), AppError> {
    let reason = parse_reason(reason)?;
    let request = state
        .store
        .recovery_request(id)
        .await?
        .ok_or_else(request_not_found)?;
    let now = state.now();
    let actor = agent.actor();
    let detail = reason_detail(Some(&format!("request={id}")), reason);
    let entry = AuditEntry {
        at: now,
        account_id: request.account_id,
        actor: &actor.to_string(),
        action: "support_recovery_rejected",
        detail: Some(&detail),
    };
    if request.status != RecoveryStatus::Open
        || !state
            .store
            .decide_recovery_request(id, false, &agent.agent.id, reason, now, &entry)
            .await?
    {
        return Err(request_decided());
    }
    let body = format!(
        "We could not approve your account recovery request.\n\nReason: {reason}\n\nIf you can add information that helps us check it is you (for example the ID number you verified with), send a new request from the \"Cannot log in\" help page."
    );
    // The person learns the reason only from this email: queued, so a relay outage
    // delays it instead of losing it.
    crate::jobs::send_mail_with_retry(
        state,
        &request.email,
        "Your account recovery request was not approved",
        &body,
        None,
    )
    .await?;
    Ok(())
}

/// The active account an action is about: 404 for an unknown or malformed id, 409 for a
/// deleted account (nothing about it may change).
async fn active_account(state: &AppState, account_id: &str) -> Result<AccountRow, AppError> {
    let id: AccountId = account_id
        .trim()
        .parse()
        .map_err(|_| identity::no_such_account())?;
    match state.store.get_account(id).await? {
        Some(account) if account.status == AccountStatus::Active => Ok(account),
        Some(_) => Err(AppError::new(
            ErrorKind::Conflict,
            "account_deleted",
            "This account is deleted; nothing about it can change.",
        )),
        None => Err(identity::no_such_account()),
    }
}

/// Unlocks the identity step after too many wrong answers (R6): the failures are
/// forgotten.
pub async fn unlock_identity(
    state: &AppState,
    agent: &AgentAuth,
    account_id: &str,
    reason: &str,
) -> Result<(), AppError> {
    let reason = parse_reason(reason)?;
    let account = active_account(state, account_id).await?;
    let actor = agent.actor();
    let detail = reason_detail(None, reason);
    let entry = AuditEntry {
        at: state.now(),
        account_id: Some(account.id),
        actor: &actor.to_string(),
        action: "support_identity_unlocked",
        detail: Some(&detail),
    };
    // The unlock and its audit line commit together (R11, R14).
    state
        .store
        .clear_identity_failures(account.id, &entry)
        .await?;
    Ok(())
}

/// A changed document as an agent records it. The type and country default to the ones
/// on file (the API sends only the number; the console's form sends all three).
pub struct DocumentChangeInput<'a> {
    pub document_type: Option<&'a str>,
    pub document_number: &'a str,
    pub country: Option<&'a str>,
    pub reason: &'a str,
}

impl std::fmt::Debug for DocumentChangeInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DocumentChangeInput(***)")
    }
}

/// Records a changed document number for an account with an identity on file. The new
/// number is approved; the earlier approved numbers stay valid for the identity check.
pub async fn change_document(
    state: &AppState,
    agent: &AgentAuth,
    account_id: &str,
    change: &DocumentChangeInput<'_>,
) -> Result<(), AppError> {
    let reason = parse_reason(change.reason)?;
    let number = DocumentNumber::parse(change.document_number).map_err(|e| {
        AppError::validation("document_number", e).with_help(identity::HELP_UNIQUE_ID)
    })?;
    let document_type = change
        .document_type
        .map(DocumentType::parse)
        .transpose()
        .map_err(|e| AppError::validation("document_type", e))?;
    let country = change
        .country
        .map(Country::parse)
        .transpose()
        .map_err(|e| AppError::validation("country", e))?;
    let account = active_account(state, account_id).await?;
    let Some(current) = state.store.identity(account.id).await? else {
        return Err(AppError::conflict(
            "This account has no identity on file; the owner verifies first.",
        ));
    };
    let submission = IdentitySubmission {
        document_type: document_type.unwrap_or(current.document_type),
        number,
        country: country.unwrap_or(current.country),
        expires_on: current.expires_on,
    };
    let actor = agent.actor();
    let detail = reason_detail(None, reason);
    identity::submit(
        state,
        account.id,
        &submission,
        &actor,
        IdentityStatus::Approved,
        Some(reason),
        Some(("support_document_changed", &detail)),
    )
    .await?;
    Ok(())
}

/// Whose audit log to read.
#[derive(Debug, Clone)]
pub enum AuditScope {
    /// Everything that happened to this account (its id as typed).
    Account(String),
    /// Everything this agent (email) did.
    Agent(String),
}

/// One audit entry as support sees it.
#[derive(Debug, Clone)]
pub struct AuditItem {
    pub at: OffsetDateTime,
    pub action: String,
    /// The account the entry concerns (as it was asked for).
    pub account_id: Option<String>,
    /// The agent's email, on support actions.
    pub agent: Option<String>,
    /// The agent's reason, on support actions.
    pub reason: Option<String>,
}

/// An audit log, oldest first. Support actions name the agent (by email) and reason;
/// other details stay out, so no secret or personal detail reaches the viewer.
pub async fn audit_entries(
    state: &AppState,
    scope: &AuditScope,
) -> Result<Vec<AuditItem>, AppError> {
    let records: Vec<(Option<String>, offboard_store::AuditRecord)> = match scope {
        AuditScope::Account(account) => {
            let account = account.trim();
            let id: AccountId = account.parse().map_err(|_| identity::no_such_account())?;
            if state.store.get_account(id).await?.is_none() {
                return Err(identity::no_such_account());
            }
            state
                .store
                .audit_of_account(id)
                .await?
                .into_iter()
                .map(|r| (Some(account.to_owned()), r))
                .collect()
        }
        AuditScope::Agent(email) => {
            let Some(agent) = state
                .store
                .find_agent_by_email(&email.trim().to_lowercase())
                .await?
            else {
                return Err(AppError::new(
                    ErrorKind::NotFound,
                    "not_found",
                    "There is no agent with this email.",
                ));
            };
            state
                .store
                .audit_of_actor(&Actor::Agent(agent.id.clone()).to_string())
                .await?
        }
    };
    let mut emails: HashMap<String, Option<String>> = HashMap::new();
    let mut out = Vec::with_capacity(records.len());
    for (account_id, record) in records {
        let actor = Actor::parse(&record.actor);
        let (agent, reason) = match actor.as_ref().and_then(Actor::agent_id) {
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
            at: record.at,
            action: record.action,
            agent,
            reason,
            account_id,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_round_trip_through_the_audit_detail() {
        assert_eq!(
            reason_of(&reason_detail(None, "asked by phone")),
            Some("asked by phone")
        );
        assert_eq!(
            reason_of(&reason_detail(Some("request=abc"), "checked passport")),
            Some("checked passport")
        );
        assert_eq!(reason_of("document_type=passport"), None);
        assert!(parse_reason("  ").is_err());
        assert_eq!(parse_reason(" ok ").unwrap(), "ok");
    }
}
