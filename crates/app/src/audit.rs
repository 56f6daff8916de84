//! The one audit writer (R14) for entries that stand alone. Entries that must commit with
//! the change they describe go into that change's store transaction instead (an
//! `AuditEntry` passed to the store method). A failed write here is logged, never shown:
//! the action it describes already happened.

use crate::state::AppState;
use offboard_core::actor::Actor;
use offboard_core::AccountId;
use offboard_store::AuditEntry;

/// Appends an entry by the account holder.
pub async fn user(
    state: &AppState,
    account_id: Option<AccountId>,
    action: &str,
    detail: Option<&str>,
) {
    by(state, &Actor::User, account_id, action, detail).await;
}

/// Appends an entry by `actor`.
pub async fn by(
    state: &AppState,
    actor: &Actor,
    account_id: Option<AccountId>,
    action: &str,
    detail: Option<&str>,
) {
    let actor = actor.to_string();
    let entry = AuditEntry {
        at: state.now(),
        account_id,
        actor: &actor,
        action,
        detail,
    };
    if let Err(err) = state.store.audit(entry).await {
        tracing::error!(%err, action, "could not write the audit log");
    }
}
