//! R17: "This wasn't me". Freezing from an alert's link (no sign-in) or by the signed-in
//! owner, what a frozen account refuses, and the ways out of it: support's recovery path
//! (`support::recovery`) or the owner after 24 hours with the password, every bound
//! factor and the ID number ([`unfreeze_by_owner`]); never the link.

use crate::error::{AppError, ErrorKind};
use crate::sessions::{Authenticated, MAX_TOKEN_CHARS};
use crate::state::AppState;
use offboard_core::actor::Actor;
use offboard_core::clock::rfc3339;
use offboard_core::crypto::token_hash;
use offboard_core::AccountId;
use offboard_store::{AccountRow, AuditEntry, Freeze, FreezeBy, FreezeOutcome, LinkRefusal};
use time::{Duration, OffsetDateTime};

pub const HELP_FROZEN: &str = "/help/account-frozen";
/// The owner may lift a freeze this long after it began.
pub const OWNER_UNFREEZE_AFTER: Duration = Duration::hours(24);

/// What a frozen account answers to sign-in (after the password verified), withdrawals,
/// factor changes and the start of a deletion.
pub fn frozen_error() -> AppError {
    AppError::new(
        ErrorKind::Forbidden,
        "account_frozen",
        "This account is frozen: nobody can sign in, withdraw, change a factor or delete it. Support can lift the freeze, or you can after 24 hours with your password, every factor and your ID number.",
    )
    .with_help(HELP_FROZEN)
}

/// Refuses an action of a frozen account.
pub fn ensure_not_frozen(account: &AccountRow) -> Result<(), AppError> {
    match account.frozen_at {
        Some(_) => Err(frozen_error()),
        None => Ok(()),
    }
}

/// Refuses an action of a frozen account, reading the account afresh (for paths that
/// hold an account row read before a freeze could have committed).
pub async fn ensure_not_frozen_now(state: &AppState, id: AccountId) -> Result<(), AppError> {
    match state.store.get_account(id).await? {
        Some(account) => ensure_not_frozen(&account),
        None => Ok(()),
    }
}

/// A freeze done (or found done).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frozen {
    pub account_id: AccountId,
    /// Pending withdrawals cancelled and refunded by this freeze.
    pub cancelled_withdrawals: Vec<String>,
    /// The account was frozen already.
    pub already: bool,
}

fn link_refused(why: LinkRefusal) -> AppError {
    match why {
        LinkRefusal::Unknown => AppError::new(
            ErrorKind::NotFound,
            "freeze_link_invalid",
            "This freeze link is not valid. Copy the whole link from the alert, or sign in and freeze the account from the Security page.",
        ),
        LinkRefusal::Used => AppError::new(
            ErrorKind::Conflict,
            "freeze_link_used",
            "This freeze link was already used; each link works once. If the account is not frozen yet, use the link of another alert or the Security page.",
        ),
        LinkRefusal::Expired => AppError::new(
            ErrorKind::Gone,
            "freeze_link_expired",
            "This freeze link expired: links work for 7 days. Sign in and freeze the account from the Security page, or contact support.",
        ),
    }
    .with_help(HELP_FROZEN)
}

/// The account and token hash a link names, or `freeze_link_invalid`.
fn parse_link(account: &str, token: &str) -> Result<(AccountId, String), AppError> {
    let id = account
        .parse::<AccountId>()
        .map_err(|_| link_refused(LinkRefusal::Unknown))?;
    if token.is_empty() || token.len() > MAX_TOKEN_CHARS {
        return Err(link_refused(LinkRefusal::Unknown));
    }
    Ok((id, token_hash(token)))
}

/// Whether a link would freeze now, without spending it (the confirmation page).
pub async fn check_link(state: &AppState, account: &str, token: &str) -> Result<(), AppError> {
    let (id, hash) = parse_link(account, token)?;
    match state
        .store
        .freeze_token_refusal(id, &hash, state.now())
        .await?
    {
        None => Ok(()),
        Some(why) => Err(link_refused(why)),
    }
}

/// Freezes the account an alert's link names; the link is spent.
pub async fn freeze_by_link(
    state: &AppState,
    account: &str,
    token: &str,
) -> Result<Frozen, AppError> {
    let (id, hash) = parse_link(account, token)?;
    freeze(state, id, FreezeBy::Link { token_hash: &hash }, "via=link").await
}

/// The signed-in owner freezes the account (Security page or API); `via` names which.
pub async fn freeze_by_owner(
    state: &AppState,
    user: &Authenticated,
    via: &'static str,
) -> Result<Frozen, AppError> {
    freeze(state, user.account.id, FreezeBy::Owner, via).await
}

async fn freeze(
    state: &AppState,
    id: AccountId,
    by: FreezeBy<'_>,
    via: &str,
) -> Result<Frozen, AppError> {
    let now = state.now();
    let payload =
        serde_json::json!({"account_id": id.to_string(), "frozen_at": rfc3339(now)}).to_string();
    let actor = Actor::User.to_string();
    let outcome = state
        .store
        .freeze_account(&Freeze {
            account_id: id,
            by,
            event_payload: &payload,
            audit: AuditEntry {
                at: now,
                account_id: Some(id),
                actor: &actor,
                action: "account_frozen",
                detail: Some(via),
            },
            now,
        })
        .await?;
    match outcome {
        FreezeOutcome::Frozen {
            cancelled_withdrawals,
        } => {
            // The fan-out job is due now; the runner may be asleep.
            state.job_wake.notify_one();
            Ok(Frozen {
                account_id: id,
                cancelled_withdrawals,
                already: false,
            })
        }
        FreezeOutcome::AlreadyFrozen => Ok(Frozen {
            account_id: id,
            cancelled_withdrawals: Vec::new(),
            already: true,
        }),
        FreezeOutcome::Refused(why) => Err(link_refused(why)),
    }
}

/// When the owner may lift the freeze that began at `frozen_at`.
pub fn owner_unfreeze_from(frozen_at: OffsetDateTime) -> OffsetDateTime {
    frozen_at + OWNER_UNFREEZE_AFTER
}

/// Lifts the freeze of `account` (every check already passed), starting the 24-hour
/// deletion cool-off; `actor` and `detail` go to the audit line.
pub async fn lift(
    state: &AppState,
    account: AccountId,
    actor: &Actor,
    detail: &str,
) -> Result<bool, AppError> {
    let now = state.now();
    let actor = actor.to_string();
    let audit = AuditEntry {
        at: now,
        account_id: Some(account),
        actor: &actor,
        action: "account_unfrozen",
        detail: Some(detail),
    };
    Ok(state
        .store
        .unfreeze_account(account, now + offboard_core::deletion::COOL_OFF, &audit)
        .await?)
}
