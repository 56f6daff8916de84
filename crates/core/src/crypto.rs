//! Small cryptographic building blocks shared by the rules: random tokens stored only as
//! hashes, keyed hashes (blind indexes) and constant-time comparison.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// 256 random bits from the operating system's CSPRNG, URL-safe base64 (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a bearer secret: SHA-256, hex. A leaked table gives no
/// usable token; a plain hash suffices because the token itself has 256 bits of entropy.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// A 256-bit server secret. Debug never prints it; memory is wiped on drop.
#[derive(Clone)]
pub struct SecretKey(Zeroizing<[u8; 32]>);

impl SecretKey {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(Zeroizing::new(bytes))
    }

    /// Accepts exactly 64 hex characters.
    pub fn from_hex(hex_text: &str) -> Option<Self> {
        let bytes = hex::decode(hex_text.trim()).ok()?;
        let array: [u8; 32] = bytes.try_into().ok()?;
        Some(Self(Zeroizing::new(array)))
    }

    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(*self.0))
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// HMAC-SHA256 of `value` under this key, separated by `domain` so the same value
    /// hashed for two purposes never collides. Hex.
    pub fn keyed_hash(&self, domain: &str, value: &str) -> String {
        hex::encode(self.mac(domain, value.as_bytes()))
    }

    pub fn mac(&self, domain: &str, value: &[u8]) -> [u8; 32] {
        #[allow(clippy::expect_used)]
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.0.as_slice())
            .expect("HMAC-SHA256 takes keys of any length");
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(value);
        mac.finalize().into_bytes().into()
    }
}

/// Authenticated encryption for records at rest (document numbers, retained records).
/// Format: `v1.<key id>.<base64url(nonce || ciphertext)>`, XChaCha20-Poly1305 with a
/// random 192-bit nonce; `aad` binds the ciphertext to its row (e.g. the account id) so
/// it cannot be moved to another record. The key id makes rotation possible: a reader
/// picks the key whose id the ciphertext names.
impl SecretKey {
    /// A short, stable, non-secret name for this key: 8 hex characters of an HMAC.
    pub fn key_id(&self) -> String {
        hex::encode(&self.mac("key-id", b"")[..4])
    }

    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> String {
        use chacha20poly1305::aead::{Aead, KeyInit, Payload};
        use chacha20poly1305::{XChaCha20Poly1305, XNonce};
        let cipher = XChaCha20Poly1305::new(self.0.as_slice().into());
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        // Encryption with a valid key and nonce cannot fail for inputs this size.
        let ciphertext = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .unwrap_or_default();
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ciphertext);
        format!("v1.{}.{}", self.key_id(), URL_SAFE_NO_PAD.encode(blob))
    }

    /// `None` if the text was sealed under another key, altered, or bound to other `aad`.
    pub fn open(&self, aad: &[u8], sealed: &str) -> Option<Zeroizing<Vec<u8>>> {
        use chacha20poly1305::aead::{Aead, KeyInit, Payload};
        use chacha20poly1305::{XChaCha20Poly1305, XNonce};
        let mut parts = sealed.splitn(3, '.');
        let (Some("v1"), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        if key_id != self.key_id() {
            return None;
        }
        let blob = URL_SAFE_NO_PAD.decode(body).ok()?;
        if blob.len() < 24 + 16 {
            return None;
        }
        let (nonce, ciphertext) = blob.split_at(24);
        let cipher = XChaCha20Poly1305::new(self.0.as_slice().into());
        cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .ok()
            .map(Zeroizing::new)
    }
}

/// The key id a sealed text names, to pick the right key during rotation.
pub fn sealed_key_id(sealed: &str) -> Option<&str> {
    let mut parts = sealed.splitn(3, '.');
    match (parts.next(), parts.next()) {
        (Some("v1"), Some(id)) => Some(id),
        _ => None,
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_and_distinct() {
        let a = random_token();
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
        assert_ne!(a, random_token());
    }

    #[test]
    fn stored_form_is_not_the_token() {
        let token = random_token();
        let stored = token_hash(&token);
        assert_ne!(stored, token);
        assert!(!stored.contains(&token));
        assert_eq!(stored, token_hash(&token));
    }

    #[test]
    fn keyed_hash_depends_on_key_and_domain() {
        let k1 = SecretKey::generate();
        let k2 = SecretKey::generate();
        assert_ne!(
            k1.keyed_hash("email", "a@b.c"),
            k2.keyed_hash("email", "a@b.c")
        );
        assert_ne!(
            k1.keyed_hash("email", "a@b.c"),
            k1.keyed_hash("phone", "a@b.c")
        );
        assert_eq!(
            k1.keyed_hash("email", "a@b.c"),
            k1.keyed_hash("email", "a@b.c")
        );
    }

    #[test]
    fn seal_and_open_bind_key_and_context() {
        let key = SecretKey::generate();
        let sealed = key.seal(b"account-1", b"AB123456");
        assert!(sealed.starts_with(&format!("v1.{}.", key.key_id())));
        assert!(!sealed.contains("AB123456"));
        assert_eq!(
            key.open(b"account-1", &sealed).unwrap().as_slice(),
            b"AB123456"
        );
        assert!(
            key.open(b"account-2", &sealed).is_none(),
            "bound to its record"
        );
        assert!(
            SecretKey::generate().open(b"account-1", &sealed).is_none(),
            "other key"
        );
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(key
            .open(b"account-1", &String::from_utf8(tampered).unwrap())
            .is_none());
        assert_ne!(key.seal(b"a", b"x"), key.seal(b"a", b"x"), "random nonces");
        assert_eq!(sealed_key_id(&sealed), Some(key.key_id().as_str()));
    }

    #[test]
    fn key_hex_round_trip_and_hidden_debug() {
        let k = SecretKey::generate();
        let back = SecretKey::from_hex(&k.to_hex()).unwrap();
        assert_eq!(k.bytes(), back.bytes());
        assert_eq!(format!("{k:?}"), "SecretKey(***)");
        assert!(SecretKey::from_hex("abcd").is_none());
    }
}
