//! Passkeys (R16): adding, listing, renaming and removing them, and their ceremonies.
//! A ceremony's state stays in this process ([`ceremonies`]); the client gets only its
//! id and the options for `navigator.credentials`. Assertions are in [`assertion`].

mod assertion;
mod ceremonies;
mod relying_party;

use self::ceremonies::Pending;
use crate::error::{AppError, ErrorKind};
use crate::factors::FactorCodes;
use crate::sessions::Authenticated;
use crate::state::AppState;
use offboard_core::passkey::{self, PasskeyName, MAX_PASSKEYS};
use offboard_core::{AccountId, Purpose};
use offboard_store::{AccountRow, AddPasskey, AuditEntry, NewPasskey, PasskeyRow, RemovePasskey};
use serde_json::Value;
use time::OffsetDateTime;
use webauthn_rs::prelude::{Passkey, RegisterPublicKeyCredential, Uuid};

pub use self::assertion::{
    begin_assertion, begin_sign_in, finish_sign_in, PasskeyProof, PasskeyUse,
};
pub(crate) use self::assertion::{begin_second_step, check_proof, spend};
pub use self::relying_party::{check_relying_party, RelyingParty};

pub const HELP_PASSKEYS: &str = "/help/passkeys";
pub const HELP_LOST_PASSKEY: &str = "/help/lost-passkey";

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

fn name_of(input: &str) -> Result<PasskeyName, AppError> {
    PasskeyName::parse(input).map_err(|e| AppError::validation("name", e))
}

fn limit_reached() -> AppError {
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

/// Keeps a begun ceremony, or 503 when too many are waiting.
pub(crate) async fn keep(
    state: &AppState,
    pending: Pending,
    account: Option<AccountId>,
    session: Option<&str>,
) -> Result<String, AppError> {
    ceremonies::start(state, &pending, account, session)
        .await?
        .ok_or_else(|| {
            AppError::new(
                ErrorKind::Unavailable,
                "busy",
                "Too many passkey requests are waiting. Try again in a minute.",
            )
            .retry_after(60)
        })
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

/// Begins adding a passkey named `name`: the options for `navigator.credentials.create`.
/// The passkey is made discoverable (resident) and user-verifying, so it can sign in alone.
pub async fn begin_registration(
    state: &AppState,
    user: &Authenticated,
    name: &str,
) -> Result<Challenge, AppError> {
    let name = name_of(name)?;
    let webauthn = state.passkeys.webauthn()?;
    let rows = state.store.passkeys(user.account.id).await?;
    if rows.len() >= MAX_PASSKEYS {
        return Err(limit_reached());
    }
    let exclude = open_all(state, &rows)
        .into_iter()
        .map(|(_, p)| p.cred_id().clone())
        .collect();
    let handle = Uuid::from_bytes(passkey::user_handle(
        &state.config.keys.blind_index,
        user.account.id,
    ));
    let (ccr, reg) = webauthn
        .start_passkey_registration(
            handle,
            &user.account.email,
            &user.account.email,
            Some(exclude),
        )
        .map_err(|e| AppError::internal(format!("passkey registration: {e}")))?;
    let mut options = to_json(&ccr)?;
    // webauthn-rs asks for a resident key only as a preference; sign-in without a name
    // needs one, so the request says "required" (the browser then makes it discoverable).
    if let Some(sel) = options.pointer_mut("/publicKey/authenticatorSelection") {
        sel["residentKey"] = "required".into();
        sel["requireResidentKey"] = true.into();
    }
    let pending = Pending::Register {
        state: reg,
        name: name.as_str().to_owned(),
    };
    let ceremony = keep(
        state,
        pending,
        Some(user.account.id),
        Some(&user.token_hash),
    )
    .await?;
    Ok(Challenge { ceremony, options })
}

/// Finishes adding a passkey: the browser's `PublicKeyCredential` (as JSON) for the
/// ceremony this session began. Stored sealed, with its audit line (`passkey_added`).
pub async fn finish_registration(
    state: &AppState,
    user: &Authenticated,
    ceremony: &str,
    credential: &Value,
) -> Result<PasskeySummary, AppError> {
    let webauthn = state.passkeys.webauthn()?;
    let taken = ceremonies::take(state, ceremony).await?;
    let Some(taken) = taken.filter(|c| {
        c.account == Some(user.account.id) && c.session.as_deref() == Some(&user.token_hash)
    }) else {
        return Err(ceremony_gone());
    };
    let Pending::Register { state: reg, name } = taken.pending else {
        return Err(ceremony_gone());
    };
    let name = name_of(&name)?;
    let response: RegisterPublicKeyCredential = serde_json::from_value(credential.clone())
        .map_err(|_| {
            AppError::validation("credential", "is not a WebAuthn registration response")
        })?;
    let key = webauthn.finish_passkey_registration(&response, &reg).map_err(|err| {
        tracing::info!(%err, "a passkey registration did not verify");
        AppError::new(
            ErrorKind::BadRequest,
            "passkey_invalid",
            "The passkey could not be verified. Try again; if it keeps failing, your browser or device may not support passkeys here.",
        )
        .with_help(HELP_PASSKEYS)
        .for_field("credential")
    })?;
    store_new(state, user.account.id, &name, &key).await
}

async fn store_new(
    state: &AppState,
    account_id: AccountId,
    name: &PasskeyName,
    key: &Passkey,
) -> Result<PasskeySummary, AppError> {
    let json =
        serde_json::to_string(key).map_err(|e| AppError::internal(format!("passkey: {e}")))?;
    let sealed = passkey::seal_credential(&state.config.keys.secrets, account_id, &json);
    let credential_key =
        passkey::credential_key(&state.config.keys.blind_index, key.cred_id().as_ref());
    let now = state.now();
    let audit = AuditEntry {
        at: now,
        account_id: Some(account_id),
        actor: "user",
        action: "passkey_added",
        detail: None,
    };
    let new = NewPasskey {
        account_id,
        credential_key: &credential_key,
        name: name.as_str(),
        sealed: &sealed,
        counter: 0,
        now,
        max: MAX_PASSKEYS,
    };
    match state.store.add_passkey(&new, &audit).await? {
        AddPasskey::Added { id } => Ok(PasskeySummary {
            id,
            name: name.as_str().to_owned(),
            created_at: now,
            last_used_at: None,
        }),
        AddPasskey::LimitReached => Err(limit_reached()),
        AddPasskey::Duplicate => Err(AppError::new(
            ErrorKind::Conflict,
            "conflict",
            "This passkey is already registered.",
        )),
    }
}

pub async fn rename(
    state: &AppState,
    account_id: AccountId,
    id: &str,
    name: &str,
) -> Result<(), AppError> {
    let name = name_of(name)?;
    if !state
        .store
        .rename_passkey(account_id, id, name.as_str())
        .await?
    {
        return Err(AppError::not_found());
    }
    crate::audit::user(state, Some(account_id), "passkey_renamed", None).await;
    Ok(())
}

/// Removes a passkey; like removing any factor it needs every bound factor (purpose
/// `unbind`), the passkey among them.
pub async fn remove(
    state: &AppState,
    account: &AccountRow,
    id: &str,
    codes: &FactorCodes,
) -> Result<(), AppError> {
    if !state
        .store
        .passkeys(account.id)
        .await?
        .iter()
        .any(|p| p.id == id)
    {
        return Err(AppError::not_found());
    }
    crate::factors::verify_all(state, account, Purpose::Unbind, None, codes).await?;
    let now = state.now();
    let audit = AuditEntry {
        at: now,
        account_id: Some(account.id),
        actor: "user",
        action: "passkey_removed",
        detail: None,
    };
    match state.store.remove_passkey(account.id, id, now, &audit).await? {
        RemovePasskey::Removed => Ok(()),
        RemovePasskey::NotFound => Err(AppError::not_found()),
        RemovePasskey::StillRequired => Err(AppError::new(
            ErrorKind::Conflict,
            "passkey_still_required",
            "This is your last passkey and your account requires one. Turn off \"Require a passkey\" first.",
        )
        .with_help(HELP_PASSKEYS)),
    }
}

/// Turns "require a passkey" on (needs a passkey bound) or off (needs every factor,
/// like removing one: it weakens the account).
pub async fn set_required(
    state: &AppState,
    account: &AccountRow,
    on: bool,
    codes: &FactorCodes,
) -> Result<(), AppError> {
    if !on {
        crate::factors::verify_all(state, account, Purpose::Unbind, None, codes).await?;
    }
    let action = if on {
        "passkey_required_on"
    } else {
        "passkey_required_off"
    };
    let audit = AuditEntry {
        at: state.now(),
        account_id: Some(account.id),
        actor: "user",
        action,
        detail: None,
    };
    if !state
        .store
        .set_require_passkey(account.id, on, &audit)
        .await?
    {
        return Err(AppError::new(
            ErrorKind::Conflict,
            "conflict",
            "Add a passkey first: the setting needs one to require.",
        ));
    }
    Ok(())
}
