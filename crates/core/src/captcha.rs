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
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-01-01 12:00 UTC);
    const MAX: u64 = 2000;
    const NONCE: &str = "00112233445566778899aabb";

    fn at(unix: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(unix).unwrap()
    }

    /// base64 of a solution with any salt and any JSON `number` (integer or not).
    fn answer(c: &Challenge, salt: &str, number: Value) -> String {
        let body = json!({
            "algorithm": c.algorithm,
            "challenge": c.challenge,
            "number": number,
            "salt": salt,
            "signature": c.signature,
        });
        STANDARD.encode(serde_json::to_vec(&body).unwrap())
    }

    fn decoded(encoded: &str) -> Solution {
        serde_json::from_slice(&STANDARD.decode(encoded).unwrap()).unwrap()
    }

    #[test]
    fn r3_issued_salt_ends_with_the_delimiter_and_parses_back() {
        let key = SecretKey::generate();
        let c = issue(&key, "0190a3e4-7b1c-7def-8a00-123456789abc", MAX, NOW);
        assert!(c.salt.ends_with("&"), "{}", c.salt);
        let expires = (NOW + CHALLENGE_TTL).unix_timestamp();
        assert!(
            c.salt.ends_with(&format!("&expires={expires}&")),
            "{}",
            c.salt
        );
        assert_eq!(
            parse_salt(&c.salt),
            Some(SaltParams {
                flow: "0190a3e4-7b1c-7def-8a00-123456789abc",
                expires
            })
        );
        assert_eq!(c.maxnumber, MAX);
    }

    #[test]
    fn r3_a_correct_solution_is_accepted_until_its_expiry_inclusive() {
        let key = SecretKey::generate();
        let c = issue(&key, "flow-1", MAX, NOW);
        let solved = solve(&c).unwrap();
        let solution = verify(&key, &solved, "flow-1", MAX, NOW).unwrap();
        assert_eq!(solution.challenge, c.challenge);
        assert_eq!(solution.salt, c.salt);
        assert!(verify(&key, &solved, "flow-1", MAX, NOW + CHALLENGE_TTL).is_ok());
    }

    #[test]
    fn r3_an_expired_challenge_is_refused() {
        let key = SecretKey::generate();
        let c = issue(&key, "flow-1", MAX, NOW);
        let solved = solve(&c).unwrap();
        let later = NOW + CHALLENGE_TTL + Duration::seconds(1);
        assert_eq!(
            verify(&key, &solved, "flow-1", MAX, later).unwrap_err(),
            CaptchaError::Expired
        );
    }

    #[test]
    fn r3_another_flows_solution_is_refused() {
        let key = SecretKey::generate();
        let c = issue(&key, "flow-1", MAX, NOW);
        let solved = solve(&c).unwrap();
        assert_eq!(
            verify(&key, &solved, "flow-2", MAX, NOW).unwrap_err(),
            CaptchaError::OtherFlow
        );
        // Renaming the flow in the salt breaks the hash (or the signature).
        let s = decoded(&solved);
        let renamed = c.salt.replace("flow=flow-1&", "flow=flow-2&");
        assert_eq!(
            verify(
                &key,
                &answer(&c, &renamed, json!(s.number)),
                "flow-2",
                MAX,
                NOW
            )
            .unwrap_err(),
            CaptchaError::WrongNumber
        );
    }

    #[test]
    fn r3_a_tampered_signature_is_refused() {
        let key = SecretKey::generate();
        let mut c = issue(&key, "f", MAX, NOW);
        let number = decoded(&solve(&c).unwrap()).number;
        assert_eq!(
            verify(&SecretKey::generate(), &solve(&c).unwrap(), "f", MAX, NOW).unwrap_err(),
            CaptchaError::BadSignature
        );
        let first = if c.signature.starts_with('0') {
            "1"
        } else {
            "0"
        };
        c.signature.replace_range(0..1, first);
        assert_eq!(
            verify(&key, &answer(&c, &c.salt, json!(number)), "f", MAX, NOW).unwrap_err(),
            CaptchaError::BadSignature
        );
        c.signature.clear();
        assert_eq!(
            verify(&key, &answer(&c, &c.salt, json!(number)), "f", MAX, NOW).unwrap_err(),
            CaptchaError::BadSignature
        );
    }

    #[test]
    fn r3_a_wrong_number_or_self_made_challenge_fails() {
        let key = SecretKey::generate();
        let c = issue(&key, "f", 500, NOW);
        let mut s = decoded(&solve(&c).unwrap());
        s.number = (s.number + 1) % 501;
        let wrong = STANDARD.encode(serde_json::to_vec(&s).unwrap());
        assert_eq!(
            verify(&key, &wrong, "f", 500, NOW).unwrap_err(),
            CaptchaError::WrongNumber
        );
        // A self-made challenge (easy number) without our signature.
        let forged = Challenge {
            challenge: sha256_hex(&format!("{}0", c.salt)),
            ..c.clone()
        };
        assert_eq!(
            verify(&key, &answer(&forged, &c.salt, json!(0)), "f", 500, NOW).unwrap_err(),
            CaptchaError::BadSignature
        );
        assert_eq!(
            verify(&key, "not base64!", "f", 500, NOW).unwrap_err(),
            CaptchaError::Malformed
        );
    }

    #[test]
    fn r3_a_number_above_maxnumber_is_refused() {
        let key = SecretKey::generate();
        let salt = format!("{NONCE}?flow=f&expires={}&", NOW.unix_timestamp() + 60);
        let c = sign(&key, salt, MAX + 1, MAX);
        assert_eq!(
            verify(&key, &answer(&c, &c.salt, json!(MAX + 1)), "f", MAX, NOW).unwrap_err(),
            CaptchaError::WrongNumber
        );
        assert!(verify(
            &key,
            &answer(&c, &c.salt, json!(MAX + 1)),
            "f",
            MAX + 1,
            NOW
        )
        .is_ok());
    }

    /// The incident (R3): moving the first digit of `number` onto the end of `expires=`
    /// kept `salt || number` byte for byte, so challenge and signature matched and the
    /// forged solution lived 10x as long.
    #[test]
    fn r3_moving_the_first_digit_of_number_onto_expires_is_refused() {
        let key = SecretKey::generate();
        let expires = NOW.unix_timestamp() + 60;
        let forged_expires = expires * 10 + 1;
        let max = 99_999;
        // After the forged expiry would have begun to matter: the real one is over.
        let window = [NOW, at(expires + 1), at(forged_expires)];

        // A challenge in the old, undelimited format (as the attacker had it).
        let legacy = sign(
            &key,
            format!("{NONCE}?flow=f&expires={expires}"),
            12_345,
            max,
        );
        let forged_salt = format!("{}1", legacy.salt);
        assert_eq!(
            format!("{forged_salt}2345"),
            format!("{}12345", legacy.salt),
            "the hashed bytes are the same"
        );
        for now in window {
            let forged = answer(&legacy, &forged_salt, json!(2345));
            assert_eq!(
                verify(&key, &forged, "f", max, now).unwrap_err(),
                CaptchaError::Malformed,
                "forged expiry accepted at {now}"
            );
            let original = answer(&legacy, &legacy.salt, json!(12_345));
            assert_eq!(
                verify(&key, &original, "f", max, now).unwrap_err(),
                CaptchaError::Malformed,
                "undelimited salt accepted"
            );
        }

        // The same move against today's delimited salt.
        let c = sign(
            &key,
            format!("{NONCE}?flow=f&expires={expires}&"),
            12_345,
            max,
        );
        assert!(verify(&key, &answer(&c, &c.salt, json!(12_345)), "f", max, NOW).is_ok());
        // Same bytes: the digit lands after the delimiter, so the salt no longer ends.
        let after_delimiter = format!("{}1", c.salt);
        // Onto the expires value itself: the bytes change, so the hash does not match.
        let into_expires = format!("{NONCE}?flow=f&expires={expires}1&");
        assert_eq!(parse_salt(&into_expires).unwrap().expires, forged_expires);
        for now in window {
            assert_eq!(
                verify(
                    &key,
                    &answer(&c, &after_delimiter, json!(2345)),
                    "f",
                    max,
                    now
                )
                .unwrap_err(),
                CaptchaError::Malformed
            );
            assert_eq!(
                verify(&key, &answer(&c, &into_expires, json!(2345)), "f", max, now).unwrap_err(),
                CaptchaError::WrongNumber
            );
        }
    }

    /// ALTCHA's v2.10 advisory (R3): with a string `number` the client could cut the salt at
    /// an earlier `&` and push the rest (`expires=...&` and the digits) into the number.
    #[test]
    fn r3_a_salt_cut_at_an_earlier_ampersand_is_refused() {
        let key = SecretKey::generate();
        let c = issue(&key, "f", MAX, NOW);
        let number = decoded(&solve(&c).unwrap()).number;
        let cut = c.salt.find('&').unwrap() + 1;
        let (head, tail) = c.salt.split_at(cut);
        assert_eq!(
            format!("{head}{tail}{number}"),
            format!("{}{number}", c.salt)
        );
        let pushed = json!(format!("{tail}{number}"));
        assert_eq!(
            verify(&key, &answer(&c, head, pushed), "f", MAX, NOW).unwrap_err(),
            CaptchaError::Malformed
        );
        // Even as an integer the cut salt lacks `expires`.
        assert_eq!(parse_salt(head), None);
        assert_eq!(
            verify(&key, &answer(&c, head, json!(number)), "f", MAX, NOW).unwrap_err(),
            CaptchaError::Malformed
        );
        // Cut at the nonce's `?`: nothing left of the parameters.
        let nonce_only = &c.salt[..NONCE_BYTES * 2];
        assert_eq!(
            verify(&key, &answer(&c, nonce_only, json!(number)), "f", MAX, NOW).unwrap_err(),
            CaptchaError::Malformed
        );
    }

    #[test]
    fn r3_a_number_that_is_not_a_json_integer_is_refused() {
        let key = SecretKey::generate();
        let c = issue(&key, "f", MAX, NOW);
        let number = decoded(&solve(&c).unwrap()).number;
        assert!(verify(&key, &answer(&c, &c.salt, json!(number)), "f", MAX, NOW).is_ok());
        for bad in [
            json!(number.to_string()),
            json!(format!("0{number}")),
            json!(number as f64 + 0.5),
            json!(-1),
            json!(null),
            json!([number]),
        ] {
            assert_eq!(
                verify(&key, &answer(&c, &c.salt, bad.clone()), "f", MAX, NOW).unwrap_err(),
                CaptchaError::Malformed,
                "{bad}"
            );
        }
    }

    #[test]
    fn r3_a_duplicate_expires_param_is_refused() {
        let key = SecretKey::generate();
        let e = NOW.unix_timestamp() + 60;
        // Even signed by us, a salt with two expiries means nothing.
        for salt in [
            format!("{NONCE}?flow=f&expires={e}&expires={}&", e * 10),
            format!("{NONCE}?expires={e}&flow=f&expires={e}&"),
            format!("{NONCE}?flow=f&flow=f&expires={e}&"),
        ] {
            let c = sign(&key, salt.clone(), 7, MAX);
            assert_eq!(
                verify(&key, &answer(&c, &salt, json!(7)), "f", MAX, NOW).unwrap_err(),
                CaptchaError::Malformed,
                "{salt}"
            );
        }
    }

    #[test]
    fn r3_salt_params_are_read_strictly() {
        let good = format!("{NONCE}?flow=f-1&expires=1767225600&");
        assert_eq!(
            parse_salt(&good),
            Some(SaltParams {
                flow: "f-1",
                expires: 1_767_225_600
            })
        );
        // Order is free, the set is not.
        assert!(parse_salt(&format!("{NONCE}?expires=1767225600&flow=f-1&")).is_some());
        for bad in [
            format!("{NONCE}?flow=f-1&expires=1767225600"),
            format!("{NONCE}?flow=f-1&expires=1767225600&1"),
            format!("{NONCE}?flow=f-1&expires=1767225600&x"),
            format!("{NONCE}?flow=f-1&expires=1767225600&&"),
            format!("{NONCE}?flow=f-1&&expires=1767225600&"),
            format!("{NONCE}?flow=f-1&expires=1767225600&x=1&"),
            format!("{NONCE}?flow=f-1&"),
            format!("{NONCE}?expires=1767225600&"),
            format!("{NONCE}?flow=&expires=1767225600&"),
            format!("{NONCE}?flow=f&1&expires=1767225600&"),
            format!("{NONCE}?flow=f=1&expires=1767225600&"),
            format!("{NONCE}?flow=f?1&expires=1767225600&"),
            format!("{NONCE}?flow=f-1&expires=+1767225600&"),
            format!("{NONCE}?flow=f-1&expires=01767225600&"),
            format!("{NONCE}?flow=f-1&expires=-1&"),
            format!("{NONCE}?flow=f-1&expires=&"),
            format!("{NONCE}?flow=f-1&expires=1e9&"),
            format!("{NONCE}?flow=f-1&expires=99999999999999999999&"),
            format!("{NONCE}?flow=f-1&Expires=1767225600&"),
            "?flow=f-1&expires=1767225600&".to_owned(),
            format!("{}?flow=f-1&expires=1767225600&", NONCE.to_uppercase()),
            format!("{NONCE}0?flow=f-1&expires=1767225600&"),
            format!("{NONCE}flow=f-1&expires=1767225600&"),
            String::new(),
        ] {
            assert_eq!(parse_salt(&bad), None, "{bad}");
        }
    }

    proptest! {
        /// R3: for any valid challenge, every other split of the hashed bytes
        /// `salt || number` into (salt, number) is refused: digits moved from the number
        /// into the salt (a JSON integer) and salt moved into the number (only expressible
        /// as a JSON string).
        #[test]
        fn r3_moving_digits_between_salt_and_number_is_refused(
            nonce in any::<[u8; NONCE_BYTES]>(),
            flow in "[a-z0-9-]{1,36}",
            lifetime in 0i64..=315_360_000,
            number in 0u64..=10_000_000_000,
        ) {
            let key = SecretKey::generate();
            let expires = NOW.unix_timestamp() + lifetime;
            let salt = format!("{}?flow={flow}&expires={expires}&", hex::encode(nonce));
            let c = sign(&key, salt.clone(), number, u64::MAX);
            prop_assert!(verify(&key, &answer(&c, &salt, json!(number)), &flow, u64::MAX, NOW).is_ok());
            let bytes = format!("{salt}{number}");
            for split in 0..bytes.len() {
                if split == salt.len() {
                    continue;
                }
                let (head, tail) = bytes.split_at(split);
                let moved = match tail.parse::<u64>() {
                    Ok(n) if tail.bytes().all(|b| b.is_ascii_digit()) => json!(n),
                    _ => json!(tail),
                };
                for now in [NOW, at(expires + 1)] {
                    let result = verify(&key, &answer(&c, head, moved.clone()), &flow, u64::MAX, now);
                    prop_assert!(result.is_err(), "accepted salt {head:?} number {moved}");
                }
            }
        }
    }
}
