//! Login throttling. Failures are counted per login name (a keyed hash of the email, so
//! unknown and known accounts are throttled alike and nothing enumerates) and per client
//! address. A few failures are free; after that each failure doubles the wait, with a
//! cap, so a stranger can slow a victim's logins for seconds, never lock them out for
//! long. A hard ceiling per hour stops a slow, patient guesser.

use time::{Duration, OffsetDateTime};

pub const WINDOW: Duration = Duration::hours(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Failures allowed before any delay.
    pub free: u32,
    /// Longest wait imposed by the doubling delay.
    pub max_delay: Duration,
    /// Failures in one hour after which no attempt is evaluated until the oldest ages out.
    pub per_hour: u32,
}

/// Per login name: 5 free, delays up to a minute, at most 100 failures an hour.
pub const ACCOUNT_LIMITS: Limits = Limits {
    free: 5,
    max_delay: Duration::seconds(60),
    per_hour: 100,
};

/// Per client address (password spraying across many accounts).
pub const ADDRESS_LIMITS: Limits = Limits {
    free: 20,
    max_delay: Duration::minutes(5),
    per_hour: 1_000,
};

/// What the store knows about recent failures along one dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FailureStats {
    /// Failures within [`WINDOW`] before now.
    pub count: u32,
    pub latest: Option<OffsetDateTime>,
    pub oldest: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Evaluate,
    Throttled { retry_after: Duration },
}

impl Limits {
    fn wait(&self, stats: &FailureStats, now: OffsetDateTime) -> Duration {
        if stats.count >= self.per_hour {
            if let Some(oldest) = stats.oldest {
                return (oldest + WINDOW - now).max(Duration::seconds(1));
            }
        }
        if stats.count < self.free {
            return Duration::ZERO;
        }
        let exponent = (stats.count - self.free).min(20);
        let delay = Duration::seconds(1i64 << exponent).min(self.max_delay);
        match stats.latest {
            Some(latest) => (latest + delay - now).max(Duration::ZERO),
            None => Duration::ZERO,
        }
    }
}

pub fn decide(account: &FailureStats, address: &FailureStats, now: OffsetDateTime) -> Decision {
    let wait = ACCOUNT_LIMITS
        .wait(account, now)
        .max(ADDRESS_LIMITS.wait(address, now));
    if wait > Duration::ZERO {
        // Whole seconds, rounded up, for the Retry-After header.
        let secs = (wait.as_seconds_f64().ceil() as i64).max(1);
        Decision::Throttled {
            retry_after: Duration::seconds(secs),
        }
    } else {
        Decision::Evaluate
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

    fn stats(count: u32, latest_ago: i64, oldest_ago: i64) -> FailureStats {
        FailureStats {
            count,
            latest: Some(NOW - Duration::seconds(latest_ago)),
            oldest: Some(NOW - Duration::seconds(oldest_ago)),
        }
    }

    #[test]
    fn first_failures_are_free() {
        assert_eq!(
            decide(&stats(4, 0, 10), &FailureStats::default(), NOW),
            Decision::Evaluate
        );
    }

    #[test]
    fn delays_double_then_cap() {
        let d = |n| decide(&stats(n, 0, 600), &FailureStats::default(), NOW);
        assert_eq!(
            d(5),
            Decision::Throttled {
                retry_after: Duration::seconds(1)
            }
        );
        assert_eq!(
            d(6),
            Decision::Throttled {
                retry_after: Duration::seconds(2)
            }
        );
        assert_eq!(
            d(8),
            Decision::Throttled {
                retry_after: Duration::seconds(8)
            }
        );
        assert_eq!(
            d(50),
            Decision::Throttled {
                retry_after: Duration::seconds(60)
            }
        );
    }

    #[test]
    fn delay_counts_from_the_latest_failure() {
        assert_eq!(
            decide(&stats(8, 10, 600), &FailureStats::default(), NOW),
            Decision::Evaluate
        );
    }

    #[test]
    fn hourly_ceiling_waits_for_the_oldest_to_age_out() {
        let d = decide(&stats(100, 3600, 3000), &FailureStats::default(), NOW);
        assert_eq!(
            d,
            Decision::Throttled {
                retry_after: Duration::seconds(600)
            }
        );
    }

    #[test]
    fn address_dimension_throttles_spraying() {
        assert_eq!(
            decide(&FailureStats::default(), &stats(22, 0, 100), NOW),
            Decision::Throttled {
                retry_after: Duration::seconds(4)
            }
        );
    }
}
