//! Agents and their actions on one account: login, sessions and logout, the reason every
//! action needs, unlocking the identity step and recording a changed document.

use crate::audit;
use crate::error::{AppError, ErrorKind};
use crate::identity::{self, IdentitySubmission};
use crate::state::AppState;
use offboard_core::actor::Actor;
use offboard_core::crypto::{random_token, token_hash};
use offboard_core::identity::{Country, DocumentNumber, DocumentType, IdentityStatus};
use offboard_core::session::SessionVerdict;
use offboard_core::{totp, AccountId, OtpCode};
use offboard_store::{AccountRow, AccountStatus, AgentRole, AgentRow, AuditEntry};

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
    let place = state.hashing.reserve()?;
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
    let password_ok = place
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
            totp::matching_step(
                &secret,
                &code,
                state.authenticator_now(),
                agent.totp_last_step,
            )
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
