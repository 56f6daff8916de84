//! Removing a passkey and the "require a passkey" setting: both weaken or change the
//! account's factors, so they need every bound factor (`factors::verify_all`).

use super::common::HELP_PASSKEYS;
use crate::error::{AppError, ErrorKind};
use crate::factors::FactorCodes;
use crate::state::AppState;
use offboard_core::Purpose;
use offboard_store::{AccountRow, AuditEntry, RemovePasskey};

/// Removes a passkey; like removing any factor it needs every bound factor (purpose
/// `unbind`), the passkey among them.
pub async fn remove(
    state: &AppState,
    account: &AccountRow,
    id: &str,
    codes: &FactorCodes,
) -> Result<(), AppError> {
    crate::freeze::ensure_not_frozen(account)?;
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
    let audit = AuditEntry::by_user(now, account.id, "passkey_removed", None);
    match state.store.remove_passkey(account.id, id, now, &audit).await? {
        RemovePasskey::Removed => {
            crate::alerts::send(state, account, crate::alerts::AlertKind::FactorRemoved).await;
            Ok(())
        }
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
    crate::freeze::ensure_not_frozen(account)?;
    if !on {
        crate::factors::verify_all(state, account, Purpose::Unbind, None, codes).await?;
    }
    let action = if on {
        "passkey_required_on"
    } else {
        "passkey_required_off"
    };
    let audit = AuditEntry::by_user(state.now(), account.id, action, None);
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
