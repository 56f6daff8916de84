//! Adding a passkey (a discoverable, user-verifying credential) and renaming one.

use super::ceremonies::{self, Pending};
use super::common::{
    ceremony_gone, keep, limit_reached, name_of, open_all, to_json, Challenge, PasskeySummary,
    HELP_PASSKEYS,
};
use crate::error::{AppError, ErrorKind};
use crate::sessions::Authenticated;
use crate::state::AppState;
use offboard_core::passkey::{self, PasskeyName, MAX_PASSKEYS};
use offboard_core::AccountId;
use offboard_store::{AddPasskey, AuditEntry, NewPasskey};
use serde_json::Value;
use webauthn_rs::prelude::{Passkey, RegisterPublicKeyCredential, Uuid};

/// Begins adding a passkey named `name`: the options for `navigator.credentials.create`.
/// The passkey is made discoverable (resident) and user-verifying, so it can sign in alone.
pub async fn begin_registration(
    state: &AppState,
    user: &Authenticated,
    name: &str,
) -> Result<Challenge, AppError> {
    crate::freeze::ensure_not_frozen(&user.account)?;
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
    crate::freeze::ensure_not_frozen_now(state, user.account.id).await?;
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
    let added = store_new(state, user.account.id, &name, &key).await?;
    crate::alerts::send(state, &user.account, crate::alerts::AlertKind::FactorAdded).await;
    Ok(added)
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
    let audit = AuditEntry::by_user(now, account_id, "passkey_added", None);
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
