//! Sign-up and login, shared by the JSON API and the web pages.

use crate::audit;
use crate::error::{AppError, ErrorKind};
use crate::state::AppState;
use offboard_core::throttle::{self, Decision};
use offboard_core::{AccountId, Password};
use offboard_store::StoreError;

/// Creates an account (R9's tombstone check joins here with the journey issue).
pub async fn signup(state: &AppState, email: &str, password: &str) -> Result<AccountId, AppError> {
    let email = state
        .parse_email(email)
        .map_err(|e| AppError::validation("email", e))?;
    // A place in the hashing queue first: a storm of sign-ups is refused before it costs
    // a query.
    let place = state.hashing.reserve()?;
    // R9: an email of an account deleted less than 30 days ago waits.
    let hash = crate::tombstones::hash(
        state.config.keys.blind_index.clone(),
        "email",
        email.as_str(),
    );
    crate::tombstones::check(state, "email address", &hash).await?;
    let password = Password::parse(password).map_err(|e| AppError::validation("password", e))?;
    let hash = place.hash(password.expose()).await?;
    let id = AccountId::new();
    let now = state.now();
    match state.store.create_account(id, &email, &hash, now).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => return Err(AppError::conflict(
            "An account with this email already exists. Sign in instead, or reset the password.",
        )
        .with("field", "email")
        .with_help("/help/cannot-log-in")),
        Err(other) => return Err(other.into()),
    }
    audit::user(state, Some(id), "signup", None).await;
    let body = format!(
        "Welcome to offboard.\n\nYour account for {email} is ready. Next, bind an authenticator app or a phone on the Security page so your account is protected by a second factor.\n\nIf you did not sign up, ignore this message."
    );
    // Through the mail queue: a slow relay must not slow (or time) the answer.
    if let Err(err) = crate::jobs::send_mail_with_retry(
        state,
        email.as_str(),
        "Your offboard account is ready",
        &body,
        None,
    )
    .await
    {
        // The account exists either way; a lost welcome message is not worth failing for.
        tracing::warn!(%err, "could not queue the welcome email");
    }
    Ok(id)
}

#[derive(Debug)]
pub struct LoggedIn {
    pub account_id: AccountId,
    pub token: String,
}

/// Checks a password login. Every failure (unknown email, wrong password, throttled)
/// answers the same 401; a throttled one adds `Retry-After`. Unknown emails verify
/// against a dummy hash so both failures take the same time.
pub async fn login(
    state: &AppState,
    email: &str,
    password: &str,
    totp_code: Option<&str>,
    client_addr: &str,
    user_agent: Option<&str>,
) -> Result<LoggedIn, AppError> {
    let (account, attempt) = checked_password(state, email, password, client_addr).await?;
    // R17: a frozen account signs nobody in. Said only once the password is right, so
    // the owner learns why and a stranger learns nothing (docs/security.md).
    // The password was right: from here no answer counts as a password failure, so the
    // attempt is forgotten on every way out (with the session when one starts).
    if account.frozen_at.is_some() {
        state.store.forget_login_attempt(attempt).await?;
        audit::user(
            state,
            Some(account.id),
            "login_refused",
            Some("account frozen"),
        )
        .await;
        return Err(crate::freeze::frozen_error());
    }
    if let Err(err) = second_factor(state, &account, totp_code).await {
        state.store.forget_login_attempt(attempt).await?;
        return Err(err);
    }
    let token = crate::sessions::sign_in(
        state,
        &account,
        Some(attempt),
        None,
        user_agent,
        client_addr,
    )
    .await?;
    Ok(LoggedIn {
        account_id: account.id,
        token,
    })
}

/// The active account behind an email and password, under login's throttle (R3's
/// per-login and per-address budget). Every failure answers the same 401.
pub(crate) async fn password_account(
    state: &AppState,
    email: &str,
    password: &str,
    client_addr: &str,
) -> Result<offboard_store::AccountRow, AppError> {
    let (account, attempt) = checked_password(state, email, password, client_addr).await?;
    state.store.forget_login_attempt(attempt).await?;
    Ok(account)
}

/// [`password_account`] leaving its throttle attempt to the caller, who forgets it with
/// what else the success writes (the attempt counts as a failure until then).
async fn checked_password(
    state: &AppState,
    email: &str,
    password: &str,
    client_addr: &str,
) -> Result<(offboard_store::AccountRow, i64), AppError> {
    let now = state.now();
    let parsed = state.parse_email(email).ok();
    let login_name = parsed
        .as_ref()
        .map(|e| e.as_str().to_owned())
        .unwrap_or_else(|| email.trim().to_lowercase());
    let keys = &state.config.keys;
    let login_key = keys.blind_index.keyed_hash("login-throttle", &login_name);
    let address_key = keys.blind_index.keyed_hash("address-throttle", client_addr);

    // A place in the hashing queue before anything is written: when logins arrive faster
    // than the cores hash, the excess is refused at once (503) and charges no attempt.
    let place = state.hashing.reserve()?;
    let (attempt, failures) = state
        .store
        .begin_login_attempt(&login_key, &address_key, now)
        .await?;
    if let Decision::Throttled { retry_after } = throttle::decide(&failures, now) {
        state.store.forget_login_attempt(attempt).await?;
        let secs = u64::try_from(retry_after.whole_seconds()).unwrap_or(1);
        return Err(AppError::login_failed().retry_after(secs));
    }

    let account = match &parsed {
        Some(email) => state.store.find_account_by_email(email).await?,
        None => None,
    };
    let matched = place
        .verify(account.as_ref().map(|a| a.password_hash.as_str()), password)
        .await?;
    let known = account.as_ref().map(|a| a.id);
    let Some(account) = account.filter(|_| matched) else {
        audit::user(state, known, "login_failed", None).await;
        return Err(AppError::login_failed());
    };
    Ok((account, attempt))
}

/// The second step after a right password: the authenticator code, or a passkey (its
/// challenge goes back in `passkey_required`; the sign-in then finishes with the
/// assertion). An account that requires a passkey takes no authenticator code instead.
async fn second_factor(
    state: &AppState,
    account: &offboard_store::AccountRow,
    totp_code: Option<&str>,
) -> Result<(), AppError> {
    // The row was read by this login a moment ago, with its factors (one query).
    let bound = crate::factors::bound_factors(account);
    let passkey_required = account.factors.require_passkey;
    let code = totp_code.map(str::trim).filter(|c| !c.is_empty());
    let totp_allowed = bound.totp && !passkey_required;
    if bound.passkey && !(totp_allowed && code.is_some()) {
        let challenge = crate::passkeys::assertion::begin_second_step(state, account.id).await?;
        let message = if totp_allowed {
            "The password is right. Now confirm with your passkey, or enter the 6-digit code from your authenticator app."
        } else {
            "The password is right. Now confirm with your passkey."
        };
        return Err(
            AppError::new(ErrorKind::Unauthenticated, "passkey_required", message)
                .with(
                    "passkey",
                    crate::passkeys::common::challenge_json(&challenge),
                )
                .with("totp_allowed", totp_allowed)
                .with_help(crate::passkeys::common::HELP_PASSKEYS),
        );
    }
    if bound.totp {
        let Some(code) = code else {
            return Err(AppError::new(
                ErrorKind::Unauthenticated,
                "totp_required",
                "The password is right. Now enter the 6-digit code from your authenticator app.",
            )
            .with_help(crate::factors::HELP_AUTHENTICATOR));
        };
        crate::factors::check_totp(
            state,
            account.id,
            offboard_core::Purpose::Login,
            code,
            crate::factors::TotpUse::Spend,
        )
        .await?;
    }
    Ok(())
}
