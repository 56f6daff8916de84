//! What the passkey modules share: the challenge a client gets, the owner's list, the
//! refusals every ceremony can meet, and keeping and opening what is stored.

use super::ceremonies::{self, Pending};
use crate::error::{AppError, ErrorKind};
use crate::state::AppState;
use offboard_core::passkey::{self, PasskeyName, MAX_PASSKEYS};
use offboard_core::AccountId;
use offboard_store::PasskeyRow;
use serde_json::Value;
use time::OffsetDateTime;
use webauthn_rs::prelude::Passkey;

pub use super::help::{HELP_LOST_PASSKEY, HELP_PASSKEYS};

/// What a client needs to run a ceremony: its id (sent back when finishing) and the
/// options for `navigator.credentials.create` / `.get` (`{"publicKey": {...}}`).
#[derive(Debug, Clone)]
pub struct Challenge {
    pub ceremony: String,
    pub options: Value,
}

/// A challenge as the API carries it: `{"ceremony": ..., "options": {"publicKey": ...}}`.
pub fn challenge_json(challenge: &Challenge) -> Value {
    serde_json::json!({"ceremony": challenge.ceremony, "options": challenge.options})
}

/// A passkey as its owner's list shows it.
#[derive(Debug, Clone)]
pub struct PasskeySummary {
    pub id: String,
    pub name: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

impl From<PasskeyRow> for PasskeySummary {
    fn from(row: PasskeyRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        }
    }
}

/// The account's passkeys, oldest first, and whether it requires one.
pub async fn list(
    state: &AppState,
    account_id: AccountId,
) -> Result<(Vec<PasskeySummary>, bool), AppError> {
    let rows = state.store.passkeys(account_id).await?;
    let (_, required) = state.store.passkey_state(account_id).await?;
    Ok((rows.into_iter().map(Into::into).collect(), required))
}

/// The credential ids (base64url) of the account's passkeys.
pub async fn credential_ids(
    state: &AppState,
    account_id: AccountId,
) -> Result<Vec<String>, AppError> {
    use base64::Engine;
    let rows = state.store.passkeys(account_id).await?;
    Ok(open_all(state, &rows)
        .iter()
        .map(|(_, k)| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(k.cred_id().as_ref()))
        .collect())
}

pub(crate) fn name_of(input: &str) -> Result<PasskeyName, AppError> {
    PasskeyName::parse(input).map_err(|e| AppError::validation("name", e))
}

pub(crate) fn limit_reached() -> AppError {
    AppError::new(
        ErrorKind::Conflict,
        "passkey_limit",
        format!("An account can have at most {MAX_PASSKEYS} passkeys. Remove one you no longer use first."),
    )
    .with_help(HELP_PASSKEYS)
}

pub(crate) fn ceremony_gone() -> AppError {
    AppError::new(
        ErrorKind::BadRequest,
        "passkey_ceremony_unknown",
        "This passkey request has expired or was already used. Start again: each request works once, for 5 minutes.",
    )
    .with_help(HELP_PASSKEYS)
    .for_field("passkey")
}

/// Keeps a begun ceremony of an account (and session, when one began it).
pub(crate) async fn keep(
    state: &AppState,
    pending: Pending,
    account: Option<AccountId>,
    session: Option<&str>,
) -> Result<String, AppError> {
    let owner = ceremonies::Owner {
        account,
        session,
        client_addr: None,
    };
    ceremonies::start(state, &pending, owner).await
}

/// The stored credentials of an account, opened; a row that does not open is skipped
/// (and logged): it cannot sign anything in.
pub(crate) fn open_all(state: &AppState, rows: &[PasskeyRow]) -> Vec<(String, Passkey)> {
    rows.iter()
        .filter_map(|row| {
            let opened = passkey::open_credential(&state.config.keys.secrets, row.account_id, &row.sealed)
                .and_then(|json| serde_json::from_str::<Passkey>(&json).ok());
            if opened.is_none() {
                tracing::error!(id = %row.id, "a stored passkey does not open with the secrets key");
            }
            opened.map(|p| (row.id.clone(), p))
        })
        .collect()
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<Value, AppError> {
    serde_json::to_value(value).map_err(|e| AppError::internal(format!("passkey options: {e}")))
}
