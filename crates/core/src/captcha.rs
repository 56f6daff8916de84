//! The built-in captcha (R3): ALTCHA's proof-of-work format. The server picks a random
//! number, publishes `challenge = hex(SHA-256(salt || number))` with an HMAC signature;
//! the browser searches 0..=maxnumber for the number. The salt carries the flow id and an
//! expiry, so a solution is bound to one flow, and the store remembers used challenges
//! (single use). Hand-written because it is a few lines over sha2 + hmac and the ALTCHA
//! crates pull in far more than we need.

use crate::crypto::{constant_time_eq, SecretKey};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

pub const ALGORITHM: &str = "SHA-256";
/// How long a challenge may be solved and used.
pub const CHALLENGE_TTL: Duration = Duration::minutes(15);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    pub algorithm: String,
    pub challenge: String,
    pub salt: String,
    pub maxnumber: u64,
    pub signature: String,
}

/// What the client sends back, base64 of this JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Solution {
    pub algorithm: String,
    pub challenge: String,
    pub number: u64,
    pub salt: String,
    pub signature: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CaptchaError {
    #[error("the captcha answer is not readable")]
    Malformed,
    #[error("the captcha was not issued by this server")]
    BadSignature,
    #[error("the captcha answer is wrong")]
    WrongNumber,
    #[error("the captcha belongs to another deletion flow")]
    OtherFlow,
    #[error("the captcha has expired")]
    Expired,
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

pub fn issue(key: &SecretKey, flow_id: &str, max_number: u64, now: OffsetDateTime) -> Challenge {
    let expires = (now + CHALLENGE_TTL).unix_timestamp();
    let mut nonce = [0u8; 12];
    rand::rngs::OsRng.fill(&mut nonce);
    let salt = format!("{}?flow={flow_id}&expires={expires}", hex::encode(nonce));
    let number = rand::rngs::OsRng.gen_range(0..=max_number);
    let challenge = sha256_hex(&format!("{salt}{number}"));
    let signature = hex::encode(key.mac("captcha", challenge.as_bytes()));
    Challenge {
        algorithm: ALGORITHM.to_owned(),
        challenge,
        salt,
        maxnumber: max_number,
        signature,
    }
}

/// Checks a base64 solution; returns the challenge (to record it as used).
pub fn verify(
    key: &SecretKey,
    encoded: &str,
    flow_id: &str,
    now: OffsetDateTime,
) -> Result<Solution, CaptchaError> {
    let json = STANDARD
        .decode(encoded.trim())
        .map_err(|_| CaptchaError::Malformed)?;
    let solution: Solution = serde_json::from_slice(&json).map_err(|_| CaptchaError::Malformed)?;
    if solution.algorithm != ALGORITHM {
        return Err(CaptchaError::Malformed);
    }
    let expected = hex::encode(key.mac("captcha", solution.challenge.as_bytes()));
    if !constant_time_eq(expected.as_bytes(), solution.signature.as_bytes()) {
        return Err(CaptchaError::BadSignature);
    }
    if !constant_time_eq(
        sha256_hex(&format!("{}{}", solution.salt, solution.number)).as_bytes(),
        solution.challenge.as_bytes(),
    ) {
        return Err(CaptchaError::WrongNumber);
    }
    let params = solution.salt.split_once('?').map(|(_, q)| q).unwrap_or("");
    let mut flow = None;
    let mut expires = None;
    for pair in params.split('&') {
        match pair.split_once('=') {
            Some(("flow", v)) => flow = Some(v),
            Some(("expires", v)) => expires = v.parse::<i64>().ok(),
            _ => {}
        }
    }
    if flow != Some(flow_id) {
        return Err(CaptchaError::OtherFlow);
    }
    match expires {
        Some(t) if now.unix_timestamp() < t => Ok(solution),
        Some(_) => Err(CaptchaError::Expired),
        None => Err(CaptchaError::Malformed),
    }
}

/// Finds the number by brute force, as the browser does (tests, the bench, the CLI).
pub fn solve(challenge: &Challenge) -> Option<String> {
    let number = (0..=challenge.maxnumber)
        .find(|n| sha256_hex(&format!("{}{n}", challenge.salt)) == challenge.challenge)?;
    let solution = Solution {
        algorithm: challenge.algorithm.clone(),
        challenge: challenge.challenge.clone(),
        number,
        salt: challenge.salt.clone(),
        signature: challenge.signature.clone(),
    };
    serde_json::to_vec(&solution)
        .ok()
        .map(|json| STANDARD.encode(json))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-01-01 12:00 UTC);

    #[test]
    fn solved_challenges_verify_for_their_flow_only() {
        let key = SecretKey::generate();
        let c = issue(&key, "flow-1", 2000, NOW);
        let answer = solve(&c).unwrap();
        assert!(verify(&key, &answer, "flow-1", NOW).is_ok());
        assert_eq!(
            verify(&key, &answer, "flow-2", NOW).unwrap_err(),
            CaptchaError::OtherFlow
        );
        assert_eq!(
            verify(&key, &answer, "flow-1", NOW + CHALLENGE_TTL).unwrap_err(),
            CaptchaError::Expired
        );
        assert_eq!(
            verify(&SecretKey::generate(), &answer, "flow-1", NOW).unwrap_err(),
            CaptchaError::BadSignature
        );
        assert_eq!(
            verify(&key, "not base64!", "flow-1", NOW).unwrap_err(),
            CaptchaError::Malformed
        );
    }

    #[test]
    fn a_wrong_number_or_forged_challenge_fails() {
        let key = SecretKey::generate();
        let c = issue(&key, "f", 500, NOW);
        let mut s: Solution =
            serde_json::from_slice(&STANDARD.decode(solve(&c).unwrap()).unwrap()).unwrap();
        s.number += 1;
        let wrong = STANDARD.encode(serde_json::to_vec(&s).unwrap());
        assert_eq!(
            verify(&key, &wrong, "f", NOW).unwrap_err(),
            CaptchaError::WrongNumber
        );
        // A self-made challenge (easy number) without our signature.
        let forged = Solution {
            algorithm: ALGORITHM.into(),
            challenge: sha256_hex(&format!("{}0", c.salt)),
            number: 0,
            salt: c.salt.clone(),
            signature: c.signature.clone(),
        };
        let forged = STANDARD.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(
            verify(&key, &forged, "f", NOW).unwrap_err(),
            CaptchaError::BadSignature
        );
    }
}
