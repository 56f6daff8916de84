//! The built-in captcha (R3): ALTCHA's proof-of-work format. The server picks a random
//! number, publishes `challenge = hex(SHA-256(salt || number))` with an HMAC signature of
//! the challenge; the browser searches 0..=maxnumber for the number. The salt carries the
//! flow id and an expiry, so a solution is bound to one flow, and the store remembers used
//! challenges (single use).
//!
//! Salt format: `<24 hex nonce>?flow=<flow id>&expires=<unix seconds>&`. The trailing `&`
//! is the delimiter of ALTCHA's challenge-splicing advisory (Dec. 2025): the signature
//! covers only the bytes `salt || number`, so without a fixed end of the salt a client
//! could move digits of the number onto `expires=` (10x the lifetime, same hash, same
//! signature). `verify` therefore reads the parameters from the signed salt strictly
//! (the delimiter required, each parameter exactly once, nothing unknown, nothing after the
//! final `&`) and takes `number` only as a JSON integer (ALTCHA's later advisory: a string
//! number let the client cut the salt at an earlier `&`). Salt ends in `&`, number is only
//! digits: the bytes `salt || number` split in exactly one place.
//!
//! Hand-written rather than `altcha-lib-rs` (0.3.3 read): its `verify_solution` reads the
//! wall clock itself (`chrono::Utc::now()`; here time is a parameter, see clippy.toml),
//! accepts a salt without `expires`, compares the signature with `!=`, returns no
//! parameters (no flow binding), rebuilds the salt from a `HashMap` (with two parameters
//! the order, and so the hash, differs from the issued one about half the time), takes the
//! HMAC key as a `&str` without our domain separation, and brings chrono, rand 0.10 and
//! hmac 0.13 beside our rand 0.8 and hmac 0.12. What it would do for us is a few lines
//! over sha2 and `SecretKey::mac`, below.

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
/// Random bytes at the start of the salt (hex in the salt).
const NONCE_BYTES: usize = 12;
/// The MAC domain of challenge signatures.
const DOMAIN: &str = "captcha";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    pub algorithm: String,
    pub challenge: String,
    pub salt: String,
    pub maxnumber: u64,
    pub signature: String,
}

/// What the client sends back, base64 of this JSON. `number` is a `u64`: serde refuses a
/// JSON string, a fraction or a negative number (R3, see the module comment).
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

fn sign(key: &SecretKey, salt: String, number: u64, max_number: u64) -> Challenge {
    let challenge = sha256_hex(&format!("{salt}{number}"));
    let signature = hex::encode(key.mac(DOMAIN, challenge.as_bytes()));
    Challenge {
        algorithm: ALGORITHM.to_owned(),
        challenge,
        salt,
        maxnumber: max_number,
        signature,
    }
}

/// A challenge for `flow_id`, valid until `now + CHALLENGE_TTL` (inclusive). Flow ids are
/// UUIDs; one with characters other than ASCII letters, digits and `-` gives a challenge
/// that never verifies.
pub fn issue(key: &SecretKey, flow_id: &str, max_number: u64, now: OffsetDateTime) -> Challenge {
    let expires = (now + CHALLENGE_TTL).unix_timestamp();
    let mut nonce = [0u8; NONCE_BYTES];
    rand::rngs::OsRng.fill(&mut nonce);
    // The final `&` ends the salt (R3): see the module comment.
    let salt = format!("{}?flow={flow_id}&expires={expires}&", hex::encode(nonce));
    let number = rand::rngs::OsRng.gen_range(0..=max_number);
    sign(key, salt, number, max_number)
}

/// What `parse_salt` reads from a signed salt.
#[derive(Debug, PartialEq, Eq)]
struct SaltParams<'a> {
    flow: &'a str,
    expires: i64,
}

fn is_flow_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Digits only, no sign, no leading zero: one spelling per value.
fn canonical_unix(text: &str) -> Option<i64> {
    let digits_only = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let leading_zero = text.len() > 1 && text.starts_with('0');
    if !digits_only || leading_zero {
        return None;
    }
    text.parse().ok()
}

/// Strict reading of `<hex nonce>?flow=<id>&expires=<digits>&` (R3): the delimiter at the
/// end is required, each parameter appears exactly once, no other or empty parameter.
fn parse_salt(salt: &str) -> Option<SaltParams<'_>> {
    let (nonce, query) = salt.split_once('?')?;
    let nonce_ok = nonce.len() == NONCE_BYTES * 2
        && nonce
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !nonce_ok {
        return None;
    }
    let query = query.strip_suffix('&')?;
    let mut flow = None;
    let mut expires = None;
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=')?;
        let slot = match name {
            "flow" => &mut flow,
            "expires" => &mut expires,
            _ => return None,
        };
        if slot.replace(value).is_some() {
            return None;
        }
    }
    Some(SaltParams {
        flow: flow.filter(|f| is_flow_id(f))?,
        expires: canonical_unix(expires?)?,
    })
}

/// Checks a base64 solution for `flow_id` (R3); returns it (to record the challenge as
/// used). `max_number` is the bound the challenge was issued with.
pub fn verify(
    key: &SecretKey,
    encoded: &str,
    flow_id: &str,
    max_number: u64,
    now: OffsetDateTime,
) -> Result<Solution, CaptchaError> {
    let json = STANDARD
        .decode(encoded.trim())
        .map_err(|_| CaptchaError::Malformed)?;
    let solution: Solution = serde_json::from_slice(&json).map_err(|_| CaptchaError::Malformed)?;
    if solution.algorithm != ALGORITHM {
        return Err(CaptchaError::Malformed);
    }
    if solution.number > max_number {
        return Err(CaptchaError::WrongNumber);
    }
    let params = parse_salt(&solution.salt).ok_or(CaptchaError::Malformed)?;
    let expected = hex::encode(key.mac(DOMAIN, solution.challenge.as_bytes()));
    if !constant_time_eq(expected.as_bytes(), solution.signature.as_bytes()) {
        return Err(CaptchaError::BadSignature);
    }
    if !constant_time_eq(
        sha256_hex(&format!("{}{}", solution.salt, solution.number)).as_bytes(),
        solution.challenge.as_bytes(),
    ) {
        return Err(CaptchaError::WrongNumber);
    }
    if params.flow != flow_id {
        return Err(CaptchaError::OtherFlow);
    }
    if now.unix_timestamp() > params.expires {
        return Err(CaptchaError::Expired);
    }
    Ok(solution)
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
mod tests;
