//! Passkey assertions: signing in with a passkey alone (discoverable) or as the second
//! step after the password, and a passkey as a factor of an action (R5's "every bound
//! factor": the deletion, withdrawals, factor removal). Each ceremony works once; the
//! counter is checked by webauthn-rs and again atomically in the store, so a cloned
//! authenticator (a counter that goes back) is refused and audited.

use super::ceremonies::{self, Ceremony, Pending};
use super::common::{
    ceremony_gone, keep, open_all, to_json, Challenge, HELP_LOST_PASSKEY, HELP_PASSKEYS,
};
use crate::audit;
use crate::error::{AppError, ErrorKind};
use crate::sessions::Authenticated;
use crate::state::AppState;
use offboard_core::passkey;
use offboard_core::{AccountId, Purpose};
use serde_json::Value;
use webauthn_rs::prelude::{DiscoverableKey, Passkey, PublicKeyCredential, WebauthnError};

/// A passkey assertion offered for an action: the ceremony this session began with
/// `begin_assertion`, and the browser's `PublicKeyCredential` as JSON.
#[derive(Debug, Clone)]
pub struct PasskeyProof {
    pub ceremony: String,
    pub credential: Value,
    /// The session (token hash) submitting it: it must be the one that began it.
    pub session: String,
}

/// A session started by a passkey sign-in: its token, handed to the client once.
#[derive(Debug)]
pub struct SignedIn {
    pub account_id: AccountId,
    pub token: String,
}

/// A verified assertion not yet recorded: [`spend`] stores the new counter (refusing a
/// counter that another assertion reached meanwhile).
#[derive(Debug, Clone)]
pub struct PasskeyUse {
    row_id: String,
    account_id: AccountId,
    key: Passkey,
    counter: u32,
}

/// The purposes a passkey factor may be asked for outside sign-in.
fn factor_purpose(purpose: &str) -> Result<Purpose, AppError> {
    match Purpose::parse(purpose) {
        Some(p @ (Purpose::Deletion | Purpose::Withdrawal | Purpose::Unbind)) => Ok(p),
        _ => Err(AppError::validation(
            "purpose",
            "must be \"deletion\", \"withdrawal\" or \"unbind\"",
        )),
    }
}

/// An assertion request over the account's passkeys, kept for `purpose`.
async fn assert_over_account(
    state: &AppState,
    account_id: AccountId,
    purpose: Purpose,
    session: Option<&str>,
) -> Result<Challenge, AppError> {
    let webauthn = state.passkeys.webauthn()?;
    let keys: Vec<Passkey> = open_all(state, &state.store.passkeys(account_id).await?)
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    if keys.is_empty() {
        return Err(AppError::new(
            ErrorKind::NotFound,
            "not_found",
            "No passkey is bound to this account.",
        )
        .with_help(HELP_PASSKEYS));
    }
    let (rcr, auth) = webauthn
        .start_passkey_authentication(&keys)
        .map_err(|e| AppError::internal(format!("passkey authentication: {e}")))?;
    let options = to_json(&rcr)?;
    let pending = Pending::Assert {
        state: auth,
        purpose: purpose.as_str().to_owned(),
    };
    let ceremony = keep(state, pending, Some(account_id), session).await?;
    Ok(Challenge { ceremony, options })
}

/// A passkey challenge for an action of this session (`deletion`, `withdrawal`,
/// `unbind`); the assertion then goes with the action's request.
pub async fn begin_assertion(
    state: &AppState,
    user: &Authenticated,
    purpose: &str,
) -> Result<Challenge, AppError> {
    let purpose = factor_purpose(purpose)?;
    assert_over_account(state, user.account.id, purpose, Some(&user.token_hash)).await
}

/// The second step of a password login: a challenge over the account's passkeys.
pub(crate) async fn begin_second_step(
    state: &AppState,
    account_id: AccountId,
) -> Result<Challenge, AppError> {
    assert_over_account(state, account_id, Purpose::Login, None).await
}

/// Signing in with a passkey alone: a challenge any of this site's passkeys can answer
/// (the browser offers them; with conditional mediation, in the email field's autofill).
/// Anonymous, so the client address bounds how many it may keep waiting.
pub async fn begin_sign_in(state: &AppState, client_addr: &str) -> Result<Challenge, AppError> {
    let webauthn = state.passkeys.webauthn()?;
    let (rcr, auth) = webauthn
        .start_discoverable_authentication()
        .map_err(|e| AppError::internal(format!("passkey sign-in: {e}")))?;
    let options = to_json(&rcr)?;
    let owner = ceremonies::Owner {
        account: None,
        session: None,
        client_addr: Some(client_addr),
    };
    let ceremony = ceremonies::start(state, &Pending::Discover { state: auth }, owner).await?;
    Ok(Challenge { ceremony, options })
}

fn parse_credential(credential: &Value) -> Result<PublicKeyCredential, AppError> {
    serde_json::from_value(credential.clone())
        .map_err(|_| AppError::validation("credential", "is not a WebAuthn assertion"))
}

fn unknown_passkey() -> AppError {
    AppError::new(
        ErrorKind::Unauthenticated,
        "passkey_unknown",
        "This passkey is not registered here. If you deleted your account or removed the passkey, remove it from your device too.",
    )
    .with_help(HELP_LOST_PASSKEY)
}

fn invalid(err: &WebauthnError) -> AppError {
    tracing::info!(%err, "a passkey assertion did not verify");
    AppError::new(
        ErrorKind::BadRequest,
        "passkey_invalid",
        "The passkey could not be verified for this request (wrong site, an old request, or no fingerprint, face or PIN check). Try again.",
    )
    .with_help(HELP_PASSKEYS)
    .for_field("passkey")
}

async fn cloned(state: &AppState, account_id: AccountId) -> AppError {
    audit::user(state, Some(account_id), "passkey_clone_suspected", None).await;
    AppError::new(
        ErrorKind::BadRequest,
        "passkey_cloned",
        "This passkey's use counter went backwards, a sign that it was copied. It was refused. Use another factor, and remove this passkey if you did not copy it.",
    )
    .with_help(HELP_LOST_PASSKEY)
    .for_field("passkey")
}

/// Verifies `credential` for a ceremony already taken: for an `Assert` against the
/// account's passkeys, for a `Discover` against the passkey its credential id names.
async fn verify(
    state: &AppState,
    taken: Ceremony,
    credential: &PublicKeyCredential,
) -> Result<PasskeyUse, AppError> {
    let webauthn = state.passkeys.webauthn()?;
    let credential_key = passkey::credential_key(
        &state.config.keys.blind_index,
        credential.get_credential_id(),
    );
    let Some(row) = state.store.passkey_by_credential(&credential_key).await? else {
        return Err(unknown_passkey());
    };
    if taken.account.is_some_and(|a| a != row.account_id) {
        return Err(unknown_passkey());
    }
    let Some((row_id, mut key)) = open_all(state, std::slice::from_ref(&row)).pop() else {
        return Err(unknown_passkey());
    };
    let result = match taken.pending {
        Pending::Assert { state: auth, .. } => {
            webauthn.finish_passkey_authentication(credential, &auth)
        }
        Pending::Discover { state: auth } => {
            let keys = [DiscoverableKey::from(&key)];
            webauthn.finish_discoverable_authentication(credential, auth, &keys)
        }
        Pending::Register { .. } => return Err(ceremony_gone()),
    };
    let result = match result {
        Ok(result) => result,
        Err(WebauthnError::CredentialPossibleCompromise) => {
            return Err(cloned(state, row.account_id).await)
        }
        Err(err) => return Err(invalid(&err)),
    };
    key.update_credential(&result);
    Ok(PasskeyUse {
        row_id,
        account_id: row.account_id,
        key,
        counter: result.counter(),
    })
}

/// Records a verified use: the new counter and last use. A counter another assertion
/// already reached is the clone signal too.
pub(crate) async fn spend(state: &AppState, used: PasskeyUse) -> Result<(), AppError> {
    let json = serde_json::to_string(&used.key)
        .map_err(|e| AppError::internal(format!("passkey: {e}")))?;
    let sealed = passkey::seal_credential(&state.config.keys.secrets, used.account_id, &json);
    let recorded = state
        .store
        .record_passkey_use(&used.row_id, &sealed, i64::from(used.counter), state.now())
        .await?;
    if !recorded {
        return Err(cloned(state, used.account_id).await);
    }
    Ok(())
}

/// Checks a passkey offered for `purpose` of `account_id` (the check phase of
/// `verify_all`: [`spend`] records it once every factor passed).
pub(crate) async fn check_proof(
    state: &AppState,
    account_id: AccountId,
    purpose: Purpose,
    proof: &PasskeyProof,
) -> Result<PasskeyUse, AppError> {
    let credential = parse_credential(&proof.credential)?;
    let taken = ceremonies::take(state, &proof.ceremony).await?;
    let fits = |c: &Ceremony| {
        c.account == Some(account_id)
            && c.session.as_deref() == Some(proof.session.as_str())
            && c.pending.is_assertion_for(purpose)
    };
    let Some(taken) = taken.filter(fits) else {
        return Err(ceremony_gone());
    };
    let used = verify(state, taken, &credential).await;
    if used.is_err() {
        let detail = format!("purpose={} factor=passkey", purpose.as_str());
        audit::user(state, Some(account_id), "code_failed", Some(&detail)).await;
    }
    used
}

/// Finishes a passkey sign-in (alone, or the second step after the password) and
/// starts a session.
pub async fn finish_sign_in(
    state: &AppState,
    ceremony: &str,
    credential: &Value,
    user_agent: Option<&str>,
    client_addr: &str,
) -> Result<SignedIn, AppError> {
    let credential = parse_credential(credential)?;
    let taken = ceremonies::take(state, ceremony).await?;
    let sign_in = |c: &Ceremony| {
        matches!(c.pending, Pending::Discover { .. }) || c.pending.is_assertion_for(Purpose::Login)
    };
    let Some(taken) = taken.filter(sign_in) else {
        return Err(ceremony_gone());
    };
    let step = taken.account;
    let used = match verify(state, taken, &credential).await {
        Ok(used) => used,
        Err(err) => {
            audit::user(state, step, "login_failed", Some("method=passkey")).await;
            return Err(err);
        }
    };
    let account_id = used.account_id;
    let Some(account) = state
        .store
        .get_account(account_id)
        .await?
        .filter(|a| a.status == offboard_store::AccountStatus::Active)
    else {
        return Err(unknown_passkey());
    };
    // R17: a frozen account signs nobody in; said once the passkey proved its owner, as
    // a password sign-in says it once the password is right.
    if account.frozen_at.is_some() {
        audit::user(
            state,
            Some(account_id),
            "login_refused",
            Some("account frozen"),
        )
        .await;
        return Err(crate::freeze::frozen_error());
    }
    spend(state, used).await?;
    let token = crate::sessions::sign_in(
        state,
        &account,
        None,
        Some("method=passkey"),
        user_agent,
        client_addr,
    )
    .await?;
    Ok(SignedIn { account_id, token })
}
