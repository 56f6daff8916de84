//! Session lifetime rules (NIST SP 800-63B AAL2: re-authenticate after 30 minutes idle
//! and at most every 12 hours).

use time::{Duration, OffsetDateTime};

pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::minutes(30);
pub const DEFAULT_ABSOLUTE_TIMEOUT: Duration = Duration::hours(12);
/// A session's last-seen time is written at most this often, so a busy client does not
/// turn every read into a database write; idle expiry is accurate to this granularity.
pub const LAST_SEEN_GRANULARITY: Duration = Duration::seconds(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    pub idle_timeout: Duration,
    pub absolute_timeout: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            absolute_timeout: DEFAULT_ABSOLUTE_TIMEOUT,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionVerdict {
    Valid { touch: bool },
    IdleExpired,
    AbsoluteExpired,
}

impl SessionPolicy {
    pub fn judge(
        &self,
        created_at: OffsetDateTime,
        last_seen_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> SessionVerdict {
        if now - created_at >= self.absolute_timeout {
            SessionVerdict::AbsoluteExpired
        } else if now - last_seen_at >= self.idle_timeout {
            SessionVerdict::IdleExpired
        } else {
            SessionVerdict::Valid {
                touch: now - last_seen_at >= LAST_SEEN_GRANULARITY,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn idle_and_absolute_limits() {
        let policy = SessionPolicy::default();
        let t0 = datetime!(2026-01-01 00:00 UTC);
        assert_eq!(
            policy.judge(t0, t0, t0),
            SessionVerdict::Valid { touch: false }
        );
        assert_eq!(
            policy.judge(t0, t0, t0 + Duration::minutes(2)),
            SessionVerdict::Valid { touch: true }
        );
        assert_eq!(
            policy.judge(t0, t0, t0 + Duration::minutes(30)),
            SessionVerdict::IdleExpired
        );
        // Active all along, but past 12 hours: the absolute limit wins.
        let recent = t0 + Duration::hours(12) - Duration::minutes(1);
        assert_eq!(
            policy.judge(t0, recent, t0 + Duration::hours(12)),
            SessionVerdict::AbsoluteExpired
        );
    }
}
