//! Passkeys (WebAuthn, R16): the per-account limit, the names people give them, and how
//! a credential is sealed at rest (R20) and found again. The ceremony itself is
//! webauthn-rs's, in the app crate; nothing here does I/O.

use crate::crypto::SecretKey;
use crate::AccountId;

/// At most this many passkeys per account (Kraken allows 5, Google 10+).
pub const MAX_PASSKEYS: usize = 10;
/// A passkey's name is for the owner's list: short, one line.
pub const MAX_NAME_CHARS: usize = 64;
/// How long a begun ceremony (registration or assertion) may be finished.
pub const CEREMONY_TTL: time::Duration = time::Duration::minutes(5);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("give the passkey a name, e.g. \"Laptop\"")]
    Empty,
    #[error("a passkey's name is at most 64 characters")]
    TooLong,
    #[error("a passkey's name cannot hold control characters")]
    Control,
}

/// The name of a passkey, trimmed; one line of printable text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyName(String);

impl PasskeyName {
    pub fn parse(input: &str) -> Result<Self, NameError> {
        // Before trimming: some control characters (NEL) count as white space.
        if input.chars().any(char::is_control) {
            return Err(NameError::Control);
        }
        let name = input.trim();
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(NameError::TooLong);
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Seals a stored credential (webauthn-rs's `Passkey`, serialised) for the database. The
/// owner's account id is the associated data, so a sealed credential cannot be moved to
/// another account.
pub fn seal_credential(key: &SecretKey, owner: AccountId, credential_json: &str) -> String {
    key.seal(
        format!("passkey:{owner}").as_bytes(),
        credential_json.as_bytes(),
    )
}

/// Opens what [`seal_credential`] sealed; `None` for another key, owner or altered text.
pub fn open_credential(key: &SecretKey, owner: AccountId, sealed: &str) -> Option<String> {
    let plain = key.open(format!("passkey:{owner}").as_bytes(), sealed)?;
    String::from_utf8(plain.to_vec()).ok()
}

/// The look-up key of a credential id: a keyed hash, so the table holds no id an
/// authenticator would recognise (the raw id lives only inside the sealed credential).
pub fn credential_key(key: &SecretKey, credential_id: &[u8]) -> String {
    hex::encode(key.mac("passkey-credential", credential_id))
}

/// The WebAuthn user handle of an account: derived, so nothing about it is stored, and
/// opaque (no account id or email on the authenticator).
pub fn user_handle(key: &SecretKey, owner: AccountId) -> [u8; 16] {
    let mac = key.mac("passkey-user", owner.to_string().as_bytes());
    let mut handle = [0u8; 16];
    handle.copy_from_slice(&mac[..16]);
    handle
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r16_names_are_trimmed_single_lines_of_at_most_64_characters() {
        assert_eq!(PasskeyName::parse("  Laptop ").unwrap().as_str(), "Laptop");
        assert_eq!(PasskeyName::parse("   "), Err(NameError::Empty));
        assert_eq!(PasskeyName::parse("a\u{0}b"), Err(NameError::Control));
        assert_eq!(PasskeyName::parse("a\nb"), Err(NameError::Control));
        assert_eq!(
            PasskeyName::parse(&"é".repeat(64))
                .unwrap()
                .as_str()
                .chars()
                .count(),
            64
        );
        assert_eq!(PasskeyName::parse(&"x".repeat(65)), Err(NameError::TooLong));
    }

    #[test]
    fn r20_a_sealed_credential_opens_only_for_its_owner_and_key() {
        let key = SecretKey::generate();
        let (alice, bob) = (AccountId::new(), AccountId::new());
        let sealed = seal_credential(&key, alice, r#"{"cred_id":"abc"}"#);
        assert!(!sealed.contains("cred_id"));
        assert_eq!(
            open_credential(&key, alice, &sealed).as_deref(),
            Some(r#"{"cred_id":"abc"}"#)
        );
        assert_eq!(open_credential(&key, bob, &sealed), None);
        assert_eq!(
            open_credential(&SecretKey::generate(), alice, &sealed),
            None
        );
    }

    #[test]
    fn lookup_keys_and_user_handles_are_keyed_and_stable() {
        let key = SecretKey::generate();
        let id = AccountId::new();
        assert_eq!(credential_key(&key, b"id"), credential_key(&key, b"id"));
        assert_ne!(
            credential_key(&key, b"id"),
            credential_key(&SecretKey::generate(), b"id")
        );
        assert_eq!(user_handle(&key, id), user_handle(&key, id));
        assert_ne!(user_handle(&key, id), user_handle(&key, AccountId::new()));
    }
}
