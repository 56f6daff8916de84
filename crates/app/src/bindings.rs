//! Binding and removing second factors (R5): the authenticator, the phone, and the codes
//! that approve a withdrawal or a removal. Shared by the API and the Security page.

use crate::alerts::{self, AlertKind};
use crate::audit;
use crate::error::{AppError, ErrorKind};
use crate::factors::{self, FactorCodes};
use crate::state::AppState;
use offboard_core::{totp, Channel, PhoneNumber, Purpose};
use offboard_store::StoreError;

/// A started authenticator binding: shown once, inactive until its first code.
#[derive(Debug, Clone)]
pub struct TotpSetup {
    /// Base32 secret.
    pub secret: String,
    /// `otpauth://totp/...`, for authenticator apps.
    pub otpauth_uri: String,
}

pub async fn begin_totp(
    state: &AppState,
    account: &offboard_store::AccountRow,
) -> Result<TotpSetup, AppError> {
    crate::freeze::ensure_not_frozen(account)?;
    let secret = totp::generate_secret();
    let uri = totp::otpauth_uri(&secret, &account.email).map_err(AppError::internal)?;
    let sealed = totp::seal_secret(&state.config.keys.secrets, &account.id.to_string(), &secret);
    match state.store.begin_totp(account.id, &sealed, state.now()).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            return Err(AppError::conflict(
                "An authenticator is already bound. Remove it first (with codes from every factor) to bind a new one.",
            )
            .with_help(factors::HELP_AUTHENTICATOR))
        }
        Err(other) => return Err(other.into()),
    }
    audit::user(state, Some(account.id), "totp_setup_started", None).await;
    Ok(TotpSetup {
        secret,
        otpauth_uri: uri,
    })
}

pub async fn remove_totp(
    state: &AppState,
    account: &offboard_store::AccountRow,
    codes: FactorCodes,
) -> Result<(), AppError> {
    crate::freeze::ensure_not_frozen(account)?;
    if !factors::bound_factors(account).totp {
        return Err(AppError::new(
            ErrorKind::NotFound,
            "not_found",
            "No authenticator is bound to this account.",
        ));
    }
    factors::verify_all(state, account, Purpose::Unbind, None, &codes).await?;
    state.store.remove_totp(account.id, state.now()).await?;
    audit::user(state, Some(account.id), "totp_removed", None).await;
    alerts::send(state, account, AlertKind::FactorRemoved).await;
    Ok(())
}

pub async fn begin_phone(
    state: &AppState,
    account: &offboard_store::AccountRow,
    phone: &str,
) -> Result<i64, AppError> {
    crate::freeze::ensure_not_frozen(account)?;
    let phone = PhoneNumber::parse(phone)
        .map_err(|e| AppError::validation("phone", e).with_help(factors::HELP_SMS_MISSING))?;
    if account.phone.is_some() {
        return Err(AppError::conflict(
            "A phone is already bound. Remove it first to bind another number.",
        ));
    }
    // R9: a phone of a recently deleted account waits out the re-registration period.
    let hash = crate::tombstones::hash(
        state.config.keys.blind_index.clone(),
        "phone",
        phone.as_str(),
    );
    crate::tombstones::check(state, "phone number", &hash).await?;
    factors::send_code(
        state,
        account,
        Purpose::PhoneBinding,
        Channel::Sms,
        None,
        Some(&phone),
    )
    .await
}

pub async fn confirm_phone(
    state: &AppState,
    account: &offboard_store::AccountRow,
    code: &str,
) -> Result<(), AppError> {
    crate::freeze::ensure_not_frozen(account)?;
    let check = factors::check_code(
        state,
        account.id,
        Purpose::PhoneBinding,
        Channel::Sms,
        None,
        code,
        true,
    )
    .await?;
    let phone = check
        .destination
        .as_deref()
        .and_then(|p| PhoneNumber::parse(p).ok())
        .ok_or_else(|| AppError::internal("phone binding code without its number"))?;
    match state.store.set_phone(account.id, &phone, state.now()).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            return Err(AppError::conflict(
                "This number is already bound to another account. Use another number.",
            ))
        }
        Err(other) => return Err(other.into()),
    }
    audit::user(state, Some(account.id), "phone_bound", None).await;
    alerts::send(state, account, AlertKind::FactorAdded).await;
    Ok(())
}

pub async fn remove_phone(
    state: &AppState,
    account: &offboard_store::AccountRow,
    codes: FactorCodes,
) -> Result<(), AppError> {
    crate::freeze::ensure_not_frozen(account)?;
    if account.phone.is_none() {
        return Err(AppError::new(
            ErrorKind::NotFound,
            "not_found",
            "No phone is bound to this account.",
        ));
    }
    factors::verify_all(state, account, Purpose::Unbind, None, &codes).await?;
    state.store.clear_phone(account.id, state.now()).await?;
    audit::user(state, Some(account.id), "phone_removed", None).await;
    alerts::send(state, account, AlertKind::FactorRemoved).await;
    Ok(())
}

pub async fn send_action_code(
    state: &AppState,
    account: &offboard_store::AccountRow,
    channel: &str,
    purpose: &str,
) -> Result<i64, AppError> {
    let channel = Channel::parse(channel)
        .ok_or_else(|| AppError::validation("channel", "must be \"email\" or \"sms\""))?;
    let purpose = match Purpose::parse(purpose) {
        Some(p @ (Purpose::Withdrawal | Purpose::Unbind)) => p,
        _ => {
            return Err(AppError::validation(
                "purpose",
                "must be \"withdrawal\" or \"unbind\"",
            ))
        }
    };
    factors::send_code(state, account, purpose, channel, None, None).await
}
