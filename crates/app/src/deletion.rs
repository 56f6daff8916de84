//! The deletion journey (PRODUCT.md R1-R10, R12-R14), shared by the JSON API and the web
//! pages. `offboard_core::deletion` decides which request is allowed at which step; this
//! module gathers the facts (assets, codes, identity) and runs the final transaction.

use crate::audit;
use crate::config::CaptchaPolicy;
use crate::error::AppError;
use crate::error::ErrorKind;
use crate::factors::{self, FactorCodes};
use crate::ledger;
use crate::notify::deletion_notice;
use crate::sessions::Authenticated;
use crate::state::AppState;
use offboard_core::captcha::{self, Challenge};
use offboard_core::clock::{human_time, rfc3339};
use offboard_core::crypto::{constant_time_eq, SecretKey};
use offboard_core::deletion::{self, FlowState, FlowStatus, Gate, Request, Step};
use offboard_core::identity::DocumentNumber;
use offboard_core::money::{Blocker, BlockerAction};
use offboard_core::{Channel, Purpose};
use offboard_store::{
    AccountRow, EraseOutcome, Erasure, FlowRow, IdentityAttempt, RetainedRecord, SealedNotice,
    Tombstone,
};
use time::OffsetDateTime;

pub const HELP_DELETE: &str = "/help/delete-account";
pub const HELP_IDENTITY: &str = "/help/identity-check-failed";
pub const HELP_ASSETS: &str = "/help/assets-remaining";
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
            if step != Step::Deleted {
                state.store.touch_flow(&flow.id, now).await?;
            }
            Ok(LiveFlow { flow, step })
        }
        Gate::WrongStep(current) => Err(wrong_step(current)),
        Gate::Expired => Err(expired(state.config.deletion.flow_idle)),
        Gate::Finished => Err(wrong_step(Step::Deleted)),
    }
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
    let captcha = captcha_needed(state, user).await?;
    let (flow, created) = state
        .store
        .start_flow(user.account.id, &user.token_hash, captcha, state.now())
        .await?;
    if created {
        audit::user(state, Some(user.account.id), "deletion_started", None).await;
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
    let bound = factors::bound_factors(state, &user.account).await?;
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
    let cooloff = state
        .store
        .cooloff_until(user.account.id)
        .await?
        .filter(|t| *t > now);
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
    if let Some(until) = state
        .store
        .cooloff_until(user.account.id)
        .await?
        .filter(|t| *t > now)
    {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            "deletion_cool_off",
            format!(
                "For your safety, deletion is possible 24 hours after a password reset, a 2FA reset or an account recovery: from {}.",
                human_time(until)
            ),
        )
        .with("allowed_from", rfc3339(until))
        .with_help(HELP_COOL_OFF));
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
    if next != live.step
        && !state
            .store
            .advance_flow(&live.flow.id, live.step, next, state.now())
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
    if next != live.step {
        crate::metrics::step_transition(next.as_str());
        audit::user(
            state,
            Some(user.account.id),
            "deletion_step",
            Some(&format!("{}→{}", live.step.as_str(), next.as_str())),
        )
        .await;
    }
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
pub fn blocker_action(blocker: &Blocker) -> (BlockerAction, Option<&'static str>) {
    let action = blocker.kind.action();
    let page = match action {
        BlockerAction::Withdraw => Some("/assets#withdraw"),
        BlockerAction::Wait => Some("/assets"),
        BlockerAction::CloseOnExchange => None,
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

fn identity_locked(until: OffsetDateTime) -> AppError {
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

/// The answer of a completed deletion.
#[derive(Debug, Clone)]
pub struct Deleted {
    pub deleted_at: OffsetDateTime,
    pub reregister_after: OffsetDateTime,
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
    // R6: the answer is counted and the lock checked in one serialised step before it
    // is evaluated, so a parallel burst cannot evaluate more than five.
    let (attempt_id, used) = match state.store.begin_identity_attempt(account_id, now).await? {
        IdentityAttempt::Locked { until } => return Err(identity_locked(until)),
        IdentityAttempt::Charged {
            attempt_id,
            failures,
        } => (attempt_id, failures),
    };
    let matched = match answer {
        IdentityAnswer::Password(password) => {
            state
                .hashing
                .verify(Some(&user.account.password_hash), password)
                .await?
        }
        IdentityAnswer::Number(typed) => match DocumentNumber::parse(typed) {
            Ok(number) => {
                let index = crate::identity::document_index(state, &number);
                // Blind index first, then the decrypted original (expiry does not matter).
                approved.iter().any(|stored| {
                    constant_time_eq(stored.index.as_bytes(), index.as_bytes())
                        && crate::identity::open_number(state, account_id, &stored.sealed)
                            .is_some_and(|n| n.matches(&number))
                })
            }
            Err(_) => false,
        },
    };
    if !matched {
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
    erase(state, user, live, identity.as_ref()).await
}

/// The last step: everything the erasure writes, built here and written by the store
/// in one transaction (R7), then the answer for each way it can end.
async fn erase(
    state: &AppState,
    user: &Authenticated,
    live: &LiveFlow,
    identity: Option<&offboard_store::IdentityRow>,
) -> Result<Deleted, AppError> {
    let account = &user.account;
    // With the host as asset source, check right before; the embedded ledger is checked
    // again inside the transaction.
    let recheck_ledger = matches!(
        state.config.asset_source,
        crate::config::AssetSourceConfig::Embedded
    );
    if !recheck_ledger {
        let blockers = ledger::blockers(state, account.id).await?;
        if !blockers.is_empty() {
            return Err(assets_remaining(&blockers));
        }
    }
    let erasure = erasure_of(state, account, &live.flow.id, identity, recheck_ledger).await?;
    match state.store.erase_account(&erasure).await? {
        EraseOutcome::Erased => {
            crate::metrics::step_transition(Step::Deleted.as_str());
            // Send the notice without waiting on the relay; the runner retries it if
            // that fails. The scrub job (R20) vacuums what the erasure touched.
            crate::jobs::run_detached(state, &erasure.notice_id).await;
            crate::jobs::spawn_now(state, &format!("scrub:{}", account.id));
            tracing::info!(account = %account.id, "account deleted");
            Ok(Deleted {
                deleted_at: erasure.now,
                reregister_after: erasure.allowed_from,
            })
        }
        EraseOutcome::Blocked(blockers) => {
            blocked_at_final_step(state, account.id, live, erasure.now).await;
            Err(assets_remaining(&blockers))
        }
        EraseOutcome::FlowGone => Err(wrong_step(
            state
                .store
                .flow(&live.flow.id)
                .await?
                .map(|f| f.step)
                .unwrap_or(Step::Deleted),
        )),
    }
}

/// Everything one erasure writes: tombstones, sealed records, the notice, the event.
async fn erasure_of(
    state: &AppState,
    account: &AccountRow,
    flow_id: &str,
    identity: Option<&offboard_store::IdentityRow>,
    recheck_ledger: bool,
) -> Result<Erasure, AppError> {
    let now = state.now();
    let keys = &state.config.keys;
    let allowed_from = now + state.config.deletion.reregister_wait;
    let mut retained = Vec::new();
    if let Some(identity) = identity {
        retained.push(retained_identity(state, account, identity));
    }
    retained.push(retained_transactions(state, account).await?);
    let notice = deletion_notice(&human_time(now), &human_time(allowed_from));
    Ok(Erasure {
        account_id: account.id,
        flow_id: flow_id.to_owned(),
        now,
        recheck_ledger,
        dust: ledger::dust(state),
        tombstones: tombstones_of(state, account, identity),
        allowed_from,
        retained,
        purge_after: now + state.config.deletion.retention,
        notice: SealedNotice {
            recipient: crate::jobs::seal_mail(state, &account.email),
            subject: notice.subject,
            text: crate::jobs::seal_mail(state, &notice.text),
            html: crate::jobs::seal_mail(state, &notice.html),
        },
        notice_id: uuid::Uuid::now_v7().to_string(),
        event_payload:
            serde_json::json!({"account_id": account.id.to_string(), "deleted_at": rfc3339(now)})
                .to_string(),
        login_key: keys
            .blind_index
            .keyed_hash("login-throttle", &account.email),
        email: account.email.clone(),
    })
}

/// R9: the keyed hashes of the email, the phone and every document number.
fn tombstones_of(
    state: &AppState,
    account: &AccountRow,
    identity: Option<&offboard_store::IdentityRow>,
) -> Vec<Tombstone> {
    let key = &state.config.keys.blind_index;
    let mut tombstones = vec![Tombstone {
        kind: "email".to_owned(),
        hash: crate::tombstones::hash(key.clone(), "email", &account.email),
    }];
    if let Some(phone) = &account.phone {
        tombstones.push(Tombstone {
            kind: "phone".to_owned(),
            hash: crate::tombstones::hash(key.clone(), "phone", phone),
        });
    }
    for n in identity.iter().flat_map(|i| &i.numbers) {
        tombstones.push(Tombstone {
            kind: "document".to_owned(),
            hash: n.index.clone(),
        });
    }
    tombstones
}

/// R10: the identity verification as the law keeps it, sealed.
fn retained_identity(
    state: &AppState,
    account: &AccountRow,
    identity: &offboard_store::IdentityRow,
) -> RetainedRecord {
    let numbers: Vec<String> = identity
        .numbers
        .iter()
        .filter_map(|n| {
            crate::identity::open_number(state, account.id, &n.sealed)
                .map(|d| d.as_str().to_owned())
        })
        .collect();
    let record = serde_json::json!({
        "document_type": identity.document_type.as_str(),
        "country": identity.country.as_str(),
        "expires_on": identity.expires_on.to_string(),
        "status": identity.status.as_str(),
        "numbers": numbers,
        "verified_at": rfc3339(identity.updated_at),
    });
    seal_retained(
        &state.config.keys.retention,
        &account.id.to_string(),
        "identity",
        &record,
    )
}

/// R10: the deposits and withdrawals as the law keeps them, sealed.
async fn retained_transactions(
    state: &AppState,
    account: &AccountRow,
) -> Result<RetainedRecord, AppError> {
    let deposits = state.store.deposits_of(account.id).await?;
    let withdrawals = state.store.withdrawals_of(account.id).await?;
    let history = serde_json::json!({
        "email": account.email,
        "deposits": deposits.iter().map(|d| serde_json::json!({"id": d.id, "asset": d.asset, "amount": d.amount.to_string(), "status": d.status, "at": rfc3339(d.created_at)})).collect::<Vec<_>>(),
        "withdrawals": withdrawals.iter().map(|w| serde_json::json!({"id": w.id, "asset": w.asset, "amount": w.amount.to_string(), "address": w.address, "status": w.status, "at": rfc3339(w.created_at)})).collect::<Vec<_>>(),
    });
    Ok(seal_retained(
        &state.config.keys.retention,
        &account.id.to_string(),
        "transactions",
        &history,
    ))
}

/// A deposit (or hold) landed between the steps: back to the assets step. If that write
/// fails the flow stays at `identity`, whose next answer runs the same check and blocks
/// again, so the person still gets the 409 that says what to withdraw; the failure is
/// logged, not dropped.
async fn blocked_at_final_step(
    state: &AppState,
    account_id: offboard_core::AccountId,
    live: &LiveFlow,
    now: OffsetDateTime,
) {
    if let Err(err) = state
        .store
        .advance_flow(&live.flow.id, Step::Identity, Step::Assets, now)
        .await
    {
        tracing::warn!(%err, flow = %live.flow.id, "could not move a blocked flow back to assets");
    }
    audit::user(
        state,
        Some(account_id),
        "deletion_blocked_at_final_step",
        None,
    )
    .await;
}

/// R10: the record sealed under its own random key; that key sealed under the retention
/// key. Deleting the key row destroys the record (crypto-shredding).
fn seal_retained(
    retention: &SecretKey,
    aad: &str,
    kind: &str,
    record: &serde_json::Value,
) -> RetainedRecord {
    let data_key = SecretKey::generate();
    RetainedRecord {
        kind: kind.to_owned(),
        sealed: data_key.seal(aad.as_bytes(), record.to_string().as_bytes()),
        wrapped_key: retention.seal(aad.as_bytes(), data_key.to_hex().as_bytes()),
    }
}
