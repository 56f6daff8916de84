//! User sessions: one store of sessions serves the web cookie and the API bearer token
//! (the edge reads the token from either). Tokens carry 256 random bits and only their
//! SHA-256 is stored.

use crate::error::AppError;
use crate::state::AppState;
use offboard_core::crypto::{random_token, token_hash};
use offboard_core::session::SessionVerdict;
use offboard_core::AccountId;
use offboard_store::{AccountRow, AuditEntry, NewSession, SessionKind, SignIn};

pub use crate::config::AGENT_SESSION_POLICY;

/// Longest token we look up; anything longer is no token of ours.
pub const MAX_TOKEN_CHARS: usize = 128;

/// A request made within a live session.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub account: AccountRow,
    pub token_hash: String,
}

/// Creates a session and returns the token to hand to the client (once). The user agent
/// is kept (cut to 200 characters) to tell a known device from a new one (R3).
pub async fn start_session(
    state: &AppState,
    account_id: AccountId,
    user_agent: Option<&str>,
) -> Result<String, AppError> {
    let token = random_token();
    let hash = token_hash(&token);
    let user_agent = user_agent.map(|ua| ua.chars().take(200).collect::<String>());
    state
        .store
        .create_session(NewSession {
            token_hash: &hash,
            account_id,
            kind: SessionKind::User,
            now: state.now(),
            user_agent: user_agent.as_deref(),
        })
        .await?;
    Ok(token)
}

/// Signs `account` in: the session, its audit line (`login`, with `detail`), the device
/// noted and, once that committed, R21's alert when the device is new. `attempt` is the
/// password login's throttle attempt, forgotten in the same transaction. Answers the
/// token to hand to the client (once).
pub async fn sign_in(
    state: &AppState,
    account: &AccountRow,
    attempt: Option<i64>,
    detail: Option<&str>,
    user_agent: Option<&str>,
    client_addr: &str,
) -> Result<String, AppError> {
    let token = random_token();
    let hash = token_hash(&token);
    let user_agent = user_agent.map(|ua| ua.chars().take(200).collect::<String>());
    let now = state.now();
    let actor = offboard_core::actor::Actor::User.to_string();
    let device_key = crate::alerts::device_key(state, user_agent.as_deref(), client_addr);
    let new_device = state
        .store
        .sign_in(&SignIn {
            attempt,
            session: NewSession {
                token_hash: &hash,
                account_id: account.id,
                kind: SessionKind::User,
                now,
                user_agent: user_agent.as_deref(),
            },
            audit: AuditEntry {
                at: now,
                account_id: Some(account.id),
                actor: &actor,
                action: "login",
                detail,
            },
            device_key: &device_key,
        })
        .await?;
    if new_device {
        crate::alerts::send(state, account, crate::alerts::AlertKind::NewSignIn).await;
    }
    Ok(token)
}

/// The live session behind a token, or `None`. Expired sessions are deleted on sight.
pub async fn authenticate(
    state: &AppState,
    token: &str,
) -> Result<Option<Authenticated>, AppError> {
    if token.is_empty() || token.len() > MAX_TOKEN_CHARS {
        return Ok(None);
    }
    let hash = token_hash(token);
    let Some((session, account)) = state
        .store
        .find_session_with_account(&hash, SessionKind::User)
        .await?
    else {
        return Ok(None);
    };
    let now = state.now();
    match state
        .config
        .session_policy
        .judge(session.created_at, session.last_seen_at, now)
    {
        SessionVerdict::Valid { touch } => {
            if touch {
                state.store.touch_session(&hash, now).await?;
            }
        }
        SessionVerdict::IdleExpired | SessionVerdict::AbsoluteExpired => {
            state.store.delete_session(&hash).await?;
            return Ok(None);
        }
    }
    Ok(Some(Authenticated {
        account,
        token_hash: hash,
    }))
}
