//! Begun WebAuthn ceremonies, kept server-side (never serialised to the client): in the
//! database, sealed, so any instance can finish one (instances are stateless). Single use
//! (taking one deletes it), a short TTL, and bound to the account and session that
//! began it. The client holds only a random id; the table keeps its SHA-256.

use crate::error::AppError;
use crate::state::AppState;
use offboard_core::crypto::{random_token, token_hash};
use offboard_core::passkey::CEREMONY_TTL;
use offboard_core::{AccountId, Purpose};
use offboard_store::{CeremonyLimits, NewCeremony};
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, PasskeyAuthentication, PasskeyRegistration,
};

/// How many begun ceremonies wait before the oldest are dropped (`CeremonyLimits`): a
/// login page asks for one sign-in ceremony per view (for autofill), so an address keeps
/// its newest 20 (an office behind one address churns them, still finishing its own in
/// seconds); an account its newest 20 (more than its 10 passkeys, so registrations begun
/// together all finish or meet the passkey limit); anonymous ones 20,000 in all.
const LIMITS: CeremonyLimits = CeremonyLimits {
    per_address: 20,
    per_account: 20,
    anonymous: 20_000,
};

/// What a ceremony will finish.
#[derive(Serialize, Deserialize)]
pub(crate) enum Pending {
    /// Adding a passkey with this name (already checked).
    Register {
        state: PasskeyRegistration,
        name: String,
    },
    /// An assertion by one of the account's passkeys, for `purpose` (`login`: the second
    /// step after the password; else a factor of that action).
    Assert {
        state: PasskeyAuthentication,
        purpose: String,
    },
    /// Signing in with a passkey alone: the authenticator names the account.
    Discover { state: DiscoverableAuthentication },
}

impl Pending {
    pub fn is_assertion_for(&self, purpose: Purpose) -> bool {
        matches!(self, Pending::Assert { purpose: p, .. } if p == purpose.as_str())
    }
}

pub(crate) struct Ceremony {
    pub pending: Pending,
    pub account: Option<AccountId>,
    /// The session (token hash) that began it, when one did.
    pub session: Option<String>,
}

fn aad(id_hash: &str) -> Vec<u8> {
    format!("passkey-ceremony:{id_hash}").into_bytes()
}

/// Who begins a ceremony: the account and session, or (signing in) the client address.
pub(crate) struct Owner<'a> {
    pub account: Option<AccountId>,
    pub session: Option<&'a str>,
    pub client_addr: Option<&'a str>,
}

/// Keeps a begun ceremony; its id (256 random bits) goes to the client.
pub(crate) async fn start(
    state: &AppState,
    pending: &Pending,
    owner: Owner<'_>,
) -> Result<String, AppError> {
    let id = random_token();
    let id_hash = token_hash(&id);
    let json =
        serde_json::to_vec(pending).map_err(|e| AppError::internal(format!("ceremony: {e}")))?;
    let sealed = state.config.keys.secrets.seal(&aad(&id_hash), &json);
    let address_key = owner.client_addr.map(|addr| {
        state
            .config
            .keys
            .blind_index
            .keyed_hash("passkey-ceremony-address", addr)
    });
    let now = state.now();
    let new = NewCeremony {
        id_hash: &id_hash,
        account_id: owner.account,
        session_hash: owner.session,
        address_key: address_key.as_deref(),
        sealed: &sealed,
        now,
        expires_at: now + CEREMONY_TTL,
        limits: LIMITS,
    };
    state.store.keep_ceremony(&new).await?;
    Ok(id)
}

/// Takes the ceremony out (so it can never be finished twice); `None` if unknown, used,
/// expired or unreadable.
pub(crate) async fn take(state: &AppState, id: &str) -> Result<Option<Ceremony>, AppError> {
    let id_hash = token_hash(id);
    let Some(row) = state.store.take_ceremony(&id_hash, state.now()).await? else {
        return Ok(None);
    };
    let pending = state
        .config
        .keys
        .secrets
        .open(&aad(&id_hash), &row.sealed)
        .and_then(|plain| serde_json::from_slice::<Pending>(&plain).ok());
    Ok(pending.map(|pending| Ceremony {
        pending,
        account: row.account_id,
        session: row.session_hash,
    }))
}
