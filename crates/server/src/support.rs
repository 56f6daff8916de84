//! Support agents (R11): their own login (password + authenticator, always), their own
//! sessions (a separate table, so an agent token never reaches a user route and a user
//! token never reaches a support route), and the audited actions they may take. Nothing
//! here deletes an account (R1).

use crate::error::AppError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use offboard_core::crypto::{random_token, token_hash};
use offboard_core::session::{SessionPolicy, SessionVerdict};
use offboard_core::{totp, AccountId, OtpCode};
use offboard_store::{AgentRole, AgentRow, AuditEntry};
use time::Duration;

/// Agent sessions end after 30 minutes idle and 8 hours at most.
pub const AGENT_SESSION_POLICY: SessionPolicy = SessionPolicy {
    idle_timeout: Duration::minutes(30),
    absolute_timeout: Duration::hours(8),
};

/// Longest reason an agent may give.
pub const MAX_REASON_CHARS: usize = 1000;

/// A request made by a live, enabled agent.
#[derive(Debug, Clone)]
pub struct AgentAuth {
    pub agent: AgentRow,
}

impl AgentAuth {
    /// `agent:<id>`, as the audit log and the identity history name the agent.
    pub fn actor(&self) -> String {
        format!("agent:{}", self.agent.id)
    }

    pub fn is_lead(&self) -> bool {
        self.agent.role == AgentRole::Lead
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl FromRequestParts<AppState> for AgentAuth {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let unauthorized = || {
            AppError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Log in to the support console first: this request needs a valid agent session.",
            )
        };
        let token = bearer(parts).ok_or_else(unauthorized)?;
        if token.is_empty() || token.len() > 128 {
            return Err(unauthorized());
        }
        let hash = token_hash(token);
        let Some(session) = state.store.find_agent_session(&hash).await? else {
            return Err(unauthorized());
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
                return Err(unauthorized());
            }
        }
        match state.store.get_agent(&session.agent_id).await? {
            Some(agent) if agent.disabled_at.is_none() => Ok(AgentAuth { agent }),
            _ => Err(unauthorized()),
        }
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
    let email = email.trim().to_lowercase();
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
            totp::matching_step(&agent.totp_secret, &code, now, agent.totp_last_step)
                .map_err(AppError::internal)?
        }
        _ => None,
    };
    let accepted = match step {
        Some(step) => state.store.consume_agent_totp_step(&agent.id, step).await?,
        None => false,
    };
    let actor = format!("agent:{}", agent.id);
    if !accepted {
        audit(state, None, &actor, "support_login_failed", None).await;
        return Err(AppError::login_failed());
    }
    state.store.forget_login_attempt(attempt).await?;
    let token = random_token();
    state
        .store
        .create_agent_session(&token_hash(&token), &agent.id, now)
        .await?;
    audit(state, None, &actor, "support_login", None).await;
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

/// Appends to the audit log; a failure is logged, never shown.
pub async fn audit(
    state: &AppState,
    account_id: Option<AccountId>,
    actor: &str,
    action: &str,
    detail: Option<&str>,
) {
    let entry = AuditEntry {
        at: state.now(),
        account_id,
        actor,
        action,
        detail,
    };
    if let Err(err) = state.store.audit(entry).await {
        tracing::error!(%err, action, "could not write the audit log");
    }
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
