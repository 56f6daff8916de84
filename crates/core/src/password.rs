//! Passwords: the sign-up rules and argon2id hashing with OWASP's parameters.

use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use rand::RngCore;
use std::fmt;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 256;

/// OWASP Password Storage Cheat Sheet, argon2id minimum: m=19 MiB, t=2, p=1.
pub const ARGON2_M_COST_KIB: u32 = 19_456;
pub const ARGON2_T_COST: u32 = 2;
pub const ARGON2_P_COST: u32 = 1;
const HASH_LEN: usize = 32;
const SALT_LEN: usize = 16;

/// A password that met the sign-up rules. Zeroised on drop; Debug prints nothing of it.
pub struct Password(Zeroizing<String>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must be at least {MIN_PASSWORD_CHARS} characters long")]
    TooShort,
    #[error("the password must be at most {MAX_PASSWORD_CHARS} characters long")]
    TooLong,
    #[error("the password must not be one character repeated")]
    OneRepeatedCharacter,
}

impl Password {
    /// Applies the sign-up rules (NIST SP 800-63B: length over composition rules).
    pub fn parse(input: &str) -> Result<Self, PasswordError> {
        let chars = input.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(PasswordError::TooShort);
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(PasswordError::TooLong);
        }
        let mut it = input.chars();
        if let Some(first) = it.next() {
            if it.all(|c| c == first) {
                return Err(PasswordError::OneRepeatedCharacter);
            }
        }
        Ok(Self(Zeroizing::new(input.to_owned())))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// argon2id hashing that reuses its 19 MiB work area between calls, so a worker thread
/// holding one never allocates per login. The area is allocated on first use, not at
/// construction, so an idle server does not hold it. Not `Sync`: one per worker thread.
pub struct PasswordHasher {
    params: Params,
    memory: Vec<Block>,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .finish()
    }
}

impl PasswordHasher {
    pub fn new() -> Self {
        Self::with_params(ARGON2_M_COST_KIB, ARGON2_T_COST, ARGON2_P_COST)
    }

    /// Other parameters; tests use small ones. Invalid parameters fall back to OWASP's.
    pub fn with_params(m_cost: u32, t_cost: u32, p_cost: u32) -> Self {
        let params =
            Params::new(m_cost, t_cost, p_cost, Some(HASH_LEN)).unwrap_or_else(|_| owasp_params());
        Self {
            params,
            memory: Vec::new(),
        }
    }

    /// Returns a PHC string: `$argon2id$v=19$m=..,t=..,p=..$salt$hash`.
    pub fn hash(&mut self, password: &str) -> String {
        let mut salt = [0u8; SALT_LEN];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let params = self.params.clone();
        let mut out = [0u8; HASH_LEN];
        // Cannot fail: parameters, salt and output lengths are all fixed and valid here.
        let _ = self.compute(&params, password.as_bytes(), &salt, &mut out);
        format!(
            "$argon2id$v=19$m={},t={},p={}${}${}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost(),
            STANDARD_NO_PAD.encode(salt),
            STANDARD_NO_PAD.encode(out)
        )
    }

    /// Verifies in constant time. A malformed stored hash verifies as false.
    pub fn verify(&mut self, phc: &str, password: &str) -> bool {
        let Some(parsed) = ParsedHash::parse(phc) else {
            return false;
        };
        let mut out = Zeroizing::new(vec![0u8; parsed.hash.len()]);
        if self
            .compute(&parsed.params, password.as_bytes(), &parsed.salt, &mut out)
            .is_err()
        {
            return false;
        }
        out.ct_eq(&parsed.hash).into()
    }

    fn compute(
        &mut self,
        params: &Params,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), argon2::Error> {
        let blocks = params.block_count();
        if self.memory.len() < blocks {
            self.memory.resize(blocks, Block::default());
        }
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
            .hash_password_into_with_memory(password, salt, out, &mut self.memory[..blocks])
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::new()
    }
}

fn owasp_params() -> Params {
    Params::DEFAULT
}

struct ParsedHash {
    params: Params,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl ParsedHash {
    /// Hand-parsed because the reusable-memory path of the argon2 crate takes raw salt
    /// and parameters, not a PHC string.
    fn parse(phc: &str) -> Option<Self> {
        let mut parts = phc.split('$');
        let (Some(""), Some("argon2id"), Some("v=19"), Some(params), Some(salt), Some(hash), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let (mut m, mut t, mut p) = (None, None, None);
        for kv in params.split(',') {
            let (k, v) = kv.split_once('=')?;
            let v: u32 = v.parse().ok()?;
            match k {
                "m" => m = Some(v),
                "t" => t = Some(v),
                "p" => p = Some(v),
                _ => return None,
            }
        }
        let hash = STANDARD_NO_PAD.decode(hash).ok()?;
        let params = Params::new(m?, t?, p?, Some(hash.len())).ok()?;
        Some(Self {
            params,
            salt: STANDARD_NO_PAD.decode(salt).ok()?,
            hash,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_say_which_one_failed() {
        assert_eq!(
            Password::parse("short").unwrap_err(),
            PasswordError::TooShort
        );
        assert_eq!(
            Password::parse(&"ab".repeat(129)).unwrap_err(),
            PasswordError::TooLong
        );
        assert_eq!(
            Password::parse("aaaaaaaaaaaa").unwrap_err(),
            PasswordError::OneRepeatedCharacter
        );
        assert!(Password::parse("correct horse battery").is_ok());
        // Characters, not bytes: ten accented letters are long enough.
        assert!(Password::parse("ééééééééèé").is_ok());
        assert_eq!(
            Password::parse(&"x".repeat(256)).unwrap_err(),
            PasswordError::OneRepeatedCharacter
        );
        assert!(Password::parse(&"xy".repeat(128)).is_ok());
    }

    #[test]
    fn debug_hides_the_password() {
        let p = Password::parse("correct horse battery").unwrap();
        assert_eq!(format!("{p:?}"), "Password(***)");
    }

    #[test]
    fn hash_then_verify_with_owasp_parameters() {
        let mut hasher = PasswordHasher::new();
        let phc = hasher.hash("correct horse battery");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(hasher.verify(&phc, "correct horse battery"));
        assert!(!hasher.verify(&phc, "correct horse batterY"));
        assert!(!hasher.verify("not a hash", "correct horse battery"));
    }

    #[test]
    fn hashes_made_elsewhere_verify() {
        // A PHC string made by the argon2 crate's own high-level API must verify here.
        use argon2::password_hash::{PasswordHasher as _, SaltString};
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let phc = Argon2::default()
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
        let mut hasher = PasswordHasher::new();
        assert!(hasher.verify(&phc, "correct horse battery"));
    }

    #[test]
    fn salts_differ() {
        let mut hasher = PasswordHasher::with_params(64, 1, 1);
        assert_ne!(hasher.hash("same password!"), hasher.hash("same password!"));
    }
}
