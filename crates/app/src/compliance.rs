//! R18: compliance holds never tip off. The host (admin API) or a lead agent places one
//! with an internal reason (sealed at rest); while it stands the deletion stops at the
//! assets step exactly as a generic hold stops it, and withdrawals answer the neutral
//! `withdrawals_paused` every withdrawal-stopping hold gives. The account holder sees a
//! hold of kind `hold` with an opaque reference; only the host and lead agents see that
//! it is a compliance hold, its reason, and its audit lines.

use crate::error::{AppError, ErrorKind};
use crate::state::AppState;
use offboard_core::actor::Actor;
use offboard_core::AccountId;
use offboard_store::{AuditEntry, ComplianceHoldRow};
use rand::Rng;
use time::OffsetDateTime;

/// Audit actions of compliance holds (hidden from agents without the lead role).
pub const PLACED: &str = "compliance_hold_placed";
pub const LIFTED: &str = "compliance_hold_lifted";
const SEAL_DOMAIN: &[u8] = b"compliance-hold";
const MAX_REASON_CHARS: usize = 1000;

pub fn is_compliance_action(action: &str) -> bool {
    action == PLACED || action == LIFTED
}

/// A compliance hold as the host and lead agents see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplianceHold {
    pub hold_id: String,
    pub account_id: AccountId,
    /// What the account holder sees as the reference of a hold of kind `hold`.
    pub reference: String,
    pub reason: String,
    pub placed_by: String,
    pub blocks_withdrawals: bool,
    pub created_at: OffsetDateTime,
}

fn no_such_hold() -> AppError {
    AppError::new(
        ErrorKind::NotFound,
        "not_found",
        "There is no compliance hold with this id.",
    )
}

fn parse_reason(reason: &str) -> Result<&str, AppError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(AppError::validation(
            "reason",
            format!("1 to {MAX_REASON_CHARS} characters: why the hold is placed (internal)"),
        ));
    }
    Ok(reason)
}

/// An opaque reference like a host's (`H-` and 8 hex digits): nothing in it says why.
fn opaque_reference() -> String {
    format!("H-{:08X}", rand::thread_rng().gen::<u32>())
}

/// Places a compliance hold, audited in the same transaction.
pub async fn place(
    state: &AppState,
    actor: &Actor,
    account_id: AccountId,
    reason: &str,
    blocks_withdrawals: bool,
) -> Result<ComplianceHold, AppError> {
    let reason = parse_reason(reason)?;
    let now = state.now();
    let row = ComplianceHoldRow {
        id: uuid::Uuid::now_v7().to_string(),
        account_id,
        reference: opaque_reference(),
        reason_sealed: state
            .config
            .keys
            .secrets
            .seal(SEAL_DOMAIN, reason.as_bytes()),
        placed_by: actor.to_string(),
        blocks_withdrawals,
        created_at: now,
    };
    let detail = format!("hold={} blocks_withdrawals={blocks_withdrawals}", row.id);
    let actor_text = actor.to_string();
    let audit = AuditEntry {
        at: now,
        account_id: Some(account_id),
        actor: &actor_text,
        action: PLACED,
        detail: Some(&detail),
    };
    if !state.store.add_compliance_hold(&row, &audit).await? {
        return Err(crate::identity::no_such_account());
    }
    Ok(open(state, row))
}

fn open(state: &AppState, row: ComplianceHoldRow) -> ComplianceHold {
    let reason = state
        .config
        .keys
        .secrets
        .open(SEAL_DOMAIN, &row.reason_sealed)
        .map(|plain| String::from_utf8_lossy(&plain).into_owned())
        .unwrap_or_else(|| "(sealed with a key this server no longer has)".to_owned());
    ComplianceHold {
        hold_id: row.id,
        account_id: row.account_id,
        reference: row.reference,
        reason,
        placed_by: row.placed_by,
        blocks_withdrawals: row.blocks_withdrawals,
        created_at: row.created_at,
    }
}

/// The account's compliance holds, oldest first.
pub async fn of_account(
    state: &AppState,
    account_id: AccountId,
) -> Result<Vec<ComplianceHold>, AppError> {
    let rows = state.store.compliance_holds_of(account_id).await?;
    Ok(rows.into_iter().map(|r| open(state, r)).collect())
}

/// Lifts a compliance hold, audited in the same transaction.
pub async fn lift(state: &AppState, actor: &Actor, hold_id: &str) -> Result<(), AppError> {
    let Some(hold) = state.store.compliance_hold(hold_id).await? else {
        return Err(no_such_hold());
    };
    let actor_text = actor.to_string();
    let detail = format!("hold={hold_id}");
    let audit = AuditEntry {
        at: state.now(),
        account_id: Some(hold.account_id),
        actor: &actor_text,
        action: LIFTED,
        detail: Some(&detail),
    };
    if !state.store.release_compliance_hold(hold_id, &audit).await? {
        return Err(no_such_hold());
    }
    Ok(())
}
