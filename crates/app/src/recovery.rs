//! For people who cannot log in: the password reset by email code and the recovery
//! request that goes to support. Every answer is the same whether or not the account
//! exists (no enumeration).

use crate::audit;
use crate::error::{AppError, ErrorKind};
use crate::factors;
use crate::state::AppState;
use offboard_core::actor::Actor;
use offboard_core::identity::DocumentNumber;
use offboard_core::otp::{self, Verdict};
use offboard_core::{Channel, OtpCode, Password, Purpose};
use offboard_store::{AuditEntry, CodeSlot, NewRecoveryRequest};

/// Sends the reset code if the account exists; answers the same either way.
pub async fn request_reset(state: &AppState, email: &str) -> Result<(), AppError> {
    let email = state
        .parse_email(email)
        .map_err(|e| AppError::validation("email", e))?;
    if let Some(account) = state.store.find_account_by_email(&email).await? {
        // Refusals (cooldown, hourly limit) are not shown: they would tell that the
        // account exists. The audit log keeps them.
        if let Err(err) = factors::send_reset_code(state, &account).await {
            tracing::info!(code = err.code, "password reset code not sent");
        }
    }
    Ok(())
}

fn reset_refused() -> AppError {
    AppError::new(
        ErrorKind::BadRequest,
        "invalid_code",
        "The code is wrong, used or expired. Request a new one and use the newest email.",
    )
    .with_help(factors::HELP_WRONG_CODE)
}

/// Sets a new password with the emailed code; every session ends; deletion then waits
/// 24 hours (a stolen mailbox must not reset and delete in one sitting).
pub async fn confirm_reset(
    state: &AppState,
    email: &str,
    code: &str,
    new_password: &str,
) -> Result<(), AppError> {
    let email = state
        .parse_email(email)
        .map_err(|e| AppError::validation("email", e))?;
    let password =
        Password::parse(new_password).map_err(|e| AppError::validation("new_password", e))?;
    let Some(code) = OtpCode::parse(code) else {
        return Err(AppError::validation("code", "a code is 6 digits"));
    };
    let Some(account) = state.store.find_account_by_email(&email).await? else {
        return Err(reset_refused());
    };
    let now = state.now();
    let key = &state.config.keys.blind_index;
    let slot = CodeSlot {
        account_id: account.id,
        purpose: Purpose::PasswordReset,
        channel: Channel::Email,
        flow_id: None,
    };
    let check = state
        .store
        .check_code(slot, now, true, |ctx| otp::judge(ctx, &code, key, now))
        .await?;
    match check.verdict {
        Verdict::Accepted => {}
        Verdict::RateLimited { retry_after } => {
            return Err(factors::verdict_error(
                Verdict::RateLimited { retry_after },
                "email",
            ))
        }
        _ => {
            audit::user(
                state,
                Some(account.id),
                "code_failed",
                Some("purpose=password_reset factor=email"),
            )
            .await;
            return Err(reset_refused());
        }
    }
    let hash = state.hashing.hash(password.expose()).await?;
    // The password, the end of every session, the cool-off and the audit line commit
    // together: a reset never leaves the new password without its 24-hour wait.
    let actor = Actor::User.to_string();
    let audit_line = AuditEntry {
        at: now,
        account_id: Some(account.id),
        actor: &actor,
        action: "password_reset",
        detail: None,
    };
    state
        .store
        .reset_password(
            account.id,
            &hash,
            now + offboard_core::deletion::COOL_OFF,
            &audit_line,
        )
        .await?;
    crate::alerts::send(state, &account, crate::alerts::AlertKind::PasswordReset).await;
    Ok(())
}

/// Records a recovery request for support. The typed ID number is compared by blind
/// index and only the verdict is kept.
pub async fn submit_recovery(
    state: &AppState,
    email: &str,
    message: &str,
    id_number: Option<&str>,
) -> Result<(), AppError> {
    let email = state
        .parse_email(email)
        .map_err(|e| AppError::validation("email", e))?;
    let message = message.trim();
    if message.is_empty() || message.chars().count() > 2000 {
        return Err(AppError::validation(
            "message",
            "say in 1 to 2000 characters what happened and what you need",
        ));
    }
    let account = state.store.find_account_by_email(&email).await?;
    let check = match (id_number.map(str::trim).filter(|n| !n.is_empty()), &account) {
        (None, _) => "not_given",
        (Some(typed), Some(account)) => {
            let identity = state.store.identity(account.id).await?;
            let matched = match (DocumentNumber::parse(typed), identity) {
                (Ok(number), Some(identity)) => {
                    let index = crate::identity::document_index(state, &number);
                    identity.numbers.iter().any(|n| {
                        offboard_core::crypto::constant_time_eq(
                            n.index.as_bytes(),
                            index.as_bytes(),
                        )
                    })
                }
                _ => false,
            };
            if matched {
                "match"
            } else {
                "mismatch"
            }
        }
        (Some(_), None) => "mismatch",
    };
    let now = state.now();
    let added = state
        .store
        .add_recovery_request(NewRecoveryRequest {
            account_id: account.as_ref().map(|a| a.id),
            email: email.as_str(),
            message,
            id_number_check: check,
            now,
        })
        .await?;
    // API.md: 202 always. Over the limit (counted per typed address, known or not) the
    // request is not recorded, as a reset's cooldown is not shown: support already has
    // this address's requests of the day. The audit log keeps the refusal.
    let Ok(id) = added else {
        audit::user(
            state,
            account.as_ref().map(|a| a.id),
            "recovery_request_limited",
            None,
        )
        .await;
        return Ok(());
    };
    audit::user(
        state,
        account.as_ref().map(|a| a.id),
        "recovery_requested",
        Some(&format!("request={id}")),
    )
    .await;
    Ok(())
}
