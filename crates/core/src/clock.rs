//! One source of "now". Production uses [`SystemClock`]; dev mode may use [`DevClock`],
//! which can be moved forward to try expiries and the re-registration wait.

use std::sync::atomic::{AtomicI64, Ordering};
use time::{Duration, OffsetDateTime};

/// Where every time-dependent rule reads the current instant from.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> OffsetDateTime;
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one place that reads the system clock
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// The system clock plus an offset that only grows. Dev mode only: production refuses it.
#[derive(Debug, Default)]
pub struct DevClock {
    offset_seconds: AtomicI64,
}

impl DevClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward; negative values are refused by the caller's validation,
    /// and ignored here so time never runs backwards.
    pub fn advance(&self, seconds: i64) -> OffsetDateTime {
        if seconds > 0 {
            self.offset_seconds.fetch_add(seconds, Ordering::SeqCst);
        }
        self.now()
    }
}

impl Clock for DevClock {
    #[allow(clippy::disallowed_methods)] // the dev clock is the system clock plus an offset
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + Duration::seconds(self.offset_seconds.load(Ordering::SeqCst))
    }
}

/// A clock frozen at one instant, for unit tests of the rules.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub OffsetDateTime);

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

/// An instant as the API writes it: RFC 3339 in UTC, whole seconds.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// An instant as a person reads it in messages: `2026-12-02 10:22 UTC`.
pub fn human_time(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_clock_moves_forward_only() {
        let clock = DevClock::new();
        let before = clock.now();
        let after = clock.advance(3600);
        assert!(after - before >= Duration::seconds(3600));
        let again = clock.advance(-7200);
        assert!(again >= after, "a negative advance must not turn time back");
    }
}
