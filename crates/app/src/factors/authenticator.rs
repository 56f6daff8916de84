//! Authenticator (TOTP) codes: checked with replay protection, and the first code that
//! turns a pending authenticator on.

use super::verdicts::verdict_error;
use crate::audit;
use crate::error::AppError;
use crate::state::AppState;
use offboard_core::otp::{self, Verdict};
use offboard_core::{totp, AccountId, OtpCode, Purpose};
use offboard_store::TotpRow;

/// The two times a code is judged at: the app's (rate limits, which follow the dev clock
/// like every other expiry) and the real one (the code itself: see
/// [`AppState::authenticator_now`]).
#[derive(Clone, Copy)]
struct Instants {
    app: time::OffsetDateTime,
    authenticator: time::OffsetDateTime,
}

/// Judges an authenticator code for `check_totp`. `setup` accepts a not yet confirmed
/// authenticator (the first code turns it on).
fn judge_totp(
    open_secret: impl FnOnce(&TotpRow) -> Option<String>,
    row: Option<&TotpRow>,
    failures: u32,
    oldest: Option<time::OffsetDateTime>,
    submitted: Option<&OtpCode>,
    setup: bool,
    at: Instants,
) -> (Verdict, Option<i64>) {
    let now = at.app;
    if failures >= otp::MAX_FAILURES_PER_HOUR {
        let ready = oldest.map(|t| t + otp::HOUR).unwrap_or(now + otp::HOUR);
        let secs = (ready - now).whole_seconds().max(1);
        return (
            Verdict::RateLimited {
                retry_after: time::Duration::seconds(secs),
            },
            None,
        );
    }
    let Some(row) = row.filter(|r| r.confirmed != setup) else {
        return (Verdict::NoCode, None);
    };
    let Some(code) = submitted else {
        return (Verdict::Wrong { attempts_left: 0 }, None);
    };
    let Some(secret) = open_secret(row) else {
        tracing::error!("a stored authenticator secret does not open with the secrets key");
        return (Verdict::NoCode, None);
    };
    match totp::matching_step(&secret, code, at.authenticator, row.last_step) {
        Ok(Some(step)) => (Verdict::Accepted, Some(step)),
        Ok(None) => (Verdict::Wrong { attempts_left: 0 }, None),
        Err(err) => {
            tracing::error!(%err, "stored authenticator secret is unreadable");
            (Verdict::NoCode, None)
        }
    }
}

/// What a checked authenticator code is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpUse {
    /// Accept it and record its time step, so it is never accepted again (a login).
    Spend,
    /// Only check it: the step is recorded later, with the action it approves (the
    /// deletion's final transaction).
    Check,
    /// The first code of a pending authenticator: accepting it turns the authenticator on.
    Confirm,
}

/// Confirms a pending authenticator with its first code and audits the binding: the one
/// path of the API and the Security page.
pub async fn confirm_authenticator(
    state: &AppState,
    account_id: AccountId,
    code: &str,
) -> Result<(), AppError> {
    crate::freeze::ensure_not_frozen_now(state, account_id).await?;
    check_totp(
        state,
        account_id,
        Purpose::FactorSetup,
        code,
        TotpUse::Confirm,
    )
    .await?;
    audit::user(state, Some(account_id), "totp_bound", None).await;
    if let Some(account) = state.store.get_account(account_id).await? {
        crate::alerts::send(state, &account, crate::alerts::AlertKind::FactorAdded).await;
    }
    Ok(())
}

/// Checks an authenticator code for `purpose`, used as `usage` says.
pub async fn check_totp(
    state: &AppState,
    account_id: AccountId,
    purpose: Purpose,
    code: &str,
    usage: TotpUse,
) -> Result<Option<i64>, AppError> {
    let consume = usage != TotpUse::Check;
    let setup = usage == TotpUse::Confirm;
    let submitted = OtpCode::parse(code);
    let now = state.now();
    let at = Instants {
        app: now,
        authenticator: state.authenticator_now(),
    };
    let owner = account_id.to_string();
    let open = |row: &TotpRow| totp::open_secret(&state.config.keys.secrets, &owner, &row.secret);
    let (verdict, step) = state
        .store
        .check_totp(
            account_id,
            purpose,
            now,
            consume,
            |row, failures, oldest| {
                judge_totp(open, row, failures, oldest, submitted.as_ref(), setup, at)
            },
        )
        .await?;
    if verdict != Verdict::Accepted {
        audit::user(
            state,
            Some(account_id),
            "code_failed",
            Some(&format!("purpose={} factor=totp", purpose.as_str())),
        )
        .await;
        return Err(verdict_error(verdict, "totp"));
    }
    Ok(step)
}
