//! Authenticator codes (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits) with ±1 step of
//! clock skew. The step that matched is returned so the store can refuse it ever again
//! (replay protection, as in vaultwarden's `authenticator.rs`).

use crate::crypto::constant_time_eq;
use crate::otp::OtpCode;
use rand::RngCore;
use time::OffsetDateTime;
use totp_rs::{Algorithm, Secret, TOTP};

pub const STEP_SECONDS: i64 = 30;
pub const DIGITS: usize = 6;
/// Steps accepted on either side of the server's current step.
pub const SKEW_STEPS: i64 = 1;
pub const ISSUER: &str = "offboard";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    #[error("the stored authenticator secret is malformed")]
    BadSecret,
}

/// Seals an authenticator secret for storage (R20: never in plaintext at rest). The
/// owner's id (account or agent) is the associated data, so a sealed secret cannot be
/// moved to another owner.
pub fn seal_secret(key: &crate::crypto::SecretKey, owner: &str, secret: &str) -> String {
    key.seal(format!("totp:{owner}").as_bytes(), secret.as_bytes())
}

/// Opens what [`seal_secret`] sealed; `None` for another key, owner or an altered text.
pub fn open_secret(key: &crate::crypto::SecretKey, owner: &str, sealed: &str) -> Option<String> {
    let plain = key.open(format!("totp:{owner}").as_bytes(), sealed)?;
    String::from_utf8(plain.to_vec()).ok()
}

/// A new 160-bit secret (RFC 4226's recommended length), base32 without padding.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    Secret::Raw(bytes.to_vec()).to_encoded().to_string()
}

fn totp(secret_base32: &str, account_name: &str) -> Result<TOTP, TotpError> {
    let bytes = Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .map_err(|_| TotpError::BadSecret)?;
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        0,
        STEP_SECONDS as u64,
        bytes,
        Some(ISSUER.to_owned()),
        account_name.to_owned(),
    )
    .map_err(|_| TotpError::BadSecret)
}

/// `otpauth://totp/offboard:<account>?secret=...&issuer=offboard` for the QR code.
pub fn otpauth_uri(secret_base32: &str, account_name: &str) -> Result<String, TotpError> {
    Ok(totp(secret_base32, account_name)?.get_url())
}

pub fn step_of(now: OffsetDateTime) -> i64 {
    now.unix_timestamp().div_euclid(STEP_SECONDS)
}

/// The code for a step (for tests and the demo).
pub fn code_at_step(secret_base32: &str, step: i64) -> Result<String, TotpError> {
    let t = u64::try_from(step * STEP_SECONDS).map_err(|_| TotpError::BadSecret)?;
    Ok(totp(secret_base32, "")?.generate(t))
}

/// The step whose code matches, within the skew window and after `last_used_step`;
/// `None` if no acceptable step matches.
pub fn matching_step(
    secret_base32: &str,
    submitted: &OtpCode,
    now: OffsetDateTime,
    last_used_step: Option<i64>,
) -> Result<Option<i64>, TotpError> {
    let current = step_of(now);
    let mut found = None;
    // Check every candidate (no early exit) so timing says nothing about which matched.
    for step in (current - SKEW_STEPS)..=(current + SKEW_STEPS) {
        let expected = code_at_step(secret_base32, step)?;
        let fresh = last_used_step.is_none_or(|last| step > last);
        if constant_time_eq(expected.as_bytes(), submitted.as_str().as_bytes())
            && fresh
            && found.is_none()
        {
            found = Some(step);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r20_a_sealed_secret_opens_only_for_its_owner_and_key() {
        let key = crate::crypto::SecretKey::generate();
        let secret = generate_secret();
        let sealed = seal_secret(&key, "account-1", &secret);
        assert!(!sealed.contains(&secret), "no plaintext in the sealed form");
        assert_eq!(
            open_secret(&key, "account-1", &sealed).as_deref(),
            Some(secret.as_str())
        );
        assert_eq!(open_secret(&key, "account-2", &sealed), None);
        assert_eq!(
            open_secret(&crate::crypto::SecretKey::generate(), "account-1", &sealed),
            None
        );
    }
    use time::macros::datetime;

    // RFC 6238 appendix B test secret "12345678901234567890" (SHA-1), base32.
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn rfc6238_vectors() {
        // T = 59 s → 94287082 (8 digits); our 6-digit codes are its last six digits.
        assert_eq!(code_at_step(RFC_SECRET, 59 / 30).unwrap(), "287082");
        assert_eq!(
            code_at_step(RFC_SECRET, 1_111_111_109 / 30).unwrap(),
            "081804"
        );
        assert_eq!(
            code_at_step(RFC_SECRET, 1_234_567_890 / 30).unwrap(),
            "005924"
        );
    }

    #[test]
    fn accepts_one_step_of_skew_each_way_and_no_more() {
        let now = datetime!(2026-05-01 10:00:10 UTC);
        let step = step_of(now);
        for (offset, ok) in [(-2, false), (-1, true), (0, true), (1, true), (2, false)] {
            let code = OtpCode::parse(&code_at_step(RFC_SECRET, step + offset).unwrap()).unwrap();
            let got = matching_step(RFC_SECRET, &code, now, None).unwrap();
            assert_eq!(got.is_some(), ok, "offset {offset}");
            if ok {
                assert_eq!(got, Some(step + offset));
            }
        }
    }

    #[test]
    fn a_used_step_is_never_accepted_again() {
        let now = datetime!(2026-05-01 10:00:10 UTC);
        let step = step_of(now);
        let code = OtpCode::parse(&code_at_step(RFC_SECRET, step).unwrap()).unwrap();
        assert_eq!(
            matching_step(RFC_SECRET, &code, now, Some(step)).unwrap(),
            None
        );
        // Nor an older one once a newer step was used.
        let older = OtpCode::parse(&code_at_step(RFC_SECRET, step - 1).unwrap()).unwrap();
        assert_eq!(
            matching_step(RFC_SECRET, &older, now, Some(step)).unwrap(),
            None
        );
    }

    #[test]
    fn secrets_are_160_bits_and_make_uris() {
        let secret = generate_secret();
        assert_eq!(
            Secret::Encoded(secret.clone()).to_bytes().unwrap().len(),
            20
        );
        let uri = otpauth_uri(&secret, "alice@example.com").unwrap();
        assert!(
            uri.starts_with("otpauth://totp/offboard:alice%40example.com?secret="),
            "{uri}"
        );
        assert!(uri.contains("issuer=offboard"));
    }
}
