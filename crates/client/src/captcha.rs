//! Solving the deletion captcha the way the browser does: the ALTCHA proof of work
//! (API.md "Captcha"), by brute force over `0..=maxnumber` with offboard-core's solver,
//! on a blocking thread so the async runtime keeps serving other requests.

use crate::error::ClientError;
pub use offboard_core::captcha::Challenge;

/// The answer to send as `captcha` (base64 of the solution JSON), found on this thread.
pub fn solve_blocking(challenge: &Challenge) -> Result<String, ClientError> {
    offboard_core::captcha::solve(challenge)
        .ok_or_else(|| ClientError::Captcha("no number in 0..=maxnumber matches".to_owned()))
}

/// [`solve_blocking`] on tokio's blocking pool.
pub async fn solve(challenge: &Challenge) -> Result<String, ClientError> {
    let challenge = challenge.clone();
    tokio::task::spawn_blocking(move || solve_blocking(&challenge))
        .await
        .map_err(|e| ClientError::Captcha(format!("the solver stopped: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use offboard_core::captcha;
    use offboard_core::crypto::SecretKey;
    use time::macros::datetime;

    const FLOW: &str = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";

    #[tokio::test]
    async fn the_answer_verifies_as_the_server_checks_it() {
        let key = SecretKey::generate();
        let now = datetime!(2026-01-01 12:00 UTC);
        let challenge = captcha::issue(&key, FLOW, 5_000, now);
        let answer = solve(&challenge).await.unwrap();
        let solution = captcha::verify(&key, &answer, FLOW, 5_000, now).unwrap();
        assert_eq!(solution.challenge, challenge.challenge);
        // The wire format: base64 of {"algorithm","challenge","number","salt","signature"}.
        let json: serde_json::Value =
            serde_json::from_slice(&STANDARD.decode(&answer).unwrap()).unwrap();
        assert!(json["number"].is_u64(), "{json}");
        assert_eq!(json["salt"], challenge.salt);
    }

    #[test]
    fn a_challenge_without_a_solution_is_an_error() {
        let key = SecretKey::generate();
        let mut challenge = captcha::issue(&key, FLOW, 10, datetime!(2026-01-01 12:00 UTC));
        challenge.challenge = "00".repeat(32);
        let err = solve_blocking(&challenge).unwrap_err();
        assert!(matches!(err, ClientError::Captcha(_)), "{err}");
    }
}
