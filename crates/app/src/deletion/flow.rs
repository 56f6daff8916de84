//! The flow's steps before the last: load (R1, R2), start, view, notes and captcha
//! (R3), assets (R4), codes and factors (R5), and the answers they refuse with.

use crate::config::CaptchaPolicy;
use crate::error::AppError;
use crate::error::ErrorKind;
use crate::factors::{self, FactorCodes};
use crate::ledger;
use crate::sessions::Authenticated;
use crate::state::AppState;
use offboard_core::captcha::{self, Challenge};
use offboard_core::clock::{human_time, rfc3339};
use offboard_core::crypto::constant_time_eq;
use offboard_core::deletion::{self, FlowState, FlowStatus, Gate, Request, Step};
use offboard_core::money::{Blocker, BlockerAction};
use offboard_core::{Channel, Purpose};
use offboard_store::FlowRow;
use time::OffsetDateTime;

pub const HELP_DELETE: &str = "/help/delete-account";
pub const HELP_IDENTITY: &str = "/help/identity-check-failed";
pub const HELP_ASSETS: &str = ledger::HELP_ASSETS;
pub const HELP_COOL_OFF: &str = "/help/deletion-cool-off";
pub const HELP_CAPTCHA: &str = "/help/captcha";
pub use crate::tombstones::HELP_REREGISTER;

/// How the identity step asks the person to prove it is them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityMethod {
    /// The ID number of the approved identity verification (R6).
    IdNumber,
    /// No approved identity: the account password instead.
    Password,
}

impl IdentityMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityMethod::IdNumber => "id_number",
            IdentityMethod::Password => "password",
        }
    }
}

/// A deletion flow as its owner sees it at one instant (API.md "Deletion flow").
#[derive(Debug, Clone)]
pub struct Flow {
    pub id: String,
    pub step: Step,
    /// When the flow expires if nothing happens (every request touches it).
    pub expires_at: OffsetDateTime,
    /// At `notes`, when a captcha must be solved.
    pub captcha: Option<Challenge>,
    /// What still blocks deletion (at `notes` and `assets`).
    pub blocking: Vec<Blocker>,
    /// The factors the verification step asks a code of.
    pub factors: factors::BoundFactors,
    pub identity_method: IdentityMethod,
    /// Set once deleted.
    pub deleted_at: Option<OffsetDateTime>,
    pub reregister_after: Option<OffsetDateTime>,
    /// Set while deletion waits after a password reset, factor reset or recovery.
    pub cooloff_until: Option<OffsetDateTime>,
}

/// A flow loaded for a request, after the owner, session and expiry checks.
#[derive(Debug, Clone)]
pub struct LiveFlow {
    pub flow: FlowRow,
    pub step: Step,
}

/// The 24-hour pause after a password reset, a 2FA reset or an account recovery (R11: who
/// took over an account through recovery or a reset cannot delete it at once).
pub fn cool_off(until: OffsetDateTime) -> AppError {
    AppError::new(
        ErrorKind::Forbidden,
        "deletion_cool_off",
        format!(
            "For your safety, deletion is possible 24 hours after a password reset, a 2FA reset or an account recovery: from {}.",
            human_time(until)
        ),
    )
    .with("allowed_from", rfc3339(until))
    .with_help(HELP_COOL_OFF)
}

fn not_found() -> AppError {
    AppError::new(
        ErrorKind::NotFound,
        "not_found",
        "There is no deletion in progress at this address. Start again from Security → Delete.",
    )
    .with_help(HELP_DELETE)
}

pub fn wrong_step(current: Step) -> AppError {
    AppError::new(
        ErrorKind::Conflict,
        "wrong_step",
        format!(
            "That step is not open yet. Continue with the current step: {}.",
            current.label()
        ),
    )
    .with("step", current.as_str())
    .with_help(HELP_DELETE)
}

fn expired(idle: time::Duration) -> AppError {
    AppError::new(
        ErrorKind::Gone,
        "flow_expired",
        format!(
            "This deletion expired after {} minutes without activity. Start again from Security → Delete.",
            idle.whole_minutes()
        ),
    )
    .with_help(HELP_DELETE)
}

/// R1 + R2: the flow must belong to this account and session, be live, and allow the
/// request at its current step. Touches the flow (activity).
pub async fn load(
    state: &AppState,
    user: &Authenticated,
    flow_id: &str,
    request: Request,
) -> Result<LiveFlow, AppError> {
    let Some(flow) = state.store.flow(flow_id).await? else {
        return Err(not_found());
    };
    // Another account's or another session's flow looks like no flow at all.
    if flow.account_id != user.account.id
        || !constant_time_eq(flow.session_hash.as_bytes(), user.token_hash.as_bytes())
    {
        return Err(not_found());
    }
    let now = state.now();
    let flow_state = match flow.status {
        FlowStatus::Live
            if deletion::is_expired(flow.updated_at, now, state.config.deletion.flow_idle) =>
        {
            state.store.expire_flow(&flow.id, now).await?;
            FlowState::Expired
        }
        FlowStatus::Live => FlowState::Live(flow.step),
        FlowStatus::Completed => FlowState::Live(Step::Deleted),
        FlowStatus::Expired | FlowStatus::Replaced => FlowState::Expired,
    };
    match deletion::gate(flow_state, request) {
        Gate::Proceed(step) => {
            // Activity is kept to the second; a touch within the second of the last
            // would write the same value, so it is skipped (one write less per step).
            if step != Step::Deleted && now.unix_timestamp() > flow.updated_at.unix_timestamp() {
                state.store.touch_flow(&flow.id, now).await?;
            }
            Ok(LiveFlow { flow, step })
        }
        Gate::WrongStep(current) => Err(wrong_step(current)),
        Gate::Expired => Err(expired(state.config.deletion.flow_idle)),
        Gate::Finished => Err(wrong_step(Step::Deleted)),
    }
}

/// The deletion this session has under way: what every page's "Continue account
/// deletion" banner links to. Read only: it neither touches nor expires the flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Underway {
    pub flow_id: String,
    pub step: Step,
}

pub async fn underway(
    state: &AppState,
    user: &Authenticated,
) -> Result<Option<Underway>, AppError> {
    let Some(flow) = state.store.live_flow(user.account.id).await? else {
        return Ok(None);
    };
    let mine = constant_time_eq(flow.session_hash.as_bytes(), user.token_hash.as_bytes());
    let idle = deletion::is_expired(
        flow.updated_at,
        state.now(),
        state.config.deletion.flow_idle,
    );
    Ok(
        (mine && !idle && flow.step != Step::Deleted).then_some(Underway {
            flow_id: flow.id,
            step: flow.step,
        }),
    )
}

/// The end of a running 24-hour cool-off (after a password reset, a factor reset or a
/// recovery), if one runs now.
pub async fn cooloff_until(
    state: &AppState,
    account_id: offboard_core::AccountId,
) -> Result<Option<OffsetDateTime>, AppError> {
    let now = state.now();
    Ok(state
        .store
        .cooloff_until(account_id)
        .await?
        .filter(|t| *t > now))
}

/// R3 `risk`: a captcha when this session's device is new to the account, when the
/// account is younger than a week, or after failed codes or ID attempts in the last day.
pub async fn captcha_needed(state: &AppState, user: &Authenticated) -> Result<bool, AppError> {
    match state.config.deletion.captcha {
        CaptchaPolicy::Always => Ok(true),
        CaptchaPolicy::Never => Ok(false),
        CaptchaPolicy::Risk => {
            let now = state.now();
            let sessions = state.store.list_sessions(user.account.id).await?;
            let mine = sessions.iter().find(|s| s.token_hash == user.token_hash);
            let known_device = mine.is_some_and(|me| {
                sessions.iter().any(|s| {
                    s.token_hash != me.token_hash
                        && s.user_agent == me.user_agent
                        && s.created_at < me.created_at
                })
            });
            let young = now - user.account.created_at < time::Duration::days(7);
            let (id_failures, _) = state.store.identity_failures(user.account.id, now).await?;
            let code_failures = state
                .store
                .recent_code_failures(user.account.id, now - time::Duration::days(1))
                .await?;
            Ok(!known_device || young || id_failures > 0 || code_failures > 0)
        }
    }
}

/// Starts or resumes the account's flow (one live flow per account, R2).
pub async fn start(state: &AppState, user: &Authenticated) -> Result<(FlowRow, bool), AppError> {
    crate::freeze::ensure_not_frozen(&user.account)?;
    let captcha = captcha_needed(state, user).await?;
    let now = state.now();
    let started =
        offboard_store::AuditEntry::by_user(now, user.account.id, "deletion_started", None);
    let (flow, created) = state
        .store
        .start_flow(user.account.id, &user.token_hash, captcha, now, &started)
        .await?;
    if created {
        crate::alerts::send(
            state,
            &user.account,
            crate::alerts::AlertKind::DeletionStarted,
        )
        .await;
    }
    Ok((flow, created))
}

/// The flow object as API.md shows it.
pub async fn view(
    state: &AppState,
    user: &Authenticated,
    flow: &FlowRow,
    step: Step,
) -> Result<Flow, AppError> {
    let now = state.now();
    let bound = factors::bound_factors(&user.account);
    let identity_method = if identity_approved(state, user).await? {
        IdentityMethod::IdNumber
    } else {
        IdentityMethod::Password
    };
    let blocking = if matches!(step, Step::Notes | Step::Assets) {
        ledger::blockers(state, user.account.id).await?
    } else {
        Vec::new()
    };
    let captcha = (step == Step::Notes && flow.captcha_required).then(|| {
        captcha::issue(
            &state.config.keys.captcha,
            &flow.id,
            state.config.deletion.captcha_max_number,
            now,
        )
    });
    let cooloff = cooloff_until(state, user.account.id).await?;
    Ok(Flow {
        id: flow.id.clone(),
        step,
        expires_at: now + state.config.deletion.flow_idle,
        captcha,
        blocking,
        factors: bound,
        identity_method,
        deleted_at: None,
        reregister_after: None,
        cooloff_until: cooloff,
    })
}

async fn identity_approved(state: &AppState, user: &Authenticated) -> Result<bool, AppError> {
    Ok(state
        .store
        .identity(user.account.id)
        .await?
        .is_some_and(|i| i.approved_numbers().next().is_some()))
}

/// Notes → (Assets | Verification): acknowledgement, cool-off, captcha, gate.
pub async fn confirm(
    state: &AppState,
    user: &Authenticated,
    live: &LiveFlow,
    acknowledged: bool,
    captcha_answer: Option<&str>,
) -> Result<Step, AppError> {
    let now = state.now();
    if !acknowledged {
        return Err(AppError::validation(
            "acknowledged",
            "tick that you have read the notes and understand deletion is permanent",
        )
        .with_help(HELP_DELETE));
    }
    if let Some(until) = cooloff_until(state, user.account.id).await? {
        return Err(cool_off(until));
    }
    if live.flow.captcha_required {
        let Some(answer) = captcha_answer.filter(|a| !a.trim().is_empty()) else {
            return Err(AppError::new(
                ErrorKind::BadRequest,
                "captcha_required",
                "Solve the short browser check first; the page does it for you with JavaScript.",
            )
            .with_help(HELP_CAPTCHA));
        };
        let solution = captcha::verify(
            &state.config.keys.captcha,
            answer,
            &live.flow.id,
            state.config.deletion.captcha_max_number,
            now,
        )
        .map_err(|e| {
            AppError::new(
                ErrorKind::BadRequest,
                "captcha_invalid",
                format!("The browser check did not pass ({e}). Reload the page to get a new one."),
            )
            .with_help(HELP_CAPTCHA)
        })?;
        if !state
            .store
            .use_captcha(&solution.challenge, &live.flow.id, now)
            .await?
        {
            return Err(AppError::new(
                ErrorKind::BadRequest,
                "captcha_invalid",
                "This browser check was already used. Reload the page to get a new one.",
            )
            .with_help(HELP_CAPTCHA));
        }
    }
    let nothing_blocks = ledger::blockers(state, user.account.id).await?.is_empty();
    let next = deletion::next_step(Step::Notes, Request::Confirm, nothing_blocks);
    advance(state, user, live, next).await
}

async fn advance(
    state: &AppState,
    user: &Authenticated,
    live: &LiveFlow,
    next: Step,
) -> Result<Step, AppError> {
    if next == live.step {
        return Ok(next);
    }
    let detail = format!("{}→{}", live.step.as_str(), next.as_str());
    let entry = offboard_store::AuditEntry::by_user(
        state.now(),
        user.account.id,
        "deletion_step",
        Some(&detail),
    );
    if !state
        .store
        .advance_flow_audited(&live.flow.id, live.step, next, &entry)
        .await?
    {
        // Another tab moved it meanwhile: answer with where it is now.
        let now_at = state
            .store
            .flow(&live.flow.id)
            .await?
            .map(|f| f.step)
            .unwrap_or(live.step);
        return Err(wrong_step(now_at));
    }
    crate::metrics::step_transition(next.as_str());
    Ok(next)
}

/// Assets → Verification when nothing blocks any more (R4).
pub async fn check_assets(
    state: &AppState,
    user: &Authenticated,
    live: &LiveFlow,
) -> Result<Step, AppError> {
    let blockers = ledger::blockers(state, user.account.id).await?;
    let next = deletion::next_step(Step::Assets, Request::CheckAssets, blockers.is_empty());
    if next == Step::Assets {
        return Err(assets_remaining(&blockers));
    }
    advance(state, user, live, next).await
}

/// The action that clears a blocker and the page where the person takes it, when we
/// have one.
/// What clears a blocker, and the page that does it: a balance opens the withdraw form
/// with its asset chosen (asset codes are letters and digits, safe in a query).
pub fn blocker_action(blocker: &Blocker) -> (BlockerAction, Option<String>) {
    let action = blocker.kind.action();
    let page = match (action, blocker.asset.as_deref()) {
        (BlockerAction::Withdraw, Some(asset))
            if asset.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            Some(format!("/assets?asset={asset}#withdraw"))
        }
        (BlockerAction::Withdraw, _) => Some("/assets#withdraw".to_owned()),
        (BlockerAction::Wait, _) => Some("/assets#pending".to_owned()),
        (BlockerAction::CloseOnExchange, _) => None,
    };
    (action, page)
}

/// A blocker as API.md shows it, inside the `assets_remaining` error's details.
fn blocker_json(blocker: &Blocker) -> serde_json::Value {
    let (action, action_url) = blocker_action(blocker);
    let mut object = serde_json::Map::new();
    object.insert("kind".into(), blocker.kind.as_str().into());
    for (key, value) in [
        ("asset", &blocker.asset),
        ("amount", &blocker.amount),
        ("reference", &blocker.reference),
    ] {
        if let Some(value) = value {
            object.insert(key.into(), value.clone().into());
        }
    }
    object.insert("action".into(), action.as_str().into());
    if let Some(url) = action_url {
        object.insert("action_url".into(), url.into());
    }
    object.into()
}

pub fn assets_remaining(blockers: &[Blocker]) -> AppError {
    let views: Vec<serde_json::Value> = blockers.iter().map(blocker_json).collect();
    AppError::new(
        ErrorKind::Conflict,
        "assets_remaining",
        "Some assets are still in the account. Withdraw them, and close open orders or bots where they were opened, then try again.",
    )
    .with("blocking", views)
    .with_help(HELP_ASSETS)
}

/// A deletion code by email or SMS (purpose `deletion`, bound to this flow).
pub async fn send_code(
    state: &AppState,
    user: &Authenticated,
    live: &LiveFlow,
    channel: &str,
) -> Result<i64, AppError> {
    let channel = Channel::parse(channel)
        .ok_or_else(|| AppError::validation("channel", "must be \"email\" or \"sms\""))?;
    factors::send_code(
        state,
        &user.account,
        Purpose::Deletion,
        channel,
        Some(&live.flow.id),
        None,
    )
    .await
}

/// Verification → Identity: a code for every bound factor (R5).
pub async fn verify(
    state: &AppState,
    user: &Authenticated,
    live: &LiveFlow,
    codes: &FactorCodes,
) -> Result<Step, AppError> {
    factors::verify_all(
        state,
        &user.account,
        Purpose::Deletion,
        Some(&live.flow.id),
        codes,
    )
    .await?;
    advance(state, user, live, Step::Identity).await
}

/// The answer of a completed deletion.
#[derive(Debug, Clone)]
pub struct Deleted {
    pub deleted_at: OffsetDateTime,
    pub reregister_after: OffsetDateTime,
    /// The erased passkeys' credential ids (base64url), read just before the erasure:
    /// the Deleted page tells the browser they are gone (R16). Nothing keeps them.
    pub passkey_ids: Vec<String>,
}
