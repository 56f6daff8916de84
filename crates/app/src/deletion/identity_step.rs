//! The identity step (R6): the ID number of the approved verification, or the password
//! for an account that never verified, with five tries a day under a lock.

use super::erasure;
use super::flow::*;
use crate::audit;
use crate::error::AppError;
use crate::error::ErrorKind;
use crate::sessions::Authenticated;
use crate::state::AppState;
use offboard_core::clock::{human_time, rfc3339};
use offboard_core::crypto::constant_time_eq;
use offboard_core::deletion::{self};
use offboard_core::identity::DocumentNumber;
use offboard_store::IdentityAttempt;
use time::OffsetDateTime;

pub(crate) fn identity_locked(until: OffsetDateTime) -> AppError {
    AppError::new(
        ErrorKind::Locked,
        "identity_locked",
        format!(
            "The ID number was wrong 5 times, so this step is locked until {}. If you cannot find the number of your original document, contact support.",
            human_time(until)
        ),
    )
    .with("locked_until", rfc3339(until))
    .with_help(HELP_IDENTITY)
}

/// What the identity step was answered with.
enum IdentityAnswer<'a> {
    /// The account never completed identity verification: its password.
    Password(&'a str),
    /// The number of the document from the original verification, as typed.
    Number(&'a str),
}

/// Identity → Deleted (R6, then R7 in one transaction).
pub async fn submit_identity(
    state: &AppState,
    user: &Authenticated,
    live: &LiveFlow,
    id_number: Option<&str>,
    password: Option<&str>,
) -> Result<Deleted, AppError> {
    let now = state.now();
    let account_id = user.account.id;
    let identity = state.store.identity(account_id).await?;
    let approved: Vec<_> = identity
        .as_ref()
        .map(|i| i.approved_numbers().cloned().collect())
        .unwrap_or_default();
    // A missing answer is a form error, not a wrong answer: it costs no try.
    let answer = if approved.is_empty() {
        let Some(password) = password.filter(|p| !p.is_empty()) else {
            return Err(AppError::validation("password", "is required: this account never completed identity verification, so it confirms with its password"));
        };
        IdentityAnswer::Password(password)
    } else {
        let Some(typed) = id_number.filter(|n| !n.trim().is_empty()) else {
            return Err(AppError::validation(
                "id_number",
                "is required: type the number of the document from your identity verification",
            )
            .with_help(HELP_IDENTITY));
        };
        IdentityAnswer::Number(typed)
    };
    // A password answer takes its place in the hashing queue before a try is charged:
    // a busy server answers 503 and costs the user nothing.
    let place = match answer {
        IdentityAnswer::Password(_) => Some(state.hashing.reserve()?),
        IdentityAnswer::Number(_) => None,
    };
    // R6: the answer is counted and the lock checked in one serialised step before it
    // is evaluated, so a parallel burst cannot evaluate more than five.
    let (attempt_id, used) = match state.store.begin_identity_attempt(account_id, now).await? {
        IdentityAttempt::Locked { until } => return Err(identity_locked(until)),
        IdentityAttempt::Charged {
            attempt_id,
            failures,
        } => (attempt_id, failures),
    };
    if !answer_matches(state, user, &approved, answer, place).await? {
        audit::user(state, Some(account_id), "deletion_identity_failed", None).await;
        if let Some(until) = deletion::identity_locked_until(used, Some(now), now) {
            return Err(identity_locked(until));
        }
        let left = deletion::MAX_IDENTITY_FAILURES - used;
        let (field, what) = if approved.is_empty() {
            ("password", "password")
        } else {
            ("id_number", "ID number")
        };
        return Err(AppError::new(
            ErrorKind::BadRequest,
            "identity_mismatch",
            format!("That {what} does not match our records. {left} tries left before this step locks for 24 hours."),
        )
        .with("attempts_left", left)
        .with("field", field)
        .with_help(HELP_IDENTITY));
    }
    state.store.forget_identity_attempt(attempt_id).await?;
    erasure::erase(state, user, live, identity.as_ref()).await
}

/// Whether the answer is the account's: its password, or the number of an approved
/// document (blind index first, then the decrypted original; expiry does not matter).
async fn answer_matches(
    state: &AppState,
    user: &Authenticated,
    approved: &[offboard_store::StoredDocumentNumber],
    answer: IdentityAnswer<'_>,
    place: Option<crate::hashing::Reservation>,
) -> Result<bool, AppError> {
    let account_id = user.account.id;
    let password_hash = Some(user.account.password_hash.as_str());
    Ok(match answer {
        IdentityAnswer::Password(password) => match place {
            Some(place) => place.verify(password_hash, password).await?,
            None => state.hashing.verify(password_hash, password).await?,
        },
        IdentityAnswer::Number(typed) => number_matches(state, account_id, approved, typed),
    })
}

/// Whether `typed` is the number of one of the account's approved documents (blind
/// index first, then the decrypted original): the deletion's identity step and the
/// owner's unfreeze (R17) ask the same.
pub fn number_matches(
    state: &AppState,
    account_id: offboard_core::AccountId,
    approved: &[offboard_store::StoredDocumentNumber],
    typed: &str,
) -> bool {
    match DocumentNumber::parse(typed) {
        Ok(number) => {
            let index = crate::identity::document_index(state, &number);
            approved.iter().any(|stored| {
                constant_time_eq(stored.index.as_bytes(), index.as_bytes())
                    && crate::identity::open_number(state, account_id, &stored.sealed)
                        .is_some_and(|n| n.matches(&number))
            })
        }
        Err(_) => false,
    }
}
