//! R9's tombstones: what remains of a deleted account's email, phone and document is a
//! keyed hash, and while it stands the same identity cannot register again.

use crate::error::{AppError, ErrorKind};
use crate::state::AppState;
use offboard_core::clock::{human_time, rfc3339};
use offboard_core::crypto::SecretKey;

pub const HELP_REREGISTER: &str = "/help/reregister";

/// R9: the keyed hash a tombstone keeps for an email or phone (never the value).
pub fn hash(key: SecretKey, kind: &str, value: &str) -> String {
    key.keyed_hash(&format!("tombstone-{kind}"), value)
}

/// R9: refuses a tombstoned email, phone or document with the date it becomes possible.
pub async fn check(state: &AppState, kind: &str, hash: &str) -> Result<(), AppError> {
    if let Some(until) = state.store.tombstone_blocks(hash, state.now()).await? {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            "reregistration_blocked",
            format!(
                "This {kind} belonged to an account deleted less than {} days ago. It can be used again from {}.",
                state.config.deletion.reregister_wait.whole_days(),
                human_time(until)
            ),
        )
        .with("allowed_from", rfc3339(until))
        .with_help(HELP_REREGISTER));
    }
    Ok(())
}
