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
