//! Begun WebAuthn ceremonies, kept server-side in memory (never serialised to the
//! client): single use (taking one removes it), a short TTL, and bound to the account
//! and session that began it. A restart forgets them, which only means "try again".

use offboard_core::passkey::CEREMONY_TTL;
use offboard_core::{AccountId, Purpose};
use std::collections::HashMap;
use std::sync::Mutex;
use time::OffsetDateTime;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, PasskeyAuthentication, PasskeyRegistration,
};

/// At most this many ceremonies wait at once; past it a new one is refused (503) rather
/// than letting anonymous sign-in starts grow memory without bound.
const MAX_PENDING: usize = 20_000;

/// What a ceremony will finish.
pub(crate) enum Pending {
    /// Adding a passkey with this name.
    Register {
        state: PasskeyRegistration,
        name: offboard_core::passkey::PasskeyName,
    },
    /// An assertion by one of the account's passkeys, for `purpose` (`login`: the second
    /// step after the password; else a factor of that action).
    Assert {
        state: PasskeyAuthentication,
        purpose: Purpose,
    },
    /// Signing in with a passkey alone: the authenticator names the account.
    Discover { state: DiscoverableAuthentication },
}

pub(crate) struct Ceremony {
    pub pending: Pending,
    pub account: Option<AccountId>,
    /// The session (token hash) that began it, when one did.
    pub session: Option<String>,
    expires_at: OffsetDateTime,
}

#[derive(Default)]
pub(crate) struct Ceremonies {
    pending: Mutex<HashMap<String, Ceremony>>,
}

impl std::fmt::Debug for Ceremonies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ceremonies")
    }
}

impl Ceremonies {
    /// Keeps a begun ceremony; its id (256 random bits) goes to the client. `None` when
    /// too many are waiting.
    pub fn start(
        &self,
        pending: Pending,
        account: Option<AccountId>,
        session: Option<String>,
        now: OffsetDateTime,
    ) -> Option<String> {
        let mut map = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, c| c.expires_at > now);
        if map.len() >= MAX_PENDING {
            return None;
        }
        let id = offboard_core::crypto::random_token();
        let ceremony = Ceremony {
            pending,
            account,
            session,
            expires_at: now + CEREMONY_TTL,
        };
        map.insert(id.clone(), ceremony);
        Some(id)
    }

    /// Takes the ceremony out (so it can never be finished twice); `None` if unknown,
    /// used or expired.
    pub fn take(&self, id: &str, now: OffsetDateTime) -> Option<Ceremony> {
        let mut map = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(id).filter(|c| c.expires_at > now)
    }
}
