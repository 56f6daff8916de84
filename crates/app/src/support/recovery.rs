//! The recovery queue: open requests, and approving or rejecting one (R11, R13).

use super::agents::*;
use crate::error::{AppError, ErrorKind};
use crate::factors;
use crate::state::AppState;
use offboard_core::deletion::RecoveryStatus;
use offboard_core::{AccountId, Channel, Purpose};
use offboard_store::{AccountStatus, AuditEntry};
use rust_decimal::Decimal;
use time::OffsetDateTime;

/// An open recovery request as support sees it.
#[derive(Debug, Clone)]
pub struct RecoveryItem {
    pub id: String,
    /// The account behind the email, if there is one.
    pub account_id: Option<AccountId>,
    pub email: String,
    pub message: String,
    /// `match`, `mismatch` or `not_given`: the typed ID number itself is never kept.
    pub id_number_check: String,
    pub created_at: OffsetDateTime,
}

/// Open recovery requests, oldest first.
pub async fn open_recovery(state: &AppState) -> Result<Vec<RecoveryItem>, AppError> {
    let rows = state.store.list_open_recovery().await?;
    Ok(rows
        .into_iter()
        .map(|r| RecoveryItem {
            id: r.id,
            account_id: r.account_id,
            email: r.email,
            message: r.message,
            id_number_check: r.id_number_check,
            created_at: r.created_at,
        })
        .collect())
}

fn request_not_found() -> AppError {
    AppError::new(
        ErrorKind::NotFound,
        "not_found",
        "There is no recovery request with this id.",
    )
}

fn request_decided() -> AppError {
    AppError::conflict("This recovery request was already decided; reload the open requests.")
}

/// Approves a recovery request: the authenticator and phone are removed, every session
/// ends, a password-reset code goes to the account's email and deletion waits 24 hours.
/// The owner then logs in and acts alone. For an account holding assets a `lead` is
/// needed (403 otherwise).
pub async fn approve_recovery(
    state: &AppState,
    agent: &AgentAuth,
    id: &str,
    reason: &str,
) -> Result<(), AppError> {
    let reason = parse_reason(reason)?;
    let request = state
        .store
        .recovery_request(id)
        .await?
        .ok_or_else(request_not_found)?;
    if request.status != RecoveryStatus::Open {
        return Err(request_decided());
    }
    let account = match request.account_id {
        Some(account_id) => state.store.get_account(account_id).await?,
        None => None,
    };
    let Some(account) = account.filter(|a| a.status == AccountStatus::Active) else {
        return Err(AppError::conflict(
            "No active account uses this email; reject the request instead.",
        ));
    };
    let holdings = crate::ledger::holdings(state, account.id).await?;
    let holds_assets = holdings.balances.iter().any(|b| b.amount > Decimal::ZERO)
        || !holdings.holds.is_empty()
        || !holdings.pending.is_empty();
    if holds_assets && !agent.is_lead() {
        return Err(AppError::forbidden(
            "This account holds assets: a lead must approve its recovery.",
        ));
    }
    let now = state.now();
    // R13: downstream services learn the account changed hands (factors reset, sessions
    // revoked), say to end their own sessions. No personal data.
    let payload = serde_json::json!({"account_id": account.id.to_string(), "recovered_at": offboard_core::clock::rfc3339(now)}).to_string();
    let actor = agent.actor();
    // R17: an approved recovery also lifts a freeze (support's path out of it).
    let request_note = if account.frozen_at.is_some() {
        format!("request={id} unfrozen")
    } else {
        format!("request={id}")
    };
    let detail = reason_detail(Some(&request_note), reason);
    let approval = offboard_store::RecoveryApproval {
        request_id: id,
        account_id: account.id,
        agent_id: &agent.agent.id,
        reason,
        cooloff_until: now + offboard_core::deletion::COOL_OFF,
        event_payload: &payload,
        audit: AuditEntry {
            at: now,
            account_id: Some(account.id),
            actor: &actor.to_string(),
            action: "support_recovery_approved",
            detail: Some(&detail),
        },
        now,
    };
    // All or nothing: a failure half-way must not leave the request approved with the
    // old factors still bound.
    if !state.store.approve_recovery(&approval).await? {
        return Err(request_decided());
    }
    state.job_wake.notify_one();
    tell_owner(state, &account).await;
    Ok(())
}

/// After an approval: the security alert (R21), on the factors the owner had (the old
/// phone too), and the password-reset code.
async fn tell_owner(state: &AppState, account: &offboard_store::AccountRow) {
    crate::alerts::send(state, account, crate::alerts::AlertKind::RecoveryApproved).await;
    let reset = factors::send_code(
        state,
        account,
        Purpose::PasswordReset,
        Channel::Email,
        None,
        None,
    );
    if let Err(err) = reset.await {
        // The owner can ask for a reset code themselves once the wait is over.
        tracing::info!(code = err.code, "recovery: password reset code not sent");
    }
}

/// Rejects a recovery request; the requester is told by email, with the reason.
pub async fn reject_recovery(
    state: &AppState,
    agent: &AgentAuth,
    id: &str,
    reason: &str,
) -> Result<(), AppError> {
    let reason = parse_reason(reason)?;
    let request = state
        .store
        .recovery_request(id)
        .await?
        .ok_or_else(request_not_found)?;
    let now = state.now();
    let actor = agent.actor();
    let detail = reason_detail(Some(&format!("request={id}")), reason);
    let entry = AuditEntry {
        at: now,
        account_id: request.account_id,
        actor: &actor.to_string(),
        action: "support_recovery_rejected",
        detail: Some(&detail),
    };
    if request.status != RecoveryStatus::Open
        || !state
            .store
            .decide_recovery_request(id, false, &agent.agent.id, reason, now, &entry)
            .await?
    {
        return Err(request_decided());
    }
    let body = format!(
        "We could not approve your account recovery request.\n\nReason: {reason}\n\nIf you can add information that helps us check it is you (for example the ID number you verified with), send a new request from the \"I cannot sign in\" help page."
    );
    // The person learns the reason only from this email: queued, so a relay outage
    // delays it instead of losing it.
    crate::jobs::send_mail_with_retry(
        state,
        &request.email,
        "Your account recovery request was not approved",
        &body,
        None,
    )
    .await?;
    Ok(())
}
