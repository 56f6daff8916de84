//! An authenticator app, for the journey and tests: RFC 6238 codes from a bound secret,
//! used the way a careful client uses them.

use crate::error::ClientError;
use offboard_core::{totp, Clock, SystemClock};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Codes of one secret. Each code handed out is of a later 30-second step than the last
/// one (the server refuses a step twice) and within the ±1 step the server accepts; when
/// all three are used up it waits for the next step.
#[derive(Clone)]
pub struct Authenticator {
    secret: String,
    last_step: Option<i64>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("secret", &"***")
            .field("last_step", &self.last_step)
            .finish()
    }
}

impl Authenticator {
    /// On the real time, as a phone's app: the server judges codes by it whatever its
    /// dev clock says.
    pub fn new(secret: impl Into<String>) -> Self {
        Self::with_clock(secret, Arc::new(SystemClock))
    }

    /// On another clock (unit tests of the step bookkeeping).
    pub fn with_clock(secret: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        Self {
            secret: secret.into(),
            last_step: None,
            clock,
        }
    }

    /// The base32 secret.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// The code for the current step plus `offset` steps, without the bookkeeping (for
    /// tests of replays and skew).
    pub fn code_at_offset(&self, offset: i64) -> Result<String, ClientError> {
        let step = totp::step_of(self.clock.now()) + offset;
        totp::code_at_step(&self.secret, step)
            .map_err(|e| ClientError::Authenticator(e.to_string()))
    }

    /// A code the server has not seen yet; may wait up to one step (30 s) for it.
    pub async fn code(&mut self) -> Result<String, ClientError> {
        loop {
            let now = self.clock.now();
            let current = totp::step_of(now);
            let candidate = self.last_step.map_or(current - totp::SKEW_STEPS, |last| {
                (last + 1).max(current - totp::SKEW_STEPS)
            });
            if candidate <= current + totp::SKEW_STEPS {
                self.last_step = Some(candidate);
                return totp::code_at_step(&self.secret, candidate)
                    .map_err(|e| ClientError::Authenticator(e.to_string()));
            }
            let next_step_at = (current + 1) * totp::STEP_SECONDS;
            let wait = u64::try_from(next_step_at - now.unix_timestamp()).unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(wait * 1000 + 50)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use offboard_core::clock::FixedClock;
    use time::macros::datetime;

    fn at_fixed_time() -> Authenticator {
        let clock = Arc::new(FixedClock(datetime!(2026-01-01 12:00:10 UTC)));
        Authenticator::with_clock(totp::generate_secret(), clock)
    }

    #[tokio::test]
    async fn codes_never_repeat_a_step_and_stay_in_the_window() {
        let mut auth = at_fixed_time();
        let now = datetime!(2026-01-01 12:00:10 UTC);
        let current = totp::step_of(now);
        let mut seen = Vec::new();
        for step in [current - 1, current, current + 1] {
            let code = auth.code().await.unwrap();
            assert_eq!(code, totp::code_at_step(auth.secret(), step).unwrap());
            seen.push(code);
        }
        assert_eq!(auth.last_step, Some(current + 1));
        assert_eq!(
            auth.code_at_offset(0).unwrap(),
            totp::code_at_step(auth.secret(), current).unwrap()
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let auth = at_fixed_time();
        assert!(!format!("{auth:?}").contains(auth.secret()));
    }

    #[test]
    fn a_bad_secret_is_an_authenticator_error() {
        let auth = Authenticator::new("not base32 !!");
        assert!(matches!(
            auth.code_at_offset(0),
            Err(ClientError::Authenticator(_))
        ));
    }
}
