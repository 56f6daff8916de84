//! One-time codes sent by email or SMS (PRODUCT.md R5), as pure rules: when a code may be
//! sent, and what a submitted code means. The store applies these inside one serialised
//! transaction per account, so the counters hold under parallel requests.

use crate::crypto::{constant_time_eq, SecretKey};
use rand::distributions::{Distribution, Uniform};
use std::fmt;
use time::{Duration, OffsetDateTime};

/// How long a code works.
pub const CODE_TTL: Duration = Duration::minutes(10);
/// Wrong tries after which a code dies.
pub const MAX_TRIES_PER_CODE: u32 = 5;
/// Wait before another code of the same purpose and channel.
pub const RESEND_AFTER: Duration = Duration::seconds(60);
/// Codes sent per account and channel in any hour.
pub const MAX_SENDS_PER_HOUR: u32 = 5;
/// Wrong codes per account and purpose in any hour, across resends.
pub const MAX_FAILURES_PER_HOUR: u32 = 10;
pub const HOUR: Duration = Duration::hours(1);

/// What a code is for. A code of one purpose never satisfies another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    PhoneBinding,
    Withdrawal,
    Deletion,
    PasswordReset,
    /// Unbinding a factor (needs codes from every bound factor).
    Unbind,
    /// The authenticator code at login.
    Login,
    /// The first authenticator code that turns a new authenticator on.
    FactorSetup,
    /// The owner lifting a freeze after 24 hours (R17; every bound factor).
    Unfreeze,
}

impl Purpose {
    pub const ALL: [Purpose; 8] = [
        Purpose::PhoneBinding,
        Purpose::Withdrawal,
        Purpose::Deletion,
        Purpose::PasswordReset,
        Purpose::Unbind,
        Purpose::Login,
        Purpose::FactorSetup,
        Purpose::Unfreeze,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::PhoneBinding => "phone_binding",
            Purpose::Withdrawal => "withdrawal",
            Purpose::Deletion => "deletion",
            Purpose::PasswordReset => "password_reset",
            Purpose::Unbind => "unbind",
            Purpose::Login => "login",
            Purpose::FactorSetup => "factor_setup",
            Purpose::Unfreeze => "unfreeze",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "email" => Some(Channel::Email),
            "sms" => Some(Channel::Sms),
            _ => None,
        }
    }
}

/// Six digits as typed: spaces are dropped, anything else but digits is refused.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpCode(String);

impl OtpCode {
    pub fn parse(input: &str) -> Option<Self> {
        let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        (digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(Self(digits))
    }

    /// A fresh code: uniform over 000000..=999999 from the OS CSPRNG.
    pub fn generate() -> Self {
        let n = Uniform::new_inclusive(0u32, 999_999).sample(&mut rand::rngs::OsRng);
        Self(format!("{n:06}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The stored form: HMAC-SHA256 under a server key, salted with the code's id.
    /// A plain hash of six digits would fall to a million guesses; the key makes a
    /// leaked table useless on its own.
    pub fn hash(&self, key: &SecretKey, code_id: &str) -> String {
        key.keyed_hash("otp-code", &format!("{code_id}:{}", self.0))
    }

    pub fn matches(&self, key: &SecretKey, code_id: &str, stored_hash: &str) -> bool {
        constant_time_eq(self.hash(key, code_id).as_bytes(), stored_hash.as_bytes())
    }
}

impl fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpCode(******)")
    }
}

/// What the store knows when a code is requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendContext {
    /// When the latest code of this account, purpose and channel was sent.
    pub last_sent_at: Option<OffsetDateTime>,
    /// Whether that code can still be used (not used, retired, expired or out of tries):
    /// the refusal to resend says so truthfully.
    pub last_code_usable: bool,
    /// Codes sent on this channel for this account in the last hour, oldest first time.
    pub sends_last_hour: u32,
    pub oldest_send_last_hour: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendDecision {
    Send,
    ResendTooSoon {
        retry_after: Duration,
        last_code_usable: bool,
    },
    RateLimited {
        retry_after: Duration,
    },
}

pub fn decide_send(ctx: &SendContext, now: OffsetDateTime) -> SendDecision {
    if let Some(last) = ctx.last_sent_at {
        let ready = last + RESEND_AFTER;
        if now < ready {
            return SendDecision::ResendTooSoon {
                retry_after: round_up(ready - now),
                last_code_usable: ctx.last_code_usable,
            };
        }
    }
    if ctx.sends_last_hour >= MAX_SENDS_PER_HOUR {
        let ready = ctx
            .oldest_send_last_hour
            .map(|t| t + HOUR)
            .unwrap_or(now + HOUR);
        return SendDecision::RateLimited {
            retry_after: round_up(ready - now),
        };
    }
    SendDecision::Send
}

/// The latest code of an account and purpose, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCode {
    pub id: String,
    pub code_hash: String,
    pub attempts: u32,
    pub expires_at: OffsetDateTime,
    pub used: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyContext {
    pub latest: Option<StoredCode>,
    pub failures_last_hour: u32,
    pub oldest_failure_last_hour: Option<OffsetDateTime>,
}

/// The meaning of a submitted code. Only `Wrong` costs a try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Right code; `consume` says whether to mark it used now.
    Accepted,
    Wrong {
        attempts_left: u32,
    },
    Expired,
    Used,
    Exhausted,
    /// No code was sent for this purpose (or it was replaced by a newer one).
    NoCode,
    RateLimited {
        retry_after: Duration,
    },
}

pub fn judge(
    ctx: &VerifyContext,
    submitted: &OtpCode,
    key: &SecretKey,
    now: OffsetDateTime,
) -> Verdict {
    if ctx.failures_last_hour >= MAX_FAILURES_PER_HOUR {
        let ready = ctx
            .oldest_failure_last_hour
            .map(|t| t + HOUR)
            .unwrap_or(now + HOUR);
        return Verdict::RateLimited {
            retry_after: round_up(ready - now),
        };
    }
    let Some(code) = &ctx.latest else {
        return Verdict::NoCode;
    };
    if code.used {
        return Verdict::Used;
    }
    if now >= code.expires_at {
        return Verdict::Expired;
    }
    if code.attempts >= MAX_TRIES_PER_CODE {
        return Verdict::Exhausted;
    }
    if submitted.matches(key, &code.id, &code.code_hash) {
        Verdict::Accepted
    } else {
        Verdict::Wrong {
            attempts_left: MAX_TRIES_PER_CODE - code.attempts - 1,
        }
    }
}

fn round_up(d: Duration) -> Duration {
    let secs = d.as_seconds_f64().ceil() as i64;
    Duration::seconds(secs.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-05-01 10:00 UTC);

    fn stored(key: &SecretKey, code: &OtpCode, attempts: u32) -> StoredCode {
        StoredCode {
            id: "c1".into(),
            code_hash: code.hash(key, "c1"),
            attempts,
            expires_at: NOW + CODE_TTL,
            used: false,
        }
    }

    fn ctx(latest: Option<StoredCode>, failures: u32) -> VerifyContext {
        VerifyContext {
            latest,
            failures_last_hour: failures,
            oldest_failure_last_hour: Some(NOW - Duration::minutes(20)),
        }
    }

    #[test]
    fn parse_accepts_six_digits_only() {
        assert_eq!(OtpCode::parse(" 123 456 ").unwrap().as_str(), "123456");
        for bad in ["12345", "1234567", "12345a", "", "１２３４５６"] {
            assert!(OtpCode::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn verdicts_tell_wrong_expired_used_exhausted_apart() {
        let key = SecretKey::generate();
        let code = OtpCode::parse("123456").unwrap();
        let wrong = OtpCode::parse("654321").unwrap();
        assert_eq!(
            judge(&ctx(Some(stored(&key, &code, 0)), 0), &code, &key, NOW),
            Verdict::Accepted
        );
        assert_eq!(
            judge(&ctx(Some(stored(&key, &code, 0)), 0), &wrong, &key, NOW),
            Verdict::Wrong { attempts_left: 4 }
        );
        assert_eq!(
            judge(&ctx(Some(stored(&key, &code, 4)), 0), &wrong, &key, NOW),
            Verdict::Wrong { attempts_left: 0 }
        );
        assert_eq!(
            judge(&ctx(Some(stored(&key, &code, 5)), 0), &code, &key, NOW),
            Verdict::Exhausted
        );
        let used = StoredCode {
            used: true,
            ..stored(&key, &code, 0)
        };
        assert_eq!(judge(&ctx(Some(used), 0), &code, &key, NOW), Verdict::Used);
        let expired = StoredCode {
            expires_at: NOW,
            ..stored(&key, &code, 0)
        };
        assert_eq!(
            judge(&ctx(Some(expired), 0), &code, &key, NOW),
            Verdict::Expired
        );
        assert_eq!(judge(&ctx(None, 0), &code, &key, NOW), Verdict::NoCode);
    }

    #[test]
    fn hourly_failure_budget_wins_even_over_the_right_code() {
        let key = SecretKey::generate();
        let code = OtpCode::parse("123456").unwrap();
        assert_eq!(
            judge(&ctx(Some(stored(&key, &code, 0)), 10), &code, &key, NOW),
            Verdict::RateLimited {
                retry_after: Duration::minutes(40)
            }
        );
    }

    #[test]
    fn sending_respects_cooldown_then_hourly_limit() {
        let fresh = SendContext {
            last_sent_at: None,
            last_code_usable: false,
            sends_last_hour: 0,
            oldest_send_last_hour: None,
        };
        assert_eq!(decide_send(&fresh, NOW), SendDecision::Send);
        let recent = SendContext {
            last_sent_at: Some(NOW - Duration::seconds(15)),
            last_code_usable: true,
            ..fresh
        };
        assert_eq!(
            decide_send(&recent, NOW),
            SendDecision::ResendTooSoon {
                retry_after: Duration::seconds(45),
                last_code_usable: true,
            }
        );
        // A code used moments ago still holds the 60 s gap, and the refusal says it is used.
        let used = SendContext {
            last_code_usable: false,
            ..recent
        };
        assert_eq!(
            decide_send(&used, NOW),
            SendDecision::ResendTooSoon {
                retry_after: Duration::seconds(45),
                last_code_usable: false,
            }
        );
        let busy = SendContext {
            last_sent_at: Some(NOW - Duration::minutes(5)),
            last_code_usable: true,
            sends_last_hour: 5,
            oldest_send_last_hour: Some(NOW - Duration::minutes(50)),
        };
        assert_eq!(
            decide_send(&busy, NOW),
            SendDecision::RateLimited {
                retry_after: Duration::minutes(10)
            }
        );
    }

    #[test]
    fn purposes_round_trip() {
        for p in Purpose::ALL {
            assert_eq!(Purpose::parse(p.as_str()), Some(p));
        }
        assert_eq!(Purpose::parse("other"), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn generated_codes_are_six_digits_and_never_stored_plain(id in "[a-z0-9]{1,16}") {
            let key = SecretKey::generate();
            let code = OtpCode::generate();
            prop_assert_eq!(code.as_str().len(), 6);
            prop_assert!(code.as_str().bytes().all(|b| b.is_ascii_digit()));
            let stored = code.hash(&key, &id);
            prop_assert_ne!(&stored, code.as_str());
            prop_assert!(!stored.contains(code.as_str()));
            prop_assert!(code.matches(&key, &id, &stored));
        }
    }

    #[test]
    fn generated_codes_are_uniform() {
        // 60,000 codes: each digit value should appear about 6,000 times in the first and
        // in the last position. A chi-square statistic above 45 (df 9, p < 1e-6) would mean
        // a biased generator (e.g. a modulo bias or a stuck digit).
        for position in [0usize, 5] {
            let mut counts = [0u32; 10];
            for _ in 0..60_000 {
                let code = OtpCode::generate();
                counts[(code.as_str().as_bytes()[position] - b'0') as usize] += 1;
            }
            let expected = 6_000.0;
            let chi2: f64 = counts
                .iter()
                .map(|&c| (f64::from(c) - expected).powi(2) / expected)
                .sum();
            assert!(
                chi2 < 45.0,
                "position {position}: chi-square {chi2} for {counts:?}"
            );
        }
    }
}
