//! R17: the owner lifts a freeze alone, 24 hours after it began, with the password (under
//! login's throttle), a code from every bound factor and the ID number of an approved
//! identity verification (under the identity step's five-a-day lock). No session is
//! needed: a frozen account has none. The alert's link never unfreezes.

use crate::error::{AppError, ErrorKind};
use crate::factors::{self, FactorCodes};
use crate::freeze::{self, HELP_FROZEN};
use crate::state::AppState;
use offboard_core::actor::Actor;
use offboard_core::clock::{human_time, rfc3339};
use offboard_core::{Channel, Purpose};
use offboard_store::{AccountRow, IdentityAttempt};

/// What the owner sends to lift the freeze.
#[derive(Clone)]
pub struct OwnerUnfreeze<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub codes: FactorCodes,
    pub id_number: Option<&'a str>,
    pub client_addr: &'a str,
}

/// The frozen account behind an email and password whose 24 hours are over. A wrong
/// password answers like any failed login; the rest is said only after it verified.
async fn frozen_owner(
    state: &AppState,
    email: &str,
    password: &str,
    client_addr: &str,
) -> Result<AccountRow, AppError> {
    let account = crate::accounts::password_account(state, email, password, client_addr).await?;
    let Some(frozen_at) = account.frozen_at else {
        return Err(AppError::new(
            ErrorKind::Conflict,
            "not_frozen",
            "This account is not frozen. Sign in as usual.",
        ));
    };
    let from = freeze::owner_unfreeze_from(frozen_at);
    if state.now() < from {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            "unfreeze_too_early",
            format!(
                "You can lift the freeze yourself 24 hours after it began: from {}. Support can lift it sooner.",
                human_time(from)
            ),
        )
        .with("allowed_from", rfc3339(from))
        .with_help(HELP_FROZEN));
    }
    Ok(account)
}

/// Sends an `unfreeze` code on `channel` (`email`, or `sms` to the bound phone).
pub async fn send_code(
    state: &AppState,
    email: &str,
    password: &str,
    channel: &str,
    client_addr: &str,
) -> Result<i64, AppError> {
    let channel = Channel::parse(channel)
        .ok_or_else(|| AppError::validation("channel", "must be \"email\" or \"sms\""))?;
    let account = frozen_owner(state, email, password, client_addr).await?;
    factors::send_code(state, &account, Purpose::Unfreeze, channel, None, None).await
}

/// Lifts the freeze: every check passed, the account unfrozen with a 24-hour deletion
/// cool-off and the audit line, in one transaction.
pub async fn unfreeze(state: &AppState, req: OwnerUnfreeze<'_>) -> Result<(), AppError> {
    let account = frozen_owner(state, req.email, req.password, req.client_addr).await?;
    let approved: Vec<_> = state
        .store
        .identity(account.id)
        .await?
        .map(|i| i.approved_numbers().cloned().collect())
        .unwrap_or_default();
    if approved.is_empty() {
        return Err(AppError::new(
            ErrorKind::Conflict,
            "identity_required",
            "This account has no approved identity verification, so only support can lift the freeze: send an account recovery request.",
        )
        .with_help(HELP_FROZEN));
    }
    let Some(typed) = req.id_number.map(str::trim).filter(|n| !n.is_empty()) else {
        return Err(AppError::validation(
            "id_number",
            "is required: type the number of the document from your identity verification",
        ));
    };
    // The number first: a wrong one costs an identity try, not the codes.
    let now = state.now();
    let attempt = match state.store.begin_identity_attempt(account.id, now).await? {
        IdentityAttempt::Locked { until } => return Err(crate::deletion::identity_locked(until)),
        IdentityAttempt::Charged { attempt_id, .. } => attempt_id,
    };
    if !crate::deletion::number_matches(state, account.id, &approved, typed) {
        crate::audit::user(state, Some(account.id), "unfreeze_identity_failed", None).await;
        return Err(AppError::new(
            ErrorKind::BadRequest,
            "identity_mismatch",
            "That ID number does not match our records. After 5 wrong numbers in a day this check locks for 24 hours.",
        )
        .with("field", "id_number")
        .with_help(crate::deletion::HELP_IDENTITY));
    }
    state.store.forget_identity_attempt(attempt).await?;
    factors::verify_all(state, &account, Purpose::Unfreeze, None, &req.codes).await?;
    if !freeze::lift(
        state,
        account.id,
        &Actor::User,
        "by the owner after 24 hours",
    )
    .await?
    {
        return Err(AppError::conflict("The account is no longer frozen."));
    }
    Ok(())
}
