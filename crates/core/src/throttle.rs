//! Login throttling, counted in the store so it holds across instances and parallel
//! requests. Three dimensions:
//! - the pair (login name, client address): a few free failures, then each failure
//!   doubles the wait, capped at a minute. It slows a guesser without touching the real
//!   owner, who logs in from another address.
//! - the login name alone: at most 100 failures an hour from all addresses together,
//!   which stops a distributed guesser; the ceiling lifts as old failures age out.
//! - the client address alone: spraying many accounts from one address.
//!
//! The login name is a keyed hash of the (normalised) email whether or not an account
//! exists, so throttling behaves the same for unknown accounts and enumerates nothing.

use time::{Duration, OffsetDateTime};

pub const WINDOW: Duration = Duration::hours(1);

/// Recovery requests accepted per typed email address in [`RECOVERY_WINDOW`], whether or
/// not an account has that address (so the limit enumerates nothing). Support reads each
/// request by hand; a flood must not bury the real one.
pub const RECOVERY_REQUESTS_PER_WINDOW: u32 = 3;
pub const RECOVERY_WINDOW: Duration = Duration::hours(24);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Failures allowed before any delay.
    pub free: u32,
    /// Longest wait imposed by the doubling delay.
    pub max_delay: Duration,
    /// Failures in one hour after which no attempt is evaluated until the oldest ages out.
    pub per_hour: u32,
}

/// Per login name and address: 5 free, then delays doubling up to a minute.
pub const PAIR_LIMITS: Limits = Limits {
    free: 5,
    max_delay: Duration::seconds(60),
    per_hour: u32::MAX,
};

/// Per login name from every address: no delay, a ceiling of 100 failures an hour.
pub const ACCOUNT_LIMITS: Limits = Limits {
    free: 100,
    max_delay: Duration::ZERO,
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
        // Times are stored to the second: count a failure from the end of its second so
        // truncation never shortens the delay.
        match stats.latest {
            Some(latest) => (latest + Duration::SECOND + delay - now).max(Duration::ZERO),
            None => Duration::ZERO,
        }
    }
}

/// Recent failures along each dimension, as the store counted them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoginFailures {
    pub pair: FailureStats,
    pub account: FailureStats,
    pub address: FailureStats,
}

pub fn decide(failures: &LoginFailures, now: OffsetDateTime) -> Decision {
    let wait = PAIR_LIMITS
        .wait(&failures.pair, now)
        .max(ACCOUNT_LIMITS.wait(&failures.account, now))
        .max(ADDRESS_LIMITS.wait(&failures.address, now));
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

    /// One guesser at one address: all three dimensions see the same failures.
    fn alone(s: FailureStats) -> LoginFailures {
        LoginFailures {
            pair: s,
            account: s,
            address: s,
        }
    }

    #[test]
    fn first_failures_are_free() {
        assert_eq!(decide(&alone(stats(4, 0, 10)), NOW), Decision::Evaluate);
    }

    #[test]
    fn delays_double_then_cap() {
        // A failure counts from the end of its (stored, whole) second: one extra second.
        let d = |n| decide(&alone(stats(n, 0, 600)), NOW);
        let wait = |secs| Decision::Throttled {
            retry_after: Duration::seconds(secs),
        };
        assert_eq!(d(5), wait(2));
        assert_eq!(d(6), wait(3));
        assert_eq!(d(8), wait(9));
        // The pair's delay stops at a minute (the address dimension, at 50, would not).
        let pair_only = LoginFailures {
            pair: stats(50, 0, 600),
            ..LoginFailures::default()
        };
        assert_eq!(decide(&pair_only, NOW), wait(61));
    }

    #[test]
    fn delay_counts_from_the_latest_failure() {
        assert_eq!(decide(&alone(stats(8, 10, 600)), NOW), Decision::Evaluate);
    }

    #[test]
    fn hourly_ceiling_waits_for_the_oldest_to_age_out() {
        // 100 failures spread over many addresses: each pair is under its free budget.
        let failures = LoginFailures {
            pair: stats(1, 3600, 3600),
            account: stats(100, 60, 3000),
            address: stats(1, 3600, 3600),
        };
        assert_eq!(
            decide(&failures, NOW),
            Decision::Throttled {
                retry_after: Duration::seconds(600)
            }
        );
        let below = LoginFailures {
            account: stats(99, 60, 3000),
            ..failures
        };
        assert_eq!(decide(&below, NOW), Decision::Evaluate);
    }

    #[test]
    fn another_address_is_not_slowed_by_a_guesser() {
        // The guesser's pair is delayed; the owner's pair (other address) has no failures.
        let owner = LoginFailures {
            pair: FailureStats::default(),
            account: stats(30, 0, 600),
            address: FailureStats::default(),
        };
        assert_eq!(decide(&owner, NOW), Decision::Evaluate);
    }

    #[test]
    fn address_dimension_throttles_spraying() {
        let spraying = LoginFailures {
            address: stats(22, 0, 100),
            ..LoginFailures::default()
        };
        assert_eq!(
            decide(&spraying, NOW),
            Decision::Throttled {
                retry_after: Duration::seconds(5)
            }
        );
    }
}
