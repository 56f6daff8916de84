//! How a refused code reads: the contract's error for each verdict, with its help page.

use crate::error::{AppError, ErrorKind};
use offboard_core::otp::Verdict;

pub const HELP_WRONG_CODE: &str = "/help/wrong-code";
pub const HELP_AUTHENTICATOR: &str = "/help/authenticator-errors";
pub const HELP_EMAIL_MISSING: &str = "/help/email-code-missing";
pub const HELP_SMS_MISSING: &str = "/help/sms-code-missing";

pub(super) fn rate_limited(secs: i64, help: &'static str) -> AppError {
    AppError::new(
        ErrorKind::RateLimited,
        "rate_limited",
        format!(
            "Too many codes or wrong tries in the last hour. Try again in {} minutes.",
            (secs + 59) / 60
        ),
    )
    .with("retry_after", secs)
    .retry_after(u64::try_from(secs).unwrap_or(3600))
    .with_help(help)
}

/// Turns a verdict other than `Accepted` into the contract's error, naming the factor.
pub fn verdict_error(verdict: Verdict, factor: &str) -> AppError {
    let help = if factor == "totp" {
        HELP_AUTHENTICATOR
    } else {
        HELP_WRONG_CODE
    };
    let what = match factor {
        "totp" => "authenticator code",
        "sms" => "SMS code",
        _ => "email code",
    };
    let bad = ErrorKind::BadRequest;
    let err = match verdict {
        Verdict::Wrong { .. } if factor == "totp" => AppError::new(
            bad,
            "invalid_code",
            format!("The {what} is wrong. Use the code your app shows now; if it keeps failing, check that your phone sets its clock automatically."),
        ),
        Verdict::Wrong { attempts_left } => AppError::new(
            bad,
            "invalid_code",
            format!("The {what} is wrong. Check the newest message; {attempts_left} tries left for this code."),
        )
        .with("attempts_left", attempts_left),
        Verdict::NoCode if factor == "totp" => {
            AppError::new(bad, "invalid_code", "No authenticator is bound to this account.")
        }
        Verdict::NoCode => AppError::new(
            bad,
            "invalid_code",
            format!("There is no active {what}: it was replaced by a newer one or never sent. Press Get code."),
        ),
        Verdict::Expired => AppError::new(
            bad,
            "code_expired",
            format!("The {what} has expired (codes work for 10 minutes). Ask for a new one."),
        ),
        Verdict::Used => AppError::new(bad, "code_used", format!("That {what} was already used. Each code works once; ask for a new one.")),
        Verdict::Exhausted => AppError::new(
            bad,
            "code_exhausted",
            format!("The {what} was entered wrongly too many times and no longer works. Ask for a new one."),
        ),
        Verdict::RateLimited { retry_after } => {
            return rate_limited(retry_after.whole_seconds(), help)
                .with("factor", factor)
                .for_field(&format!("{factor}_code"))
        }
        Verdict::Accepted => AppError::internal("accepted verdict reported as an error"),
    };
    err.with_help(help)
        .with("factor", factor)
        .for_field(&format!("{factor}_code"))
}
